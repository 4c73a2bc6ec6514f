""" Shared by every test: the fake CA of the mocked tests (fake_ca.py), the real CAs of the end-to-end
tests (real_cas.py), test folders in memory, a timeout that fails a hung mocked test fast, and keys
made and read quickly """

import os
import shutil
import sys
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402,F401  first, as in the scripts: the tests run pycryptodome's backend users get

import pytest  # noqa: E402
from Crypto.PublicKey import ECC, RSA  # noqa: E402

from fake_ca import *  # noqa: E402,F401,F403  (fixtures and helpers: fake, workdir, run, make_chain, ...)
from fake_ca import ROOT, fast_rsa_pem  # noqa: E402,F401
from real_cas import *  # noqa: E402,F401,F403  (fixtures and helpers: pebble, Reader, start_pebble, ...)
from real_cas import E2E  # noqa: E402


def pytest_configure(config):
    """ Test folders in memory (/dev/shm) when the machine has it and no --basetemp was given: on a
    virtual machine's disk, creating a folder or writing a file can take a millisecond or two, and the
    mocked tests make thousands; removed at the end of the run """
    if config.option.basetemp is None and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        import glob
        import tempfile
        for left in glob.glob("/dev/shm/pytest-acme-*-*"):    # a run a timeout ended (os._exit) left its folder
            pid = os.path.basename(left).split("-")[2]
            if pid.isdigit() and not os.path.exists("/proc/" + pid):
                shutil.rmtree(left, ignore_errors=True)
        folder = tempfile.mkdtemp(prefix="pytest-acme-{0}-".format(os.getpid()), dir="/dev/shm")
        config.option.basetemp = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


MOCKED_TIMEOUT = 20          # seconds a mocked test may take (the slowest takes 2): a hang fails fast


def pytest_collection_modifyitems(items):
    """ pytest.ini gives every test 300 s (end-to-end tests start real CAs); a mocked test that hangs, say a
    poll that never stops, fails after MOCKED_TIMEOUT instead, unless it sets its own timeout """
    for item in items:
        if item.get_closest_marker("e2e") is None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(MOCKED_TIMEOUT))



@pytest.fixture(scope="session", autouse=True)
def keys_made_and_read_quickly():
    """ The scripts make RSA keys and read the same few keys hundreds of times in a run. pycryptodome makes
    an RSA key in about a second and runs primality tests on every key it reads (20 ms for 2048 bits);
    cryptography validates every RSA key it loads (50 ms; 500 ms for 4096 bits); an EC key's
    public point is computed each time. Here a new RSA key comes
    from OpenSSL, and each distinct PEM is read (and checked) once per run: a key that is refused is
    refused every time. What the scripts do with keys is unchanged; end-to-end tests run the real thing """
    from cryptography.hazmat.primitives import serialization
    import_key, load_pem, generate = RSA.import_key, serialization.load_pem_private_key, RSA.generate
    ecc_import_key = ECC.import_key
    read = {}

    def once(function, data, *args, **kwargs):
        key = (function, data if isinstance(data, (bytes, str)) else bytes(data), args, tuple(sorted(kwargs.items())))
        if key not in read:
            read[key] = function(data, *args, **kwargs)
        return read[key]

    def quick_generate(bits, randfunc=None, e=65537):
        if randfunc is not None or e != 65537 or bits < 1024:
            return generate(bits, randfunc, e)
        numbers = serialization.load_pem_private_key(fast_rsa_pem(bits), None).private_numbers()
        return RSA.construct((numbers.public_numbers.n, e, numbers.d, numbers.p, numbers.q), consistency_check=False)

    patch = pytest.MonkeyPatch()
    patch.setattr(RSA, "import_key", lambda data, *args, **kwargs: once(import_key, data, *args, **kwargs))
    patch.setattr(serialization, "load_pem_private_key", lambda data, *args, **kwargs: once(
        load_pem, data, *args, **kwargs))
    patch.setattr(ECC, "import_key", lambda data, *args, **kwargs: once(ecc_import_key, data, *args, **kwargs))
    patch.setattr(RSA, "generate", quick_generate)
    yield
    patch.undo()


@pytest.fixture(scope="session", autouse=True)
def proxies_read_once():
    """ requests reads the proxy settings from the whole environment on every request (half a millisecond
    here, a few seconds in all); no test changes them, so each URL's answer is kept """
    import requests.sessions
    original, seen = requests.sessions.get_environ_proxies, {}

    def once(url, no_proxy=None):
        key = (urlparse(url).netloc, no_proxy)
        if key not in seen:
            seen[key] = original(url, no_proxy=no_proxy)
        return dict(seen[key])
    patch = pytest.MonkeyPatch()
    patch.setattr(requests.sessions, "get_environ_proxies", once)
    yield
    patch.undo()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """ Only tests marked e2e may start a real CA: `pytest -m "not e2e"` must run without one """
    E2E["now"] = item.get_closest_marker("e2e") is not None
