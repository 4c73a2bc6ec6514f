""" Let's Encrypt ACME Version 2 Examples - New Account (Part 3)

This example will call the ACME API directory and create a new account, or find the existing one:
the account is the key, so running it again with the same key returns the same account.
Reference: RFC 8555 §7.3 (Account Management), §7.3.4 (External Account Binding), §6.2 (JWS)

HTTP exchanges:
    GET  <ACMEDirectory>  ->  200, the directory
    HEAD <newNonce>       ->  200, Replay-Nonce
    POST <newAccount>     ->  201 Created (new account) or 200 OK (this key has one already),
                              with the account URL in Location and the next nonce in Replay-Nonce

The request is signed with the account key and carries the key itself ("jwk"): the server has no
account URL for us yet. The steps below are numbered as in the article.

acme.ini keys read: AccountKeyFile, Contacts, ACMEDirectory, UserAgent, Language, CABundle,
Timeout, and EABKeyID / EABHMACKey for CAs that require external account binding.
Example:
    python new_account.py                       # asks before creating a key and before agreeing
    python new_account.py --yes --agree-tos     # for scripts: no questions
"""

import json
import os
import sys

import myhelper


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("--yes", action="store_true", help="create a missing account key without asking")
    parser.add_argument("--type", choices=("rsa", "ec"), default="rsa",
                        help="type of a key created here (default: rsa, 4096 bits)")
    parser.add_argument("--agree-tos", action="store_true",
                        help="agree to the CA's terms of service (read them first: get_terms_of_service.py)")
    return parser.parse_args(argv)


def check_account_key_file(filename, args):
    """ Verify that the Account Key File exists and offer to create it if it does not """
    if os.path.exists(filename):
        return myhelper.load_private_key(filename, "account key")

    print('Error: File does not exist: {0}'.format(filename))
    if not myhelper.Confirm('Create new account private key (y/n): ', args.yes,
                            "Create it with python make_account_key.py, or pass --yes to create it here."):
        raise myhelper.AcmeError('Cancelled')
    if args.type == "ec":
        key = myhelper.create_ec_private_key(filename)
    else:
        key = myhelper.create_rsa_private_key(filename)
    print('Created account key: {0} (mode 0600)'.format(filename))
    return key


def agree_to_terms(terms, args):
    """ RFC 8555 §7.3: agree to the terms of service only with the user's consent """
    if not myhelper.Confirm('Do you agree to these terms of service (y/n): ', args.agree_tos,
                            "The CA asks you to agree to its terms of service: {0}\n"
                            "Read them, then run again with --agree-tos.".format(terms)):
        raise myhelper.AcmeError('Cancelled: the terms of service were not agreed to.')
    return True


def account_payload(acme, config, key, args):
    """ Step 5: agree to the terms (with consent), the contacts, and external account binding if needed """
    terms_service = acme.meta.get("termsOfService", "")
    payload = {}
    if terms_service and agree_to_terms(terms_service, args):
        payload["termsOfServiceAgreed"] = True
    if config.contacts:
        payload["contact"] = config.contacts
    eab_kid = config.get("EABKeyID", "")
    if eab_kid:
        payload["externalAccountBinding"] = myhelper.make_eab_jws(
            eab_kid, config.get("EABHMACKey"), acme.url("newAccount"), myhelper.get_jwk(key))
    elif acme.meta.get("externalAccountRequired"):
        raise myhelper.AcmeError("Error: This CA requires external account binding. Set EABKeyID and "
                                 "EABHMACKey in {0} to the values your CA gave you.".format(config.filename))
    return payload


def build_jose(key, url, nonce, payload):
    """ Steps 5 and 6: the protected header, base64url encoding and the signature (Part 4) """
    body_top = {
        "alg": myhelper.get_alg(key),
        "jwk": myhelper.get_jwk(key),
        "nonce": nonce,
        "url": url,
    }
    body_top_b64 = myhelper.b64(json.dumps(body_top).encode("utf8"))
    payload_b64 = myhelper.b64(json.dumps(payload).encode("utf8"))

    data = "{0}.{1}".format(body_top_b64, payload_b64).encode("utf8")
    signature = myhelper.sign(data, key)

    return {
        "protected": body_top_b64,
        "payload": payload_b64,
        "signature": myhelper.b64(signature),
    }


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    myhelper.check_contacts(config.contacts)  # a bad contact stops us before anything is created or sent
    key = check_account_key_file(config.account_key_file, args)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)

    # 1. Get the ACME directory
    acme.get_directory()

    # 2. Get the "newAccount" URL
    url = acme.url("newAccount")

    print('Terms of Service:', acme.meta.get("termsOfService", ""))

    # 3. Request a nonce for the first ACME API call (later ones come in each response)
    nonce = acme.new_nonce().headers['Replay-Nonce']
    print('Nonce:', nonce)
    print('')

    # 4. The HTTP headers: Content-Type: application/jose+json is added to every POST by myhelper

    # 5. The request payload
    payload = account_payload(acme, config, key, args)

    # 6. and 7. Sign (build_jose) and POST; a badNonce answer is retried with a fresh nonce
    try:
        resp = acme.post_jws(url, lambda nonce: build_jose(key, url, nonce, payload), "creating the account")
    except myhelper.AcmeProblem as problem:
        if "externalAccountBinding" in payload and (problem.is_type("unauthorized") or problem.is_type("malformed")):
            raise myhelper.AcmeError("Error: The CA refused the external account binding ({0}). Check EABKeyID "
                                     "and EABHMACKey in {1}: copy both exactly as your CA gave them.".format(
                                         problem.problem.get("detail"), config.filename))
        raise

    # 8. The account URL comes in Location; the next nonce in Replay-Nonce
    print('')
    print('Account URL:', myhelper.require_header(resp, 'Location'))
    if resp.status_code == 201:
        print('Account created.')
    else:
        print('This key already has an account; nothing was changed.')
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
