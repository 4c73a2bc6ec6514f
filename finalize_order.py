""" Let's Encrypt ACME Version 2 Examples - Finalize the order (Part 5)

Once every authorization is valid the order is "ready": send the CSR to its finalize URL. The CA
then issues the certificate ("processing", then "valid") and the order gains a "certificate" URL,
which get_certificate.py downloads. The CSR must name exactly the order's identifiers, and must
not carry the account key (RFC 8555 §11.1): both are checked before anything is sent.
Reference: RFC 8555 §7.4 (Applying for Certificate Issuance), §7.1.6 (Status Changes)

HTTP exchanges:
    1. GET  <ACMEDirectory>  ->  200, the directory
    2. HEAD <newNonce>       ->  200, Replay-Nonce
    3. POST <newAccount>     ->  200, Location: the account URL (onlyReturnExisting)
    4. POST <order URL>      ->  200, the order, for its status (POST-as-GET, "kid")
    5. POST <finalize URL>   ->  200, the order; payload {"csr": base64url(the CSR in DER)}
    6. POST <order URL> ...  ->  200, polled (POST-as-GET) until valid or invalid, after Retry-After

acme.ini keys read: AccountKeyFile, CSRFile, OrderFile, PollTimeout, ACMEDirectory, UserAgent,
Language, CABundle, Timeout.
Example:
    python finalize_order.py
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, certs, config, files, frame, orders, send
import helper
from cryptography.hazmat.primitives import serialization
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--csr", help="CSR file (default: CSRFile in acme.ini)")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    order_url, saved = orders.load_order(ini)
    csr_file = args.csr or ini["CSRFile"] or sys.exit("Error: Set CSRFile in acme.ini, or pass --csr FILE.")
    csr = myhelper.load_csr(csr_file)
    key = files.load_account_key(ini)
    net = send.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    nonce = net.new_nonce(answers.url_field(directory, "newNonce", "the directory"))

    # 3. The account URL of this key: newAccount with onlyReturnExisting, the key itself in "jwk"
    def signed_with_jwk(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "jwk": myhelper.get_jwk(key), "nonce": nonce, "url": url}
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

    # 4. The order as it is now
    order = answers.json_object(net.post(order_url, "", signed, "fetching the order"), "the order")
    status = first_status = answers.field(order, "status", str, "the order")
    print('Order status:', helper.cut(status, 100))
    if status == "pending":
        sys.exit("Error: The order is still pending: answer its challenges first ({0} or {1}).".format(
            frame.command(args, "http01_challenge.py"), frame.command(args, "dns01_challenge.py")))

    wait = send.FIRST_POLL
    if status == "ready":
        # The CSR names exactly the order's identifiers (§7.4), and never with the account key (§11.1)
        names = sorted(myhelper.get_domains_from_csr(csr))
        ordered = sorted(answers.field(i, "value", str, "an identifier of the order").lower()
                         for i in answers.list_field(order, "identifiers", dict, "the order"))
        if names != ordered:
            sys.exit("Error: The CSR names {0}, but the order is for {1}. Use the CSR the order was made from, or "
                     "make a new order.".format(", ".join(names), helper.cut(", ".join(ordered), 1000)))
        if not certs.certificate_problems(csr, key, []):          # no problem: the CSR has the account key
            sys.exit("Error: The CSR carries the account key. Never reuse the account key in a certificate (RFC "
                     "8555 §11.1): {0}".format(frame.command(args, "make_certificate_key.py")))

        # 5. POST the CSR (DER, base64url) to the finalize URL
        url = answers.url_field(order, "finalize", "the order")
        der = csr.public_bytes(serialization.Encoding.DER)
        resp = net.post(url, {"csr": myhelper.b64(der)}, signed, "finalizing the order")
        order = answers.json_object(resp, "the order")
        status = answers.field(order, "status", str, "the order")
        wait = send.first_look(resp)           # Retry-After, else the CA's own pace

    # 6. "processing": the CA is issuing; look again after its Retry-After, or a moment
    if status not in ("valid", "invalid"):
        order = net.poll(order_url, signed, ("valid", "invalid"), "the order", first_wait=wait)
        status = order["status"]
    if status != "valid":
        problem = order.get("error")
        detail = ("\n" + "\n".join(myhelper.format_problem(problem))) if isinstance(problem, dict) else ""
        sys.exit("Error: The order is {0!r}: no certificate will be issued for it. Create a new order: {1}{2}".format(
            helper.cut(status, 100), frame.command(args, "request_certificate.py"), detail))
    certificate_url = answers.url_field(order, "certificate", "the order")
    orders.save_order(ini, order_url, order)

    if status != first_status:
        print('Order status:', status)
    print('Certificate URL:', certificate_url)
    print('Next:', frame.command(args, "get_certificate.py"))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
