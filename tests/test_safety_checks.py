""" The safety checks, each held by a test that fails when the check breaks (issue 17)

tools/mutate.py breaks them one at a time (docs/MUTATIONS.md lists which test notices each). The
checks named in the issue: a question before an irreversible step takes only y or yes as yes; a backup
keeps its file's mode; a chain cut off is refused; badNonce retries are bounded in time as well as in
count; a setting out of its range is one clear error; 429 and 503 are retried as often as documented;
a malformed Replay-Nonce is never signed; a poll ends at PollTimeout.
"""

import json
import os
import stat
import sys

import pytest

import account_deactivate
import finalize_order
import get_account_info
import get_certificate
import get_nonce
import issue_certificate
import make_csr
import myhelper
import new_account
import revoke_certificate
from lib import answers, certs, files, frame, send
from fake_ca import ACCOUNT_URL, BASE, make_chain, problem, write_ini

ORDER_URL = BASE + "/acme/order/1"


class Terminal:
    """ A terminal whose user types answers, one per question; what was asked is kept """

    def __init__(self, monkeypatch, *answers):
        self.answers, self.asked = list(answers), []
        monkeypatch.setattr(sys, "stdin", self)
        monkeypatch.setattr("builtins.input", self.input)

    def isatty(self):
        return True

    def input(self, prompt=""):
        self.asked.append(prompt)
        if not self.answers:
            raise EOFError()
        return self.answers.pop(0)


# -- a question before an irreversible step: only y or yes is yes ---------------------------------------

@pytest.mark.parametrize("typed, yes", [([""], False), (["y"], True), (["YES "], True), (["n"], False),
                                        (["no"], False), (["maybe", "sure", "y"], True), (["maybe", ""], False),
                                        ([], False)])
def test_confirm_takes_only_y_or_yes_as_yes(monkeypatch, typed, yes):
    terminal = Terminal(monkeypatch, *typed)
    assert myhelper.Confirm("Revoke it (y/n): ") is yes
    assert len(terminal.asked) == max(1, len(typed))          # asked again after an answer it does not know


def test_confirm_without_a_terminal_says_what_to_do(no_tty):
    with pytest.raises(ValueError, match="No terminal to ask 'Revoke it \\(y/n\\):'. Pass --yes."):
        myhelper.Confirm("Revoke it (y/n): ", no_terminal="Pass --yes.")
    assert myhelper.Confirm("Revoke it (y/n): ", assume_yes=True) is True


@pytest.fixture
def chain_file(workdir, cert_rsa_pem):
    (workdir / "example.com.chain.pem").write_text(make_chain(["example.com"], key_pem=cert_rsa_pem))


@pytest.mark.parametrize("typed", ["", "n", "x\n"])
def test_enter_at_the_revocation_question_revokes_nothing(fake, workdir, chain_file, run, monkeypatch, typed):
    Terminal(monkeypatch, *typed.split("\n"))
    fake.existing_account()
    code, out, err = run(revoke_certificate)
    assert code == 1 and "Cancelled: nothing was revoked." in err
    assert not fake.posts()


def test_enter_at_the_deactivation_question_deactivates_nothing(fake, workdir, run, monkeypatch):
    Terminal(monkeypatch, "")
    fake.existing_account()
    code, out, err = run(account_deactivate)
    assert code == 1 and "Cancelled: the account was not changed." in err
    assert all(post["payload"] != {"status": "deactivated"} for post in fake.posts())


def test_enter_at_the_terms_of_service_question_agrees_to_nothing(fake, workdir, run, monkeypatch):
    Terminal(monkeypatch, "")
    code, out, err = run(new_account)
    assert code == 1 and "the terms of service were not agreed to" in err and not fake.posts()


def test_enter_before_creating_a_missing_account_key_creates_none(fake, workdir, run, monkeypatch):
    os.remove(workdir / "account.key")
    Terminal(monkeypatch, "")
    code, out, err = run(issue_certificate, "--agree-tos", "example.com")
    assert code == 1 and err.strip() == "Error: Cancelled" and not (workdir / "account.key").exists()
    assert not fake.requests


def test_a_missing_key_is_created_only_after_asking(fake, workdir, run, no_tty):
    os.remove(workdir / "account.key")
    code, out, err = run(issue_certificate, "--agree-tos", "example.com")
    assert code == 1 and "No terminal to ask" in err and "--yes" in err
    assert not (workdir / "account.key").exists()


# -- files: atomic, modes kept, nothing left behind --------------------------------------------------

@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_a_backup_keeps_the_mode_of_the_file_it_saves(tmp_path, mode):
    key = tmp_path / "example.com.key"
    key.write_bytes(b"old secret")
    key.chmod(mode)
    assert files.write_file(str(key), b"new", mode=0o600, backup=True) == str(key) + ".bak"
    backup = tmp_path / "example.com.key.bak"
    assert backup.read_bytes() == b"old secret" and stat.S_IMODE(os.stat(backup).st_mode) == mode
    assert key.read_bytes() == b"new" and stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_written_files_have_the_mode_asked_for(tmp_path):
    for mode in (0o600, 0o644):
        path = tmp_path / "f{0:o}".format(mode)
        files.write_file(str(path), b"data", mode=mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert files.write_file(str(tmp_path / "new"), b"x", backup=True) is None     # nothing to back up


def test_a_0600_chain_file_is_backed_up_0600_by_get_certificate(fake, workdir, cert_rsa_pem, run):
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    assert run(make_csr, "example.com")[0] == 0
    order = {"status": "valid", "identifiers": [{"type": "dns", "value": "example.com"}],
             "authorizations": [], "finalize": ORDER_URL + "/finalize", "certificate": BASE + "/acme/cert/1"}
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": order}))
    (workdir / "example.com.chain.pem").write_text("a chain with the key in it\n")
    (workdir / "example.com.chain.pem").chmod(0o600)
    fake.existing_account()
    fake.on("POST", "/acme/order/1", json=order)
    fake.on("POST", "/acme/cert/1", body=make_chain(["example.com"], key_pem=cert_rsa_pem))
    code, out, err = run(get_certificate)
    assert code == 0, err
    assert stat.S_IMODE(os.stat(workdir / "example.com.chain.pem.bak").st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "example.com.chain.pem"
    path.write_bytes(b"old")

    def full_disk(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        files.write_file(str(path), b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["example.com.chain.pem"]


def test_a_key_file_is_never_overwritten(tmp_path):
    path = tmp_path / "account.key"
    path.write_bytes(b"the only copy")
    with pytest.raises(frame.AcmeError, match="already exists; it was not overwritten"):
        files.new_key_file(str(path))
    with pytest.raises(frame.AcmeError, match="Cannot write in"):
        files.new_key_file(str(tmp_path / "no" / "such" / "folder.key"))
    assert files.new_key_file(str(tmp_path / "new.key")) == str(tmp_path / "new.key")


# -- certificate chains --------------------------------------------------------------------------------

def test_a_chain_cut_off_in_its_last_block_is_refused(cert_rsa_pem):
    chain = make_chain(["example.com"], key_pem=cert_rsa_pem)
    assert len(certs.load_pem_chain(chain)) == 2
    for cut in (chain[:-30], chain[:chain.rindex("-----END")], chain[:chain.rindex("-----BEGIN") + 40]):
        with pytest.raises(ValueError, match="cut off"):
            certs.load_pem_chain(cut)


def test_only_certificates_count_and_an_empty_chain_is_refused():
    with pytest.raises(ValueError, match="no complete certificate"):
        certs.load_pem_chain("-----END CERTIFICATE-----\n")
    with pytest.raises(ValueError, match="does not parse"):
        certs.load_pem_chain("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


# -- badNonce: bounded in count and in time -------------------------------------------------------------

class SlowServer:
    """ Every answer of the fake server takes `delay` seconds, on the clock lib/send.py reads (waits count too) """

    def __init__(self, fake, monkeypatch, waits):
        self.now, self.delay, self.handle = 1000.0, 1.5, fake.handle
        monkeypatch.setattr(send, "monotonic", lambda: self.now + sum(waits))
        for registered in fake.rsps.registered():
            monkeypatch.setattr(registered, "callback", self.answer)

    def answer(self, request):
        self.now += self.delay
        return self.handle(request)


@pytest.fixture
def slow_server(fake, monkeypatch, no_sleep):
    return SlowServer(fake, monkeypatch, no_sleep)


def test_bad_nonces_are_retried_only_within_twice_the_timeout(fake, workdir, run, slow_server):
    fake.on("POST", "/acme/new-acct", problem("badNonce", "JWS has an invalid anti-replay nonce"))
    code, out, err = run(get_account_info)           # Timeout = 5 s: retries for 10 s
    assert code == 1 and "urn:ietf:params:acme:error:badNonce" in err, err
    assert len(fake.posts()) == 7 < send.MAX_NONCE_RETRIES      # answers at 1.5, 3, ... 10.5 s
    assert "rejected" not in err


def test_bad_nonces_are_retried_with_the_nonce_each_error_brought(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", problem("badNonce", "stale"), problem("badNonce", "stale"),
            dict(status=200, json={"status": "valid"}, headers={"Location": ACCOUNT_URL}))
    fake.on("POST", "/acme/acct/123", json={"status": "valid"})
    code, out, err = run(get_account_info)
    assert code == 0, err
    nonces = [post["header"]["nonce"] for post in fake.posts()]
    assert nonces == ["nonce-1", "nonce-2", "nonce-3", "nonce-4"] and len(set(nonces)) == 4
    assert out.count("The server rejected the nonce (badNonce)") == 2


# -- 429 and 503: waited out as documented, no more ------------------------------------------------------

@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_answer_to_a_post_is_tried_three_times_in_all(fake, workdir, run, no_sleep, status):
    fake.on("POST", "/acme/new-acct", dict(problem("rateLimited" if status == 429 else "serverInternal", "busy",
                                                   status=status), headers={"Retry-After": "2"}))
    code, out, err = run(get_account_info)
    assert code == 1 and "Status Code: {0}".format(status) in err
    assert len(fake.posts()) == send.MAX_BUSY_RETRIES == 3 and no_sleep == [2.0, 2.0]


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_answer_to_a_get_is_tried_three_times_in_all(fake, workdir, run, no_sleep, status):
    fake.on("GET", "/directory", dict(status=status, body="", headers={"Retry-After": "1"}))
    code, out, err = run(get_account_info)
    assert code == 1 and len(fake.requests) == 3 and no_sleep == [1.0, 1.0]


@pytest.mark.parametrize("retry_after, waits", [("11", []), ("10", [10.0, 10.0]), (None, []), ("0", [0.0, 0.0])])
def test_only_a_short_retry_after_is_waited_out(fake, workdir, run, no_sleep, retry_after, waits):
    headers = {"Retry-After": retry_after} if retry_after else {}
    fake.on("POST", "/acme/new-acct", dict(problem("rateLimited", "slow down", status=429), headers=headers))
    code, out, err = run(get_account_info)
    assert code == 1 and no_sleep == waits and len(fake.posts()) == len(waits) + 1


def test_busy_waits_end_within_thirty_seconds(fake, workdir, run, no_sleep, slow_server):
    slow_server.delay = 6
    fake.on("POST", "/acme/new-acct", dict(problem("rateLimited", "busy", status=429), headers={"Retry-After": "10"}))
    code, out, err = run(get_account_info)
    assert code == 1 and no_sleep == [10.0]           # 6 + 10 + 6 s, and 10 more would pass 30 s
    assert len(fake.posts()) == 2


# -- Replay-Nonce: a malformed one is ignored (RFC 8555 §6.5.1) -----------------------------------------

@pytest.mark.parametrize("nonce", ["bad nonce!", "abc=", "a" * 257, "nonce-x\\"])
def test_a_malformed_nonce_on_a_post_answer_is_never_signed(fake, workdir, run, nonce):
    fake.on("POST", "/acme/new-acct", status=200, json={"status": "valid"},
            headers={"Location": ACCOUNT_URL, "Replay-Nonce": nonce})
    fake.on("POST", "/acme/acct/123", json={"status": "valid"})
    code, out, err = run(get_account_info)
    assert code == 0, err
    assert [r["method"] for r in fake.requests] == ["GET", "HEAD", "POST", "HEAD", "POST"]
    assert fake.posts()[1]["header"]["nonce"] == "nonce-3"        # the fresh one from newNonce


def test_a_malformed_nonce_on_a_bad_nonce_answer_is_never_signed(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", dict(problem("badNonce", "stale"), headers={
        "Content-Type": "application/problem+json", "Replay-Nonce": "not base64url!"}),
        dict(status=200, json={"status": "valid"}, headers={"Location": ACCOUNT_URL}))
    fake.on("POST", "/acme/acct/123", json={"status": "valid"})
    code, out, err = run(get_account_info)
    assert code == 0, err
    assert [r["method"] for r in fake.requests] == ["GET", "HEAD", "POST", "HEAD", "POST", "POST"]


@pytest.mark.parametrize("nonce", ["bad nonce!", "abc=", "a" * 257, ""])
def test_get_nonce_says_the_server_sent_an_invalid_nonce(fake, workdir, run, nonce):
    fake.on("HEAD", "/acme/new-nonce", status=200, headers={"Replay-Nonce": nonce})
    code, out, err = run(get_nonce)
    assert code == 1 and "Traceback" not in err and err.startswith("Error: The server sent an invalid nonce")
    assert "not base64url" in err and "must ignore it" in err


@pytest.mark.parametrize("nonce", ["bad nonce!", "abc=", ""])
def test_a_malformed_first_nonce_is_refused_before_signing(fake, workdir, run, nonce):
    fake.on("HEAD", "/acme/new-nonce", status=200, headers={"Replay-Nonce": nonce})
    code, out, err = run(get_account_info)
    assert code == 1 and "not base64url" in err and not fake.posts()


# -- polls end at PollTimeout ------------------------------------------------------------------------------

def never_done(fake, path, answer, limit=60):
    """ answer to path, `limit` times; then a failure, so that a poll that never stops fails the test
    at once instead of running into the test's timeout """
    fake.on("POST", path, *([answer] * limit + [AssertionError("polled {0} times: it never stops".format(limit))]))


def test_an_order_poll_ends_at_poll_timeout(fake, workdir, cert_rsa_pem, run, no_sleep):
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    write_ini(workdir / "acme.ini", PollTimeout="20")
    issued = {"status": "processing", "identifiers": [{"type": "dns", "value": "example.com"}],
              "authorizations": [], "finalize": ORDER_URL + "/finalize"}
    fake.existing_account()
    fake.on("POST", "/acme/new-order", status=201, json=dict(issued, status="ready"), headers={"Location": ORDER_URL})
    fake.on("POST", "/acme/order/1/finalize", json=issued)
    never_done(fake, "/acme/order/1", dict(json=issued))
    code, out, err = run(issue_certificate, "--agree-tos", "example.com")
    assert code == 1 and "still 'processing'" in err and "PollTimeout (20 seconds)" in err
    assert sum(no_sleep) <= 20 and len(fake.posts("/acme/order/1")) == len(no_sleep) < 10


def test_an_authorization_poll_ends_at_poll_timeout(fake, workdir, cert_rsa_pem, run, no_sleep):
    (workdir / "www").mkdir()
    authz = {"status": "pending", "identifier": {"type": "dns", "value": "example.com"},
             "challenges": [{"type": "http-01", "url": BASE + "/acme/chall/1", "token": "t" * 43}]}
    fake.existing_account()
    fake.on("POST", "/acme/chall/1", json={"status": "processing"})
    never_done(fake, "/acme/authz/1", dict(json=authz))
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": {
        "status": "pending", "identifiers": [{"type": "dns", "value": "example.com"}],
        "authorizations": [BASE + "/acme/authz/1"], "finalize": ORDER_URL + "/finalize"}}))
    import http01_challenge
    code, out, err = run(http01_challenge, "--webroot", "www", "--skip-check")
    assert code == 1 and "still 'pending'" in err and "PollTimeout (30 seconds)" in err
    assert sum(no_sleep) <= 30 and not os.listdir(workdir / "www" / ".well-known" / "acme-challenge")


def test_a_finalize_retry_after_beyond_poll_timeout_is_not_slept(fake, workdir, cert_rsa_pem, run, no_sleep):
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    assert run(make_csr, "example.com")[0] == 0
    ready = {"status": "ready", "identifiers": [{"type": "dns", "value": "example.com"}],
             "authorizations": [], "finalize": ORDER_URL + "/finalize"}
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": ready}))
    fake.existing_account()
    fake.on("POST", "/acme/order/1/finalize", json=dict(ready, status="processing"),
            headers={"Retry-After": "86400"})
    never_done(fake, "/acme/order/1", dict(json=dict(ready, status="processing")), limit=2)
    fake.on("POST", "/acme/order/1", dict(json=ready), *fake.routes[("POST", "/acme/order/1")])
    code, out, err = run(finalize_order)
    assert code == 1 and "PollTimeout (30 seconds)" in err and sum(no_sleep) <= 30


# -- https only, for every URL: also those read back from the saved order -------------------------------

@pytest.mark.parametrize("where", ["url", "authorizations"])
def test_a_saved_order_with_a_plain_http_url_sends_nothing_there(fake, workdir, cert_rsa_pem, run, where):
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    assert run(make_csr, "example.com")[0] == 0
    order = {"status": "pending", "identifiers": [{"type": "dns", "value": "example.com"}],
             "authorizations": [BASE + "/acme/authz/1"], "finalize": ORDER_URL + "/finalize"}
    saved = {"url": ORDER_URL, "order": order}
    if where == "url":
        saved["url"] = "http://acme.test/acme/order/1"
    else:
        order["authorizations"] = ["http://acme.test/acme/authz/1"]
    (workdir / "order.json").write_text(json.dumps(saved))
    fake.existing_account()
    import get_challenges
    code, out, err = run(finalize_order if where == "url" else get_challenges)
    assert code == 1 and "only https:// URLs are used" in err
    assert not [r for r in fake.requests if r["url"].startswith("http://")]


# -- what the server says is read with care ---------------------------------------------------------------

def finalize_refused_with_bad_csr(fake, workdir, cert_rsa_pem, run, detail):
    """ finalize_order.py's exit status and stderr when the CA answers finalize with badCSR and detail """
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    assert run(make_csr, "example.com")[0] == 0
    ready = {"status": "ready", "identifiers": [{"type": "dns", "value": "example.com"}],
             "authorizations": [], "finalize": ORDER_URL + "/finalize"}
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": ready}))
    fake.existing_account()
    fake.on("POST", "/acme/order/1", json=ready)
    fake.on("POST", "/acme/order/1/finalize", problem("badCSR", detail))
    code, _out, err = run(finalize_order)
    return code, err


def test_a_blocked_certificate_key_says_make_a_new_key_not_a_new_csr(fake, workdir, cert_rsa_pem, run):
    code, err = finalize_refused_with_bad_csr(fake, workdir, cert_rsa_pem, run, "Error finalizing order :: "
                                              "invalid public key in CSR: public key is forbidden")
    assert code == 1 and "python make_certificate_key.py NEW.key" in err and "then a new CSR" in err
    assert "Create the CSR again" not in err


def test_another_bad_csr_still_says_make_the_csr_again(fake, workdir, cert_rsa_pem, run):
    code, err = finalize_refused_with_bad_csr(fake, workdir, cert_rsa_pem, run,
                                              "CSR contains an IP address in the Common Name")
    assert code == 1 and "Create the CSR again with python make_csr.py" in err and "make_certificate_key" not in err


@pytest.mark.parametrize("depth, ok", [(answers.MAX_DEPTH, True), (answers.MAX_DEPTH + 1, False), (1000, False)])
def test_json_nested_deeper_than_max_depth_is_refused(depth, ok):
    text = "[" * (depth - 1) + "{}" + "]" * (depth - 1)
    if ok:
        assert answers.parse_json(text) is not None
    else:
        with pytest.raises(ValueError, match="nested"):
            answers.parse_json(text)


def test_a_nonce_from_the_self_checks_web_server_is_never_kept(workdir):
    """ The http-01 self-check asks a web server, not the CA: a Replay-Nonce it sends is ignored """
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Replay-Nonce", "from-a-web-server")
            self.end_headers()
            self.wfile.write(b"key authorization")

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        net = send.Transport({"Timeout": 5, "PollTimeout": 5, "CABundle": "", "ACMEDirectory": BASE + "/directory",
                              "UserAgent": "test", "Language": "en"})
        answer = net.send("GET", "http://127.0.0.1:{0}/.well-known/acme-challenge/x".format(server.server_address[1]),
                          "checking our own challenge URL", plain_http=True)
        assert answer.status_code == 200 and net.nonce is None
    finally:
        server.shutdown()
        server.server_close()
