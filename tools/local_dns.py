""" A tiny authoritative DNS server on 127.0.0.1 for the tests: TXT records the test sets, and an
A record (127.0.0.1) for every name, so that a CA validating a challenge finds both the record and
the client's responder on this machine

pebble-challtestsrv does the same for Pebble, but it cannot serve a TXT string longer than 255
bytes (the answer cannot be packed and the query times out), and dns-persist-01 records that name a
long account URL are split into several strings of one record. This server, standard library only:

- answers A (the default address, or the addresses set for a name), AAAA (nothing), and TXT
  (the records set for a name; a value longer than 255 bytes becomes several strings of one
  record, or a record's strings are given one by one);
- over UDP and TCP on the same port (an answer longer than 512 bytes is truncated over UDP, and
  resolvers ask again over TCP), with a TTL of 0, so a changed record is seen at once;
- remembers the questions it was asked (queries), for tests that check what a CA looked up;
- optionally (management=True) offers pebble-challtestsrv's /set-txt and /clear-txt over HTTP,
  so tools/challtestsrv_hook.py can publish records in it as it does in challtestsrv.

    with LocalDNS() as dns:                  # port: a free one, dns.port
        dns.set_txt("_validation-persist.example.test", "ca.test; accounturi=https://ca/acct/1")
        dns.add_txt("_validation-persist.example.test", ["first string", "second string"])

    python tools/local_dns.py --port 8053    # in the foreground, with the management API
"""

import argparse
import json
import socket
import socketserver
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
TYPES = {1: "A", 28: "AAAA", 16: "TXT", 255: "ANY"}
NOERROR, FORMERR, NXDOMAIN, NOTIMP = 0, 1, 3, 4
UDP_LIMIT = 512


def normalize(name):
    """ A DNS name as the records are kept: lower case, no trailing dot """
    return name.strip().rstrip(".").lower()


def txt_strings(value):
    """ One TXT record's strings: a str or bytes is cut into pieces of 255 bytes (how a long value
    is published); a list or tuple gives the strings themselves (each at most 255 bytes) """
    if isinstance(value, (list, tuple)):
        strings = [s.encode("utf8") if isinstance(s, str) else bytes(s) for s in value]
        for s in strings:
            if len(s) > 255:
                raise ValueError("a TXT string holds at most 255 bytes, not {0}".format(len(s)))
        return strings or [b""]
    data = value.encode("utf8") if isinstance(value, str) else bytes(value)
    return [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]


class LocalDNS:
    """ The DNS server; start() it (or use with), set records, stop() it """

    def __init__(self, port=None, default_ipv4=HOST, management=False, management_port=None):
        self.port = port
        self.default_ipv4 = default_ipv4          # every name has this A record; None: unknown names are NXDOMAIN
        self.management = management or bool(management_port)
        self.management_port = management_port
        self.queries = []                         # (name, type) asked, in order: ("_validation-persist.x.test", "TXT")
        self._txt = {}
        self._a = {}
        self._lock = threading.Lock()
        self._servers = []

    # -- records -----------------------------------------------------------

    def add_txt(self, name, value):
        """ One more TXT record at name (see txt_strings for value) """
        with self._lock:
            self._txt.setdefault(normalize(name), []).append(txt_strings(value))

    def set_txt(self, name, *values):
        """ Exactly these TXT records at name, one per value (none: remove them all) """
        records = [txt_strings(value) for value in values]
        with self._lock:
            if records:
                self._txt[normalize(name)] = records
            else:
                self._txt.pop(normalize(name), None)

    def clear_txt(self, name):
        self.set_txt(name)

    def txt(self, name):
        """ The TXT records at name, each a list of its strings (str) """
        with self._lock:
            return [[s.decode("utf8", "replace") for s in record] for record in self._txt.get(normalize(name), [])]

    def set_a(self, name, *addresses):
        """ The A records of name (none: back to the default address) """
        with self._lock:
            if addresses:
                self._a[normalize(name)] = list(addresses)
            else:
                self._a.pop(normalize(name), None)

    def asked(self, name, qtype="TXT"):
        """ How many times name was looked up with type qtype """
        return sum(1 for q in list(self.queries) if q == (normalize(name), qtype))

    # -- the DNS protocol ----------------------------------------------------

    def _records(self, name, qtype):
        """ (rcode, [(type, rdata)]) for a question """
        with self._lock:
            txt = self._txt.get(name, [])
            a = self._a.get(name) or ([self.default_ipv4] if self.default_ipv4 else [])
            exists = bool(txt or a)
        if not exists:
            return NXDOMAIN, []
        answers = []
        if qtype in (16, 255):
            answers += [(16, b"".join(bytes([len(s)]) + s for s in record)) for record in txt]
        if qtype in (1, 255):
            answers += [(1, socket.inet_aton(address)) for address in a]
        return NOERROR, answers

    def answer(self, query, limit=None):
        """ The reply to one DNS message (bytes), None for something that is not a query; over UDP
        (limit 512) a reply that does not fit is sent truncated (TC) with no answers """
        if len(query) < 12:
            return None
        ident, flags, qdcount = struct.unpack("!HHH", query[:6])
        if flags & 0x8000:
            return None
        opcode = (flags >> 11) & 0xF
        pos, labels = 12, []
        try:
            while query[pos]:
                if query[pos] & 0xC0:
                    raise ValueError("compressed question")
                labels.append(query[pos + 1:pos + 1 + query[pos]])
                pos += 1 + query[pos]
            pos += 1
            qtype, _qclass = struct.unpack("!HH", query[pos:pos + 4])
            pos += 4
        except (IndexError, ValueError, struct.error):
            return struct.pack("!HHHHHH", ident, 0x8000 | (opcode << 11) | FORMERR, 0, 0, 0, 0)
        question = query[12:pos]
        name = b".".join(labels).decode("ascii", "replace").lower()
        if opcode != 0 or qdcount != 1:
            rcode, answers = NOTIMP, []
        else:
            self.queries.append((name, TYPES.get(qtype, str(qtype))))
            rcode, answers = self._records(name, qtype)
        reply_flags = 0x8000 | (opcode << 11) | 0x0400 | (flags & 0x0100) | 0x0080 | rcode   # QR AA RD RA
        body = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 0, len(rdata)) + rdata
                        for rtype, rdata in answers)
        reply = struct.pack("!HHHHHH", ident, reply_flags, 1, len(answers), 0, 0) + question + body
        if limit and len(reply) > limit:
            reply = struct.pack("!HHHHHH", ident, reply_flags | 0x0200, 1, 0, 0, 0) + question
        return reply

    # -- start and stop ------------------------------------------------------

    @property
    def address(self):
        """ host:port, as a DNSResolver setting """
        return "{0}:{1}".format(HOST, self.port)

    @property
    def management_url(self):
        return "http://{0}:{1}".format(HOST, self.management_port) if self.management_port else None

    def start(self):
        dns = self

        class UDPHandler(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = dns.answer(data, limit=UDP_LIMIT)
                if reply:
                    sock.sendto(reply, self.client_address)

        class TCPHandler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(10)
                try:
                    while True:
                        size = self._read(2)
                        if not size:
                            return
                        reply = dns.answer(self._read(struct.unpack("!H", size)[0]))
                        if not reply:
                            return
                        self.request.sendall(struct.pack("!H", len(reply)) + reply)
                except OSError:
                    return

            def _read(self, n):
                data = b""
                while len(data) < n:
                    chunk = self.request.recv(n - len(data))
                    if not chunk:
                        return b""
                    data += chunk
                return data

        class UDPServer(socketserver.ThreadingUDPServer):
            daemon_threads = True

        class TCPServer(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        for attempt in range(50):              # a port free for both UDP and TCP
            udp = UDPServer((HOST, self.port or 0), UDPHandler)
            try:
                tcp = TCPServer((HOST, udp.server_address[1]), TCPHandler)
                break
            except OSError:
                udp.server_close()
                if self.port or attempt == 49:
                    raise
        self.port = udp.server_address[1]
        self._servers = [udp, tcp]
        if self.management:
            management = ThreadingHTTPServer((HOST, self.management_port or 0), _management_handler(self))
            management.daemon_threads = True
            self.management_port = management.server_address[1]
            self._servers.append(management)
        for server in self._servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def stop(self):
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _management_handler(dns):
    """ pebble-challtestsrv's /set-txt {"host", "value"} (adds a record; "value" may also be a list
    of the record's strings) and /clear-txt {"host"} (removes them all), plus /set-a
    {"host", "addresses"} and GET /txt?host=... for a look """

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def _reply(self, code, body=b""):
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            try:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                host = request["host"]
                if self.path == "/set-txt":
                    dns.add_txt(host, request["value"])
                elif self.path == "/clear-txt":
                    dns.clear_txt(host)
                elif self.path == "/set-a":
                    dns.set_a(host, *request.get("addresses", []))
                else:
                    return self._reply(404)
            except (KeyError, TypeError, ValueError) as error:
                return self._reply(400, str(error).encode())
            self._reply(200)

        def do_GET(self):
            if not self.path.startswith("/txt?host="):
                return self._reply(404)
            self._reply(200, json.dumps(dns.txt(self.path.split("=", 1)[1])).encode())

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the test DNS server on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, help="its DNS port, UDP and TCP (default: a free one)")
    parser.add_argument("--management-port", type=int, help="its HTTP management port (default: a free one)")
    args = parser.parse_args(argv)
    dns = LocalDNS(port=args.port, management=True, management_port=args.management_port).start()
    print("DNS on {0} (UDP and TCP); every name has A {1}".format(dns.address, dns.default_ipv4))
    print("Set a TXT record: curl -d '{{\"host\": \"_validation-persist.example.test.\", \"value\": \"...\"}}' "
          "{0}/set-txt".format(dns.management_url))
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        dns.stop()


if __name__ == "__main__":
    sys.exit(main())
