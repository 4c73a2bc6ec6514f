""" myhelper against published vectors, and its key, config and error handling """

import os
import stat

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from Crypto.PublicKey import ECC, RSA

import helper
from lib import answers, certs, config, frame
import myhelper
from fake_ca import decode_jws, write_ini

# RFC 7515 appendix A.2: the RSA key (n, e and its primes p, q), the signing input and the signature.
A2_N = ("ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-"
        "SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-"
        "UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2eth"
        "FkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ")
A2_P = ("4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7o"
        "uZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc")
A2_Q = ("uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDm"
        "pe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc")
A2_INPUT = ("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19y"
            "b290Ijp0cnVlfQ")
A2_SIGNATURE = ("cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9u"
                "JdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9"
                "383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIh"
                "WkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw")

# RFC 7638 §3.1
RFC7638_N = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
             "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnY"
             "b9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0"
             "Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")


def as_int(text):
    return int.from_bytes(myhelper.b64decode(text), "big")


def rfc7515_a2_key():
    n, p, q, e = as_int(A2_N), as_int(A2_P), as_int(A2_Q), 65537
    assert p * q == n
    d = pow(e, -1, (p - 1) * (q - 1))
    return RSA.construct((n, e, d, p, q))


def test_b64_rfc7515_vectors():
    # RFC 7515 appendix C: [3, 236, 255, 224, 193] -> "A-z_4ME"; and no "=" padding ever
    assert myhelper.b64(bytes([3, 236, 255, 224, 193])) == "A-z_4ME"
    assert myhelper.b64('{"alg":"RS256"}') == "eyJhbGciOiJSUzI1NiJ9"
    assert myhelper.b64decode("A-z_4ME") == bytes([3, 236, 255, 224, 193])


def test_rs256_signature_matches_rfc7515_a2():
    key = rfc7515_a2_key()
    assert myhelper.b64(myhelper.sign(A2_INPUT.encode(), key)) == A2_SIGNATURE
    assert myhelper.get_jwk(key) == {"e": "AQAB", "kty": "RSA", "n": A2_N}


def test_thumbprint_matches_rfc7638():
    jwk = {"kty": "RSA", "e": "AQAB", "n": RFC7638_N, "alg": "RS256", "kid": "2011-04-29"}
    assert myhelper.jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_key_authorization_and_dns_value():
    jwk = {"kty": "RSA", "e": "AQAB", "n": RFC7638_N}
    key_auth = myhelper.key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", jwk)
    assert key_auth == "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    # SHA-256 of the key authorization, base64url: 43 characters, no padding
    value = myhelper.dns01_txt_value(key_auth)
    assert len(value) == 43 and "=" not in value


def test_es256_signature_is_raw_r_s_and_verifies_with_another_library():
    key = ECC.generate(curve="P-256")
    signature = myhelper.sign(b"header.payload", key)
    assert len(signature) == 64
    jwk = myhelper.get_jwk(key)
    public = ec.EllipticCurvePublicNumbers(as_int(jwk["x"]), as_int(jwk["y"]), ec.SECP256R1()).public_key()
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public.verify(der, b"header.payload", ec.ECDSA(hashes.SHA256()))
    assert len(myhelper.b64decode(jwk["x"])) == 32 and len(myhelper.b64decode(jwk["y"])) == 32


def test_jws_is_the_flattened_json_serialization():
    key = rfc7515_a2_key()
    protected = {"alg": "RS256", "jwk": myhelper.get_jwk(key), "nonce": "n1", "url": "https://ca/new-acct"}
    jws = myhelper.jws(protected, {"a": 1}, key)
    assert decode_jws(jws) == (protected, {"a": 1})
    signing_input = (jws["protected"] + "." + jws["payload"]).encode()
    assert myhelper.b64decode(jws["signature"]) == myhelper.sign(signing_input, key)   # RS256 is deterministic
    jws = myhelper.jws({"alg": "RS256", "kid": "https://ca/acct/1", "nonce": "n2", "url": "https://ca/acct/1"}, "",
                       key)
    assert jws["payload"] == "" and decode_jws(jws)[1] == ""          # POST-as-GET: payload exactly ""
    # an empty object is not POST-as-GET: "{}" is what a challenge is answered with
    assert myhelper.b64decode(myhelper.jws({"alg": "RS256"}, {}, key)["payload"]) == b"{}"


def test_eab_is_hs256_over_the_account_jwk():
    import hashlib
    import hmac
    jwk = {"e": "AQAB", "kty": "RSA", "n": "xQ"}
    mac_key = myhelper.b64(b"k" * 32)
    jws = myhelper.eab_jws("kid-1", mac_key, "https://ca/new-acct", jwk)
    header, payload = decode_jws(jws)
    assert header == {"alg": "HS256", "kid": "kid-1", "url": "https://ca/new-acct"}
    assert payload == jwk
    expected = hmac.new(b"k" * 32, (jws["protected"] + "." + jws["payload"]).encode(), hashlib.sha256).digest()
    assert myhelper.b64decode(jws["signature"]) == expected


# -- keys ------------------------------------------------------------------

def write(path, data):
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("fmt", ["PKCS1", "PKCS8"])
def test_load_rsa_key_formats(tmp_path, fmt):
    key = rsa.generate_private_key(65537, 2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            getattr(serialization.PrivateFormat, "TraditionalOpenSSL" if fmt == "PKCS1" else fmt),
                            serialization.NoEncryption())
    loaded = myhelper.load_private_key(write(tmp_path / "k.pem", pem))
    assert loaded.n == key.private_numbers().public_numbers.n


@pytest.mark.parametrize("fmt", ["TraditionalOpenSSL", "PKCS8"])
def test_load_ec_key_formats(tmp_path, fmt):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, getattr(serialization.PrivateFormat, fmt),
                            serialization.NoEncryption())
    loaded = myhelper.load_private_key(write(tmp_path / "k.pem", pem))
    assert myhelper.get_alg(loaded) == "ES256"
    assert as_int(myhelper.get_jwk(loaded)["x"]) == key.public_key().public_numbers().x


def pkcs1_of(values):
    """ An "RSA PRIVATE KEY" PEM of any nine DER values """
    from Crypto.IO import PEM
    from Crypto.Util.asn1 import DerOctetString, DerSequence
    der = DerSequence([DerOctetString(v) if isinstance(v, bytes) else v for v in values]).encode()
    return PEM.encode(der, "RSA PRIVATE KEY").encode()


def inconsistent_pkcs1(one, other):
    """ A PKCS #1 key whose d belongs to another key: read without the primality tests, it is still refused """
    return pkcs1_of([0, one.n, one.e, other.d, one.p, one.q, 1, 1, 1])


def test_a_pkcs1_key_is_read_without_primality_tests_and_signs_as_import_key_would(tmp_path, rsa_pem):
    key = RSA.import_key(rsa_pem)
    fast = myhelper.load_private_key(write(tmp_path / "k.pem", key.export_key(pkcs=1)))
    slow = RSA.import_key(key.export_key(pkcs=1))
    assert (fast.n, fast.e, fast.d, fast.p, fast.q, fast.u) == (slow.n, slow.e, slow.d, slow.p, slow.q, slow.u)
    assert myhelper.sign(b"data", fast) == myhelper.sign(b"data", slow)


def test_bad_keys_are_refused_with_a_clear_message(tmp_path, rsa_pem, cert_rsa_pem):
    key, other = RSA.import_key(rsa_pem), RSA.import_key(cert_rsa_pem)
    cases = {
        "missing": (None, "File does not exist"),
        "corrupt": (b"-----BEGIN RSA PRIVATE KEY-----\nnot base64\n-----END RSA PRIVATE KEY-----\n",
                    "not a PEM private key"),
        "empty": (b"", "not a PEM private key"),
        "public": (key.public_key().export_key(), "holds a public key"),
        "p384": (ECC.generate(curve="P-384").export_key(format="PEM").encode(), "needs P-256"),
        "small": (RSA.generate(1024).export_key(), "2048 bits or more"),
        "inconsistent": (inconsistent_pkcs1(key, other), "not a PEM private key"),
        "encrypted": (key.export_key(passphrase="secret", pkcs=1), "encrypted with a passphrase.*openssl pkey"),
        "encrypted pkcs8": (key.export_key(passphrase="secret", pkcs=8, protection="PBKDF2WithHMAC-SHA1AndAES128-CBC"),
                            "encrypted with a passphrase"),
        "openssh": (b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
                    b"-----END OPENSSH PRIVATE KEY-----\n", "OpenSSH key.*ssh-keygen -p -m PEM"),
        "not integers": (pkcs1_of([0, b"n", 65537, 3, 5, 7, 1, 1, 1]), "not a PEM private key"),
        "p = 1": (pkcs1_of([0, 35, 5, 5, 1, 35, 1, 1, 1]), "not a PEM private key"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        with pytest.raises(ValueError, match=message):
            myhelper.load_private_key(str(path))
        if data is not None:
            with pytest.raises(ValueError, match=message.replace("File does not exist", "")):
                myhelper.load_private_key(data)           # PEM bytes work as well as a file name


def test_unreadable_key(tmp_path):
    (tmp_path / "account.key").mkdir()  # unreadable as a file, even for root
    with pytest.raises(OSError):
        myhelper.load_private_key(str(tmp_path / "account.key"))


def test_saved_key_is_0600_and_never_overwritten(tmp_path):
    path = str(tmp_path / "account.key")
    key = ECC.generate(curve="P-256")
    myhelper.save_private_key(key, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    before = open(path, "rb").read()
    with pytest.raises(ValueError, match="already exists"):
        myhelper.save_private_key(ECC.generate(curve="P-256"), path)
    with pytest.raises(ValueError, match="already exists"):
        myhelper.create_rsa_private_key(path, 2048)
    assert open(path, "rb").read() == before
    assert myhelper.get_jwk(myhelper.load_private_key(path)) == myhelper.get_jwk(key)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]


def test_functions_raise_instead_of_returning_none(tmp_path):
    # fault 7 of the original: get_jwk / sign returned None and the request went out with "jwk": null
    with pytest.raises(ValueError):
        myhelper.get_jwk(str(tmp_path / "nothing.key"))
    with pytest.raises(ValueError):
        myhelper.sign(b"data", str(tmp_path / "nothing.key"))


# -- acme.ini ----------------------------------------------------------------

def test_load_acme_config_is_the_articles_configparser(tmp_path):
    # the article: config.get('acme-neoprime', 'accountkeyfile') after load_acme_config(filename='acme.ini')
    write_ini(tmp_path / "acme.ini")
    config = myhelper.load_acme_config(filename=str(tmp_path / "acme.ini"))
    import configparser
    assert isinstance(config, configparser.ConfigParser)
    assert config.get('acme-neoprime', 'accountkeyfile') == "account.key"
    assert config.get('acme-neoprime', 'UserAgent') == "neoprime.io-acme-client/1.0"
    assert config.get('acme-neoprime', 'contacts').split(';') == ["mailto:someone@example.com",
                                                                  "mailto:someone2@example.com"]


@pytest.mark.parametrize("content, message", [
    (None, "Configuration file not found"),
    ("this is not an ini file\n", "not a valid ini file"),
    ("[other]\nA = 1\n", r"no \[acme-neoprime\] section"),
    ("[acme-neoprime]\nAccountKeyFile = account.key\n", "has no ACMEDirectory"),
    ("[acme-neoprime]\nACMEDirectory = http://acme.test/dir\n", "not an https:// URL"),
    ("[acme-neoprime]\nACMEDirectory = acme-staging-v02.api.letsencrypt.org/directory\n", "not an https:// URL"),
    ("[acme-neoprime]\nACMEDirectory = https://acme.test/dir\nTimeout = soon\n", "Timeout .* must be a number"),
    ("[acme-neoprime]\nACMEDirectory = https://acme.test/dir\nTimeout = 0\n", "Timeout .* must be a number"),
    ("[acme-neoprime]\nACMEDirectory = https://acme.test/dir\nCABundle = nowhere.pem\n", "CABundle .* does not exist"),
    ("[acme-neoprime]\nACMEDirectory = https://acme.test/dir\nContacts = mailto:example.com\n", "not a valid contact"),
])
def test_config_errors(tmp_path, content, message):
    path = tmp_path / "acme.ini"
    if content is not None:
        path.write_text(content)
    with pytest.raises((ValueError, frame.AcmeError), match=message):
        config.settings(myhelper.load_acme_config(str(path)), str(path), ["ACMEDirectory"])


def test_config_defaults_and_relative_paths(tmp_path, monkeypatch):
    write_ini(tmp_path / "acme.ini", UserAgent=None, Language=None, Timeout=None, HTTPPort=None, HTTPBind=None)
    monkeypatch.chdir("/")
    ini = config.settings(myhelper.load_acme_config(str(tmp_path / "acme.ini")), str(tmp_path / "acme.ini"))
    assert ini["UserAgent"] == "neoprime.io-acme-client/1.0" and ini["Language"] == "en"
    assert ini["Timeout"] == 30 and ini["CABundle"] == "" and ini["HTTPPort"] == 80
    assert ini["AccountKeyFile"] == str(tmp_path / "account.key")


def test_unknown_config_key_names_the_closest_one(tmp_path, capsys):
    write_ini(tmp_path / "acme.ini", Contacts=None, Contact="mailto:a@example.com", Colour="blue")
    ini = config.settings(myhelper.load_acme_config(str(tmp_path / "acme.ini")), "acme.ini")
    err = capsys.readouterr().err
    assert "unknown key 'contact'; it is ignored. Did you mean Contacts?" in err
    assert "unknown key 'colour'; it is ignored." in err and ini["Contacts"] == []


@pytest.mark.parametrize("contacts, ok", [
    (["mailto:someone@example.com"], True),
    (["mailto:a@example.com", " mailto:b@example.org "], True),
    (["mailto:example.com"], False),                      # the original acme.ini's first contact
    (["someone@example.com"], False),                     # no mailto:
    (["mailto:a@example.com,b@example.com"], False),      # two addresses in one
    (["mailto:a@example.com?subject=hi"], False),         # hfields
    (["tel:+1555"], False),
])
def test_contacts(contacts, ok):
    if ok:
        assert config.check_contacts(contacts) == [c.strip() for c in contacts]
    else:
        with pytest.raises(frame.AcmeError, match="not a valid contact"):
            config.check_contacts(contacts)


# -- problem documents and names -------------------------------------------

def test_process_error_message_prints_subproblems_and_survives_html(capsys):
    myhelper.process_error_message('{"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "no", '
                                   '"subproblems": [{"type": "urn:ietf:params:acme:error:caa", "detail": "CAA",'
                                   ' "identifier": {"type": "dns", "value": "b.example.com"}}]}')
    out = capsys.readouterr().out
    assert "Error Type: urn:ietf:params:acme:error:rejectedIdentifier" in out
    assert "Subproblem for dns b.example.com: urn:ietf:params:acme:error:caa: CAA" in out
    myhelper.process_error_message("<html><body><h1>502 Bad Gateway</h1></body></html>")
    assert "not an ACME problem document: <html><body><h1>502 Bad Gateway" in capsys.readouterr().out
    myhelper.process_error_message("")
    assert "not an ACME problem document" in capsys.readouterr().out


def test_retry_after_seconds_and_http_date():
    class R:
        def __init__(self, value):
            self.headers = {"Retry-After": value} if value else {}
    assert answers.retry_after(R("7")) == 7
    assert answers.retry_after(R(None)) is None
    assert answers.retry_after(R("Thu, 01 Jan 1970 00:01:40 GMT"), now=40) == 60
    assert answers.retry_after(R("Thu, 01 Jan 1970 00:01:40 GMT"), now=1000) == 0      # in the past
    for bad in ("garbage", "-5", "\u0661\u0662", "\u00b2", "1e5", "9" * 5000 + "x"):
        assert answers.retry_after(R(bad)) is None, bad
    assert answers.retry_after(R("9" * 5000)) >= 1e9           # huge stays huge; callers clamp it


@pytest.mark.parametrize("name, expected", [
    ("Example.COM", {"type": "dns", "value": "example.com"}),
    ("*.example.com", {"type": "dns", "value": "*.example.com"}),
    ("192.0.2.1", {"type": "ip", "value": "192.0.2.1"}),
    ("2001:db8::1", {"type": "ip", "value": "2001:db8::1"}),
])
def test_identifiers(name, expected):
    assert myhelper.make_identifier(name) == expected


@pytest.mark.parametrize("name", ["", "localhost", "exa mple.com", "-bad.example.com", "a.*.example.com",
                                  "x" * 64 + ".com", "1.2.3.999"])
def test_bad_names(name):
    with pytest.raises(ValueError, match="not a valid host name"):
        myhelper.make_identifier(name)


def test_chain_with_a_private_key_is_refused():
    text = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" \
           "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ValueError, match="PRIVATE KEY block"):
        certs.load_pem_chain(text)
    with pytest.raises(ValueError, match="no complete certificate"):
        certs.load_pem_chain("hello")


@pytest.mark.parametrize("token", ["../../etc/passwd", "a/b", "short", "abc.def_ghijklmnopq", "",
                                   "abcdefghijklmnopqrstu\n", "a" * 257])
def test_unsafe_tokens_are_refused(token):
    with pytest.raises(frame.AcmeError, match="not base64url"):
        answers.token({"token": token}, "a challenge")


def test_print_dict_nested(capsys):
    helper.print_dict({"meta": {"website": "https://w", "deep": {"x": 1}}, "newNonce": "https://n"})
    assert capsys.readouterr().out == "meta:\n    website: https://w\n    deep:\n        x: 1\nnewNonce: https://n\n"
