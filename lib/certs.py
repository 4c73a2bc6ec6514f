""" X.509: certificate chains read, checked and saved

- load_pem_chain(): only CERTIFICATE blocks (RFC 8555 §11.4), each parsed with its extensions, in
  time that grows linearly with the text;
- certificate_problems(): a certificate (or CSR) checked against the key, the names and the dates
  before it is saved or sent anywhere;
- save_chain(): the certificates re-encoded as PEM, never the server's raw bytes.
"""

import time

import myhelper
from lib import files
from lib.frame import AcmeError

CLOCK_SKEW = 300            # seconds a fresh certificate's notBefore may be ahead of this machine's clock


def load_pem_chain(text):
    """ The certificates of a PEM chain, each parsed with its extensions; anything but CERTIFICATE
    blocks is refused (RFC 8555 §11.4). Line by line: its time grows linearly with the text """
    from cryptography import x509
    blocks, block = [], None
    for line in text.splitlines():
        line = line.strip()
        if block is None and line.startswith("-----BEGIN "):
            label, block = line[11:].rstrip("-"), [line]
            if label != "CERTIFICATE":
                raise ValueError("the chain holds a {0:.40} block; only certificates are accepted (RFC 8555 §11.4)"
                                 .format(label))
        elif block is not None:
            block.append(line)
            if line.startswith("-----END "):
                blocks.append("\n".join(block))
                block = None
    if block is not None:
        raise ValueError("its last block is cut off (no -----END line): the answer is incomplete")
    if not blocks:
        raise ValueError("the chain holds no complete certificate")
    certs = []
    for number, pem in enumerate(blocks, 1):
        try:
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
            len(cert.extensions)                    # malformed extensions fail here, not later
        except (ValueError, UnicodeEncodeError) as error:
            raise ValueError("certificate {0} of the chain does not parse: {1:.200}".format(number, str(error)))
        certs.append(cert)
    return certs


def load_certificate(filename, how_to_get_it):
    """ The first certificate of a PEM file (a chain), checked as a downloaded chain is """
    try:
        with open(filename, encoding="ascii") as f:
            return load_pem_chain(f.read())[0]
    except FileNotFoundError:
        raise AcmeError("Error: File does not exist: {0} (the certificate). Get it with {1}".format(
            filename, how_to_get_it))
    except (UnicodeDecodeError, ValueError) as error:
        raise AcmeError("Error: Cannot read the certificate in {0}: {1}. It was refused.".format(filename, error))


def certificate_problems(cert, key, names, now=None):
    """ What is wrong with a certificate for this key and these names; [] when it fits. key: a private
    key, or an object with public_key() (a CSR, another certificate). With names, a certificate must
    name exactly those (no fewer, no more) and be valid now (its notBefore up to CLOCK_SKEW ahead)

    >>> from cryptography import x509
    >>> from Crypto.PublicKey import RSA
    >>> cert = x509.load_pem_x509_certificate(open("example.com.chain.pem", "rb").read())
    >>> certificate_problems(cert, RSA.import_key(open("example.com.key").read()), ["www.example.com", "x.org"])
    ['it does not name x.org', 'it also names example.com, which was not asked for']
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = (key.public_key().export_key(format="DER") if hasattr(key, "export_key")      # pycryptodome's
                else key.public_key().public_bytes(*spki))
    problems = [] if cert.public_key().public_bytes(*spki) == expected else ["its key is not the expected key"]
    if not names:
        return problems
    named = names_of(cert)
    asked = [name.lower() for name in names]
    problems += ["it does not name {0}".format(name) for name in asked if name not in named]
    problems += ["it also names {0}, which was not asked for".format(name) for name in named if name not in asked]
    if isinstance(cert, x509.Certificate):
        now = time.time() if now is None else now
        if cert.not_valid_before_utc.timestamp() > now + CLOCK_SKEW:
            problems.append("it is not valid before {0}".format(cert.not_valid_before_utc))
        if cert.not_valid_after_utc.timestamp() <= now:
            problems.append("it expired at {0}".format(cert.not_valid_after_utc))
    return problems


def names_of(cert):
    """ The DNS names and IP addresses a certificate (or CSR) names in its subjectAltName, lowercase, in
    order; other kinds of names (URI, e-mail) are left out """
    from cryptography import x509
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return list(dict.fromkeys(str(n.value).lower() for n in san if isinstance(n, (x509.DNSName, x509.IPAddress))))


def save_chain(filename, chain):
    """ Save a chain re-encoded as PEM, certificate by certificate: nothing the server sent around or
    between the blocks reaches the file. The previous file is kept as FILE.bak; returns its name or None """
    from cryptography.hazmat.primitives import serialization
    pem = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)
    return files.write_file(filename, pem, backup=True)


def ari_cert_id(key_identifier, serial_number):
    """ RFC 9773 §4.1: a certificate's ID for renewal information, from its Authority Key Identifier
    and its serial: base64url of each, the serial as DER integer bytes (a leading 00 kept)

    >>> ari_cert_id(bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4"), 0x87654321)   # the RFC's own
    'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE'
    """
    serial = serial_number.to_bytes(serial_number.bit_length() // 8 + 1, "big")
    return "{0}.{1}".format(myhelper.b64(key_identifier), myhelper.b64(serial))


def cert_id(cert):
    """ The renewal information ID of a certificate, or None when it has no Authority Key Identifier """
    from cryptography import x509
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None
    return ari_cert_id(aki, cert.serial_number) if aki else None

