""" Let's Encrypt ACME Version 2 Examples - Create the Certificate Signing Request (Part 2)

A CSR asks the CA to certify the certificate key for some names. Every name goes into the
subjectAltName extension (browsers read only that); the first host name is also the subject's
Common Name. An IP address goes into the SAN only: Let's Encrypt refuses one in the CN. The CSR is
signed with the certificate key, never with the account key (RFC 8555 §11.1).

No HTTP exchange: this reads CertificateKeyFile and writes CSRFile (PEM). A CSR already there is
kept as CSRFile.bak.

acme.ini keys read: CertificateKeyFile, CSRFile, AccountKeyFile (to refuse it as certificate key).
Example:
    python make_csr.py example.com www.example.com
    python make_csr.py --out wildcard.csr '*.example.com'
The same with openssl (1.1.1 or later):
    openssl req -new -key example.com.key -out example.com.csr -subj "/CN=example.com" \\
        -addext "subjectAltName=DNS:example.com,DNS:www.example.com"
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import config, files, frame
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("names", nargs="+", metavar="NAME",
                        help="host names (or IP addresses) for the certificate; the first host name is the CN")
    parser.add_argument("--key", help="certificate key file (default: CertificateKeyFile in acme.ini)")
    parser.add_argument("--out", help="CSR file to write (default: CSRFile in acme.ini)")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config)
    key_file = args.key or ini["CertificateKeyFile"] or sys.exit("Error: Set CertificateKeyFile in acme.ini, or "
                                                                 "pass --key FILE.")
    csr_file = args.out or ini["CSRFile"] or sys.exit("Error: Set CSRFile in acme.ini, or pass --out FILE.")
    for name in args.names:
        myhelper.make_identifier(name)          # a bad name is refused before anything else
    key = files.load_certificate_key(ini, key_file)

    csr = myhelper.create_csr(key, args.names)
    backup = files.write_file(csr_file, csr, backup=True)

    print("Created CSR:", csr_file)
    print("Certificate key:", key_file)
    print("Names:", ", ".join(myhelper.get_domains_from_csr(csr)))
    if backup:
        print("The previous CSR was kept in", backup)
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
