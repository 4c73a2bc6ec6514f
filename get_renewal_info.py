""" Let's Encrypt ACME Version 2 Examples - When to renew: ACME Renewal Information (beyond the article)

Part 1 promises renewal. Instead of guessing ("30 days before expiry"), a client asks the CA: the
directory's renewalInfo endpoint answers, for one certificate, a window in which to renew, and
when to ask again (Retry-After). The certificate is named by its ID: the Authority Key Identifier
and the serial number, base64url, joined by a dot. Let's Encrypt ended its expiry e-mails in 2025
and shortens lifetimes to 64 days in 2027 and 45 days in 2028: ask, do not guess.
Reference: RFC 9773 (ACME Renewal Information), §4.1 (the certificate ID), §4.2, §4.3

HTTP exchanges:
    1. GET <ACMEDirectory>                  ->  200, the directory (its renewalInfo URL)
    2. GET <renewalInfo>/<certificate ID>   ->  200, {"suggestedWindow": {"start", "end"},
                                                "explanationURL"}, and Retry-After
No signature: renewal information is public, fetched with a plain GET.

acme.ini keys read: ChainFile, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_renewal_info.py
    python get_renewal_info.py --cert other.chain.pem
"""

import sys
import time

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, certs, config, frame, send
import helper
from cryptography import x509
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--cert", help="certificate (or chain) file; its first certificate (default: ChainFile)")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config,
                          ["ACMEDirectory"] + ([] if args.cert else ["ChainFile"]))
    cert_file = args.cert or ini["ChainFile"]
    cert = certs.load_certificate(cert_file, frame.command(args, "get_certificate.py"))

    # The certificate ID: Authority Key Identifier "." serial number (RFC 9773 §4.1)
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        aki = None
    if not aki:
        sys.exit("Error: {0} has no Authority Key Identifier: renewal information cannot name it.".format(cert_file))
    cert_id = certs.ari_cert_id(aki, cert.serial_number)
    print('Certificate:', cert_file)
    print('Serial:     ', format(cert.serial_number, "x"))
    print('Not After:  ', helper.utc(cert.not_valid_after_utc.timestamp()))
    print('Cert ID:    ', cert_id)
    net = send.Transport(ini, args.debug)

    # 1. The directory: a CA without renewalInfo leaves the decision to us
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    if "renewalInfo" not in directory:
        lifetime = cert.not_valid_after_utc.timestamp() - cert.not_valid_before_utc.timestamp()
        print('This CA offers no renewal information. The usual rule: renew when a third of the lifetime is '
              'left, after', helper.utc(cert.not_valid_after_utc.timestamp() - lifetime / 3))
        return 0

    # 2. GET <renewalInfo>/<certificate ID>: the suggested window, and when to ask again
    url = answers.url_field(directory, "renewalInfo", "the directory").rstrip("/") + "/" + cert_id
    resp = net.get(url, "getting the renewal information")
    info = answers.json_object(resp, "the renewal information")
    window = answers.field(info, "suggestedWindow", dict, "the renewal information")
    start = answers.time_field(window, "start", "the suggested window")
    end = answers.time_field(window, "end", "the suggested window")
    print('Window:      {0} to {1}'.format(helper.utc(start), helper.utc(end)))
    if "explanationURL" in info:
        print('Explanation:', helper.cut(answers.field(info, "explanationURL", str, "the renewal information")))
    now = time.time()
    if end <= now:
        print('The window has passed: renew now (python renew_certificate.py does).')
    elif start <= now:
        print('The window is open: renew at a random time before its end (python renew_certificate.py does).')
    else:
        print('Not yet: the window opens in {0:.1f} days.'.format((start - now) / 86400))
    asked = answers.retry_after(resp)
    if asked is not None:
        print('Ask again after {0:.0f} seconds ({1}).'.format(asked, helper.utc(now + min(asked, 1e9))))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
