""" Let's Encrypt ACME Version 2 Examples - Get the challenges of an order (Part 5)

Each name in an order has an authorization: proof that you control the name. The server offers
challenges to prove it; completing one of them is enough. This step prints them all, with the key
authorization each needs (token "." account key thumbprint), and for dns-01 the TXT record.
Reference: RFC 8555 §7.5 (Identifier Authorization), §8.1 (Key Authorizations), §8.3, §8.4

HTTP exchanges:
    GET  <ACMEDirectory>            ->  200, the directory
    HEAD <newNonce>                 ->  200, Replay-Nonce
    POST <newAccount>               ->  200, Location: the account URL (onlyReturnExisting)
    POST <authorization URL> (each) ->  200, the authorization and its challenges (POST-as-GET)

acme.ini keys read: AccountKeyFile, OrderFile, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python request_certificate.py
    python get_challenges.py
"""

import sys

import myhelper


def dns01_record_name(name):
    """ RFC 8555 §8.4: the TXT record lives at _acme-challenge.<name>; a wildcard's "*." is dropped """
    return "_acme-challenge." + (name[2:] if name.startswith("*.") else name)


def main(argv=None):
    """ Main Program Function """
    args = myhelper.make_parser(__doc__).parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    order_url, order = myhelper.load_order(config)
    key = myhelper.load_account_key(config)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)
    jwk = myhelper.get_jwk(key)

    print('Account URL:', acme.find_account())
    print('Order Location:', order_url)
    for url in order.get("authorizations") or []:
        authz = acme.fetch(url, "an authorization")
        name = myhelper.authz_name(authz)
        print('')
        print('Authorization: {0}'.format(url))
        print('Identifier:    {0}'.format(name))
        print('Status:        {0}'.format(authz.get("status")))
        if authz.get("status") == "valid":
            print('               already valid: nothing to do for this name')
            continue
        for challenge in authz.get("challenges") or []:
            token = myhelper.check_token(challenge.get("token", ""))
            key_auth = myhelper.key_authorization(token, jwk)
            print('  Challenge: {0} ({1})'.format(challenge.get("type"), challenge.get("status")))
            lines = [('URL', challenge.get("url")), ('Token', token), ('Key authorization', key_auth)]
            if challenge.get("type") == "http-01":
                lines.append(('Serve it at', 'http://{0}/.well-known/acme-challenge/{1}'.format(name, token)))
            if challenge.get("type") == "dns-01":
                lines.append(('TXT record', dns01_record_name(name)))
                lines.append(('TXT value', myhelper.dns01_txt_value(key_auth)))
            for label, value in lines:
                print('    {0:<19}{1}'.format(label + ':', value))
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
