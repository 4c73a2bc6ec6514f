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

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, config, frame, send
import helper
import myhelper


def main(argv=None):
    """ Main Program Function """
    args = frame.options(__doc__).parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory"])
    net = send.Transport(ini, args.debug)

    # 1. The directory; "meta" and its "termsOfService" are both optional
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    meta = answers.field(directory, "meta", dict, "the directory", default={})
    terms = answers.field(meta, "termsOfService", str, "the directory's meta", default="")

    print('')
    print('Terms of Service:', helper.cut(terms) or "(this server publishes none)")
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
