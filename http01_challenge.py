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

import http.server
import os
import socket
import sys
import threading

import helper  # first: without a package it says what to install
import myhelper
import transport

WELL_KNOWN = "/.well-known/acme-challenge/"


def parse_args(argv):
    parser = helper.options(__doc__)
    parser.add_argument("--port", type=int, help="port the CA checks: the built-in server's, or your web server's "
                        "with --webroot (default: HTTPPort in acme.ini, 80)")
    parser.add_argument("--bind", help="address the built-in server listens on (default: HTTPBind, or all)")
    parser.add_argument("--webroot", metavar="DIR", help="write the files under DIR instead (default: Webroot)")
    parser.add_argument("--skip-check", action="store_true", help="do not fetch our own URL before telling the CA")
    return parser.parse_args(argv)


class ChallengeServer(http.server.ThreadingHTTPServer):
    """ The built-in web server: GET /.well-known/acme-challenge/<token> answers the key authorization """

    def __init__(self, bind, port):
        self.answers = {}
        try:
            super().__init__((bind, port), ChallengeHandler)
        except PermissionError:
            sys.exit("Error: Cannot listen on port {0}: permission denied. Run as root (sudo), or use --webroot "
                     "with your own web server.".format(port))
        except OSError as error:
            sys.exit("Error: Cannot listen on port {0}: {1}. Stop what uses it, or use --webroot with the web "
                     "server that holds it.".format(port, error.strerror))

    def add(self, token, key_auth):
        self.answers[token] = key_auth

    def __enter__(self):
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        print("Serving http-01 challenges on port", self.server_address[1])
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        print("Stopped the challenge web server.")


class ChallengeHandler(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True              # answer at once: headers and body are two writes

    def do_GET(self):
        body = self.server.answers.get(self.path[len(WELL_KNOWN):]) if self.path.startswith(WELL_KNOWN) else None
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write((body or "not found").encode("ascii"))

    def log_message(self, format, *args):
        # one write per line: lines from this thread and the main one never run together
        sys.stdout.write("  web server: {0} {1}\n".format(self.client_address[0], format % args))


class WebrootFiles:
    """ The key authorizations as files under <webroot>/.well-known/acme-challenge/, removed afterwards """

    def __init__(self, webroot):
        if not os.path.isdir(webroot):
            sys.exit("Error: --webroot {0} is not a folder.".format(webroot))
        self.folder = os.path.join(webroot, WELL_KNOWN.strip("/"))
        self.written = []

    def add(self, token, key_auth):
        os.makedirs(self.folder, exist_ok=True)
        filename = os.path.join(self.folder, token)          # the token is base64url: no "/" or ".."
        helper.write_file(filename, key_auth.encode("ascii"))
        self.written.append(filename)
        print("Wrote", filename)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for filename in self.written:
            if os.path.exists(filename):
                os.unlink(filename)
                print("Removed", filename)


def resolves(name, port):
    """ Does NAME resolve from this machine? """
    try:
        return bool(socket.getaddrinfo(name, port))
    except (socket.gaierror, UnicodeError):
        return False


def check_own_url(net, name, token, key_auth, port):
    """ 5. Fetch http://NAME[:PORT]/.well-known/acme-challenge/TOKEN as the CA will: NAME resolved,
    on the port the CA checks. A NAME that does not resolve here is checked on this machine """
    host = "[{0}]".format(name) if ":" in name else name
    url = "http://{0}{1}{2}{3}".format(host, "" if port == 80 else ":{0}".format(port), WELL_KNOWN, token)
    headers, note = {}, ""
    if not resolves(name, port):
        headers = {"Host": host}
        url = "http://127.0.0.1:{0}{1}{2}".format(port, WELL_KNOWN, token)
        note = " (Host: {0}; {0} does not resolve from here, so only this machine was checked)".format(name)
    try:
        served = net.send("GET", url, "checking our own challenge URL", headers=headers, plain_http=True)
        answer = served.content.decode("ascii", "replace").strip() if served.status_code == 200 else None
        reason = "it answered {0}".format(served.status_code)
    except helper.AcmeError as error:
        answer, reason = None, str(error).splitlines()[0]
    if answer != key_auth:
        sys.exit("Error: {0}{1} does not serve the key authorization ({2}). The CA would fail too: check that {3} "
                 "points to this machine and that port {4} is open, or pass --skip-check.".format(
                     url, note, "it served something else" if answer else reason, name, port))
    print("Checked:", url + note)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = helper.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    port = args.port or ini["HTTPPort"]
    webroot = args.webroot or ini["Webroot"]
    bind = ini["HTTPBind"] if args.bind is None else args.bind
    if webroot and not os.path.isdir(webroot):
        sys.exit("Error: --webroot {0} is not a folder.".format(webroot))
    order_url, order = helper.load_order(ini)
    key = helper.load_account_key(ini)
    jwk = myhelper.get_jwk(key)
    net = transport.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    net.new_nonce(transport.url_field(directory, "newNonce", "the directory"))

    # 3. The account URL of this key ("jwk", onlyReturnExisting)
    url = transport.url_field(directory, "newAccount", "the directory")
    body_top = {"alg": myhelper.get_alg(key), "jwk": jwk, "url": url}
    resp = net.post(url, lambda nonce: myhelper.jws(dict(body_top, nonce=nonce), {"onlyReturnExisting": True}, key),
                    "looking up the account of this key")
    account_url = transport.location(resp, "the account")
    print('Account URL:', account_url)

    def signed(url, payload):
        """ Every request from here on: "kid" names the account """
        return lambda nonce: myhelper.jws({"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce,
                                           "url": url}, payload, key)

    # 4. Each authorization (POST-as-GET); a valid one needs nothing (§7.1.3)
    pending = []
    for authz_url in order["authorizations"]:
        authz = transport.json_object(net.post(authz_url, signed(authz_url, ""), "fetching an authorization"),
                                      "the authorization")
        name = transport.authz_name(authz, helper.order_names(order))
        status = transport.field(authz, "status", str, "the authorization of " + name)
        if status == "valid":
            print('Authorization for {0}: already valid, nothing to do'.format(name))
            continue
        if status != "pending":
            sys.exit("Error: The authorization for {0} is {1!r}: this order cannot be completed. Create a new "
                     "order: {2}".format(name, helper.cut(status, 100), helper.command(args, "request_certificate.py")))
        challenges = transport.field(authz, "challenges", list, "the authorization of " + name)
        http01 = [c for c in challenges if isinstance(c, dict) and c.get("type") == "http-01"]
        if not http01:
            sys.exit("Error: The CA offers no http-01 challenge for {0}. A wildcard needs dns-01: {1}".format(
                name, helper.command(args, "dns01_challenge.py")))
        pending.append((authz_url, name, http01[0]))

    if pending:
        with WebrootFiles(webroot) if webroot else ChallengeServer(bind, port) as files:
            for _authz_url, name, challenge in pending:
                token = transport.token(challenge, "the http-01 challenge for " + name)
                key_auth = myhelper.key_authorization(token, jwk)
                files.add(token, key_auth)
                # 5. Our own check, before the CA is told
                if not args.skip_check:
                    check_own_url(net, name, token, key_auth, port)

            # 6. Tell the CA to validate: POST {} to each challenge
            for _authz_url, name, challenge in pending:
                url = transport.url_field(challenge, "url", "the http-01 challenge for " + name)
                net.post(url, signed(url, {}), "answering the http-01 challenge for " + name)

            # 7. Poll each authorization until valid or invalid (the first after a moment)
            for number, (authz_url, name, _challenge) in enumerate(pending):
                authz = net.poll(authz_url, signed(authz_url, ""), ("valid", "invalid", "deactivated", "expired",
                                                                    "revoked"), "the authorization for " + name,
                                 first_wait=transport.FIRST_POLL if number == 0 else 0)
                if authz["status"] != "valid":
                    sys.exit("Error: The authorization for {0} is {1}: the CA could not validate the challenge.{2}"
                             .format(name, authz["status"], helper.challenge_errors(authz)))
                print('Authorization for {0}: valid'.format(name))

    print('All authorizations are valid. Next:', helper.command(args, "finalize_order.py"))
    return 0


if __name__ == "__main__":
    sys.exit(helper.run(main))
