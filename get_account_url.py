""" Let's Encrypt ACME Version 2 Examples - Get Account URL (Part 3)

The account URL is the account's name in every later request ("kid" in the JWS header). A client
that has lost it finds it again from the key: newAccount with onlyReturnExisting.
Reference: RFC 8555 §7.3.1 (Finding an Account URL Given a Key)

HTTP exchanges:
    GET  <ACMEDirectory>  ->  200, the directory
    HEAD <newNonce>       ->  200, Replay-Nonce
    POST <newAccount>     ->  200, Location: the account URL
                              (400 accountDoesNotExist when no account uses this key)

acme.ini keys read: AccountKeyFile, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_account_url.py
"""

import sys

import myhelper


def main(argv=None):
    """ Main Program Function """
    args = myhelper.make_parser(__doc__).parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    key = myhelper.load_account_key(config)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)

    account_url = acme.find_account()

    print('Account URL:', account_url)
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
