""" The catalogue of bad local input: each case gives one clear message, exit 1, no traceback,
nothing half-written, and no existing key or certificate overwritten.

Each row: (what is wrong, how to set it up, the script and its arguments, what the message says).
"""

import os

import pytest
from Crypto.PublicKey import ECC, RSA

import dns01_challenge
import finalize_order
import get_account_info
import get_certificate
import get_directory
import http01_challenge
import issue_certificate
import make_account_key
import make_certificate_key
import make_csr
import new_account
import request_certificate
import revoke_certificate
from fake_ca import fast_rsa_pem, write_ini


def ini(**values):
    return lambda d: write_ini(d / "acme.ini", **values)


def text(name, content):
    return lambda d: (d / name).write_text(content)


def data(name, content):
    return lambda d: (d / name).write_bytes(content)


def remove(name):
    return lambda d: os.remove(d / name)


def folder(name):
    return lambda d: os.mkdir(d / name)


SMALL_RSA = fast_rsa_pem(1024)
P384 = ECC.generate(curve="P-384").export_key(format="PEM").encode()
PUBLIC = RSA.import_key(fast_rsa_pem()).public_key().export_key()

CASES = [
    # acme.ini
    ("no acme.ini", remove("acme.ini"), get_directory, [], "Configuration file not found: acme.ini"),
    ("--config names a missing file", None, get_directory, ["--config", "nope.ini"], "not found: nope.ini"),
    ("acme.ini is a folder", lambda d: (os.remove(d / "acme.ini"), os.mkdir(d / "acme.ini")), get_directory, [],
     "Cannot use acme.ini: Is a directory"),
    ("acme.ini is not an ini file", text("acme.ini", "ACMEDirectory https://x\n"), get_directory, [],
     "not a valid ini file"),
    ("acme.ini has no [acme-neoprime]", text("acme.ini", "[acme]\nACMEDirectory = https://x/d\n"), get_directory,
     [], "no [acme-neoprime] section"),
    ("no ACMEDirectory", ini(ACMEDirectory=None), get_directory, [], "has no ACMEDirectory"),
    ("ACMEDirectory over http", ini(ACMEDirectory="http://acme.test/directory"), get_directory, [],
     "not an https:// URL"),
    ("ACMEDirectory not a URL", ini(ACMEDirectory="acme-staging"), get_directory, [], "not an https:// URL"),
    ("Timeout not a number", ini(Timeout="ten"), get_directory, [], "Timeout in acme.ini must be a number"),
    ("Timeout negative", ini(Timeout="-1"), get_directory, [], "Timeout in acme.ini must be a number"),
    ("HTTPPort above 65535", ini(HTTPPort="70000"), http01_challenge, [],
     "HTTPPort in acme.ini must be a number from 1 to 65535, not '70000'"),
    ("HTTPPort 0", ini(HTTPPort="0"), http01_challenge, [], "HTTPPort in acme.ini must be a number from 1 to 65535"),
    ("HTTPPort not a whole number", ini(HTTPPort="80.5"), issue_certificate, ["example.com"],
     "HTTPPort in acme.ini must be a number from 1 to 65535"),
    ("Timeout above an hour", ini(Timeout="3601"), get_directory, [], "Timeout in acme.ini must be a number from"),
    ("PollTimeout above a day", ini(PollTimeout="86401"), get_directory, [],
     "PollTimeout in acme.ini must be a number from 1 to 86400"),
    ("DNSWait negative", ini(DNSWait="-5"), get_directory, [], "DNSWait in acme.ini must be a number from 0"),
    ("CABundle missing", ini(CABundle="missing-ca.pem"), get_directory, [], "CABundle in acme.ini names"),
    ("PollTimeout not a number", lambda d: (write_ini(d / "acme.ini", PollTimeout="soon"),
                                            (d / "order.json").write_text('{"url": "https://acme.test/o/1", '
                                                                          '"order": {"authorizations": []}}')),
     dns01_challenge, [], "PollTimeout in acme.ini must be a number"),
    ("no AccountKeyFile", ini(AccountKeyFile=None), get_account_info, [], "has no AccountKeyFile"),
    ("contact without an address", ini(Contacts="mailto:example.com"), new_account, ["--agree-tos"],
     "'mailto:example.com' is not a valid contact"),
    ("contact without mailto:", ini(Contacts="someone@example.com"), new_account, ["--agree-tos"],
     "not a valid contact"),
    ("two addresses in one contact", ini(Contacts="mailto:a@example.com,b@example.com"), new_account,
     ["--agree-tos"], "not a valid contact"),
    # keys
    ("no account key", remove("account.key"), get_account_info, [], "File does not exist: account.key"),
    ("account key is a folder", lambda d: (os.remove(d / "account.key"), os.mkdir(d / "account.key")),
     get_account_info, [], "Cannot use account.key: Is a directory"),
    ("corrupt PEM", text("account.key", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"),
     get_account_info, [], "is not a PEM private key"),
    ("empty key file", text("account.key", ""), get_account_info, [], "is not a PEM private key"),
    ("a public key", data("account.key", PUBLIC), get_account_info, [], "holds a public key"),
    ("RSA 1024", data("account.key", SMALL_RSA), get_account_info, [], "2048 bits or more"),
    ("EC P-384", data("account.key", P384), get_account_info, [], "needs P-256"),
    ("existing account key", None, make_account_key, [], "already exists"),
    ("existing certificate key", data("example.com.key", SMALL_RSA), make_certificate_key, [], "already exists"),
    ("key folder does not exist", None, make_account_key, ["no/such/folder/account.key"], "Cannot write in"),
    # names
    ("no names", None, make_csr, [], "the following arguments are required: NAME"),
    ("invalid host name", None, make_csr, ["exa mple.com"], "not a valid host name"),
    ("wildcard not leftmost", None, make_csr, ["www.*.example.com"], "not a valid host name"),
    ("the account key as certificate key", None, make_csr, ["--key", "account.key", "example.com"],
     "RFC 8555 §11.1"),
    ("wildcard with http-01", None, issue_certificate, ["--agree-tos", "*.example.com"], "needs --challenge dns-01"),
    ("IP address with dns-01", None, issue_certificate, ["--challenge", "dns-01", "192.0.2.1"],
     "cannot be proven with dns-01"),
    ("empty name list", None, issue_certificate, [], "Name the certificate's names (NAME...), or pass --csr"),
    # files of earlier steps
    ("no CSR", None, request_certificate, [], "File does not exist: example.com.csr"),
    ("corrupt CSR", text("example.com.csr", "-----BEGIN CERTIFICATE REQUEST-----\nAA\n"), request_certificate, [],
     "is not a Certificate Signing Request"),
    ("no order", None, http01_challenge, [], "python request_certificate.py"),
    ("corrupt order", text("order.json", "{truncated"), dns01_challenge, [], "Cannot read the saved order"),
    ("order of another tool", text("order.json", '{"status": "pending"}'), finalize_order, [],
     "is not an order saved by request_certificate.py"),
    ("webroot missing", text("order.json", '{"url": "https://acme.test/o/1", "order": {"authorizations": []}}'),
     http01_challenge, ["--webroot", "nowhere"], "--webroot nowhere is not a folder"),
    ("no certificate to revoke", None, revoke_certificate, ["--yes"], "File does not exist: example.com.chain.pem"),
    ("certificate file with a key", text("example.com.chain.pem", "-----BEGIN PRIVATE KEY-----\nAA\n"
                                         "-----END PRIVATE KEY-----\n"), revoke_certificate, ["--yes"],
     "only certificates are accepted (RFC 8555 §11.4)"),
    ("no order for the certificate", None, get_certificate, [], "python request_certificate.py"),
]


@pytest.mark.parametrize("what, setup, script, args, message", CASES, ids=[c[0] for c in CASES])
def test_bad_local_input(fake, workdir, run, capsys, what, setup, script, args, message):
    if setup:
        setup(workdir)
    before = {name: (workdir / name).read_bytes() for name in os.listdir(workdir) if (workdir / name).is_file()}
    try:
        code, out, err = run(script, *args)
    except SystemExit as exit:           # argparse usage errors exit 1 too
        code, out, err = exit.code, "", capsys.readouterr().err
    assert code == 1, (what, out, err)
    assert message in err, (what, err)
    assert "Traceback" not in err and err.strip(), what
    assert not fake.posts(), what + ": nothing may be sent"
    after = {name: (workdir / name).read_bytes() for name in before if (workdir / name).is_file()}
    assert after == {k: v for k, v in before.items() if k in after}, what + ": a file was changed"
    assert not [n for n in os.listdir(workdir) if n.startswith(".tmp-")], what + ": a temporary file was left"
