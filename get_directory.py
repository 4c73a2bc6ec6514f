""" Let's Encrypt ACME Version 2 Examples - Get Directory (Part 3)

This example will call the ACME API directory and display the returned data.
Reference: RFC 8555 §7.1.1 (Directory)

HTTP exchange:
    GET <ACMEDirectory>  ->  200, a JSON object of endpoint URLs and "meta"

acme.ini keys read: ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python get_directory.py
    python get_directory.py --config pebble.ini
"""

import sys

import helper
import myhelper


def main(argv=None):
    """ Main Program Function """
    args = myhelper.make_parser(__doc__).parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    acme = myhelper.AcmeSession(config, debug=args.debug)

    # GET the directory; myhelper checks that the answer is a JSON object
    directory = acme.get_directory()

    print('')
    print('Returned Data:')
    print('****************************************')
    print(directory.text)

    print('')
    print('Formatted JSON:')
    print('****************************************')
    helper.print_dict(acme.directory, 0)
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
