""" dns-persist-01 without a CA: the record's syntax and judgement (lib/dnspersist), the DNS look-ups
(lib/dnslookup, against tools/local_dns.py and hand-made DNS servers on 127.0.0.1), and the scripts
against a scripted CA that answers as Let's Encrypt's Boulder does (issuer-domain-names
["letsencrypt.org"], no accounturi, the challenge answer still "pending") and as acme2certifier does
(accounturi given, an authorization already valid); --publish against the fake Alibaba Cloud API.
"""

import doctest
import json
import socket
import threading
import time

import dns.message
import dns.rcode
import dns.rrset
import pytest

import alidns_hook
import dns_persist01_challenge
import dns_persist_record
import get_challenges
import issue_certificate
from fake_ca import ACCOUNT_URL, BASE, LE_DIRECTORY, make_chain, problem, write_ini
from fake_alibaba import PAGE_SIZE_LIMIT, FakeAlibaba
from lib import dnslookup, dnspersist
from lib.frame import AcmeError
from local_dns import LocalDNS

ORDER_URL = BASE + "/acme/order/1"
RECORD = "_validation-persist.example.com"
OURS = "letsencrypt.org; accounturi=" + ACCOUNT_URL
NOW = 1800000000                                   # 2027-01-15 08:00:00 UTC


# -- the record: syntax and judgement -------------------------------------------------------------

def test_the_docstring_examples():
    for module in (dnslookup, dnspersist):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module


def test_the_record_value_and_its_zone_file_line():
    value = dnspersist.make_value("letsencrypt.org", ACCOUNT_URL, wildcard=True, persist_until=1830211200)
    assert value == OURS + "; policy=wildcard; persistUntil=1830211200"
    assert dnspersist.record_name("*.example.com") == RECORD == dnspersist.record_name("example.com")
    assert dnspersist.zone_line(RECORD, value) == '{0}. IN TXT "{1}"'.format(RECORD, value)
    long = dnspersist.make_value("ca.example", "https://ca.example/acct/" + "7" * 300)
    line = dnspersist.zone_line(RECORD, long)
    strings = line.split(" IN TXT ")[1][1:-1].split('" "')
    assert [len(s) for s in strings] == [255, len(long) - 255] and "".join(strings) == long
    assert dnspersist.zone_line("x", 'a"b\\c') == 'x. IN TXT "a\\"b\\\\c"'


@pytest.mark.parametrize("value, issuer, tags", [
    (OURS, "letsencrypt.org", {"accounturi": ACCOUNT_URL}),
    ("  LetsEncrypt.ORG ;AccountURI = {0} ;  Policy=Wildcard; future=1 ;".format(ACCOUNT_URL), "letsencrypt.org",
     {"accounturi": ACCOUNT_URL, "policy": "Wildcard", "future": "1"}),
    ("ca.example;", "ca.example", {}),
    ("LetsEncrypt.org.; accounturi=x", "letsencrypt.org", {"accounturi": "x"}),   # the draft's §9.2: dot dropped
])
def test_an_issue_value_is_read_as_rfc_8659_writes_it(value, issuer, tags):
    assert dnspersist.parse(value) == (issuer, tags)


@pytest.mark.parametrize("value, why", [
    ("; accounturi=" + ACCOUNT_URL, "names no issuer domain name"),
    ("letsencrypt.org; accounturi", "is not a tag=value parameter"),
    ("letsencrypt.org; =x", "is not a tag=value parameter"),
    ("letsencrypt.org; accounturi=a b", "is not a tag=value parameter"),
    ("letsencrypt.org; accounturi=x; AccountURI=y", "has accounturi twice"),
    ("lets encrypt; accounturi=x", "is not an issuer domain name"),
    ("letsencrypt.org..; accounturi=x", "is not an issuer domain name"),
    (".; accounturi=x", "is not an issuer domain name"),
])
def test_a_malformed_issue_value_says_why(value, why):
    with pytest.raises(ValueError, match=why):
        dnspersist.parse(value)


@pytest.mark.parametrize("value, name, verdict, text", [
    (OURS, "example.com", "authorizes", "for example.com only, with no end date"),
    (OURS + "; policy=WILDCARD", "*.example.com", "authorizes", "for example.com and *.example.com"),
    (OURS + "; persistUntil=1830211200", "example.com", "authorizes", "until 2027-12-31 00:00:00 UTC"),
    ("letsencrypt.org; accounturi=https://acme.test/acme/acct/999", "example.com", "other-account",
     "names another account: https://acme.test/acme/acct/999"),
    (OURS.replace("acct", "ACCT"), "example.com", "other-account", "names another account"),
    (OURS + "; persistUntil=1700000000", "example.com", "expired",
     "persistUntil passed on 2023-11-14 22:13:20 UTC"),
    (OURS, "*.example.com", "no-wildcard", "lacks policy=wildcard, which *.example.com needs"),
    ("sectigo.com; accounturi=" + ACCOUNT_URL, "example.com", "other-ca", "for another CA (sectigo.com): ignored"),
    ("letsencrypt.org; policy=wildcard", "example.com", "malformed", "it has no accounturi"),
    (OURS + "; persistUntil=tomorrow", "example.com", "malformed", "is not UNIX seconds"),
    ("v=spf1 -all", "example.com", "malformed", "malformed: "),
])
def test_each_record_is_judged_for_this_account_and_ca(value, name, verdict, text):
    got = dnspersist.judge(value, name, ["letsencrypt.org"], ACCOUNT_URL, now=NOW)
    assert got[0] == verdict and text in got[1]


def test_an_issuer_name_with_a_trailing_dot_is_ours_with_a_word_about_the_dot():
    """ Boulder drops the dot (core.NormalizeIssuerDomainName, the draft's §9.2), so the record works at
    Let's Encrypt; acme2certifier 0.46.3 compares the name as it stands, so the dot is worth removing """
    verdict, text, _until = dnspersist.judge("letsencrypt.org.; accounturi=" + ACCOUNT_URL, "example.com",
                                             ["letsencrypt.org"], ACCOUNT_URL, now=NOW)
    assert verdict == "authorizes" and "for another CA" not in text
    assert text.endswith("(its issuer name ends in a dot: Let's Encrypt drops it, as the draft recommends, but a CA "
                         "that compares names exactly ignores the record: write letsencrypt.org)")
    assert "ends in a dot" not in dnspersist.judge(OURS, "example.com", ["letsencrypt.org"], ACCOUNT_URL, NOW)[1]
    assert dnspersist.judge("sectigo.com.; accounturi=" + ACCOUNT_URL, "example.com", ["letsencrypt.org"],
                            ACCOUNT_URL, NOW)[1] == "for another CA (sectigo.com): ignored"


def test_any_account_and_any_issuer_when_not_known():
    assert dnspersist.judge("ca.example; accounturi=https://x/1", "example.com", None, None, NOW)[0] == "authorizes"


def challenge(**fields):
    return dict({"type": "dns-persist-01", "url": BASE + "/acme/chall/1", "status": "pending",
                 "issuer-domain-names": ["letsencrypt.org"]}, **fields)


def test_the_challenge_fields_as_boulder_and_acme2certifier_send_them():
    assert dnspersist.challenge_fields(challenge(), "example.com", ACCOUNT_URL) == (
        BASE + "/acme/chall/1", ["letsencrypt.org"], ACCOUNT_URL)          # Boulder: no accounturi, the kid
    given = challenge(accounturi="https://acme.test/acme/acct/77", **{
        "issuer-domain-names": ["xn--bcher-kva.example"] + ["ca{0}.example".format(n) for n in range(9)]})
    assert dnspersist.challenge_fields(given, "example.com", ACCOUNT_URL)[2] == "https://acme.test/acme/acct/77"


@pytest.mark.parametrize("fields, why", [
    ({"issuer-domain-names": None}, "issuer-domain-names"),
    ({"issuer-domain-names": []}, "an empty list as issuer-domain-names"),
    ({"issuer-domain-names": ["ca{0}.example".format(n) for n in range(11)]}, "11 names as issuer-domain-names"),
    ({"issuer-domain-names": "letsencrypt.org"}, "a string as issuer-domain-names"),
    ({"issuer-domain-names": ["LetsEncrypt.org"]}, "'LetsEncrypt.org' among the issuer-domain-names"),
    ({"issuer-domain-names": ["letsencrypt.org."]}, "lowercase A-labels without a trailing dot"),
    ({"issuer-domain-names": ["bücher.example"]}, "lowercase A-labels"),
    ({"issuer-domain-names": [7]}, "7 among the issuer-domain-names"),
    ({"url": None}, "'url' in the dns-persist-01 challenge for example.com"),
    ({"url": "http://acme.test/chall/1"}, "only https:// URLs"),
    ({"accounturi": "https://acme.test/acct/1 x"}, "accounturi that no DNS record can carry"),
    ({"accounturi": "https://acme.test/acct/1;policy=wildcard"}, "accounturi that no DNS record can carry"),
    ({"accounturi": 5}, "'accounturi'"),
])
def test_bad_challenges_from_the_server_are_clear_errors(fields, why):
    bad = challenge(**fields)
    for key in [k for k, v in fields.items() if v is None]:
        del bad[key]
    with pytest.raises(AcmeError, match="Error: ") as error:
        dnspersist.challenge_fields(bad, "example.com", ACCOUNT_URL)
    assert why in str(error.value)


# -- DNS look-ups: dnspython, DNSResolver --------------------------------------------------------

@pytest.fixture(scope="module")
def local_dns():
    with LocalDNS(default_ipv4=None, management=True) as server:      # names without records: NXDOMAIN
        yield server


def test_dnsresolver_takes_addresses_and_ports():
    assert dnslookup.nameservers("") == []
    assert dnslookup.nameservers("223.5.5.5") == [("223.5.5.5", 53)]
    assert dnslookup.nameservers("127.0.0.1:8053,[::1]:5353  2400:3200::1") == [
        ("127.0.0.1", 8053), ("::1", 5353), ("2400:3200::1", 53)]
    assert dnslookup.describe("127.0.0.1:8053 [::1]:53") == "127.0.0.1:8053, [::1]:53"
    for bad in ("dns.example.com", "127.0.0.1:0", "127.0.0.1:99999", "[::1]:x", "1.2.3.4.5"):
        with pytest.raises(AcmeError, match="DNSResolver in acme.ini must be IP addresses"):
            dnslookup.nameservers(bad)


def test_one_record_of_several_strings_is_one_value(local_dns):
    local_dns.set_txt(RECORD, ["letsencrypt.org; accounturi=", ACCOUNT_URL], "x" * 700, "short")
    found = dnslookup.txt_records(RECORD, local_dns.address, 5)
    assert sorted(found) == sorted([OURS, "x" * 700, "short"])            # joined, not split into values
    local_dns.clear_txt(RECORD)


def test_a_truncated_answer_is_asked_again_over_tcp(local_dns):
    local_dns.set_txt(RECORD, "y" * 1500)                                # over 512 bytes: TC over UDP
    before = local_dns.asked(RECORD)
    assert dnslookup.txt_records(RECORD, local_dns.address, 5) == ["y" * 1500]
    assert local_dns.asked(RECORD) == before + 2                          # UDP, then TCP
    local_dns.clear_txt(RECORD)


def test_no_name_and_no_record_are_empty_not_errors(local_dns):
    local_dns.set_a("host.example.com", "127.0.0.1")
    assert dnslookup.txt_records("_validation-persist.nowhere.example.com", local_dns.address, 5) == []
    assert dnslookup.txt_records("host.example.com", local_dns.address, 5) == []


class HandMadeDNS:
    """ A DNS server on 127.0.0.1 that answers what the test says, over UDP """

    def __init__(self, answer):
        self.answer = answer
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.address = "127.0.0.1:{0}".format(self.socket.getsockname()[1])
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                data, peer = self.socket.recvfrom(4096)
            except OSError:
                return
            for reply in self.answer(dns.message.from_wire(data)):
                self.socket.sendto(reply.to_wire(), peer)

    def close(self):
        self.socket.close()


def test_a_reply_to_another_question_is_not_taken():
    def spoof_first(query):
        spoofed = dns.message.make_query("evil.example.", "TXT")
        spoofed.id, spoofed.flags = query.id, spoofed.flags | 0x8000          # the right ID, another question
        spoofed.answer.append(dns.rrset.from_text("evil.example.", 0, "IN", "TXT", '"spoofed"'))
        real = dns.message.make_response(query)
        real.answer.append(dns.rrset.from_text(query.question[0].name, 0, "IN", "TXT", '"real"'))
        return [spoofed, real]
    server = HandMadeDNS(spoof_first)
    try:
        assert dnslookup.txt_records(RECORD, server.address, 5) == ["real"]
    finally:
        server.close()


def test_servfail_and_silence_are_failed_look_ups_not_missing_records():
    def servfail(query):
        reply = dns.message.make_response(query)
        reply.set_rcode(dns.rcode.SERVFAIL)
        return [reply]
    server = HandMadeDNS(servfail)
    try:
        with pytest.raises(dnslookup.LookupFailed, match="could not answer TXT .*SERVFAIL"):
            dnslookup.txt_records(RECORD, server.address, 5)
    finally:
        server.close()
    silent = HandMadeDNS(lambda query: [])
    try:
        with pytest.raises(dnslookup.LookupFailed, match="No answer from 127.0.0.1:[0-9]+ within 0.3 seconds"):
            dnslookup.txt_records(RECORD, silent.address, 0.3)
    finally:
        silent.close()


def test_the_dns01_wait_finds_a_value_in_a_record_of_several_strings(local_dns, capsys):
    local_dns.set_txt("_acme-challenge.example.com", ["first-", "half"])
    ini = {"DNSResolver": local_dns.address, "DNSWait": 0, "Timeout": 5}
    alidns_hook.wait_until_published(ini, "_acme-challenge.example.com", "first-half")
    assert "answers the record" in capsys.readouterr().out
    local_dns.clear_txt("_acme-challenge.example.com")


# -- renew_certificate.py's check (lib: dnspersist.renewal_warnings) -------------------------------

def test_renewal_warnings_for_persist_until_near_passed_and_missing(local_dns):
    local_dns.set_txt(RECORD, OURS + "; persistUntil={0}".format(NOW + 10 * 86400))
    local_dns.set_txt("_validation-persist.www.example.com", OURS + "; persistUntil={0}".format(NOW - 86400))
    local_dns.set_txt("_validation-persist.api.example.com", OURS, OURS + "; persistUntil={0}".format(NOW + 86400))
    lines = dnspersist.renewal_warnings(["example.com", "www.example.com", "api.example.com", "new.example.com"],
                                        local_dns.address, 5, now=NOW)
    assert len(lines) == 3
    assert lines[0].startswith("Warning: the dns-persist-01 record for example.com stops authorizing on "
                               "2027-01-25 08:00:00 UTC (persistUntil, in 10 days)")
    assert ("Warning: the dns-persist-01 record for www.example.com stopped authorizing on 2027-01-14 08:00:00 UTC "
            "(persistUntil): the renewal will fail until a new one stands. Publish it with python "
            "dns_persist_record.py www.example.com") in lines[1]
    assert lines[2].startswith("Warning: no dns-persist-01 record at _validation-persist.new.example.com")
    assert dnspersist.renewal_warnings(["example.com"], local_dns.address, 5, now=NOW - 40 * 86400) == []
    assert "lacks policy=wildcard" in dnspersist.renewal_warnings(["*.example.com"], local_dns.address, 5, now=NOW)[0]
    for name in (RECORD, "_validation-persist.www.example.com", "_validation-persist.api.example.com"):
        local_dns.clear_txt(name)


# -- the scripts against a CA that answers as Boulder does -------------------------------------------

@pytest.fixture
def persist_ca(fake, workdir, cert_rsa_pem, local_dns):
    """ Let's Encrypt with dns-persist-01: one authorization per name, the challenge answer "pending",
    the authorization valid at the next poll """
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    write_ini(workdir / "acme.ini", Challenge="dns-persist-01", DNSResolver=local_dns.address, DNSHook="")
    fake.existing_account()
    fake.local_dns = local_dns
    fake.names = []

    def new_order(record):
        fake.names = [i["value"] for i in record["payload"]["identifiers"]]
        return dict(status=201, headers={"Location": ORDER_URL}, json={
            "status": "pending", "identifiers": record["payload"]["identifiers"], "finalize": ORDER_URL + "/finalize",
            "authorizations": [BASE + "/acme/authz/{0}".format(n) for n in range(1, len(fake.names) + 1)]})
    fake.on("POST", "/acme/new-order", new_order)
    for number in (1, 2):
        script_authz(fake, number)
    done = {"status": "valid", "identifiers": [], "finalize": ORDER_URL + "/finalize",
            "certificate": BASE + "/acme/cert/1"}
    fake.on("POST", "/acme/order/1/finalize", json=done)
    fake.on("POST", "/acme/cert/1", lambda record: dict(body=make_chain(
        fake.names, key_pem=(workdir / "example.com.key").read_bytes()), headers={
        "Content-Type": "application/pem-certificate-chain"}))
    yield fake
    for name in list(local_dns._txt):
        local_dns.clear_txt(name)


def script_authz(fake, number, first=None, then=None, **fields):
    def authz(record, status):
        name = fake.names[number - 1] if len(fake.names) >= number else "example.com"
        body = {"status": status, "identifier": {"type": "dns", "value": name.replace("*.", "", 1)},
                "challenges": [{"type": "dns-01", "url": BASE + "/acme/chall/d{0}".format(number),
                                "token": "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"},
                               challenge(**dict({"url": BASE + "/acme/chall/{0}".format(number)}, **fields))]}
        if name.startswith("*."):
            body["wildcard"] = True
            del body["challenges"][0]        # Boulder offers a wildcard dns-01 (and dns-persist-01) only
        return dict(json=body)
    fake.on("POST", "/acme/authz/{0}".format(number), first or (lambda record: authz(record, "pending")),
            then or (lambda record: authz(record, "valid")))
    fake.on("POST", "/acme/chall/{0}".format(number), json=challenge(url=BASE + "/acme/chall/{0}".format(number)))


def saved_order(workdir, name):
    """ order.json as request_certificate.py saves it: one name, authorization 1 """
    order = {"identifiers": [{"type": "dns", "value": name}], "authorizations": [BASE + "/acme/authz/1"]}
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": order}))


def challenge_posts(fake):
    return [r for r in fake.posts() if r["path"].startswith("/acme/chall/")]


def test_issue_with_a_standing_record_answers_empty_and_needs_no_hook(persist_ca, run, no_sleep):
    persist_ca.local_dns.set_txt(RECORD, "sectigo.com; accounturi=https://acme.sectigo.com/acct/1",
                                 ["letsencrypt.org; accounturi=", ACCOUNT_URL + "; policy=wildcard"])  # two strings
    code, out, err = run(issue_certificate, "--yes", "example.com", "*.example.com")
    assert code == 0, err
    assert ('  {0}: "{1}; policy=wildcard" authorizes this account for example.com and *.example.com, with no end '
            'date'.format(RECORD, OURS)) in out
    assert "for another CA (sectigo.com): ignored" in out
    assert [(r["path"], r["payload"]) for r in challenge_posts(persist_ca)] == [("/acme/chall/1", {}),
                                                                              ("/acme/chall/2", {})]
    assert "example.com verified!" in out and "*.example.com verified!" in out and "Certificate signed!" in out
    assert "DNSHook" not in out + err


@pytest.mark.parametrize("records, said", [
    (["letsencrypt.org; accounturi=https://acme.test/acme/acct/999"], "names another account"),
    ([OURS + "; persistUntil=1700000000"], "persistUntil passed on 2023-11-14"),
    (["sectigo.com; accounturi=" + ACCOUNT_URL], "for another CA (sectigo.com): ignored"),
    ([], "There is no TXT record at _validation-persist.example.com"),
])
def test_a_record_that_does_not_authorize_is_said_and_nothing_answered(persist_ca, run, records, said):
    persist_ca.local_dns.set_txt(RECORD, *records)
    code, out, err = run(issue_certificate, "--yes", "example.com")
    assert code == 1 and said in out + err and "Traceback" not in err
    assert "Nothing was answered, so no validation failed. The CA expects a record like:\n  {0}. IN TXT \"{1}\"".format(
        RECORD, OURS) in err
    assert "python dns_persist_record.py example.com" in err and not challenge_posts(persist_ca)


def test_a_wildcard_record_without_policy_is_said_before_ordering(persist_ca, run):
    persist_ca.local_dns.set_txt(RECORD, OURS)
    code, out, err = run(issue_certificate, "--yes", "*.example.com")
    assert code == 1 and "*.example.com needs policy=wildcard in its dns-persist-01 record" in err
    assert "Nothing was ordered" in err and not persist_ca.posts("/acme/new-order")


def test_persist_until_less_than_30_days_away_is_a_warning(persist_ca, run, no_sleep):
    persist_ca.local_dns.set_txt(RECORD, OURS + "; persistUntil={0}".format(int(time.time()) + 5 * 86400))
    code, out, err = run(issue_certificate, "--yes", "example.com")
    assert code == 0, err
    assert "Warning: the dns-persist-01 record for example.com stops authorizing on" in err and "in 5 days" in err


def test_a_failed_look_up_is_a_warning_and_the_ca_decides(persist_ca, run, no_sleep, workdir):
    silent = HandMadeDNS(lambda query: [])
    try:
        write_ini(workdir / "acme.ini", Challenge="dns-persist-01", DNSResolver=silent.address, Timeout="1")
        code, out, err = run(issue_certificate, "--yes", "example.com")
    finally:
        silent.close()
    assert code == 0, err
    assert "Warning: could not look up _validation-persist.example.com: No answer from" in err
    assert "Answering anyway: the CA makes its own look-up." in out and challenge_posts(persist_ca)


def test_an_authorization_already_valid_needs_no_challenge_nor_look_up(persist_ca, run, no_sleep):
    jit = {"status": "valid", "identifier": {"type": "dns", "value": "example.com"}, "challenges": []}
    persist_ca.on("POST", "/acme/authz/1", json=jit)                  # acme2certifier's just-in-time validation
    before = persist_ca.local_dns.asked(RECORD)
    code, out, err = run(issue_certificate, "--yes", "example.com")
    assert code == 0, err
    assert "Authorization for example.com: already valid, nothing to do" in out
    assert not challenge_posts(persist_ca) and persist_ca.local_dns.asked(RECORD) == before


def test_the_cas_refusal_is_shown_with_its_problem(persist_ca, run, no_sleep):
    persist_ca.local_dns.set_txt(RECORD, OURS)
    refused = {"status": "invalid", "identifier": {"type": "dns", "value": "example.com"}, "challenges": [
        challenge(status="invalid", error={"type": "urn:ietf:params:acme:error:unauthorized", "status": 403,
                                           "detail": "No TXT record found for DNS-PERSIST-01 challenge"})]}
    script_authz(persist_ca, 1, then=dict(json=refused))
    code, out, err = run(issue_certificate, "--yes", "example.com")
    assert code == 1 and "The authorization for example.com is invalid" in err
    assert "No TXT record found for DNS-PERSIST-01 challenge" in err and "unauthorized" in err


@pytest.mark.parametrize("fields, said", [
    ({"issuer-domain-names": []}, "an empty list as issuer-domain-names"),
    ({"issuer-domain-names": ["ca{0}.example".format(n) for n in range(11)]}, "11 names"),
    ({"issuer-domain-names": ["LETSENCRYPT.ORG"]}, "not a domain name in lowercase A-labels"),
    ({"url": 7}, "'url'"),
])
def test_a_malformed_challenge_is_refused_before_anything_is_answered(persist_ca, run, fields, said):
    persist_ca.local_dns.set_txt(RECORD, OURS)
    script_authz(persist_ca, 1, **fields)
    code, out, err = run(issue_certificate, "--yes", "example.com")
    assert code == 1 and said in err and "Traceback" not in err and not challenge_posts(persist_ca)


def test_a_ca_without_dns_persist_01_says_so(persist_ca, run):
    plain = {"status": "pending", "identifier": {"type": "dns", "value": "example.com"}, "challenges": [
        {"type": "http-01", "url": BASE + "/acme/chall/h", "token": "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"}]}
    persist_ca.on("POST", "/acme/authz/1", json=plain)
    code, out, err = run(issue_certificate, "--yes", "example.com")
    assert code == 1 and "The CA offers no dns-persist-01 challenge for example.com" in err


def test_an_ip_address_and_a_bad_dnsresolver_are_refused_before_sending(persist_ca, run, workdir):
    code, out, err = run(issue_certificate, "--yes", "192.0.2.7")
    assert code == 1 and "cannot be proven with dns-persist-01" in err
    write_ini(workdir / "acme.ini", Challenge="dns-persist-01", DNSResolver="resolver.example.com")
    code, out, err = run(issue_certificate, "--yes", "example.com")
    assert code == 1 and "DNSResolver in acme.ini must be IP addresses" in err and not persist_ca.requests


def test_the_step_script_checks_answers_and_polls(persist_ca, run, no_sleep, workdir):
    persist_ca.local_dns.set_txt(RECORD, OURS)
    persist_ca.names = ["example.com"]
    saved_order(workdir, "example.com")
    code, out, err = run(dns_persist01_challenge)
    assert code == 0, err
    assert "Verifying example.com (dns-persist-01)..." in out and "Authorization for example.com: valid" in out
    assert [r["payload"] for r in challenge_posts(persist_ca)] == [{}]
    assert "Next: python finalize_order.py" in out


def test_get_challenges_shows_the_record_a_dns_persist_01_challenge_wants(persist_ca, run, workdir):
    persist_ca.names = ["*.example.com"]
    saved_order(workdir, "*.example.com")
    code, out, err = run(get_challenges)
    assert code == 0, err
    assert "  Challenge: dns-persist-01 (pending)\n" in out
    assert "    Issuer names:      letsencrypt.org\n" in out
    assert "    Account URI:       {0} (the account URL)\n".format(ACCOUNT_URL) in out
    assert "    TXT record:        _validation-persist.example.com\n" in out
    assert "    TXT value:         {0}; policy=wildcard\n".format(OURS) in out


# -- dns_persist_record.py ------------------------------------------------------------------------------

def test_the_record_is_printed_for_the_zone_file_and_the_alibaba_cloud_console(persist_ca, run):
    code, out, err = run(dns_persist_record, "www.example.com", "*.example.com", "--persist-until", "2099-12-31")
    assert code == 0, err
    assert "Account URL: {0}\nIssuer domain name: letsencrypt.org (from the directory's caaIdentities)".format(
        ACCOUNT_URL) in out
    assert ('    _validation-persist.www.example.com. IN TXT "{0}; persistUntil=4102358400"'.format(OURS)) in out
    assert ('    _validation-persist.example.com. IN TXT "{0}; policy=wildcard; persistUntil=4102358400"'.format(
        OURS)) in out
    assert "The dns-persist-01 record for example.com and *.example.com:" in out
    # without --publish the domain is not known: no guess at it (example.co.uk, a delegated sub-zone)
    assert ("  Alibaba Cloud DNS console, the domain that holds the name, Add DNS Record:\n    Record Type:        "
            "TXT\n    Hostname:           _validation-persist.www.example.com less your domain at its end "
            "(--publish finds the domain)\n") in out
    assert "    Hostname:           _validation-persist.example.com less your domain at its end (--publish" in out
    assert "    Record Value:       {0}; persistUntil=4102358400\n".format(OURS) in out
    assert "persistUntil=4102358400: 2099-12-31 00:00:00 UTC" in out
    assert [r["path"] for r in persist_ca.posts()] == ["/acme/new-acct"]             # no order, no change
    assert persist_ca.posts()[0]["payload"] == {"onlyReturnExisting": True}


def test_policy_wildcard_on_request_and_names_from_the_csr(persist_ca, run, workdir):
    import make_csr
    assert run(make_csr, "example.com")[0] == 0
    code, out, err = run(dns_persist_record, "--wildcard")
    assert code == 0, err
    assert '_validation-persist.example.com. IN TXT "{0}; policy=wildcard"'.format(OURS) in out


def test_bad_names_and_dates_are_refused_before_sending(persist_ca, run):
    for args, said in ((["192.0.2.7"], "proves host names only"), (["exa mple.com"], "not a valid host name"),
                       (["--persist-until", "2020-01-01", "example.com"], "has passed"),
                       (["--persist-until", "next year", "example.com"], "is not a date")):
        code, out, err = run(dns_persist_record, *args)
        assert code == 1 and said in err, args
    assert not persist_ca.requests


def test_the_check_says_for_each_name_whether_and_until_when(persist_ca, run):
    persist_ca.local_dns.set_txt(RECORD, OURS + "; persistUntil=4102444800")
    code, out, err = run(dns_persist_record, "--check", "example.com")
    assert code == 0, err
    assert "Rule applied: a record covers its own name, and *.name only with policy=wildcard; never a subdomain" in out
    assert "Looking up TXT _validation-persist.example.com at {0} (read-only)...".format(
        persist_ca.local_dns.address) in out
    assert ("example.com: yes, the record authorizes this account for example.com only, until 2100-01-01 00:00:00 "
            "UTC") in out
    code, out, err = run(dns_persist_record, "--check", "example.com", "*.example.com", "www.example.com")
    assert code == 1
    assert "*.example.com: no. lacks policy=wildcard, which *.example.com needs" in out
    assert "www.example.com: no. There is no record." in out
    assert "Error: Not authorized for this account: *.example.com, www.example.com." in err


def test_the_issuer_from_the_orders_challenge(persist_ca, run, workdir):
    persist_ca.names = ["example.com"]
    script_authz(persist_ca, 1, accounturi="https://acme.test/acme/acct/123", **{
        "issuer-domain-names": ["persist.letsencrypt.org", "letsencrypt.org"]})
    saved_order(workdir, "example.com")
    code, out, err = run(dns_persist_record, "--order", "example.com")
    assert code == 0, err
    assert "Issuer domain name: persist.letsencrypt.org (from the CA's dns-persist-01 challenges)" in out
    assert 'IN TXT "persist.letsencrypt.org; accounturi={0}"'.format(ACCOUNT_URL) in out
    code, out, err = run(dns_persist_record, "--order", "www.example.com")
    assert code == 1 and "no pending dns-persist-01 challenge for www.example.com" in err


def test_a_directory_without_caa_identities_points_to_the_order(persist_ca, run):
    directory = dict(LE_DIRECTORY, meta={"termsOfService": "https://x/tos", "accountHashPrefix": "https://x/h/"})
    persist_ca.on("GET", "/directory", json=directory)
    code, out, err = run(dns_persist_record, "example.com")
    assert code == 1 and "lists no issuer domain names (caaIdentities)" in err and "--order" in err
    assert "accountHashPrefix, from a later draft" in err


def test_no_account_yet_is_the_servers_problem_with_a_hint(persist_ca, run):
    persist_ca.on("POST", "/acme/new-acct", **problem("accountDoesNotExist", "No account exists with the provided key"))
    code, out, err = run(dns_persist_record, "example.com")
    assert code == 1 and "accountDoesNotExist" in err and "python new_account.py" in err


# -- --publish through Alibaba Cloud DNS; the dns-01 clean-up leaves it alone --------------------------

@pytest.fixture
def cloud(tmp_path_factory, monkeypatch, persist_ca, workdir, local_dns):
    persist_ca.rsps.add_passthru("https://localhost")                    # the fake Alibaba Cloud API
    with FakeAlibaba(str(tmp_path_factory.mktemp("alibaba")), zones=("example.com",),
                     challtest_url=local_dns.management_url) as fake_cloud:      # its TXT records served by local_dns
        for name, value in fake_cloud.environment().items():
            monkeypatch.setenv(name, value)
        write_ini(workdir / "acme.ini", Challenge="dns-persist-01", DNSResolver=local_dns.address, DNSWait="0",
                  **fake_cloud.ini_values())
        yield fake_cloud


def test_publish_writes_the_record_once(cloud, run):
    code, out, err = run(dns_persist_record, "--publish", "www.example.com")
    assert code == 0, err
    added = [p for a, p in cloud.calls if a == "AddDomainRecord"]
    assert added == [{"DomainName": "example.com", "RR": "_validation-persist.www", "Type": "TXT", "Value": OURS,
                      "TTL": "600"}]
    assert [p.get("KeyWord") for a, p in cloud.calls if a == "DescribeDomains"] == [None]   # one page, every domain
    assert [p["DomainName"] for a, p in cloud.calls if a == "DescribeSubDomainRecords"] == ["example.com"]
    assert ("  Alibaba Cloud DNS console, domain example.com, Add DNS Record (Hostname is the name less the domain):"
            "\n    Record Type:        TXT\n    Hostname:           _validation-persist.www\n") in out
    assert "Published TXT record _validation-persist.www.example.com (zone example.com, RecordId" in out
    code, out, err = run(dns_persist_record, "--publish", "--persist-until", "2099-01-01", "www.example.com")
    assert code == 0 and "Published" in out and 'Also there: "{0}"'.format(OURS) in out
    code, out, err = run(dns_persist_record, "--publish", "www.example.com")
    assert code == 0 and "Already published: _validation-persist.www.example.com" in out
    assert len([a for a, _p in cloud.calls if a == "AddDomainRecord"]) == 2


def test_publish_names_no_zone_it_does_not_hold(cloud, run):
    code, out, err = run(dns_persist_record, "--publish", "www.example.org")
    assert code == 1
    assert ("Error: None of this account's Alibaba Cloud DNS domains holds _validation-persist.www.example.org (it "
            "has: example.com). Add the domain to Alibaba Cloud DNS, or publish the record at your DNS provider (run "
            "this without --publish to print it).") in err
    assert not [a for a, _p in cloud.calls if a != "DescribeDomains"] and "Zone file" not in out


@pytest.mark.parametrize("zone, name, hostname", [
    ("example.co.uk", "www.example.co.uk", "_validation-persist.www"),          # a suffix of two labels
    ("shop.example.com", "www.shop.example.com", "_validation-persist.www"),    # a sub-zone beside its parent
    ("example.com", "www.example.com", "_validation-persist.www"),
])
def test_publish_takes_the_domain_from_the_api_not_from_the_last_two_labels(cloud, run, monkeypatch, zone, name,
                                                                            hostname):
    monkeypatch.setattr(cloud, "zones", dict(cloud.zones, **{"example.co.uk": "501", "shop.example.com": "502"}))
    code, out, err = run(dns_persist_record, "--publish", name)
    assert code == 0, err
    assert ("  Alibaba Cloud DNS console, domain {0}, Add DNS Record (Hostname is the name less the domain):\n    "
            "Record Type:        TXT\n    Hostname:           {1}\n".format(zone, hostname)) in out
    assert [(p["DomainName"], p["RR"]) for a, p in cloud.calls if a == "AddDomainRecord"] == [(zone, hostname)]
    assert [p["DomainName"] for a, p in cloud.calls if a == "DescribeSubDomainRecords"] == [zone]


def test_publish_finds_the_zone_on_the_second_page_of_domains(cloud, run, monkeypatch):
    many = {"a{0:03}.test".format(n): str(n) for n in range(PAGE_SIZE_LIMIT + 5)}     # sorted before example.com
    monkeypatch.setattr(cloud, "zones", dict(cloud.zones, **many))
    code, out, err = run(dns_persist_record, "--publish", "www.example.com", "*.example.com")
    assert code == 0, err
    assert [p["PageNumber"] for a, p in cloud.calls if a == "DescribeDomains"] == ["1", "2"]   # once for both records
    assert [p["DomainName"] for a, p in cloud.calls if a == "AddDomainRecord"] == ["example.com", "example.com"]


def test_publish_finds_its_record_on_the_second_page_and_adds_it_once(cloud, run):
    for n in range(PAGE_SIZE_LIMIT + 20):              # other accounts' records, a page and more of them
        cloud.records[str(n)] = {"RecordId": str(n), "DomainName": "example.com", "RR": "_validation-persist.www",
                                 "Type": "TXT", "Value": "ca.example; accounturi=https://ca.example/acct/{0}".format(n)}
    assert run(dns_persist_record, "--publish", "www.example.com")[0] == 0
    cloud.calls.clear()
    code, out, err = run(dns_persist_record, "--publish", "www.example.com")
    assert code == 0, err
    assert "Already published: _validation-persist.www.example.com (zone example.com, RecordId" in out
    assert [p["PageNumber"] for a, p in cloud.calls if a == "DescribeSubDomainRecords"] == ["1", "2"]
    assert not [a for a, _p in cloud.calls if a == "AddDomainRecord"]
    assert out.count("Also there: ") == PAGE_SIZE_LIMIT + 20
    assert len([r for r in cloud.records.values() if r["Value"] == OURS]) == 1


def test_the_dns01_clean_up_never_deletes_the_standing_record(cloud, run):
    assert run(dns_persist_record, "--publish", "example.com", "*.example.com")[0] == 0
    standing = [r for r in cloud.records.values() if r["RR"] == "_validation-persist"]
    value = standing[0]["Value"]
    # a dns-01 issuance through the hook: set, then clear, at _acme-challenge (even with the same value)
    for hook_value in ("dns01-value", value):
        assert run(alidns_hook, "set", "_acme-challenge.example.com", hook_value)[0] == 0
        code, out, err = run(alidns_hook, "clear", "_acme-challenge.example.com", hook_value)
        assert code == 0 and "Removed 1 TXT record(s) _acme-challenge.example.com; 0 other(s) left alone." in out
    assert [r for r in cloud.records.values() if r["RR"] == "_validation-persist"] == standing
    assert not [a for a, p in cloud.calls if a == "DeleteDomainRecord" and p["RecordId"] == standing[0]["RecordId"]]


def test_the_check_with_a_resolver_that_does_not_answer(persist_ca, run, workdir):
    silent = HandMadeDNS(lambda query: [])
    try:
        write_ini(workdir / "acme.ini", DNSResolver=silent.address, Timeout="1")
        code, out, err = run(dns_persist_record, "--check", "example.com")
    finally:
        silent.close()
    assert code == 1 and "example.com: not known: the look-up failed (above)." in out
    assert "Warning: could not look up _validation-persist.example.com: No answer from" in err
    assert "Error: Could not look up the record of example.com: check DNSResolver in acme.ini" in err
