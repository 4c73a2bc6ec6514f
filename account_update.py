""" Let's Encrypt ACME Version 2 Examples - Update the account's contacts (Part 3)

Replaces the account's contact list with Contacts from acme.ini, or with --contact values. Each
contact is checked before anything is sent (mailto:, one address each). An empty list removes
all contacts.
Reference: RFC 8555 §7.3.2 (Account Update)

HTTP exchanges:
    GET  <ACMEDirectory>  ->  200, the directory
    HEAD <newNonce>       ->  200, Replay-Nonce
    POST <newAccount>     ->  200, Location: the account URL (onlyReturnExisting)
    POST <account URL>    ->  200, the updated account; payload {"contact": [...]}

acme.ini keys read: AccountKeyFile, Contacts, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python account_update.py
    python account_update.py --contact mailto:admin@example.org --contact mailto:ops@example.org
"""

import sys

import helper
import myhelper


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("--contact", action="append", metavar="mailto:ADDRESS",
                        help="a contact URL (repeat for several); default: Contacts in acme.ini")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    contacts = myhelper.check_contacts(args.contact, "--contact") if args.contact else config.contacts
    key = myhelper.load_account_key(config)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)

    account_url = acme.find_account()
    print('Account URL:', account_url)

    resp = acme.post(account_url, {"contact": contacts}, "updating the account's contacts")

    print('Contacts sent:', contacts or "(none: all contacts removed)")
    helper.print_account(myhelper.parse_json(resp))
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
