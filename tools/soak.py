""" Soak: the whole walkthrough against Pebble, many times, with Pebble at its most unfriendly; then
renewal after renewal with failures injected

Walkthrough rounds: each starts a new Pebble with PEBBLE_WFE_NONCEREJECT=50 (half the good nonces
rejected as badNonce) and PEBBLE_AUTHZREUSE=50 (valid authorizations reused half the time), runs
every script of the walkthrough, and counts the rounds that failed.

Renewal rounds: one acme2certifier whose renewal windows close a second after issuance (every
certificate is due at once), behind a small HTTPS proxy in this process that passes everything on
but the one failure it is told to inject. Each round runs renew_certificate.py with a deploy hook:
  1. a 500 from renewalInfo: the lifetime rule, nothing renewed, nothing deployed;
  2. a killed child: issue_certificate.py is killed (SIGKILL) when it finalizes: exit 1, the old pair;
  3. a lost connection during the download: half the chain, then the connection closes: exit 1;
  4. a killed parent: renew_certificate.py is killed while its child finalizes. The child carries
     on and holds the lock (a run started meanwhile does nothing); the next run deploys what the
     child saved, or removes what a --new-key child left;
  5. nothing injected: renewed and deployed once.
Odd rounds renew with --new-key. After every run the key and the chain must be a pair, and the
deploy hook must have run exactly after the renewals that were saved. The target is zero failed
rounds. Not part of ./test.sh:

    python tools/soak.py                                 # 50 walkthrough rounds, 25 renewal rounds
    python tools/soak.py --rounds 0 --renewal-rounds 5 --write
"""

import argparse
import fcntl
import http.client
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import walkthrough  # noqa: E402
from acme2certifier import Acme2Certifier  # noqa: E402
from pebble import HOST  # noqa: E402

ENV = {"PEBBLE_WFE_NONCEREJECT": "50", "PEBBLE_AUTHZREUSE": "50"}
CHAIN, KEY = "ari.example.test.chain.pem", "ari.example.test.key"
HOOK = ["--deploy-hook", "echo $RENEWED_DOMAINS >> deployed.txt"]
# the request each fault waits for: (method, a piece of its path)
TRIGGERS = {"ari-500": ("GET", "/acme/renewal-info/"), "kill-child": ("POST", "/finalize"),
            "kill-parent": ("POST", "/finalize"), "drop-download": ("POST", "/acme/cert/")}


# -- the proxy that injects failures ----------------------------------------------------------------

class FaultyProxy(ThreadingHTTPServer):
    """ HTTPS on 127.0.0.1 in front of acme2certifier (with its TLS certificate, so CABundle stays the
    same). Everything is passed on, the Host header too (acme2certifier's URLs then name the proxy),
    except the one fault armed, once, on the request it waits for """
    daemon_threads = True

    def __init__(self, a2c):
        super().__init__((HOST, 0), ProxyHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(a2c.workdir, "pebble-cert.pem"), os.path.join(a2c.workdir,
                                                                                          "pebble-key.pem"))
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.upstream = ssl.create_default_context(cafile=a2c.ca_file)
        self.upstream_port = a2c.port
        self.fault, self.victim, self.orphans = None, None, []
        self.injected = {name: 0 for name in TRIGGERS}
        self.hold = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def directory_url(self):
        return "https://localhost:{0}/directory".format(self.server_address[1])

    def arm(self, fault):
        self.fault, self.orphans = fault, []
        self.hold.clear()

    def take(self, method, path):
        """ The fault for this request, if it is the one the armed fault waits for (then disarmed) """
        with self.lock:
            if self.fault and TRIGGERS[self.fault][0] == method and TRIGGERS[self.fault][1] in path:
                fault, self.fault = self.fault, None
                self.injected[fault] += 1
                return fault
        return None

    def kill(self, fault):
        """ SIGKILL for the child of the renew_certificate.py this soak started (kill-child), or for that
        renew_certificate.py itself (kill-parent: its child, now an orphan, is remembered) """
        children = child_processes(self.victim)
        if fault == "kill-child":
            for pid in children:
                os.kill(pid, signal.SIGKILL)
        else:
            self.orphans = children
            os.kill(self.victim, signal.SIGKILL)


class ProxyHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        proxy = self.server
        fault = proxy.take(self.command, self.path)
        if fault == "ari-500":
            return self.answer(500, [("Content-Type", "text/html")], b"<html><body>Internal Server Error</body></html>")
        if fault in ("kill-child", "kill-parent"):
            proxy.kill(fault)
            if fault == "kill-child":
                self.close_connection = True
                return                                  # nobody is left to answer
            proxy.hold.wait(120)                        # the orphan waits here while the soak tries a second run
        upstream = http.client.HTTPSConnection("localhost", proxy.upstream_port, context=proxy.upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        upstream.request(self.command, self.path, body or None, headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        passed = [(k, v) for k, v in response.getheaders()
                  if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length")]
        if fault == "drop-download":                    # the headers and half the chain, then the line drops
            self.answer(response.status, passed, data, cut=len(data) // 2)
        else:
            self.answer(response.status, passed, data)

    do_HEAD = do_POST = do_GET

    def answer(self, status, headers, data, cut=None):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data if cut is None else data[:cut])
        self.close_connection = True


def child_processes(pid):
    """ The processes whose parent is pid, from /proc """
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/{0}/stat".format(entry)) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[1] == str(pid):
                found.append(int(entry))
    return found


# -- renewal rounds -----------------------------------------------------------------------------

class RoundFailed(Exception):
    pass


def expect(condition, what, out=""):
    if not condition:
        raise RoundFailed(what + ("\n" + out.rstrip() if out else ""))


class Reader:
    """ The folder where renew_certificate.py runs, as cron would run it """

    def __init__(self, folder, proxy):
        self.folder, self.proxy, self.runs = folder, proxy, 0

    def run(self, script, *args, fault=None, between=None):
        """ Run a script with a fault armed: (exit status, output). between: called once its process has
        ended, while an orphaned child of it is still held at the proxy """
        self.runs += 1
        log = os.path.join(self.folder, "run-{0:04d}.txt".format(self.runs))
        if fault:
            self.proxy.arm(fault)
        with open(log, "w") as out:                     # a file, not a pipe: an orphan may keep writing to it
            process = subprocess.Popen([sys.executable, os.path.join(ROOT, script), "--config", "a2c.ini"] + list(args),
                                       cwd=self.folder, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            self.proxy.victim = process.pid
            try:
                code = process.wait(timeout=300)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
        if between:
            between()
        if fault:
            self.proxy.hold.set()                       # the orphan of a killed parent goes on...
            self.wait_for_lock()                        # ...and this waits until it has finished
        with open(log, encoding="utf8", errors="replace") as f:
            return code, f.read()

    def wait_for_lock(self, seconds=120):
        """ Until no process holds ChainFile.lock: an orphaned issue_certificate.py may still run """
        name = os.path.join(self.folder, CHAIN + ".lock")
        if not os.path.exists(name):
            return
        deadline = time.monotonic() + seconds
        with open(name, "a") as f:
            while True:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(f, fcntl.LOCK_UN)
                    return
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise RoundFailed("the lock was still held after {0} s".format(seconds))
                    time.sleep(0.1)

    def pair(self):
        """ The chain's serial; the key and the chain must be a pair, and nothing half-done left over """
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        with open(os.path.join(self.folder, CHAIN), "rb") as f:
            cert = x509.load_pem_x509_certificates(f.read())[0]
        with open(os.path.join(self.folder, KEY), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        expect(cert.public_key() == key.public_key(), "the key and the chain are not a pair")
        left = [n for n in os.listdir(self.folder) if n.endswith((".new", ".swap.json"))]
        expect(not left, "left over: " + ", ".join(left))
        return cert.serial_number

    def wait_until_due(self):
        """ The window closes a second after issuance (its start): a run sooner may rightly say "Not yet" """
        from cryptography import x509
        with open(os.path.join(self.folder, CHAIN), "rb") as f:
            issued = x509.load_pem_x509_certificates(f.read())[0].not_valid_before_utc.timestamp()
        time.sleep(max(0.0, issued + 2 - time.time()))

    def deployed(self):
        try:
            with open(os.path.join(self.folder, "deployed.txt")) as f:
                return len(f.readlines())
        except FileNotFoundError:
            return 0


def renewal_round(number, reader):
    """ One round of five runs (the module's docstring); RoundFailed says what went wrong """
    new_key = ["--new-key"] if number % 2 else []
    serial, deployed = reader.pair(), reader.deployed()

    code, out = reader.run("renew_certificate.py", *HOOK, fault="ari-500")
    expect(code == 0 and "No usable renewal information (the CA answered 500): renewing when a third of the "
           "lifetime is left." in out and "Not yet: renewal is planned for" in out, "1. ARI 500", out)
    expect(reader.pair() == serial and reader.deployed() == deployed, "1. ARI 500: something changed", out)
    os.unlink(os.path.join(reader.folder, CHAIN + ".renewal.json"))     # as if the hour it waits had passed
    reader.wait_until_due()

    for step, fault, how in (("2. killed child", "kill-child", "issue_certificate.py was killed by signal 9"),
                             ("3. lost download", "drop-download", "above")):
        code, out = reader.run("renew_certificate.py", *new_key, *HOOK, fault=fault)
        failed = "Error: The renewal failed ({0})".format(how)
        expect(code == 1 and "It is time: renewing now." in out and failed in out, step, out)
        expect(reader.pair() == serial and reader.deployed() == deployed and "deploy hook" not in out, step, out)

    second = []
    code, out = reader.run("renew_certificate.py", *new_key, *HOOK, fault="kill-parent",
                           between=lambda: second.append(reader.run("renew_certificate.py", *HOOK)))
    expect(code == -signal.SIGKILL and reader.proxy.orphans, "4. killed parent: not killed", out)
    expect(second[0][0] == 0 and "Another renew_certificate.py is renewing" in second[0][1],
           "4. a run while the orphan holds the lock", second[0][1])
    code, out = reader.run("renew_certificate.py", *HOOK)
    if new_key:                                 # the orphan's CHAIN.new and KEY.new are never swapped in
        expect(code == 0 and "left by a --new-key run that stopped before its swap." in out and "Renewed:" in out,
               "4. the run after a killed --new-key parent", out)
    else:                                       # the orphan saved the chain; this run deploys it
        expect(code == 0 and "but its deploy hook has not succeeded yet." in out and "Renewed:" not in out,
               "4. the run after a killed parent", out)
    expect(reader.pair() != serial and reader.deployed() == deployed + 1, "4. deployed once", out)

    serial = reader.pair()
    reader.wait_until_due()
    code, out = reader.run("renew_certificate.py", *new_key, *HOOK)
    expect(code == 0 and "Renewed: " + CHAIN in out and ("The new key is in" in out) == bool(new_key), "5. renewal",
           out)
    expect(reader.pair() != serial and reader.deployed() == deployed + 2, "5. renewed and deployed once", out)


def renewal_rounds(rounds, base):
    """ Renewal rounds against one acme2certifier behind the proxy: (failed rounds, faults injected) """
    folder = os.path.join(base, "renewal")
    os.makedirs(folder)
    failures = []
    with Acme2Certifier(os.path.join(folder, "acme2certifier"), renewal_percent=0, window_seconds=1) as a2c:
        proxy = FaultyProxy(a2c)
        try:
            a2c.write_acme_ini(os.path.join(folder, "a2c.ini"), ACMEDirectory=proxy.directory_url)
            reader = Reader(folder, proxy)
            for script, *args in (("make_account_key.py", "--type", "ec"), ("new_account.py", "--agree-tos"),
                                  ("issue_certificate.py", "--yes", "ari.example.test")):
                code, out = reader.run(script, *args)
                if code != 0:
                    print(out)
                    return ["setup"], proxy.injected
            for number in range(1, rounds + 1):
                try:
                    renewal_round(number, reader)
                    print("renewal round {0:3d}: ok".format(number), flush=True)
                except RoundFailed as failure:
                    failures.append(number)
                    print("renewal round {0:3d}: FAILED at {1}".format(number, failure), flush=True)
        finally:
            proxy.shutdown()
            proxy.server_close()
    return failures, proxy.injected


# -- walkthrough rounds and the report --------------------------------------------------------------

def walkthrough_rounds(rounds, base):
    failures, retries_seen = [], []
    for number in range(1, rounds + 1):
        folder = os.path.join(base, "round-{0:03d}".format(number))
        ok = walkthrough.run(folder, echo=False, env=ENV)
        transcript = open(os.path.join(folder, "transcript.txt"), encoding="utf8").read()
        retries = transcript.count("rejected the nonce (badNonce)")
        retries_seen.append(retries)
        print("round {0:3d}: {1}  ({2} badNonce retries)".format(number, "ok" if ok else "FAILED", retries), flush=True)
        if not ok:
            failures.append(folder)
            print("\n".join(transcript.splitlines()[-8:]))
    return failures, retries_seen


def write_section(heading, text):
    """ Replace one "## heading" section of docs/SOAK.md (or add it); the rest stays as it is """
    path = os.path.join(ROOT, "docs", "SOAK.md")
    with open(path, encoding="utf8") as f:
        parts = f.read().split("\n## ")
    section = "{0}\n\n{1}\n".format(heading, text.strip())
    for number, part in enumerate(parts[1:], 1):
        if part.split("\n", 1)[0] == heading:
            parts[number] = section
            break
    else:
        parts.append(section)
    with open(path, "w", encoding="utf8") as f:
        f.write("\n## ".join(part.rstrip("\n") + "\n" for part in parts))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="walkthrough rounds (default: %(default)s)")
    parser.add_argument("--renewal-rounds", type=int, default=25, help="renewal rounds (default: %(default)s)")
    parser.add_argument("--write", action="store_true", help="write the results to docs/SOAK.md")
    args = parser.parse_args(argv)
    base = tempfile.mkdtemp(prefix="soak-")
    failed = 0
    if args.rounds:
        started = time.monotonic()
        failures, retries_seen = walkthrough_rounds(args.rounds, base)
        failed += len(failures)
        summary = "{0} rounds, {1} failed, {2:.0f} s".format(args.rounds, len(failures), time.monotonic() - started)
        print(summary + "; transcripts in " + base)
        if args.write:
            write_section("Walkthrough rounds", "Each round: a new Pebble with {0}, then every step of the walkthrough "
                          "(keys, account, order, http-01, dns-01, finalize, certificate, PKCS #12, renewal, "
                          "revocation, issue_certificate, key rollover, deactivation, EAB, Alibaba Cloud DNS, CDN and "
                          "API Gateway against the fake API, and against acme2certifier: renewal information and "
                          "profiles).\n\nDate: {1}. Result: **{2}**; badNonce retries per round: {3}.".format(
                              ", ".join("{0}={1}".format(k, v) for k, v in ENV.items()), time.strftime("%Y-%m-%d"),
                              summary, ", ".join(map(str, retries_seen))))
    if args.renewal_rounds:
        started = time.monotonic()
        failures, injected = renewal_rounds(args.renewal_rounds, base)
        failed += len(failures)
        summary = "{0} rounds, {1} failed, {2:.0f} s".format(args.renewal_rounds, len(failures),
                                                            time.monotonic() - started)
        faults = ("{ari-500} answers 500 from renewalInfo, {kill-child} children killed, {drop-download} downloads "
                  "cut, {kill-parent} parents killed".format(**injected))
        print("renewal: {0}; injected: {1}; every run's output in {2}".format(summary, faults,
                                                                            os.path.join(base, "renewal")))
        if args.write:
            write_section("Renewal rounds", "One acme2certifier whose windows close a second after issuance, behind "
                          "the proxy in tools/soak.py; each round runs renew_certificate.py with a deploy hook five "
                          "times: a 500 from renewalInfo, a killed child, a lost connection during the download, a "
                          "killed parent (its child finishes, holding the lock; a run meanwhile does nothing; the next "
                          "run deploys or cleans up), and no fault. Odd rounds use --new-key. Checked after every "
                          "run: exit status, the lines printed, the key and the chain a pair, nothing half-done left, "
                          "the deploy hook run once per saved renewal and never otherwise.\n\nDate: {0}. Result: "
                          "**{1}**{2}; faults injected: {3}.".format(
                              time.strftime("%Y-%m-%d"), summary,
                              " (rounds {0})".format(", ".join(map(str, failures))) if failures else "", faults))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
