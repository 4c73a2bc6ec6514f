""" Let's Encrypt ACME Version 2 Examples - Create the account key (Part 2)

The account key identifies you to the ACME server: every request you sign with it belongs to your
account (RFC 8555 §6.2, §7.3). Keep it private and keep a copy; it is not the certificate key.

No HTTP exchange: this only writes a PEM file, mode 0600, and never overwrites an existing one.

acme.ini keys read: AccountKeyFile (when no FILE is given).
Example:
    python make_account_key.py                 # RSA 4096, as the original, to AccountKeyFile
    python make_account_key.py --type ec       # EC P-256 (ES256 signatures)
    python make_account_key.py other.key       # another file name
The same with openssl:
    openssl genrsa -out account.key 4096
    openssl ecparam -name prime256v1 -genkey -noout -out account.key
"""

import sys

import myhelper


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    myhelper.add_key_options(parser, "AccountKeyFile", 4096)
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    filename = args.file or myhelper.load_acme_config(args.config).account_key_file

    key, kind = myhelper.create_private_key(filename, args.type, args.bits)

    print("Created account key:", filename)
    print("Type:", kind)
    print("Mode: 0600 (readable by you only)")
    print("JWK Thumbprint:", myhelper.jwk_thumbprint(myhelper.get_jwk(key)))
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
