""" Let's Encrypt ACME Version 2 Examples - Change the account key (key rollover; beyond the article)

After a key leak, or as routine, an account can move to a new key and keep its URL, its orders and
its authorizations. The request is a JWS inside a JWS: the inner one, signed with the NEW key,
carries the new key ("jwk"), the same "url" and no nonce, and names the account and the old key;
the outer one is an ordinary request signed with the OLD key ("kid").
AccountKeyFile is replaced by the new key only after the server accepted the change; the old key
is kept beside it (AccountKeyFile.old-YYYYmmdd-HHMMSS, mode 0600).
Reference: RFC 8555 §7.3.5 (Account Key Rollover)

HTTP exchanges:
    1. GET  <ACMEDirectory>  ->  200, the directory
    2. HEAD <newNonce>       ->  200, Replay-Nonce
    3. POST <newAccount>     ->  200, Location: the account URL (onlyReturnExisting, old key, "jwk")
    4. POST <keyChange>      ->  200 (409 Conflict when the new key already has an account)
       outer protected: {"alg", "kid", "nonce", "url"}, signed with the old key
       outer payload:   the inner JWS; its protected {"alg", "jwk": <new key>, "url"}, no nonce;
                        its payload {"account": <account URL>, "oldKey": <old JWK>}

acme.ini keys read: AccountKeyFile, CertificateKeyFile, ACMEDirectory, UserAgent, Language,
CABundle, Timeout.
Example:
    python make_account_key.py new-account.key
    python account_key_change.py new-account.key
"""

import sys
import time

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, config, files, frame, send
import helper
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("new_key_file", metavar="NEW_KEY_FILE", help="the new account key (PEM)")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    old_key = files.load_account_key(ini)
    new_key = files.load_account_key(ini, args.new_key_file)    # the certificate key is refused here too
    old_jwk, new_jwk = myhelper.get_jwk(old_key), myhelper.get_jwk(new_key)
    if new_jwk == old_jwk:
        sys.exit("Error: The new key is the same as the current account key; nothing to change.")
    net = send.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    nonce = net.new_nonce(answers.url_field(directory, "newNonce", "the directory"))

    # 3. The account URL of the OLD key: newAccount with onlyReturnExisting, the old key in "jwk"
    def signed_with_jwk(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(old_key), "jwk": old_jwk, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, old_key)

    url = answers.url_field(directory, "newAccount", "the directory")
    resp = net.post(url, {"onlyReturnExisting": True}, signed_with_jwk, "looking up the account of this key", nonce)
    account_url = answers.location(resp, "the account")
    print('Account URL:', account_url)

    # 4. The inner JWS, signed with the NEW key: "jwk", the same url, no nonce
    url = answers.url_field(directory, "keyChange", "the directory")
    inner = myhelper.jws({"alg": myhelper.get_alg(new_key), "jwk": new_jwk, "url": url},
                         {"account": account_url, "oldKey": old_jwk}, new_key)
    #    The outer JWS, an ordinary request signed with the OLD key ("kid"), carries it as payload
    def signed(nonce, url, payload):
        outer_top = {"alg": myhelper.get_alg(old_key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(outer_top, payload, old_key)

    try:
        net.post(url, inner, signed, "changing the account key")
    except answers.AcmeProblem as problem:
        # RFC 8555 and Let's Encrypt: 409 (type "conflict"); Pebble 2.4: 500 with "already in use"
        if problem.status == 409 or "already in use" in problem.detail:
            sys.exit("Error: The server refused the new key: another account already uses it ({0}). Make a fresh "
                     "key with python make_account_key.py FILE.".format(helper.cut(problem.detail or problem.status,
                                                                                     300)))
        raise

    # The server moved the account: only now is AccountKeyFile replaced, the old key kept beside it
    key_file = ini["AccountKeyFile"]
    backup = "{0}.old-{1}".format(key_file, time.strftime("%Y%m%d-%H%M%S"))
    with open(key_file, "rb") as f:
        files.write_file(backup, f.read(), mode=0o600)
    with open(args.new_key_file, "rb") as f:
        files.write_file(key_file, f.read(), mode=0o600)

    print('Key changed: the account now uses the key in', key_file)
    print('The old key was kept in', backup)
    print('New JWK Thumbprint:', myhelper.jwk_thumbprint(new_jwk))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
