""" Run a local Pebble (Let's Encrypt's test ACME server) for the examples and their tests

Debian's `pebble` package ships /usr/bin/pebble and /usr/bin/pebble-challtestsrv but no TLS
certificate for Pebble's own listener, so this tool:

1. makes a throwaway CA and a certificate for localhost / 127.0.0.1 signed by it (pebble-ca.pem is
   what the client trusts: acme.ini's CABundle);
2. writes pebble-config.json;
3. starts pebble-challtestsrv as Pebble's DNS server (every name resolves to 127.0.0.1) and Pebble
   itself, both on 127.0.0.1;
4. waits until the directory answers, and stops both cleanly afterwards.

    python tools/pebble.py                    # run in the foreground until Ctrl-C
    python tools/pebble.py --ini pebble.ini   # ... and write pebble.ini, an acme.ini for it
    python tools/pebble.py --ini eab.ini --eab    # a Pebble that requires external account binding

The ini file it writes points at this Pebble: ACMEDirectory, CABundle, HTTPPort and HTTPBind (where
Pebble checks http-01), TLSPort and TLSBind (where it checks tls-alpn-01), DNSHook (sets TXT records
in pebble-challtestsrv), and with --eab the EABKeyID and EABHMACKey Pebble was started with (that
file is written with mode 0600, as a key's). It never overwrites a file without --force. When
one of the usual ports (14000, 15000, 5002, 5001, 8053, 8055) is taken, a free one is used instead,
and said.

From Python (the walkthrough and the tests):

    with Pebble(workdir) as pebble:
        pebble.write_acme_ini("acme.ini")
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
USUAL_PORTS = {"port": 14000, "management_port": 15000, "http_port": 5002, "tls_port": 5001, "dns_port": 8053,
               "challtest_port": 8055}
PORT_NAMES = {"port": "ACME", "management_port": "Pebble management", "http_port": "http-01 checks",
              "tls_port": "tls-alpn-01 checks", "dns_port": "DNS (UDP)", "challtest_port": "challtestsrv management"}
# The MAC key a CA would hand out for EAB; this one is in Pebble's example configuration
EAB_KEYS = {"kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"}
INSTALL_HINT = "Install it with: sudo apt-get install pebble   (Debian 12+ / Ubuntu 22.04+)"


def log_tail(filename, lines):
    """ The last lines of a server's log, for an error message """
    try:
        with open(filename, encoding="utf8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def stop_process(process):
    """ SIGTERM, then SIGKILL after 10 s: a test server never outlives its test """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class PebbleError(Exception):
    """ Pebble could not be started; the message says why and what to do """


def free_port():
    """ A TCP port on 127.0.0.1 that nothing listens on right now """
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_in_use(port, udp=False):
    """ Something listens on the port (a socket lingering in TIME_WAIT does not count, as for any server) """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_tls_files(folder):
    """ A throwaway CA and a localhost certificate for Pebble's HTTPS listeners """
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder()
               .subject_name(_name("ACME examples local test CA")).issuer_name(_name("ACME examples local test CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress
    cert = (x509.CertificateBuilder()
            .subject_name(_name("localhost")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {name: os.path.join(folder, name) for name in ("pebble-ca.pem", "pebble-cert.pem", "pebble-key.pem")}
    with open(paths["pebble-ca.pem"], "wb") as f:
        f.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["pebble-cert.pem"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.open(paths["pebble-key.pem"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


class Pebble:
    """ Pebble and pebble-challtestsrv on 127.0.0.1, with their files in workdir """

    def __init__(self, workdir, env=None, eab_keys=None, **ports):
        self.workdir = os.path.abspath(workdir)
        for name, usual in USUAL_PORTS.items():
            setattr(self, name, ports.pop(name, usual))
        if ports:
            raise TypeError("unknown ports: {0}".format(", ".join(ports)))
        # No random validation delay, no nonce rejection, valid authorizations reused as rarely as Pebble
        # allows unless asked (tools/soak.py asks): the same steps print the same lines. Pebble's rarest is
        # 1 order in 100 (wfe.go reuses unless rand.Intn(100) > PEBBLE_AUTHZREUSE); tests/test_readme.py knows
        self.env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
        self.env.update(env or {})
        self.eab_keys = eab_keys
        self.processes = []

    @classmethod
    def on_free_ports(cls, workdir, **kwargs):
        """ A Pebble whose ports are all free now (for tests that may run beside a walkthrough) """
        ports = {name: free_port() for name in USUAL_PORTS}
        ports.update(kwargs)
        return cls(workdir, **ports)

    def move_taken_ports(self):
        """ Replace each port that something already listens on by a free one; returns what moved """
        moved = []
        for name in USUAL_PORTS:
            port = getattr(self, name)
            if port_in_use(port, udp=name == "dns_port"):
                setattr(self, name, free_port())
                moved.append((PORT_NAMES[name], port, getattr(self, name)))
        return moved

    # -- what a client needs --------------------------------------------

    @property
    def directory_url(self):
        return "https://localhost:{0}/dir".format(self.port)

    @property
    def management_url(self):
        return "https://localhost:{0}".format(self.management_port)

    @property
    def challtest_url(self):
        return "http://{0}:{1}".format(HOST, self.challtest_port)

    @property
    def ca_file(self):
        return os.path.join(self.workdir, "pebble-ca.pem")

    @property
    def log_file(self):
        return os.path.join(self.workdir, "pebble.log")

    @property
    def dns_hook(self):
        """ The DNSHook that sets TXT records in this Pebble's pebble-challtestsrv """
        return "{0} {1} --url {2}".format(shlex.quote(sys.executable),
                                          shlex.quote(os.path.join(HERE, "challtestsrv_hook.py")), self.challtest_url)

    def write_acme_ini(self, filename, force=True, **extra):
        """ An acme.ini for the examples, pointing at this Pebble (an existing file only with force) """
        if not force and os.path.exists(filename):
            raise PebbleError("{0} already exists; it was not overwritten. Choose another name, or pass --force "
                              "to replace it.".format(filename))
        values = {
            "UserAgent": "neoprime.io-acme-client/1.0",
            "AccountKeyFile": "account.key",
            "CertificateKeyFile": "example.test.key",
            "CSRFile": "example.test.csr",
            "OrderFile": "order.json",
            "ChainFile": "example.test.chain.pem",
            "ACMEDirectory": self.directory_url,
            "Contacts": "mailto:someone@example.com;mailto:someone2@example.com",
            "Language": "en",
            "CABundle": self.ca_file,
            "Timeout": "30",
            "HTTPPort": str(self.http_port),
            "HTTPBind": HOST,
            "TLSPort": str(self.tls_port),
            "TLSBind": HOST,
            "DNSHook": self.dns_hook,
        }
        if self.eab_keys:
            values["EABKeyID"], values["EABHMACKey"] = next(iter(self.eab_keys.items()))
        values.update(extra)
        # an ini that holds the EAB key is private, as a key file is (the scripts warn otherwise)
        private = bool(values.get("EABHMACKey"))
        with open(os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666), "w",
                  encoding="utf8") as f:
            if private:
                os.chmod(filename, 0o600)       # also when it replaces an older file
            f.write("# Written by tools/pebble.py for a local Pebble\n[acme-neoprime]\n")
            for key, value in values.items():
                f.write("{0} = {1}\n".format(key, value))

    def write_alibaba_ini(self, filename, cloud, root=ROOT):
        """ An acme.ini for the Alibaba Cloud scripts: this Pebble, and a fake Alibaba Cloud API (cloud);
        DNSHook runs the alidns_hook.py of the project in root """
        self.write_acme_ini(filename, AccountKeyFile="alibaba-account.key", CertificateKeyFile="ali.example.test.key",
                            CSRFile="ali.example.test.csr", ChainFile="ali.example.test.chain.pem",
                            DNSHook="{0} {1}".format(shlex.quote(sys.executable),
                                                     shlex.quote(os.path.join(root, "alidns_hook.py"))),
                            DNSResolver="{0}:{1}".format(HOST, self.dns_port), DNSWait="0", **cloud.ini_values())

    # -- start and stop -------------------------------------------------

    def start(self, timeout=30):
        for program in ("pebble", "pebble-challtestsrv"):
            if shutil.which(program) is None:
                raise PebbleError("{0} is not installed. {1}".format(program, INSTALL_HINT))
        for name in USUAL_PORTS:
            if name != "http_port" and port_in_use(getattr(self, name), udp=name == "dns_port"):
                raise PebbleError("Port {0} on {1} ({2}) is already in use: is another Pebble running? "
                                  "Stop it, or free the port.".format(getattr(self, name), HOST, PORT_NAMES[name]))
        os.makedirs(self.workdir, exist_ok=True)
        tls = make_tls_files(self.workdir)
        config = {"pebble": {
            "listenAddress": "{0}:{1}".format(HOST, self.port),
            "managementListenAddress": "{0}:{1}".format(HOST, self.management_port),
            "certificate": tls["pebble-cert.pem"],
            "privateKey": tls["pebble-key.pem"],
            "httpPort": self.http_port,
            "tlsPort": self.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(self.eab_keys),
        }}
        if self.eab_keys:
            config["pebble"]["externalAccountMACKeys"] = self.eab_keys
        config_file = os.path.join(self.workdir, "pebble-config.json")
        with open(config_file, "w", encoding="utf8") as f:
            json.dump(config, f, indent=2)

        log = open(self.log_file, "ab")
        env = dict(os.environ, **self.env)
        self.processes.append(subprocess.Popen(
            ["pebble-challtestsrv", "-defaultIPv4", HOST, "-defaultIPv6", "",
             "-dns01", "{0}:{1}".format(HOST, self.dns_port), "-http01", "", "-https01", "", "-tlsalpn01", "",
             "-management", "{0}:{1}".format(HOST, self.challtest_port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True))
        self.processes.append(subprocess.Popen(
            ["pebble", "-config", config_file, "-dnsserver", "{0}:{1}".format(HOST, self.dns_port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True))
        log.close()
        try:
            self._wait_until_ready(timeout)
        except PebbleError:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise PebbleError("{0} exited with status {1}; see {2}:\n{3}".format(
                        process.args[0], process.returncode, self.log_file, self.log_tail()))
            try:
                ok = requests.get(self.directory_url, verify=self.ca_file, timeout=2).ok
                ok = ok and requests.get(self.challtest_url + "/dns-request-history", timeout=2) is not None
                if ok:
                    return
            except requests.exceptions.RequestException:
                pass
            time.sleep(0.2)
        raise PebbleError("Pebble did not answer at {0} within {1} s; see {2}:\n{3}".format(
            self.directory_url, timeout, self.log_file, self.log_tail()))

    def log_tail(self, lines=15):
        return log_tail(self.log_file, lines)

    def stop(self):
        for process in reversed(self.processes):
            stop_process(process)
        self.processes = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- Pebble's and challtestsrv's management APIs ----------------------

    def cert_status(self, serial_hex):
        """ Pebble's view of a certificate: /cert-status-by-serial/<hex> (shows revocation) """
        url = "{0}/cert-status-by-serial/{1}".format(self.management_url, serial_hex)
        response = requests.get(url, verify=self.ca_file, timeout=10)
        response.raise_for_status()
        return response.json()

    def served_requests(self):
        """ The ACME requests Pebble has logged (one line per request it served) """
        with open(self.log_file, encoding="utf8", errors="replace") as f:
            return [line for line in f if "Pebble " in line and (" GET " in line or " POST " in line
                                                                  or " HEAD " in line)]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run a local Pebble ACME server until Ctrl-C.")
    parser.add_argument("--dir", default="pebble-run", help="folder for Pebble's files (default: %(default)s)")
    parser.add_argument("--ini", metavar="FILE", help="also write an ini file for the examples that points at it")
    parser.add_argument("--force", action="store_true", help="replace the --ini file if it exists")
    parser.add_argument("--eab", action="store_true", help="require external account binding (its key in --ini)")
    parser.add_argument("--alibaba-ini", metavar="FILE", help="also run a fake Alibaba Cloud API and write FILE for it")
    for name, usual in USUAL_PORTS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=usual, metavar="PORT",
                            help="{0} port (default: {1}; a free one when taken)".format(PORT_NAMES[name], usual))
    args = parser.parse_args(argv)
    for ini in (args.ini, args.alibaba_ini):
        if ini and os.path.exists(ini) and not args.force:
            print("Error: {0} already exists; it was not overwritten. Choose another name, or pass --force to "
                  "replace it.".format(ini), file=sys.stderr)
            return 1
    # kill (SIGTERM) stops Pebble as cleanly as Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    pebble = Pebble(args.dir, eab_keys=EAB_KEYS if args.eab else None,
                    **{name: getattr(args, name) for name in USUAL_PORTS})
    for what, taken, port in pebble.move_taken_ports():
        print("Port {0} ({1}) is taken; using {2} instead.".format(taken, what, port))
    try:
        pebble.start()
    except PebbleError as error:
        print("Error:", error, file=sys.stderr)
        return 1
    print("Pebble is running: ACMEDirectory =", pebble.directory_url)
    print("Trust its TLS certificate with: CABundle =", pebble.ca_file)
    print("http-01 challenges are checked on port", pebble.http_port, "of 127.0.0.1, tls-alpn-01 on port",
          pebble.tls_port)
    if args.ini:
        pebble.write_acme_ini(args.ini)
        print("Wrote {0}: use it with --config {0}".format(args.ini))
    cloud = None
    if args.alibaba_ini:
        from fake_alibaba import FakeAlibaba
        cloud = FakeAlibaba(os.path.join(args.dir, "alibaba"), zones=("ali.example.test",),
                            cdn_domains=("cdn.ali.example.test",), api_domains=(("g1", "api.ali.example.test"),),
                            challtest_url=pebble.challtest_url).start()
        pebble.write_alibaba_ini(args.alibaba_ini, cloud)
        print("A fake Alibaba Cloud API runs at {0}; wrote {1}. Its credentials:".format(cloud.endpoint,
                                                                                         args.alibaba_ini))
        print("export ALIBABA_CLOUD_ACCESS_KEY_ID={0} ALIBABA_CLOUD_ACCESS_KEY_SECRET={1}".format(
            cloud.access_key_id, cloud.secret))
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while all(p.poll() is None for p in pebble.processes):
            time.sleep(0.5)
        print("Error: Pebble stopped; see", pebble.log_file, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if cloud:
            cloud.stop()
        pebble.stop()


if __name__ == "__main__":
    sys.exit(main())
