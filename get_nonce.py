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

import sys

import helper  # first: without a package it says what to install
import myhelper
import transport


def main(argv=None):
    """ Main Program Function """
    args = helper.options(__doc__).parse_args(argv)
    ini = helper.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory"])
    net = transport.Transport(ini, args.debug)

    # 1. The directory, for the URL of newNonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")

    # 2. HEAD newNonce: the nonce comes in the Replay-Nonce header
    resp = net.head(transport.url_field(directory, "newNonce", "the directory"), "getting a nonce")
    nonce = transport.header(resp, "Replay-Nonce", "getting a nonce")

    print('Returned Headers:')
    print('****************************************')
    for name, value in resp.headers.items():
        print('{0}: {1}'.format(name, helper.cut(value)))

    print('')
    print('Returned Nonce Value:')
    print('****************************************')
    print('Nonce:', helper.cut(nonce))
    return 0


if __name__ == "__main__":
    sys.exit(helper.run(main))
