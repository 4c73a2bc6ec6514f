""" Let's Encrypt ACME Version 2 Examples - Get the challenges of an order (Part 5)

Each name in an order has an authorization: proof that you control the name. The server offers
challenges to prove it; completing one of them is enough. This step prints them all, with the key
authorization each needs (token "." account key thumbprint), for dns-01 the TXT record, and for
tls-alpn-01 the SHA-256 its certificate carries and where the CA connects. A dns-persist-01
challenge has no token: it shows the issuer domain names and the account the standing record must
name, and that record (python dns_persist_record.py prints and checks it). A
challenge type these examples do not know (new ones appear, some without a token) is listed and
skipped.
Reference: RFC 8555 §7.5 (Identifier Authorization), §8.1 (Key Authorizations), §8.3, §8.4; RFC 8737

HTTP exchanges:
    1. GET  <ACMEDirectory>                 ->  200, the directory
    2. HEAD <newNonce>                      ->  200, Replay-Nonce
    3. POST <newAccount>                    ->  200, Location: the account URL (onlyReturnExisting)
    4. POST <authorization URL> (each name) ->  200, the authorization and its challenges
       protected: {"alg", "kid", "nonce", "url"}   payload: "" (POST-as-GET)

acme.ini keys read: AccountKeyFile, OrderFile, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python request_certificate.py
    python get_challenges.py
"""

import hashlib
import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, config, dnspersist, files, frame, orders, send, tlsalpn01
import helper
import myhelper

def show_dns_persist(challenge, name, account_url):
    """ A dns-persist-01 challenge: no token; the standing record names an issuer and the account """
    try:
        url, issuers, account = dnspersist.challenge_fields(challenge, name, account_url)
    except frame.AcmeError as error:       # a malformed one is said, and the others still shown
        print('  Challenge: dns-persist-01 (malformed: skipped)')
        print('    ' + str(error))
        return
    print('  Challenge: dns-persist-01 ({0})'.format(helper.cut(challenge.get("status"), 100)))
    lines = [('URL', url), ('Issuer names', ", ".join(issuers)),
             ('Account URI', account + ("" if "accounturi" in challenge else " (the account URL)")),
             ('TXT record', dnspersist.record_name(name)),
             ('TXT value', dnspersist.make_value(issuers[0], account, name.startswith("*.")))]
    for label, value in lines:
        print('    {0:<19}{1}'.format(label + ':', value))


def main(argv=None):
    """ Main Program Function """
    args = frame.options(__doc__).parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    order_url, order = orders.load_order(ini)
    names = orders.order_names(order)
    key = files.load_account_key(ini)
    jwk = myhelper.get_jwk(key)
    net = send.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    nonce = net.new_nonce(answers.url_field(directory, "newNonce", "the directory"))

    # 3. The account URL of this key: newAccount with onlyReturnExisting, the key itself in "jwk"
    def signed_with_jwk(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "jwk": jwk, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    url = answers.url_field(directory, "newAccount", "the directory")
    resp = net.post(url, {"onlyReturnExisting": True}, signed_with_jwk, "looking up the account of this key", nonce)
    account_url = answers.location(resp, "the account")
    print('Account URL:', account_url)
    print('Order Location:', order_url)

    # 4. Each authorization, POST-as-GET as the account ("kid": the account URL)
    def signed(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    for authz_url in order["authorizations"]:
        resp = net.post(authz_url, "", signed, "fetching an authorization")
        authz = answers.json_object(resp, "the authorization")
        name = answers.authz_name(authz, names)
        status = answers.field(authz, "status", str, "the authorization of " + name)
        print('')
        print('Authorization: {0}'.format(authz_url))
        print('Identifier:    {0}'.format(name))
        print('Status:        {0}'.format(helper.cut(status, 100)))
        if status == "valid":
            print('               already valid: nothing to do for this name')
            continue
        for challenge in answers.field(authz, "challenges", list, "the authorization of " + name):
            kind = challenge.get("type") if isinstance(challenge, dict) else None
            if kind not in config.CHALLENGES:
                print('  Challenge: {0} (a type these examples do not know: skipped)'.format(helper.cut(kind, 100)))
                continue
            what = "the {0} challenge for {1}".format(kind, name)
            if kind == "dns-persist-01":
                show_dns_persist(challenge, name, account_url)
                continue
            token = answers.token(challenge, what)
            key_auth = myhelper.key_authorization(token, jwk)
            print('  Challenge: {0} ({1})'.format(kind, helper.cut(challenge.get("status"), 100)))
            lines = [('URL', answers.url_field(challenge, "url", what)), ('Token', token),
                     ('Key authorization', key_auth)]
            if kind == "http-01":
                lines.append(('Serve it at', 'http://{0}/.well-known/acme-challenge/{1}'.format(name, token)))
            if kind == "dns-01":
                lines.append(('TXT record', "_acme-challenge." + name.replace("*.", "", 1)))
                lines.append(('TXT value', myhelper.dns01_txt_value(key_auth)))
            if kind == "tls-alpn-01":
                lines.append(('SHA-256', hashlib.sha256(key_auth.encode("ascii")).hexdigest()))
                lines.append(('Certificate', 'self-signed, for {0} alone, that SHA-256 in the critical extension '
                              '{1}'.format(name, tlsalpn01.ACME_IDENTIFIER.dotted_string)))
                lines.append(('Serve it at', '{0}:443, ALPN {1}, SNI {2}'.format(
                    "[{0}]".format(name) if ":" in name else name, tlsalpn01.ALPN, tlsalpn01.sni_name(name))))
            for label, value in lines:
                print('    {0:<19}{1}'.format(label + ':', value))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
