""" Let's Encrypt ACME Version 2 Examples - printing, and the frame every script runs in

print_dict prints a JSON object the way the article shows it: one "key: value" per line, a nested
object as "key:" followed by its items indented four spaces per level (as in the original package).

The rest is the frame around every script, so that the scripts themselves can tell their story:
- settings(): the values of acme.ini, checked (https URL, numbers, contacts, file names);
- text from the server reaches the terminal with its control characters escaped (an ESC sequence
  could set the window title or clear the screen), and one value is cut at 2,000 characters;
- certificate_problems(): a certificate (or CSR) checked against the key and the names before it is
  saved or sent anywhere;
- options(): --config FILE and --debug, and a usage error that exits 1 like every other failure;
- run(main): one message on stderr and exit 1 on failure, 130 on Ctrl-C, never a traceback for
  what a user or a server can cause; output piped into `head` stops quietly while the work goes on.
"""

import argparse
import difflib
import json
import os
import re
import sys
import tempfile


def missing_package(module):
    """ One line for a missing package: what is missing, and the command that installs it """
    package = {"Crypto": "pycryptodome"}.get(module, module)
    here = os.path.dirname(os.path.abspath(__file__))
    venv = os.path.join(here, ".venv", "bin", "python")
    fix = ("run the script with {0} (or: source {1})".format(venv, os.path.join(here, ".venv", "bin", "activate"))
           if os.path.exists(venv) else "{0} -m pip install -r {1}".format(
               os.path.basename(sys.executable), os.path.join(here, "requirements.txt")))
    return "Error: The Python package {0} is missing; {1}".format(package, fix)


# pycryptodome reaches its C code through cffi when cffi is installed (cryptography brings it), and
# cffi then parses C declarations at every start: 80 ms of each run. Without cffi it uses ctypes, at
# the same speed afterwards. Nothing here needs cffi itself (cryptography's bindings are compiled).
sys.modules.setdefault("cffi", None)

try:                                          # before anything needs them: a line, not a traceback
    import Crypto  # noqa: F401
    import cryptography  # noqa: F401
    import requests  # noqa: F401
except ModuleNotFoundError as error:
    sys.exit(missing_package(error.name.split(".")[0]))

import myhelper  # noqa: E402

LONGEST_VALUE = 2000
STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides
CONTROL = {c: "\\x{0:02x}".format(c) for c in list(range(0x20)) + list(range(0x7f, 0xa0)) if c not in (9, 10)}
CONTROL.update({c: "\\u{0:04x}".format(c) for c in list(range(0x202a, 0x202f)) + list(range(0x2066, 0x206a))})


class AcmeError(Exception):
    """ A failure the user can do something about; str() is the whole message """


def get_indent(indent):
    """ Return the indentation for a nesting level: four spaces a level, 0 to 10 levels """
    indent = max(0, min(indent, 10))
    return "    " * indent


def cut(value, limit=LONGEST_VALUE):
    """ A value as text, cut with a note when it is longer than limit characters

    >>> cut("x" * 2005)[-36:]
    'xxx... (cut: 2005 characters in all)'
    """
    text = str(value)
    return text if len(text) <= limit else "{0}... (cut: {1} characters in all)".format(text[:limit], len(text))


def print_dict(arg, indent=0):
    """ Print a dict (a decoded JSON object) as indented "key: value" lines

    >>> print_dict({"meta": {"website": "https://example.com"}, "newNonce": "https://x/n"})
    meta:
        website: https://example.com
    newNonce: https://x/n
    """
    for key, value in arg.items():
        if isinstance(value, dict):
            print(get_indent(indent) + cut(key) + ":")
            print_dict(value, indent + 1)
        else:
            print(get_indent(indent) + cut(key) + ": " + cut(value))


ACCOUNT_FIELDS = (("ID:        ", "id"), ("Contact:   ", "contact"), ("Initial IP:", "initialIp"),
                  ("Created At:", "createdAt"), ("Status:   ", "status"))


def challenge_errors(authz):
    """ The problem documents of an authorization's failed challenges, as indented lines after a newline """
    lines = []
    for challenge in authz.get("challenges") if isinstance(authz.get("challenges"), list) else []:
        if isinstance(challenge, dict) and isinstance(challenge.get("error"), dict):
            lines.append("{0} challenge:".format(cut(challenge.get("type"), 50)))
            lines += ["  " + line for line in myhelper.format_problem(challenge["error"])]
    return ("\n" + "\n".join(lines[:100])) if lines else ""


def print_account(info):
    """ Print the account block of the original scripts from whatever the server returned

    Let's Encrypt stopped returning id (2019), initialIp (2024) and contact (2025); the original
    crashed with KeyError on them. An absent field now says so.
    """
    print('')
    for label, field in ACCOUNT_FIELDS:
        print(label, cut(info[field]) if field in info else "(not returned by the server)")


SETTINGS = {  # every key of [acme-neoprime], and its default
    "ACMEDirectory": "", "AccountKeyFile": "", "Contacts": "", "UserAgent": "neoprime.io-acme-client/1.0",
    "Language": "en", "CABundle": "", "Timeout": "30", "PollTimeout": "120", "EABKeyID": "", "EABHMACKey": "",
    "CertificateKeyFile": "", "CSRFile": "", "OrderFile": "order.json", "ChainFile": "", "Profile": "",
    "Challenge": "http-01", "HTTPPort": "80", "HTTPBind": "", "Webroot": "", "DNSHook": "", "DNSResolver": "",
    "DNSWait": "30", "AlibabaRegion": "cn-hangzhou", "AlibabaDNSEndpoint": "", "AlibabaCDNEndpoint": "",
    "AlibabaAPIGatewayEndpoint": "", "AlibabaCABundle": ""}
FILES = ("AccountKeyFile", "CertificateKeyFile", "CSRFile", "OrderFile", "ChainFile", "CABundle", "Webroot",
         "AlibabaCABundle")
NUMBERS = {"Timeout": (0.1, 3600), "PollTimeout": (1, 86400), "DNSWait": (0, 3600), "HTTPPort": (1, 65535)}


def settings(config, filename="acme.ini", required=()):
    """ The values of [acme-neoprime] (myhelper.load_acme_config), checked: a dict with every key of
    SETTINGS. File names become relative to the ini file's folder, numbers numbers, Contacts a checked
    list; a key in required must not be empty; an unknown key is a warning that names the closest one.
    """
    section, known = config["acme-neoprime"], {key.lower(): key for key in SETTINGS}
    for key in section:
        if key not in known:
            guess = difflib.get_close_matches(key, known, 1, 0.7)
            print("Warning: {0} has an unknown key {1!r}; it is ignored.{2}".format(
                filename, key, " Did you mean {0}?".format(known[guess[0]]) if guess else ""), file=sys.stderr)
    ini = {key: section.get(key, "").strip() or default for key, default in SETTINGS.items()}
    for key in required:
        if not ini[key]:
            raise AcmeError("Error: {0} has no {1} in [acme-neoprime]. Add it, as in the acme.ini of these "
                            "examples.".format(filename, key))
    folder = os.path.dirname(os.path.abspath(filename))
    for key in FILES:
        if ini[key] and folder != os.getcwd():
            ini[key] = os.path.join(folder, os.path.expanduser(ini[key]))
    if not re.match(r"https://[^/?#\s]+", ini["ACMEDirectory"]) and "ACMEDirectory" in required:
        raise AcmeError("Error: ACMEDirectory in {0} is not an https:// URL: {1!r}. ACME runs over HTTPS only "
                        "(RFC 8555 §6.1); for Let's Encrypt staging use {2}".format(
                            filename, ini["ACMEDirectory"], STAGING))
    for key, (low, high) in NUMBERS.items():
        try:
            ini[key] = int(ini[key]) if key == "HTTPPort" else float(ini[key])
        except ValueError:
            ini[key] = None
        if ini[key] is None or not low <= ini[key] <= high:
            raise AcmeError("Error: {0} in {1} must be a number from {2:g} to {3:g}, not {4!r}.".format(
                key, filename, low, high, section.get(key)))
    if ini["CABundle"] and not os.path.isfile(ini["CABundle"]):
        raise AcmeError("Error: CABundle in {0} names {1}, which does not exist. Point it at the PEM file of the "
                        "CA that signed the server's TLS certificate, or leave it empty to use the system's "
                        "trust store.".format(filename, ini["CABundle"]))
    if ini["Challenge"] not in ("http-01", "dns-01"):
        raise AcmeError("Error: Challenge in {0} must be http-01 or dns-01, not {1!r}.".format(
            filename, ini["Challenge"]))
    ini["Contacts"] = check_contacts(ini["Contacts"].split(";"), "Contacts in " + filename)
    return ini


def check_contacts(contacts, where="contact"):
    """ Contact URLs as RFC 8555 §7.3 wants them: "mailto:" and one plain address each; empty ones dropped

    >>> check_contacts(["mailto:admin@example.org", ""])
    ['mailto:admin@example.org']
    """
    email = re.compile(r"[A-Za-z0-9.!#$%&'*+/=^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+\Z")
    result = [c.strip() for c in contacts if c.strip()]
    for contact in result:
        if not contact.lower().startswith("mailto:") or not email.match(contact[7:]):
            raise AcmeError("Error: {0}: {1!r} is not a valid contact. Write each as mailto:name@domain, one "
                            "address each, separated by ';'.".format(where, contact))
    return result


# -- files the steps share ----------------------------------------------------------------------

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


def save_order(ini, url, order):
    """ Keep the order URL and object for the next step (OrderFile: working state, simply replaced) """
    write_file(ini["OrderFile"], (json.dumps({"url": url, "order": order}, indent=4) + "\n").encode("utf8"))
    return ini["OrderFile"]


def load_order(ini):
    """ The order URL and object that request_certificate.py saved """
    try:
        with open(ini["OrderFile"], encoding="utf8") as f:
            saved = json.load(f)
    except FileNotFoundError:
        raise AcmeError("Error: File does not exist: {0} (the saved order). Create an order first: python "
                        "request_certificate.py".format(ini["OrderFile"]))
    except (OSError, ValueError, RecursionError) as error:
        raise AcmeError("Error: Cannot read the saved order from {0}: {1}. Create the order again: python "
                        "request_certificate.py".format(ini["OrderFile"], cut(error, 200)))
    order = saved.get("order") if isinstance(saved, dict) else None
    if (not isinstance(order, dict) or not isinstance(saved.get("url"), str)
            or not all(isinstance(i, dict) and isinstance(i.get("value"), str) for i in order.get("identifiers", [0]))
            or not all(isinstance(a, str) for a in order.get("authorizations", [0]))):
        raise AcmeError("Error: {0} is not an order saved by request_certificate.py; run it again."
                        .format(ini["OrderFile"]))
    return saved["url"], order


def order_names(order):
    """ The names a saved order is for, as its identifiers say ("*.example.com" for a wildcard) """
    return [identifier["value"].lower() for identifier in order["identifiers"]]


def load_pem_chain(text):
    """ The certificates of a PEM chain, each parsed with its extensions; anything but CERTIFICATE
    blocks is refused (RFC 8555 §11.4). Line by line: its time grows linearly with the text """
    from cryptography import x509
    blocks, block = [], None
    for line in text.splitlines():
        line = line.strip()
        if block is None and line.startswith("-----BEGIN "):
            label, block = line[11:].rstrip("-"), [line]
            if label != "CERTIFICATE":
                raise ValueError("the chain holds a {0:.40} block; only certificates are accepted (RFC 8555 §11.4)"
                                 .format(label))
        elif block is not None:
            block.append(line)
            if line.startswith("-----END "):
                blocks.append("\n".join(block))
                block = None
    if block is not None or not blocks:
        raise ValueError("the chain holds no complete certificate")
    certs = []
    for number, pem in enumerate(blocks, 1):
        try:
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
            len(cert.extensions)                    # malformed extensions fail here, not later
        except (ValueError, UnicodeEncodeError) as error:
            raise ValueError("certificate {0} of the chain does not parse: {1:.200}".format(number, str(error)))
        certs.append(cert)
    return certs


def load_certificate(filename, how_to_get_it):
    """ The first certificate of a PEM file (a chain), checked as a downloaded chain is """
    try:
        with open(filename, encoding="ascii") as f:
            return load_pem_chain(f.read())[0]
    except FileNotFoundError:
        raise AcmeError("Error: File does not exist: {0} (the certificate). Get it with {1}".format(
            filename, how_to_get_it))
    except (UnicodeDecodeError, ValueError) as error:
        raise AcmeError("Error: Cannot read the certificate in {0}: {1}. It was refused.".format(filename, error))


def certificate_problems(cert, key, names):
    """ What is wrong with a certificate for this key and these names; [] when it fits. key: a private
    key, or an object with public_key() (a CSR, another certificate)

    >>> from cryptography import x509
    >>> from Crypto.PublicKey import RSA
    >>> cert = x509.load_pem_x509_certificate(open("example.com.chain.pem", "rb").read())
    >>> certificate_problems(cert, RSA.import_key(open("example.com.key").read()), ["www.example.com", "x.org"])
    ['it does not name x.org']
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = (key.public_key().export_key(format="DER") if hasattr(key, "export_key")      # pycryptodome's
                else key.public_key().public_bytes(*spki))
    problems = [] if cert.public_key().public_bytes(*spki) == expected else ["its key is not the expected key"]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        named = {str(n.value).lower() for n in san if isinstance(n, (x509.DNSName, x509.IPAddress))}
    except x509.ExtensionNotFound:
        named = set()
    return problems + ["it does not name {0}".format(name) for name in names if name.lower() not in named]


class SafeStream:
    """ A text stream that escapes control characters, and goes quiet once its reader has gone """

    def __init__(self, stream):
        self.stream = stream
        self.gone = False

    def write(self, text):
        if self.gone:
            return len(text)
        try:
            return self.stream.write(text.translate(CONTROL))
        except BrokenPipeError:
            self._reader_gone()
        except UnicodeEncodeError:
            return self.stream.write(text.translate(CONTROL).encode("ascii", "backslashreplace").decode("ascii"))
        return len(text)

    def flush(self):
        if not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._reader_gone()

    def _reader_gone(self):
        # `python script.py | head`: the reader stopped reading. The work goes on, quietly; the
        # descriptor points at /dev/null so that Python's last flush at exit finds no broken pipe.
        self.gone = True
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name):
        return getattr(self.stream, name)


class _Parser(argparse.ArgumentParser):
    """ argparse, but a usage error exits with 1 like every other failure """

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(1, "{0}: error: {1}\n".format(self.prog, message))


def options(doc):
    """ The options every script has: --config FILE and --debug; --help shows the script's docstring """
    parser = _Parser(description=doc.strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="acme.ini", metavar="FILE",
                        help="configuration file (default: %(default)s)")
    parser.add_argument("--debug", action="store_true",
                        help="show the wire: each request's protected header and payload, each answer")
    return parser


def command(args, script, *more):
    """ A command line to show the reader: python SCRIPT [--config FILE] ARGS, runnable as shown """
    config = ["--config", args.config] if args.config != "acme.ini" else []
    return " ".join(["python", script] + config + list(more))


def fail(message):
    """ Print a failure on stderr (after what stdout has so far); returns exit status 1 """
    sys.stdout.flush()
    if isinstance(message, OSError) and message.filename:
        name = os.fspath(message.filename)
        if os.path.basename(name).startswith(".tmp-"):        # a temporary file: its folder is the problem
            message = "Cannot write in {0}: {1}".format(os.path.dirname(name), message.strerror)
        else:
            message = "Cannot use {0}: {1}".format(name, message.strerror)
    message = str(message)
    print(message if message.startswith("Error") else "Error: " + message, file=sys.stderr)
    return 1


def run(main, argv=None):
    """ Run main(argv) as a script: its exit status, one message for a failure, 130 for Ctrl-C """
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(sys.stdout), SafeStream(sys.stderr)
    try:
        return main(argv) or 0
    except (AcmeError, ValueError, OSError) as error:
        return fail(error)
    except SystemExit as done:
        if isinstance(done.code, str):
            return fail(done.code)
        return 0 if done.code is None else done.code
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        print("Interrupted.", file=sys.stderr)
        return 130
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = streams
