""" Run acme2certifier (an ACME server in Python, PyPI acme2certifier) on 127.0.0.1, for what
Pebble 2.4 cannot show: renewal information (RFC 9773) and certificate profiles

acme2certifier pulls in pyOpenSSL and certbot's acme package, so it lives in a virtual environment
of its own, .venv-a2c (tools/setup.sh makes it). This tool, run with any Python:

1. makes a throwaway TLS CA with a certificate for localhost / 127.0.0.1, and an issuing CA for
   acme2certifier's OpenSSL CA handler;
2. writes acme_srv.cfg: the CA handler, a database file, profiles (classic, tlsserver, shortlived,
   as Let's Encrypt names them), renewal information, and challenge validation switched off (these
   tests are about ARI and profiles; http-01 and dns-01 are proven against Pebble);
3. starts acme2certifier's WSGI application behind a TLS-wrapped wsgiref server, with .venv-a2c's
   Python, and waits until its directory answers.

    python tools/acme2certifier.py --ini a2c.ini      # in the foreground until Ctrl-C

From Python (the tests):

    with Acme2Certifier(workdir) as ca:
        ca.write_acme_ini("acme.ini")
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from pebble import HOST, free_port, log_tail, make_tls_files, stop_process  # noqa: E402

VENV_PYTHON = os.path.join(ROOT, ".venv-a2c", "bin", "python")
PROFILES = {"classic": "https://letsencrypt.org/docs/profiles#classic",
            "tlsserver": "https://letsencrypt.org/docs/profiles#tlsserver",
            "shortlived": "https://letsencrypt.org/docs/profiles#shortlived"}

# Runs inside .venv-a2c: acme2certifier's WSGI application behind wsgiref, over TLS
SERVER = r'''
import os, ssl, sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from acme2certifier.share.acme2certifier_wsgi import application

class Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        sys.stderr.write("a2c {0}\n".format(format % args))

def over_tls(environ, start_response):
    environ["wsgi.url_scheme"] = "https"     # wsgiref does not know the socket is wrapped in TLS
    return application(environ, start_response)

host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
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
    """ acme2certifier on 127.0.0.1:port, its files in workdir """

    def __init__(self, workdir, port=None, validity_days=90, renewal_percent=66, window_seconds=None):
        self.workdir = os.path.abspath(workdir)
        self.port = port or free_port()
        self.validity_days = validity_days
        self.renewal_percent = renewal_percent        # the window opens after this share of the lifetime...
        self.window_seconds = window_seconds          # ...and lasts this long (default: until expiry)
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
            "Challenge": {"challenge_validation_disable": "True"},
            "Directory": {"tos_url": "https://localhost/terms"},
            "Order": {"tnauthlist_support": "False", "profiles": json.dumps(PROFILES)},
            "Renewalinfo": {"renewalthreshold_pctg": str(self.renewal_percent), "retry_after_timeout": "21600"},
        }
        if self.window_seconds:
            config["Renewalinfo"]["renewal_window_duration"] = str(self.window_seconds)
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
        log = open(self.log_file, "ab")
        self.process = subprocess.Popen([VENV_PYTHON, "-c", SERVER, HOST, str(self.port), tls["pebble-cert.pem"],
                                         tls["pebble-key.pem"]], cwd=self.workdir, env=env, stdout=subprocess.PIPE,
                                        stderr=log, start_new_session=True)
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
        values.update(extra)
        with open(filename, "w", encoding="utf8") as f:
            f.write("# Written by tools/acme2certifier.py for a local acme2certifier\n[acme-neoprime]\n")
            f.writelines("{0} = {1}\n".format(k, v) for k, v in values.items())


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run acme2certifier on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--dir", default="a2c-run", help="folder for its files (default: %(default)s)")
    parser.add_argument("--ini", metavar="FILE", help="also write an ini file for the examples that points at it")
    parser.add_argument("--port", type=int, help="its port (default: a free one)")
    args = parser.parse_args(argv)
    if args.ini and os.path.exists(args.ini):
        print("Error: {0} already exists; it was not overwritten.".format(args.ini), file=sys.stderr)
        return 1
    shutil.rmtree(os.path.join(args.dir, "ca"), ignore_errors=True)
    server = Acme2Certifier(args.dir, port=args.port)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.start()
    except Acme2CertifierError as error:
        print("Error:", error, file=sys.stderr)
        return 1
    print("acme2certifier is running: ACMEDirectory =", server.directory_url)
    print("Trust its TLS certificate with: CABundle =", server.ca_file)
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
