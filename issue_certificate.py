""" Let's Encrypt ACME Version 2 Examples - Issue a certificate in one go (Parts 3 and 5)

The whole story in one process, top to bottom, for readers who copy code: the account, an order
for NAME..., proof of every name (http-01 or dns-01), finalize, download, check, save. One session,
the nonce of every answer reused, every challenge answered before any is polled: 10 requests for
one name. It imports no other script; renew_certificate.py runs it as a command.
Reference: RFC 8555 §7.3, §7.4, §7.5, §8.3, §8.4; "replaces" and alreadyReplaced: RFC 9773 §5

HTTP exchanges (one name, http-01):
     1. GET  <ACMEDirectory>       ->  200, the directory
     2. HEAD <newNonce>            ->  200, Replay-Nonce
     3. POST <newAccount>          ->  201 or 200, Location: the account URL ("jwk")
     4. POST <newOrder>            ->  201, the order ("kid" from here on)
     5. POST <authorization URL>   ->  200, the authorization (POST-as-GET, per name)
     6. POST <challenge URL>       ->  200, payload {} (per name)
     7. POST <authorization URL>   ->  200, "valid" (polled, per name)
     8. POST <finalize URL>        ->  200, payload {"csr": ...}
     9. POST <order URL>           ->  200, "valid" with the certificate URL (polled)
    10. POST <certificate URL>     ->  200, the PEM chain

Without --agree-tos only an existing account is used. The challenge comes from acme.ini
(Challenge, HTTPPort, HTTPBind, Webroot, DNSHook) unless options say otherwise, so a renewal needs
no options. ChainFile and CSRFile are replaced atomically, the previous ones kept as .bak.

acme.ini keys read: AccountKeyFile, CertificateKeyFile, CSRFile, ChainFile, OrderFile, Contacts,
Profile, Challenge, HTTPPort, HTTPBind, Webroot, DNSHook, PollTimeout, EABKeyID, EABHMACKey,
ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    sudo python issue_certificate.py --agree-tos example.com www.example.com
    python issue_certificate.py --agree-tos --challenge dns-01 '*.example.com'
"""

import http.server
import os
import shlex
import subprocess
import sys
import threading

import helper  # first: without a package it says what to install
from cryptography.hazmat.primitives import serialization
import myhelper
import transport

WELL_KNOWN = "/.well-known/acme-challenge/"


def parse_args(argv):
    parser = helper.options(__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="names for the certificate (default: the CSR's)")
    parser.add_argument("--csr", help="use this CSR as it is (its names, its key) instead of making one")
    parser.add_argument("--key", help="certificate key file (default: CertificateKeyFile)")
    parser.add_argument("--chain", help="where to save the chain (default: ChainFile)")
    parser.add_argument("--challenge", choices=("http-01", "dns-01"), help="how to prove the names (default: "
                        "Challenge in acme.ini, http-01)")
    parser.add_argument("--port", type=int, help="http-01: the port the CA checks (default: HTTPPort, 80)")
    parser.add_argument("--bind", help="http-01: address of the built-in server (default: HTTPBind, or all)")
    parser.add_argument("--webroot", metavar="DIR", help="http-01: write the files under DIR (default: Webroot)")
    parser.add_argument("--profile", help="certificate profile (default: Profile in acme.ini; empty: the CA's)")
    parser.add_argument("--replaces", metavar="CERT_ID",
                        help="the ARI certificate ID this certificate renews (--replaces=ID: an ID may start with -)")
    parser.add_argument("--agree-tos", action="store_true", help="agree to the CA's terms of service")
    parser.add_argument("--yes", action="store_true", help="create missing keys without asking")
    return parser.parse_args(argv)


class ChallengeServer(http.server.ThreadingHTTPServer):
    """ http-01's built-in web server: answers GET /.well-known/acme-challenge/<token>, in a thread """

    def __init__(self, bind, port):
        self.answers = {}
        try:
            super().__init__((bind, port), ChallengeHandler)
        except OSError as error:
            sys.exit("Error: Cannot listen on port {0}: {1}. Run as root for port 80, stop what uses it, or use "
                     "--webroot with your web server.".format(port, error.strerror))
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


class ChallengeHandler(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True              # answer at once: headers and body are two writes

    def do_GET(self):
        body = self.server.answers.get(self.path[len(WELL_KNOWN):]) if self.path.startswith(WELL_KNOWN) else None
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write((body or "not found").encode("ascii"))

    def log_message(self, format, *args):
        sys.stdout.write("  web server: {0} {1}\n".format(self.client_address[0], format % args))


def load_or_create_key(filename, what, bits, yes):
    """ A key from its file; a missing one is created (after asking, or with --yes) """
    if os.path.exists(filename):
        return myhelper.load_private_key(filename)
    if not myhelper.Confirm("{0} does not exist. Create a new {1} (y/n): ".format(filename, what), yes):
        sys.exit("Cancelled")
    print("Created {0}: {1} (RSA {2} bits, mode 0600)".format(what, filename, bits))
    return myhelper.create_rsa_private_key(filename, bits)


def run_hook(hook, config, action, name, value):
    """ DNSHook set|clear NAME VALUE (for Alibaba Cloud DNS: python alidns_hook.py); None, or what failed """
    try:
        done = subprocess.run(shlex.split(hook) + [action, name, value], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=600,
                              env=dict(os.environ, ACME_INI=os.path.abspath(config)))
    except (OSError, subprocess.TimeoutExpired) as error:
        return "DNSHook {0} {1} could not run: {2}".format(action, name, error)
    for line in done.stdout.splitlines()[:50]:
        print("  DNSHook:", helper.cut(line, 500))
    if done.returncode != 0:
        return "DNSHook {0} {1} failed with status {2}: {3}".format(
            action, name, done.returncode, helper.cut((done.stderr or done.stdout).strip(), 1000))
    return None


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = helper.settings(myhelper.load_acme_config(args.config), args.config,
                          ["ACMEDirectory", "AccountKeyFile", "ChainFile"] + ([] if args.csr or args.key
                                                                              else ["CertificateKeyFile"]))
    challenge_type = args.challenge or ini["Challenge"]
    port, webroot = args.port or ini["HTTPPort"], args.webroot or ini["Webroot"]
    bind = ini["HTTPBind"] if args.bind is None else args.bind
    chain_file = args.chain or ini["ChainFile"]

    # The names, the keys and the CSR, all local: nothing is sent before they are right
    if args.csr:
        csr = myhelper.load_csr(args.csr)
        names = myhelper.get_domains_from_csr(csr)
        if args.names and sorted(myhelper.make_identifier(n)["value"] for n in args.names) != sorted(names):
            sys.exit("Error: --csr {0} is for {1}, not for the names given.".format(args.csr, ", ".join(names)))
    elif args.names:
        names = list(dict.fromkeys(myhelper.make_identifier(name)["value"] for name in args.names))
    else:
        sys.exit("Error: Name the certificate's names (NAME...), or pass --csr FILE.")
    identifiers = [myhelper.make_identifier(name) for name in names]
    if challenge_type == "http-01" and any(name.startswith("*.") for name in names):
        sys.exit("Error: A wildcard name needs --challenge dns-01.")
    if challenge_type == "dns-01" and any(i["type"] == "ip" for i in identifiers):
        sys.exit("Error: An IP address cannot be proven with dns-01; use --challenge http-01.")
    account_key = load_or_create_key(ini["AccountKeyFile"], "account key", 4096, args.yes)
    jwk = myhelper.get_jwk(account_key)
    if not args.csr:
        cert_key = load_or_create_key(args.key or ini["CertificateKeyFile"], "certificate key", 2048, args.yes)
        csr_pem = myhelper.create_csr(cert_key, names)
        csr = myhelper.load_csr(csr_pem)
    if not helper.certificate_problems(csr, account_key, []):
        sys.exit("Error: The certificate key is the account key. Never reuse it (RFC 8555 §11.1).")
    if challenge_type == "dns-01" and not ini["DNSHook"]:
        sys.exit("Error: dns-01 here needs DNSHook in acme.ini (by hand: python dns01_challenge.py).")
    if not args.csr and ini["CSRFile"]:
        helper.write_file(ini["CSRFile"], csr_pem, backup=True)
    net = transport.Transport(ini, args.debug)

    # 1.-2. The directory and the first nonce
    print("Getting directory...")
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    net.new_nonce(transport.url_field(directory, "newNonce", "the directory"))
    meta = transport.field(directory, "meta", dict, "the directory", default={})
    profiles = transport.field(meta, "profiles", dict, "the directory's meta", default={})
    profile = ini["Profile"] if args.profile is None else args.profile
    if profile and profiles and profile not in profiles:
        sys.exit("Error: The CA offers no profile {0!r}; it offers: {1}.".format(profile, ", ".join(profiles)))
    if not profile and "shortlived" in profiles and any(i["type"] == "ip" for i in identifiers):
        print("Let's Encrypt issues certificates for IP addresses only under the shortlived profile (6 days).")
        if myhelper.Confirm("Use the shortlived profile (y/n): ", args.yes, "Pass --profile shortlived, or --yes."):
            profile = "shortlived"

    # 3. The account: newAccount creates it (with the user's consent to the terms) or finds it
    print("Registering account...")
    url = transport.url_field(directory, "newAccount", "the directory")
    payload = {"onlyReturnExisting": True}
    if args.agree_tos:
        payload = {"termsOfServiceAgreed": True}
        if ini["Contacts"]:
            payload["contact"] = ini["Contacts"]
        if ini["EABKeyID"]:
            payload["externalAccountBinding"] = myhelper.eab_jws(ini["EABKeyID"], ini["EABHMACKey"], url, jwk)
    lookup = {"alg": myhelper.get_alg(account_key), "jwk": jwk, "url": url}
    resp = net.post(url, lambda nonce: myhelper.jws(dict(lookup, nonce=nonce), payload, account_key),
                    "registering the account", hints={"accountDoesNotExist": "No account uses this key yet. Read "
                    "the terms of service ({0}) and pass --agree-tos to create one.".format(
                        helper.cut(meta.get("termsOfService"), 300))})
    account_url = transport.location(resp, "the account")
    print("Account URL:", account_url, "(created)" if resp.status_code == 201 else "(existing)")

    def signed(url, payload):
        """ Every request from here on: "kid" names the account """
        return lambda nonce: myhelper.jws({"alg": myhelper.get_alg(account_key), "kid": account_url,
                                           "nonce": nonce, "url": url}, payload, account_key)

    # 4. The order, for exactly these identifiers
    print("Ordering a certificate for", ", ".join(names))
    url = transport.url_field(directory, "newOrder", "the directory")
    payload = dict({"identifiers": identifiers}, **({"profile": profile} if profile else {}))
    hints = {"invalidProfile": "The CA offers these profiles: {0}.".format(", ".join(profiles) or "none")}
    try:
        resp = net.post(url, signed(url, dict(payload, **({"replaces": args.replaces} if args.replaces else {}))),
                        "creating the order", hints=hints)
    except transport.AcmeProblem as problem:
        if problem.type != "alreadyReplaced":
            raise
        # Another order already renews that certificate (an earlier run stopped midway): order anew
        print("The CA says another order already replaces that certificate; ordering without \"replaces\".")
        resp = net.post(url, signed(url, payload), "creating the order", hints=hints)
    order = transport.json_object(resp, "the order")
    order_url = transport.location(resp, "the order")
    got = sorted(transport.field(i, "value", str, "the order").lower()
                 for i in transport.field(order, "identifiers", list, "the order") if isinstance(i, dict))
    if got != sorted(names):
        sys.exit("Error: The server's order is for {0}, not for {1}.".format(helper.cut(got, 500), ", ".join(names)))
    helper.save_order(ini, order_url, order)

    # 5. The authorizations: a valid one needs nothing; the others get the chosen challenge
    pending = []
    for authz_url in transport.field(order, "authorizations", list, "the order"):
        transport.check_url(authz_url if isinstance(authz_url, str) else "", "an authorization URL")
        authz = transport.json_object(net.post(authz_url, signed(authz_url, ""), "fetching an authorization"),
                                      "the authorization")
        name = transport.authz_name(authz, names)
        if transport.field(authz, "status", str, "the authorization of " + name) == "valid":
            print("Already valid:", name)
            continue
        chosen = [c for c in transport.field(authz, "challenges", list, "the authorization of " + name)
                  if isinstance(c, dict) and c.get("type") == challenge_type]
        if not chosen:
            sys.exit("Error: The CA offers no {0} challenge for {1}.".format(challenge_type, name))
        token = transport.token(chosen[0], "the challenge for " + name)
        pending.append((authz_url, name, transport.url_field(chosen[0], "url", "the challenge for " + name),
                        token, myhelper.key_authorization(token, jwk)))

    server, done = None, []              # what to undo afterwards: the server, files, TXT records
    try:
        for _authz_url, name, _url, token, key_auth in pending:
            print("Verifying {0} ({1})...".format(name, challenge_type))
            if challenge_type == "dns-01":
                record = ("_acme-challenge." + name.replace("*.", "", 1), myhelper.dns01_txt_value(key_auth))
                failed = run_hook(ini["DNSHook"], args.config, "set", *record)
                if failed:
                    sys.exit("Error: " + failed)
                done.append(record)
            elif webroot:
                os.makedirs(os.path.join(webroot, WELL_KNOWN.strip("/")), exist_ok=True)
                done.append(os.path.join(webroot, WELL_KNOWN.strip("/"), token))
                helper.write_file(done[-1], key_auth.encode("ascii"))
            else:
                server = server or ChallengeServer(bind, port)
                server.answers[token] = key_auth

        # 6. Every challenge answered (POST {}), then 7. every authorization polled
        for _authz_url, name, challenge_url, _token, _key_auth in pending:
            net.post(challenge_url, signed(challenge_url, {}), "answering the challenge for " + name)
        for number, (authz_url, name, _url, _token, _key_auth) in enumerate(pending):
            authz = net.poll(authz_url, signed(authz_url, ""), ("valid", "invalid", "deactivated", "expired",
                                                                "revoked"), "the authorization for " + name,
                             first_wait=transport.FIRST_POLL if number == 0 else 0)
            if authz["status"] != "valid":
                sys.exit("Error: {0} was not verified: the authorization is {1}.{2}".format(
                    name, authz["status"], helper.challenge_errors(authz)))
            print("{0} verified!".format(name))
    finally:
        if server:
            server.shutdown()
            server.server_close()
        for item in done:
            if challenge_type == "dns-01":
                failed = run_hook(ini["DNSHook"], args.config, "clear", *item)
                print("Warning: " + failed if failed else "Cleared TXT record " + item[0],
                      file=sys.stderr if failed else sys.stdout)
            elif os.path.exists(item):
                os.unlink(item)

    # 8. Finalize with the CSR; 9. poll the order while the CA issues
    print("Signing certificate...")
    url = transport.url_field(order, "finalize", "the order")
    resp = net.post(url, signed(url, {"csr": myhelper.b64(csr.public_bytes(serialization.Encoding.DER))}),
                    "finalizing the order")
    order = transport.json_object(resp, "the order")
    if transport.field(order, "status", str, "the order") not in ("valid", "invalid"):
        asked = transport.retry_after(resp)
        order = net.poll(order_url, signed(order_url, ""), ("valid", "invalid"), "the order",
                         first_wait=transport.FIRST_POLL if asked is None else asked)
    if order["status"] != "valid":
        sys.exit("Error: The order is {0!r}: no certificate.{1}".format(
            order["status"], "\n" + "\n".join(myhelper.format_problem(order["error"]))
            if isinstance(order.get("error"), dict) else ""))
    helper.save_order(ini, order_url, order)

    # 10. Download the chain; save it only if it is for this key and these names
    url = transport.url_field(order, "certificate", "the order")
    resp = net.post(url, signed(url, ""), "downloading the certificate",
                    headers={"Accept": "application/pem-certificate-chain"})
    certs = transport.pem_chain(resp, "the certificate")
    problems = helper.certificate_problems(certs[0], csr, names)
    if problems:
        sys.exit("Error: The certificate does not fit the order: {0}. {1} is unchanged.".format(
            "; ".join(problems), chain_file))
    helper.write_file(chain_file, resp.content, backup=True)
    print("Certificate signed! Saved the chain to", chain_file)
    print("Serial: {0}  Not After: {1}".format(format(certs[0].serial_number, "x"), certs[0].not_valid_after_utc))
    print("Requests sent to the server:", net.requests_sent)
    return 0


if __name__ == "__main__":
    sys.exit(helper.run(main))
