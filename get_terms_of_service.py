""" Let's Encrypt ACME Version 2 Examples - Get Terms of Service (Part 3)

The directory's "meta" object may name the CA's terms of service; a new account must agree to them
(RFC 8555 §7.3: a client must not agree without the user's consent).
Reference: RFC 8555 §7.1.1 (Directory, "meta.termsOfService")

HTTP exchange:
    1. GET <ACMEDirectory>  ->  200, the directory; its meta.termsOfService is printed

acme.ini keys read: ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_terms_of_service.py
"""

import sys

import helper  # first: without a package it says what to install
import myhelper
import transport


def main(argv=None):
    """ Main Program Function """
    args = helper.options(__doc__).parse_args(argv)
    ini = helper.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory"])
    net = transport.Transport(ini, args.debug)

    # 1. The directory; "meta" and its "termsOfService" are both optional
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    meta = transport.field(directory, "meta", dict, "the directory", default={})
    terms = transport.field(meta, "termsOfService", str, "the directory's meta", default="")

    print('')
    print('Terms of Service:', helper.cut(terms) or "(this server publishes none)")
    return 0


if __name__ == "__main__":
    sys.exit(helper.run(main))
