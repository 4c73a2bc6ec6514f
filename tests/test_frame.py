""" The frame around every script: files kept and backed up, keys never confused, exit codes, output
piped into a reader that stops early, a missing package, unknown acme.ini keys """

import io
import os
import subprocess
import sys

import pytest

import get_account_info
import get_certificate
from lib import frame
import make_csr
import new_account
import request_certificate
from fake_ca import ACCOUNT_URL, BASE, ROOT, make_chain, write_ini

ORDER_URL = BASE + "/acme/order/1"


def an_order(names=("example.com",)):
    return {"status": "pending", "identifiers": [{"type": "dns", "value": n} for n in names],
            "authorizations": [BASE + "/acme/authz/1"], "finalize": BASE + "/acme/order/1/finalize"}


@pytest.fixture
def cert_key(workdir, cert_rsa_pem):
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    return workdir / "example.com.key"


def test_output_closed_early_still_finishes_the_work(fake, workdir, cert_key, run, monkeypatch):
    """ `python request_certificate.py | head -1`: the order is still created and saved, exit 0 """
    assert run(make_csr, "example.com")[0] == 0
    fake.existing_account()
    fake.on("POST", "/acme/new-order", status=201, json=an_order(), headers={"Location": ORDER_URL})
    read_end, write_end = os.pipe()
    os.close(read_end)                                   # the reader has gone
    closed = io.TextIOWrapper(io.FileIO(write_end, "w"), line_buffering=True)
    monkeypatch.setattr(sys, "stdout", closed)
    code = frame.run(request_certificate.main, [])
    assert code == 0 and os.path.exists(workdir / "order.json")


def test_piped_into_head_as_a_reader_runs_it(workdir):
    result = subprocess.run("{0} {1} --help | head -1; exit ${{PIPESTATUS[0]}}".format(
        sys.executable, os.path.join(ROOT, "get_directory.py")), shell=True, executable="/bin/bash",
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage:") and result.stderr == ""


def test_replacing_the_csr_keeps_the_previous_one(workdir, cert_key, run):
    assert run(make_csr, "example.com")[0] == 0
    first = (workdir / "example.com.csr").read_bytes()
    code, out, err = run(make_csr, "example.com", "www.example.com")
    assert code == 0 and "The previous CSR was kept in example.com.csr.bak" in out
    assert (workdir / "example.com.csr.bak").read_bytes() == first


def test_replacing_the_chain_keeps_the_previous_one(fake, workdir, cert_key, run):
    import json
    assert run(make_csr, "example.com")[0] == 0
    (workdir / "order.json").write_text(json.dumps({"url": ORDER_URL, "order": an_order()}))
    (workdir / "example.com.chain.pem").write_text("the old chain\n")
    fake.existing_account()
    fake.on("POST", "/acme/order/1", json=dict(an_order(), status="valid", certificate=BASE + "/acme/cert/1"))
    fake.on("POST", "/acme/cert/1", body=make_chain(["example.com"], key_pem=cert_key.read_bytes()))
    code, out, err = run(get_certificate)
    assert code == 0, err
    assert (workdir / "example.com.chain.pem.bak").read_text() == "the old chain\n"
    assert "The previous chain was kept in example.com.chain.pem.bak" in out


def test_the_certificate_key_is_refused_as_account_key(fake, workdir, cert_key, run):
    write_ini(workdir / "acme.ini", AccountKeyFile="example.com.key")
    code, out, err = run(get_account_info)
    assert code == 1 and "The account key is the certificate key" in err and not fake.requests


def test_the_account_key_is_refused_as_certificate_key(workdir, run):
    write_ini(workdir / "acme.ini", CertificateKeyFile="account.key")
    code, out, err = run(make_csr, "example.com")
    assert code == 1 and "The certificate key is the account key" in err
    assert not os.path.exists(workdir / "example.com.csr")


def test_ctrl_c_exits_130(fake, workdir, run):
    import requests
    fake.on("GET", "/directory", KeyboardInterrupt())
    code, out, err = run(get_account_info)
    assert code == 130 and "Interrupted." in err and "Traceback" not in err
    assert requests


def test_an_unknown_acme_ini_key_is_a_warning_once(fake, workdir, run):
    write_ini(workdir / "acme.ini", Contacts=None, Contact="mailto:a@example.org")
    fake.on("POST", "/acme/new-acct", status=201, json={"status": "valid"}, headers={"Location": ACCOUNT_URL})
    code, out, err = run(new_account, "--agree-tos")
    assert code == 0 and err.count("Warning:") == 1
    assert "unknown key 'contact'; it is ignored. Did you mean Contacts?" in err
    assert "contact" not in fake.posts()[0]["payload"]


def test_a_missing_package_is_one_line_with_the_fix():
    result = subprocess.run([sys.executable, "-c", "import sys; sys.modules['requests'] = None; "
                             "sys.path.insert(0, {0!r}); import get_directory".format(ROOT)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: The Python package requests is missing; ")
    assert ".venv" in result.stderr or "pip install -r" in result.stderr


def test_the_next_step_hints_carry_the_config_file(fake, workdir, cert_key, run):
    os.rename(workdir / "acme.ini", workdir / "other.ini")
    assert run(make_csr, "--config", "other.ini", "example.com")[0] == 0
    fake.existing_account()
    fake.on("POST", "/acme/new-order", status=201, json=an_order(), headers={"Location": ORDER_URL})
    code, out, err = run(request_certificate, "--config", "other.ini")
    assert code == 0 and ("Next: python get_challenges.py --config other.ini, then python http01_challenge.py "
                          "--config other.ini (or dns01_challenge.py, tlsalpn01_challenge.py, "
                          "dns_persist01_challenge.py)") in out


def test_the_tests_and_the_scripts_run_the_same_pycryptodome_backend():
    """ lib/__init__.py hides cffi from pycryptodome on CPython (50 to 90 ms of every start); the tests
    import lib first, so what they test is what a user runs """
    import platform
    import Crypto.Util._raw_api
    expected = "ctypes" if platform.python_implementation() == "CPython" else "cffi"
    assert Crypto.Util._raw_api.backend == expected
    script = ("import sys; sys.path.insert(0, {0!r}); import lib, myhelper, Crypto.Util._raw_api; "
              "print(Crypto.Util._raw_api.backend)".format(ROOT))
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60).stdout.strip() == expected


def test_a_line_another_thread_prints_never_lands_inside_one_of_ours():
    """ print() writes a line in pieces; the challenge web server's thread logs whole lines meanwhile """
    import threading
    target = io.StringIO()
    stream = frame.SafeStream(target)
    stream.write("Calling endpoint: ")
    other = threading.Thread(target=lambda: stream.write("  web server: 127.0.0.1 GET /token 200\n"))
    other.start()
    other.join()
    stream.write("https://acme.test/acme/authz/1")
    stream.write("\n")
    stream.write("Prompt (y/n): ")
    stream.flush()
    assert target.getvalue().splitlines() == ["  web server: 127.0.0.1 GET /token 200",
                                              "Calling endpoint: https://acme.test/acme/authz/1", "Prompt (y/n): "]
