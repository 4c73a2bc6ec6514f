""" Let's Encrypt ACME Version 2 Examples - Answer the dns-persist-01 challenges of an order

With dns-persist-01 nothing is published for the order: the standing TXT record at
_validation-persist.<name> (python dns_persist_record.py prints it, once) already names the CA and
this account. For each name still pending, this step checks that record read-only (through
DNSResolver) before answering, so that a missing or wrong record is said here instead of becoming a
failed validation at the CA; then it tells the CA to validate (POST {} to the challenge: the answer
carries nothing, there is no token) and polls the authorization. No DNSHook, no DNS credentials.
An authorization the CA already found valid (some CAs look the record up when they create it) needs
nothing. A wildcard needs policy=wildcard in the record.
Reference: draft-ietf-acme-dns-persist-01 §3-§5; RFC 8555 §7.5.1 (Responding to Challenges)

HTTP exchanges:
    1. GET  <ACMEDirectory>                 ->  200, the directory
    2. HEAD <newNonce>                      ->  200, Replay-Nonce
    3. POST <newAccount>                    ->  200, Location: the account URL (onlyReturnExisting)
    4. POST <authorization URL> (each name) ->  200, the authorization (POST-as-GET, "kid"): its
       dns-persist-01 challenge has url, issuer-domain-names and (some CAs) accounturi
    5. DNS: TXT _validation-persist.<name>, read-only, asked of DNSResolver
    6. POST <challenge URL> (each name)     ->  200, payload {}: "please validate now"
    7. POST <authorization URL> ...         ->  200, polled (POST-as-GET) until valid or invalid

acme.ini keys read: AccountKeyFile, OrderFile, DNSResolver, PollTimeout, ACMEDirectory, UserAgent,
Language, CABundle, Timeout.
Example:
    python request_certificate.py
    python dns_persist01_challenge.py
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, authz, config, dnspersist, files, frame, orders, send
import myhelper


def main(argv=None):
    """ Main Program Function """
    args = frame.options(__doc__).parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    order_url, order = orders.load_order(ini)
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

    # Every request from here on is signed as the account: "kid" is the account URL
    def signed(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    # 4. Each authorization (POST-as-GET); a valid one needs nothing (§7.1.3)
    pending = authz.pending(net, signed, order["authorizations"], orders.order_names(order), "dns-persist-01",
                            frame.command(args, "request_certificate.py"))

    if pending:
        # 5. The standing record of each name, read-only: it must name one of the challenge's issuer
        #    domain names and this account (the challenge's accounturi, else the account URL)
        for _authz_url, name, challenge in pending:
            print("Verifying {0} (dns-persist-01)...".format(name))
            dnspersist.check_challenge(challenge, name, account_url, ini["DNSResolver"], ini["Timeout"])

        # 6. Tell the CA to validate: POST {} to each challenge; 7. poll each authorization
        authz.answer_and_poll(net, signed, pending, "dns-persist-01")

    print('All authorizations are valid. Next:', frame.command(args, "finalize_order.py"))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
