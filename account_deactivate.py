""" Let's Encrypt ACME Version 2 Examples - Deactivate the account (Part 3)

Deactivation is permanent: the account can never be used again, by this key or any other, and
the CA will not issue or renew with it. Certificates already issued stay valid. The script shows
the account and asks first (--yes for scripts).
Reference: RFC 8555 §7.3.6 (Account Deactivation)

HTTP exchanges:
    GET  <ACMEDirectory>  ->  200, the directory
    HEAD <newNonce>       ->  200, Replay-Nonce
    POST <newAccount>     ->  200, Location: the account URL (onlyReturnExisting)
    POST <account URL>    ->  200, the account (POST-as-GET)
    POST <account URL>    ->  200, the account, now "deactivated"; payload {"status": "deactivated"}

acme.ini keys read: AccountKeyFile, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python account_deactivate.py          # shows the account, then asks
    python account_deactivate.py --yes
"""

import sys

import helper
import myhelper


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("--yes", action="store_true", help="deactivate without asking")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    key = myhelper.load_account_key(config)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)

    account_url = acme.find_account()
    print('Account URL:', account_url)
    helper.print_account(acme.fetch(account_url, "the account"))
    print('')

    if not myhelper.Confirm('Deactivate this account permanently? It cannot be undone (y/n): ', args.yes):
        raise myhelper.AcmeError('Cancelled: the account was not changed.')

    resp = acme.post(account_url, {"status": "deactivated"}, "deactivating the account")

    print('Account deactivated.')
    helper.print_account(myhelper.parse_json(resp))
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
