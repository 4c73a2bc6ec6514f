""" Let's Encrypt ACME Version 2 Examples - Finalize the order (Part 5)

Once every authorization is valid the order is "ready": send the CSR to its finalize URL. The
server then issues the certificate ("processing", then "valid") and the order gains a
"certificate" URL, which get_certificate.py downloads.
Reference: RFC 8555 §7.4 (Applying for Certificate Issuance), §7.1.6 (Status Changes)

HTTP exchanges:
    GET  <ACMEDirectory>      ->  200, the directory
    HEAD <newNonce>           ->  200, Replay-Nonce
    POST <newAccount>         ->  200, Location: the account URL (onlyReturnExisting)
    POST <order URL>          ->  200, the order, for its current status (POST-as-GET)
    POST <finalize URL>       ->  200, the order; payload {"csr": base64url(CSR in DER)}
    POST <order URL> ...      ->  200, polled until "valid" (honouring Retry-After)

acme.ini keys read: AccountKeyFile, CSRFile, OrderFile, PollTimeout, ACMEDirectory, UserAgent,
Language, CABundle, Timeout.
Example:
    python finalize_order.py
"""

import sys

from cryptography.hazmat.primitives import serialization

import myhelper
from request_certificate import same_identifiers


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("--csr", help="CSR file (default: CSRFile in acme.ini)")
    return parser.parse_args(argv)


def check_csr(csr, order, config):
    """ RFC 8555 §7.4 and §11.1: the CSR names exactly the order's identifiers, and not with the account key """
    identifiers = [myhelper.make_identifier(name) for name in myhelper.get_domains_from_csr(csr)]
    if not same_identifiers(order, identifiers):
        raise myhelper.AcmeError("Error: The CSR names {0}, but the order is for {1}. Use the CSR the order was "
                                 "made from, or make a new order.".format(
                                     [i["value"] for i in identifiers],
                                     [i.get("value") for i in order.get("identifiers") or []]))
    myhelper.check_not_account_key(myhelper.csr_public_jwk(csr), config)


def finalize(acme, order_url, order, csr):
    """ Send the CSR unless the order is past that, then poll the order until it is valid

    The server decides whether the order is ready: one whose challenges are not done yet gets an
    orderNotReady error back.
    """
    wait = None
    if order.get("status") in ("pending", "ready"):
        der = csr.public_bytes(serialization.Encoding.DER)
        response = acme.post(order["finalize"], {"csr": myhelper.b64(der)}, "finalizing the order")
        order = myhelper.parse_json(response)
        wait = myhelper.retry_after_seconds(response)
    if order.get("status") not in ("valid", "invalid"):
        # "processing": the CA is issuing; give it the time it asks for, or a moment, before looking
        order = acme.poll(order_url, ("valid", "invalid"), "the order",
                          first_wait=myhelper.FIRST_POLL_WAIT if wait is None else wait)
    if order.get("status") != "valid":
        problem = order.get("error")
        detail = ("\n" + "\n".join(myhelper.format_problem(problem))) if isinstance(problem, dict) else ""
        raise myhelper.AcmeError("Error: The order is {0!r}: no certificate will be issued for it. Create a new "
                                 "order: python request_certificate.py{1}".format(order.get("status"), detail))
    return order


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    order_url, _saved = myhelper.load_order(config)
    csr = myhelper.load_csr(args.csr or config.path("CSRFile"))
    key = myhelper.load_account_key(config)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)

    print('Account URL:', acme.find_account())
    order = acme.fetch(order_url, "the order")
    print('Order status:', order.get("status"))
    if order.get("status") == "pending":
        raise myhelper.AcmeError("Error: The order is still pending: answer its challenges first "
                                 "(http01_challenge.py or dns01_challenge.py).")
    check_csr(csr, order, config)

    order = finalize(acme, order_url, order, csr)
    myhelper.save_order(config, order_url, order)

    print('Order status:', order["status"])
    print('Certificate URL:', order.get("certificate"))
    print('Next: python get_certificate.py')
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
