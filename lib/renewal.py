""" Renewal, for renew_certificate.py run from cron for years: when, what an earlier run planned,
one run at a time, and a new key that changes together with its chain or not at all

- lifetime_rule(), window(): the CA's suggested window when it is usable (RFC 9773 §4.2); else the
  lifetime rule: renew when a third of the lifetime is left, half for a certificate of 10 days or
  less. Every fallback is said on one line;
- read_state(), write_state(): ChainFile.renewal.json, the plan for one certificate, or "renewing"
  (a renewal whose deploy hook has not yet succeeded: the next run deploys what was saved);
- lock(): ChainFile.lock, one run at a time, held until issue_certificate.py has ended;
- checked_names(): the certificate's names for the new order, each checked as a command-line name;
- new_key(), swap(), recover(): --new-key. KEY.new and CHAIN.new are written first, the old pair is
  copied to .bak, a journal (ChainFile.swap.json) is written, both files are renamed, the journal
  is removed. A run that finds a journal completes the swap when the new pair fits, else undoes it.
"""

import errno
import json
import math
import os
import sys
import time

try:
    import fcntl
except ModuleNotFoundError:                   # Windows: the lock needs a POSIX system
    sys.exit("Error: renew_certificate.py needs a POSIX system for its lock (fcntl); on Windows, run it in WSL.")

import helper
import myhelper
from Crypto.PublicKey import RSA
from lib import answers, certs, files
from lib.frame import AcmeError

DEFAULT_RETRY = 6 * 3600        # RFC 9773 §4.3: ask again after 6 hours when the CA says nothing
ERROR_RETRY = 3600              # ...and after an hour when its answer was of no use (§4.3.3: back off)
SHORT_LIVED = 10 * 86400        # a certificate of 10 days or less is renewed when half its lifetime is left
MAX_STATE = 64 * 1024           # bytes read from a state file or a journal
NEW_KEY_BITS = 2048


utc = helper.utc


def warn(text):
    """ One warning line on stderr, after what stdout has so far """
    sys.stdout.flush()
    print("Warning: " + text, file=sys.stderr)


# -- when to renew ------------------------------------------------------------------------------

def lifetime_rule(cert, reason, retry=DEFAULT_RETRY, say=print):
    """ Without a usable window: renew when a third of the lifetime is left, half for a certificate
    of 10 days or less. Says why on one line; returns (start, end, next check) as window() does """
    begin, end = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
    short = end - begin <= SHORT_LIVED
    point = end - (end - begin) / (2 if short else 3)
    say("{0}: renewing when {1} of the lifetime is left.".format(reason, "half" if short else "a third"))
    return point, point, time.time() + retry


def window(cert, start, end, asked):
    """ The CA's suggested window, unless it ends before it starts or after the certificate expires:
    then the lifetime rule, with a warning naming the window. asked: its Retry-After (seconds or None),
    kept between 1 minute and 1 day (§4.3) """
    retry = DEFAULT_RETRY if asked is None else min(max(asked, 60), 86400)
    shown = "The CA suggests renewing between {0} and {1}".format(utc(start), utc(end))
    expiry = cert.not_valid_after_utc.timestamp()
    flaw = ("which ends before it starts" if end < start else
            "which ends after the certificate expires ({0})".format(utc(expiry)) if end > expiry else None)
    if flaw:
        return lifetime_rule(cert, "{0}, {1}; it is not obeyed".format(shown, flaw), retry, warn)
    print(shown + ".")
    return start, end, time.time() + retry


def unusable(error):
    """ Why the renewal information was of no use, in a few words: the status, or the error's first sentence """
    if isinstance(error, answers.AcmeProblem):
        return "No usable renewal information (the CA answered {0})".format(error.status)
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    text = text[len("Error: "):] if text.startswith("Error: ") else text
    return "No usable renewal information ({0})".format(helper.cut(text.split(". ")[0].rstrip("."), 200))


# -- what an earlier run planned ----------------------------------------------------------------

def _number(value):
    return type(value) in (int, float) and math.isfinite(value)


def _state_ok(state):
    if not isinstance(state, dict) or type(state.get("serial")) is not str:
        return False
    if "renewing" in state:
        return state["renewing"] is True
    planned = state.get("window")
    return (type(planned) is list and len(planned) == 2 and all(map(_number, planned))
            and _number(state.get("chosen")) and _number(state.get("next_check")))


def read_state(filename):
    """ ChainFile.renewal.json as an earlier run wrote it, or {}. Bad JSON or wrong types: one warning,
    and it counts as absent. {"serial", "window", "chosen", "next_check"}: the plan for that certificate;
    {"serial", "renewing": true}: a renewal of it began and its deploy hook has not yet succeeded """
    try:
        with open(filename, "rb") as f:
            data = f.read(MAX_STATE + 1)
        state = answers.parse_json(data) if len(data) <= MAX_STATE else None
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        state = None
    if not _state_ok(state):
        warn("{0} is not a renewal state this script wrote (bad JSON or wrong types); it is ignored.".format(
            filename))
        return {}
    return state


def write_state(filename, state):
    files.write_file(filename, json.dumps(state).encode())


# -- one run at a time --------------------------------------------------------------------------

def lock(chain_file):
    """ ChainFile.lock, locked (flock): a descriptor, or None when another run holds it. Opened without
    following a symbolic link and without truncating (mode 0600 when new). Pass the descriptor to the
    child (pass_fds): the lock then lasts until the child has ended, even if this process is killed """
    name = chain_file + ".lock"
    try:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        raise AcmeError("Error: {0} is a symbolic link; it was not followed. Remove it (it is only a lock file) "
                        "and run this again.".format(name))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


# -- the names to renew -------------------------------------------------------------------------

OTHER_NAMES = {"UniformResourceIdentifier": "the URI", "RFC822Name": "the e-mail address",
               "DirectoryName": "the directory name", "RegisteredID": "the registered ID", "OtherName": "the otherName"}


def checked_names(cert, chain_file):
    """ The certificate's DNS names and IP addresses, in its order, each checked as a name on the command
    line is (myhelper.make_identifier). Any other kind of name, or a name that is no host name or IP
    address, refuses the renewal before anything is written or run """
    from cryptography import x509
    try:
        san = list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        san = []
    refused = ("so it was not renewed (nothing was written or run). Issue a new certificate with "
               "python issue_certificate.py NAME...")
    names = []
    for name in san:
        if not isinstance(name, (x509.DNSName, x509.IPAddress)):
            raise AcmeError("Error: {0} names {1} {2!r} in its subjectAltName, and ACME certifies DNS names and IP "
                            "addresses only, {3}".format(chain_file, OTHER_NAMES.get(type(name).__name__, "a name"),
                                                         helper.cut(name.value, 100), refused))
        try:
            names.append(myhelper.make_identifier(str(name.value))["value"])
        except ValueError:
            raise AcmeError("Error: {0} names {1!r}, which is not a valid host name or IP address, {2}".format(
                chain_file, helper.cut(name.value, 100), refused))
    if not names:
        raise AcmeError("Error: {0} names no DNS name or IP address in a subjectAltName, {1}".format(
            chain_file, refused))
    return list(dict.fromkeys(names))


# -- --new-key: the key and the chain change together or not at all ---------------------------------

def new_key(key_file, chain_file):
    """ A new RSA key in KEY.new (mode 0600, on disk) for issue_certificate.py --key KEY.new --chain
    CHAIN.new; what an earlier attempt left there is removed first. Returns the two names """
    discard(key_file, chain_file)
    myhelper.save_private_key(RSA.generate(NEW_KEY_BITS), key_file + ".new")
    return key_file + ".new", chain_file + ".new"


def discard(key_file, chain_file):
    """ KEY.new and CHAIN.new of a swap that never began: removed. Returns the names removed """
    found = [name for name in (key_file + ".new", chain_file + ".new") if os.path.lexists(name)]
    for name in found:
        os.unlink(name)
    return found


def fits(key_name, chain_name):
    """ What keeps this key and this chain from being a pair: [] when the chain's first certificate is for the key """
    try:
        with open(chain_name, encoding="ascii") as f:
            cert = certs.load_pem_chain(f.read())[0]
        return certs.certificate_problems(cert, myhelper.load_private_key(key_name), [])
    except (OSError, ValueError) as error:
        return [str(error)]


def _sync_folders(*names):
    """ The renames and the journal on disk, not only in the page cache """
    for folder in {os.path.dirname(os.path.abspath(name)) for name in names}:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _finish(key_file, chain_file, journal):
    """ The renames the journal promises (those not yet done), then the journal goes """
    for current in (key_file, chain_file):
        if os.path.exists(current + ".new"):
            os.replace(current + ".new", current)
    _sync_folders(key_file, chain_file)
    os.unlink(journal)


def swap(key_file, chain_file):
    """ After issue_certificate.py saved CHAIN.new for KEY.new: both take their places together. The old
    pair is copied to .bak (the key's copy mode 0600), the journal written, both renamed, the journal
    removed. A failure on the way is completed or undone at once; a kill, by the next run (recover) """
    journal = chain_file + ".swap.json"
    problems = fits(key_file + ".new", chain_file + ".new")
    if problems:
        discard(key_file, chain_file)
        raise AcmeError("Error: The new chain is not for the new key ({0}); {1} and {2} are unchanged.".format(
            "; ".join(problems), key_file, chain_file))
    try:
        backups = []
        for name, mode in ((key_file, 0o600), (chain_file, None)):
            if os.path.isfile(name):
                with open(name, "rb") as f:
                    files.write_file(name + ".bak", f.read(), mode or os.stat(name).st_mode & 0o777)
                backups.append(name)
        files.write_file(journal, json.dumps({"key": key_file, "chain": chain_file, "backups": backups}).encode(),
                         mode=0o600)
        _sync_folders(journal)
        _finish(key_file, chain_file, journal)
    except (Exception, KeyboardInterrupt) as error:
        stopped = error
        if os.path.exists(journal):
            try:
                recover(key_file, chain_file)           # completed or undone at once
                stopped = None
            except Exception as again:
                stopped = again
        if stopped is not None:                         # the issued pair stays (KEY.new, CHAIN.new)
            print("Warning: the swap of the new key and chain stopped ({0}); the next run completes or undoes "
                  "it.".format(helper.cut(stopped, 300)), file=sys.stderr)
        raise


def _journal(journal):
    """ The key, the chain and the backups a swap's journal names; a clear error when it cannot be read """
    try:
        with open(journal, "rb") as f:
            noted = answers.parse_json(f.read(MAX_STATE))
        if (isinstance(noted, dict) and type(noted.get("key")) is str and type(noted.get("chain")) is str
                and type(noted.get("backups")) is list):
            return noted["key"], noted["chain"], noted["backups"]
    except (OSError, ValueError):
        pass
    raise AcmeError("Error: {0}, the journal of a --new-key swap, cannot be read: the key and the chain may not be "
                    "a pair. Check them by hand (the old pair is in .bak, the new one in .new), then remove it."
                    .format(journal))


def recover(key_file, chain_file):
    """ At the start of a run, under the lock: a swap an earlier run left half-done (its journal is there)
    is completed when the new key and chain fit each other, else undone from the .bak copies; .new files
    of a swap that never began are removed. Returns "completed", "undone" or None """
    journal = chain_file + ".swap.json"
    if not os.path.exists(journal):
        if not fits(key_file + ".new", chain_file + ".new"):      # issued, but the swap could not begin
            swap(key_file, chain_file)
            print("Completed the swap an earlier run could not begin: {0} and {1} are the new key and chain."
                  .format(key_file, chain_file))
            return "completed"
        left = discard(key_file, chain_file)
        if left:
            print("Removed {0}, left by a --new-key run that stopped before its swap.".format(" and ".join(left)))
        return None
    noted_key, noted_chain, backups = _journal(journal)
    if [os.path.abspath(noted_key), os.path.abspath(noted_chain)] != [os.path.abspath(key_file),
                                                                        os.path.abspath(chain_file)]:
        raise AcmeError("Error: {0} names {1!r} and {2!r}, not the CertificateKeyFile and ChainFile of acme.ini; "
                        "nothing was changed. Check the files by hand, then remove it.".format(
                            journal, helper.cut(noted_key, 200), helper.cut(noted_chain, 200)))
    pair = [current + ".new" if os.path.exists(current + ".new") else current for current in (key_file, chain_file)]
    if not fits(*pair):
        _finish(key_file, chain_file, journal)
        print("Completed the swap an earlier run left half-done: {0} and {1} are the new key and chain.".format(
            key_file, chain_file))
        return "completed"
    for current in (key_file, chain_file):
        if os.path.lexists(current + ".new"):
            os.unlink(current + ".new")                 # never renamed: the old file is still in place
        elif os.path.abspath(current) in {os.path.abspath(b) for b in backups if isinstance(b, str)}:
            with open(current + ".bak", "rb") as f:
                files.write_file(current, f.read(), 0o600 if current == key_file
                                 else os.stat(current + ".bak").st_mode & 0o777)
        elif os.path.lexists(current):
            os.unlink(current)                          # there was none before the swap
    _sync_folders(key_file, chain_file)
    os.unlink(journal)
    print("Undid the swap an earlier run left half-done (the new pair did not fit): {0} and {1} are the old key "
          "and chain again.".format(key_file, chain_file))
    return "undone"
