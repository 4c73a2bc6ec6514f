""" Let's Encrypt ACME Version 2 Examples - Download the certificate (Part 5)

The certificate of a valid order is fetched with POST-as-GET, as a PEM chain: your certificate
first, then the intermediate(s). A CA may offer other chains (to other roots) in Link headers with
rel="alternate"; --alternate N picks one. Before anything is written, the chain is checked: only
CERTIFICATE blocks that all parse (RFC 8555 §11.4), and a first certificate for the key of the CSR
and for every name of the order. ChainFile is then replaced atomically; the previous one is kept as
ChainFile.bak. On any failure ChainFile stays as it was.
Reference: RFC 8555 §7.4.2 (Downloading the Certificate)

HTTP exchanges:
    1. GET  <ACMEDirectory>      ->  200, the directory
    2. HEAD <newNonce>           ->  200, Replay-Nonce
    3. POST <newAccount>         ->  200, Location: the account URL (onlyReturnExisting)
    4. POST <order URL>          ->  200, the order, for its "certificate" URL (POST-as-GET, "kid")
    5. POST <certificate URL>    ->  200, the PEM chain (POST-as-GET,
                                     Accept: application/pem-certificate-chain)

acme.ini keys read: AccountKeyFile, OrderFile, CSRFile, ChainFile, ACMEDirectory, UserAgent,
Language, CABundle, Timeout.
Example:
    python get_certificate.py
    python get_certificate.py --alternate 1     # the first alternate chain
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, certs, config, files, frame, orders, send
import helper
import myhelper

PEM_CHAIN = {"Accept": "application/pem-certificate-chain"}


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--alternate", type=int, default=0, metavar="N",
                        help="download alternate chain N (1, 2, ...) instead of the default one")
    parser.add_argument("--csr", help="the CSR of the order, to check the certificate (default: CSRFile)")
    return parser.parse_args(argv)


def describe(chain):
    """ What the certificate says: subject, names, issuer, serial, validity """
    from cryptography import x509
    cert = chain[0]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = ", ".join(str(n.value) for n in san)
    except x509.ExtensionNotFound:
        names = "(none)"
    print('Subject:   ', helper.cut(cert.subject.rfc4514_string() or "(empty)", 500))
    print('Names:     ', helper.cut(names))
    print('Issuer:    ', helper.cut(cert.issuer.rfc4514_string(), 500))
    print('Serial:    ', format(cert.serial_number, "x"))
    print('Not Before:', cert.not_valid_before_utc)
    print('Not After: ', cert.not_valid_after_utc)
    print('Chain:     ', len(chain), "certificate(s)")


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config,
                          ["ACMEDirectory", "AccountKeyFile", "ChainFile"])
    order_url, saved = orders.load_order(ini)
    csr_file = args.csr or ini["CSRFile"] or sys.exit("Error: Set CSRFile in acme.ini, or pass --csr FILE.")
    csr = myhelper.load_csr(csr_file)          # to check the certificate's key
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

    # 4. The order: valid, with the certificate URL
    order = answers.json_object(net.post(order_url, "", signed, "fetching the order"), "the order")
    status = answers.field(order, "status", str, "the order")
    if status != "valid" or "certificate" not in order:
        sys.exit("Error: The order is {0!r} and has no certificate yet: run {1} first.".format(
            helper.cut(status, 100), frame.command(args, "finalize_order.py")))

    # 5. The chain (POST-as-GET); alternate chains are named in Link headers
    url = answers.url_field(order, "certificate", "the order")
    resp = net.post(url, "", signed, "downloading the certificate", headers=PEM_CHAIN)
    alternates = answers.links(resp, "alternate")
    for number, alternate in enumerate(alternates, 1):
        print('Alternate chain {0}: {1}'.format(number, alternate))
    if args.alternate:
        if not 0 < args.alternate <= len(alternates):
            sys.exit("Error: There is no alternate chain {0}: the server offers {1}.".format(args.alternate,
                                                                                             len(alternates)))
        url = alternates[args.alternate - 1]
        resp = net.post(url, "", signed, "downloading alternate chain {0}".format(args.alternate),
                        headers=PEM_CHAIN)
    chain = answers.pem_chain(resp, "the certificate")

    # Nothing is saved unless the certificate is for the key of the CSR and every name of the order
    problems = certs.certificate_problems(chain[0], csr, orders.order_names(saved))
    if problems:
        sys.exit("Error: The certificate from {0} does not fit the order: {1}. It was not saved; {2} is unchanged."
                 .format(url, "; ".join(problems), ini["ChainFile"]))
    backup = certs.save_chain(ini["ChainFile"], chain)

    print('Saved the certificate chain to', ini["ChainFile"])
    if backup:
        print('The previous chain was kept in', backup)
    describe(chain)
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
