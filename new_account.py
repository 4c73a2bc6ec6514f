""" Let's Encrypt ACME Version 2 Examples - New Account (Part 3)

This example will call the ACME API directory and create a new account, or find the existing one:
the account is the key, so running it again with the same key returns the same account. The steps
are numbered as in the article; steps 5 and 6 build the JWS by hand, as Part 4 explains it.
Reference: RFC 8555 §7.3 (Account Management), §7.3.4 (External Account Binding), §6.2 (JWS)

HTTP exchanges:
    1. GET  <ACMEDirectory>  ->  200, the directory
    3. HEAD <newNonce>       ->  200, Replay-Nonce
    7. POST <newAccount>     ->  201 Created (a new account) or 200 OK (this key has one already),
                                 the account URL in Location, the next nonce in Replay-Nonce
       protected: {"alg": "RS256" or "ES256", "jwk": <the account key>, "nonce", "url"}
       payload:   {"termsOfServiceAgreed": true, "contact": [...]} (+ "externalAccountBinding")

The request carries the key itself ("jwk"): the server has no account URL for us yet.

acme.ini keys read: AccountKeyFile, Contacts, ACMEDirectory, UserAgent, Language, CABundle,
Timeout, and EABKeyID / EABHMACKey for CAs that require external account binding.
Example:
    python new_account.py                       # asks before creating a key and before agreeing
    python new_account.py --yes --agree-tos     # for scripts: no questions
"""

import json
import os
import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, config, files, frame, send
import helper
from Crypto.PublicKey import ECC
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--yes", action="store_true", help="create a missing account key without asking")
    parser.add_argument("--type", choices=("rsa", "ec"), default="rsa",
                        help="type of a key created here (default: rsa, 4096 bits)")
    parser.add_argument("--agree-tos", action="store_true",
                        help="agree to the CA's terms of service (read them first: get_terms_of_service.py)")
    return parser.parse_args(argv)


def check_account_key_file(ini, args):
    """ Verify that the Account Key File exists and offer to create it if it does not """
    filename = ini["AccountKeyFile"]
    if os.path.exists(filename):
        return files.load_account_key(ini)

    print('Error: File does not exist: {0}'.format(filename))
    if not myhelper.Confirm('Create new account private key (y/n): ', args.yes,
                            "Create it with python make_account_key.py, or pass --yes to create it here."):
        sys.exit('Cancelled')
    if args.type == "ec":
        key = ECC.generate(curve="P-256")
        myhelper.save_private_key(key, filename)
    else:
        key = myhelper.create_rsa_private_key(filename)
    print('Created account key: {0} (mode 0600)'.format(filename))
    return key


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    key = check_account_key_file(ini, args)
    net = send.Transport(ini, args.debug)

    # 1. Get the ACME directory
    acme_config = net.get_json(ini["ACMEDirectory"], "the directory")

    # 2. Get the "newAccount" URL, and the terms of service that go with an account
    url = answers.url_field(acme_config, "newAccount", "the directory")
    meta = answers.field(acme_config, "meta", dict, "the directory", default={})
    terms_service = answers.field(meta, "termsOfService", str, "the directory's meta", default="")
    print('Terms of Service:', helper.cut(terms_service))

    # 3. Request a nonce for the first ACME API call; every answer brings the next one
    nonce = net.new_nonce(answers.url_field(acme_config, "newNonce", "the directory"))
    print('Nonce:', nonce)
    print('')

    # 4. The HTTP headers: Content-Type: application/jose+json (lib/send.py adds it to every POST,
    #    with User-Agent and Accept-Language)

    # 5. The HTTP body, part one, the payload: agree to the terms only with your consent (RFC 8555
    #    §7.3), and the contacts. Part two, the protected header (body_top), is in build_jose below
    payload = {}
    if terms_service:
        if not myhelper.Confirm('Do you agree to these terms of service (y/n): ', args.agree_tos,
                                "The CA asks you to agree to its terms of service: {0}\nRead them, then run "
                                "again with --agree-tos.".format(helper.cut(terms_service))):
            sys.exit('Cancelled: the terms of service were not agreed to.')
        payload["termsOfServiceAgreed"] = True
    if ini["Contacts"]:
        payload["contact"] = ini["Contacts"]
    if ini["EABKeyID"]:                       # a CA that binds ACME accounts to accounts of its own
        payload["externalAccountBinding"] = myhelper.eab_jws(ini["EABKeyID"], ini["EABHMACKey"], url,
                                                             myhelper.get_jwk(key))
    elif answers.field(meta, "externalAccountRequired", bool, "the directory's meta", default=False):
        sys.exit("Error: This CA requires external account binding. Set EABKeyID and EABHMACKey in {0} to the "
                 "values your CA gave you.".format(args.config))

    def build_jose(nonce, url, payload):
        # 5. The protected header: the key itself ("jwk"), the nonce and the URL
        body_top = {
            "alg": myhelper.get_alg(key),
            "jwk": myhelper.get_jwk(key),
            "nonce": nonce,
            "url": url,
        }
        # 6. The "jose" body: both parts base64url-encoded, and the signature over them
        body_top_b64 = myhelper.b64(json.dumps(body_top).encode("utf8"))
        payload_b64 = myhelper.b64(json.dumps(payload).encode("utf8"))
        signature = myhelper.sign("{0}.{1}".format(body_top_b64, payload_b64).encode("utf8"), key)
        return {"protected": body_top_b64, "payload": payload_b64, "signature": myhelper.b64(signature)}

    # 7. Finally, call the ACME API: an HTTP POST of the jose body, signed over the nonce printed
    #    above (a badNonce answer is retried with a new jose body, over the nonce that answer brought)
    try:
        resp = net.post(url, payload, build_jose, "creating the account", nonce)
    except answers.AcmeProblem as problem:
        if "externalAccountBinding" in payload and problem.type in ("unauthorized", "malformed"):
            sys.exit("Error: The CA refused the external account binding ({0}). Check EABKeyID and EABHMACKey in "
                     "{1}: copy both exactly as your CA gave them.".format(helper.cut(problem.detail, 300),
                                                                          args.config))
        raise

    # 8. Location is the account URL; Replay-Nonce is the nonce for the next call
    print('')
    print('Account URL:', answers.location(resp, "the account"))
    if resp.status_code == 201:
        print('Account created.')
    else:
        print('This key already has an account; nothing was changed.')
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
