""" Let's Encrypt ACME Version 2 Examples - Issue a certificate in one go (Parts 3 and 5)

The whole story in one process, top to bottom, for readers who copy code: the account, an order
for NAME..., proof of every name (http-01, dns-01, tls-alpn-01 or dns-persist-01), finalize,
download, check, save. One session, the nonce of every answer reused, every challenge answered before
any is polled, no fixed sleeps: 10 requests for one name (a look more when the CA was not done yet).
It imports no other script; renew_certificate.py runs it as a command.
Reference: RFC 8555 §7.3, §7.4, §7.5, §8.3, §8.4; "replaces" and alreadyReplaced: RFC 9773 §5

HTTP exchanges (one name, http-01):
     1. GET  <ACMEDirectory>       ->  200, the directory
     2. HEAD <newNonce>            ->  200, Replay-Nonce
     3. POST <newAccount>          ->  201 or 200, Location: the account URL ("jwk")
     4. POST <newOrder>            ->  201, the order ("kid" from here on)
     5. POST <authorization URL>   ->  200, the authorization (POST-as-GET, per name)
     6. POST <challenge URL>       ->  200, payload {} (per name)
     7. POST <authorization URL>   ->  200, "valid" (polled, per name)
     8. POST <finalize URL>        ->  200, payload {"csr": ...}
     9. POST <order URL>           ->  200, "valid" with the certificate URL (polled)
    10. POST <certificate URL>     ->  200, the PEM chain

With dns-01, "DNSHook check NAME" runs first, before any key, CSR or request: a wrong secret or an
unknown zone stops the run while nothing exists yet (a hook without check: no pre-check).
Without --agree-tos only an existing account is used. The challenge comes from acme.ini
(Challenge, HTTPPort, HTTPBind, Webroot, DNSHook, TLSPort, TLSBind) unless options say otherwise,
so a renewal needs no options. ChainFile, then CSRFile (only for CertificateKeyFile), are replaced
atomically once the certificate is checked, the previous ones kept as .bak.
dns-persist-01 publishes nothing: the standing record (python dns_persist_record.py) is checked
read-only through DNSResolver before the challenge is answered with {}; no DNSHook, no DNS keys.

acme.ini keys read: AccountKeyFile, CertificateKeyFile, CSRFile, ChainFile, OrderFile, Contacts,
Profile, Challenge, HTTPPort, HTTPBind, Webroot, DNSHook, DNSResolver, TLSPort, TLSBind, PollTimeout,
EABKeyID, EABHMACKey, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    sudo python issue_certificate.py --agree-tos example.com www.example.com
    python issue_certificate.py --agree-tos --challenge dns-01 '*.example.com'
    python issue_certificate.py --challenge dns-persist-01 example.com '*.example.com'
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, authz, certs, config, dns01, dnspersist, files, frame, orders, send
import helper
from cryptography.hazmat.primitives import serialization
import myhelper


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="names for the certificate (default: the CSR's)")
    parser.add_argument("--csr", help="use this CSR as it is (its names, its key) instead of making one")
    parser.add_argument("--key", help="certificate key file (default: CertificateKeyFile)")
    parser.add_argument("--chain", help="where to save the chain (default: ChainFile)")
    parser.add_argument("--challenge", choices=config.CHALLENGES, help="how to prove the names "
                        "(default: Challenge in acme.ini, http-01)")
    parser.add_argument("--port", type=frame.port, help="http-01: the port the CA checks (default: HTTPPort, 80); "
                        "tls-alpn-01: (default: TLSPort, 443)")
    parser.add_argument("--bind", help="http-01: address of the built-in server (default: HTTPBind, or all); "
                        "tls-alpn-01: (default: TLSBind, or all)")
    parser.add_argument("--webroot", metavar="DIR", help="http-01: write the files under DIR (default: Webroot)")
    parser.add_argument("--profile", help="certificate profile (default: Profile in acme.ini; empty: the CA's)")
    parser.add_argument("--replaces", metavar="CERT_ID",
                        help="the ARI certificate ID this certificate renews (--replaces=ID: an ID may start with -)")
    parser.add_argument("--agree-tos", action="store_true", help="agree to the CA's terms of service")
    parser.add_argument("--yes", action="store_true", help="create missing keys without asking")
    return parser.parse_args(argv)


def names_keys_and_csr(args, ini, kind):
    """ The names, the keys and the CSR, all local: nothing is sent before they are right """
    if args.csr:
        csr = myhelper.load_csr(args.csr)
        names = myhelper.get_domains_from_csr(csr)
        if args.names and sorted(myhelper.make_identifier(n)["value"] for n in args.names) != sorted(names):
            sys.exit("Error: --csr {0} is for {1}, not for the names given.".format(args.csr, ", ".join(names)))
    elif args.names:
        names = list(dict.fromkeys(myhelper.make_identifier(name)["value"] for name in args.names))
    else:
        sys.exit("Error: Name the certificate's names (NAME...), or pass --csr FILE.")
    identifiers = [myhelper.make_identifier(name) for name in names]
    if kind in ("http-01", "tls-alpn-01") and any(name.startswith("*.") for name in names):
        sys.exit("Error: A wildcard name needs --challenge dns-01 (or dns-persist-01).")
    if kind in ("dns-01", "dns-persist-01") and any(i["type"] == "ip" for i in identifiers):
        sys.exit("Error: An IP address cannot be proven with {0}; use --challenge http-01 (or tls-alpn-01)."
                 .format(kind))
    if kind == "dns-01" and not ini["DNSHook"]:
        sys.exit("Error: dns-01 here needs DNSHook in acme.ini (by hand: python dns01_challenge.py).")
    if kind == "dns-01":                  # the hook's credentials and zones, while no key, CSR or order exists
        dns01.DnsRecords(ini["DNSHook"], args.config).check(names)
    account_key = files.load_or_create_key(ini["AccountKeyFile"], "account key", 4096, args.yes)
    if not args.csr:
        cert_key = files.load_or_create_key(args.key or ini["CertificateKeyFile"], "certificate key", 2048, args.yes)
        csr = myhelper.load_csr(myhelper.create_csr(cert_key, names))
    if not certs.certificate_problems(csr, account_key, []):
        sys.exit("Error: The certificate key is the account key. Never reuse it (RFC 8555 §11.1).")
    return names, identifiers, account_key, csr


def account(net, directory, args, ini, account_key, nonce):
    """ 3. newAccount creates the account (with the user's consent to the terms) or finds it """
    jwk = myhelper.get_jwk(account_key)

    def signed_with_jwk(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(account_key), "jwk": jwk, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, account_key)

    url = answers.url_field(directory, "newAccount", "the directory")
    payload = {"onlyReturnExisting": True}
    if args.agree_tos:
        payload = {"termsOfServiceAgreed": True}
        if ini["Contacts"]:
            payload["contact"] = ini["Contacts"]
        if ini["EABKeyID"]:
            payload["externalAccountBinding"] = myhelper.eab_jws(ini["EABKeyID"], ini["EABHMACKey"], url, jwk)
    meta = answers.field(directory, "meta", dict, "the directory", default={})
    hints = {"accountDoesNotExist": "No account uses this key yet. Read the terms of service ({0}) and pass "
             "--agree-tos to create one.".format(helper.cut(meta.get("termsOfService"), 300))}
    resp = net.post(url, payload, signed_with_jwk, "registering the account", nonce, hints=hints)
    account_url = answers.location(resp, "the account")
    print("Account URL:", account_url, "(created)" if resp.status_code == 201 else "(existing)")
    return account_url


def new_order(net, directory, signed, identifiers, profile, profiles, replaces):
    """ 4. newOrder for exactly these identifiers, with "replaces" when it renews a certificate """
    url = answers.url_field(directory, "newOrder", "the directory")
    payload = dict({"identifiers": identifiers}, **({"profile": profile} if profile else {}))
    hints = {"invalidProfile": "The CA offers these profiles: {0}.".format(", ".join(profiles) or "none")}
    try:
        resp = net.post(url, dict(payload, **({"replaces": replaces} if replaces else {})), signed,
                        "creating the order", hints=hints)
    except answers.AcmeProblem as problem:
        if problem.type != "alreadyReplaced":
            raise
        # Another order already renews that certificate (an earlier run stopped midway): order anew
        print("The CA says another order already replaces that certificate; ordering without \"replaces\".")
        resp = net.post(url, payload, signed, "creating the order", hints=hints)
    order = answers.json_object(resp, "the order")
    orders.check_order(order, identifiers)
    return answers.location(resp, "the order"), order


def prove(net, signed, args, ini, order, names, jwk, kind, account_url=None):
    """ 5. Each authorization still pending gets the chosen challenge: a file or the built-in web
    server (http-01), a TXT record through DNSHook (dns-01), a certificate from the built-in TLS
    server (tls-alpn-01); 6. every challenge answered, 7. polled """
    pending = authz.pending(net, signed, order["authorizations"], names, kind, "run this again")
    if not pending:
        return
    if kind == "dns-persist-01":
        # Nothing to publish: the standing record is checked (read-only), then {} answers each challenge
        for _authz_url, name, challenge in pending:
            print("Verifying {0} ({1})...".format(name, kind))
            dnspersist.check_challenge(challenge, name, account_url, ini["DNSResolver"], ini["Timeout"])
        authz.answer_and_poll(net, signed, pending, kind, "{0} verified!")
        return
    with authz.responder(kind, ini, args.config, args.port, args.bind, args.webroot) as responder:
        for _authz_url, name, challenge in pending:
            print("Verifying {0} ({1})...".format(name, kind))
            token = answers.token(challenge, "the {0} challenge for {1}".format(kind, name))
            key_auth = myhelper.key_authorization(token, jwk)
            if kind == "dns-01":
                responder.add(dns01.record_name(name), myhelper.dns01_txt_value(key_auth))
            elif kind == "tls-alpn-01":
                responder.add(name, key_auth)
            else:
                responder.add(token, key_auth)
        authz.answer_and_poll(net, signed, pending, kind, "{0} verified!", responder)


def finalize(net, signed, order_url, order, csr):
    """ 8. Finalize with the CSR; 9. poll the order while the CA issues """
    url = answers.url_field(order, "finalize", "the order")
    resp = net.post(url, {"csr": myhelper.b64(csr.public_bytes(serialization.Encoding.DER))}, signed,
                    "finalizing the order")
    order = answers.json_object(resp, "the order")
    if answers.field(order, "status", str, "the order") not in ("valid", "invalid"):
        order = net.poll(order_url, signed, ("valid", "invalid"), "the order", first_wait=send.first_look(resp))
    if order["status"] != "valid":
        sys.exit("Error: The order is {0!r}: no certificate.{1}".format(
            order["status"], "\n" + "\n".join(myhelper.format_problem(order["error"]))
            if isinstance(order.get("error"), dict) else ""))
    return order


def download(net, signed, order, csr, names, chain_file):
    """ 10. Download the chain; save it only if it is for this key and these names """
    url = answers.url_field(order, "certificate", "the order")
    resp = net.post(url, "", signed, "downloading the certificate",
                    headers={"Accept": "application/pem-certificate-chain"})
    chain = answers.pem_chain(resp, "the certificate")
    problems = certs.certificate_problems(chain[0], csr, names)
    if problems:
        sys.exit("Error: The certificate does not fit the order: {0}. {1} is unchanged.".format(
            "; ".join(problems), chain_file))
    certs.save_chain(chain_file, chain)
    print("Certificate signed! Saved the chain to", chain_file)
    print("Serial: {0}  Not After: {1}".format(format(chain[0].serial_number, "x"), chain[0].not_valid_after_utc))


def main(argv=None):
    """ Main Program Function: the article's steps, one function each """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config,
                          ["ACMEDirectory", "AccountKeyFile", "ChainFile"] + ([] if args.csr or args.key
                                                                              else ["CertificateKeyFile"]))
    kind = args.challenge or ini["Challenge"]
    names, identifiers, account_key, csr = names_keys_and_csr(args, ini, kind)
    net = send.Transport(ini, args.debug)

    # 1.-2. The directory and the first nonce; the profile, one the CA offers
    print("Getting directory...")
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    nonce = net.new_nonce(answers.url_field(directory, "newNonce", "the directory"))
    wanted = ini["Profile"] if args.profile is None else args.profile
    profile, profiles = orders.choose_profile(directory, wanted, identifiers, args.yes)

    # 3. The account
    print("Registering account...")
    account_url = account(net, directory, args, ini, account_key, nonce)

    # Every request from here on is signed as the account: "kid" is the account URL. Its nonce is
    # the one the last answer brought (Replay-Nonce), which send keeps for the next request.
    def signed(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(account_key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, account_key)

    # 4. The order; 5.-7. the proof of every name; 8.-9. finalize; 10. the chain
    if kind == "dns-persist-01":       # a wildcard's record without policy=wildcard: said before ordering
        dnspersist.check_wildcards(names, directory, account_url, ini["DNSResolver"], ini["Timeout"])
    print("Ordering a certificate for", ", ".join(names))
    order_url, order = new_order(net, directory, signed, identifiers, profile, profiles, args.replaces)
    orders.save_order(ini, order_url, order)
    prove(net, signed, args, ini, order, names, myhelper.get_jwk(account_key), kind, account_url)
    print("Signing certificate...")
    order = finalize(net, signed, order_url, order, csr)
    orders.save_order(ini, order_url, order)
    download(net, signed, order, csr, names, args.chain or ini["ChainFile"])
    if ini["CSRFile"] and not args.csr and not args.key:      # CertificateKeyFile's CSR, once its chain is saved
        files.write_file(ini["CSRFile"], csr.public_bytes(serialization.Encoding.PEM), backup=True)
    print("Requests sent to the server:", net.requests_sent)
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
