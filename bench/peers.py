""" issue_certificate.py and its peers (acme-tiny, uacme, certbot) as the benchmark runs them

Every client issues for one name with http-01, its files written into the same webroot and served
by one static web server, from a CSR made outside the timing, with an account key of the same size,
and trusting the same file: the system's CA bundle plus the test CA, as a real machine has.

    ours       issue_certificate.py --csr --key --webroot; CABundle in its ini
    acme-tiny  --acme-dir --disable-check; SSL_CERT_FILE
    uacme      issue CSRFILE with its uacme.sh hook (UACME_CHALLENGE_PATH); UACME_CAINFO from 1.7.6 on;
               before that it reads only the system bundle, so the bench shows it ours at that path in
               a private mount namespace (root only)
    certbot    certonly --webroot --csr; REQUESTS_CA_BUNDLE; its own account (certbot keeps keys in its
               own format), registered outside the timing with the same key size

A client that is not installed, or cannot be given the trust store, is reported with the reason.
"""

import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where Debian, Ubuntu, Alpine and Arch keep the system's trust store in one file; then Fedora, RHEL
SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "UACME_CAINFO",
                "UACME_CAPATH")
UACME_HOOK = "/usr/share/uacme/uacme.sh"    # Debian's copy of the hook uacme ships for http-01 webroots


class TrustStore:
    """ One PEM file: the system bundle (or certifi's) followed by the test CA """

    def __init__(self, test_ca, path):
        self.system = next((p for p in SYSTEM_BUNDLES if os.path.isfile(p)), None)
        if self.system:
            self.source = self.system
        else:
            import certifi
            self.source = certifi.where()
        with open(path, "wb") as out:
            for name in (self.source, test_ca):
                with open(name, "rb") as f:
                    data = f.read()
                out.write(data if data.endswith(b"\n") else data + b"\n")
        self.path = path
        with open(path, "rb") as f:
            self.certificates = f.read().count(b"-----BEGIN CERTIFICATE-----")

    def env(self):
        """ The environment every client runs in: each CA setting it may read names this file """
        env = {k: v for k, v in os.environ.items() if k not in CA_VARIABLES}
        env.update(SSL_CERT_FILE=self.path, REQUESTS_CA_BUNDLE=self.path, UACME_CAINFO=self.path)
        return env


def version_of(command, pattern=r"(\d+(?:\.\d+)+)"):
    found = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    match = re.search(pattern, found.stdout + found.stderr)
    return match.group(1) if match else "?"


def at_least(version, wanted):
    return version != "?" and tuple(int(x) for x in version.split(".")[:3]) >= wanted


def debian_version(package):
    found = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else ""


class Client:
    """ name, label (with its version), missing (why it cannot run, or None) """
    name = label = ""
    missing = None

    def prepare(self, bench, directory):
        """ What a client needs once per ACME directory, outside the timing """

    def command(self, bench, directory, name, csr):
        """ (argv, extra environment) that issue a certificate for the CSR """
        raise NotImplementedError


class Ours(Client):
    name = "ours"
    label = "`issue_certificate.py --webroot`"

    def prepare(self, bench, directory):
        bench.ini_for(directory)

    def command(self, bench, directory, name, csr):
        return [sys.executable, os.path.join(ROOT, "issue_certificate.py"), "--config", bench.ini_for(directory),
                "--csr", csr, "--key", "example.test.key", "--webroot", bench.webroot,
                "--chain", name + ".chain.pem"], {}


class AcmeTiny(Client):
    name = "acme-tiny"

    def __init__(self):
        try:
            import acme_tiny  # noqa: F401
            from importlib.metadata import version
            self.argv = [sys.executable, "-m", "acme_tiny"]
            self.label = "acme-tiny {0} (pip)".format(version("acme-tiny"))
        except ImportError:
            if shutil.which("acme-tiny"):
                self.argv = ["acme-tiny"]
                self.label = "acme-tiny {0} (Debian)".format(debian_version("acme-tiny") or "?")
            else:
                self.label = "acme-tiny"
                self.missing = "not installed (`.venv/bin/pip install -r bench/requirements.txt` or " \
                               "`apt-get install acme-tiny`)"

    def command(self, bench, directory, name, csr):
        return self.argv + ["--account-key", "account.key", "--csr", csr, "--acme-dir", bench.challenges,
                            "--directory-url", directory, "--disable-check", "--quiet"], {}


class Uacme(Client):
    name = "uacme"

    def __init__(self, store):
        self.wrapper = []
        if not shutil.which("uacme"):
            self.label, self.missing = "uacme", "not installed (`apt-get install uacme`)"
            return
        version = version_of(["uacme", "-V"])
        self.label = "uacme {0}".format(debian_version("uacme") or version)
        if not os.path.isfile(UACME_HOOK):
            self.missing = "its hook uacme.sh is not at {0}".format(UACME_HOOK)
        elif at_least(version, (1, 7, 6)):
            pass                                            # reads UACME_CAINFO (in TrustStore.env)
        elif os.geteuid() == 0 and shutil.which("unshare") and store.system:
            # uacme before 1.7.6 has no CA setting: libcurl reads the system bundle. Show it the same
            # file at that path, in a mount namespace of its own (nothing outside it changes)
            self.wrapper = ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" "$1" && shift && exec "$@"',
                            store.path, store.system]
            check = subprocess.run(self.wrapper + ["true"], capture_output=True, text=True)
            if check.returncode != 0:
                self.missing = "{0} has no CA setting (UACME_CAINFO came in 1.7.6) and a private mount " \
                               "namespace failed: {1}".format(self.label, check.stderr.strip()[:200])
            else:
                self.label += " (CA bundle bind-mounted at {0})".format(store.system)
        else:
            self.missing = "{0} has no CA setting (UACME_CAINFO came in 1.7.6); the bench needs root to show it " \
                           "the trust store at the system bundle's path".format(self.label)

    def prepare(self, bench, directory):
        private = os.path.join(bench.folder, "uacme", "private")
        os.makedirs(private, exist_ok=True)
        shutil.copyfile(os.path.join(bench.folder, "account.key"), os.path.join(private, "key.pem"))
        os.chmod(os.path.join(private, "key.pem"), 0o600)

    def command(self, bench, directory, name, csr):
        return self.wrapper + ["uacme", "-c", os.path.join(bench.folder, "uacme"), "-a", directory, "-h", UACME_HOOK,
                               "issue", csr], {"UACME_CHALLENGE_PATH": bench.challenges}


class Certbot(Client):
    name = "certbot"

    def __init__(self):
        pip = os.path.join(ROOT, "bench-run", "certbot", "bin", "certbot")
        if shutil.which("certbot"):
            self.program = shutil.which("certbot")
            debian = debian_version("certbot")
            self.label = "certbot {0}".format(debian + " (Debian)" if debian else version_of([self.program,
                                                                                             "--version"]))
        elif os.path.isfile(pip):
            self.program = pip
            self.label = "certbot {0} (pip, bench-run/certbot)".format(version_of([pip, "--version"]))
        else:
            self.label = "certbot"
            self.missing = "not installed (`apt-get install certbot`, or `python3 -m venv bench-run/certbot && " \
                           "bench-run/certbot/bin/pip install certbot`)"

    def common(self, bench, directory):
        folder = os.path.join(bench.folder, "certbot")
        return ["--config-dir", os.path.join(folder, "config"), "--work-dir", os.path.join(folder, "work"),
                "--logs-dir", os.path.join(folder, "logs"), "--server", directory, "--non-interactive"]

    def prepare(self, bench, directory):
        bench.run([self.program, "register"] + self.common(bench, directory) +
                  ["--agree-tos", "--register-unsafely-without-email", "--rsa-key-size", str(bench.account_bits)])

    def command(self, bench, directory, name, csr):
        return [self.program, "certonly"] + self.common(bench, directory) + [
            "--webroot", "-w", bench.webroot, "--csr", csr, "--cert-path", name + ".cert.pem",
            "--fullchain-path", name + ".fullchain.pem", "--chain-path", name + ".chain-only.pem"], {}


def clients(store, wanted):
    """ Ours first, then each peer asked for (available or not: a missing one says why) """
    found = [Ours()]
    for name in wanted:
        found.append({"acme-tiny": AcmeTiny, "uacme": lambda: Uacme(store), "certbot": Certbot}[name]())
    return found
