""" Let's Encrypt ACME Version 2 Examples - shared mechanics (article Part 4)

Everything the step scripts share, and nothing that is a protocol decision:

- base64url without padding (RFC 8555 §6.1)                    b64, b64decode
- account and certificate keys: RSA or EC P-256, PEM            load_private_key, create_*_private_key
- the public key as a JWK and its thumbprint (RFC 7517, 7638)   get_jwk, jwk_thumbprint
- RS256 / ES256 signatures and the flattened JWS (§6.2)         sign, make_jws, make_eab_jws
- challenge values (§8.1, §8.4)                                 key_authorization, dns01_txt_value
- acme.ini                                                      load_acme_config
- one HTTPS session: timeouts, TLS verification, nonces, the
  badNonce retry (§6.5), POST-as-GET (§6.3), polling (§7.5.1)   AcmeSession
- problem documents (§6.7) and user-facing errors               process_error_message, AcmeError
- prompts and the script entry point                            Confirm, make_parser, run

A function here either returns what it promises or raises AcmeError with a message that says
what happened and what to do; none of them returns None on failure.
"""

import argparse
import base64
import configparser
import email.utils
import hashlib
import hmac
import json
import os
import re
import sys
import tempfile
import time
from urllib.parse import urlparse

import requests
from Crypto.Hash import SHA256
from Crypto.PublicKey import ECC, RSA
from Crypto.Signature import DSS, pkcs1_15

SECTION = "acme-neoprime"
DEFAULT_CONFIG = "acme.ini"
DEFAULT_USER_AGENT = "neoprime.io-acme-client/1.0"
STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"

# RFC 8555 §6.5: a badNonce error is retried with the nonce it carries. Pebble rejects a share of
# good nonces on purpose (PEBBLE_WFE_NONCEREJECT), so allow enough attempts to ride that out.
MAX_NONCE_RETRIES = 20

ERROR_NS = "urn:ietf:params:acme:error:"

# A rate limit or overload (429, 503) whose Retry-After is at most this many seconds is waited out;
# a longer one is reported with the time to try again.
MAX_RETRY_AFTER = 10

# Seconds to wait after answering challenges before the first poll: validation takes a moment,
# and polling at once mostly costs one more request.
FIRST_POLL_WAIT = 1.0


class AcmeError(Exception):
    """ A failure the user can do something about; str() is the message to print """


class AcmeProblem(AcmeError):
    """ The server answered with an error (RFC 8555 §6.7); .problem is the decoded document """

    def __init__(self, message, response, problem):
        super().__init__(message)
        self.response = response
        self.problem = problem

    @property
    def type(self):
        return self.problem.get("type", "")

    def is_type(self, name):
        """ True when the problem type is urn:ietf:params:acme:error:<name> """
        return self.type == ERROR_NS + name


############################################################
# base64url (RFC 8555 §6.1: no "=" padding)
############################################################

def b64(data):
    """ base64url-encode bytes (or a str, as UTF-8) without padding

    >>> b64(b"\\x03\\xec\\xff")
    'A-z_'
    """
    if isinstance(data, str):
        data = data.encode("utf8")
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64decode(text):
    """ Decode base64url with or without padding """
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


############################################################
# Keys
############################################################

def load_private_key(filename, what="key", create_hint=""):
    """ Load an RSA (PKCS#1 or PKCS#8) or EC P-256 (SEC1 or PKCS#8) private key from a PEM file

    >>> key = load_private_key("account.key")          # doctest: +SKIP
    """
    if not os.path.exists(filename):
        hint = " " + create_hint if create_hint else ""
        raise AcmeError("Error: File does not exist: {0} (the {1}).{2}".format(filename, what, hint))
    try:
        with open(filename, "rb") as f:
            pem = f.read()
    except OSError as error:
        raise AcmeError("Error: Cannot read the {0} {1}: {2}".format(what, filename, error.strerror))
    key = None
    for module in (RSA, ECC):
        try:
            key = module.import_key(pem)
            break
        except (ValueError, IndexError, TypeError):
            continue
    if key is None:
        raise AcmeError("Error: {0} is not a PEM private key (RSA or EC P-256); "
                        "replace it with a valid key file.".format(filename))
    if not key.has_private():
        raise AcmeError("Error: {0} holds a public key; the {1} must be a private key.".format(filename, what))
    if isinstance(key, ECC.EccKey) and key.curve not in ("NIST P-256", "p256", "P-256", "prime256v1", "secp256r1"):
        raise AcmeError("Error: {0} is an EC key on {1}; these examples sign with ES256, "
                        "which needs P-256.".format(filename, key.curve))
    if isinstance(key, RSA.RsaKey) and key.size_in_bits() < 2048:
        raise AcmeError("Error: {0} is a {1}-bit RSA key; ACME servers require at least "
                        "2048 bits.".format(filename, key.size_in_bits()))
    return key


def load_account_key(config):
    """ The account key named by AccountKeyFile in acme.ini """
    return load_private_key(config.account_key_file, "account key", "Create it with: python new_account.py")


def _as_key(key_or_file):
    """ Accept a loaded key or, as the original did, a key file name """
    if isinstance(key_or_file, (str, os.PathLike)):
        return load_private_key(key_or_file)
    return key_or_file


def private_key_pem(key):
    """ PEM bytes of a private key: PKCS#1 for RSA, SEC1 for EC (what openssl writes) """
    if isinstance(key, RSA.RsaKey):
        return key.export_key(format="PEM")
    return key.export_key(format="PEM").encode("ascii")


def write_file_atomic(filename, data, mode=0o644):
    """ Write bytes to filename through a temporary file in the same folder, then rename.

    A reader of filename sees either the old content or the new, never a half-written file.
    """
    folder = os.path.dirname(os.path.abspath(filename))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix="-" + os.path.basename(filename))
    except OSError as error:
        raise AcmeError("Error: Cannot write in {0}: {1}".format(folder, error.strerror))
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except OSError as error:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise AcmeError("Error: Cannot write {0}: {1}".format(filename, error.strerror))


def refuse_to_overwrite(filename):
    """ Keys are never overwritten: an existing file stops the step before anything is generated """
    if os.path.exists(filename):
        raise AcmeError("Error: {0} already exists; it was not overwritten. Move it away yourself if you "
                        "really want a new key, or choose another file name.".format(filename))


def save_private_key(key, filename, overwrite=False):
    """ Save a private key as PEM, mode 0600, atomically; an existing file is kept unless overwrite """
    if not overwrite:
        refuse_to_overwrite(filename)
    write_file_atomic(filename, private_key_pem(key), mode=0o600)


def create_rsa_private_key(filename, bits=4096):
    """ Create an RSA private key (4096 bits, as the original) and save it, mode 0600 """
    refuse_to_overwrite(filename)
    key = RSA.generate(bits)
    save_private_key(key, filename)
    return key


def create_ec_private_key(filename):
    """ Create an EC P-256 private key (for ES256) and save it, mode 0600 """
    refuse_to_overwrite(filename)
    key = ECC.generate(curve="P-256")
    save_private_key(key, filename)
    return key


def create_private_key(filename, key_type="rsa", bits=4096):
    """ Create an RSA or EC P-256 key in a new file; returns (key, description) """
    if key_type == "ec":
        return create_ec_private_key(filename), "EC P-256 (ES256)"
    return create_rsa_private_key(filename, bits), "RSA {0} bits (RS256)".format(bits)


def _int_bytes(value, length=None):
    """ Big-endian bytes of a positive integer, without leading zeros unless a length is given """
    length = length or max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


def get_jwk(key):
    """ The public JWK of a private key (RFC 7517), members in RFC 7638 order

    >>> get_jwk(RSA.construct((0xC5, 3)))      # a toy public key: n = 197, e = 3
    {'e': 'Aw', 'kty': 'RSA', 'n': 'xQ'}
    """
    key = _as_key(key)
    if isinstance(key, RSA.RsaKey):
        return {"e": b64(_int_bytes(key.e)), "kty": "RSA", "n": b64(_int_bytes(key.n))}
    point = key.pointQ
    return {"crv": "P-256", "kty": "EC",
            "x": b64(_int_bytes(int(point.x), 32)), "y": b64(_int_bytes(int(point.y), 32))}


def jwk_thumbprint(jwk):
    """ RFC 7638 thumbprint: SHA-256 of the required members, sorted, no white space, base64url

    >>> jwk_thumbprint({"e": "AQAB", "kty": "RSA", "n": "xQ"})
    'I3J1HijKFdaf46Ec8v-fV55VCkz-YnUVvy0e2lAAbwc'
    """
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in required}, sort_keys=True, separators=(",", ":"))
    return b64(hashlib.sha256(canonical.encode("utf8")).digest())


def key_authorization(token, jwk):
    """ RFC 8555 §8.1: token "." thumbprint of the account key; what http-01 serves

    >>> key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", {"e": "AQAB", "kty": "RSA", "n": "xQ"})
    'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.I3J1HijKFdaf46Ec8v-fV55VCkz-YnUVvy0e2lAAbwc'
    """
    return "{0}.{1}".format(token, jwk_thumbprint(jwk))


def dns01_txt_value(key_auth):
    """ RFC 8555 §8.4: the TXT record value, base64url(SHA-256(key authorization))

    >>> dns01_txt_value("token.thumbprint")
    '61rBZ_4knHblO0MNoxFsXZ_eTFUHum0B6IVRbhvUn5I'
    """
    return b64(hashlib.sha256(key_auth.encode("utf8")).digest())


############################################################
# Signing and the JWS (RFC 8555 §6.2, RFC 7515)
############################################################

def get_alg(key):
    """ The JWS algorithm for a key: RS256 for RSA, ES256 for EC P-256 """
    return "RS256" if isinstance(_as_key(key), RSA.RsaKey) else "ES256"


def sign(data, key):
    """ Sign bytes: RS256 (RSASSA-PKCS1-v1_5, SHA-256) or ES256 (raw 64-byte r||s, RFC 7518 §3.4)

    >>> signature = sign(b"<b64 protected>.<b64 payload>", "account.key")     # doctest: +SKIP
    >>> len(sign(b"data", ECC.generate(curve="P-256")))
    64
    """
    key = _as_key(key)
    digest = SHA256.new(data)
    if isinstance(key, RSA.RsaKey):
        return pkcs1_15.new(key).sign(digest)
    return DSS.new(key, "fips-186-3", encoding="binary").sign(digest)


def encode_payload(payload):
    """ The JWS payload: "" for POST-as-GET (payload None), otherwise base64url of the JSON """
    if payload is None:
        return ""
    return b64(json.dumps(payload).encode("utf8"))


def make_jws(key, url, payload, nonce=None, kid=None):
    """ Build the flattened JSON JWS an ACME request carries (RFC 8555 §6.2)

    The protected header names the key by "kid" (the account URL) when one is given, otherwise by
    "jwk" (newAccount, revocation with the certificate key, the inner JWS of a key change).
    payload None makes a POST-as-GET (§6.3); nonce None leaves the nonce out (inner JWS only).

    >>> key = ECC.generate(curve="P-256")
    >>> jws = make_jws(key, "https://ca/acct/1", None, nonce="abc", kid="https://ca/acct/1")
    >>> decode_jws(jws)
    ({'alg': 'ES256', 'kid': 'https://ca/acct/1', 'nonce': 'abc', 'url': 'https://ca/acct/1'}, '')
    """
    key = _as_key(key)
    protected = {"alg": get_alg(key)}
    if kid:
        protected["kid"] = kid
    else:
        protected["jwk"] = get_jwk(key)
    if nonce is not None:
        protected["nonce"] = nonce
    protected["url"] = url
    protected_b64 = b64(json.dumps(protected).encode("utf8"))
    payload_b64 = encode_payload(payload)
    signature = sign("{0}.{1}".format(protected_b64, payload_b64).encode("utf8"), key)
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64(signature)}


def make_eab_jws(eab_kid, hmac_key_b64, url, account_jwk):
    """ RFC 8555 §7.3.4 external account binding: an HS256 JWS over the account JWK, no nonce """
    protected_b64 = b64(json.dumps({"alg": "HS256", "kid": eab_kid, "url": url}).encode("utf8"))
    payload_b64 = b64(json.dumps(account_jwk).encode("utf8"))
    try:
        mac_key = b64decode(hmac_key_b64.strip())
    except ValueError:
        raise AcmeError("Error: EABHMACKey in acme.ini is not base64url; copy it exactly as your CA gave it.")
    mac = hmac.new(mac_key, "{0}.{1}".format(protected_b64, payload_b64).encode("utf8"), hashlib.sha256)
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64(mac.digest())}


def decode_jws(jws):
    """ The protected header and payload of a flattened JWS, decoded (for --debug) """
    header = json.loads(b64decode(jws["protected"]))
    payload = jws["payload"]
    return header, (json.loads(b64decode(payload)) if payload else "")


############################################################
# acme.ini
############################################################

class Config:
    """ The [acme-neoprime] section of acme.ini; file names are relative to the ini's folder """

    def __init__(self, filename, section):
        self.filename = filename
        self.section = section
        self.folder = os.path.dirname(os.path.abspath(filename))

    def get(self, key, default=None):
        """ A value as text; a key with no default must be present and not empty """
        value = self.section.get(key, "").strip()
        if value:
            return value
        if default is None:
            raise AcmeError("Error: {0} has no {1} in section [{2}]. Add it, for example from the "
                            "acme.ini that comes with these examples.".format(self.filename, key, SECTION))
        return default

    def path(self, key, default=None):
        """ A file name from the config, relative to the folder of acme.ini """
        return self._path(self.get(key, default))

    def _path(self, name):
        name = os.path.expanduser(name)
        if os.path.isabs(name) or self.folder == os.getcwd():
            return name
        return os.path.join(self.folder, name)

    @property
    def directory(self):
        url = self.get("ACMEDirectory")
        parsed = urlparse(url)
        if parsed.scheme != "https" or not parsed.netloc:
            raise AcmeError("Error: ACMEDirectory in {0} is not an https:// URL: {1!r}. ACME runs over HTTPS "
                            "only (RFC 8555 §6.1); for staging use {2}".format(self.filename, url, STAGING))
        return url

    @property
    def user_agent(self):
        return self.get("UserAgent", DEFAULT_USER_AGENT)

    @property
    def language(self):
        return self.get("Language", "en")

    @property
    def account_key_file(self):
        return self.path("AccountKeyFile")

    def seconds(self, key, default):
        """ A duration in seconds, above 0 """
        text = self.get(key, default)
        try:
            value = float(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise AcmeError("Error: {0} in {1} must be a number of seconds above 0, not {2!r}."
                            .format(key, self.filename, text))
        return value

    @property
    def timeout(self):
        return self.seconds("Timeout", "30")

    @property
    def poll_timeout(self):
        return self.seconds("PollTimeout", "120")

    @property
    def verify(self):
        """ What requests needs for verify=: the CABundle file, or True for the system trust store """
        bundle = self.section.get("CABundle", "").strip()
        if not bundle:
            return True
        path = self._path(bundle)
        if not os.path.isfile(path):
            raise AcmeError("Error: CABundle in {0} names {1}, which does not exist. Point it at the PEM file "
                            "of the CA that signed the server's certificate, or leave it empty to use the "
                            "system's trust store.".format(self.filename, path))
        return path

    @property
    def contacts(self):
        """ The Contacts list, each checked (RFC 8555 §7.3): mailto: and one plain address each """
        return check_contacts(self.section.get("Contacts", "").split(";"), "Contacts in " + self.filename)


EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def check_contacts(contacts, where="contact"):
    """ Validate contact URLs before they are sent: "mailto:" and exactly one address, no ?hfields """
    result = []
    for contact in (c.strip() for c in contacts):
        if not contact:
            continue
        address = contact[len("mailto:"):] if contact.lower().startswith("mailto:") else None
        if address is None or "?" in address or "," in address or not EMAIL.match(address):
            raise AcmeError("Error: {0}: {1!r} is not a valid contact. Write each as mailto:name@domain, "
                            "one address each, separated by ';'.".format(where, contact))
        result.append(contact)
    return result


def load_acme_config(filename=DEFAULT_CONFIG):
    """ Read acme.ini and return its [acme-neoprime] section as a Config """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(filename, encoding="utf8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise AcmeError("Error: Configuration file not found: {0}. Run the script from the folder that "
                        "holds acme.ini, or pass --config FILE.".format(filename))
    except OSError as error:
        raise AcmeError("Error: Cannot read {0}: {1}".format(filename, error.strerror))
    except (configparser.Error, UnicodeDecodeError) as error:
        first_line = str(error).splitlines()[0]
        raise AcmeError("Error: {0} is not a valid ini file ({1}). Compare it with the acme.ini that comes "
                        "with these examples.".format(filename, first_line))
    if not parser.has_section(SECTION):
        raise AcmeError("Error: {0} has no [{1}] section. Add it, as in the acme.ini that comes with "
                        "these examples.".format(filename, SECTION))
    return Config(filename, parser[SECTION])


############################################################
# Problem documents (RFC 8555 §6.7)
############################################################

HINTS = {
    "accountDoesNotExist": "No account uses this key yet: create it with python new_account.py",
    "unauthorized": "The server refused this account or key; if the account was deactivated, "
                    "create a new one with a new key.",
    "rateLimited": "You hit a rate limit; wait before trying again (Let's Encrypt staging has higher limits).",
    "userActionRequired": "Visit the URL the server gave (often new terms of service), then retry.",
    "externalAccountRequired": "This CA needs external account binding: set EABKeyID and EABHMACKey "
                               "in acme.ini.",
    "invalidContact": "Fix Contacts in acme.ini: each must be mailto: with a real address.",
    "unsupportedContact": "Fix Contacts in acme.ini: this CA accepts only mailto: contacts.",
    "serverInternal": "The server failed; try again later.",
    "orderNotReady": "The order is not ready: complete its challenges first (http01_challenge.py or "
                     "dns01_challenge.py).",
    "alreadyRevoked": "Nothing to do: this certificate is already revoked.",
    "badRevocationReason": "Use another --reason (0-6, 8-10; reason 7 is not used).",
    "badCSR": "Create the CSR again with python make_csr.py NAME...",
}


def hint_for(problem):
    """ What the user can do about a problem, when we know """
    short = str(problem.get("type", "")).replace(ERROR_NS, "")
    if short == "unauthorized" and "deactivated" in str(problem.get("detail", "")).lower():
        return ("This account is deactivated and can never be used again. To go on, make a new key "
                "(python make_account_key.py new.key), set AccountKeyFile to it and run python new_account.py")
    return HINTS.get(short)


def parse_problem(response):
    """ The problem document of an error response as a dict, or {} when the body is not JSON """
    try:
        problem = response.json()
    except ValueError:
        return {}
    return problem if isinstance(problem, dict) else {}


def format_problem(problem):
    """ Lines for a problem document: type, detail and each subproblem with its identifier """
    lines = ["Error Type: {0}".format(problem.get("type", "(none)")),
             "Detail: {0}".format(problem.get("detail", "(none)"))]
    for sub in problem.get("subproblems") or []:
        if not isinstance(sub, dict):
            continue
        ident = sub.get("identifier") or {}
        lines.append("  Subproblem for {0} {1}: {2}: {3}".format(
            ident.get("type", "?"), ident.get("value", "?"), sub.get("type", "?"), sub.get("detail", "")))
    return lines


def process_error_message(text):
    """ Print the type, detail and subproblems of a problem document; tolerate a non-JSON body """
    try:
        problem = json.loads(text)
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        print("Error: The server's answer is not an ACME problem document: {0}".format(_snippet(text)))
        return
    print("\n".join(format_problem(problem)))


def _snippet(text, limit=200):
    text = re.sub(r"<[^>]*>", " ", text or "")
    text = " ".join(text.split())
    return (text[:limit] + "...") if len(text) > limit else (text or "(empty body)")


def problem_error(response, doing):
    """ An AcmeProblem for an HTTP error response, with the original's lines and a hint """
    problem = parse_problem(response)
    lines = ["Error calling ACME endpoint: {0} ({1})".format(response.reason, doing),
             "URL: {0}".format(response.url),
             "Status Code: {0}".format(response.status_code)]
    if problem:
        lines += format_problem(problem)
        hint = hint_for(problem)
        if hint:
            lines.append(hint)
    else:
        lines.append("The answer is not an ACME problem document ({0}): {1}".format(
            response.headers.get("Content-Type", "no Content-Type"), _snippet(response.text)))
        lines.append("A proxy or the server failed; check ACMEDirectory in acme.ini and try again later.")
    retry = retry_after_seconds(response)
    if retry is not None:
        lines.append("The server asks to retry after {0:.0f} seconds (at {1} UTC): run this step again then."
                     .format(retry, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + retry))))
    return AcmeProblem("\n".join(lines), response, problem)


def retry_after_seconds(response, now=None):
    """ Retry-After as seconds (delta-seconds or an HTTP date), or None """
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (now or time.time()))


############################################################
# The HTTPS session
############################################################

DEBUG_HEADERS = ("Replay-Nonce", "Location", "Link", "Retry-After", "Content-Type")


class AcmeSession:
    """ One requests.Session to one ACME server, with the state a client keeps between requests

    - every request has the configured timeout and TLS verification (CABundle, passed per request,
      since REQUESTS_CA_BUNDLE in the environment would override Session.verify);
    - every response's Replay-Nonce becomes the next nonce (§6.5);
    - a badNonce error is retried with the nonce from the error response;
    - a signed request uses "kid" once account_url is known, otherwise "jwk".
    """

    def __init__(self, config, key=None, debug=False):
        self.config = config
        self.key = key
        self.debug = debug
        self.timeout = config.timeout
        self.poll_timeout = config.poll_timeout
        self.verify = config.verify
        self.http = requests.Session()
        self.http.headers.update({"User-Agent": config.user_agent, "Accept-Language": config.language})
        self.directory = None
        self.nonce = None
        self.account_url = None
        self.requests_sent = 0

    # -- transport ------------------------------------------------------

    def request(self, method, url, jws=None, **kwargs):
        """ Send one request; turn every network failure into an AcmeError; keep the nonce """
        print("Calling endpoint:", url)
        if jws is not None:
            kwargs["data"] = json.dumps(jws)
            if self.debug:
                self._debug_request(jws)
        self.requests_sent += 1
        try:
            response = self.http.request(method, url, timeout=self.timeout, verify=self.verify, **kwargs)
        except requests.exceptions.SSLError as error:
            raise AcmeError("Error: TLS verification failed for {0}: {1}\nThe server's certificate is not "
                            "trusted. If it is a test server (Pebble), set CABundle in {2} to its CA "
                            "certificate; for Let's Encrypt leave CABundle empty and check the system's "
                            "CA certificates.".format(url, _reason(error), self.config.filename))
        except requests.exceptions.Timeout:
            raise AcmeError("Error: No answer from {0} within {1:g} seconds. The server may be down or "
                            "slow; try again later or raise Timeout in {2}."
                            .format(url, self.timeout, self.config.filename))
        except requests.exceptions.ConnectionError as error:
            raise AcmeError("Error: Cannot connect to {0}: {1}\nCheck ACMEDirectory in {2}, your network, "
                            "and that the server is running.".format(url, _reason(error), self.config.filename))
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as error:
            raise AcmeError("Error: Bad URL {0!r}: {1}. Check ACMEDirectory in {2}."
                            .format(url, error, self.config.filename))
        except requests.exceptions.RequestException as error:
            raise AcmeError("Error: Request to {0} failed: {1}".format(url, error))
        nonce = response.headers.get("Replay-Nonce")
        if nonce:
            self.nonce = nonce
        if self.debug:
            self._debug_response(response)
        return response

    def _debug_response(self, response):
        print("  <- {0} {1}".format(response.status_code, response.reason))
        for name in DEBUG_HEADERS:
            if name in response.headers:
                print("     {0}: {1}".format(name, response.headers[name]))
        if response.text:
            try:
                body = json.dumps(response.json(), indent=4)
            except ValueError:
                body = response.text
            print("     " + body.replace("\n", "\n     "))

    def short_wait(self, response):
        """ Wait out a rate limit or an overload that asks for a short Retry-After (§6.6); True if waited """
        wait = retry_after_seconds(response)
        if response.status_code not in (429, 503) or wait is None or wait > MAX_RETRY_AFTER:
            return False
        print("The server is busy or rate limiting ({0}); waiting {1:g} s as it asks (Retry-After)."
                 .format(response.status_code, wait))
        time.sleep(wait)
        return True

    def get(self, url, doing="GET", method="GET"):
        """ GET (or HEAD) url; an error answer becomes an AcmeProblem """
        for _attempt in range(3):
            response = self.request(method, url)
            if response.ok:
                return response
            if not self.short_wait(response):
                break
        raise problem_error(response, doing)

    def head(self, url, doing="HEAD"):
        return self.get(url, doing, method="HEAD")

    # -- directory and nonce (§7.1.1, §7.2) -----------------------------

    def get_directory(self):
        """ GET the directory and keep it; returns the response (its .text is printed by get_directory.py) """
        url = self.config.directory
        response = self.get(url, "getting the ACME directory")
        self.directory = parse_json(response)
        return response

    def url(self, name):
        """ A URL from the directory (fetched on first use); a clear error when it is missing """
        if self.directory is None:
            self.get_directory()
        value = self.directory.get(name)
        if not isinstance(value, str) or not value:
            raise AcmeError("Error: The ACME directory at {0} has no {1!r} entry, which this step needs. "
                            "Check ACMEDirectory in {2}.".format(self.config.directory, name, self.config.filename))
        return value

    @property
    def meta(self):
        """ The directory's "meta" object ({} when absent) """
        if self.directory is None:
            self.get_directory()
        meta = self.directory.get("meta")
        return meta if isinstance(meta, dict) else {}

    def new_nonce(self):
        """ HEAD newNonce (§7.2): 200 with a Replay-Nonce header """
        response = self.head(self.url("newNonce"), "getting a new nonce")
        if "Replay-Nonce" not in response.headers:
            raise AcmeError("Error: Response headers did not contain the header \"Replay-Nonce\" "
                            "(from {0}). The server is not answering as an ACME server.".format(response.url))
        return response

    def take_nonce(self):
        """ The nonce for the next request: the last Replay-Nonce seen, or a fresh one """
        if self.nonce is None:
            self.new_nonce()
        nonce, self.nonce = self.nonce, None
        return nonce

    # -- signed requests (§6.2 - §6.5) ----------------------------------

    def post_jws(self, url, build, doing, headers=None):
        """ POST a JWS made by build(nonce); retry badNonce with the nonce from the error response

        The nonce comes from the last response's Replay-Nonce (or HEAD newNonce the first time); a
        badNonce answer carries a fresh one, which the retry must use (RFC 8555 §6.5):

            acme = AcmeSession(load_acme_config("acme.ini"), key=load_account_key(config))
            response = acme.post_jws(url, lambda nonce: make_jws(key, url, payload, nonce), "creating the order")
        """
        all_headers = {"Content-Type": "application/jose+json"}
        all_headers.update(headers or {})
        for _attempt in range(MAX_NONCE_RETRIES):
            response = self.request("POST", url, jws=build(self.take_nonce()), headers=all_headers)
            if response.ok:
                return response
            error = problem_error(response, doing)
            if error.is_type("badNonce"):
                print("The server rejected the nonce (badNonce); retrying with the nonce it sent.")
            elif not self.short_wait(response):
                raise error
        raise AcmeError("Error: The server rejected {0} requests in a row while {1} ({2}): bad nonces or "
                        "rate limits. Try again later.".format(MAX_NONCE_RETRIES, doing, url))

    def post(self, url, payload, doing="sending a signed request", key=None, use_jwk=False, headers=None):
        """ Sign payload (None = POST-as-GET) with the account key, or key, and POST it to url """
        key = key or self.key
        kid = None if use_jwk else self.account_url
        return self.post_jws(url, lambda nonce: make_jws(key, url, payload, nonce, kid), doing, headers)

    def post_as_get(self, url, doing="fetching a resource", headers=None):
        """ POST-as-GET (§6.3): a signed POST whose payload is the empty string """
        return self.post(url, None, doing, headers=headers)

    def _debug_request(self, body):
        header, payload = decode_jws(body)
        print("  -> protected header:", json.dumps(header, indent=4).replace("\n", "\n     "))
        print("     payload:", json.dumps(payload, indent=4).replace("\n", "\n     ") if payload != ""
              else '"" (POST-as-GET)')
        print("     signature: {0} bytes".format(len(b64decode(body["signature"]))))

    # -- polling (§7.5.1, §7.4) -----------------------------------------

    def poll(self, url, done, what, first_wait=0.0):
        """ POST-as-GET url until its status is in done; honour Retry-After; returns the object

        first_wait: seconds to give the server before the first look (its Retry-After, if it sent one).
        """
        deadline = time.monotonic() + self.poll_timeout
        if first_wait:
            time.sleep(first_wait)
        delay = 1.0
        attempt = 0
        while True:
            attempt += 1
            response = self.post_as_get(url, "polling " + what)
            obj = parse_json(response)
            status = obj.get("status")
            if status in done:
                return obj
            wait = retry_after_seconds(response)
            wait = delay if wait is None else wait
            delay = min(delay * 2, 10.0)
            if time.monotonic() + wait > deadline:
                raise AcmeError("Error: {0} is still {1!r} after {2:.0f} seconds ({3}). Run the step again "
                                "later, or raise PollTimeout in acme.ini.".format(what, status, self.poll_timeout, url))
            print("Status of {0}: {1} (attempt {2}); checking again in {3:g} s".format(what, status, attempt, wait))
            time.sleep(wait)

    def fetch(self, url, what):
        """ POST-as-GET a resource and return its JSON object """
        return parse_json(self.post_as_get(url, "fetching " + what))

    # -- authorizations and challenges (§7.5) ---------------------------

    def pending_authorizations(self, order):
        """ Fetch the order's authorizations; those already valid are said and skipped (§7.1.3) """
        pending = []
        for url in order.get("authorizations") or []:
            authz = self.fetch(url, "an authorization")
            name = authz_name(authz)
            status = authz.get("status")
            if status == "valid":
                print("Authorization for {0}: already valid, nothing to do".format(name))
            elif status == "pending":
                pending.append((url, authz))
            else:
                raise AcmeError("Error: The authorization for {0} is {1!r}: this order cannot be completed. "
                                "Create a new order: python request_certificate.py{2}".format(
                                    name, status, challenge_errors(authz)))
        return pending

    def answer_challenge(self, challenge):
        """ Tell the server the challenge is ready: POST {} to its URL (§7.5.1) """
        return parse_json(self.post(challenge["url"], {}, "answering the {0} challenge".format(challenge["type"])))

    def wait_for_authorizations(self, pending):
        """ After every challenge was answered: give the server a moment, then poll each authorization """
        time.sleep(FIRST_POLL_WAIT)
        for url, authz in pending:
            self.wait_for_authorization(url, authz)

    def wait_for_authorization(self, url, authz):
        """ Poll an authorization until it is valid; a clear error with the challenge's problem if not """
        name = authz_name(authz)
        result = self.poll(url, ("valid", "invalid", "deactivated", "expired", "revoked"),
                           "the authorization for " + name)
        if result.get("status") != "valid":
            raise AcmeError("Error: The authorization for {0} is {1}: the server could not validate the "
                            "challenge.{2}".format(name, result.get("status"), challenge_errors(result)))
        print("Authorization for {0}: valid".format(name))
        return result

    # -- accounts (§7.3.1) ----------------------------------------------

    def find_account(self):
        """ newAccount with onlyReturnExisting: the account URL of this key, kept for "kid" """
        response = self.post(self.url("newAccount"), {"onlyReturnExisting": True},
                             "looking up the account of this key", use_jwk=True)
        self.account_url = require_header(response, "Location")
        return self.account_url


def authz_name(authz):
    """ The identifier of an authorization, as text ("*." in front for a wildcard) """
    identifier = authz.get("identifier") or {}
    return ("*." if authz.get("wildcard") else "") + str(identifier.get("value", "?"))


def challenge_errors(authz):
    """ The problem documents of an authorization's failed challenges, as indented lines """
    lines = []
    for challenge in authz.get("challenges") or []:
        if isinstance(challenge, dict) and isinstance(challenge.get("error"), dict):
            lines.append("{0} challenge:".format(challenge.get("type")))
            lines += ["  " + line for line in format_problem(challenge["error"])]
    return ("\n" + "\n".join(lines)) if lines else ""


def find_challenge(authz, challenge_type):
    """ The challenge of one type in an authorization; a clear error when the server offers none """
    for challenge in authz.get("challenges") or []:
        if isinstance(challenge, dict) and challenge.get("type") == challenge_type:
            check_token(challenge.get("token", ""))
            return challenge
    offered = ", ".join(c.get("type", "?") for c in authz.get("challenges") or [] if isinstance(c, dict))
    raise AcmeError("Error: The server offers no {0} challenge for {1} (it offers: {2}). A wildcard needs "
                    "dns-01; an IP address cannot use dns-01.".format(challenge_type, authz_name(authz), offered))


TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


def check_token(token):
    """ A challenge token is base64url (§8.1); anything else could escape a web root as a file name """
    if not TOKEN.match(token):
        raise AcmeError("Error: The server sent a challenge token that is not base64url: {0!r}. It was "
                        "refused.".format(token))
    return token


def _reason(error):
    """ The innermost message of a requests exception, for a one-line report """
    text = str(error)
    match = re.search(r"\((?:Caused by )?\w+\((.*)\)\)$", text)
    return match.group(1) if match else text


def parse_json(response):
    """ The JSON object in a response body; a clear error when it is not one """
    try:
        obj = response.json()
    except ValueError as error:
        raise AcmeError("Error: Cannot load returned data: {0}\nThe answer from {1} is not JSON: {2}"
                        .format(error, response.url, _snippet(response.text)))
    if not isinstance(obj, dict):
        raise AcmeError("Error: Cannot load returned data: the answer from {0} is JSON but not an object: {1}"
                        .format(response.url, _snippet(response.text)))
    return obj


def require_header(response, name):
    """ A response header that the protocol promises; a clear error when it is missing """
    value = response.headers.get(name)
    if not value:
        raise AcmeError('Error: Response headers did not contain the header "{0}" (from {1}).'
                        .format(name, response.url))
    return value


############################################################
# Names, CSRs and certificates (X.509 is read and built with the cryptography package)
############################################################

HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def make_identifier(name):
    """ The ACME identifier for a name: {"type": "dns"} (RFC 8555 §9.7.7) or {"type": "ip"} (RFC 8738) """
    import ipaddress
    text = name.strip().lower().rstrip(".")
    try:
        return {"type": "ip", "value": str(ipaddress.ip_address(text))}
    except ValueError:
        pass
    labels = text.split(".")
    if labels[0] == "*":
        labels = labels[1:]
    if (len(labels) < 2 or len(text) > 253 or not all(HOSTNAME_LABEL.match(label) for label in labels)
            or labels[-1].isdigit()):
        raise AcmeError("Error: {0!r} is not a valid host name or IP address (a wildcard may only be the "
                        "first label, as in *.example.com).".format(name))
    return {"type": "dns", "value": text}


def load_csr(filename):
    """ Read a PEM (or DER) Certificate Signing Request """
    from cryptography import x509
    if not os.path.exists(filename):
        raise AcmeError("Error: File does not exist: {0} (the CSR). Create it with: python make_csr.py NAME..."
                        .format(filename))
    with open(filename, "rb") as f:
        data = f.read()
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except ValueError:
        raise AcmeError("Error: {0} is not a Certificate Signing Request; create it again with "
                        "python make_csr.py NAME...".format(filename))


def get_domains_from_csr(csr):
    """ The names a CSR asks for: its subjectAltName DNS names and IP addresses, and the CN """
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    names = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = []
    for entry in san:
        if isinstance(entry, (x509.DNSName, x509.IPAddress)):
            names.append(str(entry.value))
    result = []
    for name in names:
        if name.lower() not in result:
            result.append(name.lower())
    return result


def csr_public_jwk(csr):
    """ The JWK of the public key in a CSR, to compare with the account key (§11.1) """
    from cryptography.hazmat.primitives import serialization
    der = csr.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        return get_jwk(RSA.import_key(der))
    except ValueError:
        return get_jwk(ECC.import_key(der))


def check_not_account_key(csr_jwk, config):
    """ RFC 8555 §11.1: the account key must never be the key of a certificate """
    account_file = config.account_key_file
    if os.path.exists(account_file) and get_jwk(load_private_key(account_file, "account key")) == csr_jwk:
        raise AcmeError("Error: The certificate key is the account key ({0}). Never reuse the account key "
                        "in a certificate (RFC 8555 §11.1): make a separate one with "
                        "python make_certificate_key.py".format(account_file))


PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s.*?-----END \1-----", re.S)


def parse_pem_chain(text):
    """ The certificates of a PEM chain; anything but CERTIFICATE blocks is refused (§11.4) """
    from cryptography import x509
    blocks = PEM_BLOCK.findall(text)
    others = sorted(set(label for label in blocks if label != "CERTIFICATE"))
    if others:
        raise AcmeError("Error: The certificate chain holds {0} blocks, not only certificates; it was "
                        "refused (RFC 8555 §11.4).".format(", ".join(others)))
    certs = []
    for match in PEM_BLOCK.finditer(text):
        try:
            certs.append(x509.load_pem_x509_certificate(match.group(0).encode("ascii")))
        except ValueError:
            raise AcmeError("Error: The certificate chain holds a CERTIFICATE block that does not parse.")
    if not certs:
        raise AcmeError("Error: No certificate found in the chain ({0}).".format(_snippet(text)))
    return certs


############################################################
# Prompts, files the steps share, the command line
############################################################

def Confirm(msg, assume_yes=False, no_terminal="Run the script in a terminal, or pass --yes to answer yes."):
    """ Ask a y/n question; True for y. assume_yes answers yes (--yes); with no terminal to ask, an
    AcmeError that says what to do instead (no_terminal) """
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise AcmeError("Error: No terminal to ask: {0!r}. {1}".format(msg.strip(), no_terminal))
    while True:
        try:
            answer = input(msg).strip().lower()
        except EOFError:
            return False
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no", ""):
            return False


def load_json_file(filename, what, hint):
    """ Read a JSON file an earlier step wrote """
    try:
        with open(filename, encoding="utf8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise AcmeError("Error: File does not exist: {0} (the {1}). {2}".format(filename, what, hint))
    except (OSError, ValueError) as error:
        raise AcmeError("Error: Cannot read the {0} from {1}: {2}. {3}".format(what, filename, error, hint))


class ArgumentParser(argparse.ArgumentParser):
    """ argparse, but a usage error exits with 1 like every other failure """

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(1, "{0}: error: {1}\n".format(self.prog, message))


def save_order(config, url, order):
    """ Keep the order URL and object for the next step (OrderFile in acme.ini) """
    filename = config.path("OrderFile", "order.json")
    write_file_atomic(filename, (json.dumps({"url": url, "order": order}, indent=4) + "\n").encode("utf8"))
    return filename


def load_order(config):
    """ The order URL and object saved by request_certificate.py """
    filename = config.path("OrderFile", "order.json")
    saved = load_json_file(filename, "saved order", "Create an order first: python request_certificate.py")
    if not isinstance(saved, dict) or not isinstance(saved.get("order"), dict) or not saved.get("url"):
        raise AcmeError("Error: {0} is not an order saved by request_certificate.py; run it again."
                        .format(filename))
    return saved["url"], saved["order"]


def add_key_options(parser, config_key, bits):
    """ The options of the make_*_key scripts: FILE, --type and --bits """
    parser.add_argument("file", nargs="?", help="key file to write (default: {0} in acme.ini)".format(config_key))
    parser.add_argument("--type", choices=("rsa", "ec"), default="rsa", help="key type (default: rsa)")
    parser.add_argument("--bits", type=int, default=bits, choices=(2048, 3072, 4096),
                        help="RSA key size (default: {0})".format(bits))


def make_parser(doc):
    """ The options every script has, --config and --debug; --help shows the script's docstring """
    parser = ArgumentParser(description=doc.strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=DEFAULT_CONFIG, metavar="FILE",
                        help="configuration file (default: %(default)s)")
    parser.add_argument("--debug", action="store_true",
                        help="show each request's protected header and payload, and each response")
    return parser


def run(main):
    """ Run main(); an AcmeError or Ctrl-C becomes one message on stderr and exit status 1 """
    try:
        return main() or 0
    except AcmeError as error:
        sys.stdout.flush()
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("Interrupted.", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader piped the output into something that stopped reading (| head): not a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
