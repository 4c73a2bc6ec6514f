""" Let's Encrypt ACME Version 2 Examples - Get Directory (Part 3)

This example will call the ACME API directory and display the returned data: the URLs of every
other endpoint, and "meta" (terms of service, website, CAA identities, and the certificate profiles
the CA offers). Ignore keys you do not know: Let's Encrypt adds a random one on purpose.
Reference: RFC 8555 §7.1.1 (Directory)

HTTP exchange:
    1. GET <ACMEDirectory>  ->  200, a JSON object of endpoint URLs and "meta"

acme.ini keys read: ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_directory.py
    python get_directory.py --config pebble.ini
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

    # 1. GET the directory. The output should be JSON; if not, something is wrong
    directory = net.get(ini["ACMEDirectory"], "getting the ACME directory")
    acme_config = answers.json_object(directory, "the directory")

    print('')
    print('Returned Data:')
    print('****************************************')
    print(directory.text)

    print('')
    print('Formatted JSON:')
    print('****************************************')
    helper.print_dict(acme_config, 0)
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
