""" Let's Encrypt ACME Version 2 Examples - Change the account key (key rollover)

After a key leak, or as routine, an account can move to a new key and keep its URL, its orders
and its authorizations. The request is a JWS inside a JWS: the inner one, signed with the NEW key,
carries the new key ("jwk"), the same "url" and no nonce, and says which account and old key it
replaces; the outer one is an ordinary request signed with the OLD key ("kid").
AccountKeyFile is replaced by the new key only after the server accepted the change; the old key is
kept beside it as a backup (AccountKeyFile.old-YYYYmmdd-HHMMSS).
Reference: RFC 8555 §7.3.5 (Account Key Rollover)

HTTP exchanges:
    GET  <ACMEDirectory>  ->  200, the directory
    HEAD <newNonce>       ->  200, Replay-Nonce
    POST <newAccount>     ->  200, Location: the account URL (onlyReturnExisting, old key)
    POST <keyChange>      ->  200; payload: the inner JWS over {"account": ..., "oldKey": <old JWK>}
                              (409 Conflict when the new key already has an account)

acme.ini keys read: AccountKeyFile, CertificateKeyFile, ACMEDirectory, UserAgent, Language,
CABundle, Timeout.
Example:
    python make_account_key.py new-account.key
    python account_key_change.py new-account.key
"""

import shutil
import sys
import time

import myhelper


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("new_key_file", metavar="NEW_KEY_FILE", help="the new account key (PEM)")
    return parser.parse_args(argv)


def check_new_key(new_jwk, old_jwk, config):
    """ The new key must differ from the old one and from the certificate key """
    if new_jwk == old_jwk:
        raise myhelper.AcmeError("Error: The new key is the same as the current account key; nothing to change.")
    cert_key_file = config.path("CertificateKeyFile", "example.com.key")
    try:
        cert_jwk = myhelper.get_jwk(myhelper.load_private_key(cert_key_file, "certificate key"))
    except myhelper.AcmeError:
        return
    if cert_jwk == new_jwk:
        raise myhelper.AcmeError("Error: The new key is the certificate key ({0}). Never reuse it as the account "
                                 "key (RFC 8555 §11.1): make a new one with python make_account_key.py FILE"
                                 .format(cert_key_file))


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    key_file = config.account_key_file
    old_key = myhelper.load_private_key(key_file, "account key", "Create it with: python new_account.py")
    new_key = myhelper.load_private_key(args.new_key_file, "new account key",
                                        "Create it with: python make_account_key.py " + args.new_key_file)
    old_jwk, new_jwk = myhelper.get_jwk(old_key), myhelper.get_jwk(new_key)
    check_new_key(new_jwk, old_jwk, config)
    acme = myhelper.AcmeSession(config, key=old_key, debug=args.debug)

    account_url = acme.find_account()
    print('Account URL:', account_url)
    url = acme.url("keyChange")

    # The inner JWS: signed with the new key, "jwk" header, same url, no nonce
    inner = myhelper.make_jws(new_key, url, {"account": account_url, "oldKey": old_jwk})
    try:
        # The outer JWS: an ordinary request, signed with the old key ("kid")
        acme.post(url, inner, "changing the account key")
    except myhelper.AcmeProblem as problem:
        # RFC 8555 says 409 Conflict; Pebble 2.4 answers 500 with "already in use" in the detail
        if problem.response.status_code == 409 or "already in use" in str(problem.problem.get("detail")):
            raise myhelper.AcmeError("Error: The server refused the new key: another account already uses it "
                                     "({0}). Make a fresh key with python make_account_key.py FILE.".format(
                                         problem.problem.get("detail", problem.response.status_code)))
        raise

    backup = "{0}.old-{1}".format(key_file, time.strftime("%Y%m%d-%H%M%S"))
    shutil.copy2(key_file, backup)
    myhelper.save_private_key(new_key, key_file, overwrite=True)

    print('Key changed: the account now uses the key in', key_file)
    print('The old key was kept in', backup)
    print('New JWK Thumbprint:', myhelper.jwk_thumbprint(new_jwk))
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
