""" Benchmark: issue_certificate.py beside acme-tiny, uacme and certbot at 0 and 100 ms round-trip time,
requests per script against the RFC minimum, wall time and its overhead, CPU time spent on
cryptography, the parsers of server text on 1, 10 and 20 MB of hostile input, and issuance for 1, 10
and 100 names. Results: docs/BENCHMARKS.md.

    sudo apt-get install pebble acme-tiny uacme certbot   # the peers (a missing one is reported, not run)
    .venv/bin/python bench/bench.py                  # prints the tables
    .venv/bin/python bench/bench.py --write          # ... and writes docs/BENCHMARKS.md
    .venv/bin/python bench/bench.py --runs 3 --skip-scale --rtt 0 50 200 --peers acme-tiny

acme-tiny may also come from pip (bench/requirements.txt) into the Python that runs the bench, and
certbot from pip into a venv of its own, bench-run/certbot (see bench/peers.py).

Every client, ours included, trusts one file as a real machine would: the system's CA bundle plus
the test CA of Pebble's TLS certificate (bench/peers.py, TrustStore). With --rtt, clients reach Pebble
through bench/rtt_proxy.py, which delays every byte by RTT/2 each way; 0 is straight to Pebble.

Requests are counted from Pebble's log, which logs one line per request it serves, and connections
by the proxy. Every number is a median over --runs runs. Pebble runs with no nonce rejection and
authorization reuse at its least (1 order in 100; the medians keep counts steady), and, for the
1/10/100-name runs, with its random validation delay on (PEBBLE_VA_NOSLEEP unset), so that
answering all challenges before polling matters.
"""

import argparse
import contextlib
import functools
import http.server
import json
import os
import platform
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tools"))

sys.path.insert(0, os.path.join(ROOT, "bench"))

import myhelper  # noqa: E402
import requests  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from peers import TrustStore, clients  # noqa: E402
from pebble import Pebble  # noqa: E402
from rtt_proxy import DelayProxy  # noqa: E402

QUIET = {"PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}

# (script and arguments, the fewest requests RFC 8555 allows for what it does, and why)
FLOW = [
    (["make_account_key.py"], 0, "no exchange"),
    (["make_certificate_key.py"], 0, "no exchange"),
    (["make_csr.py", "{name}"], 0, "no exchange"),
    (["get_directory.py"], 1, "directory"),
    (["get_nonce.py"], 2, "directory, nonce"),
    (["get_terms_of_service.py"], 1, "directory"),
    (["new_account.py", "--agree-tos"], 3, "directory, nonce, newAccount"),
    (["get_account_url.py"], 3, "directory, nonce, newAccount"),
    (["get_account_info.py"], 4, "directory, nonce, newAccount, account"),
    (["account_update.py"], 4, "directory, nonce, newAccount, account"),
    (["request_certificate.py"], 4, "directory, nonce, newAccount, newOrder"),
    (["get_challenges.py"], 4, "directory, nonce, newAccount, authorization"),
    (["http01_challenge.py"], 6,
     "directory, nonce, newAccount, authorization, challenge, one poll"),
    (["finalize_order.py"], 6, "directory, nonce, newAccount, order, finalize, one poll"),
    (["get_certificate.py"], 5, "directory, nonce, newAccount, order, certificate"),
    (["revoke_certificate.py", "--yes"], 4, "directory, nonce, newAccount, revokeCert"),
    (["issue_certificate.py", "--agree-tos", "i{name}"], 10,
     "directory, nonce, newAccount, newOrder, authorization, challenge, poll, finalize, poll, certificate"),
    (["make_account_key.py", "--type", "ec", "new.key"], 0, "no exchange"),
    (["account_key_change.py", "new.key"], 4, "directory, nonce, newAccount, keyChange"),
    (["account_deactivate.py", "--yes"], 4, "directory, nonce, newAccount, account (the script also shows it: +1)"),
]


def python(args, cwd, env=None):
    """ Run this Python with args: (wall seconds, its output); a failure ends the benchmark """
    return run_command([sys.executable] + args, cwd, env)


def label_of(args):
    """ The script and its options, without the run-specific values (names, ports) """
    return " ".join(a for a in args if "{" not in a and ".example.test" not in a and not a.isdigit())


def served(pebble):
    return pebble.served_requests()


def script_runs(pebble, runs, store):
    """ For each script: request counts (all, POSTs) and wall times over several whole flows """
    stats = {}
    for run in range(runs):
        folder = tempfile.mkdtemp(prefix="bench-flow-")
        pebble.write_acme_ini(os.path.join(folder, "acme.ini"), CABundle=store.path)
        name = "r{0}-{1}.example.test".format(run, int(time.time() * 1000) % 10 ** 8)
        for args, _minimum, _why in FLOW:
            args = [a.format(name=name, http_port=pebble.http_port) for a in args]
            before = len(served(pebble))
            elapsed, _out = python([os.path.join(ROOT, args[0])] + args[1:], folder)
            lines = served(pebble)[before:]
            entry = stats.setdefault(label_of(args), {"requests": [], "posts": [], "seconds": []})
            entry["requests"].append(len(lines))
            entry["posts"].append(sum(" POST " in line for line in lines))
            entry["seconds"].append(elapsed)
    return stats


def floor(pebble, requests_count, repeats, store):
    """ Python start + import requests, Crypto, and a new HTTPS session making requests_count requests """
    code = ("import requests, Crypto, time, sys\n"
            "s = requests.Session()\n"
            "for _ in range({0}): s.get(sys.argv[1], verify=sys.argv[2], timeout=10)\n").format(requests_count)
    times = []
    for _ in range(repeats):
        elapsed, _ = python(["-c", code, pebble.directory_url, store.path], ROOT)
        times.append(elapsed)
    return statistics.median(times)


def crypto_costs(repeats):
    """ CPU seconds of key generation and of one signature, by key type """
    def cpu(function, times):
        samples = []
        for _ in range(times):
            started = time.process_time()
            function()
            samples.append(time.process_time() - started)
        return statistics.median(samples)
    from Crypto.PublicKey import ECC, RSA
    rsa4096 = RSA.generate(4096)
    rsa2048 = RSA.generate(2048)
    ec = ECC.generate(curve="P-256")
    data = b"x" * 600
    return {
        "RSA 4096 key": cpu(lambda: RSA.generate(4096), max(3, repeats)),
        "RSA 2048 key": cpu(lambda: RSA.generate(2048), max(5, repeats)),
        "EC P-256 key": cpu(lambda: ECC.generate(curve="P-256").pointQ.x, 20),
        "RS256 sign (4096)": cpu(lambda: myhelper.sign(data, rsa4096), 50),
        "RS256 sign (2048)": cpu(lambda: myhelper.sign(data, rsa2048), 50),
        "ES256 sign": cpu(lambda: myhelper.sign(data, ec), 50),
    }


def scale(runs, sizes):
    """ issue_certificate.py for 1, 10, 100 names with Pebble's validation delay on """
    results = {}
    folder = tempfile.mkdtemp(prefix="bench-scale-")
    pebble = Pebble.on_free_ports(os.path.join(folder, "pebble"), env=dict(QUIET, PEBBLE_VA_NOSLEEP=""))
    pebble.env.pop("PEBBLE_VA_NOSLEEP")
    with pebble:
        store = TrustStore(pebble.ca_file, os.path.join(folder, "trust-store.pem"))
        pebble.write_acme_ini(os.path.join(folder, "acme.ini"), PollTimeout="300", CABundle=store.path)
        python([os.path.join(ROOT, "make_account_key.py"), "--bits", "2048"], folder)
        python([os.path.join(ROOT, "make_certificate_key.py")], folder)
        for size in sizes:
            times, counts = [], []
            for run in range(runs):
                names = ["n{0}-{1}-{2}.example.test".format(size, run, i) for i in range(size)]
                before = len(served(pebble))
                elapsed, _ = python([os.path.join(ROOT, "issue_certificate.py"), "--agree-tos"] + names, folder)
                times.append(elapsed)
                counts.append(len(served(pebble)) - before)
            results[size] = (statistics.median(times), statistics.median(counts))
    return results


class Webroot:
    """ A static web server for http-01 files (acme-tiny's --acme-dir, our --webroot) on the port Pebble checks """

    def __init__(self, folder, port):
        handler = functools.partial(Quiet, directory=folder)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Issuance:
    """ What every client of the comparison shares: one Pebble, one webroot, one trust store, one account key """

    def __init__(self, folder, pebble, store):
        self.folder, self.pebble, self.store = folder, pebble, store
        self.webroot = os.path.join(folder, "www")
        self.challenges = os.path.join(self.webroot, ".well-known", "acme-challenge")
        os.makedirs(self.challenges)
        self.env = store.env()
        self.inis = {}
        self.account_bits = 0
        self.test_ca_only = []          # acme-tiny's times when it trusts only the test CA

    def ini_for(self, directory):
        """ Our acme.ini for an ACME directory URL (Pebble's, or the proxy's in front of it) """
        if directory not in self.inis:
            path = os.path.join(self.folder, "acme-{0}.ini".format(len(self.inis)))
            self.pebble.write_acme_ini(path, ACMEDirectory=directory, CABundle=self.store.path)
            self.inis[directory] = path
        return self.inis[directory]

    def run(self, args, extra=None):
        return run_command(args, self.folder, dict(self.env, **(extra or {})))

    def timed_run(self, args, extra=None):
        """ (wall seconds, CPU seconds of the command and every process it waited for) """
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        elapsed, _out = self.run(args, extra)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def urls_in(value):
    if isinstance(value, dict):
        return [u for v in value.values() for u in urls_in(v)]
    if isinstance(value, list):
        return [u for v in value for u in urls_in(v)]
    return [value] if isinstance(value, str) and value.startswith("http") else []


def check_points_at(urls, base, where):
    """ Pebble builds its URLs from the request's Host: through the proxy they must all lead back to it """
    stray = [u for u in urls if not u.startswith(base)]
    if stray or not urls:
        raise SystemExit("{0}: URLs that do not go through the proxy {1}: {2}".format(where, base, stray or "none"))


def versus_peers(runs, rtts, wanted):
    """ One name each, http-01 from the same static web server, the CSR and certificate key made outside
    every timing, against one Pebble without validation delay, at each round-trip time (0: straight to
    Pebble; else through DelayProxy). Each run: every client once, in an order that turns with the run.
    Returns the clients and {rtt: {client name: {"seconds", "requests", "connections"}}} """
    folder = tempfile.mkdtemp(prefix="bench-peers-")
    results = {}
    with Pebble.on_free_ports(os.path.join(folder, "pebble"), env=QUIET) as pebble, \
            Webroot(os.path.join(folder, "www"), pebble.http_port):
        bench = Issuance(folder, pebble, TrustStore(pebble.ca_file, os.path.join(folder, "trust-store.pem")))
        everyone = clients(bench.store, wanted)
        ready = [client for client in everyone if not client.missing]
        base = bench.ini_for(pebble.directory_url)
        for script in (["make_account_key.py"], ["make_certificate_key.py"], ["new_account.py", "--agree-tos"]):
            bench.run([sys.executable, os.path.join(ROOT, script[0]), "--config", base] + script[1:])
        with open(os.path.join(folder, "account.key"), "rb") as f:
            bench.account_bits = serialization.load_pem_private_key(f.read(), None).key_size
        for rtt in rtts:
            with (DelayProxy(pebble.port, rtt / 1000) if rtt else contextlib.nullcontext()) as proxy:
                directory = "https://localhost:{0}/dir".format(proxy.port) if proxy else pebble.directory_url
                if proxy:
                    answer = requests.get(directory, verify=bench.store.path, timeout=10).json()
                    check_points_at(urls_in(answer), directory[:-len("dir")], "the directory")
                for client in ready:
                    client.prepare(bench, directory)
                stats = results[rtt] = {c.name: {"seconds": [], "cpu": [], "requests": [], "connections": []}
                                        for c in ready}
                for run in range(runs):
                    for client in ready[run % len(ready):] + ready[:run % len(ready)]:
                        name = "{0}-{1}ms-{2}.example.test".format(client.name.replace("-", ""), rtt, run)
                        bench.run([sys.executable, os.path.join(ROOT, "make_csr.py"), "--config", base, name])
                        shutil.copyfile(os.path.join(folder, "example.test.csr"), os.path.join(folder, name + ".csr"))
                        args, extra = client.command(bench, directory, name, name + ".csr")
                        before, connections = len(served(pebble)), proxy.connections if proxy else 0
                        elapsed, cpu = bench.timed_run(args, extra)
                        stats[client.name]["seconds"].append(elapsed)
                        stats[client.name]["cpu"].append(cpu)
                        stats[client.name]["requests"].append(len(served(pebble)) - before)
                        if proxy:
                            stats[client.name]["connections"].append(proxy.connections - connections)
                tiny = next((c for c in ready if c.name == "acme-tiny"), None)
                if not rtt and tiny:        # as the bench used to run it: trusting only the test CA
                    bench.test_ca_only = []
                    for run in range(runs):
                        name = "tinytestca-{0}.example.test".format(run)
                        bench.run([sys.executable, os.path.join(ROOT, "make_csr.py"), "--config", base, name])
                        args, extra = tiny.command(bench, directory, name, "example.test.csr")
                        bench.test_ca_only.append(bench.run(args, dict(extra, SSL_CERT_FILE=pebble.ca_file))[0])
                if proxy:
                    with open(os.path.join(folder, "order.json"), encoding="utf8") as f:
                        check_points_at(urls_in(json.load(f)), directory[:-len("dir")], "our last order")
        bench.uacme_wrapper = next((c.wrapper for c in ready if c.name == "uacme"), [])
    return bench, everyone, results


def run_command(args, cwd, env):
    started = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600,
                            env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit("{0} failed:\n{1}{2}".format(" ".join(args), result.stdout[-2000:], result.stderr[-2000:]))
    return elapsed, result.stdout


def parser_times(sizes=(1000 * 1000, 10 * 1000 * 1000, 20 * 1000 * 1000)):
    """ Seconds each parser of server text takes on hostile input of each size (tests/hostile_inputs.py) """
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import hostile_inputs
    times = {}
    for case in hostile_inputs.CASES:
        hostile_inputs.call(case, 1000)                     # lazy imports out of the timing
        times[case] = []
        for size in sizes:
            samples = [hostile_inputs.call(case, size) for _ in range(3)]     # the fastest: the least disturbed
            outcome = samples[0][0]
            times[case].append(min(seconds for _outcome, seconds in samples))
        times[case].append(outcome.split(":")[0])
    return times


def import_floor(code, repeats):
    """ Median wall time of python -c code: the start-up a script cannot avoid """
    return statistics.median(python(["-c", code], ROOT)[0] for _ in range(repeats))


def machine():
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pebble = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "pebble"], capture_output=True, text=True)
    return "{0}, {1} cores, Python {2}, Pebble {3}, {4}".format(model or platform.machine(), os.cpu_count(),
                                                               platform.python_version(),
                                                               pebble.stdout.strip() or "?", platform.platform())


def ms(seconds):
    return "{0:.0f} ms".format(seconds * 1000)


def peers_section(args):
    """ issue_certificate.py beside acme-tiny, uacme and certbot at each round-trip time, and where the time goes """
    bench, everyone, results = versus_peers(args.runs, args.rtt, args.peers)
    ready = [c for c in everyone if not c.missing]
    delayed = [rtt for rtt in args.rtt if rtt]
    median = {rtt: {c.name: statistics.median(results[rtt][c.name]["seconds"]) for c in ready} for rtt in args.rtt}

    def count(name, what):
        values = [v for rtt in args.rtt for v in results[rtt][name][what]] if what == "requests" else \
            [v for rtt in delayed for v in results[rtt][name][what]]
        return statistics.median(values) if values else None

    store = bench.store
    lines = ["## issue_certificate.py beside acme-tiny, uacme, certbot", "",
             "One name each, with http-01: every client writes its file into the same webroot, served by one static "
             "web server on the port Pebble checks (acme-tiny `--acme-dir`, uacme its own `uacme.sh` hook, certbot "
             "`--webroot`, ours `--webroot`). The same Pebble (no validation delay, authorization reuse at Pebble's "
             "least, 1 order in 100), one CSR "
             "per run made outside every timing from the same certificate key, the same {0}-bit RSA account key "
             "(certbot: its own account with a key of that size, registered before the timing). No client checks "
             "its own challenge file first (acme-tiny: `--disable-check`; the others have no such check). Each run "
             "runs every client once, in an order that turns with the run. Medians of {1} runs.".format(
                 bench.account_bits, args.runs), "",
             "Every client trusts the same file, as on a real machine: the system's CA bundle ({0}, {1} "
             "certificates with the test CA) plus the test CA that signed Pebble's TLS certificate. Ours reads it "
             "from `CABundle` in its ini, acme-tiny from `SSL_CERT_FILE`, certbot from `REQUESTS_CA_BUNDLE`, "
             "uacme from `UACME_CAINFO` (uacme 1.7.6 and later; an older uacme reads only the system bundle, so "
             "the bench bind-mounts the file over {2} in a mount namespace of uacme's own).".format(
                 store.source, store.certificates, store.system or "the system bundle")]
    if bench.test_ca_only and 0 in median:
        lines[-1] += (" This matters most for acme-tiny, which opens a connection per request and loads its trust "
                      "store each time: given only the test CA, as this bench used to give it, it takes {0} on "
                      "loopback here instead of {1}.".format(ms(statistics.median(bench.test_ca_only)),
                                                            ms(median[0]["acme-tiny"])))
    lines += ["",
             "Round-trip time: 0 ms is loopback, straight to Pebble; otherwise the clients reach Pebble through "
             "bench/rtt_proxy.py, which holds every byte RTT/2 in each direction, so that a request and its answer "
             "cost one RTT and a new connection its TCP and TLS handshakes (two RTTs with TLS 1.3). Pebble builds "
             "its URLs from the request's Host header; the bench checks that the directory and our order point "
             "back at the proxy. Pebble's own http-01 check of the webroot is not delayed.", "",
             "Columns: requests counted in Pebble's log; TCP connections counted by the proxy; CPU time is user + "
             "system time of the client and of the processes it waited for (hooks, openssl), median of all runs, "
             "which other processes' load changes far less than wall time; wall time as median (fastest-slowest); "
             "\"added by\" is the median at that RTT minus the median on loopback, beside what the requests and "
             "connections alone should cost at that RTT (on a busy machine the loopback medians carry most of the "
             "noise, so the two can differ by a few hundred ms either way).", "",
             "Clients: " + "; ".join(c.label for c in ready) + "."]
    missing = [c for c in everyone if c.missing]
    if missing:
        lines += ["", "Not measured: " + "; ".join("{0}: {1}".format(c.name, c.missing) for c in missing) + "."]
    head = "| client | requests | TCP connections | CPU time |" + "".join(" {0} ms RTT (fastest-slowest) |".format(rtt)
                                                          for rtt in args.rtt)
    head += "".join(" added by {0} ms | (requests + 2 x connections) x RTT |".format(rtt) for rtt in delayed)
    lines += ["", head, "|---|---:|---:|---:|" + "---:|" * (len(args.rtt) + 2 * len(delayed))]
    for client in ready:
        requests_, connections = count(client.name, "requests"), count(client.name, "connections")
        cpu = statistics.median(v for rtt in args.rtt for v in results[rtt][client.name]["cpu"])
        row = "| {0} | {1:.0f} | {2} | {3} |".format(
            client.label.split(" (")[0] if client.name != "ours" else client.label, requests_,
            "-" if connections is None else "{0:.0f}".format(connections), ms(cpu))
        for rtt in args.rtt:
            seconds = results[rtt][client.name]["seconds"]
            row += " **{0}** ({1:.0f}-{2:.0f}) |".format(ms(median[rtt][client.name]), min(seconds) * 1000,
                                                        max(seconds) * 1000)
        for rtt in delayed:
            added = median[rtt][client.name] - median[0][client.name] if 0 in median else None
            row += " {0} | {1} |".format("-" if added is None else ms(added),
                                         ms((requests_ + 2 * (connections or 0)) * rtt / 1000))
        lines.append(row)
    lines += [""]
    for rtt in args.rtt:
        ours = median[rtt]["ours"]
        faster_peers = [c for c in ready if c.name != "ours" and median[rtt][c.name] <= ours]
        slower_peers = [c for c in ready if c.name != "ours" and median[rtt][c.name] > ours]
        text = "At {0} ms RTT ours takes {1}".format(rtt, ms(ours))
        if slower_peers:
            text += ": faster than " + ", ".join("{0} ({1}; {2})".format(
                c.name, ms(median[rtt][c.name]), wins(results[rtt], c.name)) for c in slower_peers)
        if faster_peers:
            text += "{0}slower than {1}".format("; " if slower_peers else ": ", ", ".join(
                "{0} ({1}, {2} less; {3})".format(c.name, ms(median[rtt][c.name]), ms(ours - median[rtt][c.name]),
                                                  wins(results[rtt], c.name)) for c in faster_peers))
        lines.append(text + ".")
        for peer in faster_peers:
            lines[-1] += " " + losing_note(results[rtt], peer.name, median[rtt])
    lines += [""] + peer_notes(ready, results, args.rtt) + [""] + where_time_goes(bench, ready, results, median, args)
    return lines


def wins(stats, peer):
    """ In how many runs ours beat the peer: both ran in every run, seconds apart, so that a busy spell of the
    machine tends to hit both """
    pairs = list(zip(stats["ours"]["seconds"], stats[peer]["seconds"]))
    return "ours the faster in {0} of {1} runs".format(sum(a < b for a, b in pairs), len(pairs))


def losing_note(stats, peer, median):
    """ Where ours loses to a peer: CPU against waiting (for the server, for a CPU on a loaded machine, for timers) """
    cpu = {who: statistics.median(stats[who]["cpu"]) for who in ("ours", peer)}
    return ("Against {0}: ours used {1} of CPU, {0} {2}; the rest of each wall time is waiting (for Pebble's "
            "answers, for a CPU when the machine is busy, for a quick second look when a first one finds the "
            "CA not yet done): {3} for ours, {4} for {0}.".format(
                peer, ms(cpu["ours"]), ms(cpu[peer]), ms(median["ours"] - cpu["ours"]),
                ms(median[peer] - cpu[peer])))


def peer_notes(ready, results, rtts):
    """ The fixed waits in the peers, from their source, how often they showed, and certbot's request count """
    names = [c.name for c in ready]
    lines = []
    if "certbot" in names:
        lines.append("certbot waits a fixed second before its first look at the authorization "
                     "(`certbot/_internal/auth_handler.py`: \"Give an initial second to the ACME CA server\") and "
                     "another before each look at the order after finalizing (`acme/client.py`, "
                     "`finalize_order`: `time.sleep(1)`): two of its seconds are sleep, whatever the CA.")
    if "uacme" in names:
        slow = sum(s > 5 for rtt in rtts for s in results[rtt]["uacme"]["seconds"])
        total = sum(len(results[rtt]["uacme"]["seconds"]) for rtt in rtts)
        lines.append("uacme looks at the challenge right after answering it and at the order right after "
                     "finalizing; if it is not done yet, it sleeps 5 s, then 10, 20 ... (`uacme.c`, "
                     "`for (unsigned u = 5; ...; u *= 2) ... sleep(u)`). Pebble had finished in time in {0} of "
                     "{1} runs here{2}.".format(total - slow, total, "" if not slow else
                                                 " (the others took over 5 s)"))
    if lines:
        lines = ["Fixed waits in the peers: " + " ".join(lines)]
    if "certbot" in names:
        lines += ["", "certbot makes one request fewer than ours: it keeps the account URL of its registration on "
                  "disk, where ours, acme-tiny and uacme ask newAccount for it at every run (our scripts keep no "
                  "account state: the article's get_account_url.py step)."]
    return lines


def where_time_goes(bench, ready, results, median, args):
    repeats = max(5, args.runs)
    floors = [
        ("Python itself", "pass"),
        ("acme-tiny's imports (stdlib only)", "import argparse, subprocess, json, os, sys, base64, binascii, time, "
                                               "hashlib, re, copy, textwrap, logging, urllib.request"),
        ("`import requests`", "import requests"),
        ("our three dependencies", "import requests, Crypto.Signature.pkcs1_15, Crypto.PublicKey.RSA, "
                                   "cryptography.x509"),
        ("helper, myhelper, lib (frame, send, answers)", "import sys; sys.path.insert(0, {0!r}); import helper, "
                                                         "myhelper; from lib import frame, send, answers; "
                                                         "import cryptography.x509".format(ROOT)),
    ]
    measured = [(what, import_floor(code, repeats)) for what, code in floors]
    account_key = os.path.join(bench.folder, "account.key")
    key = myhelper.load_private_key(account_key)
    signs = statistics.median(timed(lambda: [myhelper.sign(b"x" * 600, key) for _ in range(8)]) for _ in range(repeats))
    openssl = statistics.median(timed(lambda: [subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", account_key], input=b"x" * 600,
        capture_output=True, check=True) for _ in range(8)]) for _ in range(repeats))
    trust = statistics.median(timed(lambda: ssl.create_default_context(cafile=bench.store.path)) for _ in range(10))
    lines = ["Where the time goes on loopback: what a run cannot avoid before its first request (median wall time "
             "of `python -c` with the imports), the signatures of one issuance, and reading the trust store.", "",
             "| | wall time |", "|---|---:|"]
    lines += ["| {0} | {1} |".format(what, ms(seconds)) for what, seconds in measured]
    lines += ["| 8 RS256 signatures in pycryptodome (ours) | {0} |".format(ms(signs)),
              "| 8 `openssl dgst -sign` processes (acme-tiny's) | {0} |".format(ms(openssl)),
              "| loading the trust store into Python's `ssl` once | {0:.1f} ms |".format(trust * 1000)]
    if bench.uacme_wrapper:
        wrapper = statistics.median(timed(lambda: subprocess.run(bench.uacme_wrapper + ["true"], check=True))
                                    for _ in range(repeats))
        lines.append("| uacme's mount namespace and bind mount (`unshare`, `sh`, `mount`; in its times) | "
                     "{0:.1f} ms |".format(wrapper * 1000))
    lines.append("")
    names = [c.name for c in ready]
    delayed = [rtt for rtt in args.rtt if rtt]
    if "acme-tiny" in names and delayed:
        connections = statistics.median(results[delayed[0]]["acme-tiny"]["connections"])
        lines.append("acme-tiny opens a new connection for each of its requests ({0:.0f}) and loads the trust "
                     "store for each: about {1} of its loopback time, and two extra round trips per request away "
                     "from loopback.".format(connections, ms(connections * trust)))
    if "uacme" in names and delayed:
        connections = statistics.median(results[delayed[0]]["uacme"]["connections"])
        lines.append("uacme is written in C, but it too opens a new connection per request ({0:.0f}: a new "
                     "libcurl handle each time), with a TLS handshake each: CPU on loopback (its CPU time is in the "
                     "table) and two extra round trips per request away from loopback.".format(connections))
    deps = measured[3][1]
    lines.append("Ours keeps one connection for the whole issuance, so a round trip costs it one RTT per request. "
                 "On loopback its floor is its start: our dependencies alone (requests, pycryptodome, cryptography; "
                 "the project's rules) take {0} to import, pycryptodome's eight signatures {1}, reading the trust "
                 "store {2:.0f} ms.".format(ms(deps), ms(signs), trust * 1000))
    return lines


def timed(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def parser_section():
    times = parser_times()
    lines = ["## Parsers of server text on hostile input", "",
             "Each parser of what a server sends, fed 1 MB, 10 MB and 20 MB of hostile text "
             "(tests/hostile_inputs.py; tests/test_hostile.py feeds each 10 MB); the time of the parser only, "
             "the fastest of 3. Where the parser does work of its own, its time grows linearly: about ten "
             "times from 1 MB to 10 MB, about twice from 10 MB to 20 MB. No factor is shown for times under "
             "5 ms: those parsers stop early (the error snippet reads the first 800 bytes; JSON nested "
             "thousands of levels deep is refused as soon as Python's parser gives up) and what is left is "
             "copying the input once, whose time depends "
             "on how the memory for it is obtained more than on its size.", "",
             "| input | 1 MB | 10 MB | 20 MB | 10 MB / 1 MB | 20 MB / 10 MB | outcome |",
             "|---|---:|---:|---:|---:|---:|---|"]

    def ratio(a, b):
        return "{0:.1f}".format(a / b) if b >= 0.005 else "-"
    for case, (one, ten, twenty, outcome) in times.items():
        lines.append("| {0} | {1:.1f} ms | {2:.1f} ms | {3:.1f} ms | {4} | {5} | {6} |".format(
            case, one * 1000, ten * 1000, twenty * 1000, ratio(ten, one), ratio(twenty, ten), outcome))
    return lines


def load_average(value=None):
    return "{0:.1f}".format((value or os.getloadavg())[0])


def report(args):
    start = os.getloadavg()
    lines = ["# Benchmarks", "",
             "Reproduce with `sudo apt-get install pebble acme-tiny uacme certbot && .venv/bin/python bench/bench.py "
             "--write` (without `--write` it only prints; bench/bench.py says where else the peers may come from).",
             "", "Machine: " + machine(), "Date: " + time.strftime("%Y-%m-%d"),
             "Medians of {0} runs unless said. Requests counted from Pebble's log (one line per request "
             "served).".format(args.runs), ""]
    if not args.skip_peers:
        lines += peers_section(args) + [""]
    at = next(i for i, line in enumerate(lines) if line.startswith("Machine: "))
    lines[at] += ", load average {0} at the start, {1} after the peers (this machine may be shared: other " \
        "processes' load shows as spread between fastest and slowest)".format(load_average(start), load_average())
    if args.only_peers:
        return "\n".join(lines) + "\n"
    folder = tempfile.mkdtemp(prefix="bench-")
    with Pebble.on_free_ports(os.path.join(folder, "pebble"), env=QUIET) as pebble:
        store = TrustStore(pebble.ca_file, os.path.join(folder, "trust-store.pem"))
        stats = script_runs(pebble, args.runs, store)
        import_floor = floor(pebble, 0, max(5, args.runs), store)
        per_count = {}
        lines += ["## Requests and time per script", "",
                  "Floor: `python -c \"import requests, Crypto\"` takes {0:.0f} ms here; a script's floor adds "
                  "a new HTTPS session (with the trust store of every client below) making as many requests "
                  "as the script does (GET of the directory). "
                  "Overhead = wall time - floor: the other imports, argument parsing, key loading and "
                  "generation, signing, JSON, printing (the first look after answering a challenge or "
                  "finalizing comes at once: no fixed wait).".format(import_floor * 1000), "",
                  "| script | requests | RFC minimum | of which signed POSTs | wall time | floor | overhead |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for args_, minimum, why in FLOW:
            entry = stats[label_of(args_)]
            count = int(statistics.median(entry["requests"]))
            if count not in per_count:
                per_count[count] = floor(pebble, count, max(3, args.runs), store)
            wall = statistics.median(entry["seconds"])
            label = label_of(args_)
            lines.append("| `{0}` | {1} | {2} ({3}) | {4} | {5:.0f} ms | {6:.0f} ms | {7:+.0f} ms |".format(
                label, count, minimum, why, int(statistics.median(entry["posts"])), wall * 1000,
                per_count[count] * 1000, (wall - per_count[count]) * 1000))
    costs = crypto_costs(args.runs)
    at_minimum = [label_of(a) for a, minimum, _ in FLOW
                  if int(statistics.median(stats[label_of(a)]["requests"])) != minimum]
    lines += ["", "Every script makes the fewest requests RFC 8555 allows for what it does{0}.".format(
        "" if not at_minimum else ", except " + ", ".join("`{0}`".format(x) for x in at_minimum) +
        " (the reason is in the table)")]
    lines += ["", "## CPU time spent on cryptography", "",
              "| operation | CPU time |", "|---|---:|"]
    lines += ["| {0} | {1:.2f} ms |".format(k, v * 1000) for k, v in costs.items()]
    lines += ["", "Per script: one signature per signed POST (column above) with the account key (RSA 4096 by "
              "default: {0:.1f} ms each; ES256: {1:.2f} ms each), plus key generation in the make_*_key "
              "scripts ({2:.0f} ms for RSA 4096 on median; the time of a prime search varies a lot).".format(
                  costs["RS256 sign (4096)"] * 1000, costs["ES256 sign"] * 1000, costs["RSA 4096 key"] * 1000)]
    lines += [""] + parser_section()
    if not args.skip_scale:
        results = scale(max(1, (args.runs + 1) // 2), args.sizes)
        one = results[min(results)][0]
        lines += ["", "## Issuing for many names at once", "",
                  "`issue_certificate.py` with http-01, Pebble's random validation delay on "
                  "(PEBBLE_VA_NOSLEEP unset; every challenge answered before any is polled).", "",
                  "| names | requests | wall time | names x time for one name |", "|---:|---:|---:|---:|"]
        for size, (seconds, count) in sorted(results.items()):
            lines.append("| {0} | {1:.0f} | {2:.1f} s | {3:.1f} s |".format(size, count, seconds, size * one))
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default: 5)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="names per certificate")
    parser.add_argument("--skip-scale", action="store_true", help="skip the 1/10/100-name runs")
    parser.add_argument("--rtt", type=int, nargs="+", default=[0, 100], metavar="MS",
                        help="round-trip times for the comparison with the peers (default: 0 100; 0 = loopback)")
    parser.add_argument("--peers", nargs="+", default=["acme-tiny", "uacme", "certbot"],
                        choices=["acme-tiny", "uacme", "certbot"], help="peers to compare with (default: all three)")
    parser.add_argument("--skip-peers", "--skip-acme-tiny", dest="skip_peers", action="store_true",
                        help="skip the comparison with the peers")
    parser.add_argument("--only-peers", action="store_true", help="only the comparison with the peers")
    parser.add_argument("--write", action="store_true", help="write docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    text = report(args)
    print(text)
    if args.write:
        with open(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "w", encoding="utf8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
