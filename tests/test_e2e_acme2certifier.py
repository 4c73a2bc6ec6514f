""" End to end against acme2certifier, a second real ACME server (PyPI acme2certifier), for what
Pebble 2.4 lacks: renewal information (RFC 9773) and certificate profiles. It runs from its own
virtual environment (.venv-a2c, made by tools/setup.sh); a missing one fails these tests. Challenge
validation is off there: http-01 and dns-01 are proven against Pebble. acme2certifier accepts but
ignores "replaces", so alreadyReplaced is covered by the mocks (test_lets_encrypt_answers.py).
"""

import json
import os
import time

import pytest

from acme2certifier import VENV_PYTHON, Acme2Certifier
from real_cas import Reader

pytestmark = [pytest.mark.e2e, pytest.mark.acme2certifier]


@pytest.fixture(scope="module")
def a2c(tmp_path_factory):
    assert os.path.exists(VENV_PYTHON), "acme2certifier is missing: tools/setup.sh requirements-dev.txt makes it"
    server = Acme2Certifier(str(tmp_path_factory.mktemp("a2c"))).start()
    yield server
    server.stop()


class A2cReader(Reader):
    def __init__(self, folder, server, **ini):
        self.folder, self.pebble = str(folder), server
        files = {"AccountKeyFile": "account.key", "CertificateKeyFile": "example.test.key",     # Reader's names
                 "CSRFile": "example.test.csr", "ChainFile": "example.test.chain.pem"}
        server.write_acme_ini(os.path.join(self.folder, "acme.ini"), **dict(files, **ini))


def issued(reader, *args):
    reader.run("make_account_key.py", "--type", "ec")
    reader.run("new_account.py", "--agree-tos")
    return reader.run("issue_certificate.py", "--yes", *args, "ari.example.test").stdout


def test_profiles_are_listed_chosen_and_checked(a2c, tmp_path):
    reader = A2cReader(tmp_path, a2c)
    out = reader.run("get_directory.py").stdout
    assert "    profiles:\n        classic: " in out and "        shortlived: " in out
    reader.run("make_account_key.py", "--type", "ec")
    reader.run("make_certificate_key.py", "--type", "ec")
    reader.run("new_account.py", "--agree-tos")
    reader.run("make_csr.py", "p.example.test")
    result = reader.run("request_certificate.py", "--profile", "medium", ok=False)
    assert "The CA offers no profile 'medium'; it offers: classic, tlsserver, shortlived." in result.stderr
    assert "order" not in "".join(line for line in result.stdout.splitlines() if "Calling endpoint" in line).lower()
    out = reader.run("request_certificate.py", "--profile", "tlsserver", "--debug").stdout
    assert '"profile": "tlsserver"' in out and "Order Location: " in out


def test_renewal_information_and_a_renewal_that_is_not_due(a2c, tmp_path):
    reader = A2cReader(tmp_path, a2c)
    issued(reader)
    out = reader.run("get_renewal_info.py").stdout
    assert "Cert ID:     " in out and "Window:      " in out and "Not yet: the window opens in" in out
    assert "Ask again after 21600 seconds" in out
    out = reader.run("renew_certificate.py").stdout
    assert "The CA suggests renewing between" in out and "Not yet: renewal is planned for" in out
    state = json.load(open(reader.path("example.test.chain.pem.renewal.json")))
    assert state["window"][0] <= state["chosen"] <= state["window"][1]
    out = reader.run("renew_certificate.py").stdout            # the next run: no question to the CA
    assert "Calling endpoint" not in out and "Not yet" in out
    assert json.load(open(reader.path("example.test.chain.pem.renewal.json")))["chosen"] == state["chosen"]


def test_a_due_renewal_is_made_with_replaces_and_deployed(tmp_path_factory, tmp_path):
    due = Acme2Certifier(str(tmp_path_factory.mktemp("a2c-due")), renewal_percent=0, window_seconds=1).start()
    try:
        reader = A2cReader(tmp_path, due)
        issued(reader)
        before = reader.certificate()[0].serial_number
        cert_id = [line.split()[-1] for line in reader.run("get_renewal_info.py").stdout.splitlines()
                   if line.startswith("Cert ID:")][0]
        time.sleep(1.5)                                        # the one-second window has passed
        result = reader.run("renew_certificate.py", "--debug", "--deploy-hook", "echo deployed $RENEWED_DOMAINS")
        assert "It is time: renewing now." in result.stdout and "deployed ari.example.test" in result.stdout
        assert '"replaces": "{0}"'.format(cert_id) in result.stdout
        assert reader.certificate()[0].serial_number != before
        assert os.path.exists(reader.path("example.test.chain.pem.bak"))
        out = reader.run("renew_certificate.py", "--new-key", "--force").stdout
        assert "The new key is in" in out and os.path.exists(reader.path("example.test.key.bak"))
    finally:
        due.stop()
