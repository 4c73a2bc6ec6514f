""" Let's Encrypt ACME Version 2 Examples - Get Nonce (Part 3)

Every signed ACME request carries a fresh nonce from the server, against replay attacks. The first
one comes from the newNonce endpoint; after that, each answer brings the next in "Replay-Nonce".
Reference: RFC 8555 §7.2 (Getting a Nonce), §6.5 (Replay Protection)

HTTP exchanges:
    1. GET  <ACMEDirectory>  ->  200, the directory (for the newNonce URL)
    2. HEAD <newNonce>       ->  200, the nonce in the Replay-Nonce header

acme.ini keys read: ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_nonce.py
"""

import re
import sys

import requests

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, config, frame, send
import helper
import myhelper


def get_nonce(new_nonce_url, user_agent, verify=True, timeout=30):
    """ HEAD newNonce and read the Replay-Nonce header: a nonce getter to paste into your own code
    (it needs requests and re). verify: True, or the CA bundle file of a test server. Returns the
    nonce and the answer's headers; an error answer raises requests.HTTPError """
    resp = requests.head(new_nonce_url, timeout=timeout, verify=verify, allow_redirects=False,
                         headers={"User-Agent": user_agent, "Accept-Language": "en"})
    resp.raise_for_status()
    if "Replay-Nonce" not in resp.headers:
        raise ValueError('Error: Response headers did not contain the header "Replay-Nonce"')
    nonce = resp.headers["Replay-Nonce"]
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", nonce):     # RFC 8555 §6.5.1: base64url, else ignored
        raise ValueError("Error: The server sent an invalid nonce (Replay-Nonce is {0!r}, not base64url); a "
                         "client must ignore it. The server is not answering as an ACME server.".format(nonce[:100]))
    return nonce, resp.headers


def main(argv=None):
    """ Main Program Function """
    args = frame.options(__doc__).parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory"])
    net = send.Transport(ini, args.debug)

    # 1. The directory, for the URL of newNonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")

    # 2. HEAD newNonce: the nonce comes in the Replay-Nonce header
    url = answers.url_field(directory, "newNonce", "the directory")
    print('Calling endpoint:', url)
    try:
        with send.within(ini["Timeout"], url, "getting a nonce"):
            nonce, headers = get_nonce(url, ini["UserAgent"], net.verify, ini["Timeout"])
    except requests.exceptions.HTTPError as error:           # the status, the problem, Retry-After
        raise answers.AcmeProblem(error.response, "getting a nonce")
    except requests.exceptions.RequestException as error:
        raise send.network_error(error, url, "getting a nonce", ini["Timeout"])

    print('Returned Headers:')
    print('****************************************')
    for name, value in headers.items():
        print('{0}: {1}'.format(name, helper.cut(value)))

    print('')
    print('Returned Nonce Value:')
    print('****************************************')
    print('Nonce:', helper.cut(nonce))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
