""" Let's Encrypt ACME Version 2 Examples - Get Account URL (Part 3)

The account URL is the account's name in every later request ("kid" in the JWS header). A client
that has lost it finds it again from the key: newAccount with onlyReturnExisting, signed with the
key itself in the header ("jwk").
Reference: RFC 8555 §7.3.1 (Finding an Account URL Given a Key)

HTTP exchanges:
    1. GET  <ACMEDirectory>  ->  200, the directory
    2. HEAD <newNonce>       ->  200, Replay-Nonce
    3. POST <newAccount>     ->  200, Location: the account URL
                                 (400 accountDoesNotExist when no account uses this key)
       protected: {"alg", "jwk", "nonce", "url"}   payload: {"onlyReturnExisting": true}

acme.ini keys read: AccountKeyFile, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_account_url.py
"""

import sys

import helper  # first: without a package it says what to install
import myhelper
import transport


def main(argv=None):
    """ Main Program Function """
    args = helper.options(__doc__).parse_args(argv)
    ini = helper.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    key = helper.load_account_key(ini)
    net = transport.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    net.new_nonce(transport.url_field(directory, "newNonce", "the directory"))

    # 3. newAccount with onlyReturnExisting: the server looks the key up and creates nothing
    url = transport.url_field(directory, "newAccount", "the directory")
    protected = {"alg": myhelper.get_alg(key), "jwk": myhelper.get_jwk(key), "url": url}
    resp = net.post(url, lambda nonce: myhelper.jws(dict(protected, nonce=nonce), {"onlyReturnExisting": True}, key),
                    "looking up the account of this key")

    print('Account URL:', transport.location(resp, "the account"))
    return 0


if __name__ == "__main__":
    sys.exit(helper.run(main))
