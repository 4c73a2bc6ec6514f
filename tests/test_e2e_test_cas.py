""" The test CAs for dns-persist-01 and tls-alpn-01, proven with a bare-bones client (JWS from
myhelper, requests): acme2certifier with validation on checks dns-persist-01 records in a DNS server
the test controls (tools/local_dns.py), with and without just-in-time validation, and tls-alpn-01
and http-01 on free ports; Pebble 2.4 checks tls-alpn-01 on its tlsPort. What they send and answer
is written down in NOTES-harness.md; these tests pin the parts a client depends on.
"""

import datetime
import hashlib
import os
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from Crypto.PublicKey import ECC
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import myhelper
from acme2certifier import ISSUER_DOMAIN
from pebble import HOST
from real_cas import start_pebble

pytestmark = pytest.mark.e2e
a2c_only = pytest.mark.acme2certifier
ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")     # RFC 8737 id-pe-acmeIdentifier
PROBLEM = "urn:ietf:params:acme:error:"


# -- the servers ---------------------------------------------------------------

# a2c_persist and a2c_jit: the session's acme2certifier servers (real_cas.py, shared with
# test_e2e_dns_persist.py); Pebble: one of this module's own, its tlsPort free for these tests alone

@pytest.fixture(scope="module")
def pebble(tmp_path_factory):
    server = start_pebble(tmp_path_factory, "pebble-alpn")
    yield server
    server.stop()


# -- a bare-bones ACME client --------------------------------------------------

class Client:
    """ One account, its requests signed with myhelper.jws """

    def __init__(self, ca):
        self.verify = ca.ca_file
        self.directory = requests.get(ca.directory_url, verify=self.verify, timeout=10).json()
        pem = ECC.generate(curve="P-256").export_key(format="PEM").encode()
        self.key = myhelper.load_private_key(pem)
        self.jwk = myhelper.get_jwk(self.key)
        self.nonce = None
        self.kid = None
        response = self.post(self.directory["newAccount"], {"termsOfServiceAgreed": True,
                                                            "contact": ["mailto:someone@example.org"]})
        self.kid = response.headers["Location"]

    def post(self, url, payload):
        if not self.nonce:
            self.nonce = requests.head(self.directory["newNonce"], verify=self.verify,
                                       timeout=10).headers["Replay-Nonce"]
        protected = {"alg": myhelper.get_alg(self.key), "nonce": self.nonce, "url": url}
        protected.update({"kid": self.kid} if self.kid else {"jwk": self.jwk})
        response = requests.post(url, json=myhelper.jws(protected, payload, self.key), verify=self.verify,
                                 headers={"Content-Type": "application/jose+json"}, timeout=30)
        self.nonce = response.headers.get("Replay-Nonce")
        assert response.status_code < 400, response.text
        return response

    def get(self, url):
        return self.post(url, "").json()

    def order(self, name):
        """ (order URL, authorization URL, the authorization) for a new order for name """
        response = self.post(self.directory["newOrder"], {"identifiers": [{"type": "dns", "value": name}]})
        authz_url = response.json()["authorizations"][0]
        return response.headers["Location"], authz_url, self.get(authz_url)

    def poll(self, authz_url, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            authz = self.get(authz_url)
            if authz["status"] not in ("pending", "processing") or time.monotonic() > deadline:
                return authz
            time.sleep(0.3)


def challenge(authz, kind):
    found = [c for c in authz["challenges"] if c["type"] == kind]
    assert found, "no {0} among {1}".format(kind, [c["type"] for c in authz["challenges"]])
    return found[0]


def persist_record(account_url, issuer=ISSUER_DOMAIN, **tags):
    """ A dns-persist-01 record value: issuer-domain-name; accounturi=...; tag=value... """
    return "; ".join([issuer, "accounturi=" + account_url] + ["{0}={1}".format(k, v) for k, v in tags.items()])


# -- dns-persist-01 at acme2certifier -------------------------------------------

@a2c_only
def test_dns_persist_01_record_naming_the_account_validates(a2c_persist):
    client = Client(a2c_persist)
    name = "persist.example.test"
    order_url, authz_url, authz = client.order(name)
    offered = challenge(authz, "dns-persist-01")
    assert offered["issuer-domain-names"] == [ISSUER_DOMAIN] and offered["accounturi"] == client.kid
    assert "token" not in offered and offered["status"] == "pending"
    assert client.directory["meta"]["caaIdentities"] == [ISSUER_DOMAIN]
    asked = a2c_persist.dns.asked("_validation-persist." + name)
    a2c_persist.dns.set_txt("_validation-persist." + name, persist_record(client.kid))
    client.post(offered["url"], {})
    authz = client.poll(authz_url)
    assert authz["status"] == "valid" and challenge(authz, "dns-persist-01")["status"] == "valid"
    assert client.get(order_url)["status"] == "ready"
    assert a2c_persist.dns.asked("_validation-persist." + name) == asked + 1


@a2c_only
@pytest.mark.parametrize("case, problem", [
    ("another account", "unauthorized"),
    ("another issuer", "unauthorized"),
    ("persistUntil passed", "unauthorized"),
    ("no record", "unauthorized"),
    ("no accounturi", "malformed"),
])
def test_dns_persist_01_records_that_do_not_authorize(a2c_persist, case, problem):
    client, other = Client(a2c_persist), Client(a2c_persist)
    name = "refused-{0}.example.test".format(case.replace(" ", "-").lower())
    record = {"another account": persist_record(other.kid),
              "another issuer": persist_record(client.kid, issuer="letsencrypt.org"),
              "persistUntil passed": persist_record(client.kid, persistUntil=int(time.time()) - 60),
              "no record": None,
              "no accounturi": ISSUER_DOMAIN}[case]
    if record:
        a2c_persist.dns.set_txt("_validation-persist." + name, record)
    _, authz_url, authz = client.order(name)
    client.post(challenge(authz, "dns-persist-01")["url"], {})
    authz = client.poll(authz_url)
    assert authz["status"] == "invalid"
    assert challenge(authz, "dns-persist-01")["error"]["type"] == PROBLEM + problem


@a2c_only
def test_dns_persist_01_wildcard_needs_policy_wildcard(a2c_persist):
    client = Client(a2c_persist)
    results = {}
    for tags in ({}, {"policy": "wildcard"}):
        base = "wild{0}.example.test".format(len(results))
        a2c_persist.dns.set_txt("_validation-persist." + base, persist_record(client.kid, **tags))
        _, authz_url, authz = client.order("*." + base)
        assert [c["type"] for c in authz["challenges"]] == ["dns-01", "dns-persist-01"]
        client.post(challenge(authz, "dns-persist-01")["url"], {})
        results[tuple(tags)] = client.poll(authz_url)["status"]
    assert results == {(): "invalid", ("policy",): "valid"}


@a2c_only
def test_a_record_in_several_strings_acme2certifier_reads_only_the_first(a2c_persist):
    """ LocalDNS serves a value over 255 bytes as strings of 255 bytes of one record, or the strings
    given. acme2certifier 0.46.3 reads strings[0] alone (helper.txt_get): a record whose accounturi
    goes on into the second string does not validate there (Let's Encrypt joins the strings) """
    client = Client(a2c_persist)
    results = []
    for n, strings in enumerate([persist_record(client.kid, padding="x" * 300),       # accounturi in string 1
                                 [ISSUER_DOMAIN + "; accounturi=" + client.kid[:25], client.kid[25:]]]):
        name = "split{0}.example.test".format(n)
        a2c_persist.dns.set_txt("_validation-persist." + name, strings)
        assert len(a2c_persist.dns.txt("_validation-persist." + name)[0]) == 2
        _, authz_url, authz = client.order(name)
        client.post(challenge(authz, "dns-persist-01")["url"], {})
        results.append(client.poll(authz_url)["status"])
    assert results == ["valid", "invalid"]


@a2c_only
def test_dns_persist_01_just_in_time(a2c_jit):
    client = Client(a2c_jit)
    a2c_jit.dns.set_txt("_validation-persist.ready.example.test", persist_record(client.kid))
    order_url, authz_url, authz = client.order("ready.example.test")
    assert authz["status"] == "valid" and authz["challenges"] == []        # found when the authz was fetched
    assert client.get(order_url)["status"] == "ready"

    order_url, authz_url, authz = client.order("jit-later.example.test")    # no record yet: challenges as usual
    assert authz["status"] == "pending" and challenge(authz, "dns-persist-01")["accounturi"] == client.kid
    a2c_jit.dns.set_txt("_validation-persist.jit-later.example.test", persist_record(client.kid))
    assert client.get(authz_url)["status"] == "valid"                      # the next fetch finds it


# -- tls-alpn-01 (and http-01 at acme2certifier) --------------------------------

class AlpnResponder:
    """ RFC 8737: on 127.0.0.1:port, ALPN acme-tls/1 only, a self-signed certificate for name with
    the critical acmeIdentifier extension (an OCTET STRING of SHA-256(key authorization)); records
    the SNI and negotiated protocol of each connection in seen """

    def __init__(self, port, name, key_authorization, folder, critical=True):
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        digest = hashlib.sha256(key_authorization.encode()).digest()
        cert = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(x509.Name([]))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                .add_extension(x509.UnrecognizedExtension(ACME_IDENTIFIER, b"\x04\x20" + digest), critical=critical)
                .sign(key, hashes.SHA256()))
        cert_file, key_file = os.path.join(folder, "alpn-cert.pem"), os.path.join(folder, "alpn-key.pem")
        with open(cert_file, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_file, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_file, key_file)
        self.context.set_alpn_protocols(["acme-tls/1"])
        self.sni = []
        self.context.sni_callback = lambda _sock, server_name, _context: self.sni.append(server_name)
        self.seen = []
        self.sock = socket.create_server((HOST, port))
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            conn.settimeout(10)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.seen.append((self.sni[-1] if self.sni else None, tls.selected_alpn_protocol()))
            except OSError as error:
                self.seen.append(("error", str(error)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.mark.parametrize("server", ["pebble", pytest.param("a2c_persist", marks=a2c_only)])
def test_tls_alpn_01(server, request, tmp_path):
    ca = request.getfixturevalue(server)
    port = ca.tls_port if server == "pebble" else ca.tls_alpn_port
    client = Client(ca)
    name = "alpn.example.test"
    _, authz_url, authz = client.order(name)
    offered = challenge(authz, "tls-alpn-01")
    with AlpnResponder(port, name, myhelper.key_authorization(offered["token"], client.jwk), str(tmp_path)) as tls:
        client.post(offered["url"], {})
        authz = client.poll(authz_url)
    assert authz["status"] == "valid", authz
    # Pebble connects three times (its concurrentValidations), acme2certifier once; SNI = the name
    assert tls.seen == [(name, "acme-tls/1")] * (3 if server == "pebble" else 1)


@pytest.mark.parametrize("server, problem", [("pebble", "unauthorized"),
                                             pytest.param("a2c_persist", "incorrectResponse", marks=a2c_only)])
def test_tls_alpn_01_extension_not_critical(server, problem, request, tmp_path):
    ca = request.getfixturevalue(server)
    port = ca.tls_port if server == "pebble" else ca.tls_alpn_port
    client = Client(ca)
    _, authz_url, authz = client.order("lax.example.test")
    offered = challenge(authz, "tls-alpn-01")
    key_authorization = myhelper.key_authorization(offered["token"], client.jwk)
    with AlpnResponder(port, "lax.example.test", key_authorization, str(tmp_path), critical=False):
        client.post(offered["url"], {})
        authz = client.poll(authz_url)
    assert authz["status"] == "invalid"
    assert challenge(authz, "tls-alpn-01")["error"]["type"] == PROBLEM + problem


@a2c_only
def test_http_01_at_acme2certifier_on_its_http_port(a2c_persist):
    client = Client(a2c_persist)
    _, authz_url, authz = client.order("web.example.test")
    offered = challenge(authz, "http-01")
    body = myhelper.key_authorization(offered["token"], client.jwk).encode()
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append((self.path, self.headers["Host"]))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((HOST, a2c_persist.http_port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client.post(offered["url"], {})
        authz = client.poll(authz_url)
    finally:
        server.shutdown()
        server.server_close()
    assert authz["status"] == "valid"
    assert asked == [("/.well-known/acme-challenge/" + offered["token"],
                      "web.example.test:{0}".format(a2c_persist.http_port))]

