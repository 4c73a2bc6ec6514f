""" Part 5 scripts (order to certificate, revocation) against a scripted ACME server """

import json
import os
import socket
import stat
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import dns01_challenge
import finalize_order
import get_certificate
import get_challenges
import http01_challenge
import issue_certificate
import make_certificate_key
import make_csr
import myhelper
import request_certificate
import revoke_certificate
from lib import http01, send
from fake_ca import ACCOUNT_URL, BASE, make_chain, problem, write_ini

ORDER_URL = BASE + "/acme/order/1"
AUTHZ_URL = BASE + "/acme/authz/1"
FINALIZE_URL = BASE + "/acme/order/1/finalize"
CERT_URL = BASE + "/acme/cert/1"
TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
NAME = "example.com"


def order(status="pending", names=(NAME,), **extra):
    body = {"status": status, "identifiers": [{"type": "dns", "value": n} for n in names],
            "authorizations": [AUTHZ_URL], "finalize": FINALIZE_URL}
    body.update(extra)
    return body


def authz(status="pending", name=NAME, challenge_status="pending", error=None, wildcard=False):
    challenges = [{"type": "http-01", "url": BASE + "/acme/chall/1", "token": TOKEN, "status": challenge_status},
                  {"type": "dns-01", "url": BASE + "/acme/chall/2", "token": TOKEN[::-1], "status": challenge_status}]
    if wildcard:
        challenges = challenges[1:]
    if error:
        challenges[0]["error"] = error
    body = {"status": status, "identifier": {"type": "dns", "value": name}, "challenges": challenges}
    if wildcard:
        body["wildcard"] = True
    return body


@pytest.fixture
def with_csr(with_cert_key, run):
    assert run(make_csr, NAME)[0] == 0


@pytest.fixture
def with_order(workdir, with_csr):
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": order()}))


def saved_order(workdir, identifiers):
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": order(identifiers=identifiers)}))


@pytest.fixture(autouse=True)
def names_do_not_resolve(monkeypatch):
    """ The http-01 self-check resolves names: here none does, as on a machine without DNS """
    monkeypatch.setattr(http01, "resolves", lambda name, port: False)


def chain_for_cert_key(workdir, names=(NAME,), **kwargs):
    """ A chain whose first certificate is for the certificate key in example.com.key """
    return make_chain(list(names), key_pem=(workdir / "example.com.key").read_bytes(), **kwargs)


def account_jwk(workdir):
    return myhelper.get_jwk(myhelper.load_private_key(str(workdir / "account.key")))


# -- make_certificate_key.py / make_csr.py -----------------------------------

def test_make_certificate_key(workdir, run):
    code, out, err = run(make_certificate_key, "--type", "ec")
    assert code == 0, err
    assert stat.S_IMODE(os.stat("example.com.key").st_mode) == 0o600
    code, out, err = run(make_certificate_key)
    assert code == 1 and "already exists" in err


def test_make_csr_puts_every_name_in_the_san(with_cert_key, run):
    code, out, err = run(make_csr, "example.com", "www.example.com", "192.0.2.7")
    assert code == 0, err
    csr = x509.load_pem_x509_csr(open("example.com.csr", "rb").read())
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "CN=example.com"
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n.value) for n in san] == ["example.com", "www.example.com", "192.0.2.7"]


def test_make_csr_refuses_the_account_key(workdir, run):
    code, out, err = run(make_csr, "--key", "account.key", "example.com")
    assert code == 1 and "RFC 8555 §11.1" in err
    assert not os.path.exists("example.com.csr")


@pytest.mark.parametrize("name", ["bad name", "*.*.example.com", "-x.example.com"])
def test_make_csr_refuses_bad_names(with_cert_key, run, name):
    code, out, err = run(make_csr, "--", name)
    assert code == 1 and "not a valid host name" in err and not os.path.exists("example.com.csr")


def test_make_csr_without_certificate_key(workdir, run):
    code, out, err = run(make_csr, "example.com")
    assert code == 1 and "make_certificate_key.py" in err


# -- request_certificate.py --------------------------------------------------

def test_request_certificate_saves_the_order(fake, with_csr, run):
    fake.existing_account()
    fake.on("POST", "/acme/new-order", status=201, json=order(), headers={"Location": ORDER_URL})
    code, out, err = run(request_certificate)
    assert code == 0, err
    assert "CSR: example.com.csr" in out and "URL: " + BASE + "/acme/new-order" in out
    assert "Order Location: " + ORDER_URL in out
    saved = json.load(open("order.json"))
    assert saved == {"url": ORDER_URL, "order": order()}
    post = fake.posts("/acme/new-order")[0]
    assert post["payload"] == {"identifiers": [{"type": "dns", "value": NAME}]}
    assert post["header"]["kid"] == ACCOUNT_URL


def test_request_certificate_ip_identifier(fake, with_cert_key, run):
    run(make_csr, "192.0.2.7")
    fake.existing_account()
    fake.on("POST", "/acme/new-order", status=201, json=order(identifiers=[{"type": "ip", "value": "192.0.2.7"}]),
            headers={"Location": ORDER_URL})
    code, out, err = run(request_certificate, "--yes")
    assert code == 0, err
    assert fake.posts("/acme/new-order")[0]["payload"]["identifiers"] == [{"type": "ip", "value": "192.0.2.7"}]


def test_request_certificate_refuses_changed_identifiers(fake, with_csr, run):
    fake.existing_account()
    fake.on("POST", "/acme/new-order", status=201, json=order(names=["evil.example.net"]),
            headers={"Location": ORDER_URL})
    code, out, err = run(request_certificate)
    assert code == 1 and "not for the names asked for" in err
    assert not os.path.exists("order.json")


def test_request_certificate_rejected_identifier(fake, with_csr, run):
    fake.existing_account()
    fake.on("POST", "/acme/new-order", problem("rejectedIdentifier", "Error creating new order", subproblems=[
        {"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "Invalid domain",
         "identifier": {"type": "dns", "value": NAME}}]))
    code, out, err = run(request_certificate)
    assert code == 1 and "Subproblem for dns example.com" in err


def test_request_certificate_without_csr(fake, workdir, run):
    code, out, err = run(request_certificate)
    assert code == 1 and "make_csr.py" in err and not fake.requests


# -- get_challenges.py -------------------------------------------------------

def test_get_challenges_prints_key_authorizations(fake, workdir, with_order, run):
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=authz())
    code, out, err = run(get_challenges)
    assert code == 0, err
    key_auth = myhelper.key_authorization(TOKEN, account_jwk(workdir))
    assert "Key authorization: " + key_auth in out
    assert "http://example.com/.well-known/acme-challenge/" + TOKEN in out
    dns_auth = myhelper.key_authorization(TOKEN[::-1], account_jwk(workdir))
    assert "TXT record:        _acme-challenge.example.com" in out
    assert "TXT value:         " + myhelper.dns01_txt_value(dns_auth) in out


def test_get_challenges_already_valid(fake, workdir, with_order, run):
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=authz("valid"))
    code, out, err = run(get_challenges)
    assert code == 0 and "already valid" in out


def test_get_challenges_without_order(fake, workdir, run):
    code, out, err = run(get_challenges)
    assert code == 1 and "request_certificate.py" in err


# -- http01_challenge.py -------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    """ Nothing answers on the port any more: the challenge server was stopped """
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_http01_serves_checks_answers_and_stops(fake, workdir, with_order, run, no_sleep):
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", dict(json=authz()), dict(json=authz()),
            dict(json=authz(), headers={"Retry-After": "3"}), dict(json=authz("valid")))
    fake.on("POST", "/acme/chall/1", json={"type": "http-01", "status": "processing"})
    port = free_port()
    code, out, err = run(http01_challenge, "--port", str(port), "--bind", "127.0.0.1")
    assert code == 0, err
    key_auth = myhelper.key_authorization(TOKEN, account_jwk(workdir))
    assert "Checked: http://127.0.0.1:{0}/.well-known/acme-challenge/{1}".format(port, TOKEN) in out
    assert fake.posts("/acme/chall/1")[0]["payload"] == {}
    assert no_sleep == [send.FIRST_POLL, send.QUICK_LOOK, 3.0]     # a quick second look; Retry-After honoured
    assert "Authorization for example.com: valid" in out and port_is_free(port)
    assert key_auth not in err


def test_http01_invalid_challenge_shows_the_problem_and_cleans_up(fake, workdir, with_order, run, no_sleep):
    fake.existing_account()
    error = {"type": "urn:ietf:params:acme:error:connection", "detail": "Fetching http://example.com: Timeout"}
    fake.on("POST", "/acme/authz/1", dict(json=authz()), dict(json=authz("invalid", error=error)))
    fake.on("POST", "/acme/chall/1", json={"status": "processing"})
    port = free_port()
    code, out, err = run(http01_challenge, "--port", str(port), "--bind", "127.0.0.1")
    assert code == 1
    assert "authorization for example.com is invalid" in err
    assert "Error Type: urn:ietf:params:acme:error:connection" in err and "Timeout" in err
    assert port_is_free(port) and "Stopped the challenge web server." in out


def test_http01_webroot_file_removed_even_after_ctrl_c(fake, workdir, with_order, run, monkeypatch):
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=authz())
    fake.on("POST", "/acme/chall/1", json={"status": "processing"})
    webroot = workdir / "www"
    webroot.mkdir()

    def interrupted(seconds):
        assert (webroot / ".well-known" / "acme-challenge" / TOKEN).exists()
        raise KeyboardInterrupt
    monkeypatch.setattr(send, "sleep", interrupted)
    code, out, err = run(http01_challenge, "--webroot", str(webroot), "--skip-check")
    assert code == 130 and "Interrupted." in err
    assert not (webroot / ".well-known" / "acme-challenge" / TOKEN).exists()


def test_http01_self_check_failure_stops_before_answering(fake, workdir, with_order, run):
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=authz())
    webroot = workdir / "www"
    webroot.mkdir()
    code, out, err = run(http01_challenge, "--webroot", str(webroot), "--port", str(free_port()))
    # example.com does not resolve here, or does not serve our file: either way we stop
    assert code == 1 and "does not serve the key authorization" in err
    assert not fake.posts("/acme/chall/1")
    assert not (webroot / ".well-known" / "acme-challenge" / TOKEN).exists()


def test_http01_refuses_a_token_that_escapes_the_webroot(fake, workdir, with_order, run):
    fake.existing_account()
    bad = authz()
    bad["challenges"][0]["token"] = "../../../../etc/cron.d/evil"
    fake.on("POST", "/acme/authz/1", json=bad)
    webroot = workdir / "www"
    webroot.mkdir()
    code, out, err = run(http01_challenge, "--webroot", str(webroot))
    assert code == 1 and "not base64url" in err
    assert not os.path.exists(workdir / "etc") and not fake.posts("/acme/chall/1")


def test_http01_port_in_use(fake, workdir, with_order, run):
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=authz())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        code, out, err = run(http01_challenge, "--port", str(s.getsockname()[1]), "--bind", "127.0.0.1")
    assert code == 1 and "Cannot listen on port" in err and "--webroot" in err


def test_http01_nothing_to_do_when_valid(fake, workdir, with_order, run):
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=authz("valid"))
    code, out, err = run(http01_challenge, "--port", "1")
    assert code == 0 and "already valid" in out and not fake.posts("/acme/chall/1")


# -- dns01_challenge.py ------------------------------------------------------

def test_dns01_hook_sets_and_clears(fake, workdir, with_order, run, no_sleep):
    log = workdir / "hook.log"
    hook = workdir / "hook.py"
    hook.write_text("import sys\nopen({0!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n".format(str(log)))
    write_ini(workdir / "acme.ini", DNSHook="{0} {1}".format(sys.executable, hook))
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", dict(json=authz()), dict(json=authz("valid")))
    fake.on("POST", "/acme/chall/2", json={"status": "processing"})
    code, out, err = run(dns01_challenge)
    assert code == 0, err
    value = myhelper.dns01_txt_value(myhelper.key_authorization(TOKEN[::-1], account_jwk(workdir)))
    assert log.read_text().splitlines() == ["check _acme-challenge.example.com",      # the pre-check, first
                                            "set _acme-challenge.example.com " + value,
                                            "clear _acme-challenge.example.com " + value]
    assert fake.posts("/acme/chall/2")[0]["payload"] == {}


def test_dns01_failing_hook(fake, workdir, with_order, run):
    write_ini(workdir / "acme.ini", DNSHook="{0} -c 'import sys; sys.exit(3)'".format(sys.executable))
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=authz())
    code, out, err = run(dns01_challenge)
    assert code == 1 and "failed with status 3" in err and not fake.posts("/acme/chall/2")
    assert "could not clear" not in err          # a record that was never set is not cleared


def test_dns01_without_hook_needs_a_terminal(fake, workdir, with_order, run, no_tty):
    saved_order(workdir, [{"type": "dns", "value": "*.example.com"}])
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json=authz(wildcard=True, name="example.com"))
    code, out, err = run(dns01_challenge)
    assert code == 1 and "DNSHook" in err and not fake.posts("/acme/chall/2")
    assert "TXT record: _acme-challenge.example.com" in out


def test_dns01_refuses_an_ip_address(fake, workdir, with_order, run):
    saved_order(workdir, [{"type": "ip", "value": "192.0.2.7"}])
    fake.existing_account()
    ip_authz = authz()
    ip_authz["identifier"] = {"type": "ip", "value": "192.0.2.7"}
    fake.on("POST", "/acme/authz/1", json=ip_authz)
    code, out, err = run(dns01_challenge)
    assert code == 1 and "IP address" in err


# -- finalize_order.py -------------------------------------------------------

def test_finalize_processing_then_valid(fake, workdir, with_order, run, no_sleep):
    fake.existing_account()
    fake.on("POST", "/acme/order/1", dict(json=order("ready")),
            dict(json=order("processing"), headers={"Retry-After": "2"}),
            dict(json=order("valid", certificate=CERT_URL)))
    fake.on("POST", "/acme/order/1/finalize", json=order("processing"), headers={"Retry-After": "2"})
    code, out, err = run(finalize_order)
    assert code == 0, err
    csr = x509.load_pem_x509_csr(open("example.com.csr", "rb").read())
    payload = fake.posts("/acme/order/1/finalize")[0]["payload"]
    assert myhelper.b64decode(payload["csr"]) == csr.public_bytes(serialization.Encoding.DER)
    assert no_sleep == [2.0, 2.0]          # the finalize answer's Retry-After, then the poll's
    assert json.load(open("order.json"))["order"]["certificate"] == CERT_URL
    assert "Certificate URL: " + CERT_URL in out


def test_finalize_pending_order(fake, workdir, with_order, run):
    fake.existing_account()
    fake.on("POST", "/acme/order/1", json=order("pending"))
    code, out, err = run(finalize_order)
    assert code == 1 and "answer its challenges first" in err and not fake.posts("/acme/order/1/finalize")


def test_finalize_order_not_ready(fake, workdir, with_order, run):
    fake.existing_account()
    fake.on("POST", "/acme/order/1", json=order("ready"))
    fake.on("POST", "/acme/order/1/finalize", problem("orderNotReady", "Order's status (\"pending\") is not ready",
                                                      status=403))
    code, out, err = run(finalize_order)
    assert code == 1 and "orderNotReady" in err and "answer its challenges first" in err


def test_finalize_order_becomes_invalid(fake, workdir, with_order, run, no_sleep):
    fake.existing_account()
    bad = order("invalid", error={"type": "urn:ietf:params:acme:error:badCSR", "detail": "key too small"})
    fake.on("POST", "/acme/order/1", dict(json=order("ready")), dict(json=bad))
    fake.on("POST", "/acme/order/1/finalize", json=order("processing"))
    code, out, err = run(finalize_order)
    assert code == 1 and "The order is 'invalid'" in err and "key too small" in err


def test_finalize_csr_for_other_names(fake, workdir, with_order, run):
    fake.existing_account()
    fake.on("POST", "/acme/order/1", json=order("ready", names=["other.example.com"]))
    code, out, err = run(finalize_order)
    assert code == 1 and "but the order is for" in err and not fake.posts("/acme/order/1/finalize")


def test_finalize_unknown_status_is_polled_until_the_limit(fake, workdir, with_order, run, no_sleep):
    write_ini(workdir / "acme.ini", PollTimeout="3")
    fake.existing_account()
    fake.on("POST", "/acme/order/1", dict(json=order("ready")), dict(json=order("thinking")))
    fake.on("POST", "/acme/order/1/finalize", json=order("thinking"))
    code, out, err = run(finalize_order)
    assert code == 1 and "still 'thinking'" in err and "PollTimeout" in err


# -- get_certificate.py ------------------------------------------------------

def valid_order(fake):
    fake.existing_account()
    fake.on("POST", "/acme/order/1", json=order("valid", certificate=CERT_URL))


def test_get_certificate_saves_the_chain(fake, workdir, with_order, run):
    valid_order(fake)
    chain = chain_for_cert_key(workdir, [NAME])
    fake.on("POST", "/acme/cert/1", body=chain, headers={
        "Content-Type": "application/pem-certificate-chain",
        "Link": '<{0}/1>;rel="alternate", <{0}/2>;rel="alternate", <{1}/dir>;rel="index"'.format(CERT_URL, BASE)})
    code, out, err = run(get_certificate)
    assert code == 0, err
    assert open("example.com.chain.pem").read() == chain
    assert "Names:      example.com" in out and "Chain:      2 certificate(s)" in out
    assert "Alternate chain 1: {0}/1".format(CERT_URL) in out and "Alternate chain 2: " in out
    request = fake.posts("/acme/cert/1")[0]
    assert request["headers"]["Accept"] == "application/pem-certificate-chain" and request["body"]["payload"] == ""


def test_get_certificate_alternate_chain(fake, workdir, with_order, run):
    valid_order(fake)
    fake.on("POST", "/acme/cert/1", body=chain_for_cert_key(workdir),
            headers={"Link": '<{0}/1>;rel="alternate"'.format(CERT_URL)})
    fake.on("POST", "/acme/cert/1/1", body=chain_for_cert_key(workdir, issuer_name="Other Root"))
    code, out, err = run(get_certificate, "--alternate", "1")
    assert code == 0, err
    assert "Issuer:     CN=Other Root" in out


def test_get_certificate_refuses_a_chain_with_a_private_key(fake, workdir, with_order, run):
    valid_order(fake)
    (workdir / "example.com.chain.pem").write_text("old certificate\n")
    fake.on("POST", "/acme/cert/1", body=chain_for_cert_key(workdir) + open("example.com.key").read())
    code, out, err = run(get_certificate)
    assert code == 1 and "only certificates are accepted (RFC 8555 §11.4)" in err
    assert (workdir / "example.com.chain.pem").read_text() == "old certificate\n"


def test_get_certificate_before_finalize(fake, workdir, with_order, run):
    fake.existing_account()
    fake.on("POST", "/acme/order/1", json=order("ready"))
    code, out, err = run(get_certificate)
    assert code == 1 and "finalize_order.py" in err


def test_get_certificate_server_fails_midway_keeps_the_old_file(fake, workdir, with_order, run):
    valid_order(fake)
    (workdir / "example.com.chain.pem").write_text("old certificate\n")
    fake.on("POST", "/acme/cert/1", status=500, body="<html>oops</html>", headers={"Content-Type": "text/html"})
    code, out, err = run(get_certificate)
    assert code == 1 and "Status Code: 500" in err
    assert (workdir / "example.com.chain.pem").read_text() == "old certificate\n"


# -- revoke_certificate.py ---------------------------------------------------

@pytest.fixture
def with_chain(workdir, with_cert_key):
    (workdir / "example.com.chain.pem").write_text(chain_for_cert_key(workdir))


def test_revoke_with_the_account_key(fake, workdir, with_chain, run):
    fake.existing_account()
    fake.on("POST", "/acme/revoke-cert", status=200, body="")
    code, out, err = run(revoke_certificate, "--yes", "--reason", "4")
    assert code == 0, err
    post = fake.posts("/acme/revoke-cert")[0]
    cert = x509.load_pem_x509_certificates(open("example.com.chain.pem", "rb").read())[0]
    assert post["payload"] == {"certificate": myhelper.b64(cert.public_bytes(serialization.Encoding.DER)),
                               "reason": 4}
    assert post["header"]["kid"] == ACCOUNT_URL


def test_revoke_with_the_certificate_key(fake, workdir, with_chain, with_cert_key, run):
    fake.on("POST", "/acme/revoke-cert", status=200, body="")
    code, out, err = run(revoke_certificate, "--yes", "--use-certificate-key")
    assert code == 0, err
    post = fake.posts()[0]
    assert post["header"]["jwk"] == myhelper.get_jwk(myhelper.load_private_key("example.com.key"))
    assert not fake.posts("/acme/new-acct")


def test_revoke_asks_first(fake, workdir, with_chain, run, no_tty):
    code, out, err = run(revoke_certificate)
    assert code == 1 and "--yes" in err and not fake.requests


def test_revoke_bad_reason_is_refused_by_the_parser(workdir, with_chain):
    with pytest.raises(SystemExit) as exc:
        revoke_certificate.main(["--reason", "7"])
    assert exc.value.code == 1


def test_revoke_without_certificate(fake, workdir, run):
    code, out, err = run(revoke_certificate, "--yes")
    assert code == 1 and "get_certificate.py" in err


# -- issue_certificate.py ----------------------------------------------------

def test_issue_certificate_in_ten_requests(fake, workdir, with_cert_key, run, no_sleep):
    fake.on("POST", "/acme/new-acct", status=201, json={"status": "valid"}, headers={"Location": ACCOUNT_URL})
    fake.on("POST", "/acme/new-order", status=201, json=order(), headers={"Location": ORDER_URL})
    fake.on("POST", "/acme/authz/1", dict(json=authz()), dict(json=authz("valid")))
    fake.on("POST", "/acme/chall/1", json={"status": "processing"})
    fake.on("POST", "/acme/order/1/finalize", json=order("processing"))
    fake.on("POST", "/acme/order/1", json=order("valid", certificate=CERT_URL))
    fake.on("POST", "/acme/cert/1", body=chain_for_cert_key(workdir))
    code, out, err = run(issue_certificate, "--agree-tos", "--port", str(free_port()), "--bind", "127.0.0.1", NAME)
    assert code == 0, err
    assert len(fake.requests) == 10 and "Requests sent to the server: 10" in out
    assert [r["path"] for r in fake.requests] == [
        "/directory", "/acme/new-nonce", "/acme/new-acct", "/acme/new-order", "/acme/authz/1", "/acme/chall/1",
        "/acme/authz/1", "/acme/order/1/finalize", "/acme/order/1", "/acme/cert/1"]
    assert os.path.exists("example.com.chain.pem")


def test_issue_certificate_wildcard_needs_dns01(fake, workdir, run):
    code, out, err = run(issue_certificate, "--agree-tos", "*.example.com")
    assert code == 1 and "dns-01" in err and not fake.requests


def test_issue_certificate_without_account_and_without_agreement(fake, workdir, with_cert_key, run):
    fake.on("POST", "/acme/new-acct", problem("accountDoesNotExist", "no account"))
    code, out, err = run(issue_certificate, NAME)
    assert code == 1 and "--agree-tos" in err
    assert fake.posts()[0]["payload"] == {"onlyReturnExisting": True}


def test_a_dns_hook_gets_the_record_in_its_environment_too(tmp_path):
    """ VALUE may begin with "-": a hook that parses options can read it from ACME_VALUE instead """
    from lib import dns01
    hook = tmp_path / "hook.sh"
    hook.write_text('#!/bin/sh\necho "$ACME_ACTION|$ACME_RECORD|$ACME_VALUE|$3" > "$(dirname "$0")/seen"\n')
    hook.chmod(0o755)
    (tmp_path / "acme.ini").write_text("[acme-neoprime]\n")
    dns01.DnsRecords(str(hook), str(tmp_path / "acme.ini")).run_hook("set", "_acme-challenge.example.com", "-x_Y")
    assert (tmp_path / "seen").read_text() == "set|_acme-challenge.example.com|-x_Y|-x_Y\n"
