""" dns-persist-01 end to end against acme2certifier (dns_persist_01_support on; in a second run
dns_persist_jit_validation on too), its DNS served by the tests' own DNS server (tools/local_dns.py):
the scripts run as a reader runs them, with Challenge = dns-persist-01, no DNSHook and no DNS
credentials. acme2certifier reads only a record's first string, so the records here fit in one.
"""

import os
import time

import pytest
from cryptography import x509

from acme2certifier import ISSUER_DOMAIN
from real_cas import Reader
from local_dns import LocalDNS

pytestmark = [pytest.mark.e2e, pytest.mark.acme2certifier]


class PersistReader(Reader):
    """ A reader's folder for acme2certifier: Challenge = dns-persist-01, no DNSHook, DNSResolver its DNS """

    def __init__(self, folder, server, **ini):
        self.folder, self.pebble, self.server = str(folder), server, server
        values = {"AccountKeyFile": "account.key", "CertificateKeyFile": "example.test.key",
                  "CSRFile": "example.test.csr", "ChainFile": "example.test.chain.pem",
                  "Challenge": "dns-persist-01", "DNSHook": ""}
        server.write_acme_ini(os.path.join(self.folder, "acme.ini"), **dict(values, **ini))
        self.run("make_account_key.py", "--type", "ec")
        out = self.run("new_account.py", "--agree-tos").stdout
        self.account_url = [line.split()[-1] for line in out.splitlines() if line.startswith("Account URL:")][0]

    def record(self, name, *values):
        """ Exactly these records at _validation-persist.<name> in the CA's DNS """
        self.server.dns.set_txt("_validation-persist." + name.replace("*.", "", 1), *values)

    def ours(self, extra=""):
        return "{0}; accounturi={1}{2}".format(ISSUER_DOMAIN, self.account_url, extra)


def challenge_answers(server):
    with open(server.log_file, encoding="utf8", errors="replace") as f:
        return f.read().count("POST /acme/chall/")


def test_a_plain_name_is_issued_and_renewed_without_any_dns_change(a2c_persist, tmp_path):
    reader = PersistReader(tmp_path, a2c_persist)
    reader.record("plain.example.test", reader.ours())
    out = reader.run("dns_persist_record.py", "--check", "plain.example.test").stdout
    assert "plain.example.test: yes, the record authorizes this account for plain.example.test only" in out
    asked, answered = a2c_persist.dns.asked("_validation-persist.plain.example.test"), challenge_answers(a2c_persist)
    out = reader.run("issue_certificate.py", "--yes", "plain.example.test").stdout
    assert challenge_answers(a2c_persist) == answered + 1               # the one {} to the challenge
    assert '_validation-persist.plain.example.test: "{0}" authorizes this account'.format(reader.ours()) in out
    assert "plain.example.test verified!" in out and "Certificate signed!" in out
    assert a2c_persist.dns.asked("_validation-persist.plain.example.test") == asked + 2     # ours, then the CA's
    first = reader.certificate()[0].serial_number
    result = reader.run("renew_certificate.py", "--force")
    assert "plain.example.test verified!" in result.stdout and "Renewed: example.test.chain.pem" in result.stdout
    assert reader.certificate()[0].serial_number != first
    assert "DNSHook" not in result.stdout + result.stderr


def test_a_wildcard_with_policy_wildcard(a2c_persist, tmp_path):
    reader = PersistReader(tmp_path, a2c_persist)
    reader.record("wild.example.test", reader.ours())                          # without policy=wildcard first
    result = reader.run("issue_certificate.py", "--yes", "wild.example.test", "*.wild.example.test", ok=False)
    assert "*.wild.example.test needs policy=wildcard in its dns-persist-01 record" in result.stderr
    assert "Nothing was ordered" in result.stderr and "Calling endpoint: " + a2c_persist.directory_url.replace(
        "/directory", "/acme/neworders") not in result.stdout
    reader.record("wild.example.test", reader.ours("; policy=wildcard"))
    out = reader.run("issue_certificate.py", "--yes", "wild.example.test", "*.wild.example.test").stdout
    assert "*.wild.example.test verified!" in out and "wild.example.test verified!" in out
    names = {str(n.value) for n in reader.certificate()[0].extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value}
    assert names == {"wild.example.test", "*.wild.example.test"}


@pytest.mark.parametrize("name, records, said", [
    ("other-account.example.test", ["{issuer}; accounturi=https://localhost:1/acme/acct/someoneelse"],
     "names another account: https://localhost:1/acme/acct/someoneelse"),
    ("expired.example.test", ["{ours}; persistUntil=1700000000"], "persistUntil passed on 2023-11-14 22:13:20 UTC"),
    ("other-ca.example.test", ["letsencrypt.org; accounturi={account}"], "for another CA (letsencrypt.org): ignored"),
])
def test_a_record_that_does_not_authorize_is_refused_before_answering(a2c_persist, tmp_path, name, records, said):
    reader = PersistReader(tmp_path, a2c_persist)
    reader.record(name, *[r.format(issuer=ISSUER_DOMAIN, ours=reader.ours(), account=reader.account_url)
                          for r in records])
    answered = challenge_answers(a2c_persist)
    result = reader.run("issue_certificate.py", "--yes", name, ok=False)
    assert said in result.stdout and "Nothing was answered, so no validation failed" in result.stderr
    assert '_validation-persist.{0}. IN TXT "{1}"'.format(name, reader.ours()) in result.stderr
    assert challenge_answers(a2c_persist) == answered
    status = reader.run("get_challenges.py").stdout                    # the authorization is still usable
    assert "Status:        pending" in status and "Challenge: dns-persist-01 (pending)" in status


def test_another_cas_record_beside_ours_is_ignored(a2c_persist, tmp_path):
    reader = PersistReader(tmp_path, a2c_persist)
    reader.record("two-cas.example.test", "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acct/1",
                  reader.ours())
    out = reader.run("issue_certificate.py", "--yes", "two-cas.example.test").stdout
    assert "for another CA (letsencrypt.org): ignored" in out and "two-cas.example.test verified!" in out


@pytest.mark.parametrize("name, cas_record, detail", [
    ("split-account.example.test", "{issuer}; accounturi=https://localhost:1/acme/acct/someoneelse",
     "dns-persist-01 DNS TXT record did not authorize this request"),
    ("split-expired.example.test", "{ours}; persistUntil=1700000000",
     "dns-persist-01 DNS TXT record did not authorize this request"),
])
def test_the_cas_own_refusal_is_shown(a2c_persist, tmp_path, name, cas_record, detail):
    """ The client's resolver sees a good record, the CA's DNS another (a split view): the CA refuses """
    with LocalDNS() as own:
        reader = PersistReader(tmp_path, a2c_persist, DNSResolver=own.address)
        own.set_txt("_validation-persist." + name, reader.ours())
        reader.record(name, cas_record.format(issuer=ISSUER_DOMAIN, ours=reader.ours()))
        result = reader.run("issue_certificate.py", "--yes", name, ok=False)
    assert "The authorization for {0} is invalid: the CA could not validate the challenge.".format(name) in \
        result.stderr
    assert "urn:ietf:params:acme:error:unauthorized" in result.stderr and detail in result.stderr


def test_the_step_scripts_and_the_challenge_as_acme2certifier_sends_it(a2c_persist, tmp_path):
    reader = PersistReader(tmp_path, a2c_persist)
    reader.run("make_certificate_key.py", "--type", "ec")
    reader.run("make_csr.py", "steps.example.test")
    reader.run("request_certificate.py")
    out = reader.run("get_challenges.py").stdout
    assert "    Issuer names:      {0}\n    Account URI:       {1}\n".format(ISSUER_DOMAIN, reader.account_url) in out
    out = reader.run("dns_persist_record.py", "--order").stdout
    assert "Issuer domain name: {0} (from the CA's dns-persist-01 challenges)".format(ISSUER_DOMAIN) in out
    reader.record("steps.example.test", reader.ours())
    out = reader.run("dns_persist01_challenge.py").stdout
    assert "Authorization for steps.example.test: valid" in out
    reader.run("finalize_order.py")
    reader.run("get_certificate.py")


def test_jit_an_authorization_found_valid_needs_no_answer(a2c_jit, tmp_path):
    reader = PersistReader(tmp_path, a2c_jit)
    reader.record("jit.example.test", reader.ours())
    answered = challenge_answers(a2c_jit)
    out = reader.run("issue_certificate.py", "--yes", "jit.example.test").stdout
    assert "Authorization for jit.example.test: already valid, nothing to do" in out and "Certificate signed!" in out
    assert challenge_answers(a2c_jit) == answered and "Verifying" not in out


def test_jit_without_a_record_then_with_one(a2c_jit, tmp_path):
    reader = PersistReader(tmp_path, a2c_jit)
    reader.record("later.example.test")
    result = reader.run("issue_certificate.py", "--yes", "later.example.test", ok=False)
    assert "There is no TXT record at _validation-persist.later.example.test" in result.stderr
    reader.record("later.example.test", reader.ours("; persistUntil={0}".format(int(time.time()) + 10 * 86400)))
    result = reader.run("issue_certificate.py", "--yes", "later.example.test")
    assert "Certificate signed!" in result.stdout
    assert "Warning: the dns-persist-01 record for later.example.test stops authorizing on" not in result.stderr
    result = reader.run("dns_persist_record.py", "--check", "later.example.test")
    assert "Warning: the dns-persist-01 record for later.example.test stops authorizing on" in result.stderr
