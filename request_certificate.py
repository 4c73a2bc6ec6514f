""" Let's Encrypt ACME Version 2 Examples - Request a certificate: create the order (Part 5)

An order asks for a certificate for some identifiers: the names in the CSR (DNS names, and IP
addresses as RFC 8738 "ip" identifiers). The server answers with the authorizations to complete
(one per name) and the finalize URL. This step only creates the order and saves it in OrderFile;
the next steps are get_challenges.py, http01_challenge.py or dns01_challenge.py, finalize_order.py
and get_certificate.py.
Reference: RFC 8555 §7.4 (Applying for Certificate Issuance), §7.1.3 (Order Objects)

HTTP exchanges:
    GET  <ACMEDirectory>  ->  200, the directory
    HEAD <newNonce>       ->  200, Replay-Nonce
    POST <newAccount>     ->  200, Location: the account URL (onlyReturnExisting)
    POST <newOrder>       ->  201, Location: the order URL; the order object
                              (payload {"identifiers": [{"type": "dns", "value": ...}, ...]})

acme.ini keys read: AccountKeyFile, CSRFile, OrderFile, ACMEDirectory, UserAgent, Language,
CABundle, Timeout.
Example:
    python make_csr.py example.com www.example.com
    python request_certificate.py
"""

import json
import sys

import myhelper


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("--csr", help="CSR file (default: CSRFile in acme.ini)")
    return parser.parse_args(argv)


def same_identifiers(order, identifiers):
    """ True when the order is for exactly these identifiers, in any order (RFC 8555 §7.1.3) """
    def as_set(items):
        return {(i.get("type"), str(i.get("value", "")).lower()) for i in items if isinstance(i, dict)}
    return as_set(order.get("identifiers") or []) == as_set(identifiers)


def check_order_identifiers(order, identifiers):
    """ The server's order must be for exactly the identifiers we asked for """
    if not same_identifiers(order, identifiers):
        raise myhelper.AcmeError("Error: The server's order is for {0}, not for the names asked for ({1}). "
                                 "Do not use this order; check the CSR and try again.".format(
                                     order.get("identifiers"), [i["value"] for i in identifiers]))


def new_order(acme, identifiers):
    """ POST newOrder; returns the order URL and the order object """
    resp = acme.post(acme.url("newOrder"), {"identifiers": identifiers}, "creating the order")
    order = myhelper.parse_json(resp)
    check_order_identifiers(order, identifiers)
    return myhelper.require_header(resp, "Location"), order


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    csr_file = args.csr or config.path("CSRFile")
    csr = myhelper.load_csr(csr_file)
    identifiers = [myhelper.make_identifier(name) for name in myhelper.get_domains_from_csr(csr)]
    key = myhelper.load_account_key(config)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)

    print('Account URL:', acme.find_account())
    print('CSR:', csr_file)
    print('URL:', acme.url("newOrder"))
    for identifier in identifiers:
        print('Identifier: {0} {1}'.format(identifier["type"], identifier["value"]))

    order_url, order = new_order(acme, identifiers)

    print('Order Location:', order_url)
    print(json.dumps(order, indent=4))
    print('Saved the order to', myhelper.save_order(config, order_url, order))
    print('Next: python get_challenges.py, then answer them (http01_challenge.py or dns01_challenge.py)')
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
