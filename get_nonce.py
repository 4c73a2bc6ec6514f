""" Let's Encrypt ACME Version 2 Examples - Get Nonce (Part 3)

Every signed ACME request carries a fresh nonce from the server, against replay attacks. The first
one comes from the newNonce endpoint; after that, each response brings the next in "Replay-Nonce".
Reference: RFC 8555 §7.2 (Getting a Nonce), §6.5 (Replay Protection)

HTTP exchanges:
    GET  <ACMEDirectory>  ->  200, the directory (for the newNonce URL)
    HEAD <newNonce>       ->  200, the nonce in the Replay-Nonce header

acme.ini keys read: ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_nonce.py
"""

import sys

import myhelper


def main(argv=None):
    """ Main Program Function """
    args = myhelper.make_parser(__doc__).parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    acme = myhelper.AcmeSession(config, debug=args.debug)

    # HEAD newNonce (the directory is fetched first, for its URL)
    resp = acme.new_nonce()

    print('')
    print('Returned Headers:')
    print('****************************************')
    for name, value in resp.headers.items():
        print('{0}: {1}'.format(name, value))

    print('')
    print('Returned Nonce Value:')
    print('****************************************')
    print('Nonce:', resp.headers['Replay-Nonce'])
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
