""" Let's Encrypt ACME Version 2 Examples - Answer the http-01 challenges of an order (Part 5)

For each name still pending, the server fetches
    http://<name>/.well-known/acme-challenge/<token>
and expects the key authorization. This step serves it, from a small built-in web server (--port,
run it where <name> points) or as files under the document root of your own web server
(--webroot DIR); checks that its own URL answers; tells the server to validate (POST {} to the
challenge); polls the authorization until it is valid; and always removes the files or stops the
server afterwards, also after an error or Ctrl-C.
Reference: RFC 8555 §8.3 (HTTP Challenge), §7.5.1 (Responding to Challenges)

HTTP exchanges:
    GET  <ACMEDirectory>            ->  200, the directory
    HEAD <newNonce>                 ->  200, Replay-Nonce
    POST <newAccount>               ->  200, Location: the account URL (onlyReturnExisting)
    POST <authorization URL> (each) ->  200, the authorization (POST-as-GET)
    GET  http://<name>/.well-known/acme-challenge/<token>   (our own check)
    POST <challenge URL> (each)     ->  200, payload {}: "please validate now"
    POST <authorization URL> ...    ->  200, polled until "valid" (honouring Retry-After)

acme.ini keys read: AccountKeyFile, OrderFile, PollTimeout, ACMEDirectory, UserAgent, Language,
CABundle, Timeout.
Example:
    sudo python http01_challenge.py                       # built-in server on port 80
    python http01_challenge.py --webroot /var/www/html    # your web server serves the file
    python http01_challenge.py --port 5002                # Pebble checks port 5002
"""

import http.server
import os
import sys
import threading

import requests

import myhelper

WELL_KNOWN = "/.well-known/acme-challenge/"


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("--port", type=int, default=80,
                        help="port of the built-in server, or of your web server with --webroot (default: 80)")
    parser.add_argument("--bind", default="", help="address the built-in server listens on (default: all)")
    parser.add_argument("--webroot", metavar="DIR", help="write the files under DIR instead of serving them")
    parser.add_argument("--skip-check", action="store_true",
                        help="do not fetch our own challenge URL before telling the server")
    return parser.parse_args(argv)


class ChallengeServer:
    """ A built-in web server that answers GET /.well-known/acme-challenge/<token>, in a thread """

    def __init__(self, bind, port):
        self.responses = {}
        responses = self.responses

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                token = self.path[len(WELL_KNOWN):] if self.path.startswith(WELL_KNOWN) else None
                body = responses.get(token)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write((body or "not found").encode("ascii"))

            def log_message(self, format, *args):
                print("  web server: {0} {1}".format(self.client_address[0], format % args))

        try:
            self.server = http.server.ThreadingHTTPServer((bind, port), Handler)
        except PermissionError:
            raise myhelper.AcmeError("Error: Cannot listen on port {0}: permission denied. Run as root (sudo), or "
                                     "use --webroot with your own web server.".format(port))
        except OSError as error:
            raise myhelper.AcmeError("Error: Cannot listen on port {0}: {1}. Stop what uses it, or use "
                                     "--webroot with the web server that holds it.".format(port, error.strerror))
        self.port = port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add(self, token, key_auth):
        self.responses[token] = key_auth

    def check_url(self, name, token):
        return "http://127.0.0.1:{0}{1}{2}".format(self.port, WELL_KNOWN, token), {"Host": name}

    def __enter__(self):
        self.thread.start()
        print("Serving http-01 challenges on port", self.port)
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        print("Stopped the challenge web server.")


class WebrootFiles:
    """ The key authorizations as files under <webroot>/.well-known/acme-challenge/, removed afterwards """

    def __init__(self, webroot, port):
        if not os.path.isdir(webroot):
            raise myhelper.AcmeError("Error: --webroot {0} is not a folder.".format(webroot))
        self.folder = os.path.join(webroot, WELL_KNOWN.strip("/"))
        self.port = port
        self.written = []

    def add(self, token, key_auth):
        filename = os.path.join(self.folder, myhelper.check_token(token))
        os.makedirs(self.folder, exist_ok=True)
        myhelper.write_file_atomic(filename, key_auth.encode("ascii"), mode=0o644)
        self.written.append(filename)
        print("Wrote", filename)

    def check_url(self, name, token):
        port = "" if self.port == 80 else ":{0}".format(self.port)
        return "http://{0}{1}{2}{3}".format(name, port, WELL_KNOWN, token), {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for filename in self.written:
            if os.path.exists(filename):
                os.unlink(filename)
                print("Removed", filename)


def check_own_url(provider, name, token, key_auth, timeout):
    """ Fetch our own challenge URL before asking the CA to, as the CA will (§8.3) """
    url, headers = provider.check_url(name, token)
    try:
        body = requests.get(url, headers=headers, timeout=timeout, allow_redirects=True).text.strip()
    except requests.exceptions.RequestException as error:
        body = None
        reason = str(error)
    if body != key_auth:
        raise myhelper.AcmeError("Error: {0} does not serve the key authorization ({1}). The CA would fail too: "
                                 "check that {2} points to this machine and port {3} is open, or pass "
                                 "--skip-check.".format(url, reason if body is None else "got something else",
                                                        name, provider.port))
    print("Checked:", url)


def perform_http01(acme, pending, provider, check=True):
    """ Serve every challenge, check it, answer them all, then poll every authorization """
    jwk = myhelper.get_jwk(acme.key)
    challenges = []
    with provider:
        for _url, authz in pending:
            challenge = myhelper.find_challenge(authz, "http-01")
            key_auth = myhelper.key_authorization(challenge["token"], jwk)
            provider.add(challenge["token"], key_auth)
            if check:
                check_own_url(provider, authz["identifier"]["value"], challenge["token"], key_auth, acme.timeout)
            challenges.append(challenge)
        for challenge in challenges:
            acme.answer_challenge(challenge)
        acme.wait_for_authorizations(pending)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    _order_url, order = myhelper.load_order(config)
    if args.webroot and not os.path.isdir(args.webroot):
        raise myhelper.AcmeError("Error: --webroot {0} is not a folder.".format(args.webroot))
    key = myhelper.load_account_key(config)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)

    print('Account URL:', acme.find_account())
    pending = acme.pending_authorizations(order)
    if pending:
        provider = WebrootFiles(args.webroot, args.port) if args.webroot else ChallengeServer(args.bind, args.port)
        perform_http01(acme, pending, provider, check=not args.skip_check)

    print('All authorizations are valid. Next: python finalize_order.py')
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
