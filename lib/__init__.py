""" The machinery under the scripts: what is not the lesson, one module per topic

    frame     the frame every script runs in: options, run(), one message on failure, safe printing
    config    acme.ini's values, checked
    send      sending and retrying: one HTTPS session, timeouts, size caps, nonces, Retry-After, polling
    answers   reading what the server said: JSON, fields by type, problem documents, headers, URLs
    files     files written atomically; keys loaded, checked, created
    certs     X.509: certificate chains read, checked and saved
    orders    the saved order, the profile to ask for, an order checked against what was asked
    authz     the authorization loop: fetch each authorization, answer its challenge, poll
    http01    http-01: the built-in web server, files in a webroot, the self-check
    dns01     dns-01: the DNSHook runner, TXT records by hand
    tlsalpn01 tls-alpn-01: the validation certificate and the built-in TLS server that serves it by SNI
    dnspersist dns-persist-01: the standing record's name and value, read and judged; the read-only checks
    dnslookup DNS look-ups with dnspython, read-only: TXT records through DNSResolver (every script's)
    renewal   renewal: when (ARI or the lifetime rule), the state file, the lock, the key and chain swap
    alibaba   Alibaba Cloud: the optional SDK's setup, credentials, endpoints, masked printing

The top level holds the article's files (helper.py, myhelper.py, acme.ini) and one script per step.
Importing lib first turns a missing package into one line that says how to install it.
"""

import os
import platform
import sys


def missing_package(module):
    """ One line for a missing package: what is missing, and the command that installs it """
    package = {"Crypto": "pycryptodome"}.get(module, module)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    venv = os.path.join(here, ".venv", "bin", "python")
    fix = ("run the script with {0} (or: source {1})".format(venv, os.path.join(here, ".venv", "bin", "activate"))
           if os.path.exists(venv) else "{0} -m pip install -r {1}".format(
               os.path.basename(sys.executable), os.path.join(here, "requirements.txt")))
    return "Error: The Python package {0} is missing; {1}".format(package, fix)


def prefer_ctypes_for_pycryptodome():
    """ pycryptodome reaches its C code through cffi when cffi is installed (cryptography brings it) and
    ctypes otherwise, at the same speed once loaded; but with cffi it parses C declarations at every
    start, 50 to 90 ms of each run. pycryptodome chooses once, when it is first imported: cffi is hidden
    from it for that moment only (afterwards `import cffi` works as usual), on CPython only (cffi is
    PyPy's own way to C). tests/conftest.py imports lib first, so the tests run the backend users get.
    Delete this function and its call to let pycryptodome use cffi. """
    if platform.python_implementation() != "CPython" or "Crypto.Util._raw_api" in sys.modules:
        return
    hidden = "cffi" not in sys.modules
    if hidden:
        sys.modules["cffi"] = None
    try:
        import Crypto.Util._raw_api  # noqa: F401
    except ModuleNotFoundError:
        pass                                  # said below, in one line
    finally:
        if hidden:
            del sys.modules["cffi"]


prefer_ctypes_for_pycryptodome()

try:                                          # before anything needs them: a line, not a traceback
    import Crypto  # noqa: F401
    import cryptography  # noqa: F401
    import requests  # noqa: F401
except ModuleNotFoundError as error:
    sys.exit(missing_package(error.name.split(".")[0]))
