""" Files: written atomically, keys loaded and checked

- write_file(): a reader sees the old file or the new one, never half of one; an earlier version
  can be kept as FILE.bak with the same mode;
- keys: a new key never over an existing file; the account key and the certificate key are never
  the same key (RFC 8555 §11.1); a missing key is created only after asking (or --yes).
"""

import os
import sys
import tempfile

import myhelper
from lib.frame import AcmeError


def write_file(filename, data, mode=0o644, backup=False):
    """ Write bytes atomically (a reader sees the old file or the new, never half of one); with
    backup, an existing file is first copied to FILE.bak. Returns the backup's name or None """
    folder = os.path.dirname(os.path.abspath(filename))
    saved = None
    if backup and os.path.isfile(filename):
        with open(filename, "rb") as f:
            write_file(filename + ".bak", f.read(), os.stat(filename).st_mode & 0o777)
        saved = filename + ".bak"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return saved


def new_key_file(filename):
    """ Where a new key goes: never over an existing file, and a missing folder said before a slow key generation """
    if os.path.exists(filename):
        raise AcmeError("Error: {0} already exists; it was not overwritten. Move it away yourself if you really "
                        "want a new key, or choose another file name.".format(filename))
    if not os.path.isdir(os.path.dirname(os.path.abspath(filename))):
        raise AcmeError("Error: Cannot write in {0}: No such file or directory".format(os.path.dirname(filename)))
    return filename


def _load_key(filename, what, make, other_file, same_message):
    """ A private key that must exist and must not be the key in other_file (RFC 8555 §11.1: never one
    key for both jobs) """
    if not os.path.exists(filename):
        raise AcmeError("Error: File does not exist: {0} ({1}). Create it with: {2}".format(filename, what, make))
    key = myhelper.load_private_key(filename)
    if other_file and os.path.isfile(other_file):
        try:
            same = myhelper.get_jwk(myhelper.load_private_key(other_file)) == myhelper.get_jwk(key)
        except ValueError:
            same = False
        if same:
            raise AcmeError("Error: " + same_message.format(other_file))
    return key


def load_account_key(ini, filename=None):
    """ The account key (AccountKeyFile), refused when it is the certificate key """
    make = "python make_account_key.py" + (" " + filename if filename else ", or python new_account.py")
    return _load_key(filename or ini["AccountKeyFile"], "the account key", make, ini["CertificateKeyFile"],
                     "The account key is the certificate key ({0}). Never use one key for both (RFC 8555 "
                     "§11.1): set AccountKeyFile to your account key.")


def load_certificate_key(ini, filename=None):
    """ The certificate key (CertificateKeyFile, or filename), refused when it is the account key """
    return _load_key(filename or ini["CertificateKeyFile"], "the certificate key", "python make_certificate_key.py",
                     ini["AccountKeyFile"], "The certificate key is the account key ({0}). Never reuse the account "
                     "key in a certificate (RFC 8555 §11.1): make a separate one with python make_certificate_key.py")


def load_or_create_key(filename, what, bits, yes):
    """ A key from its file; a missing one is created (after asking, or with --yes) """
    if os.path.exists(filename):
        return myhelper.load_private_key(filename)
    if not myhelper.Confirm("{0} does not exist. Create a new {1} (y/n): ".format(filename, what), yes):
        sys.exit("Cancelled")
    print("Created {0}: {1} (RSA {2} bits, mode 0600)".format(what, filename, bits))
    return myhelper.create_rsa_private_key(filename, bits)
