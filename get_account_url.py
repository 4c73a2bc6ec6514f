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

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, config, files, frame, send
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

    # 3. newAccount with onlyReturnExisting: the server looks the key up and creates nothing. The
    #    protected header carries the key itself ("jwk"), the nonce and the URL
    def signed_with_jwk(nonce, url, payload):
        protected = {"alg": myhelper.get_alg(key), "jwk": myhelper.get_jwk(key), "nonce": nonce, "url": url}
        return myhelper.jws(protected, payload, key)

    url = answers.url_field(directory, "newAccount", "the directory")
    resp = net.post(url, {"onlyReturnExisting": True}, signed_with_jwk, "looking up the account of this key", nonce)

    print('Account URL:', answers.location(resp, "the account"))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
