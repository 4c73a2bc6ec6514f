""" Let's Encrypt ACME Version 2 Examples - Answer the tls-alpn-01 challenges of an order (Part 5)

For each name still pending, the CA opens a TLS connection to port 443 of the name with ALPN
"acme-tls/1" and SNI set to the name (for an IP address: its reverse-DNS name, RFC 8738 §6), and
expects a self-signed certificate for that name alone carrying the critical acmeIdentifier
extension (1.3.6.1.5.5.7.1.31): the SHA-256 of the key authorization. Port 80 is never used, so
this proves a name where only HTTPS reaches the machine; nothing else may hold port 443 meanwhile.
This step builds the certificate (a new EC P-256 key for each name, in memory), shows it, serves
it from a small built-in TLS server (--port, --bind; ALPN acme-tls/1 only, the certificate chosen
by SNI, anything else refused), connects to it first as the CA will, tells the CA to validate
(POST {} to the challenge), polls the authorization until it is valid, and always stops the
server afterwards: also after an error or Ctrl-C, and by itself after PollTimeout + 60 seconds.
Reference: RFC 8737 (tls-alpn-01), RFC 8555 §7.5.1 (Responding to Challenges), §8.1

HTTP exchanges:
    1. GET  <ACMEDirectory>                 ->  200, the directory
    2. HEAD <newNonce>                      ->  200, Replay-Nonce
    3. POST <newAccount>                    ->  200, Location: the account URL (onlyReturnExisting)
    4. POST <authorization URL> (each name) ->  200, the authorization (POST-as-GET, "kid")
    5. TLS  <name>:443, SNI <name>, ALPN acme-tls/1   (our own check)
    6. POST <challenge URL> (each name)     ->  200, payload {}: "please validate now"
    7. POST <authorization URL> ...         ->  200, polled (POST-as-GET) until valid or invalid

acme.ini keys read: AccountKeyFile, OrderFile, TLSPort, TLSBind, PollTimeout, ACMEDirectory,
UserAgent, Language, CABundle, Timeout.
Example:
    sudo python tlsalpn01_challenge.py                    # the built-in server on port 443
    python tlsalpn01_challenge.py --port 5001             # Pebble checks port 5001
"""

import hashlib
import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, authz, config, files, frame, orders, send, tlsalpn01
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--port", type=frame.port, help="port the CA checks (default: TLSPort in acme.ini, 443)")
    parser.add_argument("--bind", help="address the built-in server listens on (default: TLSBind, or all)")
    parser.add_argument("--skip-check", action="store_true", help="do not connect to our own server before "
                        "telling the CA")
    return parser.parse_args(argv)


def show(name, key_auth, cert, debug):
    """ The key authorization, its SHA-256 and the certificate made from it, as the CA will read it """
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    acme = cert.extensions.get_extension_for_oid(tlsalpn01.ACME_IDENTIFIER)
    print('Identifier:         {0}'.format(name))
    print('Key authorization:  {0}'.format(key_auth))
    print('SHA-256:            {0}'.format(hashlib.sha256(key_auth.encode("ascii")).hexdigest()))
    print('Certificate:        self-signed, on a new EC P-256 key kept in memory')
    print('  Subject:          {0}'.format(cert.subject.rfc4514_string() or "(empty)"))
    print('  SAN:              {0}{1}'.format(", ".join(
        ("IP:" if isinstance(n, x509.IPAddress) else "DNS:") + str(n.value) for n in san.value),
        " (critical)" if san.critical else ""))
    print('  acmeIdentifier:   {0}{1}, an OCTET STRING holding the SHA-256 above'.format(
        acme.oid.dotted_string, " (critical)" if acme.critical else ""))
    print('  Valid:            {0} to {1}'.format(cert.not_valid_before_utc, cert.not_valid_after_utc))
    print('  Fingerprint:      SHA-256 {0}'.format(cert.fingerprint(hashes.SHA256()).hex()))
    print('Answers SNI:        {0}'.format(tlsalpn01.sni_name(name)))
    if debug:
        print('  acmeIdentifier DER: {0}   (04: OCTET STRING, 20: 32 bytes, the digest)'.format(
            acme.value.value.hex(" ")))
        print(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), end="")


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    port = ini["TLSPort"] if args.port is None else args.port
    bind = ini["TLSBind"] if args.bind is None else args.bind
    order_url, order = orders.load_order(ini)
    key = files.load_account_key(ini)
    jwk = myhelper.get_jwk(key)
    net = send.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    nonce = net.new_nonce(answers.url_field(directory, "newNonce", "the directory"))

    # 3. The account URL of this key: newAccount with onlyReturnExisting, the key itself in "jwk"
    def signed_with_jwk(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "jwk": jwk, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    url = answers.url_field(directory, "newAccount", "the directory")
    resp = net.post(url, {"onlyReturnExisting": True}, signed_with_jwk, "looking up the account of this key", nonce)
    account_url = answers.location(resp, "the account")
    print('Account URL:', account_url)

    # Every request from here on is signed as the account: "kid" is the account URL. Its nonce is
    # the one the last answer brought (Replay-Nonce), which send keeps for the next request.
    def signed(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    # 4. Each authorization (POST-as-GET); a valid one needs nothing (§7.1.3)
    pending = authz.pending(net, signed, order["authorizations"], orders.order_names(order), "tls-alpn-01",
                            frame.command(args, "request_certificate.py"))

    if pending:
        deadline = ini["PollTimeout"] + tlsalpn01.DEADLINE_MARGIN
        with tlsalpn01.ChallengeServer(bind, port, deadline) as served:
            for _authz_url, name, challenge in pending:
                token = answers.token(challenge, "the tls-alpn-01 challenge for " + name)
                key_auth = myhelper.key_authorization(token, jwk)
                cert = served.add(name, key_auth)
                show(name, key_auth, cert, args.debug)
                # 5. Our own check, before the CA is told
                if not args.skip_check:
                    tlsalpn01.check_own_server(name, port, bind, cert)

            # 6. Tell the CA to validate: POST {} to each challenge; 7. poll each authorization
            authz.answer_and_poll(net, signed, pending, "tls-alpn-01", responder=served)

    print('All authorizations are valid. Next:', frame.command(args, "finalize_order.py"))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
