""" A DNSHook for dns01_challenge.py that sets TXT records in pebble-challtestsrv (Pebble's DNS)

    DNSHook = python tools/challtestsrv_hook.py --url http://127.0.0.1:8055

called as "... set NAME VALUE" and "... clear NAME VALUE". A real hook would call your DNS
provider's API the same way. Note for hook authors: VALUE is base64url and may begin with "-".
"""

import sys

import requests


USAGE = "usage: challtestsrv_hook.py [--url URL] {set,clear} NAME VALUE"


def main(argv=None):
    # Parsed by hand: a TXT value is base64url and may begin with "-", which argparse takes for an option
    args = list(sys.argv[1:] if argv is None else argv)
    url = "http://127.0.0.1:8055"
    if args[:1] == ["--url"] and len(args) > 1:
        url, args = args[1], args[2:]
    if len(args) != 3 or args[0] not in ("set", "clear"):
        print(USAGE, file=sys.stderr)
        return 2
    action, name, value = args
    host = name if name.endswith(".") else name + "."
    body = {"host": host, "value": value} if action == "set" else {"host": host}
    try:
        response = requests.post("{0}/{1}-txt".format(url, action), json=body, timeout=10)
        response.raise_for_status()
    except requests.exceptions.RequestException as error:
        print("challtestsrv_hook: {0} {1} failed: {2}".format(action, host, error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
