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

import myhelper


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    myhelper.add_key_options(parser, "CertificateKeyFile", 2048)
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    filename = args.file or myhelper.load_acme_config(args.config).path("CertificateKeyFile")

    _key, kind = myhelper.create_private_key(filename, args.type, args.bits)

    print("Created certificate key:", filename)
    print("Type:", kind)
    print("Mode: 0600 (readable by you only)")
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
