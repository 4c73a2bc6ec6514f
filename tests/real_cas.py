""" The real CAs of the end-to-end tests: Debian's Pebble started on 127.0.0.1 on free ports, and a
reader who runs the scripts as `python script.py ...` in a folder of their own. A test that starts
a real CA must be marked e2e (conftest.py checks it); a missing Pebble fails the run """

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
