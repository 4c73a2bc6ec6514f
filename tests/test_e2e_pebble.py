""" End to end: every script run as a reader runs it (python script.py), against a real Pebble

Pebble validates for real: pebble-challtestsrv is its DNS server and resolves every name to
127.0.0.1, so http01_challenge.py's own web server answers Pebble's http-01 checks, and
dns01_challenge.py's DNSHook sets the TXT records in challtestsrv. A missing Pebble fails these
tests; it never skips them.
"""

import os

import pytest
from cryptography import x509

from real_cas import Reader, start_pebble
from pebble import Pebble, PebbleError, free_port

pytestmark = pytest.mark.e2e

EAB_KEYS = {"kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"}


def san(cert):
    return sorted(str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)


def test_part3_scripts(pebble, tmp_path):
    reader = Reader(tmp_path, pebble)
    out = reader.run("get_directory.py").stdout
    assert out.startswith("Calling endpoint: " + pebble.directory_url + "\n\nReturned Data:\n" + "*" * 40)
    assert "newAccount: https://localhost:{0}/sign-me-up".format(pebble.port) in out
    assert "Nonce: " in reader.run("get_nonce.py").stdout
    assert "Terms of Service: data:text/plain" in reader.run("get_terms_of_service.py").stdout

    result = reader.run("get_account_info.py", ok=False)
    assert "File does not exist" in result.stderr
    reader.run("make_account_key.py", "--bits", "2048")
    result = reader.run("get_account_url.py", ok=False)
    assert "accountDoesNotExist" in result.stderr and "new_account.py" in result.stderr

    result = reader.run("new_account.py", ok=False)          # no terminal, no --agree-tos
    assert "--agree-tos" in result.stderr
    out = reader.run("new_account.py", "--agree-tos").stdout
    assert "Account created." in out
    account_url = [line for line in out.splitlines() if line.startswith("Account URL: ")][0]
    out = reader.run("new_account.py", "--agree-tos").stdout
    assert account_url in out and "already has an account" in out
    assert account_url in reader.run("get_account_url.py").stdout
    out = reader.run("get_account_info.py").stdout
    assert account_url in out
    assert "Contact:    ['mailto:someone@example.com', 'mailto:someone2@example.com']" in out
    assert "Status:    valid" in out and "ID:         (not returned by the server)" in out


def test_issuance_http01_step_by_step_then_revoke(pebble, tmp_path):
    reader = Reader(tmp_path, pebble)
    reader.account()
    reader.run("make_certificate_key.py")
    reader.run("make_csr.py", "step.example.test", "www.step.example.test")
    out = reader.run("request_certificate.py").stdout
    assert "Order Location: " in out and '"status": "pending"' in out
    out = reader.run("get_challenges.py").stdout
    assert "http-01" in out and "Key authorization: " in out and "_acme-challenge.step.example.test" in out
    reader.run("finalize_order.py", ok=False)                # challenges not done yet
    out = reader.run("http01_challenge.py", "--port", str(pebble.http_port), "--bind", "127.0.0.1").stdout
    assert "Stopped the challenge web server." in out and "All authorizations are valid" in out
    out = reader.run("finalize_order.py").stdout
    assert "Order status: valid" in out and "Certificate URL: " in out
    out = reader.run("get_certificate.py").stdout
    certs = reader.certificate()
    assert san(certs[0]) == ["step.example.test", "www.step.example.test"] and len(certs) >= 2
    serial = format(certs[0].serial_number, "x")
    assert "Serial:     " + serial in out

    reader.run("revoke_certificate.py", ok=False)            # asks first; no terminal: nothing revoked
    assert pebble.cert_status(serial)["Status"] == "Valid"
    reader.run("revoke_certificate.py", "--yes", "--reason", "4")
    status = pebble.cert_status(serial)
    assert status["Status"] == "Revoked" and status["Reason"] == 4
    result = reader.run("revoke_certificate.py", "--yes", ok=False)
    assert "alreadyRevoked" in result.stderr


def test_dns01_wildcard_with_hook_then_revoke_with_certificate_key(pebble, tmp_path):
    reader = Reader(tmp_path, pebble)
    reader.account()
    reader.run("make_certificate_key.py", "--type", "ec")
    reader.run("make_csr.py", "*.wild.example.test", "wild.example.test")
    reader.run("request_certificate.py")
    result = reader.run("http01_challenge.py", "--port", str(pebble.http_port), ok=False)
    assert "no http-01 challenge" in result.stderr           # a wildcard needs dns-01
    out = reader.run("dns01_challenge.py").stdout
    assert "Cleared TXT record _acme-challenge.wild.example.test" in out
    reader.run("finalize_order.py")
    reader.run("get_certificate.py")
    cert = reader.certificate()[0]
    assert san(cert) == ["*.wild.example.test", "wild.example.test"]
    reader.run("revoke_certificate.py", "--yes", "--use-certificate-key", "--reason", "1")
    assert pebble.cert_status(format(cert.serial_number, "x"))["Status"] == "Revoked"


def count_served(pebble):
    return len(pebble.served_requests())


def test_issue_certificate_cold_one_name_takes_10_requests(tmp_path_factory, tmp_path):
    quiet = start_pebble(tmp_path_factory, "pebble-count", env={"PEBBLE_AUTHZREUSE": "0"})
    try:
        reader = Reader(tmp_path, quiet)
        reader.run("make_account_key.py", "--bits", "2048")
        reader.run("make_certificate_key.py")
        before = count_served(quiet)
        out = reader.run("issue_certificate.py", "--agree-tos", "--port", str(quiet.http_port),
                         "--bind", "127.0.0.1", "one.example.test").stdout
        served, early = count_served(quiet) - before, out.count("; checking again in")
        assert served == 10 + early and early <= 2, out          # a look more only when one came too early
        assert "Requests sent to the server: {0}".format(served) in out and "(created)" in out
        assert san(reader.certificate()[0]) == ["one.example.test"]
    finally:
        quiet.stop()


def test_es256_account_issues_with_both_challenges(pebble, tmp_path):
    reader = Reader(tmp_path, pebble)
    reader.run("make_account_key.py", "--type", "ec")
    reader.run("issue_certificate.py", "--agree-tos", "--yes", "--port", str(pebble.http_port),
               "--bind", "127.0.0.1", "ec.example.test", "www.ec.example.test")
    assert san(reader.certificate()[0]) == ["ec.example.test", "www.ec.example.test"]
    reader.run("issue_certificate.py", "--challenge", "dns-01", "*.ec.example.test")
    assert san(reader.certificate()[0]) == ["*.ec.example.test"]


def test_account_lifecycle(pebble, tmp_path):
    reader = Reader(tmp_path, pebble)
    reader.account()
    out = reader.run("account_update.py", "--contact", "mailto:admin@example.org").stdout
    assert "Contact:    ['mailto:admin@example.org']" in out
    assert reader.run("account_update.py", "--contact", "admin@example.org", ok=False).returncode == 1
    account_url = reader.run("get_account_url.py").stdout.splitlines()[-1]

    reader.run("make_account_key.py", "--type", "ec", "new.key")
    result = reader.run("account_key_change.py", "account.key", ok=False)
    assert "same as the current account key" in result.stderr
    old_key = open(reader.path("account.key"), "rb").read()
    out = reader.run("account_key_change.py", "new.key").stdout
    backup = [line.split()[-1] for line in out.splitlines() if line.startswith("The old key was kept in")][0]
    backup = reader.path(backup)
    assert open(backup, "rb").read() == old_key
    assert open(reader.path("account.key"), "rb").read() == open(reader.path("new.key"), "rb").read()
    # the new key finds the account; the old one does not
    assert reader.run("get_account_url.py").stdout.splitlines()[-1] == account_url
    with open(reader.path("old.ini"), "w") as f:
        f.write(open(reader.path("acme.ini")).read().replace("AccountKeyFile = account.key",
                                                             "AccountKeyFile = " + backup))
    result = reader.run("get_account_url.py", "--config", "old.ini", ok=False)
    assert "accountDoesNotExist" in result.stderr

    # a key that another account already uses is refused, and account.key stays as it was
    os.makedirs(tmp_path / "other")
    other = Reader(tmp_path / "other", pebble)
    other.account()
    before = open(reader.path("account.key"), "rb").read()
    result = reader.run("account_key_change.py", other.path("account.key"), ok=False)
    assert "another account already uses it" in result.stderr
    assert open(reader.path("account.key"), "rb").read() == before

    result = reader.run("account_deactivate.py", ok=False)   # asks first; no terminal: unchanged
    assert "Status:    valid" in reader.run("get_account_info.py").stdout
    out = reader.run("account_deactivate.py", "--yes").stdout
    assert "Status:    deactivated" in out
    result = reader.run("get_account_info.py", ok=False)
    assert "This account is deactivated" in result.stderr


def test_external_account_binding(tmp_path_factory, tmp_path):
    eab = start_pebble(tmp_path_factory, "pebble-eab", eab_keys=EAB_KEYS)
    try:
        reader = Reader(tmp_path, eab, EABKeyID="", EABHMACKey="")      # as if the ini lacked them
        reader.run("make_account_key.py", "--bits", "2048")
        result = reader.run("new_account.py", "--agree-tos", ok=False)
        assert "requires external account binding" in result.stderr
        Reader(tmp_path, eab, EABKeyID="kid-1", EABHMACKey="A" * 64)
        result = reader.run("new_account.py", "--agree-tos", ok=False)
        assert "The CA refused the external account binding" in result.stderr and "EABHMACKey" in result.stderr
        Reader(tmp_path, eab, EABKeyID="kid-1", EABHMACKey=EAB_KEYS["kid-1"])
        assert "Account created." in reader.run("new_account.py", "--agree-tos").stdout
    finally:
        eab.stop()


def test_every_script_succeeds_when_half_the_nonces_are_rejected(tmp_path_factory, tmp_path):
    noisy = start_pebble(tmp_path_factory, "pebble-nonce", env={"PEBBLE_WFE_NONCEREJECT": "50"})
    try:
        reader = Reader(tmp_path, noisy)
        port = ["--port", str(noisy.http_port), "--bind", "127.0.0.1"]
        reader.run("get_directory.py")
        reader.run("get_nonce.py")
        reader.run("get_terms_of_service.py")
        reader.account()
        reader.run("get_account_url.py")
        reader.run("get_account_info.py")
        reader.run("account_update.py")
        reader.run("make_certificate_key.py")
        reader.run("make_csr.py", "nonce.example.test")
        reader.run("request_certificate.py")
        reader.run("get_challenges.py")
        reader.run("http01_challenge.py", *port)
        reader.run("finalize_order.py")
        reader.run("get_certificate.py")
        reader.run("revoke_certificate.py", "--yes")
        reader.run("make_csr.py", "*.nonce.example.test")
        reader.run("request_certificate.py")
        reader.run("dns01_challenge.py")
        reader.run("finalize_order.py")
        reader.run("get_certificate.py")
        reader.run("revoke_certificate.py", "--yes", "--use-certificate-key")
        reader.run("issue_certificate.py", "--agree-tos", *port, "a.nonce.example.test", "b.nonce.example.test")
        reader.run("make_account_key.py", "--type", "ec", "new.key")
        reader.run("account_key_change.py", "new.key")
        reader.run("account_deactivate.py", "--yes")
        assert "This account is deactivated" in reader.run("get_account_info.py", ok=False).stderr
    finally:
        noisy.stop()


def test_untrusted_tls_and_server_down(pebble, tmp_path):
    reader = Reader(tmp_path, pebble, CABundle="")
    result = reader.run("get_directory.py", ok=False)
    assert "TLS verification failed" in result.stderr and "CABundle" in result.stderr
    Reader(tmp_path, pebble, ACMEDirectory="https://localhost:{0}/dir".format(free_port()))
    result = reader.run("get_directory.py", ok=False)
    assert "Cannot connect to" in result.stderr


def test_pebble_tool_reports_a_taken_port(pebble, tmp_path):
    with pytest.raises(PebbleError, match="already in use"):
        Pebble(str(tmp_path), port=pebble.port).start()


def test_pebble_tool_reports_a_missing_pebble(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PebbleError, match="apt-get install pebble"):
        Pebble.on_free_ports(str(tmp_path)).start()


def test_pebble_stopped_midway_then_restarted(tmp_path_factory, tmp_path):
    server = start_pebble(tmp_path_factory, "pebble-restart")
    try:
        reader = Reader(tmp_path, server)
        reader.account()
        server.stop()
        result = reader.run("get_account_info.py", ok=False)
        assert "Cannot connect to" in result.stderr and "the server is running" in result.stderr
        assert os.path.exists(reader.path("account.key"))       # earlier steps' files are intact
        server.start()                                           # a new Pebble forgets every account
        reader.run("new_account.py", "--agree-tos")
        assert "Status:    valid" in reader.run("get_account_info.py").stdout
    finally:
        server.stop()


def in_terminal(reader, script, *args, answers=()):
    """ Run a script on a pseudo-terminal, answering its prompts in order; returns (status, screen) """
    import pty
    import select
    import subprocess
    import sys
    from fake_ca import ROOT
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, script)] + list(args), cwd=reader.folder,
                               stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    screen, pending = b"", list(answers)
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
        if pending and screen.rstrip().endswith(b"(y/n):"):
            os.write(master, pending.pop(0).encode() + b"\n")
    os.close(master)
    return process.wait(timeout=60), screen.decode(errors="replace")


def test_prompts_in_a_terminal(pebble, tmp_path):
    reader = Reader(tmp_path, pebble)
    status, screen = in_terminal(reader, "new_account.py", answers=["n"])
    assert status == 1 and "Create new account private key (y/n):" in screen and "Cancelled" in screen
    assert not os.path.exists(reader.path("account.key"))
    status, screen = in_terminal(reader, "new_account.py", "--type", "ec", answers=["y", "y"])
    assert status == 0, screen
    assert "Do you agree to these terms of service (y/n):" in screen and "Account created." in screen
    assert os.stat(reader.path("account.key")).st_mode & 0o777 == 0o600
    status, screen = in_terminal(reader, "account_deactivate.py", answers=["n"])
    assert status == 1 and "the account was not changed" in screen
    assert "Status:    valid" in reader.run("get_account_info.py").stdout


def test_alternate_chains(tmp_path_factory, tmp_path):
    server = start_pebble(tmp_path_factory, "pebble-alt", env={"PEBBLE_ALTERNATE_ROOTS": "1"})
    try:
        reader = Reader(tmp_path, server)
        reader.run("make_account_key.py", "--type", "ec")
        reader.run("issue_certificate.py", "--agree-tos", "--yes", "--port", str(server.http_port),
                   "--bind", "127.0.0.1", "alt.example.test")
        out = reader.run("get_certificate.py").stdout
        assert "Alternate chain 1: " in out
        default_chain = open(reader.path("example.test.chain.pem")).read()
        reader.run("get_certificate.py", "--alternate", "1")
        alternate_chain = open(reader.path("example.test.chain.pem")).read()
        assert alternate_chain != default_chain
        assert reader.certificate()[0].serial_number == x509.load_pem_x509_certificate(
            default_chain.encode()).serial_number                  # the same certificate, another chain
        result = reader.run("get_certificate.py", "--alternate", "5", ok=False)
        assert "There is no alternate chain 5" in result.stderr
    finally:
        server.stop()


def test_output_piped_into_head_is_no_traceback(pebble, tmp_path):
    import subprocess
    import sys
    from fake_ca import ROOT
    Reader(tmp_path, pebble)
    result = subprocess.run("{0} {1} | head -1".format(sys.executable, os.path.join(ROOT, "get_directory.py")),
                            shell=True, cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("Calling endpoint: ") and "Traceback" not in result.stderr


def test_dns01_through_alibaba_cloud_dns_then_install_into_cdn_and_api_gateway(pebble, tmp_path):
    """ The series' promise, against a fake Alibaba Cloud API that passes TXT records to Pebble's DNS """
    import sys

    from fake_ca import ROOT
    from fake_alibaba import FakeAlibaba
    with FakeAlibaba(str(tmp_path / "cloud"), zones=("ali.example.test",), cdn_domains=("cdn.ali.example.test",),
                     api_domains=(("g1", "api.ali.example.test"),), challtest_url=pebble.challtest_url) as cloud:
        hook = "{0} {1}".format(sys.executable, os.path.join(ROOT, "alidns_hook.py"))
        reader = Reader(tmp_path, pebble, DNSHook=hook, DNSResolver="127.0.0.1:{0}".format(pebble.dns_port),
                        DNSWait="0", **cloud.ini_values())
        env = cloud.environment()
        reader.account()
        reader.run("make_certificate_key.py")
        out = reader.run("issue_certificate.py", "--challenge", "dns-01", "*.ali.example.test", "ali.example.test",
                         env=env).stdout
        assert "Certificate signed!" in out
        assert san(reader.certificate()[0]) == ["*.ali.example.test", "ali.example.test"]
        actions = [action for action, _p in cloud.calls]
        assert actions.count("AddDomainRecord") == 2 and actions.count("DeleteDomainRecord") == 2
        assert cloud.records == {}                              # both records removed afterwards
        out = reader.run("install_cdn.py", "--domain", "cdn.ali.example.test", env=env).stdout
        assert "Changed: no certificate -> serial" in out
        out = reader.run("install_api_gateway.py", "--group", "g1", "--domain", "api.ali.example.test", env=env).stdout
        assert "Changed: no certificate -> serial" in out
        assert "already this one" in reader.run("install_cdn.py", "--domain", "cdn.ali.example.test", env=env).stdout

