""" End to end: tls-alpn-01 (RFC 8737) proven to real CAs, the scripts run as a reader runs them

Pebble 2.4 validates tls-alpn-01 on the tlsPort of its configuration (pebble.tls_port, a free port
here) with three connections per challenge; acme2certifier with validation on connects once, to
ca.tls_alpn_port (tools/acme2certifier.py moves it there from 443). Every name resolves to
127.0.0.1 at both, so the built-in server of tlsalpn01_challenge.py / issue_certificate.py, bound
to 127.0.0.1 on TLSPort, answers them.
"""

import os

import pytest
from cryptography import x509

from acme2certifier import VENV_PYTHON, Acme2Certifier
from real_cas import Reader

pytestmark = pytest.mark.e2e
SERVED = "ALPN acme-tls/1: sent the validation certificate"


def sans(cert):
    return sorted(str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)


def tls_reader(folder, pebble, **ini):
    """ A reader whose acme.ini proves names with tls-alpn-01 where this Pebble checks it """
    return Reader(folder, pebble, TLSPort=str(pebble.tls_port), TLSBind="127.0.0.1", **ini)


def test_tls_alpn_01_step_by_step_at_pebble(pebble, tmp_path):
    reader = tls_reader(tmp_path, pebble)
    reader.account()
    reader.run("make_certificate_key.py", "--type", "ec")
    reader.run("make_csr.py", "alpn.example.test")
    reader.run("request_certificate.py")
    out = reader.run("get_challenges.py").stdout
    assert "  Challenge: tls-alpn-01 (pending)" in out
    assert "    Serve it at:       alpn.example.test:443, ALPN acme-tls/1, SNI alpn.example.test" in out
    out = reader.run("tlsalpn01_challenge.py").stdout                  # TLSPort and TLSBind from acme.ini
    assert "Serving tls-alpn-01 on port {0} (ALPN acme-tls/1;".format(pebble.tls_port) in out
    assert "  SAN:              DNS:alpn.example.test (critical)" in out
    assert "Checked: 127.0.0.1:{0}, SNI alpn.example.test, ALPN acme-tls/1".format(pebble.tls_port) in out
    # our own check once, then Pebble's three connections (its concurrentValidations)
    assert out.count("SNI alpn.example.test, " + SERVED) == 4
    assert "Authorization for alpn.example.test: valid" in out and "Stopped the tls-alpn-01 server." in out
    reader.run("finalize_order.py")
    reader.run("get_certificate.py")
    assert sans(reader.certificate()[0]) == ["alpn.example.test"]


def test_issue_certificate_with_tls_alpn_01_in_acme_ini_for_a_name_and_an_ip_address(pebble, tmp_path):
    reader = tls_reader(tmp_path, pebble, Challenge="tls-alpn-01")
    reader.run("make_account_key.py", "--type", "ec")
    out = reader.run("issue_certificate.py", "--agree-tos", "--yes", "both.example.test", "127.0.0.1").stdout
    assert "Verifying both.example.test (tls-alpn-01)..." in out and "Verifying 127.0.0.1 (tls-alpn-01)..." in out
    assert "SNI 1.0.0.127.in-addr.arpa, " + SERVED in out                # RFC 8738 §6: the reverse-DNS name
    assert "both.example.test verified!" in out and "127.0.0.1 verified!" in out
    first = reader.certificate()[0]
    assert sans(first) == ["127.0.0.1", "both.example.test"]
    assert first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.IPAddress)[0].compressed == "127.0.0.1"

    # a renewal runs issue_certificate.py so: acme.ini's Challenge, the same CSR, no challenge options
    out = reader.run("issue_certificate.py", "--config", "acme.ini", "--yes", "--csr", "example.test.csr").stdout
    assert ("both.example.test verified!" in out or "Authorization for both.example.test: already valid" in out) \
        and "Certificate signed!" in out            # Pebble reuses a valid one 1 time in 100, even at AUTHZREUSE=0
    assert reader.certificate()[0].serial_number != first.serial_number


def test_a_port_the_ca_does_not_check_fails_with_the_cas_problem(pebble, tmp_path):
    from pebble import free_port
    reader = tls_reader(tmp_path, pebble)
    reader.account()
    reader.run("make_certificate_key.py", "--type", "ec")
    reader.run("make_csr.py", "elsewhere.example.test")
    reader.run("request_certificate.py")
    result = reader.run("tlsalpn01_challenge.py", "--port", str(free_port()), ok=False)
    assert "Checked: " in result.stdout                                 # it answers, but not where Pebble looks
    assert "The authorization for elsewhere.example.test is invalid" in result.stderr
    assert "urn:ietf:params:acme:error:unauthorized" in result.stderr
    assert "Failed to connect to 127.0.0.1:{0} for the tls-alpn-01 challenge".format(pebble.tls_port) in result.stderr
    assert "Stopped the tls-alpn-01 server." in result.stdout


# -- acme2certifier, validating --------------------------------------------------

@pytest.fixture(scope="module")
def a2c(tmp_path_factory):
    assert os.path.exists(VENV_PYTHON), "acme2certifier is missing: tools/setup.sh requirements-dev.txt makes it"
    server = Acme2Certifier(str(tmp_path_factory.mktemp("a2c-alpn")), validation=True).start()
    yield server
    server.stop()


class A2cReader(Reader):
    """ A reader's folder whose acme.ini points at acme2certifier, with Reader's file names """

    def __init__(self, folder, server, **ini):
        self.folder, self.pebble = str(folder), server
        files = {"AccountKeyFile": "account.key", "CertificateKeyFile": "example.test.key",
                 "CSRFile": "example.test.csr", "ChainFile": "example.test.chain.pem"}
        server.write_acme_ini(os.path.join(self.folder, "acme.ini"), **dict(files, **ini))


@pytest.mark.acme2certifier
def test_issue_certificate_with_tls_alpn_01_at_acme2certifier(a2c, tmp_path):
    reader = A2cReader(tmp_path, a2c, Challenge="tls-alpn-01", TLSPort=str(a2c.tls_alpn_port), TLSBind="127.0.0.1")
    reader.run("make_account_key.py", "--type", "ec")
    out = reader.run("issue_certificate.py", "--agree-tos", "--yes", "alpn.example.test", "127.0.0.1").stdout
    assert out.count("SNI alpn.example.test, " + SERVED) == 1           # acme2certifier connects once
    assert out.count("SNI 1.0.0.127.in-addr.arpa, " + SERVED) == 1
    assert "alpn.example.test verified!" in out and "127.0.0.1 verified!" in out and "Certificate signed!" in out
    assert sans(reader.certificate()[0]) == ["127.0.0.1", "alpn.example.test"]
    out = reader.run("issue_certificate.py", "--config", "acme.ini", "--yes", "--csr", "example.test.csr").stdout
    assert "alpn.example.test verified!" in out
