""" Let's Encrypt ACME Version 2 Examples - Answer the http-01 challenges of an order (Part 5)

For each name still pending, the CA fetches
    http://<name>/.well-known/acme-challenge/<token>
and expects the key authorization. This step serves it, from a small built-in web server (--port,
run it where <name> points) or as files under the document root of your own web server
(--webroot DIR); fetches its own URL first, as the CA will; tells the CA to validate (POST {} to
the challenge); polls the authorization until it is valid; and always stops the server or removes
the files afterwards, also after an error or Ctrl-C.
Reference: RFC 8555 §8.3 (HTTP Challenge), §7.5.1 (Responding to Challenges)

HTTP exchanges:
    1. GET  <ACMEDirectory>                 ->  200, the directory
    2. HEAD <newNonce>                      ->  200, Replay-Nonce
    3. POST <newAccount>                    ->  200, Location: the account URL (onlyReturnExisting)
    4. POST <authorization URL> (each name) ->  200, the authorization (POST-as-GET, "kid")
    5. GET  http://<name>/.well-known/acme-challenge/<token>   (our own check)
    6. POST <challenge URL> (each name)     ->  200, payload {}: "please validate now"
    7. POST <authorization URL> ...         ->  200, polled (POST-as-GET) until valid or invalid

acme.ini keys read: AccountKeyFile, OrderFile, HTTPPort, HTTPBind, Webroot, PollTimeout,
ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    sudo python http01_challenge.py                       # built-in server on port 80
    python http01_challenge.py --webroot /var/www/html    # your web server serves the files
    python http01_challenge.py --port 5002                # Pebble checks port 5002
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, authz, config, files, frame, http01, orders, send
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--port", type=frame.port, help="port the CA checks: the built-in server's, or your web "
                        "server's with --webroot (default: HTTPPort in acme.ini, 80)")
    parser.add_argument("--bind", help="address the built-in server listens on (default: HTTPBind, or all)")
    parser.add_argument("--webroot", metavar="DIR", help="write the files under DIR instead (default: Webroot)")
    parser.add_argument("--skip-check", action="store_true", help="do not fetch our own URL before telling the CA")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    port = ini["HTTPPort"] if args.port is None else args.port
    webroot = args.webroot or ini["Webroot"]
    bind = ini["HTTPBind"] if args.bind is None else args.bind
    http01.check_webroot(webroot)
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
    pending = authz.pending(net, signed, order["authorizations"], orders.order_names(order), "http-01",
                            frame.command(args, "request_certificate.py"))

    if pending:
        with http01.responder(webroot, bind, port) as served:
            for _authz_url, name, challenge in pending:
                token = answers.token(challenge, "the http-01 challenge for " + name)
                key_auth = myhelper.key_authorization(token, jwk)
                served.add(token, key_auth)
                # 5. Our own check, before the CA is told
                if not args.skip_check:
                    http01.check_own_url(net, name, token, key_auth, port)

            # 6. Tell the CA to validate: POST {} to each challenge; 7. poll each authorization
            authz.answer_and_poll(net, signed, pending, "http-01", responder=served)

    print('All authorizations are valid. Next:', frame.command(args, "finalize_order.py"))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
