""" Let's Encrypt ACME Version 2 Examples - Revoke a certificate (Part 5)

Revocation tells the CA to stop vouching for a certificate: after a key compromise, or when it is
no longer needed. The request is signed either by the account that ordered the certificate ("kid")
or, with --use-certificate-key, by the certificate's own key ("jwk"), which works even without the
account. Let's Encrypt records a request signed with the certificate key as keyCompromise and never
again issues for that key: the script says so and asks. Revocation cannot be undone, so the script
asks first in any case (--yes for scripts).
Reasons (RFC 5280 §5.3.1), by name or number. Let's Encrypt accepts 0 unspecified, 1 keyCompromise,
4 superseded and 5 cessationOfOperation; --any-reason allows the others, for other CAs.
Reference: RFC 8555 §7.6 (Certificate Revocation)

HTTP exchanges:
    1. GET  <ACMEDirectory>  ->  200, the directory
    2. HEAD <newNonce>       ->  200, Replay-Nonce
    3. POST <newAccount>     ->  200, Location: the account URL (not with --use-certificate-key)
    4. POST <revokeCert>     ->  200; payload {"certificate": base64url(DER), "reason": N}
       protected: {"alg", "kid", "nonce", "url"}, or {"alg", "jwk": <certificate key>, "nonce", "url"}

acme.ini keys read: ChainFile, AccountKeyFile or CertificateKeyFile, ACMEDirectory, UserAgent,
Language, CABundle, Timeout.
Example:
    python revoke_certificate.py                              # asks first
    python revoke_certificate.py --reason superseded --yes    # no question
    python revoke_certificate.py --use-certificate-key        # signed with the certificate key
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, certs, config, files, frame, send
import helper
from cryptography.hazmat.primitives import serialization
import myhelper

REASONS = {0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged", 4: "superseded",
           5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL", 9: "privilegeWithdrawn",
           10: "aACompromise"}
LETS_ENCRYPT_REASONS = (0, 1, 4, 5)


def reason_code(text):
    """ --reason: a number or a name of RFC 5280 """
    for code, name in REASONS.items():
        if text.lower() in (str(code), name.lower()):
            return code
    raise ValueError(text)


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--cert", help="certificate (or chain) file; its first certificate is revoked "
                                       "(default: ChainFile)")
    parser.add_argument("--reason", type=reason_code, default=0, metavar="REASON",
                        help="unspecified (0, the default), keyCompromise (1), superseded (4), "
                             "cessationOfOperation (5)")
    parser.add_argument("--any-reason", action="store_true", help="allow the RFC 5280 reasons Let's Encrypt refuses")
    parser.add_argument("--use-certificate-key", action="store_true",
                        help="sign with the certificate key (CertificateKeyFile) instead of the account key")
    parser.add_argument("--yes", action="store_true", help="revoke without asking")
    args = parser.parse_args(argv)
    if args.reason not in LETS_ENCRYPT_REASONS and not args.any_reason:
        parser.error("reason {0} ({1}) is refused by Let's Encrypt, which accepts 0, 1, 4 and 5; pass --any-reason "
                     "for another CA".format(args.reason, REASONS[args.reason]))
    return args


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    required = ["ACMEDirectory"] + ([] if args.cert else ["ChainFile"])
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, required)
    cert_file = args.cert or ini["ChainFile"]
    cert = certs.load_certificate(cert_file, frame.command(args, "get_certificate.py"))
    if args.use_certificate_key:
        key = files.load_certificate_key(ini)
        if certs.certificate_problems(cert, key, []):
            sys.exit("Error: {0} is not the key of this certificate: only its own key can revoke it without the "
                     "account.".format(ini["CertificateKeyFile"]))
    else:
        key = files.load_account_key(ini)

    print('Certificate:', cert_file)
    print('Subject:    ', helper.cut(cert.subject.rfc4514_string(), 500))
    print('Serial:     ', format(cert.serial_number, "x"))
    print('Reason:     ', args.reason, REASONS[args.reason])
    if args.use_certificate_key:
        print("Signed with the certificate key: Let's Encrypt records this as keyCompromise, whatever the reason "
              "given, and will never again issue a certificate for this key.")
    if not myhelper.Confirm('Revoke this certificate? This cannot be undone (y/n): ', args.yes):
        sys.exit('Cancelled: nothing was revoked.')
    net = send.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    nonce = net.new_nonce(answers.url_field(directory, "newNonce", "the directory"))

    # 3. Who signs: the certificate key itself ("jwk"), or the account ("kid"; its URL looked up with "jwk")
    def signed_with_jwk(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "jwk": myhelper.get_jwk(key), "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    def signed_as_account(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    if args.use_certificate_key:
        signed = signed_with_jwk
        hints = {"unauthorized": "The CA refused a revocation signed with this certificate key."}
    else:
        url = answers.url_field(directory, "newAccount", "the directory")
        resp = net.post(url, {"onlyReturnExisting": True}, signed_with_jwk, "looking up the account of this key",
                        nonce)
        nonce = None                          # used: the next one is the Replay-Nonce of that answer
        account_url = answers.location(resp, "the account")
        print('Account URL:', account_url)
        signed = signed_as_account
        hints = {"unauthorized": "The CA refused: this account did not order this certificate, or it has expired. "
                                 "Try --use-certificate-key."}

    # 4. revokeCert: the certificate in DER, base64url, and the reason code
    url = answers.url_field(directory, "revokeCert", "the directory")
    payload = {"certificate": myhelper.b64(cert.public_bytes(serialization.Encoding.DER)), "reason": args.reason}
    hints.update(alreadyRevoked="Nothing to do: this certificate is already revoked.",
                 badRevocationReason="The CA refused this reason; Let's Encrypt accepts 0, 1, 4 and 5.")
    net.post(url, payload, signed, "revoking the certificate", nonce, hints=hints)

    print('Certificate revoked.')
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
