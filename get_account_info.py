""" Let's Encrypt ACME Version 2 Examples - Get Account Information (Part 3)

This example finds the account of the key in AccountKeyFile and prints what the server keeps
about it.
Reference: RFC 8555 §7.3.1 (Finding an Account URL Given a Key), §6.3 (POST-as-GET), §7.1.2
(Account Objects)

HTTP exchanges:
    GET  <ACMEDirectory>  ->  200, the directory
    HEAD <newNonce>       ->  200, Replay-Nonce
    POST <newAccount>     ->  200, Location: the account URL   (payload {"onlyReturnExisting": true})
    POST <account URL>    ->  200, the account object           (POST-as-GET: payload "")

Today's Let's Encrypt returns only "status" (and "key", "orders"...); id, contact, initialIp and
createdAt are printed when the server sends them. --debug prints the whole account object.

acme.ini keys read: AccountKeyFile, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_account_info.py
    python get_account_info.py --debug
"""

import sys

import helper
import myhelper


def main(argv=None):
    """ Main Program Function """
    args = myhelper.make_parser(__doc__).parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    key = myhelper.load_account_key(config)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)

    account_url = acme.find_account()
    print('Account URL:', account_url)

    resp = acme.post_as_get(account_url, "fetching the account")
    info = myhelper.parse_json(resp)

    if args.debug:
        print('')
        print('Returned Data:')
        print('##################################################')
        helper.print_dict(info)
        print('##################################################')

    helper.print_account(info)
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
