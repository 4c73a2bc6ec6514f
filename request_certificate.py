""" Let's Encrypt ACME Version 2 Examples - Request a certificate: create the order (Part 5)

An order asks for a certificate for some identifiers: the names in the CSR (host names, and IP
addresses as RFC 8738 "ip" identifiers). The server answers with the authorizations to complete
(one per name) and the finalize URL. This step only creates the order and saves it in OrderFile;
then get_challenges.py, http01_challenge.py or dns01_challenge.py, finalize_order.py and
get_certificate.py. A CA may offer certificate profiles (Let's Encrypt: classic, tlsserver,
shortlived); Profile in acme.ini or --profile chooses one. Let's Encrypt issues for IP addresses
only under "shortlived".
Reference: RFC 8555 §7.4 (Applying for Certificate Issuance), §7.1.3 (Order Objects); profiles
(draft-ietf-acme-profiles); "replaces" (RFC 9773 §5)

HTTP exchanges:
    1. GET  <ACMEDirectory>  ->  200, the directory
    2. HEAD <newNonce>       ->  200, Replay-Nonce
    3. POST <newAccount>     ->  200, Location: the account URL (onlyReturnExisting, "jwk")
    4. POST <newOrder>       ->  201, Location: the order URL; the order object
       protected: {"alg", "kid", "nonce", "url"}
       payload:   {"identifiers": [{"type": "dns", "value": ...}, ...]} (+ "profile", "replaces")

acme.ini keys read: AccountKeyFile, CSRFile, OrderFile, Profile, ACMEDirectory, UserAgent,
Language, CABundle, Timeout.
Example:
    python make_csr.py example.com www.example.com
    python request_certificate.py
    python request_certificate.py --profile tlsserver
"""

import json
import os
import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, config, files, frame, orders, send
import helper
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--csr", help="CSR file (default: CSRFile in acme.ini)")
    parser.add_argument("--profile", help="certificate profile (default: Profile in acme.ini; empty: the CA's)")
    parser.add_argument("--replaces", metavar="CERT_ID",
                        help="the ARI certificate ID this order renews (--replaces=ID: an ID may start with -)")
    parser.add_argument("--yes", action="store_true", help="use the profile Let's Encrypt needs for IP addresses")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    csr_file = args.csr or ini["CSRFile"] or sys.exit("Error: Set CSRFile in acme.ini, or pass --csr FILE.")
    if not os.path.exists(csr_file):
        sys.exit("Error: File does not exist: {0} (the CSR). Create it with: {1}".format(
            csr_file, frame.command(args, "make_csr.py", "NAME...")))
    identifiers = [myhelper.make_identifier(name) for name in myhelper.get_domains_from_csr(csr_file)]
    key = files.load_account_key(ini)
    net = send.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    nonce = net.new_nonce(answers.url_field(directory, "newNonce", "the directory"))

    # Profiles: only one the CA lists; Let's Encrypt wants "shortlived" for an IP address
    wanted = ini["Profile"] if args.profile is None else args.profile
    profile, profiles = orders.choose_profile(directory, wanted, identifiers, args.yes)

    # 3. The account URL of this key: newAccount with onlyReturnExisting, the key itself in "jwk"
    def signed_with_jwk(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "jwk": myhelper.get_jwk(key), "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    url = answers.url_field(directory, "newAccount", "the directory")
    resp = net.post(url, {"onlyReturnExisting": True}, signed_with_jwk, "looking up the account of this key", nonce)
    account_url = answers.location(resp, "the account")
    print('Account URL:', account_url)

    # 4. newOrder, signed as the account ("kid": the account URL)
    def signed(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    url = answers.url_field(directory, "newOrder", "the directory")
    payload = {"identifiers": identifiers}
    if profile:
        payload["profile"] = profile
    if args.replaces:
        payload["replaces"] = args.replaces
    print('CSR:', csr_file)
    print('URL:', url)
    for identifier in identifiers:
        print('Identifier: {0} {1}'.format(identifier["type"], identifier["value"]))
    hints = {"invalidProfile": "The CA offers these profiles: {0}.".format(", ".join(profiles) or "none")}
    resp = net.post(url, payload, signed, "creating the order", hints=hints)
    order = answers.json_object(resp, "the order")
    order_url = answers.location(resp, "the order")

    # The order must be for exactly the names asked for, and carry what the next steps need
    orders.check_order(order, identifiers)

    print('Order Location:', order_url)
    print(helper.cut(json.dumps(order, indent=4), 20000))
    print('Saved the order to', orders.save_order(ini, order_url, order))
    print('Next: {0}, then {1} (or dns01_challenge.py, tlsalpn01_challenge.py, dns_persist01_challenge.py)'.format(
        frame.command(args, "get_challenges.py"), frame.command(args, "http01_challenge.py")))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
