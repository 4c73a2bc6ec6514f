""" The Alibaba Cloud half, against a fake Alibaba Cloud API on 127.0.0.1 (tools/fake_alibaba.py) that
checks every request's V3 signature as Alibaba documents it, through the real SDK; and PKCS #12 """

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

import alidns_hook
import dns01_challenge
import export_pfx
import install_api_gateway
import install_cdn
import issue_certificate
from fake_ca import ROOT, make_chain, write_ini
from fake_alibaba import ACCESS_KEY_SECRET, PAGE_SIZE_LIMIT, FakeAlibaba
from lib import dns01
from lib.frame import AcmeError

REQUEST_ID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with FakeAlibaba(str(tmp_path_factory.mktemp("alibaba")), zones=("example.com", "other.org"),
                     cdn_domains=("cdn.example.com",), api_domains=(("group1", "api.example.com"),)) as fake:
        yield fake


@pytest.fixture
def aliyun(cloud, workdir, monkeypatch, cert_rsa_pem):
    """ A reader's folder whose acme.ini points the Alibaba Cloud scripts at the fake """
    for name, value in cloud.environment().items():
        monkeypatch.setenv(name, value)
    write_ini(workdir / "acme.ini", DNSWait="0", **cloud.ini_values())
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    (workdir / "example.com.key").chmod(0o600)
    cloud.calls.clear()
    return cloud


def chain(workdir, names=("example.com", "*.example.com"), own_key=True):
    text = make_chain(list(names), key_pem=(workdir / "example.com.key").read_bytes() if own_key else None)
    (workdir / "example.com.chain.pem").write_text(text)
    return text


# -- dns-01 through Alibaba Cloud DNS ----------------------------------------------------------------

def test_the_hook_sets_the_record_in_the_zone_it_finds_and_clears_only_its_own(aliyun, run):
    code, out, err = run(alidns_hook, "set", "_acme-challenge.www.example.com", "-fO86Vd_value")
    assert code == 0, err
    assert "Added TXT record _acme-challenge.www.example.com (zone example.com" in out
    added = [p for a, p in aliyun.calls if a == "AddDomainRecord"][0]
    assert added == {"DomainName": "example.com", "RR": "_acme-challenge.www", "Type": "TXT", "Value": "-fO86Vd_value",
                     "TTL": "600"}
    assert run(alidns_hook, "set", "_acme-challenge.www.example.com", "another_value")[0] == 0
    code, out, err = run(alidns_hook, "clear", "_acme-challenge.www.example.com", "-fO86Vd_value")
    assert code == 0 and "Removed 1 TXT record(s) _acme-challenge.www.example.com; 1 other(s) left alone." in out
    assert [r["Value"] for r in aliyun.records.values()] == ["another_value"]
    run(alidns_hook, "clear", "_acme-challenge.www.example.com", "another_value")
    assert aliyun.records == {}


def test_the_hook_names_the_zones_it_has_when_none_holds_the_name(aliyun, run):
    code, out, err = run(alidns_hook, "set", "_acme-challenge.www.example.net", "v")
    assert code == 1 and "None of this account's Alibaba Cloud DNS domains holds" in err
    assert "example.com, other.org" in err and not [a for a, _p in aliyun.calls if a == "AddDomainRecord"]


def test_a_wrong_secret_is_two_lines_the_hint_first_the_request_id_once(aliyun, run, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")
    code, out, err = subprocess_run("alidns_hook.py", ["set", "_acme-challenge.example.com", "v"], dict(
        os.environ), cwd=os.getcwd())
    assert code == 1 and len(err.splitlines()) == 2, err
    hint, said = err.splitlines()
    assert hint == "Error: The AccessKey secret does not match the ID: check ALIBABA_CLOUD_ACCESS_KEY_SECRET."
    assert said.startswith("Alibaba Cloud DescribeDomains: SignatureDoesNotMatch: Specified signature does not match")
    assert len(REQUEST_ID.findall(err)) == 1 and "(RequestId " in said
    assert "Traceback" not in err and "not-the-secret" not in out + err and ACCESS_KEY_SECRET not in out + err
    assert not aliyun.records


def subprocess_run(script, args, env, cwd):
    result = subprocess.run([sys.executable, os.path.join(ROOT, script)] + args, env=env, cwd=cwd,
                            capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def test_the_hook_reads_the_ini_the_calling_script_read(aliyun, workdir, run, monkeypatch):
    os.rename(workdir / "acme.ini", workdir / "alibaba.ini")
    monkeypatch.setenv("ACME_INI", str(workdir / "alibaba.ini"))
    assert run(alidns_hook, "set", "_acme-challenge.example.com", "v1")[0] == 0


def test_the_hook_refuses_a_name_that_is_no_host_name(aliyun, run):
    code, out, err = run(alidns_hook, "set", "_acme-challenge.exa mple.com\nx", "v")
    assert code == 1 and "not a valid host name" in err and not aliyun.calls


@pytest.mark.parametrize("args", [("set", "www.example.com", "v"), ("clear", "www.example.com", "v"),
                                  ("check", "example.com"), ("clear", "_acme-challengex.example.com", "v"),
                                  ("set", "_dmarc.example.com", "v"), ("check", "_acme-challenge.*.example.com"),
                                  ("set", "_acme-challenge.192.0.2.7", "v")])
def test_the_hook_acts_only_on_acme_challenge_records(aliyun, run, args):
    code, out, err = run(alidns_hook, *args)
    assert code == 1 and "nothing was changed" in err and not aliyun.calls
    assert err.count("\n") == 1


@pytest.mark.parametrize("action", ["set", "clear"])
def test_set_and_clear_need_a_value(aliyun, run, action):
    code, out, err = run(alidns_hook, action, "_acme-challenge.example.com")
    assert code == 1 and "needs NAME and VALUE" in err and not aliyun.calls


def test_clear_finds_its_record_on_the_second_page(aliyun, run):
    name, zone = "_acme-challenge.www.example.com", "example.com"
    for n in range(PAGE_SIZE_LIMIT + 20):              # another client's records, a page and more of them
        aliyun.records[str(n)] = {"RecordId": str(n), "DomainName": zone, "RR": "_acme-challenge.www",
                                  "Type": "TXT", "Value": "other-{0}".format(n)}
    assert run(alidns_hook, "set", name, "ours")[0] == 0
    code, out, err = run(alidns_hook, "clear", name, "ours")
    assert code == 0, err
    assert "Removed 1 TXT record(s) {0}; {1} other(s) left alone.".format(name, PAGE_SIZE_LIMIT + 20) in out
    pages = [p for a, p in aliyun.calls if a == "DescribeSubDomainRecords"]
    assert [p["PageNumber"] for p in pages] == ["1", "2"] and {p["DomainName"] for p in pages} == {zone}
    assert "ours" not in [r["Value"] for r in aliyun.records.values()] and len(aliyun.records) == PAGE_SIZE_LIMIT + 20
    aliyun.records.clear()


def test_the_zone_is_found_on_the_second_page_of_domains(aliyun, run, monkeypatch):
    many = {"a{0:03}.test".format(n): str(n) for n in range(PAGE_SIZE_LIMIT + 5)}   # sorted before example.com
    monkeypatch.setattr(aliyun, "zones", dict(aliyun.zones, **many))
    code, out, err = run(alidns_hook, "check", "_acme-challenge.www.example.com")
    assert code == 0, err
    assert [p["PageNumber"] for a, p in aliyun.calls if a == "DescribeDomains"] == ["1", "2"]


def test_clear_names_the_zone_a_sub_zone_too(aliyun, run, monkeypatch):
    """ Without DomainName the API takes the last two labels for the zone: a sub-zone's records would
    never be found """
    monkeypatch.setattr(aliyun, "zones", dict(aliyun.zones, **{"shop.example.com": "777"}))
    assert run(alidns_hook, "set", "_acme-challenge.www.shop.example.com", "v")[0] == 0
    assert [r["DomainName"] for r in aliyun.records.values()] == ["shop.example.com"]
    code, out, err = run(alidns_hook, "clear", "_acme-challenge.www.shop.example.com", "v")
    assert code == 0 and "Removed 1 TXT record(s)" in out and aliyun.records == {}


# -- check: before anything is made or sent -------------------------------------------------------------

def test_check_reads_only_and_names_the_zone(aliyun, run):
    code, out, err = run(alidns_hook, "check", "_acme-challenge.www.example.com")
    assert code == 0 and err == ""
    assert "Alibaba Cloud DNS: the credentials work, and zone example.com holds _acme-challenge.www.example.com." in out
    assert {a for a, _p in aliyun.calls} == {"DescribeDomains"} and not aliyun.records


def test_check_of_an_unknown_zone_fails(aliyun, run):
    code, out, err = run(alidns_hook, "check", "_acme-challenge.www.example.net")
    assert code == 1 and "None of this account's Alibaba Cloud DNS domains holds" in err and err.count("\n") == 1


def issue_with_the_hook(cloud, workdir, run, *names):
    """ issue_certificate.py with alidns_hook.py as DNSHook, in a folder with no key, CSR or order yet """
    for name in ("account.key", "example.com.key"):
        os.unlink(workdir / name)
    hook = "{0} {1}".format(sys.executable, os.path.join(ROOT, "alidns_hook.py"))
    write_ini(workdir / "acme.ini", DNSHook=hook, DNSWait="0", Challenge="dns-01", **cloud.ini_values())
    code, out, err = run(issue_certificate, "--agree-tos", "--yes", *names)
    assert sorted(os.listdir(workdir)) == ["acme.ini"], "something was made"
    return code, out, err


def test_a_wrong_secret_stops_issue_certificate_before_any_key_csr_or_request(aliyun, fake, workdir, run, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")
    code, out, err = issue_with_the_hook(aliyun, workdir, run, "www.example.com", "*.example.com")
    assert code == 1 and fake.requests == [] and len(err.splitlines()) == 2, err
    hint, said = err.splitlines()
    assert hint == ("Error: DNSHook check _acme-challenge.www.example.com: The AccessKey secret does not match "
                    "the ID: check ALIBABA_CLOUD_ACCESS_KEY_SECRET.")
    assert said.startswith("Alibaba Cloud DescribeDomains: SignatureDoesNotMatch") and len(REQUEST_ID.findall(err)) == 1
    assert "Checking DNSHook for _acme-challenge.www.example.com..." in out
    assert "not-the-secret" not in out + err


def test_an_unknown_zone_stops_issue_certificate_before_any_key_csr_or_request(aliyun, fake, workdir, run):
    code, out, err = issue_with_the_hook(aliyun, workdir, run, "example.com", "www.example.net")
    assert code == 1 and fake.requests == [] and not [a for a, _p in aliyun.calls if a == "AddDomainRecord"]
    assert err.startswith("Error: DNSHook check _acme-challenge.www.example.net: None of this account's Alibaba "
                          "Cloud DNS domains holds _acme-challenge.www.example.net (it has: example.com, other.org)")
    assert out.count("Checking DNSHook for") == 2                 # one check a record: example.com's passed first


# -- the DNSHook contract: check is optional, for any hook ------------------------------------------------

def shell_hook(workdir, body):
    """ A tiny DNSHook in sh: it logs each call in hook.log, then runs body """
    hook = workdir / "hook.sh"
    hook.write_text('#!/bin/sh\necho "$@" >> "{0}"\n{1}\n'.format(workdir / "hook.log", body))
    return "sh " + shlex.quote(str(hook))


def calls(workdir):
    return (workdir / "hook.log").read_text().splitlines() if (workdir / "hook.log").exists() else []


NAMES = ["example.com", "*.example.com", "www.example.com"]            # two records: a wildcard shares one


@pytest.mark.parametrize("body, said", [
    ('case "$1" in set|clear) ;; *) echo "usage: hook {set,clear} NAME VALUE" >&2; exit 2;; esac', "(status 2)"),
    ('[ "$1" = set ] && echo added', "(status 1, no output)"),                  # the last test's status
    ('case "$1" in set|clear) echo done;; esac', "(status 0, no output)"),
])
def test_a_hook_without_check_means_no_pre_check(workdir, capsys, body, said):
    dns01.DnsRecords(shell_hook(workdir, body), "acme.ini").check(NAMES)
    out = capsys.readouterr().out
    assert "DNSHook has no check action {0}: going on without a pre-check.".format(said) in out
    assert calls(workdir) == ["check _acme-challenge.example.com"]      # asked once, not once a name


def test_a_hook_that_answers_check_is_asked_for_every_record(workdir, capsys):
    dns01.DnsRecords(shell_hook(workdir, 'echo "$2: zone found"'), "acme.ini").check(NAMES)
    out = capsys.readouterr().out
    assert calls(workdir) == ["check _acme-challenge.example.com", "check _acme-challenge.www.example.com"]
    assert "  DNSHook: _acme-challenge.www.example.com: zone found" in out and "without a pre-check" not in out


@pytest.mark.parametrize("body, message", [
    ('echo "Warning: acme.ini is open" >&2; echo "Error: The token is wrong: renew it." >&2; exit 1',
     "Error: DNSHook check _acme-challenge.example.com: The token is wrong: renew it."),
    ('echo "usage: hook set|clear NAME VALUE" >&2; exit 1',
     "Error: DNSHook check _acme-challenge.example.com failed with status 1: usage: hook set|clear NAME VALUE (a "
     "hook without a check action must exit 2 for it, or 0 without output)"),
])
def test_a_failed_check_is_one_message(workdir, body, message):
    with pytest.raises(AcmeError) as failed:
        dns01.DnsRecords(shell_hook(workdir, body), "acme.ini").check(NAMES)
    assert str(failed.value) == message and len(calls(workdir)) == 1


def test_a_hook_that_cannot_run_fails_the_check(workdir):
    with pytest.raises(AcmeError, match="The DNSHook command could not run"):
        dns01.DnsRecords(str(workdir / "no-such-hook"), "acme.ini").check(NAMES)


def test_a_failed_check_leaves_no_key_csr_order_nor_request(fake, workdir, run):
    os.unlink(workdir / "account.key")
    write_ini(workdir / "acme.ini", DNSHook=shell_hook(workdir, 'echo "Error: No such zone." >&2; exit 1'))
    code, out, err = run(issue_certificate, "--agree-tos", "--yes", "--challenge", "dns-01", "example.com")
    assert code == 1 and err == "Error: DNSHook check _acme-challenge.example.com: No such zone.\n"
    assert fake.requests == [] and sorted(os.listdir(workdir)) == ["acme.ini", "hook.log", "hook.sh"]


def test_dns01_challenge_checks_before_it_sets_or_answers(fake, workdir, run):
    base = "https://acme.test/acme/"
    order = {"status": "pending", "identifiers": [{"type": "dns", "value": "example.com"}],
             "authorizations": [base + "authz/1"], "finalize": base + "order/1/finalize"}
    (workdir / "order.json").write_text(json.dumps({"url": base + "order/1", "order": order}))
    write_ini(workdir / "acme.ini", DNSHook=shell_hook(workdir, '[ "$1" = check ] && echo "Error: No such zone." >&2 '
                                                                '&& exit 1; exit 0'))
    fake.existing_account()
    fake.on("POST", "/acme/authz/1", json={"status": "pending", "identifier": {"type": "dns", "value": "example.com"},
                                           "challenges": [{"type": "dns-01", "url": base + "chall/2",
                                                           "token": "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
                                                           "status": "pending"}]})
    code, out, err = run(dns01_challenge)
    assert code == 1 and err == "Error: DNSHook check _acme-challenge.example.com: No such zone.\n"
    assert calls(workdir) == ["check _acme-challenge.example.com"] and not fake.posts("/acme/chall/2")


# -- installing into CDN and API Gateway --------------------------------------------------------------

def test_cdn_install_then_nothing_to_do_then_replace_after_asking(aliyun, workdir, run, no_tty):
    chain(workdir)
    code, out, err = run(install_cdn, "--domain", "cdn.example.com")
    assert code == 0, err
    assert "cdn.example.com now: no certificate (HTTPS off)." in out and "Changed: no certificate -> serial" in out
    upload = [p for a, p in aliyun.calls if a == "SetCdnDomainSSLCertificate"][0]
    assert upload["CertType"] == "upload" and upload["SSLProtocol"] == "on"
    assert upload["SSLPub"] == (workdir / "example.com.chain.pem").read_text()
    assert upload["SSLPri"] == (workdir / "example.com.key").read_text() and "PRIVATE KEY" not in out + err
    code, out, err = run(install_cdn, "--domain", "cdn.example.com")
    assert code == 0 and "already this one" in out and "nothing was changed" in out
    assert len([a for a, _p in aliyun.calls if a == "SetCdnDomainSSLCertificate"]) == 1
    chain(workdir)                                      # a renewed certificate: asks before replacing
    code, out, err = run(install_cdn, "--domain", "cdn.example.com")
    assert code == 1 and "--yes" in err
    code, out, err = run(install_cdn, "--domain", "cdn.example.com", "--yes", "--debug")
    assert code == 0 and "Changed: serial" in out and "SSLPri=(not shown)" in out and "PRIVATE KEY" not in out


def test_cdn_refuses_a_wrong_key_or_an_uncovered_domain_before_sending(aliyun, workdir, run):
    chain(workdir, own_key=False)
    code, out, err = run(install_cdn, "--domain", "cdn.example.com")
    assert code == 1 and "is not the key of the certificate" in err and not aliyun.calls
    chain(workdir, names=("www.example.com",))
    code, out, err = run(install_cdn, "--domain", "cdn.example.com")
    assert code == 1 and "is for www.example.com, not for cdn.example.com" in err and not aliyun.calls


def test_an_unknown_cdn_domain_is_the_apis_error(aliyun, workdir, run):
    chain(workdir)
    code, out, err = run(install_cdn, "--domain", "img.example.com")
    assert code == 1 and err.count("\n") == 1 and len(REQUEST_ID.findall(err)) == 1
    assert err.startswith("Error: Alibaba Cloud DescribeDomainCertificateInfo: InvalidDomain.NotFound: The domain")


def test_api_gateway_install_and_its_private_key_is_never_printed(aliyun, workdir, run):
    chain(workdir)
    code, out, err = run(install_api_gateway, "--group", "group1", "--domain", "api.example.com", "--debug")
    assert code == 0, err
    assert "api.example.com now: no certificate." in out and "Changed: no certificate -> serial" in out
    sent = [p for a, p in aliyun.calls if a == "SetDomainCertificate"][0]
    assert sent["CertificatePrivateKey"] == (workdir / "example.com.key").read_text()
    # DescribeDomain answers with the private key: --debug shows the answer, never the key
    assert "CertificatePrivateKey=(not shown)" in out and "'CertificatePrivateKey': '(not shown)'" in out
    assert "PRIVATE KEY" not in out + err
    code, out, err = run(install_api_gateway, "--group", "group1", "--domain", "api.example.com")
    assert code == 0 and "already this one" in out


def test_without_the_sdk_one_line_says_how_to_install_it(aliyun, workdir):
    chain(workdir)
    result = subprocess.run([sys.executable, "-c", "import sys; sys.modules['alibabacloud_cdn20180510'] = None; "
                             "sys.path.insert(0, {0!r}); from lib import frame; import install_cdn; "
                             "sys.exit(frame.run(install_cdn.main, ['--domain', 'cdn.example.com']))".format(ROOT)],
                            capture_output=True, text=True, timeout=60, cwd=str(workdir))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "The Alibaba Cloud SDK is missing" in result.stderr and "requirements-alibaba.txt" in result.stderr


# -- PKCS #12 for IIS ----------------------------------------------------------------------------------

@pytest.mark.parametrize("legacy", [False, True])
def test_export_pfx_opens_with_cryptography_and_openssl(aliyun, workdir, run, legacy):
    text = chain(workdir)
    (workdir / "pfx.pass").write_text("correct horse battery\n")
    args = ["--password-file", "pfx.pass"] + (["--legacy"] if legacy else [])
    code, out, err = run(export_pfx, *args)
    assert code == 0, err
    pfx = workdir / "example.com.pfx"
    assert oct(pfx.stat().st_mode & 0o777) == "0o600" and "correct horse" not in out + err
    from cryptography.hazmat.primitives.serialization import pkcs12
    bundle = pkcs12.load_pkcs12(pfx.read_bytes(), b"correct horse battery")
    assert bundle.cert.friendly_name == b"example.com" and len(bundle.additional_certs) == 1
    from cryptography import x509
    assert bundle.cert.certificate == x509.load_pem_x509_certificate(text.encode())
    if os.path.exists("/usr/bin/openssl"):
        info = subprocess.run(["openssl", "pkcs12", "-info", "-nokeys", "-in", str(pfx), "-passin",
                               "pass:correct horse battery"], capture_output=True, text=True, timeout=30)
        assert info.returncode == 0, info.stderr
        assert ("pbeWithSHA1And3-KeyTripleDES-CBC" if legacy else "AES-256-CBC") in info.stderr + info.stdout
    code, out, err = run(export_pfx, *args)                           # never replaced without a yes
    assert code == 1 and "--yes" in err


def test_export_pfx_refuses_a_key_that_is_not_the_certificates(aliyun, workdir, run):
    chain(workdir, own_key=False)
    (workdir / "pfx.pass").write_text("correct horse battery\n")
    code, out, err = run(export_pfx, "--password-file", "pfx.pass")
    assert code == 1 and "is not the key of the certificate" in err and not os.path.exists("example.com.pfx")


def test_a_password_file_open_to_others_is_one_warning_line(aliyun, workdir, run):
    chain(workdir)
    (workdir / "pfx.pass").write_text("correct horse battery\n")
    os.chmod(workdir / "pfx.pass", 0o644)
    code, out, err = run(export_pfx, "--password-file", "pfx.pass")
    assert code == 0 and err == ("Warning: pfx.pass (the .pfx password) is open to group and others (mode 0644); "
                                 "fix it with: chmod 600 pfx.pass\n")
    (workdir / "private.pass").write_text("correct horse battery\n")
    os.chmod(workdir / "private.pass", 0o600)
    code, out, err = run(export_pfx, "--password-file", "private.pass", "--out", "again.pfx")
    assert code == 0 and err == ""
