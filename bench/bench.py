""" Benchmark: requests per script against the RFC minimum, wall time and its overhead, issuance
for 1, 10 and 100 names, and CPU time spent on cryptography. Results: docs/BENCHMARKS.md.

    .venv/bin/python bench/bench.py                  # prints the tables
    .venv/bin/python bench/bench.py --write          # ... and writes docs/BENCHMARKS.md
    .venv/bin/python bench/bench.py --runs 3 --skip-scale

Requests are counted from Pebble's log, which logs one line per request it serves. Every number
is a median over --runs runs. Pebble runs with no nonce rejection and no authorization reuse
(counts are deterministic), and, for the 1/10/100-name runs, with its random validation
delay on (PEBBLE_VA_NOSLEEP unset), so that answering all challenges before polling matters.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import myhelper  # noqa: E402
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
    (["http01_challenge.py", "--port", "{http_port}", "--bind", "127.0.0.1"], 6,
     "directory, nonce, newAccount, authorization, challenge, one poll"),
    (["finalize_order.py"], 6, "directory, nonce, newAccount, order, finalize, one poll"),
    (["get_certificate.py"], 5, "directory, nonce, newAccount, order, certificate"),
    (["revoke_certificate.py", "--yes"], 4, "directory, nonce, newAccount, revokeCert"),
    (["issue_certificate.py", "--agree-tos", "--port", "{http_port}", "--bind", "127.0.0.1", "i{name}"], 10,
     "directory, nonce, newAccount, newOrder, authorization, challenge, poll, finalize, poll, certificate"),
    (["make_account_key.py", "--type", "ec", "new.key"], 0, "no exchange"),
    (["account_key_change.py", "new.key"], 4, "directory, nonce, newAccount, keyChange"),
    (["account_deactivate.py", "--yes"], 4, "directory, nonce, newAccount, account (the script also shows it: +1)"),
]


def python(args, cwd, env=None):
    started = time.perf_counter()
    result = subprocess.run([sys.executable] + args, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=600, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit("{0} failed:\n{1}{2}".format(" ".join(args), result.stdout[-2000:], result.stderr[-2000:]))
    return elapsed, result.stdout


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
    rsa4096 = myhelper.RSA.generate(4096)
    rsa2048 = myhelper.RSA.generate(2048)
    ec = myhelper.ECC.generate(curve="P-256")
    data = b"x" * 600
    return {
        "RSA 4096 key": cpu(lambda: myhelper.RSA.generate(4096), max(3, repeats)),
        "RSA 2048 key": cpu(lambda: myhelper.RSA.generate(2048), max(5, repeats)),
        "EC P-256 key": cpu(lambda: myhelper.ECC.generate(curve="P-256").pointQ.x, 20),
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
                elapsed, _ = python([os.path.join(ROOT, "issue_certificate.py"), "--agree-tos", "--port",
                                     str(pebble.http_port), "--bind", "127.0.0.1"] + names, folder)
                times.append(elapsed)
                counts.append(len(served(pebble)) - before)
            results[size] = (statistics.median(times), statistics.median(counts))
    return results


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


def report(args):
    lines = ["# Benchmarks", "",
             "Reproduce with `tools/setup.sh requirements-dev.txt && .venv/bin/python bench/bench.py --write` "
             "(without `--write` it only prints).", "",
             "Machine: " + machine(), "Date: " + time.strftime("%Y-%m-%d"),
             "Medians of {0} runs. Requests counted from Pebble's log (one line per request served).".format(
                 args.runs), ""]
    folder = tempfile.mkdtemp(prefix="bench-")
    with Pebble.on_free_ports(os.path.join(folder, "pebble"), env=QUIET) as pebble:
        stats = script_runs(pebble, args.runs)
        import_floor = floor(pebble, 0, max(5, args.runs))
        per_count = {}
        lines += ["## Requests and time per script", "",
                  "Floor: `python -c \"import requests, Crypto\"` takes {0:.0f} ms here; a script's floor adds "
                  "a new HTTPS session making as many requests as the script does (GET of the directory). "
                  "Overhead = wall time - floor: argument parsing, key loading, key generation, signing, JSON, "
                  "printing, and deliberate 1 s pauses: after answering the challenges (http01_challenge.py, "
                  "issue_certificate.py) and after finalizing (finalize_order.py, issue_certificate.py), since "
                  "polling at once mostly costs one more request.".format(
                      import_floor * 1000), "",
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
