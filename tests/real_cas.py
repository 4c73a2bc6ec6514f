""" The real CAs of the end-to-end tests: Debian's Pebble and acme2certifier started on 127.0.0.1 on
free ports, and a reader who runs the scripts as `python script.py ...` in a folder of their own. A
test that starts a real CA must be marked e2e (conftest.py checks it); a missing Pebble or
acme2certifier fails the run.

The session-scoped servers (pebble, a2c_persist, a2c_jit) are shared by every test a pytest-xdist
worker runs (each worker is a session of its own, so there are at most four of each), one test at a
time: a test that uses one gives each name it orders, and each DNS record it sets, a label of its
own, and counts what the server did as a difference (before and after), never from zero. """

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

E2E = {"now": False}          # is the running test marked e2e? (conftest.py's pytest_runtest_setup)


def pebble_binaries():
    missing = [p for p in ("pebble", "pebble-challtestsrv") if shutil.which(p) is None]
    if missing:
        pytest.fail("Pebble is not installed ({0}): the end-to-end tests need it. Install it with "
                    "apt-get install pebble, or run ./test.sh which does.".format(", ".join(missing)))



def start_pebble(tmp_path_factory, name, **kwargs):
    from pebble import Pebble
    assert E2E["now"], "this test starts Pebble: mark it @pytest.mark.e2e"
    pebble_binaries()
    pebble = Pebble.on_free_ports(str(tmp_path_factory.mktemp(name)), **kwargs)
    pebble.start()
    return pebble


@pytest.fixture(scope="session")
def pebble(tmp_path_factory):
    p = start_pebble(tmp_path_factory, "pebble")
    yield p
    p.stop()


def start_acme2certifier(tmp_path_factory, name, **options):
    """ acme2certifier (tools/acme2certifier.py, from its own venv .venv-a2c) in a new folder """
    from acme2certifier import VENV_PYTHON, Acme2Certifier
    assert E2E["now"], "this test starts acme2certifier: mark it @pytest.mark.e2e"
    assert os.path.exists(VENV_PYTHON), "acme2certifier is missing: tools/setup.sh requirements-dev.txt makes it"
    return Acme2Certifier(str(tmp_path_factory.mktemp(name)), **options).start()


@pytest.fixture(scope="session")
def a2c_persist(tmp_path_factory):
    """ acme2certifier validating: dns-persist-01 offered, policy=wildcard accepted for wildcard names,
    http-01 and tls-alpn-01 on its own free ports; its DNS server is a2c_persist.dns (tools/local_dns.py) """
    server = start_acme2certifier(tmp_path_factory, "a2c-persist", dns_persist=True, policy_wildcard=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def a2c_jit(tmp_path_factory):
    """ acme2certifier with dns-persist-01 just-in-time validation: an authorization whose standing record
    is in its DNS (a2c_jit.dns) when it is fetched comes back valid """
    server = start_acme2certifier(tmp_path_factory, "a2c-persist-jit", jit_validation=True)
    yield server
    server.stop()


class Reader:
    """ A folder with acme.ini for one Pebble, where scripts run as `python script.py ...` """

    def __init__(self, folder, pebble, **ini):
        self.folder = str(folder)
        self.pebble = pebble
        pebble.write_acme_ini(os.path.join(self.folder, "acme.ini"), **ini)

    def run(self, script, *args, ok=True, env=None):
        result = subprocess.run([sys.executable, os.path.join(ROOT, script)] + list(args), cwd=self.folder,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180,
                                env=dict(os.environ, **(env or {})))
        if ok is not None:
            assert (result.returncode == 0) == ok, "{0} {1}\n{2}\n{3}".format(
                script, args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def path(self, name):
        return os.path.join(self.folder, name)

    def account(self, *key_args):
        self.run("make_account_key.py", "--bits", "2048", *key_args)
        self.run("new_account.py", "--agree-tos")

    def certificate(self):
        with open(self.path("example.test.chain.pem"), "rb") as f:
            from cryptography import x509
            return x509.load_pem_x509_certificates(f.read())
