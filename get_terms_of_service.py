""" Let's Encrypt ACME Version 2 Examples - Get Terms of Service (Part 3)

The directory's "meta" object may name the CA's terms of service; a new account must agree to them
(RFC 8555 §7.3: a client must not agree without the user's consent).
Reference: RFC 8555 §7.1.1 (Directory, "meta.termsOfService")

HTTP exchange:
    GET <ACMEDirectory>  ->  200, the directory; its meta.termsOfService is printed

acme.ini keys read: ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_terms_of_service.py
"""

import sys

import myhelper


def main(argv=None):
    """ Main Program Function """
    args = myhelper.make_parser(__doc__).parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    acme = myhelper.AcmeSession(config, debug=args.debug)

    terms = acme.meta.get("termsOfService")

    print('')
    if terms:
        print('Terms of Service:', terms)
    else:
        print('Terms of Service: (this server publishes none)')
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
