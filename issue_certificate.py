""" Let's Encrypt ACME Version 2 Examples - Issue a certificate in one go (Parts 3 and 5)

The whole story in one process, for readers who copy code: find or create the account, order a
certificate for NAME..., prove control of every name (http-01 or dns-01), finalize, download.
It runs the same functions as the step scripts, with the fewest requests: one session, the nonce
of every response reused, every challenge answered before any polling.
Reference: RFC 8555 §7.3, §7.4, §7.5, §8.3, §8.4

HTTP exchanges (one name, http-01, a new or existing account: 10 requests):
    GET  <ACMEDirectory>       ->  200, the directory
    HEAD <newNonce>            ->  200, Replay-Nonce
    POST <newAccount>          ->  201 or 200, Location: the account URL
    POST <newOrder>            ->  201, the order
    POST <authorization URL>   ->  200, the authorization (per name)
    POST <challenge URL>       ->  200, payload {} (per name)
    POST <authorization URL>   ->  200, "valid" (per name, polled)
    POST <finalize URL>        ->  200, payload {"csr": ...}
    POST <order URL>           ->  200, "valid" with the certificate URL (polled)
    POST <certificate URL>     ->  200, the PEM chain

acme.ini keys read: AccountKeyFile, CertificateKeyFile, CSRFile, ChainFile, Contacts, DNSHook,
PollTimeout, EABKeyID, EABHMACKey, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    sudo python issue_certificate.py --agree-tos example.com www.example.com
    python issue_certificate.py --agree-tos --challenge dns-01 '*.example.com'
"""

import os
import sys

from cryptography.hazmat.primitives import serialization

import myhelper
from dns01_challenge import DnsRecords, perform_dns01
from finalize_order import finalize
from get_certificate import describe, download_certificate
from http01_challenge import ChallengeServer, WebrootFiles, perform_http01
from make_csr import build_csr
from new_account import account_payload
from request_certificate import new_order


def parse_args(argv):
    parser = myhelper.make_parser(__doc__)
    parser.add_argument("names", nargs="+", metavar="NAME", help="names for the certificate (the first is the CN)")
    parser.add_argument("--challenge", choices=("http-01", "dns-01"), default="http-01",
                        help="how to prove control of the names (default: http-01)")
    parser.add_argument("--port", type=int, default=80, help="http-01: port of the built-in server (default: 80)")
    parser.add_argument("--bind", default="", help="http-01: address the built-in server listens on")
    parser.add_argument("--webroot", metavar="DIR", help="http-01: write the files under DIR instead")
    parser.add_argument("--skip-check", action="store_true", help="http-01: do not check our own URL first")
    parser.add_argument("--agree-tos", action="store_true", help="agree to the CA's terms of service")
    parser.add_argument("--yes", action="store_true", help="create missing keys without asking")
    return parser.parse_args(argv)


def load_or_create_key(filename, what, bits, assume_yes):
    """ A key from its file; a missing one is created (after asking, or with --yes) """
    if os.path.exists(filename):
        return myhelper.load_private_key(filename, what)
    if not myhelper.Confirm("{0} does not exist. Create a new {1} (y/n): ".format(filename, what), assume_yes):
        raise myhelper.AcmeError("Cancelled")
    key, kind = myhelper.create_private_key(filename, "rsa", bits)
    print("Created {0}: {1} ({2}, mode 0600)".format(what, filename, kind))
    return key


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    identifiers = [myhelper.make_identifier(name) for name in args.names]
    if args.challenge == "http-01" and any(i["value"].startswith("*.") for i in identifiers):
        raise myhelper.AcmeError("Error: A wildcard name needs --challenge dns-01.")
    if args.challenge == "dns-01" and any(i["type"] == "ip" for i in identifiers):
        raise myhelper.AcmeError("Error: An IP address cannot be proven with dns-01; use --challenge http-01.")
    myhelper.check_contacts(config.contacts)

    # Keys and CSR, all local
    account_key = load_or_create_key(config.account_key_file, "account key", 4096, args.yes)
    cert_key_file = config.path("CertificateKeyFile")
    cert_key = load_or_create_key(cert_key_file, "certificate key", 2048, args.yes)
    myhelper.check_not_account_key(myhelper.get_jwk(cert_key), config)
    csr = build_csr(cert_key, args.names)
    myhelper.write_file_atomic(config.path("CSRFile"), csr.public_bytes(serialization.Encoding.PEM))

    acme = myhelper.AcmeSession(config, key=account_key, debug=args.debug)

    # Account: newAccount creates it, or returns the existing one for this key (§7.3); without
    # --agree-tos only an existing account is looked for (§7.3.1), in the same one request
    print("Registering account...")
    payload = account_payload(acme, config, account_key, args) if args.agree_tos else {"onlyReturnExisting": True}
    try:
        resp = acme.post(acme.url("newAccount"), payload, "registering the account", use_jwk=True)
    except myhelper.AcmeProblem as problem:
        if problem.is_type("accountDoesNotExist"):
            raise myhelper.AcmeError("Error: No account uses this key yet. Read the terms of service ({0}) and "
                                     "pass --agree-tos to create one.".format(acme.meta.get("termsOfService")))
        raise
    acme.account_url = myhelper.require_header(resp, "Location")
    print("Account URL:", acme.account_url, "(created)" if resp.status_code == 201 else "(existing)")

    # Order (§7.4)
    print("Ordering a certificate for", ", ".join(i["value"] for i in identifiers))
    order_url, order = new_order(acme, identifiers)
    myhelper.save_order(config, order_url, order)

    # Authorizations (§7.5): all challenges answered first, then all polled
    pending = acme.pending_authorizations(order)
    if pending and args.challenge == "http-01":
        provider = WebrootFiles(args.webroot, args.port) if args.webroot else ChallengeServer(args.bind, args.port)
        perform_http01(acme, pending, provider, check=not args.skip_check)
    elif pending:
        perform_dns01(acme, pending, DnsRecords(config.get("DNSHook", "")))

    # Finalize (§7.4): every authorization is valid now, so the order is ready (§7.1.6)
    print("Finalizing the order...")
    order = finalize(acme, order_url, order, csr)
    myhelper.save_order(config, order_url, order)

    # Download (§7.4.2)
    text, certs, _alternates = download_certificate(acme, order["certificate"])
    chain_file = config.path("ChainFile")
    myhelper.write_file_atomic(chain_file, text.encode("ascii"))
    print("Certificate signed! Saved the chain to", chain_file)
    describe(certs)
    print("Requests sent to the server:", acme.requests_sent)
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
