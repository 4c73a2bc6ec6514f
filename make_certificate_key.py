""" Let's Encrypt ACME Version 2 Examples - Create the certificate key (Part 2)

The certificate key is the key your web server uses for TLS; the certificate will carry its public
half. It must not be the account key (RFC 8555 §11.1).

No HTTP exchange: this only writes a PEM file, mode 0600, and never overwrites an existing one.

acme.ini keys read: CertificateKeyFile (when no FILE is given).
Example:
    python make_certificate_key.py               # RSA 2048 to CertificateKeyFile
    python make_certificate_key.py --type ec     # EC P-256
The same with openssl:
    openssl genrsa -out example.com.key 2048
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import config, files, frame
from Crypto.PublicKey import ECC
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("file", nargs="?", help="key file to write (default: CertificateKeyFile in acme.ini)")
    parser.add_argument("--type", choices=("rsa", "ec"), default="rsa", help="key type (default: rsa)")
    parser.add_argument("--bits", type=int, default=2048, choices=(2048, 3072, 4096),
                        help="RSA key size (default: 2048)")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    filename = files.new_key_file(args.file or config.settings(
        myhelper.load_acme_config(args.config), args.config, ["CertificateKeyFile"])["CertificateKeyFile"])

    if args.type == "ec":
        myhelper.save_private_key(ECC.generate(curve="P-256"), filename)
        kind = "EC P-256"
    else:
        myhelper.create_rsa_private_key(filename, args.bits)
        kind = "RSA {0} bits".format(args.bits)

    print("Created certificate key:", filename)
    print("Type:", kind)
    print("Mode: 0600 (readable by you only)")
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
