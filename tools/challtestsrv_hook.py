""" A DNSHook for dns01_challenge.py that sets TXT records in pebble-challtestsrv (Pebble's DNS)

    DNSHook = python tools/challtestsrv_hook.py --url http://127.0.0.1:8055

called as "... set NAME VALUE" and "... clear NAME VALUE". A real hook would call your DNS
provider's API the same way.
"""

import argparse
import sys

import requests


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8055", help="challtestsrv management URL")
    parser.add_argument("action", choices=("set", "clear"))
    parser.add_argument("name")
    parser.add_argument("value")
    args = parser.parse_args(argv)
    host = args.name if args.name.endswith(".") else args.name + "."
    body = {"host": host, "value": args.value} if args.action == "set" else {"host": host}
    try:
        response = requests.post("{0}/{1}-txt".format(args.url, args.action), json=body, timeout=10)
        response.raise_for_status()
    except requests.exceptions.RequestException as error:
        print("challtestsrv_hook: {0} {1} failed: {2}".format(args.action, host, error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
