""" The Alibaba Cloud half, against a fake Alibaba Cloud API on 127.0.0.1 (tools/fake_alibaba.py) that
checks every request's V3 signature as Alibaba documents it, through the real SDK; and PKCS #12 """

import os
import subprocess
import sys

import pytest

import alidns_hook
import export_pfx
import install_api_gateway
import install_cdn
from conftest import ROOT, make_chain, write_ini
from fake_alibaba import ACCESS_KEY_SECRET, FakeAlibaba


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


def test_a_wrong_secret_is_the_apis_own_error_and_no_secret_is_printed(aliyun, run, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")
    code, out, err = subprocess_run("alidns_hook.py", ["set", "_acme-challenge.example.com", "v"], dict(
        os.environ), cwd=os.getcwd())
    assert code == 1 and "Code: SignatureDoesNotMatch" in err and "check ALIBABA_CLOUD_ACCESS_KEY_SECRET" in err
    assert "Traceback" not in err and "not-the-secret" not in out + err and ACCESS_KEY_SECRET not in out + err


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
    assert code == 1 and "Code: InvalidDomain.NotFound" in err and "RequestId: " in err


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
