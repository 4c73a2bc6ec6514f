""" Security checks, as tests: TLS always verified, timeouts everywhere, keys 0600 and never shown,
tokens kept inside the web root, the account key never in a CSR, chains of certificates only """

import ast
import os
import re
import stat

import pytest
from Crypto.PublicKey import RSA

from lib import answers, certs, frame
import myhelper
from fake_ca import ROOT, new_ec_key
from real_cas import Reader

SOURCES = [os.path.join(d, f) for d in (ROOT, os.path.join(ROOT, "tools")) for f in os.listdir(d) if f.endswith(".py")]


def test_tls_verification_is_never_turned_off():
    pattern = re.compile(r"verify\s*=\s*False|CERT_NONE|_create_unverified_context|check_hostname\s*=\s*False")
    offenders = [path for path in SOURCES + [os.path.join(ROOT, "tests", f) for f in os.listdir(
        os.path.join(ROOT, "tests")) if f.endswith(".py") and f != "test_security.py"]
        if pattern.search(open(path, encoding="utf8").read())]
    assert offenders == []


def test_every_http_call_has_a_timeout():
    missing = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(open(path, encoding="utf8").read())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("get", "post", "head", "request", "put", "delete") \
                    and isinstance(node.func.value, (ast.Name, ast.Attribute)) \
                    and getattr(node.func.value, "id", getattr(node.func.value, "attr", "")) in (
                        "requests", "http", "session"):
                if "timeout" not in [k.arg for k in node.keywords]:
                    missing.append("{0}:{1}".format(os.path.basename(path), node.lineno))
    assert missing == []


@pytest.mark.parametrize("maker", [lambda path: myhelper.create_rsa_private_key(path, 2048), new_ec_key])
def test_private_keys_are_created_0600(tmp_path, maker):
    path = str(tmp_path / "k.key")
    maker(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_tokens_that_would_escape_the_web_root_are_refused():
    for token in ("../x" * 8, "/etc/passwd", "..%2f..%2fetc", "a" * 20 + "/b", "a" * 20 + "\\b", ".well-known-x"):
        with pytest.raises(frame.AcmeError):
            answers.token({"token": token}, "a challenge")


def private_secrets(path):
    """ Every way a private key could show in output: its numbers in base64url, hex and decimal, its PEM """
    pem = open(path, "rb").read()
    key = myhelper.load_private_key(path)
    numbers = [key.d, key.p, key.q] if isinstance(key, RSA.RsaKey) else [int(key.d)]
    secrets = [pem.decode().splitlines()[1]]
    for number in numbers:
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        secrets += [myhelper.b64(raw), format(number, "x"), str(number)[:40]]
    return secrets


@pytest.mark.e2e
def test_debug_output_never_shows_a_private_key(pebble, tmp_path):
    reader = Reader(tmp_path, pebble)
    port = ["--port", str(pebble.http_port), "--bind", "127.0.0.1"]
    runs = [
        ("make_account_key.py", "--bits", "2048"), ("make_certificate_key.py",),
        ("make_csr.py", "secret.example.test"), ("get_directory.py",), ("get_nonce.py",),
        ("get_terms_of_service.py",), ("new_account.py", "--agree-tos"), ("get_account_url.py",),
        ("get_account_info.py",), ("account_update.py",), ("request_certificate.py",), ("get_challenges.py",),
        ("http01_challenge.py",) + tuple(port), ("finalize_order.py",), ("get_certificate.py",),
        ("revoke_certificate.py", "--yes"), ("issue_certificate.py", "--challenge", "dns-01", "s2.example.test"),
        ("revoke_certificate.py", "--yes", "--use-certificate-key"),
        ("make_account_key.py", "--type", "ec", "new.key"),
    ]
    output = ""
    for args in runs:
        result = reader.run(args[0], *args[1:], "--debug")
        output += result.stdout + result.stderr
    keys = ["account.key", "example.test.key", "new.key"]
    secrets = [s for k in keys for s in private_secrets(reader.path(k))]
    result = reader.run("account_key_change.py", "new.key", "--debug")
    output += result.stdout + result.stderr
    result = reader.run("account_deactivate.py", "--yes", "--debug")
    output += result.stdout + result.stderr
    assert "-> protected header:" in output and "<- 200 OK" in output   # the wire is shown
    assert "PRIVATE KEY" not in output
    leaked = [s[:12] for s in secrets if s in output]
    assert leaked == []


def test_a_csr_never_carries_the_account_key(workdir, run):
    import make_csr
    code, out, err = run(make_csr, "--key", "account.key", "example.com")
    assert code == 1 and "§11.1" in err


def test_a_chain_with_anything_but_certificates_is_refused():
    for label in ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "CERTIFICATE REQUEST"):
        text = "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n" \
               "-----BEGIN {0}-----\nAA\n-----END {0}-----\n".format(label)
        with pytest.raises(ValueError, match="only certificates are accepted"):
            certs.load_pem_chain(text)
