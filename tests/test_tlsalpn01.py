""" tls-alpn-01 (RFC 8737) without a CA: the validation certificate, the built-in TLS server (SNI,
ALPN, refusals, deadline, busy port) checked by clients built with the ssl module, and the scripts
against a scripted ACME server whose challenge answer connects to the server as a CA would """

import hashlib
import ipaddress
import json
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import get_challenges
import issue_certificate
import myhelper
import tlsalpn01_challenge
from fake_ca import BASE, free_port, make_chain, write_ini
from lib import config, http01, tlsalpn01

KEY_AUTH = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
NAME = "alpn.example.com"
ORDER_URL = BASE + "/acme/order/1"


def digest(key_auth):
    return hashlib.sha256(key_auth.encode()).digest()


@pytest.fixture
def server(capsys):
    """ A running server; its lines are read after it stopped (it waits for the connections it answers) """
    running = tlsalpn01.ChallengeServer("127.0.0.1", 0, 60)
    running.__enter__()
    capsys.readouterr()
    yield running
    running.__exit__(None, None, None)


def lines(server, capsys):
    """ What the server wrote, once it has stopped """
    server.__exit__(None, None, None)
    return capsys.readouterr().out


def connect(server, sni, alpn, trusted):
    """ A TLS client that trusts only `trusted` and offers `alpn`: the served certificate, or the failure """
    context = ssl.create_default_context(cadata=trusted.public_bytes(serialization.Encoding.PEM).decode())
    context.verify_flags |= tlsalpn01.X509_V_FLAG_IGNORE_CRITICAL
    if alpn:
        context.set_alpn_protocols(alpn)
    with socket.create_connection(server.server_address, timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname=sni) as tls:
            return tls.selected_alpn_protocol()


# -- the certificate -------------------------------------------------------------

def test_the_certificate_carries_the_critical_acme_identifier_and_only_the_name():
    key = ec.generate_private_key(ec.SECP256R1())
    cert = tlsalpn01.validation_certificate(NAME, KEY_AUTH, key)
    acme = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31"))
    assert acme.critical and acme.value.value == b"\x04\x20" + digest(KEY_AUTH)      # DER OCTET STRING, 32 bytes
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert list(san.value) == [x509.DNSName(NAME)] and san.critical                  # critical: the subject is empty
    assert cert.subject == cert.issuer == x509.Name([])
    cert.verify_directly_issued_by(cert)                                             # self-signed
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert isinstance(key.curve, ec.SECP256R1)


@pytest.mark.parametrize("address, sni", [
    ("192.0.2.7", "7.2.0.192.in-addr.arpa"),
    ("2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")])
def test_an_ip_address_has_an_ip_san_and_its_reverse_dns_name_as_sni(address, sni):
    cert = tlsalpn01.validation_certificate(address, KEY_AUTH, ec.generate_private_key(ec.SECP256R1()))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(san) == [x509.IPAddress(ipaddress.ip_address(address))]
    assert tlsalpn01.sni_name(address) == sni and tlsalpn01.sni_name(NAME) == NAME


# -- the server ------------------------------------------------------------------

def test_the_name_asked_for_with_acme_tls_1_gets_its_certificate(server, capsys):
    cert = server.add(NAME, KEY_AUTH)
    other = server.add("www.example.com", KEY_AUTH[::-1])
    served, protocol = tlsalpn01.served_certificate("127.0.0.1", server.server_address[1], NAME, cert)
    assert protocol == "acme-tls/1" and served == cert
    served, _ = tlsalpn01.served_certificate("127.0.0.1", server.server_address[1], "www.example.com", other)
    assert served == other                                                       # chosen by SNI
    out = lines(server, capsys)
    assert "tls-alpn-01 server: 127.0.0.1 SNI alpn.example.com, ALPN acme-tls/1: sent the validation " \
           "certificate" in out


def test_an_ip_address_is_asked_for_by_its_reverse_dns_name(server, capsys):
    cert = server.add("127.0.0.1", KEY_AUTH)
    served, protocol = tlsalpn01.served_certificate("127.0.0.1", server.server_address[1], "127.0.0.1", cert)
    assert served == cert and protocol == "acme-tls/1"
    assert "SNI 1.0.0.127.in-addr.arpa, ALPN acme-tls/1" in lines(server, capsys)


@pytest.mark.parametrize("alpn", [["h2", "http/1.1"], None])
def test_a_client_that_does_not_offer_acme_tls_1_fails_the_handshake(server, capsys, alpn):
    cert = server.add(NAME, KEY_AUTH)
    with pytest.raises(ssl.SSLError, match="no application protocol"):
        connect(server, NAME, alpn, cert)
    assert "refused: ALPN {0}, not acme-tls/1".format(", ".join(alpn or []) or "none") in lines(server, capsys)


def test_acme_tls_1_among_other_protocols_is_chosen(server, capsys):
    cert = server.add(NAME, KEY_AUTH)
    assert connect(server, NAME, ["h2", "acme-tls/1"], cert) == "acme-tls/1"
    assert "ALPN acme-tls/1: sent the validation certificate" in lines(server, capsys)


def test_an_unknown_name_or_none_is_refused_with_unrecognized_name(server, capsys):
    cert = server.add(NAME, KEY_AUTH)
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        connect(server, "other.example.com", ["acme-tls/1"], cert)
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        connect(server, "127.0.0.1", ["acme-tls/1"], cert)            # an IP address as host name: no SNI sent
    out = lines(server, capsys)
    assert "refused: SNI other.example.com is not a name being validated" in out and "refused: no SNI" in out


def test_a_clienthello_that_arrives_in_pieces_is_read_whole(server, capsys):
    cert = server.add(NAME, KEY_AUTH)
    context = ssl.create_default_context(cadata=cert.public_bytes(serialization.Encoding.PEM).decode())
    context.set_alpn_protocols(["h2"])
    outgoing = ssl.MemoryBIO()
    tls = context.wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname=NAME)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    with socket.create_connection(server.server_address, timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(hello), 50):
            sock.sendall(hello[start:start + 50])
        assert sock.recv(100) == tlsalpn01.NO_APPLICATION_PROTOCOL
    assert "refused: ALPN h2, not acme-tls/1" in lines(server, capsys)


def test_what_is_not_tls_is_dropped(server, capsys):
    server.add(NAME, KEY_AUTH)
    with socket.create_connection(server.server_address, timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        try:
            assert not sock.recv(100).startswith(b"HTTP")
        except ConnectionResetError:                    # closed with our request unread: no answer either
            pass
    assert "127.0.0.1 the TLS handshake failed: " in lines(server, capsys)


def test_the_deadline_stops_the_server_and_frees_the_port(capsys):
    server = tlsalpn01.ChallengeServer("127.0.0.1", 0, 90)
    with server:
        port = server.server_address[1]
        assert server.timer.interval == 90 and server.timer.is_alive()
        server.deadline_passed()                          # what the timer does after 90 seconds
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    out = capsys.readouterr().out
    assert "it stops by itself after 90 seconds" in out
    assert "Stopped the tls-alpn-01 server: its deadline of 90 seconds has passed." in out
    assert out.count("Stopped the tls-alpn-01 server") == 1


def test_a_busy_port_is_one_line_saying_what_to_do():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as failed:
            tlsalpn01.ChallengeServer("127.0.0.1", port, 60)
    message = failed.value.code
    assert message.startswith("Error: Cannot listen on port {0}: Address already in use. ".format(port))
    assert "Stop the web server that holds it" in message and "dns-01 or dns-persist-01" in message
    assert "\n" not in message


def test_a_port_that_needs_root_is_one_line_saying_what_to_do(monkeypatch):
    def refused(self):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(tlsalpn01.ChallengeServer, "server_bind", refused)
    with pytest.raises(SystemExit) as failed:
        tlsalpn01.ChallengeServer("127.0.0.1", 443, 60)
    assert failed.value.code == ("Error: Cannot listen on port 443: permission denied. Run as a user allowed to "
                                 "bind it (root, or a Python with CAP_NET_BIND_SERVICE), or prove the names with "
                                 "dns-01 or dns-persist-01 instead.")


def test_no_key_file_is_left_behind(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with tlsalpn01.ChallengeServer("127.0.0.1", 0, 60) as server:
        server.add(NAME, KEY_AUTH)
    assert list(tmp_path.iterdir()) == []


# -- the scripts, with a scripted CA that validates over TLS ----------------------

def authz(status="pending", name=NAME, kind="dns", error=None):
    challenges = [{"type": "http-01", "url": BASE + "/acme/chall/1", "token": TOKEN, "status": "pending"},
                  {"type": "dns-01", "url": BASE + "/acme/chall/2", "token": TOKEN, "status": "pending"},
                  {"type": "tls-alpn-01", "url": BASE + "/acme/chall/3", "token": TOKEN, "status": "pending"}]
    if error:
        challenges[2].update(status="invalid", error=error)
    return {"status": status, "identifier": {"type": kind, "value": name}, "challenges": challenges}


def order(status="pending", name=NAME, kind="dns", **extra):
    return dict({"status": status, "identifiers": [{"type": kind, "value": name}],
                 "authorizations": [BASE + "/acme/authz/1"], "finalize": BASE + "/acme/order/1/finalize"}, **extra)


class ValidatingCA:
    """ The challenge answer as a CA takes it: connect to the tls-alpn-01 port with SNI and ALPN
    acme-tls/1, and compare the extension with SHA-256 of the key authorization we expect """

    def __init__(self, monkeypatch, workdir, port, name=NAME):
        self.port, self.name, self.seen = port, name, []
        jwk = myhelper.get_jwk(myhelper.load_private_key(str(workdir / "account.key")))
        self.expected = b"\x04\x20" + digest(myhelper.key_authorization(TOKEN, jwk))
        self.built = {}
        add = tlsalpn01.ChallengeServer.add

        def recorded(server, name, key_auth):
            self.built[name] = add(server, name, key_auth)
            return self.built[name]
        monkeypatch.setattr(tlsalpn01.ChallengeServer, "add", recorded)

    def __call__(self, record):
        cert, protocol = tlsalpn01.served_certificate("127.0.0.1", self.port, self.name, self.built[self.name])
        value = cert.extensions.get_extension_for_oid(tlsalpn01.ACME_IDENTIFIER).value.value
        self.seen.append((protocol, value == self.expected))
        return {"json": {"type": "tls-alpn-01", "status": "processing"}}


@pytest.fixture(autouse=True)
def names_do_not_resolve(monkeypatch):
    """ Our own check resolves names: here none does, as on a machine without DNS """
    monkeypatch.setattr(http01, "resolves", lambda name, port: False)


@pytest.fixture
def with_order(workdir):
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": order()}))


def tls_ini(workdir, port, **values):
    write_ini(workdir / "acme.ini", TLSPort=str(port), TLSBind="127.0.0.1", **values)


def test_tlsalpn01_challenge_shows_serves_checks_answers_and_stops(fake, workdir, with_order, run, no_sleep,
                                                                    monkeypatch):
    port = free_port()
    tls_ini(workdir, port)
    ca = ValidatingCA(monkeypatch, workdir, port)
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", dict(json=authz()), dict(json=authz("valid")))
    fake.on("POST", "/acme/chall/3", ca)
    code, out, err = run(tlsalpn01_challenge, "--debug")
    assert code == 0, err
    assert ca.seen == [("acme-tls/1", True)]
    jwk = myhelper.get_jwk(myhelper.load_private_key(str(workdir / "account.key")))
    key_auth = myhelper.key_authorization(TOKEN, jwk)
    assert "Key authorization:  " + key_auth in out
    assert "SHA-256:            " + digest(key_auth).hex() in out
    assert "  SAN:              DNS:alpn.example.com (critical)" in out
    assert "  acmeIdentifier:   1.3.6.1.5.5.7.1.31 (critical), an OCTET STRING holding the SHA-256 above" in out
    assert "  acmeIdentifier DER: 04 20 " + digest(key_auth).hex(" ") in out                  # --debug
    assert "Answers SNI:        alpn.example.com" in out
    assert "Checked: 127.0.0.1:{0}, SNI alpn.example.com, ALPN acme-tls/1 (alpn.example.com does not " \
           "resolve from here, so only this machine was checked)".format(port) in out
    assert "it stops by itself after 90 seconds" in out                    # PollTimeout 30 + 60
    assert "Authorization for alpn.example.com: valid" in out and "Stopped the tls-alpn-01 server." in out
    assert "All authorizations are valid. Next: python finalize_order.py" in out
    assert fake.posts("/acme/chall/3")[0]["payload"] == {} and not fake.posts("/acme/chall/1")
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_tlsalpn01_challenge_own_check_fails_before_the_ca_is_told(fake, workdir, with_order, run, monkeypatch):
    port = free_port()
    tls_ini(workdir, port)
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=authz())
    monkeypatch.setattr(tlsalpn01, "served_certificate", lambda *a, **k: (None, "acme-tls/1"))
    code, out, err = run(tlsalpn01_challenge)
    assert code == 1 and "does not serve the validation certificate (it served another certificate)" in err
    assert "a load balancer must pass TCP through" in err and "--skip-check" in err
    assert not fake.posts("/acme/chall/3") and "Stopped the tls-alpn-01 server." in out


def test_tlsalpn01_challenge_invalid_shows_the_problem(fake, workdir, with_order, run, no_sleep):
    tls_ini(workdir, free_port())
    error = {"type": "urn:ietf:params:acme:error:unauthorized", "status": 403,
             "detail": "Cannot negotiate ALPN protocol \"acme-tls/1\" for tls-alpn-01 challenge"}
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", dict(json=authz()), dict(json=authz("invalid", error=error)))
    fake.on("POST", "/acme/chall/3", json={"status": "processing"})
    code, out, err = run(tlsalpn01_challenge, "--skip-check")
    assert code == 1 and "authorization for alpn.example.com is invalid" in err
    assert "Cannot negotiate ALPN protocol" in err and "Stopped the tls-alpn-01 server." in out


def test_tlsalpn01_challenge_refuses_a_wildcard(fake, workdir, run):
    tls_ini(workdir, free_port())
    wild = dict(authz(name="example.com"), wildcard=True)
    wild["challenges"] = [wild["challenges"][1]]
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": order(name="*.example.com")}))
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=wild)
    code, out, err = run(tlsalpn01_challenge)
    assert code == 1 and "no tls-alpn-01 challenge" in err and "A wildcard needs dns-01" in err


def test_get_challenges_shows_what_tls_alpn_01_needs(fake, workdir, with_order, run):
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=authz())
    code, out, err = run(get_challenges)
    assert code == 0, err
    jwk = myhelper.get_jwk(myhelper.load_private_key(str(workdir / "account.key")))
    key_auth = myhelper.key_authorization(TOKEN, jwk)
    assert "  Challenge: tls-alpn-01 (pending)" in out
    assert "    SHA-256:           " + digest(key_auth).hex() in out
    assert "    Certificate:       self-signed, for alpn.example.com alone, that SHA-256 in the critical " \
           "extension 1.3.6.1.5.5.7.1.31" in out
    assert "    Serve it at:       alpn.example.com:443, ALPN acme-tls/1, SNI alpn.example.com" in out


def test_get_challenges_for_an_ip_address(fake, workdir, run):
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": order(name="192.0.2.7", kind="ip")}))
    fake.existing_account()
    ip_authz = authz(name="192.0.2.7", kind="ip")
    ip_authz["challenges"] = [c for c in ip_authz["challenges"] if c["type"] != "dns-01"]
    fake.on("POST", "/acme/authz/1", json=ip_authz)
    code, out, err = run(get_challenges)
    assert code == 0 and "Serve it at:       192.0.2.7:443, ALPN acme-tls/1, SNI 7.2.0.192.in-addr.arpa" in out


# -- issue_certificate.py: Challenge = tls-alpn-01, as renew_certificate.py runs it --

def issuing(fake, workdir, ca, name=NAME, kind="dns"):
    fake.existing_account()
    fake.on("POST", "/acme/new-order", status=201, json=order(name=name, kind=kind), headers={"Location": ORDER_URL})
    fake.on("POST", "/acme/authz/1", dict(json=authz(name=name, kind=kind)),
            dict(json=authz("valid", name=name, kind=kind)))
    fake.on("POST", "/acme/chall/3", ca)
    fake.on("POST", "/acme/order/1/finalize", json=order("processing", name=name, kind=kind))
    fake.on("POST", "/acme/order/1", json=order("valid", name=name, kind=kind, certificate=BASE + "/acme/cert/1"))
    chain = make_chain([name], key_pem=(workdir / "example.com.key").read_bytes())
    if kind == "ip":                                   # an IP address's certificate names it as an IP SAN
        chain = ip_chain(name, (workdir / "example.com.key").read_bytes())
    fake.on("POST", "/acme/cert/1", body=chain)


def ip_chain(address, key_pem):
    import datetime
    from cryptography.hazmat.primitives import hashes
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(x509.Name([]))
            .public_key(serialization.load_pem_private_key(key_pem, None).public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=6))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), True)
            .sign(issuer_key, hashes.SHA256()))
    return leaf.public_bytes(serialization.Encoding.PEM).decode()


def test_issue_certificate_with_challenge_in_acme_ini_and_renewal_arguments_only(fake, workdir, with_cert_key,
                                                                                   run, no_sleep, monkeypatch):
    port = free_port()
    tls_ini(workdir, port, Challenge="tls-alpn-01", CSRFile="example.com.csr")
    (workdir / "example.com.csr").write_bytes(myhelper.create_csr(myhelper.load_private_key(str(with_cert_key)),
                                                                  [NAME]))
    ca = ValidatingCA(monkeypatch, workdir, port)
    issuing(fake, workdir, ca)
    # what renew_certificate.py passes: --config, --yes, --replaces=ID, --csr (no --challenge, no --port)
    code, out, err = run(issue_certificate, "--config", "acme.ini", "--yes", "--replaces=aYhba4dGQEHhs3uEe6CuLN4B"
                         "yNQ.AIdlQyE", "--csr", "example.com.csr")
    assert code == 0, err
    assert ca.seen == [("acme-tls/1", True)]
    assert "Verifying alpn.example.com (tls-alpn-01)..." in out and "alpn.example.com verified!" in out
    assert "Stopped the tls-alpn-01 server." in out and "Certificate signed!" in out
    assert len(fake.requests) == 10
    assert fake.posts("/acme/new-order")[0]["payload"]["replaces"] == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"


def test_issue_certificate_proves_an_ip_address_with_tls_alpn_01(fake, workdir, with_cert_key, run, no_sleep,
                                                                 monkeypatch):
    port = free_port()
    tls_ini(workdir, port)
    ca = ValidatingCA(monkeypatch, workdir, port, name="127.0.0.1")
    issuing(fake, workdir, ca, name="127.0.0.1", kind="ip")
    code, out, err = run(issue_certificate, "--challenge", "tls-alpn-01", "--yes", "127.0.0.1")
    assert code == 0, err
    assert ca.seen == [("acme-tls/1", True)] and "127.0.0.1 verified!" in out
    assert fake.posts("/acme/new-order")[0]["payload"]["identifiers"] == [{"type": "ip", "value": "127.0.0.1"}]


def test_issue_certificate_tls_alpn_01_on_the_port_option(fake, workdir, with_cert_key, run, no_sleep, monkeypatch):
    port = free_port()
    tls_ini(workdir, 1)                                 # acme.ini says port 1; --port wins
    ca = ValidatingCA(monkeypatch, workdir, port)
    issuing(fake, workdir, ca)
    code, out, err = run(issue_certificate, "--challenge", "tls-alpn-01", "--port", str(port), "--bind",
                         "127.0.0.1", "--yes", NAME)
    assert code == 0, err
    assert ca.seen == [("acme-tls/1", True)]


def test_issue_certificate_wildcard_is_refused_for_tls_alpn_01(fake, workdir, run):
    code, out, err = run(issue_certificate, "--challenge", "tls-alpn-01", "--agree-tos", "*.example.com")
    assert code == 1 and "A wildcard name needs --challenge dns-01 (or dns-persist-01)." in err and not fake.requests


# -- acme.ini ----------------------------------------------------------------------

def test_acme_ini_accepts_tls_alpn_01_and_checks_the_port(tmp_path):
    def settings(**values):
        write_ini(tmp_path / "acme.ini", **values)
        return config.settings(myhelper.load_acme_config(str(tmp_path / "acme.ini")), str(tmp_path / "acme.ini"))
    ini = settings(Challenge="tls-alpn-01", HTTPPort=None, HTTPBind=None)
    assert (ini["Challenge"], ini["TLSPort"], ini["TLSBind"]) == ("tls-alpn-01", 443, "")
    assert settings(TLSPort="5001")["TLSPort"] == 5001
    with pytest.raises(Exception, match="TLSPort in .* must be a number from 1 to 65535, not '0'"):
        settings(TLSPort="0")
    with pytest.raises(Exception, match="must be http-01, dns-01, tls-alpn-01 or dns-persist-01, not 'tls-sni-01'"):
        settings(Challenge="tls-sni-01")


def test_the_script_help_tells_the_story(capsys):
    with pytest.raises(SystemExit):
        tlsalpn01_challenge.parse_args(["--help"])
    out = capsys.readouterr().out
    assert "RFC 8737" in out and "acme.ini keys read: " in out and "TLSPort" in out and "--skip-check" in out
