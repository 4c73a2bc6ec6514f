""" Let's Encrypt ACME Version 2 Examples - Create the account key (Part 2)

The account key identifies you to the ACME server: every request you sign with it belongs to your
account (RFC 8555 §6.2, §7.3). Keep it private and keep a copy; it is not the certificate key.

No HTTP exchange: this only writes a PEM file, mode 0600, and never overwrites an existing one.

acme.ini keys read: AccountKeyFile (when no FILE is given).
Example:
    python make_account_key.py                   # RSA 4096, as the original, to AccountKeyFile
    python make_account_key.py --type ec         # EC P-256 (ES256 signatures)
    python make_account_key.py new-account.key   # another file, e.g. for account_key_change.py
The same with openssl:
    openssl genrsa -out account.key 4096
    openssl ecparam -name prime256v1 -genkey -noout -out account.key
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import config, files, frame
from Crypto.PublicKey import ECC
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("file", nargs="?", help="key file to write (default: AccountKeyFile in acme.ini)")
    parser.add_argument("--type", choices=("rsa", "ec"), default="rsa", help="key type (default: rsa)")
    parser.add_argument("--bits", type=int, default=4096, choices=(2048, 3072, 4096),
                        help="RSA key size (default: 4096)")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    filename = files.new_key_file(args.file or config.settings(
        myhelper.load_acme_config(args.config), args.config, ["AccountKeyFile"])["AccountKeyFile"])

    if args.type == "ec":
        key = ECC.generate(curve="P-256")
        myhelper.save_private_key(key, filename)
        kind = "EC P-256 (ES256)"
    else:
        key = myhelper.create_rsa_private_key(filename, args.bits)
        kind = "RSA {0} bits (RS256)".format(args.bits)

    print("Created account key:", filename)
    print("Type:", kind)
    print("Mode: 0600 (readable by you only)")
    print("JWK Thumbprint:", myhelper.jwk_thumbprint(myhelper.get_jwk(key)))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
