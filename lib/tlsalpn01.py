""" tls-alpn-01 (RFC 8737): the CA opens a TLS connection to port 443 of the name, with ALPN
"acme-tls/1" and SNI set to the name, and expects a self-signed certificate for that name alone
that carries the critical acmeIdentifier extension: the SHA-256 of the key authorization

- validation_certificate() builds that certificate (cryptography), on a key made for it;
- ChallengeServer answers those connections (Python's ssl module): the certificate chosen by SNI,
  ALPN acme-tls/1 only, anything else refused; a context manager that stops the server afterwards,
  also after an error or Ctrl-C, and by itself at a total deadline;
- served_certificate() connects as the CA will: check_own_server() before the CA is told, and the tests.
An IP address (RFC 8738 §6) is asked for with its reverse-DNS name as SNI (1.2.0.192.in-addr.arpa)
and answered with an IP address in the SAN.
"""

import datetime
import hashlib
import ipaddress
import os
import shutil
import socket
import socketserver
import ssl
import sys
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

import helper
from lib import http01

ALPN = "acme-tls/1"
ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")      # id-pe-acmeIdentifier, RFC 8737 §6.1
HANDSHAKE_TIMEOUT = 10                   # seconds a connection may take: a silent one is dropped
DEADLINE_MARGIN = 60                     # the server's total deadline: PollTimeout plus this
# A fatal alert, no_application_protocol (RFC 7301 §3.2), as a TLS record: what a client gets that
# does not offer acme-tls/1, before it sees any certificate
NO_APPLICATION_PROTOCOL = bytes([21, 3, 3, 0, 2, 2, 120])
X509_V_FLAG_IGNORE_CRITICAL = 0x10       # OpenSSL's x509_vfy.h; the ssl module has no name for it


def sni_name(name):
    """ The SNI the CA sends for NAME: the name itself, or for an IP address its reverse-DNS name

    >>> sni_name("example.com"), sni_name("192.0.2.7")
    ('example.com', '7.2.0.192.in-addr.arpa')
    """
    try:
        return ipaddress.ip_address(name).reverse_pointer
    except ValueError:
        return name


def acme_identifier_value(key_auth):
    """ The extension's value (§3): the DER of an OCTET STRING (tag 04, length 32) holding
    SHA-256(key authorization) """
    return b"\x04\x20" + hashlib.sha256(key_auth.encode("ascii")).digest()


def validation_certificate(name, key_auth, key):
    """ The self-signed certificate the CA expects for NAME (§3): its only identifier is NAME (a DNS
    name, or an IP address for an IP identifier), and the critical acmeIdentifier extension """
    try:
        identifier = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        identifier = x509.DNSName(name)
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([])).issuer_name(x509.Name([]))        # empty: the SAN says it all
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=7))
            # an empty subject makes the SAN critical (RFC 5280 §4.2.1.6)
            .add_extension(x509.SubjectAlternativeName([identifier]), critical=True)
            .add_extension(x509.UnrecognizedExtension(ACME_IDENTIFIER, acme_identifier_value(key_auth)), critical=True)
            .sign(key, hashes.SHA256()))


def server_context(key, cert):
    """ An ssl context that serves CERT with ALPN acme-tls/1. The ssl module loads keys from files
    only: the key goes, encrypted with a one-time password, into a private temporary folder that is
    removed as soon as it is loaded """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2                     # RFC 8737 §4
    context.set_alpn_protocols([ALPN])
    password = os.urandom(32)
    folder = tempfile.mkdtemp(prefix="tls-alpn-01-")                      # mode 0700
    try:
        filename = os.path.join(folder, "certificate-and-key.pem")
        with open(os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(password)))
        context.load_cert_chain(filename, password=password)
    finally:
        shutil.rmtree(folder)
    return context


def peek(conn, size):
    """ The first SIZE bytes waiting on CONN, left there for the ssl module; fewer if they do not come
    within the socket's timeout. SO_RCVLOWAT makes the socket readable only once SIZE bytes are in """
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, size)
    try:
        return conn.recv(size, socket.MSG_PEEK)
    finally:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)


def offered_protocols(conn):
    """ The ALPN protocols the client's ClientHello offers ([] for none), read without taking it off
    the socket; None when it cannot be read so (it is then left to the ssl module and checked after) """
    try:
        head = peek(conn, 5)
        if len(head) < 5 or head[0] != 22:                                # a TLS handshake record
            return None
        hello = peek(conn, 5 + int.from_bytes(head[3:5], "big"))[5:]
        if len(hello) < 4 or hello[0] != 1 or 4 + int.from_bytes(hello[1:4], "big") > len(hello):
            return None                                                   # not a whole ClientHello
        at = 4 + 2 + 32                                                   # type, length; version, random
        at += 1 + hello[at]                                               # session ID
        at += 2 + int.from_bytes(hello[at:at + 2], "big")                 # cipher suites
        at += 1 + hello[at]                                               # compression methods
        end = at + 2 + int.from_bytes(hello[at:at + 2], "big")
        at += 2
        while at + 4 <= end:                                              # the extensions
            kind, length = int.from_bytes(hello[at:at + 2], "big"), int.from_bytes(hello[at + 2:at + 4], "big")
            if kind == 16:                                                # application_layer_protocol_negotiation
                names, protocols = hello[at + 6:at + 4 + length], []
                while names:
                    protocols.append(names[1:1 + names[0]].decode("ascii", "replace"))
                    names = names[1 + names[0]:]
                return protocols
            at += 4 + length
        return []
    except (OSError, IndexError):
        return None


class ChallengeServer(socketserver.ThreadingTCPServer):
    """ The tls-alpn-01 responder on bind:port: add(name, key_auth) makes the validation certificate
    for NAME and serves it to connections whose SNI is NAME's and that offer ALPN acme-tls/1. A line
    about each connection is printed when the server stops, in the order they came: printed as they
    come, they would run into the lines the main thread is printing """

    allow_reuse_address = True           # a port just freed by an earlier run can be bound again at once

    def __init__(self, bind, port, deadline):
        self.address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        self.deadline = deadline
        self.contexts = {}                               # SNI -> the ssl context with that name's certificate
        self.connections = []                            # a line about each connection
        self.fetched = threading.Event()                 # set when a validation certificate was sent
        self.handshake = threading.local()               # the SNI the connection in this thread asked for, if any
        # The context every connection starts in holds no certificate: the SNI picks one, or refuses
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.set_alpn_protocols([ALPN])
        self.context.num_tickets = 0                     # one handshake, never resumed
        self.context.sni_callback = self.choose_certificate
        self.timer, self.timed_out = threading.Timer(deadline, self.deadline_passed), False
        self.timer.daemon = True
        try:
            super().__init__((bind, port), ChallengeHandler)
        except PermissionError:
            sys.exit("Error: Cannot listen on port {0}: permission denied. Run as a user allowed to bind it (root, "
                     "or a Python with CAP_NET_BIND_SERVICE), or prove the names with dns-01 or dns-persist-01 "
                     "instead.".format(port))
        except OSError as error:
            sys.exit("Error: Cannot listen on port {0}: {1}. Stop the web server that holds it for the minute of "
                     "validation, or prove the names with dns-01 or dns-persist-01 instead.".format(
                         port, error.strerror))

    def add(self, name, key_auth):
        """ Serve NAME's validation certificate, on a new EC P-256 key that lives in memory; returns it """
        key = ec.generate_private_key(ec.SECP256R1())
        cert = validation_certificate(name, key_auth, key)
        self.contexts[sni_name(name)] = server_context(key, cert)
        return cert

    def choose_certificate(self, tls, server_name, _context):
        """ SNI: the context with that name's certificate; an unknown name or none is refused """
        self.handshake.asked, self.handshake.sni = True, server_name
        if server_name not in self.contexts:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        tls.context = self.contexts[server_name]
        return None

    def handle_error(self, request, client_address):
        # a connection that fails in a way not foreseen: a line, never a traceback
        self.connections.append("{0} {1}".format(client_address[0], sys.exc_info()[1]))

    def deadline_passed(self):
        self.timed_out = True
        self.shutdown()
        self.server_close()                              # the port is free again from now on
        sys.stdout.write("Stopped the tls-alpn-01 server: its deadline of {0:g} seconds has passed.\n".format(
            self.deadline))

    def __enter__(self):
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.timer.start()
        print("Serving tls-alpn-01 on port {0} (ALPN {1}; it stops by itself after {2:g} seconds)".format(
            self.server_address[1], ALPN, self.deadline))
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.shutdown()
        self.server_close()                              # waits for the connections being answered
        for line in self.connections:
            print("  tls-alpn-01 server:", helper.cut(line, 300))
        if not self.connections:
            print("  tls-alpn-01 server: no connection came")
        if not self.timed_out:
            print("Stopped the tls-alpn-01 server.")


class ChallengeHandler(socketserver.BaseRequestHandler):
    """ One connection: refused before the handshake unless it offers acme-tls/1; after it, closed at
    once, as RFC 8737 §3 has the CA do; one line about it """

    def handle(self):
        conn, server = self.request, self.server
        conn.settimeout(HANDSHAKE_TIMEOUT)
        offered = offered_protocols(conn)
        if offered is not None and ALPN not in offered:
            conn.sendall(NO_APPLICATION_PROTOCOL)
            return self.log("refused: ALPN {0}, not {1}".format(", ".join(offered) or "none", ALPN))
        server.handshake.asked = server.handshake.sni = None
        try:
            with server.context.wrap_socket(conn, server_side=True) as tls:
                protocol, sni = tls.selected_alpn_protocol(), server.handshake.sni
                if protocol != ALPN:                       # read past the ClientHello check: refused here
                    return self.log("SNI {0}: refused after the handshake: ALPN {1}".format(sni, protocol))
                self.log("SNI {0}, ALPN {1}: sent the validation certificate".format(sni, protocol))
                server.fetched.set()
        except (ssl.SSLError, OSError) as error:
            asked, sni = server.handshake.asked, server.handshake.sni
            if not asked:
                self.log("the TLS handshake failed: {0}".format(error))
            elif sni not in server.contexts:
                self.log("refused: SNI {0} is not a name being validated".format(sni) if sni else "refused: no SNI")
            else:
                self.log("SNI {0}: the TLS handshake failed: {1}".format(sni, error))

    def log(self, text):
        self.server.connections.append("{0} {1}".format(self.client_address[0], text))


def served_certificate(host, port, name, expected, timeout=HANDSHAKE_TIMEOUT):
    """ Connect to host:port as the CA will (SNI for NAME, ALPN acme-tls/1 only) and return the
    certificate it serves and the protocol negotiated. Nothing but EXPECTED, the certificate we
    built, is trusted; OpenSSL is told that a critical extension it does not know (acmeIdentifier)
    is expected. An IP's SNI is a reverse-DNS name that no certificate carries, so for an IP the
    trusted certificate alone decides """
    context = ssl.create_default_context(cadata=expected.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    context.verify_flags |= X509_V_FLAG_IGNORE_CRITICAL
    context.check_hostname = sni_name(name) == name
    context.set_alpn_protocols([ALPN])
    with socket.create_connection((host, port), timeout=timeout) as sock:
        with context.wrap_socket(sock, server_hostname=sni_name(name)) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)), tls.selected_alpn_protocol()


def check_own_server(name, port, bind, expected):
    """ Our own check before the CA is told: NAME resolved, on the port the CA checks, must serve
    EXPECTED with acme-tls/1. A NAME that does not resolve here is checked on this machine """
    host, note = name, ""
    if not http01.resolves(name, port):
        host = bind if bind not in ("", "0.0.0.0", "::") else "127.0.0.1"
        note = " ({0} does not resolve from here, so only this machine was checked)".format(name)
    where = "{0}:{1}, SNI {2}, ALPN {3}".format("[{0}]".format(host) if ":" in host else host, port,
                                                 sni_name(name), ALPN)
    try:
        cert, protocol = served_certificate(host, port, name, expected)
        problem = None if cert == expected and protocol == ALPN else "it served another certificate"
    except ssl.SSLCertVerificationError:                # not the one certificate trusted: not ours
        problem = "it served another certificate"
    except (OSError, ValueError) as error:
        problem = str(error)
    if problem:
        sys.exit("Error: {0}{1} does not serve the validation certificate ({2}). The CA would fail too: check that "
                 "{3} points to this machine and that port {4} reaches it directly (a load balancer must pass "
                 "TCP through, not end TLS), or pass --skip-check.".format(where, note, helper.cut(problem, 300),
                                                                            name, port))
    print("Checked:", where + note)
