""" Soak: the whole walkthrough against Pebble, many times, with Pebble at its most unfriendly

Each round starts a new Pebble with PEBBLE_WFE_NONCEREJECT=50 (half the good nonces rejected as
badNonce) and PEBBLE_AUTHZREUSE=50 (valid authorizations reused half the time), runs every script
of the walkthrough, and counts the rounds that failed. The target is zero. Not part of ./test.sh:

    python tools/soak.py              # 50 rounds
    python tools/soak.py --rounds 5
"""

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import walkthrough  # noqa: E402

ENV = {"PEBBLE_WFE_NONCEREJECT": "50", "PEBBLE_AUTHZREUSE": "50"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--write", action="store_true", help="write the result to docs/SOAK.md")
    args = parser.parse_args(argv)
    base = tempfile.mkdtemp(prefix="soak-")
    failures, retries_seen = [], []
    started = time.monotonic()
    for number in range(1, args.rounds + 1):
        folder = os.path.join(base, "round-{0:03d}".format(number))
        ok = walkthrough.run(folder, echo=False, env=ENV)
        transcript = open(os.path.join(folder, "transcript.txt"), encoding="utf8").read()
        retries = transcript.count("rejected the nonce (badNonce)")
        retries_seen.append(retries)
        print("round {0:3d}: {1}  ({2} badNonce retries)".format(number, "ok" if ok else "FAILED", retries), flush=True)
        if not ok:
            failures.append(folder)
            print("\n".join(transcript.splitlines()[-8:]))
    summary = "{0} rounds, {1} failed, {2:.0f} s".format(args.rounds, len(failures), time.monotonic() - started)
    print(summary + "; transcripts in " + base)
    if args.write:
        with open(os.path.join(os.path.dirname(HERE), "docs", "SOAK.md"), "w", encoding="utf8") as f:
            f.write("# Soak\n\nReproduce with `tools/setup.sh requirements.txt requirements-alibaba.txt && "
                    ".venv/bin/python tools/soak.py --write`.\n\nEach round: a new Pebble with {0}, then every "
                    "step of the walkthrough (keys, account, order, http-01, dns-01, finalize, certificate, "
                    "PKCS #12, renewal, revocation, issue_certificate, key rollover, deactivation, EAB, Alibaba "
                    "Cloud DNS, CDN and API Gateway against the fake API, and against acme2certifier: renewal "
                    "information and profiles).\n\nDate: {1}. Result: **{2}**; badNonce retries per round: "
                    "{3}.\n".format(", ".join("{0}={1}".format(k, v) for k, v in ENV.items()),
                                     time.strftime("%Y-%m-%d"), summary, ", ".join(map(str, retries_seen))))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
