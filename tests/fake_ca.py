""" The fake CA of the mocked tests: a scripted ACME server (responses) that answers as Let's Encrypt
does today, a reader's folder (acme.ini, keys), certificate chains, and the fixtures that run a
script's main() in this process """

import json
import os
import re
import sys
from urllib.parse import urlparse

import pytest
import responses
from Crypto.Hash import SHA256
from Crypto.PublicKey import ECC, RSA
from Crypto.Signature import DSS, pkcs1_15

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lib import frame, send  # noqa: E402
import myhelper  # noqa: E402

BASE = "https://acme.test"
DIRECTORY_URL = BASE + "/directory"
ACCOUNT_URL = BASE + "/acme/acct/123"

# Today's Let's Encrypt (shared/reference/letsencrypt-2026.md): a random extra entry, renewalInfo,
# profiles in meta.
LE_DIRECTORY = {
    "Xk2VQyq8tX0": "https://community.letsencrypt.org/t/adding-random-entries-to-the-directory/33417",
    "keyChange": BASE + "/acme/key-change",
    "meta": {
        "caaIdentities": ["letsencrypt.org"],
        "profiles": {"classic": "https://letsencrypt.org/docs/profiles#classic",
                     "shortlived": "https://letsencrypt.org/docs/profiles#shortlived",
                     "tlsserver": "https://letsencrypt.org/docs/profiles#tlsserver"},
        "termsOfService": "https://letsencrypt.org/documents/LE-SA-v1.5-February-24-2025.pdf",
        "website": "https://letsencrypt.org/docs/staging-environment/",
    },
    "newAccount": BASE + "/acme/new-acct",
    "newNonce": BASE + "/acme/new-nonce",
    "newOrder": BASE + "/acme/new-order",
    "renewalInfo": BASE + "/acme/renewal-info",
    "revokeCert": BASE + "/acme/revoke-cert",
}


# Let's Encrypt's account object since 2025: key, createdAt and status; no id, contact or initialIp
LE_ACCOUNT = {"key": {"kty": "RSA", "n": "xQ", "e": "AQAB"}, "createdAt": "2026-11-20T08:00:00Z", "status": "valid"}


def problem(type_, detail, status=400, **extra):
    """ A scripted problem-document answer """
    body = {"type": "urn:ietf:params:acme:error:" + type_, "detail": detail, "status": status}
    body.update(extra)
    return dict(status=status, json=body, headers={"Content-Type": "application/problem+json"})


def decode_jws(body):
    """ The protected header and payload of a flattened JWS ("" for POST-as-GET) """
    header = json.loads(myhelper.b64decode(body["protected"]))
    return header, (json.loads(myhelper.b64decode(body["payload"])) if body["payload"] else "")


def verify_jws(body, key_jwk):
    """ Check a flattened JWS signature against a public JWK (RS256 or ES256) """
    signing_input = (body["protected"] + "." + body["payload"]).encode()
    signature = myhelper.b64decode(body["signature"])
    digest = SHA256.new(signing_input)
    if key_jwk["kty"] == "RSA":
        key = RSA.construct((int.from_bytes(myhelper.b64decode(key_jwk["n"]), "big"),
                             int.from_bytes(myhelper.b64decode(key_jwk["e"]), "big")))
        pkcs1_15.new(key).verify(digest, signature)
    else:
        key = ECC.construct(curve="P-256", point_x=int.from_bytes(myhelper.b64decode(key_jwk["x"]), "big"),
                            point_y=int.from_bytes(myhelper.b64decode(key_jwk["y"]), "big"))
        DSS.new(key, "fips-186-3").verify(digest, signature)


class FakeAcme:
    """ A scripted ACME server on https://acme.test, checking what a real one checks

    Every POST must be a correctly signed flattened JWS whose "url" is the request URL and whose
    nonce is one this server issued and has not seen used; every answer carries a fresh
    Replay-Nonce unless the script says otherwise. Answers for a (method, path) are scripted with
    on(); a list of answers is served in order, the last one repeating.
    """

    def __init__(self, rsps):
        self.rsps = rsps
        self.count = 0
        self.unused = set()
        self.requests = []
        self.account_jwk = None
        self.check_signatures = True          # tests of something else may save the time
        self.reset()
        for method in ("GET", "HEAD", "POST"):
            rsps.add_callback(method, re.compile(re.escape(BASE) + ".*"), callback=self.handle)

    def reset(self):
        """ Forget every scripted answer and request: as new, but the nonces it issued are still good """
        self.routes, self.requests = {}, []
        self.on("GET", "/directory", json=LE_DIRECTORY)
        self.on("HEAD", "/acme/new-nonce", status=200)

    def on(self, method, path, *answers, **answer):
        self.routes[(method, path)] = list(answers) if answers else [answer]

    def new_nonce(self):
        self.count += 1
        nonce = "nonce-{0}".format(self.count)
        self.unused.add(nonce)
        return nonce

    def handle(self, request):
        path = urlparse(request.url).path
        record = {"method": request.method, "path": path, "url": request.url, "headers": dict(request.headers)}
        if request.method == "POST":
            assert request.headers["Content-Type"] == "application/jose+json"
            body = json.loads(request.body)
            assert set(body) == {"protected", "payload", "signature"}
            header, payload = decode_jws(body)
            assert header["url"] == request.url, "JWS url must equal the request URL"
            assert ("jwk" in header) != ("kid" in header), "exactly one of jwk and kid"
            assert header["nonce"] in self.unused, "nonce was not issued, or was used twice"
            self.unused.discard(header["nonce"])
            jwk = header.get("jwk") or self.account_jwk
            if self.check_signatures:
                verify_jws(body, jwk)
            if "jwk" in header and path == "/acme/new-acct":
                self.account_jwk = header["jwk"]
            record.update(header=header, payload=payload, body=body)
        self.requests.append(record)
        answers = self.routes.get((request.method, path))
        if answers is None:
            return (404, {"Content-Type": "application/problem+json", "Replay-Nonce": self.new_nonce()},
                    json.dumps({"type": "urn:ietf:params:acme:error:malformed", "detail": "no route " + path}))
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if callable(answer):                  # an answer that depends on the request
            answer = answer(record)
        if isinstance(answer, BaseException):
            raise answer
        headers = {"Content-Type": "application/json"}
        headers.update(answer.get("headers", {}))
        if headers.get("Replay-Nonce", "") is None:
            del headers["Replay-Nonce"]
        elif request.method != "GET":  # like Let's Encrypt and Pebble: no nonce with the directory
            headers.setdefault("Replay-Nonce", self.new_nonce())
        if "json" in answer:
            text = json.dumps(answer["json"])
        else:
            text = answer.get("body", "")
        return (answer.get("status", 200), headers, text)

    def posts(self, path=None):
        return [r for r in self.requests if r["method"] == "POST" and (path is None or r["path"] == path)]

    # -- common scripts -------------------------------------------------

    def existing_account(self, account=None):
        """ onlyReturnExisting (and newAccount) finds ACCOUNT_URL; the account object as LE returns it now """
        self.on("POST", "/acme/new-acct", status=200, json=account or LE_ACCOUNT, headers={"Location": ACCOUNT_URL})
        self.on("POST", "/acme/acct/123", json=account or LE_ACCOUNT)


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        yield FakeAcme(rsps)



def fast_rsa_pem(bits=2048):
    """ A new RSA key as PEM, made by OpenSSL (through cryptography): 30 ms, where pycryptodome takes a second """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(65537, bits).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())



@pytest.fixture(scope="session")
def rsa_pem(tmp_path_factory):
    """ One 2048-bit RSA account key for the whole run """
    return RSA.import_key(fast_rsa_pem()).export_key()


@pytest.fixture(scope="session")
def cert_rsa_pem():
    return RSA.import_key(fast_rsa_pem()).export_key()


@pytest.fixture
def workdir(tmp_path, monkeypatch, rsa_pem):
    """ A folder with acme.ini for the fake server and an account key; the current directory """
    monkeypatch.chdir(tmp_path)
    write_ini(tmp_path / "acme.ini")
    key = tmp_path / "account.key"
    key.write_bytes(rsa_pem)
    key.chmod(0o600)
    return tmp_path


@pytest.fixture
def with_cert_key(workdir, cert_rsa_pem):
    """ The certificate key of the reader's folder: example.com.key, mode 0600 """
    path = workdir / "example.com.key"
    path.write_bytes(cert_rsa_pem)
    path.chmod(0o600)
    return path


def new_ec_key(filename):
    """ A new EC P-256 key in filename (mode 0600), as make_account_key.py --type ec makes it """
    key = ECC.generate(curve="P-256")
    myhelper.save_private_key(key, str(filename))
    return key


def free_port():
    """ A TCP port on 127.0.0.1 that nothing listens on now """
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_ini(path, **values):
    settings = {
        "UserAgent": "neoprime.io-acme-client/1.0",
        "AccountKeyFile": "account.key",
        "CertificateKeyFile": "example.com.key",
        "CSRFile": "example.com.csr",
        "OrderFile": "order.json",
        "ChainFile": "example.com.chain.pem",
        "ACMEDirectory": DIRECTORY_URL,
        "Contacts": "mailto:someone@example.com;mailto:someone2@example.com",
        "Language": "en",
        "CABundle": "",
        "Timeout": "5",
        "PollTimeout": "30",
        "HTTPPort": str(free_port()),             # never port 80 nor all interfaces, even by default
        "HTTPBind": "127.0.0.1",
    }
    settings.update(values)
    lines = ["[acme-neoprime]"] + ["{0} = {1}".format(k, v) for k, v in settings.items() if v is not None]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def run(capsys):
    """ Run a script's main() as `python script.py ARGS` would: returns (exit code, stdout, stderr) """
    def _run(module, *args):
        code = frame.run(module.main, list(args))
        out, err = capsys.readouterr()
        return code, out, err
    return _run


@pytest.fixture
def no_sleep(monkeypatch):
    """ Record the waits of polling instead of sleeping; the clock moves on as if they had been slept """
    waits = []
    clock = send.monotonic
    monkeypatch.setattr(send, "sleep", lambda seconds: waits.append(seconds))
    monkeypatch.setattr(send, "monotonic", lambda: clock() + sum(waits))
    return waits


@pytest.fixture
def no_tty(monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)



def make_chain(names, issuer_name="Fake Intermediate", key_pem=None, with_aki=False, not_before=0,
               not_after=90 * 86400):
    """ A PEM chain (leaf + issuer) for names, as a CA would send it; the leaf is for the private key
    key_pem (PEM bytes), or for a new key; with_aki: it names its issuer's key (as ARI needs), True for
    the key's own identifier or the identifier's bytes; the leaf is valid from not_before to not_after,
    in seconds from now """
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)])

    def build(subject, key, extensions=(), start=0, end=90 * 86400):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now + datetime.timedelta(seconds=start))
                   .not_valid_after(now + datetime.timedelta(seconds=end)))
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()

    leaf_key = serialization.load_pem_private_key(key_pem, None) if key_pem else ec.generate_private_key(ec.SECP256R1())
    extensions = [x509.SubjectAlternativeName([x509.DNSName(n) for n in names])]
    if with_aki is True:
        extensions.append(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()))
    elif with_aki:
        extensions.append(x509.AuthorityKeyIdentifier(with_aki, None, None))
    leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]), leaf_key, extensions, not_before,
                 not_after)
    return leaf + build(issuer, issuer_key)
