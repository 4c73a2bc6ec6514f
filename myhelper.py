""" Let's Encrypt ACME Version 2 Examples - the mechanics every step uses (article Part 4): base64url,
keys, JWK and thumbprint, RS256/ES256 and the JWS, EAB, challenge values, names, CSRs, acme.ini,
and the original package's Confirm and problem printing.

Copy any function: paste it with the imports above and the helpers its docstring names after
"Needs:" into your own file, and it works. They take plain values (a key object, bytes, a dict), or
a file name where the article passed one, and raise ValueError with a message: never return None.
"""

import base64
import configparser
import hashlib
import hmac
import ipaddress
import json
import os
import re
import sys
import tempfile

from Crypto.Hash import SHA256
from Crypto.PublicKey import ECC, RSA
from Crypto.Signature import DSS, pkcs1_15


def b64(data):
    """ base64url-encode bytes (or a str, as UTF-8) without "=" padding

    >>> b64(b"\\x03\\xec\\xff")
    'A-z_'
    """
    data = data.encode("utf8") if isinstance(data, str) else data
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64decode(text):
    """ Decode base64url, with or without padding

    >>> b64decode("A-z_")
    b'\\x03\\xec\\xff'
    """
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_private_key(key):
    """ An RSA (2048 bits or more) or EC P-256 private key, from a PEM file name or PEM bytes

    >>> load_private_key("account.key").size_in_bits()
    2048
    """
    name = os.fspath(key) if isinstance(key, (str, os.PathLike)) else "the key"
    if name != "the key":
        if not os.path.exists(name):
            raise ValueError("File does not exist: {0}".format(name))
        with open(name, "rb") as f:
            key = f.read()
    if b"ENCRYPTED" in key:                 # PKCS #8 "ENCRYPTED PRIVATE KEY", PKCS #1 "Proc-Type: 4,ENCRYPTED"
        raise ValueError("{0} is encrypted with a passphrase; these examples read keys without one. Write a copy "
                         "without it: openssl pkey -in KEY -out plain.key (mode 0600)".format(name))
    if b"BEGIN OPENSSH PRIVATE KEY" in key:
        raise ValueError("{0} is an OpenSSH key; convert it to PEM: ssh-keygen -p -m PEM -f KEY".format(name))
    try:
        loaded = RSA.import_key(key)         # checks the key: version 0, 3 <= e < n, e odd, p and q prime
    except (ValueError, IndexError, TypeError, ZeroDivisionError):
        try:
            loaded = ECC.import_key(key)
        except (ValueError, IndexError, TypeError):
            raise ValueError("{0} is not a PEM private key (RSA, or EC P-256)".format(name))
    if not loaded.has_private():
        raise ValueError("{0} holds a public key; a private key is needed".format(name))
    if not isinstance(loaded, RSA.RsaKey) and loaded.curve != "NIST P-256":
        raise ValueError("{0} is an EC key on {1}; ES256 needs P-256".format(name, loaded.curve))
    if isinstance(loaded, RSA.RsaKey) and loaded.size_in_bits() < 2048:
        raise ValueError("{0} is a {1}-bit RSA key; ACME servers need 2048 bits or more".format(
            name, loaded.size_in_bits()))
    return loaded


def save_private_key(key, filename):
    """ Write a private key as PEM, mode 0600, atomically, and never over an existing file

    >>> from Crypto.PublicKey import ECC
    >>> path = os.path.join(tempfile.mkdtemp(), "account.key")
    >>> save_private_key(ECC.generate(curve="P-256"), path)
    >>> oct(os.stat(path).st_mode & 0o777)
    '0o600'
    """
    pem = key.export_key(format="PEM")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(filename)), prefix=".tmp-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem.encode("ascii") if isinstance(pem, str) else pem)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, filename)                       # refuses an existing file: never an overwrite
    except FileExistsError:
        raise ValueError("{0} already exists; it was not overwritten".format(filename))
    finally:
        os.unlink(tmp)


def create_rsa_private_key(filename, bits=4096):
    """ A new RSA key (4096 bits, as the original) in a new file of mode 0600. Needs: save_private_key

    >>> create_rsa_private_key(os.path.join(tempfile.mkdtemp(), "a.key"), 2048).size_in_bits()
    2048
    """
    key = RSA.generate(bits)
    save_private_key(key, filename)
    return key


def get_jwk(key):
    """ The public JWK of a private key (or key file), members in RFC 7638 order. Needs: b64, load_private_key

    >>> get_jwk(RSA.construct((0xC5, 3)))      # a toy public key: n = 197, e = 3
    {'e': 'Aw', 'kty': 'RSA', 'n': 'xQ'}
    """
    if isinstance(key, (str, os.PathLike, bytes)):
        key = load_private_key(key)
    if isinstance(key, RSA.RsaKey):
        return {"e": b64(key.e.to_bytes((key.e.bit_length() + 7) // 8, "big")), "kty": "RSA",
                "n": b64(key.n.to_bytes((key.n.bit_length() + 7) // 8, "big"))}
    return {"crv": "P-256", "kty": "EC", "x": b64(int(key.pointQ.x).to_bytes(32, "big")),
            "y": b64(int(key.pointQ.y).to_bytes(32, "big"))}


def jwk_thumbprint(jwk):
    """ RFC 7638: SHA-256 of the required members, sorted, without white space. Needs: b64

    >>> jwk_thumbprint({"e": "AQAB", "kty": "RSA", "n": "xQ"})
    'I3J1HijKFdaf46Ec8v-fV55VCkz-YnUVvy0e2lAAbwc'
    """
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in required}, sort_keys=True, separators=(",", ":"))
    return b64(hashlib.sha256(canonical.encode("utf8")).digest())


def get_alg(key):
    """ The JWS "alg" of a key (or key file): RS256 for RSA, ES256 for EC P-256. Needs: load_private_key

    >>> get_alg(RSA.construct((0xC5, 3)))
    'RS256'
    """
    if isinstance(key, (str, os.PathLike, bytes)):
        key = load_private_key(key)
    return "RS256" if isinstance(key, RSA.RsaKey) else "ES256"


def sign(data, key):
    """ Sign bytes: RS256 (RSASSA-PKCS1-v1_5, SHA-256) or ES256 (64 bytes r||s). Needs: load_private_key

    >>> from Crypto.PublicKey import ECC
    >>> len(sign(b"protected.payload", ECC.generate(curve="P-256")))
    64
    """
    if isinstance(key, (str, os.PathLike, bytes)):
        key = load_private_key(key)
    digest = SHA256.new(data)
    if isinstance(key, RSA.RsaKey):
        return pkcs1_15.new(key).sign(digest)
    return DSS.new(key, "fips-186-3", encoding="binary").sign(digest)


def jws(protected, payload, key):
    """ The flattened JSON JWS of an ACME request (§6.2): protected is the header (alg, jwk or kid,
    nonce, url); payload "" makes a POST-as-GET (§6.3). Needs: b64, sign, load_private_key

    >>> from Crypto.PublicKey import RSA
    >>> body = jws({"alg": "RS256", "kid": "https://ca/acct/1", "nonce": "n", "url": "https://ca/acct/1"},
    ...            "", RSA.import_key(open("account.key").read()))
    >>> sorted(body), body["payload"]
    (['payload', 'protected', 'signature'], '')
    """
    protected_b64 = b64(json.dumps(protected).encode("utf8"))
    payload_b64 = "" if payload == "" else b64(json.dumps(payload).encode("utf8"))
    signature = sign("{0}.{1}".format(protected_b64, payload_b64).encode("utf8"), key)
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64(signature)}


def eab_jws(eab_kid, hmac_key, url, account_jwk):
    """ External account binding (§7.3.4): HS256 over the account JWK, no nonce. Needs: b64, b64decode

    >>> eab_jws("kid-1", "c2VjcmV0", "https://ca/new-acct", {"kty": "EC"})["signature"]
    'urgL3I7XUPuHTIgKdzcHQk1PYsuqVNWhwAoJ7ctOfjQ'
    """
    protected_b64 = b64(json.dumps({"alg": "HS256", "kid": eab_kid, "url": url}).encode("utf8"))
    payload_b64 = b64(json.dumps(account_jwk).encode("utf8"))
    try:
        mac_key = b64decode(hmac_key.strip())
    except ValueError:
        raise ValueError("EABHMACKey is not base64url; copy it exactly as your CA gave it")
    mac = hmac.new(mac_key, "{0}.{1}".format(protected_b64, payload_b64).encode("utf8"), hashlib.sha256)
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64(mac.digest())}


def key_authorization(token, jwk):
    """ §8.1: token "." the account key's thumbprint; what http-01 serves. Needs: jwk_thumbprint, b64

    >>> key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ", {"e": "AQAB", "kty": "RSA", "n": "xQ"})
    'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ.I3J1HijKFdaf46Ec8v-fV55VCkz-YnUVvy0e2lAAbwc'
    """
    return "{0}.{1}".format(token, jwk_thumbprint(jwk))


def dns01_txt_value(key_auth):
    """ §8.4: the TXT record's value, base64url(SHA-256(key authorization)). Needs: b64

    >>> dns01_txt_value("token.thumbprint")
    '61rBZ_4knHblO0MNoxFsXZ_eTFUHum0B6IVRbhvUn5I'
    """
    return b64(hashlib.sha256(key_auth.encode("utf8")).digest())


def make_identifier(name):
    """ The ACME identifier of a host name, "*." wildcard or IP address (§9.7.7, RFC 8738)

    >>> make_identifier("WWW.Example.COM."), make_identifier("192.0.2.7")
    ({'type': 'dns', 'value': 'www.example.com'}, {'type': 'ip', 'value': '192.0.2.7'})
    """
    text = name.strip().lower().rstrip(".")
    try:
        return {"type": "ip", "value": str(ipaddress.ip_address(text))}
    except ValueError:
        pass
    labels = text.split(".")[1:] if text.startswith("*.") else text.split(".")
    label = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
    if len(labels) < 2 or len(text) > 253 or not all(label.match(part) for part in labels) or labels[-1].isdigit():
        raise ValueError("{0!r} is not a valid host name or IP address (a wildcard may only be the first "
                         "label, as in *.example.com)".format(name))
    return {"type": "dns", "value": text}


def create_csr(key, names):
    """ A CSR (PEM bytes) signed with the certificate key: every name a SAN, the first host name also
    the CN; an IP address only in the SAN. Needs: make_identifier

    >>> from Crypto.PublicKey import ECC
    >>> create_csr(ECC.generate(curve="P-256"), ["example.com", "192.0.2.7"])[:35]
    b'-----BEGIN CERTIFICATE REQUEST-----'
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    identifiers = [make_identifier(name) for name in names]
    builder = x509.CertificateSigningRequestBuilder().add_extension(x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address(i["value"])) if i["type"] == "ip" else x509.DNSName(i["value"])
         for i in identifiers]), critical=False)
    hosts = [i["value"] for i in identifiers if i["type"] == "dns" and len(i["value"]) <= 64]
    builder = builder.subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, h) for h in hosts[:1]]))
    pem = key.export_key(format="PEM")
    crypto_key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, None)
    return builder.sign(crypto_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def load_csr(csr):
    """ A Certificate Signing Request from a file name, or from PEM or DER bytes

    >>> load_csr("example.com.csr").is_signature_valid
    True
    """
    from cryptography import x509
    name = os.fspath(csr) if isinstance(csr, (str, os.PathLike)) else "the CSR"
    if name != "the CSR" and not os.path.exists(name):
        raise ValueError("File does not exist: {0}".format(name))
    if name != "the CSR":
        with open(name, "rb") as f:
            csr = f.read()
    try:
        return x509.load_pem_x509_csr(csr) if b"-----BEGIN" in csr else x509.load_der_x509_csr(csr)
    except ValueError:
        raise ValueError("{0} is not a Certificate Signing Request".format(name))


def get_domains_from_csr(csr):
    """ The names a CSR asks for, lowercase: its CN, SAN host names and IP addresses. Takes a file name,
    as the original did, or CSR bytes or object. Needs: load_csr

    >>> get_domains_from_csr("example.com.csr")
    ['example.com', 'www.example.com']
    """
    from cryptography import x509
    if not isinstance(csr, x509.CertificateSigningRequest):
        csr = load_csr(csr)
    names = [a.value for a in csr.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
    try:
        names += [str(n.value) for n in csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                  if isinstance(n, (x509.DNSName, x509.IPAddress))]
    except x509.ExtensionNotFound:
        pass
    return list(dict.fromkeys(name.lower() for name in names))


def load_acme_config(filename="acme.ini"):
    """ Read acme.ini as the article does, a ConfigParser: config.get('acme-neoprime', 'accountkeyfile')

    >>> load_acme_config("acme.ini").get('acme-neoprime', 'accountkeyfile')
    'account.key'
    """
    config = configparser.ConfigParser(interpolation=None)
    try:
        with open(filename, encoding="utf8") as f:
            config.read_file(f)
    except FileNotFoundError:
        raise ValueError("Configuration file not found: {0}. Run the script from the folder that holds "
                         "acme.ini, or pass --config FILE.".format(filename))
    except (configparser.Error, UnicodeDecodeError) as error:
        raise ValueError("{0} is not a valid ini file ({1}); compare it with the acme.ini of these examples"
                         .format(filename, str(error).splitlines()[0]))
    if not config.has_section("acme-neoprime"):
        raise ValueError("{0} has no [acme-neoprime] section; add it, as in the acme.ini of these examples"
                         .format(filename))
    return config


def Confirm(msg, assume_yes=False, no_terminal="Run the script in a terminal, or pass --yes."):
    """ Ask a y/n question; True for y. assume_yes (--yes) answers yes; with no terminal to ask, a
    ValueError that says what to do instead (no_terminal)

    >>> Confirm("Revoke it (y/n): ", assume_yes=True)
    True
    """
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise ValueError("No terminal to ask {0!r}. {1}".format(msg.strip(), no_terminal))
    while True:
        try:
            answer = input(msg).strip().lower()
        except EOFError:
            return False
        if answer in ("y", "yes", "n", "no", ""):
            return answer in ("y", "yes")


def format_problem(problem):
    """ The lines of a problem document (§6.7): type, detail, each subproblem (the first 20), cut short

    >>> format_problem({"type": "urn:ietf:params:acme:error:malformed", "detail": "bad"})
    ['Error Type: urn:ietf:params:acme:error:malformed', 'Detail: bad']
    """
    def text(value, limit=2000):
        return str(value) if len(str(value)) <= limit else str(value)[:limit] + "... (cut)"
    lines = ["Error Type: " + text(problem.get("type", "(none)")), "Detail: " + text(problem.get("detail", "(none)"))]
    subproblems = problem.get("subproblems") if isinstance(problem.get("subproblems"), list) else []
    for sub in [s for s in subproblems if isinstance(s, dict)][:20]:
        ident = sub.get("identifier") if isinstance(sub.get("identifier"), dict) else {}
        lines.append("  Subproblem for {0} {1}: {2}: {3}".format(text(ident.get("type", "?"), 10), text(
            ident.get("value", "?"), 300), text(sub.get("type", "?"), 200), text(sub.get("detail", ""), 500)))
    if len(subproblems) > 20:
        lines.append("  ... and {0} more subproblems".format(len(subproblems) - 20))
    return lines


def process_error_message(text):
    """ Print a problem document's type, detail and subproblems; say so for any other body. Needs: format_problem

    >>> process_error_message('{"type": "urn:ietf:params:acme:error:badNonce", "detail": "stale"}')
    Error Type: urn:ietf:params:acme:error:badNonce
    Detail: stale
    """
    try:
        problem = json.loads(text)
    except (ValueError, RecursionError):
        problem = None
    if not isinstance(problem, dict):
        print("Error: The server's answer is not an ACME problem document: {0:.200}".format(text))
        return
    print("\n".join(format_problem(problem)))
