""" Let's Encrypt ACME Version 2 Examples - PKCS #12 (.pfx) for IIS and Windows (the series' last part)

Windows and IIS import a certificate with its key as one PKCS #12 file (.pfx), protected by a
password. This bundles the certificate key, the certificate and its whole chain, with a friendly
name (what the Windows certificate store shows). Encryption:
- by default AES-256-CBC with PBKDF2 (SHA-256) and a SHA-256 MAC: Windows Server 2019, Windows 10
  1709 and later import it;
- --legacy: 3DES with SHA-1 (PKCS #12's old algorithms), which Windows Server 2016 and older need.
The password is asked for twice, or read from the first line of --password-file; it is never
printed. The .pfx holds the private key: it is written atomically with mode 0600, and an existing
one is replaced only when you say yes (--yes).
Reference: RFC 7292 (PKCS #12); no ACME exchange

acme.ini keys read: ChainFile, CertificateKeyFile, AccountKeyFile (to refuse it).
Example:
    python export_pfx.py                                  # asks for the password; example.com.pfx
    python export_pfx.py --legacy --out iis2016.pfx --password-file pfx.pass
    certutil -f -p PASSWORD -importpfx example.com.pfx    # then, on Windows
"""

import getpass
import os
import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import certs, config, files, frame
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--out", help="the .pfx file (default: ChainFile's name with .pfx)")
    parser.add_argument("--chain", help="the certificate chain (default: ChainFile)")
    parser.add_argument("--key", help="its private key (default: CertificateKeyFile)")
    parser.add_argument("--name", help="the friendly name (default: the certificate's first name)")
    parser.add_argument("--password-file", metavar="FILE", help="read the password from the first line of FILE")
    parser.add_argument("--legacy", action="store_true", help="3DES and SHA-1, for Windows Server 2016 and older")
    parser.add_argument("--yes", action="store_true", help="replace an existing .pfx")
    return parser.parse_args(argv)


def password(args):
    """ From --password-file, or asked twice on the terminal; never printed """
    if args.password_file:
        config.warn_if_readable(args.password_file, "the .pfx password")
        with open(args.password_file, encoding="utf8") as f:
            text = f.readline().rstrip("\r\n")
    elif sys.stdin and sys.stdin.isatty():
        text = getpass.getpass("Password for the .pfx: ")
        if getpass.getpass("The same again: ") != text:
            sys.exit("Error: The two passwords differ; nothing was written.")
    else:
        sys.exit("Error: No terminal to ask for the password: pass --password-file FILE.")
    if len(text) < 8:
        sys.exit("Error: The password must have 8 characters or more; nothing was written.")
    return text.encode("utf8")


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config)
    chain_file = args.chain or ini["ChainFile"] or sys.exit("Error: Set ChainFile in acme.ini, or pass --chain.")
    key_file = args.key or ini["CertificateKeyFile"] or sys.exit("Error: Set CertificateKeyFile, or pass --key.")
    out = args.out or os.path.splitext(chain_file)[0].replace(".chain", "") + ".pfx"
    with open(chain_file, encoding="ascii") as f:
        chain = certs.load_pem_chain(f.read())
    key = files.load_certificate_key(ini, key_file)
    if certs.certificate_problems(chain[0], key, []):
        sys.exit("Error: {0} is not the key of the certificate in {1}; nothing was written.".format(key_file,
                                                                                                   chain_file))
    if os.path.exists(out) and not myhelper.Confirm("{0} exists. Replace it (y/n): ".format(out), args.yes):
        sys.exit("Cancelled: {0} was not changed.".format(out))
    secret = password(args)

    names = [str(n.value) for n in chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value]
    name = args.name or names[0]
    pem = key.export_key(format="PEM")
    crypto_key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, None)
    builder = serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(50000)
    if args.legacy:
        encryption = builder.key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(
            hashes.SHA1()).build(secret)
    else:
        encryption = builder.key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(
            hashes.SHA256()).build(secret)
    data = pkcs12.serialize_key_and_certificates(name.encode("utf8"), crypto_key, chain[0], chain[1:], encryption)
    files.write_file(out, data, mode=0o600)

    print("Wrote", out, "(mode 0600)")
    print("Friendly name:", name)
    print("Contents: the private key, the certificate (serial {0}) and {1} chain certificate(s)".format(
        format(chain[0].serial_number, "x"), len(chain) - 1))
    print("Encryption:", "3DES and SHA-1 (--legacy: Windows Server 2016 and older)" if args.legacy else
          "AES-256-CBC, PBKDF2 with SHA-256, SHA-256 MAC (Windows Server 2019 / Windows 10 1709 and later)")
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
