""" Benchmark: issue_certificate.py beside acme-tiny (its peer), requests per script against the RFC
minimum, wall time and its overhead, CPU time spent on cryptography, the parsers of server text on
1 MB and 10 MB of hostile input, and issuance for 1, 10 and 100 names. Results: docs/BENCHMARKS.md.

    .venv/bin/pip install -r bench/requirements.txt  # acme-tiny (or: sudo apt-get install acme-tiny)
    .venv/bin/python bench/bench.py                  # prints the tables
    .venv/bin/python bench/bench.py --write          # ... and writes docs/BENCHMARKS.md
    .venv/bin/python bench/bench.py --runs 3 --skip-scale

Requests are counted from Pebble's log, which logs one line per request it serves. Every number
is a median over --runs runs. Pebble runs with no nonce rejection and no authorization reuse
(counts are deterministic), and, for the 1/10/100-name runs, with its random validation
delay on (PEBBLE_VA_NOSLEEP unset), so that answering all challenges before polling matters.
"""

import argparse
import functools
import http.server
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import myhelper  # noqa: E402
from lib import send  # noqa: E402
from pebble import Pebble  # noqa: E402

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


def script_runs(pebble, runs):
    """ For each script: request counts (all, POSTs) and wall times over several whole flows """
    stats = {}
    for run in range(runs):
        folder = tempfile.mkdtemp(prefix="bench-flow-")
        pebble.write_acme_ini(os.path.join(folder, "acme.ini"))
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


def floor(pebble, requests_count, repeats):
    """ Python start + import requests, Crypto, and a new HTTPS session making requests_count requests """
    code = ("import requests, Crypto, time, sys\n"
            "s = requests.Session()\n"
            "for _ in range({0}): s.get(sys.argv[1], verify=sys.argv[2], timeout=10)\n").format(requests_count)
    times = []
    for _ in range(repeats):
        elapsed, _ = python(["-c", code, pebble.directory_url, pebble.ca_file], ROOT)
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
        pebble.write_acme_ini(os.path.join(folder, "acme.ini"), PollTimeout="300")
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


def acme_tiny_command():
    """ acme-tiny from pip (bench/requirements.txt) in this Python, else Debian's /usr/bin/acme-tiny """
    try:
        import acme_tiny  # noqa: F401
        return [sys.executable, "-m", "acme_tiny"], "acme-tiny {0} (pip)".format(package_version("acme-tiny"))
    except ImportError:
        pass
    if shutil.which("acme-tiny"):
        found = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "acme-tiny"], capture_output=True, text=True)
        return ["acme-tiny"], "acme-tiny {0} (Debian)".format(found.stdout.strip() or "?")
    raise SystemExit("acme-tiny is not installed: .venv/bin/pip install -r bench/requirements.txt "
                     "(or sudo apt-get install acme-tiny), or run with --skip-acme-tiny")


def package_version(name):
    from importlib.metadata import version
    return version(name)


def versus_acme_tiny(runs):
    """ One name, http-01 from the same static web server, the same account key, CSR and CSR key made
    outside both timings, against the same Pebble without validation delay. Each run: acme-tiny,
    then ours, each with a fresh name. Both skip a self-check (acme-tiny: --disable-check; ours has
    none in issue_certificate.py). Ours also checks the certificate against the key and the name
    before saving it, and writes the order file and the chain atomically. """
    command, label = acme_tiny_command()
    folder = tempfile.mkdtemp(prefix="bench-tiny-")
    www = os.path.join(folder, "www", ".well-known", "acme-challenge")
    os.makedirs(www)
    times = {"acme-tiny": [], "ours": []}
    counts = {"acme-tiny": [], "ours": []}
    with Pebble.on_free_ports(os.path.join(folder, "pebble"), env=QUIET) as pebble, \
            Webroot(os.path.join(folder, "www"), pebble.http_port):
        pebble.write_acme_ini(os.path.join(folder, "acme.ini"))
        python([os.path.join(ROOT, "make_account_key.py"), "--config", "acme.ini"], folder)
        python([os.path.join(ROOT, "make_certificate_key.py"), "--config", "acme.ini"], folder)
        python([os.path.join(ROOT, "new_account.py"), "--config", "acme.ini", "--agree-tos"], folder)
        env = dict(os.environ, SSL_CERT_FILE=pebble.ca_file)
        for run in range(runs):
            for who in ("acme-tiny", "ours"):
                name = "{0}-{1}-{2}.example.test".format(who.replace("-", ""), run, int(time.time() * 1000) % 10 ** 8)
                python([os.path.join(ROOT, "make_csr.py"), "--config", "acme.ini", name], folder)
                if who == "acme-tiny":
                    args = command + ["--account-key", "account.key", "--csr", "example.test.csr",
                                      "--acme-dir", www, "--directory-url", pebble.directory_url,
                                      "--disable-check", "--quiet"]
                else:
                    args = [sys.executable, os.path.join(ROOT, "issue_certificate.py"), "--config", "acme.ini",
                            "--csr", "example.test.csr", "--key", "example.test.key", "--webroot",
                            os.path.join(folder, "www")]
                before = len(served(pebble))
                elapsed, _out = run_command(args, folder, env)
                times[who].append(elapsed)
                counts[who].append(len(served(pebble)) - before)
    result = {who: (statistics.median(times[who]), statistics.median(counts[who]), min(times[who]), max(times[who]))
              for who in times}
    return label, dict(result, folder=folder)


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


def tiny_section(args):
    """ issue_certificate.py beside acme-tiny, and where the time of each goes """
    label, result = versus_acme_tiny(args.runs)
    ours, tiny = result["ours"], result["acme-tiny"]
    repeats = max(5, args.runs)
    floors = [
        ("Python itself", "pass"),
        ("acme-tiny's imports (stdlib only)", "import argparse, subprocess, json, os, sys, base64, binascii, time, "
                                               "hashlib, re, copy, textwrap, logging, urllib.request"),
        ("`import requests`", "import requests"),
        ("our three dependencies", "import sys; sys.modules['cffi'] = None; import requests, "
                                   "Crypto.Signature.pkcs1_15, Crypto.PublicKey.RSA, cryptography.x509"),
        ("helper, myhelper, transport", "import sys; sys.path.insert(0, {0!r}); import helper, myhelper, transport, "
                                        "cryptography.x509".format(ROOT)),
    ]
    measured = [(what, import_floor(code, repeats)) for what, code in floors]
    key = myhelper.load_private_key(os.path.join(result["folder"], "account.key"))
    signs = statistics.median(timed(lambda: [myhelper.sign(b"x" * 600, key) for _ in range(8)]) for _ in range(repeats))
    openssl = statistics.median(timed(lambda: [subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", os.path.join(result["folder"], "account.key")], input=b"x" * 600,
        capture_output=True, check=True) for _ in range(8)]) for _ in range(repeats))
    faster = ours[0] < tiny[0]
    lines = ["## issue_certificate.py beside acme-tiny", "",
             "One name, the same Pebble (no validation delay, no authorization reuse), the same {0}-bit RSA "
             "account key, CSR and certificate key made outside both timings, the http-01 files served by one "
             "static web server (acme-tiny's `--acme-dir`, our `--webroot`), acme-tiny with `--disable-check` "
             "(issue_certificate.py has no self-check). Each run: acme-tiny, then ours, each with a new name. "
             "{1}; medians of {2} runs.".format(key.size_in_bits(), label, args.runs), "",
             "| client | wall time (median) | fastest | slowest | requests |", "|---|---:|---:|---:|---:|",
             "| acme-tiny | {0:.0f} ms | {2:.0f} ms | {3:.0f} ms | {1:.0f} |".format(
                 tiny[0] * 1000, tiny[1], tiny[2] * 1000, tiny[3] * 1000),
             "| `issue_certificate.py --webroot` | {0:.0f} ms | {2:.0f} ms | {3:.0f} ms | {1:.0f} |".format(
                 ours[0] * 1000, ours[1], ours[2] * 1000, ours[3] * 1000), "",
             "Ours is {0} acme-tiny here.".format("faster than" if faster else "{0:.0f} ms slower than".format(
                 (ours[0] - tiny[0]) * 1000)), "",
             "Where the time goes: what a run cannot avoid before its first request (median wall time of "
             "`python -c` with the imports), and the eight signatures of one issuance.", "",
             "| | wall time |", "|---|---:|"]
    lines += ["| {0} | {1:.0f} ms |".format(what, seconds * 1000) for what, seconds in measured]
    lines += ["| 8 RS256 signatures in pycryptodome (ours) | {0:.0f} ms |".format(signs * 1000),
              "| 8 `openssl dgst -sign` processes (acme-tiny's) | {0:.0f} ms |".format(openssl * 1000), ""]
    deps = measured[3][1]
    lines += ["Our dependencies alone (requests, pycryptodome, cryptography; the project's rules) take {0:.0f} ms to "
              "import, and pycryptodome's eight signatures {1:.0f} ms: {2:.0f} ms before any exchange, {3} "
              "acme-tiny's whole run ({4:.0f} ms), which needs only the standard library and the openssl "
              "command.".format(deps * 1000, signs * 1000, (deps + signs) * 1000,
                                "more than" if deps + signs > tiny[0] else "against", tiny[0] * 1000)]
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


def report(args):
    lines = ["# Benchmarks", "",
             "Reproduce with `.venv/bin/pip install -r bench/requirements.txt && .venv/bin/python bench/bench.py "
             "--write` (without `--write` it only prints).", "",
             "Machine: " + machine(), "Date: " + time.strftime("%Y-%m-%d"),
             "Medians of {0} runs unless said. Requests counted from Pebble's log (one line per request "
             "served).".format(args.runs), ""]
    if not args.skip_acme_tiny:
        lines += tiny_section(args) + [""]
    folder = tempfile.mkdtemp(prefix="bench-")
    with Pebble.on_free_ports(os.path.join(folder, "pebble"), env=QUIET) as pebble:
        stats = script_runs(pebble, args.runs)
        import_floor = floor(pebble, 0, max(5, args.runs))
        per_count = {}
        lines += ["## Requests and time per script", "",
                  "Floor: `python -c \"import requests, Crypto\"` takes {0:.0f} ms here; a script's floor adds "
                  "a new HTTPS session making as many requests as the script does (GET of the directory). "
                  "Overhead = wall time - floor: the other imports, argument parsing, key loading and "
                  "generation, signing, JSON, printing, and the short wait ({1:.0f} ms) before the first look "
                  "after answering a challenge or finalizing.".format(import_floor * 1000,
                                                                      send.FIRST_POLL * 1000), "",
                  "| script | requests | RFC minimum | of which signed POSTs | wall time | floor | overhead |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for args_, minimum, why in FLOW:
            entry = stats[label_of(args_)]
            count = int(statistics.median(entry["requests"]))
            if count not in per_count:
                per_count[count] = floor(pebble, count, max(3, args.runs))
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
    parser.add_argument("--skip-acme-tiny", action="store_true", help="skip the comparison with acme-tiny")
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
