""" Let's Encrypt ACME Version 2 Examples - Update the account's contacts (Part 3, package)

Replaces the account's contact list with Contacts from acme.ini, or with --contact values. Each
contact is checked before anything is sent (mailto:, one address each). An empty list removes all
contacts. The answer is compared with what was sent: Let's Encrypt keeps no contacts since 2025 and
answers an update with the account unchanged, which this script says plainly.
Reference: RFC 8555 §7.3.2 (Account Update)

HTTP exchanges:
    1. GET  <ACMEDirectory>  ->  200, the directory
    2. HEAD <newNonce>       ->  200, Replay-Nonce
    3. POST <newAccount>     ->  200, Location: the account URL (onlyReturnExisting, "jwk")
    4. POST <account URL>    ->  200, the account as the server now keeps it
       protected: {"alg", "kid", "nonce", "url"}   payload: {"contact": [...]}

acme.ini keys read: AccountKeyFile, Contacts, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python account_update.py
    python account_update.py --contact mailto:admin@example.org --contact mailto:ops@example.org
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, config, files, frame, send
import helper
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--contact", action="append", metavar="mailto:ADDRESS",
                        help="a contact URL (repeat for several); default: Contacts in acme.ini")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    contacts = config.check_contacts(args.contact, "--contact") if args.contact else ini["Contacts"]
    key = files.load_account_key(ini)
    net = send.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    nonce = net.new_nonce(answers.url_field(directory, "newNonce", "the directory"))

    # 3. The account URL of this key: newAccount with onlyReturnExisting, the key itself in "jwk"
    def signed_with_jwk(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "jwk": myhelper.get_jwk(key), "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    url = answers.url_field(directory, "newAccount", "the directory")
    resp = net.post(url, {"onlyReturnExisting": True}, signed_with_jwk, "looking up the account of this key", nonce)
    account_url = answers.location(resp, "the account")
    print('Account URL:', account_url)

    # 4. POST the changed field to the account URL ("kid"); the answer is the account as kept now
    def signed(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    resp = net.post(account_url, {"contact": contacts}, signed, "updating the account's contacts")
    info = answers.json_object(resp, "the account")

    print('Contacts sent:', contacts or "(none: remove all contacts)")
    helper.print_account(info)
    if info.get("contact", []) != contacts:
        print('')
        print('The CA did not store these contacts: its answer shows {0}. Let\'s Encrypt keeps no contacts since '
              '2025 and ignores this update; other CAs may keep them.'.format(
                  "none" if "contact" not in info else helper.cut(info["contact"])))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
