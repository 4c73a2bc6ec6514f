""" Let's Encrypt ACME Version 2 Examples - Download the certificate (Part 5)

The certificate of a valid order is fetched with POST-as-GET, as a PEM chain: your certificate
first, then the intermediate(s). A CA may offer other chains (to other roots) in Link headers with
rel="alternate"; --alternate N picks one. The chain is checked (only CERTIFICATE blocks, RFC 8555
§11.4) and written to ChainFile atomically: an older certificate there is never left half-replaced.
Reference: RFC 8555 §7.4.2 (Downloading the Certificate)

HTTP exchanges:
    GET  <ACMEDirectory>       ->  200, the directory
    HEAD <newNonce>            ->  200, Replay-Nonce
    POST <newAccount>          ->  200, Location: the account URL (onlyReturnExisting)
    POST <order URL>           ->  200, the order, for its "certificate" URL (POST-as-GET)
    POST <certificate URL>     ->  200, the PEM chain (POST-as-GET,
                                   Accept: application/pem-certificate-chain)

acme.ini keys read: AccountKeyFile, OrderFile, ChainFile, ACMEDirectory, UserAgent, Language,
CABundle, Timeout.
Example:
    python get_certificate.py
    python get_certificate.py --alternate 1     # the first alternate chain
"""

import sys

import requests

import myhelper

PEM_CHAIN = {"Accept": "application/pem-certificate-chain"}


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("--alternate", type=int, default=0, metavar="N",
                        help="download alternate chain N (1, 2, ...) instead of the default one")
    return parser.parse_args(argv)


def alternate_links(response):
    """ The URLs of Link: <...>;rel="alternate" headers """
    links = requests.utils.parse_header_links(response.headers.get("Link", ""))
    return [link["url"] for link in links if link.get("rel") == "alternate"]


def download_certificate(acme, url, alternate=0):
    """ POST-as-GET the chain (or alternate N); returns (PEM text, certificates, alternate URLs) """
    response = acme.post_as_get(url, "downloading the certificate", headers=PEM_CHAIN)
    alternates = alternate_links(response)
    if alternate:
        if alternate > len(alternates):
            raise myhelper.AcmeError("Error: There is no alternate chain {0}: the server offers {1}."
                                     .format(alternate, len(alternates)))
        response = acme.post_as_get(alternates[alternate - 1], "downloading an alternate chain", headers=PEM_CHAIN)
    return response.text, myhelper.parse_pem_chain(response.text), alternates


def describe(certs):
    """ Print what the certificate says: subject, names, issuer, validity """
    from cryptography import x509
    cert = certs[0]
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = ", ".join(str(n.value) for n in names)
    except x509.ExtensionNotFound:
        names = "(none)"
    print('Subject:   ', cert.subject.rfc4514_string() or "(empty)")
    print('Names:     ', names)
    print('Issuer:    ', cert.issuer.rfc4514_string())
    print('Serial:    ', format(cert.serial_number, "x"))
    print('Not Before:', cert.not_valid_before_utc)
    print('Not After: ', cert.not_valid_after_utc)
    print('Chain:     ', len(certs), "certificate(s)")


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    order_url, _saved = myhelper.load_order(config)
    chain_file = config.path("ChainFile")
    key = myhelper.load_account_key(config)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)

    print('Account URL:', acme.find_account())
    order = acme.fetch(order_url, "the order")
    if order.get("status") != "valid" or not order.get("certificate"):
        raise myhelper.AcmeError("Error: The order is {0!r} and has no certificate yet: run "
                                 "python finalize_order.py first.".format(order.get("status")))

    text, certs, alternates = download_certificate(acme, order["certificate"], args.alternate)
    for number, url in enumerate(alternates, 1):
        print('Alternate chain {0}: {1}'.format(number, url))
    myhelper.write_file_atomic(chain_file, text.encode("ascii"))

    print('Saved the certificate chain to', chain_file)
    describe(certs)
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
