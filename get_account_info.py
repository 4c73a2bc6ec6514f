""" Let's Encrypt ACME Version 2 Examples - Get Account Information (Part 3)

This example finds the account of the key in AccountKeyFile and prints what the server keeps
about it. As in the article, both kinds of JWS header are built here: "jwk" (the key itself) to
find the account, then "kid" (the account URL) for every request after that.
Reference: RFC 8555 §7.3.1 (Finding an Account URL Given a Key), §6.2 (kid), §6.3 (POST-as-GET),
§7.1.2 (Account Objects)

HTTP exchanges:
    1. GET  <ACMEDirectory>  ->  200, the directory
    2. HEAD <newNonce>       ->  200, Replay-Nonce
    3. POST <newAccount>     ->  200, Location: the account URL
       protected: {"alg", "jwk", "nonce", "url"}   payload: {"onlyReturnExisting": true}
    4. POST <account URL>    ->  200, the account object
       protected: {"alg", "kid": <account URL>, "nonce", "url"}   payload: "" (POST-as-GET)

Let's Encrypt returns only key, createdAt and status today: ID, Contact and Initial IP print
"(not returned by the server)". --debug prints the whole account object.

acme.ini keys read: AccountKeyFile, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_account_info.py
    python get_account_info.py --debug
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, config, files, frame, send
import helper
import myhelper


def main(argv=None):
    """ Main Program Function """
    args = frame.options(__doc__).parse_args(argv)
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

    # 4. The account itself: from now on "kid" (the account URL) replaces "jwk", and fetching a
    #    resource is a POST-as-GET, whose payload is the empty string. The nonce is the one the
    #    last answer brought (Replay-Nonce): send keeps it for the next request.
    def signed(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    resp = net.post(account_url, "", signed, "fetching the account")
    info = answers.json_object(resp, "the account")

    if args.debug:
        print('')
        print('Returned Data:')
        print('##################################################')
        helper.print_dict(info)
        print('##################################################')

    helper.print_account(info)
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
