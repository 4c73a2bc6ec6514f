""" Let's Encrypt ACME Version 2 Examples - Revoke a certificate (Part 5)

Revocation tells the CA to stop vouching for a certificate: after a key compromise, or when it is
no longer needed. The request is signed either by the account that ordered the certificate ("kid")
or, with --use-certificate-key, by the certificate's own key ("jwk"), which works even without
the account. Revocation cannot be undone, so the script asks first (--yes for scripts).
Reference: RFC 8555 §7.6 (Certificate Revocation); reason codes: RFC 5280 §5.3.1

HTTP exchanges:
    GET  <ACMEDirectory>  ->  200, the directory
    HEAD <newNonce>       ->  200, Replay-Nonce
    POST <newAccount>     ->  200, Location: the account URL (not with --use-certificate-key)
    POST <revokeCert>     ->  200; payload {"certificate": base64url(DER), "reason": N}

acme.ini keys read: ChainFile, AccountKeyFile or CertificateKeyFile, ACMEDirectory, UserAgent,
Language, CABundle, Timeout.
Example:
    python revoke_certificate.py                          # asks first
    python revoke_certificate.py --reason 4 --yes         # superseded, no question
    python revoke_certificate.py --use-certificate-key    # signed with the certificate key
"""

import sys

from cryptography.hazmat.primitives import serialization

import myhelper

REASONS = {0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged",
           4: "superseded", 5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL",
           9: "privilegeWithdrawn", 10: "aACompromise"}


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("--cert", help="certificate (or chain) file, first certificate revoked (default: ChainFile)")
    parser.add_argument("--reason", type=int, default=0, choices=sorted(REASONS),
                        help="RFC 5280 reason code (default: 0, unspecified; 1 keyCompromise, 4 superseded, "
                             "5 cessationOfOperation)")
    parser.add_argument("--use-certificate-key", action="store_true",
                        help="sign with the certificate key (CertificateKeyFile) instead of the account key")
    parser.add_argument("--yes", action="store_true", help="revoke without asking")
    return parser.parse_args(argv)


def read_certificate(filename):
    """ The first certificate of a PEM file """
    try:
        with open(filename, encoding="ascii") as f:
            text = f.read()
    except FileNotFoundError:
        raise myhelper.AcmeError("Error: File does not exist: {0} (the certificate). Download it with "
                                 "python get_certificate.py".format(filename))
    except (OSError, UnicodeDecodeError) as error:
        raise myhelper.AcmeError("Error: Cannot read the certificate {0}: {1}".format(filename, error))
    return myhelper.parse_pem_chain(text)[0]


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    cert_file = args.cert or config.path("ChainFile")
    cert = read_certificate(cert_file)
    if args.use_certificate_key:
        key = myhelper.load_private_key(config.path("CertificateKeyFile"), "certificate key")
    else:
        key = myhelper.load_account_key(config)

    print('Certificate:', cert_file)
    print('Subject:    ', cert.subject.rfc4514_string())
    print('Serial:     ', format(cert.serial_number, "x"))
    print('Reason:     ', args.reason, REASONS[args.reason])
    if not myhelper.Confirm('Revoke this certificate? This cannot be undone (y/n): ', args.yes):
        raise myhelper.AcmeError('Cancelled: nothing was revoked.')

    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)
    if not args.use_certificate_key:
        print('Account URL:', acme.find_account())
    payload = {"certificate": myhelper.b64(cert.public_bytes(serialization.Encoding.DER)), "reason": args.reason}
    acme.post(acme.url("revokeCert"), payload, "revoking the certificate", use_jwk=args.use_certificate_key)

    print('Certificate revoked.')
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
