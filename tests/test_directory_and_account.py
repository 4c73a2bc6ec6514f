""" Part 2-3 scripts against a scripted ACME server: success and failure paths """

import os
import stat

import pytest
import requests

import get_account_info
import get_account_url
import get_directory
import get_nonce
import get_terms_of_service
import make_account_key
import myhelper
import new_account
from lib import send
from fake_ca import ACCOUNT_URL, DIRECTORY_URL, LE_DIRECTORY, decode_jws, new_ec_key, problem, write_ini

STAR40 = "*" * 40


# -- get_directory.py --------------------------------------------------------

def test_get_directory_prints_the_articles_lines(fake, workdir, run):
    code, out, err = run(get_directory)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Calling endpoint: " + DIRECTORY_URL
    assert lines[1:4] == ["", "Returned Data:", STAR40]
    assert "Formatted JSON:" in lines
    formatted = lines[lines.index("Formatted JSON:") + 2:]
    assert "newAccount: https://acme.test/acme/new-acct" in formatted
    assert "meta:" in formatted and "    caaIdentities: ['letsencrypt.org']" in formatted
    # the random entry Let's Encrypt adds is shown, not a problem
    assert any(line.startswith("Xk2VQyq8tX0: ") for line in formatted)
    request = fake.requests[0]
    assert request["headers"]["User-Agent"] == "neoprime.io-acme-client/1.0"
    assert request["headers"]["Accept-Language"] == "en"


def test_get_directory_not_json(fake, workdir, run):
    fake.on("GET", "/directory", body="<html>maintenance</html>", headers={"Content-Type": "text/html"})
    code, out, err = run(get_directory)
    assert code == 1
    assert "Error: Cannot load returned data:" in err and "Traceback" not in err


def test_get_directory_html_502_from_a_proxy(fake, workdir, run):
    fake.on("GET", "/directory", status=502, body="<html><h1>502 Bad Gateway</h1></html>",
            headers={"Content-Type": "text/html"})
    code, out, err = run(get_directory)
    assert code == 1
    assert "Error calling ACME endpoint: Bad Gateway" in err
    assert "Status Code: 502" in err and "502 Bad Gateway" in err and "not an ACME problem document" in err


@pytest.mark.parametrize("exception, message", [
    (requests.exceptions.ConnectionError("Connection refused"), "Cannot connect to"),
    (requests.exceptions.ConnectTimeout("timed out"), "No answer from"),
    (requests.exceptions.ReadTimeout("timed out"), "No answer from"),
    (requests.exceptions.SSLError("certificate verify failed"), "TLS verification failed"),
])
def test_network_failures_give_one_clear_message(fake, workdir, run, exception, message):
    fake.on("GET", "/directory", exception)
    code, out, err = run(get_directory)
    assert code == 1
    assert message in err and "Traceback" not in err
    if "TLS" in message:
        assert "CABundle" in err


def test_timeout_and_ca_bundle_are_passed_on_every_request(fake, workdir, run, monkeypatch):
    bundle = workdir / "ca.pem"
    bundle.write_text("not used by the fake")
    write_ini(workdir / "acme.ini", CABundle="ca.pem", Timeout="7")
    seen = []
    original = requests.Session.request

    def spy(self, method, url, **kwargs):
        seen.append((kwargs.get("timeout"), kwargs.get("verify")))
        return original(self, method, url, **kwargs)
    monkeypatch.setattr(requests.Session, "request", spy)
    fake.existing_account()
    code, out, err = run(get_account_info)
    assert code == 0, err
    assert seen and all(s == (7.0, "ca.pem") for s in seen)


def test_missing_config(tmp_path, monkeypatch, run):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(get_directory)
    assert code == 1 and "Configuration file not found: acme.ini" in err
    code, out, err = run(get_directory, "--config", "other.ini")
    assert code == 1 and "Configuration file not found: other.ini" in err


def test_usage_error_exits_1(workdir, run):
    with pytest.raises(SystemExit) as exc:
        get_directory.main(["--no-such-option"])
    assert exc.value.code == 1


# -- get_nonce.py ------------------------------------------------------------

def test_get_nonce_prints_headers_and_nonce(fake, workdir, run):
    code, out, err = run(get_nonce)
    assert code == 0, err
    assert "Returned Headers:" in out and "Returned Nonce Value:" in out
    assert "Nonce: nonce-1" in out
    assert [r["method"] for r in fake.requests] == ["GET", "HEAD"]


def test_get_nonce_without_replay_nonce_header(fake, workdir, run):
    fake.on("HEAD", "/acme/new-nonce", status=200, headers={"Replay-Nonce": None})
    code, out, err = run(get_nonce)
    assert code == 1 and 'did not contain the header "Replay-Nonce"' in err


def test_get_nonce_error_status(fake, workdir, run):
    fake.on("HEAD", "/acme/new-nonce", status=503, body="", headers={"Retry-After": "30"})
    code, out, err = run(get_nonce)
    assert code == 1 and "Status Code: 503" in err and "retry after 30 seconds (at " in err


def test_directory_without_new_nonce(fake, workdir, run):
    directory = dict(LE_DIRECTORY)
    del directory["newNonce"]
    fake.on("GET", "/directory", json=directory)
    code, out, err = run(get_nonce)
    assert code == 1 and "The server sent nothing where a string was expected: 'newNonce' in the directory" in err


# -- get_terms_of_service.py ---------------------------------------------------

def test_terms_of_service(fake, workdir, run):
    code, out, err = run(get_terms_of_service)
    assert code == 0
    assert out.splitlines()[-1] == "Terms of Service: " + LE_DIRECTORY["meta"]["termsOfService"]


def test_terms_of_service_absent(fake, workdir, run):
    fake.on("GET", "/directory", json={k: v for k, v in LE_DIRECTORY.items() if k != "meta"})
    code, out, err = run(get_terms_of_service)
    assert code == 0 and "publishes none" in out


# -- make_account_key.py -----------------------------------------------------

def test_make_account_key_rsa_and_ec(tmp_path, monkeypatch, run):
    monkeypatch.chdir(tmp_path)
    write_ini(tmp_path / "acme.ini")
    code, out, err = run(make_account_key, "--bits", "2048")
    assert code == 0, err
    assert stat.S_IMODE(os.stat("account.key").st_mode) == 0o600
    assert myhelper.load_private_key("account.key").size_in_bits() == 2048
    assert "PRIVATE KEY" not in out
    code, out, err = run(make_account_key, "--type", "ec", "ec.key")
    assert code == 0 and myhelper.get_alg(myhelper.load_private_key("ec.key")) == "ES256"


def test_make_account_key_never_overwrites(workdir, run, rsa_pem):
    code, out, err = run(make_account_key)
    assert code == 1 and "already exists" in err
    assert (workdir / "account.key").read_bytes() == rsa_pem


# -- new_account.py ----------------------------------------------------------

def new_account_created(fake):
    fake.on("POST", "/acme/new-acct", status=201, json={"status": "valid"}, headers={"Location": ACCOUNT_URL})


def test_new_account_created(fake, workdir, run):
    new_account_created(fake)
    code, out, err = run(new_account, "--agree-tos")
    assert code == 0, err
    lines = out.splitlines()
    assert "Terms of Service: " + LE_DIRECTORY["meta"]["termsOfService"] in lines
    assert "Nonce: nonce-1" in lines
    assert "Account URL: " + ACCOUNT_URL in lines and "Account created." in lines
    post = fake.posts("/acme/new-acct")[0]
    assert post["header"]["alg"] == "RS256" and "jwk" in post["header"] and post["header"]["nonce"] == "nonce-1"
    assert post["payload"] == {"termsOfServiceAgreed": True,
                               "contact": ["mailto:someone@example.com", "mailto:someone2@example.com"]}


def test_new_account_existing(fake, workdir, run):
    fake.existing_account()
    code, out, err = run(new_account, "--agree-tos")
    assert code == 0 and "already has an account" in out


def test_new_account_without_tos_in_directory_does_not_agree(fake, workdir, run):
    fake.on("GET", "/directory", json={k: v for k, v in LE_DIRECTORY.items() if k != "meta"})
    new_account_created(fake)
    code, out, err = run(new_account)
    assert code == 0, err
    assert "termsOfServiceAgreed" not in fake.posts()[0]["payload"]


def test_new_account_asks_for_consent(fake, workdir, run, no_tty):
    code, out, err = run(new_account)
    assert code == 1 and "--agree-tos" in err
    assert not fake.posts(), "nothing may be sent without consent"


def test_new_account_missing_location(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", status=201, json={"status": "valid"})
    code, out, err = run(new_account, "--agree-tos")
    assert code == 1 and 'did not contain the header "Location"' in err


def test_new_account_bad_nonce_is_retried_with_the_nonce_from_the_error(fake, workdir, run):
    fake.on("POST", "/acme/new-acct",
            problem("badNonce", "JWS has an invalid anti-replay nonce"),
            dict(status=201, json={"status": "valid"}, headers={"Location": ACCOUNT_URL}))
    code, out, err = run(new_account, "--agree-tos")
    assert code == 0, err
    first, second = fake.posts("/acme/new-acct")
    # the error response carried nonce-2; the retry must use exactly it (RFC 8555 §6.5)
    assert first["header"]["nonce"] == "nonce-1" and second["header"]["nonce"] == "nonce-2"
    assert [r["method"] for r in fake.requests].count("HEAD") == 1


def test_bad_nonce_every_time_is_bounded(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", problem("badNonce", "bad nonce"))
    code, out, err = run(new_account, "--agree-tos")
    assert code == 1 and "rejected {0} requests in a row".format(send.MAX_NONCE_RETRIES) in err
    assert len(fake.posts()) == send.MAX_NONCE_RETRIES >= 10


def test_new_account_problem_with_subproblems(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", problem("invalidContact", "contact refused", subproblems=[
        {"type": "urn:ietf:params:acme:error:invalidContact", "detail": "forbidden domain",
         "identifier": {"type": "dns", "value": "example.com"}}]))
    code, out, err = run(new_account, "--agree-tos")
    assert code == 1
    assert "Error Type: urn:ietf:params:acme:error:invalidContact" in err
    assert "Detail: contact refused" in err
    assert "Subproblem for dns example.com: urn:ietf:params:acme:error:invalidContact: forbidden domain" in err
    assert "Fix Contacts in acme.ini" in err


def test_new_account_invalid_contact_stops_before_sending(fake, workdir, run):
    write_ini(workdir / "acme.ini", Contacts="mailto:example.com;mailto:someone2@example.com")
    code, out, err = run(new_account, "--agree-tos")
    assert code == 1 and "'mailto:example.com' is not a valid contact" in err
    assert not fake.requests


def test_new_account_missing_key_no_terminal(fake, workdir, run, no_tty):
    os.remove("account.key")
    code, out, err = run(new_account, "--agree-tos")
    assert code == 1
    assert "Error: File does not exist: account.key" in out and "--yes" in err
    assert not os.path.exists("account.key") and not fake.requests


def test_new_account_creates_missing_key_with_yes(fake, workdir, run, monkeypatch):
    os.remove("account.key")
    monkeypatch.setattr(myhelper, "create_rsa_private_key",
                        lambda filename, bits=4096: myhelper.save_private_key(myhelper.RSA.generate(2048), filename)
                        or myhelper.load_private_key(filename))
    new_account_created(fake)
    code, out, err = run(new_account, "--agree-tos", "--yes")
    assert code == 0, err
    assert stat.S_IMODE(os.stat("account.key").st_mode) == 0o600


def test_new_account_ec_key_signs_es256(fake, workdir, run):
    os.remove("account.key")
    new_ec_key("account.key")
    new_account_created(fake)
    code, out, err = run(new_account, "--agree-tos")
    assert code == 0, err
    assert fake.posts()[0]["header"]["alg"] == "ES256"   # the fake verified the signature


def test_new_account_external_account_binding(fake, workdir, run):
    directory = dict(LE_DIRECTORY, meta=dict(LE_DIRECTORY["meta"], externalAccountRequired=True))
    fake.on("GET", "/directory", json=directory)
    code, out, err = run(new_account, "--agree-tos")
    assert code == 1 and "EABKeyID" in err and not fake.posts()

    write_ini(workdir / "acme.ini", EABKeyID="kid-1", EABHMACKey=myhelper.b64(b"s" * 32))
    new_account_created(fake)
    code, out, err = run(new_account, "--agree-tos")
    assert code == 0, err
    post = fake.posts()[-1]
    eab = post["payload"]["externalAccountBinding"]
    header, payload = decode_jws(eab)
    assert header == {"alg": "HS256", "kid": "kid-1", "url": post["url"]}
    assert payload == post["header"]["jwk"]


# -- get_account_url.py / get_account_info.py --------------------------------

def test_get_account_url(fake, workdir, run):
    fake.existing_account()
    code, out, err = run(get_account_url)
    assert code == 0
    assert out.splitlines()[-1] == "Account URL: " + ACCOUNT_URL
    assert fake.posts()[0]["payload"] == {"onlyReturnExisting": True}


def test_get_account_url_no_account(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", problem("accountDoesNotExist", "No account exists with the provided key"))
    code, out, err = run(get_account_url)
    assert code == 1 and "python new_account.py" in err


def test_get_account_info_today_lets_encrypt(fake, workdir, run):
    # Let's Encrypt returns neither id (2019), initialIp (2024) nor contact (2025); createdAt it still does
    fake.existing_account()
    code, out, err = run(get_account_info)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-5:] == ["ID:         (not returned by the server)", "Contact:    (not returned by the server)",
                          "Initial IP: (not returned by the server)", "Created At: 2026-11-20T08:00:00Z",
                          "Status:    valid"]
    lookup, fetch = fake.posts()
    assert fetch["url"] == ACCOUNT_URL and fetch["header"]["kid"] == ACCOUNT_URL
    assert fetch["body"]["payload"] == ""           # POST-as-GET, not {} (fault 9)
    assert lookup["header"]["nonce"] != fetch["header"]["nonce"]
    assert [r["method"] for r in fake.requests] == ["GET", "HEAD", "POST", "POST"]


def test_get_account_info_2018_fields(fake, workdir, run):
    fake.existing_account({"id": 5, "contact": ["mailto:a@example.com"], "initialIp": "192.0.2.1",
                           "createdAt": "2018-01-01T00:00:00Z", "status": "valid"})
    code, out, err = run(get_account_info, "--debug")
    assert code == 0
    assert "ID:         5" in out and "Initial IP: 192.0.2.1" in out and "Returned Data:" in out


def test_get_account_info_missing_key(fake, workdir, run):
    os.remove("account.key")
    code, out, err = run(get_account_info)
    assert code == 1 and "File does not exist: account.key" in err and not fake.requests


def test_get_account_info_response_without_replay_nonce_then_new_nonce(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", status=200, json={"status": "valid"},
            headers={"Location": ACCOUNT_URL, "Replay-Nonce": None})
    fake.on("POST", "/acme/acct/123", json={"status": "valid"})
    code, out, err = run(get_account_info)
    assert code == 0, err
    assert [r["method"] for r in fake.requests] == ["GET", "HEAD", "POST", "HEAD", "POST"]


def test_deactivated_account_is_said_plainly(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", problem("unauthorized", "Account is deactivated", status=401))
    code, out, err = run(get_account_info)
    assert code == 1 and "This account is deactivated" in err


def test_debug_shows_the_wire_but_no_private_key(fake, workdir, run, rsa_pem):
    fake.existing_account()
    code, out, err = run(get_account_info, "--debug")
    assert code == 0
    assert '"onlyReturnExisting": true' in out and "signature: 256 bytes" in out and '"" (POST-as-GET)' in out
    key = myhelper.RSA.import_key(rsa_pem)
    for secret in (key.d, key.p, key.q):
        assert myhelper.b64(secret.to_bytes((secret.bit_length() + 7) // 8, "big")) not in out
    assert "PRIVATE KEY" not in out


def test_new_account_wrong_eab_mac(fake, workdir, run):
    write_ini(workdir / "acme.ini", EABKeyID="kid-1", EABHMACKey=myhelper.b64(b"wrong" * 8))
    fake.on("POST", "/acme/new-acct", problem("unauthorized", "external account binding JWS verification error",
                                              status=403))
    code, out, err = run(new_account, "--agree-tos")
    assert code == 1 and "refused the external account binding" in err and "EABHMACKey" in err
