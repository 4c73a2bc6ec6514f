""" acme.ini's settings: the files that hold a secret (acme.ini with EABHMACKey, the key files it
names, export_pfx.py's --password-file) are a warning line when group or others may open them """

import os

import pytest

import make_csr
import myhelper
from fake_ca import write_ini
from lib import config


def settings(filename="acme.ini"):
    return config.settings(myhelper.load_acme_config(filename), filename)


def warnings(err):
    return [line for line in err.splitlines() if line.startswith("Warning: ")]


def test_acme_ini_with_an_eab_key_open_to_others_is_one_warning_line(workdir, capsys):
    write_ini(workdir / "acme.ini", EABKeyID="kid-1", EABHMACKey="c2VjcmV0LWhtYWMta2V5")
    os.chmod(workdir / "acme.ini", 0o644)
    settings()
    assert capsys.readouterr().err == ("Warning: acme.ini (holds EABHMACKey) is open to group and others (mode "
                                       "0644); fix it with: chmod 600 acme.ini\n")


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_acme_ini_is_no_warning(workdir, capsys, mode):
    write_ini(workdir / "acme.ini", EABKeyID="kid-1", EABHMACKey="c2VjcmV0LWhtYWMta2V5")
    os.chmod(workdir / "acme.ini", mode)
    settings()
    assert capsys.readouterr().err == ""


def test_acme_ini_without_an_eab_key_may_be_read_by_anyone(workdir, capsys):
    os.chmod(workdir / "acme.ini", 0o644)
    settings()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("key, file, mode, who", [
    ("AccountKeyFile", "account.key", 0o640, "group"),
    ("AccountKeyFile", "account.key", 0o604, "others"),
    ("CertificateKeyFile", "example.com.key", 0o666, "group and others"),
    ("CertificateKeyFile", "example.com.key", 0o620, "group"),        # writable is as bad: a key swapped in
])
def test_a_key_file_open_to_group_or_others_is_one_warning_line(workdir, capsys, cert_rsa_pem, key, file, mode, who):
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    os.chmod(workdir / "example.com.key", 0o600)
    os.chmod(workdir / file, mode)
    settings()
    what = {"AccountKeyFile": "the account key", "CertificateKeyFile": "the certificate key"}[key]
    assert capsys.readouterr().err == "Warning: {0} ({1}) is open to {2} (mode {3:04o}); fix it with: chmod 600 " \
                                      "{0}\n".format(file, what, who, mode)


def test_the_chmod_names_the_file_as_the_shell_needs_it(workdir, capsys):
    folder = workdir / "my certs"
    folder.mkdir()
    write_ini(folder / "acme.ini")
    (folder / "account.key").write_bytes((workdir / "account.key").read_bytes())
    os.chmod(folder / "account.key", 0o644)
    settings(str(folder / "acme.ini"))
    path = str(folder / "account.key")
    assert warnings(capsys.readouterr().err) == ["Warning: {0} (the account key) is open to group and others (mode "
                                                 "0644); fix it with: chmod 600 '{0}'".format(path)]


def test_a_missing_key_file_is_no_warning(workdir, capsys):
    os.unlink(workdir / "account.key")
    settings()
    assert capsys.readouterr().err == ""


def test_one_warning_a_file_however_often_it_is_read(workdir, capsys):
    os.chmod(workdir / "account.key", 0o644)
    settings()
    settings()
    config.warn_if_readable("account.key", "the account key")
    assert len(warnings(capsys.readouterr().err)) == 1


def test_a_warning_is_not_an_error(workdir, run, cert_rsa_pem):
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    os.chmod(workdir / "example.com.key", 0o644)
    code, out, err = run(make_csr, "example.com")
    assert code == 0 and "Created CSR: example.com.csr" in out
    assert err == ("Warning: example.com.key (the certificate key) is open to group and others (mode 0644); fix it "
                   "with: chmod 600 example.com.key\n")


def test_an_alibaba_ca_bundle_that_does_not_exist_is_an_error(workdir):
    write_ini(workdir / "acme.ini", AlibabaCABundle="fake-ca.pem")
    with pytest.raises(config.AcmeError, match="AlibabaCABundle in acme.ini names fake-ca.pem, which does not exist"):
        settings()


def test_acme_ini_lists_every_alibaba_key():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(here, "acme.ini"), encoding="utf8") as f:
        text = f.read()
    for key in (k for k in config.SETTINGS if k.startswith("Alibaba")):
        assert "\n{0} =".format(key) in text or "\n# {0} =".format(key) in text, key


def test_a_wrong_dns_resolver_is_refused_when_acme_ini_is_read(workdir):
    """ Every script and the DNS hook read acme.ini through config.settings: a DNSResolver that is no IP
    address stops them there, before alidns_hook.py set could add a record it then fails to wait for """
    write_ini(workdir / "acme.ini", DNSResolver="not-an-ip")
    with pytest.raises(config.AcmeError, match="DNSResolver in acme.ini must be IP addresses"):
        settings()
