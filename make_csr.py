""" Let's Encrypt ACME Version 2 Examples - Create the Certificate Signing Request (Part 2)

A CSR asks the CA to certify the certificate key for some names. Every name goes into the
subjectAltName extension (browsers read only that); the first is also the subject's Common Name.
The CSR is signed with the certificate key, never with the account key (RFC 8555 §11.1).

No HTTP exchange: this reads CertificateKeyFile and writes CSRFile (PEM).

acme.ini keys read: CertificateKeyFile, CSRFile, AccountKeyFile (to refuse it as certificate key).
Example:
    python make_csr.py example.com www.example.com
The same with openssl (1.1.1 or later):
    openssl req -new -key example.com.key -out example.com.csr -subj "/CN=example.com" \\
        -addext "subjectAltName=DNS:example.com,DNS:www.example.com"
"""

import ipaddress
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

import myhelper


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("names", nargs="+", metavar="NAME",
                        help="host names (or IP addresses) for the certificate; the first is the CN")
    parser.add_argument("--key", help="certificate key file (default: CertificateKeyFile in acme.ini)")
    parser.add_argument("--out", help="CSR file to write (default: CSRFile in acme.ini)")
    return parser.parse_args(argv)


def build_csr(key, names):
    """ A CSR for names (all as SANs, the first as CN), signed with the certificate key """
    identifiers = [myhelper.make_identifier(name) for name in names]
    san = [x509.IPAddress(ipaddress.ip_address(i["value"])) if i["type"] == "ip" else x509.DNSName(i["value"])
           for i in identifiers]
    builder = x509.CertificateSigningRequestBuilder()
    first = identifiers[0]["value"]
    if len(first) <= 64:
        builder = builder.subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, first)]))
    builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    crypto_key = serialization.load_pem_private_key(myhelper.private_key_pem(key), password=None)
    return builder.sign(crypto_key, hashes.SHA256())


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    key_file = args.key or config.path("CertificateKeyFile")
    csr_file = args.out or config.path("CSRFile")

    for name in args.names:
        myhelper.make_identifier(name)   # a bad name is refused before anything else
    key = myhelper.load_private_key(key_file, "certificate key", "Create it with: python make_certificate_key.py")
    myhelper.check_not_account_key(myhelper.get_jwk(key), config)

    csr = build_csr(key, args.names)
    myhelper.write_file_atomic(csr_file, csr.public_bytes(serialization.Encoding.PEM))

    print("Created CSR:", csr_file)
    print("Certificate key:", key_file)
    print("Names:", ", ".join(myhelper.get_domains_from_csr(csr)))
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
