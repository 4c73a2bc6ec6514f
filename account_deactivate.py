""" Let's Encrypt ACME Version 2 Examples - Deactivate the account (Part 3, package)

Deactivation is permanent: the account can never be used again, by this key or any other, and
the CA will not issue or renew with it. Certificates already issued stay valid. The script shows
the account and asks first (--yes for scripts).
Reference: RFC 8555 §7.3.6 (Account Deactivation)

HTTP exchanges:
    1. GET  <ACMEDirectory>  ->  200, the directory
    2. HEAD <newNonce>       ->  200, Replay-Nonce
    3. POST <newAccount>     ->  200, Location: the account URL (onlyReturnExisting, "jwk")
    4. POST <account URL>    ->  200, the account (POST-as-GET: payload "")
    5. POST <account URL>    ->  200, the account, now "deactivated"; payload {"status": "deactivated"}

acme.ini keys read: AccountKeyFile, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python account_deactivate.py          # shows the account, then asks
    python account_deactivate.py --yes
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, config, files, frame, send
import helper
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--yes", action="store_true", help="deactivate without asking")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
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

    # 4. Show the account before the question (POST-as-GET, "kid": the account URL)
    def signed(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    resp = net.post(account_url, "", signed, "fetching the account")
    helper.print_account(answers.json_object(resp, "the account"))
    print('')
    if not myhelper.Confirm('Deactivate this account permanently? It cannot be undone (y/n): ', args.yes):
        sys.exit('Cancelled: the account was not changed.')

    # 5. {"status": "deactivated"} to the account URL
    resp = net.post(account_url, {"status": "deactivated"}, signed, "deactivating the account")

    print('Account deactivated.')
    helper.print_account(answers.json_object(resp, "the account"))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
