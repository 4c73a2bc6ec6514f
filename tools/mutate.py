""" Mutations: does the mocked suite notice when a safety check breaks? (issue 17)

Each mutation breaks one check in the code readers rely on (myhelper.py, lib/send.py, lib/answers.py,
lib/files.py, lib/certs.py, lib/orders.py, lib/config.py): an exact snippet of source and what replaces
it. For each, a copy of the tree gets that one change and runs the mocked tests
(pytest -m "not e2e" -x, each test with its timeout); a mutation the suite passes "survives". The goal
is that none survives: a check no test notices can break unseen. Not part of ./test.sh:

    .venv/bin/python tools/mutate.py                       # all of them, about 10 minutes
    .venv/bin/python tools/mutate.py --only send.nonce     # those whose name starts so
    .venv/bin/python tools/mutate.py --write               # and the table in docs/MUTATIONS.md

tests/test_tools.py checks that every snippet is still in its file, exactly once.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = (".git", ".venv", ".venv-a2c", "__pycache__", ".ruff_cache", ".pytest_cache")

MUTATIONS = [   # (name, file, snippet, replacement, what would break)
    # myhelper.py: the article's mechanics
    ("myhelper.confirm.enter-is-yes", "myhelper.py", 'return answer in ("y", "yes")',
     'return answer in ("y", "yes", "")', "Enter (an empty answer) taken as yes before an irreversible step"),
    ("myhelper.confirm.unknown-is-an-answer", "myhelper.py", 'if answer in ("y", "yes", "n", "no", ""):',
     "if True:", "an answer that is neither yes nor no is not asked again"),
    ("myhelper.confirm.eof-is-yes", "myhelper.py", "        except EOFError:\n            return False",
     "        except EOFError:\n            return True", "end of input (Ctrl-D) taken as yes"),
    ("myhelper.confirm.no-terminal-check", "myhelper.py", "if not sys.stdin or not sys.stdin.isatty():",
     "if not sys.stdin:", "without a terminal the question is not refused with what to do instead"),
    ("myhelper.save-key.overwrites", "myhelper.py", "        os.link(tmp, filename)",
     '        open(filename, "wb").write(open(tmp, "rb").read())', "a new key written over an existing one"),
    ("myhelper.key.small-rsa", "myhelper.py", "loaded.size_in_bits() < 2048", "loaded.size_in_bits() < 1024",
     "a 1024-bit RSA key accepted"),
    ("myhelper.key.any-curve", "myhelper.py", 'loaded.curve != "NIST P-256"', "False",
     "an EC key on another curve than P-256 accepted"),
    ("myhelper.key.public-only", "myhelper.py", "    if not loaded.has_private():", "    if False:",
     "a public key taken as a private key"),
    ("myhelper.key.encrypted", "myhelper.py", '    if b"ENCRYPTED" in key:', "    if False:",
     "an encrypted key not said to be encrypted"),
    ("myhelper.jws.empty-object-as-post-as-get", "myhelper.py", 'payload_b64 = "" if payload == "" else',
     'payload_b64 = "" if not payload else', "the {} of a challenge answer sent as a POST-as-GET"),
    ("myhelper.identifier.label-check", "myhelper.py", r'label = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")',
     r'label = re.compile(r"[a-z0-9-]{1,63}\Z")', "a host name label that begins or ends with - accepted"),
    ("myhelper.key-authorization.format", "myhelper.py", '"{0}.{1}".format(token, jwk_thumbprint(jwk))',
     '"{0}{1}".format(token, jwk_thumbprint(jwk))', "a key authorization without its dot (§8.1)"),
    ("myhelper.csr.ip-in-cn", "myhelper.py", 'if i["type"] == "dns" and len(i["value"]) <= 64]',
     'if len(i["value"]) <= 64]', "an IP address put in the CSR's Common Name (Let's Encrypt refuses it)"),
    ("myhelper.problem.subproblems-uncapped", "myhelper.py", "if isinstance(s, dict)][:20]",
     "if isinstance(s, dict)][:2000]", "a thousand subproblems printed"),
    # lib/send.py: nonces, retries, deadlines, polling, size caps
    ("send.nonce.malformed-kept", "lib/send.py", "if NONCE.match(nonce) and not plain_http:",
     "if nonce and not plain_http:", "a malformed Replay-Nonce signed into the next request"),
    ("send.nonce.from-a-web-server", "lib/send.py", "if NONCE.match(nonce) and not plain_http:",
     "if NONCE.match(nonce):", "a nonce from the http-01 self-check's web server signed into the next request"),
    ("send.nonce.first-malformed-kept", "lib/send.py", "        if not NONCE.match(nonce):", "        if not nonce:",
     "a malformed nonce from newNonce signed"),
    ("send.nonce.reused", "lib/send.py", "            self.nonce = None                       # a nonce is good",
     "            pass  # ", "a nonce used twice"),
    ("send.bad-nonce.old-nonce", "lib/send.py", "            nonce = self.nonce                      # the error's",
     "            nonce = nonce  # ", "a badNonce retried with the nonce just refused"),
    ("send.bad-nonce.no-time-limit", "lib/send.py",
     'if problem.type == "badNonce" and monotonic() - started < 2 * self.timeout:',
     'if problem.type == "badNonce":', "badNonce retried after its time limit"),
    ("send.bad-nonce.more-retries", "lib/send.py", "MAX_NONCE_RETRIES = 20", "MAX_NONCE_RETRIES = 40",
     "badNonce retried more often than documented"),
    ("send.busy.one-more-retry", "lib/send.py", "or attempt >= MAX_BUSY_RETRIES", "or attempt > MAX_BUSY_RETRIES",
     "a 429/503 retried once more than documented"),
    ("send.busy.long-wait", "lib/send.py", "wait is None or wait > MAX_WAIT_RETRY", "wait is None",
     "a Retry-After of hours waited out"),
    ("send.busy.no-time-limit", "lib/send.py", " or monotonic() - started + wait > 3 * MAX_WAIT_RETRY):", "):",
     "busy answers waited out beyond 30 s in all"),
    ("send.poll.never-stops", "lib/send.py", "            if wait > deadline - monotonic():", "            if False:",
     "a poll that never stops after PollTimeout"),
    ("send.poll.no-minimum-interval", "lib/send.py",
     "wait = max(MIN_POLL_INTERVAL, backoff if asked is None else asked)",
     "wait = backoff if asked is None else asked", "polls closer than a second apart"),
    ("send.poll.first-wait-unclamped", "lib/send.py", "sleep(min(wait, max(0.0, deadline - monotonic())))",
     "sleep(wait)", "a huge Retry-After slept in full"),
    ("send.body.no-cap", "lib/send.py", "        if size > MAX_BODY:", "        if False:",
     "an answer of any size read (a gzip bomb)"),
    ("send.body.no-length-check", "lib/send.py", "int(length) > MAX_BODY:", "int(length) > 100 * MAX_BODY:",
     "a huge Content-Length read before it is refused"),
    ("send.redirects.followed", "lib/send.py", "allow_redirects=False,", "allow_redirects=True,",
     "redirects followed"),
    ("send.redirects.accepted", "lib/send.py", "        if response.is_redirect:", "        if False:",
     "a redirect taken as an answer"),
    ("send.deadline.none", "lib/send.py", "            with within(self.timeout, url, what):",
     "            with contextlib.nullcontext():", "a server that sends a byte a second keeps us forever"),
    ("send.https.unchecked", "lib/send.py", "        check_url(url, what, plain_http)", "        pass",
     "a plain http:// URL requested"),
    ("send.tls.unverified", "lib/send.py", "verify=self.verify, allow_redirects",
     "verify=not self.verify, allow_redirects", "TLS not verified"),
    # lib/answers.py: reading what the server said
    ("answers.url.any-scheme", "lib/answers.py", "ok = parsed.scheme in schemes and", "ok = bool(parsed.scheme) and",
     "an http:// URL from the server requested"),
    ("answers.url.spaces", "lib/answers.py", " and not SPACE.search(url)", "", "a URL with white space in it used"),
    ("answers.field.no-type-check", "lib/answers.py", "    if type(value) is not kind:", "    if value is None:",
     "a field of the wrong JSON type used"),
    ("answers.field.default-hides-wrong-type", "lib/answers.py", "    if name not in obj and default is not None:",
     "    if default is not None and type(obj.get(name)) is not kind:", "a field of the wrong type taken as absent"),
    ("answers.list.no-item-check", "lib/answers.py", "        if type(item) is not kind:", "        if item is None:",
     "a list item of the wrong JSON type used"),
    ("answers.list.urls-unchecked", "lib/answers.py",
     '        check_url(url, "an item of {0!r} in {1}".format(name, what))', "        pass",
     "an order's authorization URL not checked"),
    ("answers.time.unreadable", "lib/answers.py", "except (AttributeError, ValueError, OverflowError):",
     "except (ValueError, OverflowError):", "a time that is not RFC 3339 ends in a traceback"),
    ("answers.token.path", "lib/answers.py", r'TOKEN = re.compile(r"[A-Za-z0-9_-]{16,256}\Z")',
     r'TOKEN = re.compile(r"[A-Za-z0-9_./-]{16,256}")', "a token with / or .. becomes a file name"),
    ("answers.authz.any-name", "lib/answers.py", "    if name not in [n.lower() for n in order_names]:",
     "    if False:", "an authorization for a name the order did not ask for acted on"),
    ("answers.authz.wildcard-ignored", "lib/answers.py", '        name = "*." + name', "        name = name",
     "a wildcard authorization taken for the bare name"),
    ("answers.json.deep", "lib/answers.py", "        if depth > MAX_DEPTH:", "        if depth > 10 * MAX_DEPTH:",
     "JSON nested hundreds of levels deep accepted"),
    ("answers.json.not-an-object", "lib/answers.py", "    if not isinstance(obj, dict):\n        raise AcmeError",
     "    if obj is None:\n        raise AcmeError", "a JSON list taken for an object"),
    ("answers.location.unchecked", "lib/answers.py", '    check_url(url, "the Location of " + what)', "    pass",
     "a plain http:// Location used"),
    ("answers.links.unchecked", "lib/answers.py", '        check_url(url, "a Link rel={0} header".format(rel))',
     "        pass", "an alternate chain at any URL offered"),
    ("answers.chain.not-ascii", "lib/answers.py", 'response.content.decode("ascii")',
     'response.content.decode("latin-1")', "a certificate chain that is not ASCII parsed"),
    ("answers.hint.blocked-key", "lib/answers.py",
     'if self.type == "badCSR" and ("forbidden" in detail or "blocked" in detail):', "if False:",
     "a blocked certificate key answered with: make the CSR again"),
    # lib/files.py: atomic writes, modes, keys
    ("files.backup.mode", "lib/files.py", 'f.read(), os.stat(filename).st_mode & 0o777)', "f.read())",
     "a .bak of a 0600 file written 0644"),
    ("files.backup.none", "lib/files.py", "    if backup and os.path.isfile(filename):", "    if False:",
     "the previous file not kept"),
    ("files.write.mode-ignored", "lib/files.py", "        os.fchmod(fd, mode)", "        pass",
     "a file written with another mode than asked"),
    ("files.write.temporary-left", "lib/files.py", "        if os.path.exists(tmp):\n            os.unlink(tmp)",
     "        pass", "a failed write leaves a temporary file"),
    ("files.write.not-atomic", "lib/files.py", '    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")',
     "    fd, tmp = os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), filename",
     "a file overwritten in place: a failure leaves half of it"),
    ("files.key.overwritten", "lib/files.py", "    if os.path.exists(filename):\n        raise AcmeError",
     "    if False:\n        raise AcmeError", "make_*_key.py goes on over an existing key"),
    ("files.key.same-key", "lib/files.py", "        if same:", "        if False:",
     "the account key used as the certificate key (§11.1)"),
    ("files.key.created-without-asking", "lib/files.py", "    if not myhelper.Confirm(",
     "    if False and not myhelper.Confirm(", "a missing key created without asking"),
    # lib/certs.py: what is saved is checked first
    ("certs.chain.cut-off", "lib/certs.py", "    if block is not None:\n", "    if False:\n",
     "a chain whose last PEM block is cut off accepted"),
    ("certs.chain.any-block", "lib/certs.py", '            if label != "CERTIFICATE":', "            if False:",
     "a private key in a chain accepted"),
    ("certs.chain.extensions-late", "lib/certs.py",
     "            len(cert.extensions)                    # malformed extensions fail here", "            pass  # ",
     "a malformed extension found only later"),
    ("certs.fit.any-key", "lib/certs.py",
     'problems = [] if cert.public_key().public_bytes(*spki) == expected else ["its key is not the expected key"]',
     "problems = []", "a certificate for another key saved"),
    ("certs.fit.missing-name", "lib/certs.py",
     '    problems += ["it does not name {0}".format(name) for name in asked if name not in named]', "    pass",
     "a certificate missing a name saved"),
    ("certs.fit.extra-name", "lib/certs.py",
     '    problems += ["it also names {0}, which was not asked for".format(name) for name in named if name not in '
     'asked]', "    pass", "a certificate with an extra name saved"),
    ("certs.fit.not-yet-valid", "lib/certs.py", "        if cert.not_valid_before_utc.timestamp() > now + CLOCK_SKEW:",
     "        if False:", "a certificate valid only in the future saved"),
    ("certs.fit.expired", "lib/certs.py", "        if cert.not_valid_after_utc.timestamp() <= now:",
     "        if False:", "an expired certificate saved"),
    ("certs.fit.skew-backwards", "lib/certs.py", "> now + CLOCK_SKEW:", "> now - CLOCK_SKEW:",
     "a certificate issued this minute refused"),
    ("certs.save.no-backup", "lib/certs.py", "return files.write_file(filename, pem, backup=True)",
     "return files.write_file(filename, pem)", "the previous chain not kept"),
    # lib/orders.py and lib/config.py
    ("orders.check.other-names", "lib/orders.py", "    if got != asked:", "    if False:",
     "an order for other names used"),
    ("orders.check.authorizations-unchecked", "lib/orders.py",
     '    urls = answers.url_list(order, "authorizations", "the order")', '    urls = order.get("authorizations")',
     "an order's authorizations read unchecked"),
    ("orders.profile.unknown", "lib/orders.py", "    if wanted and profiles and wanted not in profiles:",
     "    if False:", "a profile the CA does not offer sent"),
    ("config.port.no-maximum", "lib/config.py", '"HTTPPort": (1, 65535)', '"HTTPPort": (1, 99999)',
     "HTTPPort = 70000 ends in a traceback"),
]


def check(mutation):
    """ The source with the mutation applied; ValueError when its snippet is not in the file exactly once """
    name, path, snippet, replacement, _why = mutation
    with open(os.path.join(ROOT, path), encoding="utf8") as f:
        source = f.read()
    if source.count(snippet) != 1:
        raise ValueError("{0}: the snippet is in {1} {2} times, not once".format(name, path, source.count(snippet)))
    if snippet == replacement:
        raise ValueError("{0}: the replacement is the snippet".format(name))
    return source.replace(snippet, replacement)


def copy_tree(folder):
    """ The project as it is now, without .git and the virtual environments """
    shutil.copytree(ROOT, folder, ignore=shutil.ignore_patterns(*SKIP), symlinks=True)


def test_files(folder):
    """ Every test file, those that hold the checks' own tests first: a mutation is found sooner """
    names = sorted(f for f in os.listdir(os.path.join(folder, "tests")) if f.startswith("test_") and f.endswith(".py"))
    first = [f for f in FIRST if f in names]
    return [os.path.join("tests", f) for f in first + [f for f in names if f not in first]]


SNIPPETS_TEST = "tests/test_tools.py::test_every_mutation_of_tools_mutate_still_finds_its_snippet_once"  # fails on any
FIRST = ["test_safety_checks.py", "test_server_fields.py", "test_hostile.py", "test_bad_input.py", "test_myhelper.py"]


def run_suite(folder, timeout):
    """ The mocked tests in folder, stopping at the first failure: (killed, by which test, seconds) """
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", "-m", "not e2e", "-x", "-v", "-p", "no:cacheprovider", "-o",
               "addopts=", "-rfE", "--tb=no", "--deselect", SNIPPETS_TEST] + test_files(folder)
    try:
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return True, "(the whole run took over {0} s)".format(timeout), time.monotonic() - started
    output = done.stdout + done.stderr
    failed = re.findall(r"^(?:FAILED|ERROR) (tests/.+?)(?: - .*)?$", output, re.M)
    if not failed and "+ Timeout +" in output:           # pytest-timeout ended the run: the last test started
        started_tests = re.findall(r"^(tests/\S+::.+?)(?: (?:PASSED|FAILED|ERROR|SKIPPED).*)?$", output, re.M)
        last = re.sub(r"\s*\++ Timeout.*", "", started_tests[-1]).strip() if started_tests else ""
        failed = [last + " (timeout)"] if last else ["(a test timed out)"]
    if done.returncode == 0:
        return False, "", time.monotonic() - started
    return True, failed[0] if failed else "(exit {0})".format(done.returncode), time.monotonic() - started


def markdown(results):
    lines = ["# Mutations: the safety checks a test notices", "",
             "Written by `python tools/mutate.py --write`: each row breaks one check (the exact change is in "
             "tools/mutate.py) and names the first mocked test that failed. A mutation no test notices would "
             "be listed as **survived**.", "",
             "| mutation | what would break | killed by |", "| --- | --- | --- |"]
    for (name, _path, _snippet, _replacement, why), (killed, by, _seconds) in results:
        lines.append("| `{0}` | {1} | {2} |".format(name, why, "`{0}`".format(by) if killed else "**survived**"))
    survived = sum(1 for _m, (killed, _b, _s) in results if not killed)
    lines += ["", "{0} mutations, {1} killed, {2} survived.".format(len(results), len(results) - survived, survived)]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME", help="mutations whose name starts so")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for one run of the suite")
    parser.add_argument("--write", action="store_true", help="write the table to docs/MUTATIONS.md")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m[0].startswith(tuple(args.only))]
    for mutation in chosen:
        check(mutation)                       # every snippet still there before anything runs
    base = tempfile.mkdtemp(prefix="mutate-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    folder = os.path.join(base, "tree")
    copy_tree(folder)
    results = []
    try:
        for mutation in chosen:
            name, path, _snippet, _replacement, _why = mutation
            target = os.path.join(folder, path)
            with open(target, encoding="utf8") as f:
                original = f.read()
            with open(target, "w", encoding="utf8") as f:
                f.write(check(mutation))
            try:
                killed, by, seconds = run_suite(folder, args.timeout)
            finally:
                with open(target, "w", encoding="utf8") as f:
                    f.write(original)
            results.append((mutation, (killed, by, seconds)))
            print("{0:<48} {1:>5.1f} s  {2}".format(name, seconds, by if killed else "SURVIVED"), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    survived = [m[0] for m, (killed, _b, _s) in results if not killed]
    print("{0} mutations, {1} survived{2}".format(len(results), len(survived), ": " + ", ".join(survived)
                                                    if survived else ""))
    if args.write:
        with open(os.path.join(ROOT, "docs", "MUTATIONS.md"), "w", encoding="utf8") as f:
            f.write(markdown(results))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
