""" Let's Encrypt ACME Version 2 Examples - Answer the dns-01 challenges of an order (Part 5)

For each name still pending, the CA looks up the TXT record _acme-challenge.<name> and expects
base64url(SHA-256(key authorization)). dns-01 is the only challenge for a wildcard (*.example.com).
This step either prints the records and waits for you to create them, or runs the command in
DNSHook (acme.ini) as "DNSHook set NAME VALUE", and afterwards "DNSHook clear NAME VALUE" (for
Alibaba Cloud DNS: DNSHook = python alidns_hook.py). Then it tells the CA to validate (POST {} to
the challenge) and polls the authorization until it is valid.
Reference: RFC 8555 §8.4 (DNS Challenge), §7.5.1 (Responding to Challenges)

HTTP exchanges:
    1. GET  <ACMEDirectory>                 ->  200, the directory
    2. HEAD <newNonce>                      ->  200, Replay-Nonce
    3. POST <newAccount>                    ->  200, Location: the account URL (onlyReturnExisting)
    4. POST <authorization URL> (each name) ->  200, the authorization (POST-as-GET, "kid")
    5. DNSHook check _acme-challenge.<name>, then DNSHook set _acme-challenge.<name> <value>; or you, by hand
    6. POST <challenge URL> (each name)     ->  200, payload {}: "please validate now"
    7. POST <authorization URL> ...         ->  200, polled (POST-as-GET) until valid or invalid

acme.ini keys read: AccountKeyFile, OrderFile, DNSHook, PollTimeout, ACMEDirectory, UserAgent,
Language, CABundle, Timeout.
Example:
    python dns01_challenge.py                 # prints the TXT records, waits for Enter
    DNSHook = /usr/local/bin/my-dns-api       # in acme.ini: set and clear records by a command
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, authz, config, dns01, files, frame, orders, send
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

    # Every request from here on is signed as the account: "kid" is the account URL. Its nonce is
    # the one the last answer brought (Replay-Nonce), which send keeps for the next request.
    def signed(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    # 4. Each authorization (POST-as-GET); a valid one needs nothing (§7.1.3)
    pending = authz.pending(net, signed, order["authorizations"], orders.order_names(order), "dns-01",
                            frame.command(args, "request_certificate.py"))

    if pending:
        with dns01.DnsRecords(ini["DNSHook"], args.config) as records:
            records.check([name for _authz_url, name, _challenge in pending])   # before any record is set
            # 5. The TXT records: _acme-challenge.<name> (a wildcard's "*." dropped) = the dns-01 value
            for _authz_url, name, challenge in pending:
                token = answers.token(challenge, "the dns-01 challenge for " + name)
                value = myhelper.dns01_txt_value(myhelper.key_authorization(token, jwk))
                print("TXT record: {0}  value: {1}".format(dns01.record_name(name), value))
                records.add(dns01.record_name(name), value)
            records.wait_until_published()

            # 6. Tell the CA to validate: POST {} to each challenge; 7. poll each authorization
            authz.answer_and_poll(net, signed, pending, "dns-01")

    print('All authorizations are valid. Next:', frame.command(args, "finalize_order.py"))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
