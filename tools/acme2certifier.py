""" Run acme2certifier (an ACME server in Python, PyPI acme2certifier) on 127.0.0.1, for what
Pebble 2.4 cannot show: renewal information (RFC 9773) and certificate profiles

acme2certifier pulls in pyOpenSSL and certbot's acme package, so it lives in a virtual environment
of its own, .venv-a2c (tools/setup.sh makes it). This tool, run with any Python:

1. makes a throwaway TLS CA with a certificate for localhost / 127.0.0.1, and an issuing CA for
   acme2certifier's OpenSSL CA handler;
2. writes acme_srv.cfg: the CA handler, a database file, profiles (classic, tlsserver, shortlived,
   as Let's Encrypt names them), renewal information, and by default challenge validation switched
   off (the ARI and profile tests; http-01 and dns-01 are proven against Pebble);
3. starts acme2certifier's WSGI application behind a TLS-wrapped wsgiref server, with .venv-a2c's
   Python, and waits until its directory answers.

    python tools/acme2certifier.py --ini a2c.ini      # in the foreground until Ctrl-C
    python tools/acme2certifier.py --dns-persist      # validating, dns-persist-01 offered (--jit: JIT too)

From Python (the tests):

    with Acme2Certifier(workdir) as ca:
        ca.write_acme_ini("acme.ini")

With validation on (validation=True, or dns_persist=True), acme2certifier really checks challenges,
all on 127.0.0.1: it asks a DNS server for names and TXT records (ca.dns, a tools/local_dns.py
LocalDNS this object starts, or the one passed as dns=), fetches http-01 from ca.http_port and makes
its tls-alpn-01 connection to ca.tls_alpn_port. acme2certifier itself has no setting for any of these
ports (dns_server_list takes addresses only, dnspython asks them on port 53; http-01 goes to port 80
and tls-alpn-01 to port 443, hard-wired), so the server process patches them (SERVER, below):

    with Acme2Certifier(workdir, dns_persist=True) as ca:    # jit_validation=True: JIT as well
        ca.dns.set_txt("_validation-persist.example.test",
                       "{0}; accounturi={1}".format(ca.issuer_domain_names[0], account_url))
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from local_dns import LocalDNS  # noqa: E402
from pebble import HOST, free_port, log_tail, make_tls_files, stop_process  # noqa: E402

VENV_PYTHON = os.path.join(ROOT, ".venv-a2c", "bin", "python")
PROFILES = {"classic": "https://letsencrypt.org/docs/profiles#classic",
            "tlsserver": "https://letsencrypt.org/docs/profiles#tlsserver",
            "shortlived": "https://letsencrypt.org/docs/profiles#shortlived"}
# The issuer domain name a dns-persist-01 record must name (acme2certifier offers its caaidentities)
ISSUER_DOMAIN = "acme2certifier.test"

# Runs inside .venv-a2c: acme2certifier's WSGI application behind wsgiref, over TLS
SERVER = r'''
import json, os, ssl, sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from acme2certifier.share.acme2certifier_wsgi import application

class Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        sys.stderr.write("a2c {0}\n".format(format % args))

def over_tls(environ, start_response):
    environ["wsgi.url_scheme"] = "https"     # wsgiref does not know the socket is wrapped in TLS
    return application(environ, start_response)

host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# test shims (see Acme2Certifier): the ports acme2certifier has no setting for, and one fix
shims = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}

if shims.get("dns"):
    # [DEFAULT] dns_server_list holds addresses only, and dnspython asks them on port 53: every
    # resolver acme2certifier makes (txt_get, fqdn_resolve) asks the test DNS server's port instead
    import dns.resolver
    reset = dns.resolver.BaseResolver.reset
    def reset_to_test_port(self):
        reset(self)
        self.nameserver_ports = {shims["dns_host"]: shims["dns"]}
    dns.resolver.BaseResolver.reset = reset_to_test_port
    # fqdn_resolve reads /etc/resolv.conf before it sets dns_server_list: no need for one to exist
    init = dns.resolver.Resolver.__init__
    def init_without_system(self, filename="/etc/resolv.conf", configure=True):
        init(self, filename, configure=False)
    dns.resolver.Resolver.__init__ = init_without_system
if shims.get("http"):
    # http-01 is fetched from http://<resolved address>/ (port 80, no setting): add the client's port
    # to the URL (and so to the Host header, as any HTTP client would for a port that is not 80)
    from acme2certifier.acme_srv.helpers import network
    url_host = network._http_url_host
    network._http_url_host = lambda name: "{0}:{1}".format(url_host(name), shims["http"])
if shims.get("tls_alpn"):
    # tls-alpn-01 connects to port 443 (passed as a constant by its validator, no setting); the
    # validator imports servercert_get from acme_srv.helper when it runs, so this replacement is used
    from acme2certifier.acme_srv import helper
    servercert_get = helper.servercert_get
    def servercert_get_on_test_port(logger, hostname, port=443, *args, **kwargs):
        return servercert_get(logger, hostname, shims["tls_alpn"], *args, **kwargs)
    helper.servercert_get = servercert_get_on_test_port
if shims.get("challenge_errors"):
    # The SQLite database handler (wsgi_handler) leaves validation_error out of its UPDATE, so a failed
    # challenge comes back "invalid" with no "error"; the Django handler stores it. Store it here too,
    # and the challenge carries the problem document its validator wrote.
    from acme2certifier.dbhandlers import wsgi_handler
    challenge_update = wsgi_handler.DBstore.challenge_update
    def challenge_update_with_error(self, data_dic):
        challenge_update(self, data_dic)
        if data_dic.get("validation_error"):
            self._db_open()
            self.cursor.execute("UPDATE challenge SET validation_error = ? WHERE name = ?",
                                (data_dic["validation_error"], data_dic["name"]))
            self._db_close()
    wsgi_handler.DBstore.challenge_update = challenge_update_with_error

httpd = make_server(host, port, over_tls, handler_class=Quiet)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
print("ready", flush=True)
httpd.serve_forever()
'''


class Acme2CertifierError(Exception):
    """ acme2certifier could not be started; the message says why and what to do """


def make_issuing_ca(folder):
    """ The CA that acme2certifier's OpenSSL handler signs with (RSA, with a Subject Key Identifier,
    so that issued certificates carry the Authority Key Identifier that ARI's certificate ID needs) """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    now = datetime.datetime.now(datetime.timezone.utc)
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "acme2certifier test issuing CA")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    ca = os.path.join(folder, "ca")
    os.makedirs(os.path.join(ca, "certs"), exist_ok=True)
    with open(os.path.join(ca, "ca-key.pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.BestAvailableEncryption(b"Test1234")))
    with open(os.path.join(ca, "ca-cert.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return ca


class Acme2Certifier:
    """ acme2certifier on 127.0.0.1:port, its files in workdir

    validation: check challenges for real (default: only when dns_persist is on). Then names resolve
    through a DNS server on 127.0.0.1 (dns: a started LocalDNS, or anything with .port; default: a
    LocalDNS this object starts and stops, with its management API), http-01 is fetched from
    http_port and tls-alpn-01 asked on tls_alpn_port (default: free ports), all on 127.0.0.1.
    dns_persist: offer dns-persist-01 (issuer_domain_names are its caaidentities); jit_validation:
    look for the record when an authorization is fetched (implies dns_persist); policy_wildcard:
    dns_persist_allow_policy_wildcard (wildcard orders accept a record with policy=wildcard).
    challenge_errors: a failed challenge carries its "error" (stock 0.46.3 with its SQLite handler
    drops it; False shows that). """

    def __init__(self, workdir, port=None, validity_days=90, renewal_percent=66, window_seconds=None,
                 validation=None, dns_persist=False, jit_validation=False, policy_wildcard=False,
                 issuer_domain_names=(ISSUER_DOMAIN,), dns=None, http_port=None, tls_alpn_port=None,
                 challenge_errors=True):
        self.workdir = os.path.abspath(workdir)
        self.port = port or free_port()
        self.validity_days = validity_days
        self.renewal_percent = renewal_percent        # the window opens after this share of the lifetime...
        self.window_seconds = window_seconds          # ...and lasts this long (default: until expiry)
        self.dns_persist = dns_persist or jit_validation
        self.jit_validation = jit_validation
        self.policy_wildcard = policy_wildcard
        self.issuer_domain_names = list(issuer_domain_names)
        self.validation = self.dns_persist if validation is None else validation
        self.dns = dns
        self.http_port = http_port or (free_port() if self.validation else None)
        self.tls_alpn_port = tls_alpn_port or (free_port() if self.validation else None)
        self.challenge_errors = challenge_errors
        self._own_dns = None
        self.process = None

    @property
    def directory_url(self):
        return "https://localhost:{0}/directory".format(self.port)

    @property
    def ca_file(self):
        return os.path.join(self.workdir, "pebble-ca.pem")

    @property
    def log_file(self):
        return os.path.join(self.workdir, "acme2certifier.log")

    def write_config(self):
        ca = make_issuing_ca(self.workdir)
        config = {
            "DEFAULT": {"debug": "False"},
            "Nonce": {"nonce_check_disable": "False"},
            "CAhandler": {"handler_module": "acme2certifier.cahandlers.openssl_ca_handler",
                          "issuing_ca_key": os.path.join(ca, "ca-key.pem"), "issuing_ca_key_passphrase": "Test1234",
                          "issuing_ca_cert": os.path.join(ca, "ca-cert.pem"),
                          "issuing_ca_crl": os.path.join(ca, "crl.pem"), "cert_save_path": os.path.join(ca, "certs"),
                          "cert_validity_days": str(self.validity_days), "ca_cert_chain_list": "[]"},
            "DBhandler": {"handler_module": "acme2certifier.dbhandlers.wsgi_handler",
                          "dbfile": os.path.join(self.workdir, "acme_srv.db")},
            "Certificate": {"revocation_reason_check_disable": "False"},
            "Challenge": {"challenge_validation_disable": str(not self.validation)},
            "Directory": {"tos_url": "https://localhost/terms"},
            "Order": {"tnauthlist_support": "False", "profiles": json.dumps(PROFILES)},
            "Renewalinfo": {"renewalthreshold_pctg": str(self.renewal_percent), "retry_after_timeout": "21600"},
        }
        if self.window_seconds:
            config["Renewalinfo"]["renewal_window_duration"] = str(self.window_seconds)
        if self.validation:
            # the resolver for every look-up (its port: SERVER); [Challenge] dns_server_list is deprecated
            config["DEFAULT"]["dns_server_list"] = json.dumps([HOST])
            config["Challenge"]["challenge_validation_timeout"] = "10"
        if self.dns_persist:
            config["Directory"]["caaidentities"] = json.dumps(self.issuer_domain_names)
            config["Challenge"].update({"dns_persist_01_support": "True",
                                        "dns_persist_allow_policy_wildcard": str(self.policy_wildcard),
                                        "dns_persist_jit_validation": str(self.jit_validation)})
        path = os.path.join(self.workdir, "acme_srv.cfg")
        with open(path, "w", encoding="utf8") as f:
            for section, values in config.items():
                f.write("[{0}]\n".format(section))
                f.writelines("{0}: {1}\n".format(k, v) for k, v in values.items())
                f.write("\n")
        return path

    def start(self, timeout=60):
        if not os.path.exists(VENV_PYTHON):
            raise Acme2CertifierError("acme2certifier is not installed: {0} is missing. Make it with: "
                                      "tools/setup.sh requirements-dev.txt".format(VENV_PYTHON))
        os.makedirs(self.workdir, exist_ok=True)
        tls = make_tls_files(self.workdir)
        env = dict(os.environ, ACME_SRV_CONFIGFILE=self.write_config(), ACME2CERTIFIER_I_KNOW_THE_RISK="1")
        shims = {}
        if self.validation:
            if self.dns is None:
                self.dns = self._own_dns = LocalDNS(management=True).start()
            shims = {"dns_host": HOST, "dns": self.dns.port, "http": self.http_port, "tls_alpn": self.tls_alpn_port,
                     "challenge_errors": self.challenge_errors}
        log = open(self.log_file, "ab")
        self.process = subprocess.Popen([VENV_PYTHON, "-c", SERVER, HOST, str(self.port), tls["pebble-cert.pem"],
                                         tls["pebble-key.pem"], json.dumps(shims)], cwd=self.workdir, env=env,
                                        stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        line = self.process.stdout.readline()          # "ready", or nothing when it died
        if line.strip() != b"ready":
            self.stop()
            raise Acme2CertifierError("acme2certifier did not start; see {0}:\n{1}".format(self.log_file,
                                                                                          self.log_tail()))
        import requests
        while time.monotonic() < deadline:
            try:
                if requests.get(self.directory_url, verify=self.ca_file, timeout=5).ok:
                    return self
            except requests.exceptions.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise Acme2CertifierError("acme2certifier did not answer at {0}; see {1}".format(self.directory_url,
                                                                                       self.log_file))

    def log_tail(self, lines=20):
        return log_tail(self.log_file, lines)

    def stop(self):
        if self.process:
            stop_process(self.process)
        self.process = None
        if self._own_dns:
            self._own_dns.stop()
            self.dns = self._own_dns = None


    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def write_acme_ini(self, filename, **extra):
        """ An acme.ini for the examples, pointing at this acme2certifier """
        values = {"AccountKeyFile": "a2c-account.key", "CertificateKeyFile": "ari.example.test.key",
                  "CSRFile": "ari.example.test.csr", "ChainFile": "ari.example.test.chain.pem",
                  "ACMEDirectory": self.directory_url, "CABundle": self.ca_file, "Timeout": "30",
                  "Contacts": "mailto:someone@example.org",
                  "HTTPPort": str(free_port()), "HTTPBind": HOST}      # it validates nothing: any free port
        if self.validation:
            values.update({"HTTPPort": str(self.http_port), "DNSResolver": self.dns.address, "DNSWait": "0"})
            if getattr(self.dns, "management_url", None):
                values["DNSHook"] = "{0} {1} --url {2}".format(shlex.quote(sys.executable), shlex.quote(
                    os.path.join(HERE, "challtestsrv_hook.py")), self.dns.management_url)
        values.update(extra)
        with open(filename, "w", encoding="utf8") as f:
            f.write("# Written by tools/acme2certifier.py for a local acme2certifier\n[acme-neoprime]\n")
            f.writelines("{0} = {1}\n".format(k, v) for k, v in values.items())


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run acme2certifier on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--dir", default="a2c-run", help="folder for its files (default: %(default)s)")
    parser.add_argument("--ini", metavar="FILE", help="also write an ini file for the examples that points at it")
    parser.add_argument("--port", type=int, help="its port (default: a free one)")
    parser.add_argument("--validate", action="store_true", help="check challenges for real, with a local DNS "
                        "server (tools/local_dns.py) and http-01 / tls-alpn-01 on free ports of 127.0.0.1")
    parser.add_argument("--dns-persist", action="store_true", help="offer dns-persist-01 (implies --validate)")
    parser.add_argument("--jit", action="store_true", help="dns-persist-01 with just-in-time validation")
    parser.add_argument("--policy-wildcard", action="store_true", help="accept policy=wildcard for wildcards")
    args = parser.parse_args(argv)
    if args.ini and os.path.exists(args.ini):
        print("Error: {0} already exists; it was not overwritten.".format(args.ini), file=sys.stderr)
        return 1
    shutil.rmtree(os.path.join(args.dir, "ca"), ignore_errors=True)
    server = Acme2Certifier(args.dir, port=args.port, validation=True if args.validate else None,
                            dns_persist=args.dns_persist, jit_validation=args.jit, policy_wildcard=args.policy_wildcard)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.start()
    except Acme2CertifierError as error:
        print("Error:", error, file=sys.stderr)
        return 1
    print("acme2certifier is running: ACMEDirectory =", server.directory_url)
    print("Trust its TLS certificate with: CABundle =", server.ca_file)
    if server.validation:
        print("It validates challenges: DNS {0} (set TXT records: POST {1}/set-txt), http-01 on port {2}, "
              "tls-alpn-01 on port {3}, all on {4}".format(server.dns.address, server.dns.management_url,
                                                          server.http_port, server.tls_alpn_port, HOST))
    if server.dns_persist:
        print("dns-persist-01 records must name the issuer", ", ".join(server.issuer_domain_names))
    if args.ini:
        server.write_acme_ini(args.ini)
        print("Wrote {0}: use it with --config {0}".format(args.ini))
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while server.process.poll() is None:
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
