""" Let's Encrypt ACME Version 2 Examples - Answer the dns-01 challenges of an order (Part 5)

For each name still pending, the CA looks up the TXT record _acme-challenge.<name> and expects
base64url(SHA-256(key authorization)). dns-01 is the only challenge for a wildcard (*.example.com).
This step either prints the records and waits for you to create them, or runs the command in
DNSHook (acme.ini) as "DNSHook set NAME VALUE", and afterwards "DNSHook clear NAME VALUE" (for
Alibaba Cloud DNS: DNSHook = python alidns_hook.py). Then it tells the CA to validate (POST {} to
the challenge) and polls the authorization until it is valid.
Reference: RFC 8555 §8.4 (DNS Challenge), §7.5.1 (Responding to Challenges)

HTTP exchanges:
    1. GET  <ACMEDirectory>                 ->  200, the directory
    2. HEAD <newNonce>                      ->  200, Replay-Nonce
    3. POST <newAccount>                    ->  200, Location: the account URL (onlyReturnExisting)
    4. POST <authorization URL> (each name) ->  200, the authorization (POST-as-GET, "kid")
    5. DNSHook set _acme-challenge.<name> <value>, or you, by hand
    6. POST <challenge URL> (each name)     ->  200, payload {}: "please validate now"
    7. POST <authorization URL> ...         ->  200, polled (POST-as-GET) until valid or invalid

acme.ini keys read: AccountKeyFile, OrderFile, DNSHook, PollTimeout, ACMEDirectory, UserAgent,
Language, CABundle, Timeout.
Example:
    python dns01_challenge.py                 # prints the TXT records, waits for Enter
    DNSHook = /usr/local/bin/my-dns-api       # in acme.ini: set and clear records by a command
"""

import os
import shlex
import subprocess
import sys

import helper  # first: without a package it says what to install
import myhelper
import transport

HOOK_TIMEOUT = 600          # seconds a DNSHook call may take (it may wait for DNS to spread)


class DnsRecords:
    """ The TXT records of the challenges: set by the DNSHook command, or by you when asked """

    def __init__(self, hook, config):
        self.hook = shlex.split(hook) if hook else None
        self.env = dict(os.environ, ACME_INI=os.path.abspath(config))    # the hook may read acme.ini too
        self.records = []

    def add(self, name, value):
        print("TXT record: {0}  value: {1}".format(name, value))
        if self.hook:
            self.run_hook("set", name, value)
        self.records.append((name, value))

    def run_hook(self, action, name, value):
        command = self.hook + [action, name, value]
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=HOOK_TIMEOUT, env=self.env)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise helper.AcmeError("Error: The DNSHook command could not run ({0}): {1}".format(error, command[0]))
        for line in done.stdout.splitlines()[:50]:
            print("  DNSHook:", helper.cut(line, 500))
        if done.returncode != 0:
            raise helper.AcmeError("Error: DNSHook {0} {1} failed with status {2}: {3}".format(
                action, name, done.returncode, helper.cut((done.stderr or done.stdout).strip(), 1000)))

    def wait_until_published(self):
        if self.hook or not self.records:
            return
        if not (sys.stdin and sys.stdin.isatty()):
            sys.exit("Error: Create the TXT records above, then run this in a terminal to confirm; or set DNSHook "
                     "in acme.ini to a command that creates them.")
        input("Create the TXT records above, wait until DNS serves them, then press Enter: ")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for name, value in self.records:
            if not self.hook:
                print("You can delete the TXT record", name)
                continue
            try:
                self.run_hook("clear", name, value)
                print("Cleared TXT record", name)
            except helper.AcmeError as error:
                print("Warning: could not clear {0}: {1}".format(name, error), file=sys.stderr)


def main(argv=None):
    """ Main Program Function """
    args = helper.options(__doc__).parse_args(argv)
    ini = helper.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    order_url, order = helper.load_order(ini)
    key = helper.load_account_key(ini)
    jwk = myhelper.get_jwk(key)
    net = transport.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    net.new_nonce(transport.url_field(directory, "newNonce", "the directory"))

    # 3. The account URL of this key ("jwk", onlyReturnExisting)
    url = transport.url_field(directory, "newAccount", "the directory")
    body_top = {"alg": myhelper.get_alg(key), "jwk": jwk, "url": url}
    resp = net.post(url, lambda nonce: myhelper.jws(dict(body_top, nonce=nonce), {"onlyReturnExisting": True}, key),
                    "looking up the account of this key")
    account_url = transport.location(resp, "the account")
    print('Account URL:', account_url)

    def signed(url, payload):
        """ Every request from here on: "kid" names the account """
        return lambda nonce: myhelper.jws({"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce,
                                           "url": url}, payload, key)

    # 4. Each authorization (POST-as-GET); a valid one needs nothing (§7.1.3)
    pending = []
    for authz_url in order["authorizations"]:
        authz = transport.json_object(net.post(authz_url, signed(authz_url, ""), "fetching an authorization"),
                                      "the authorization")
        name = transport.authz_name(authz, helper.order_names(order))
        status = transport.field(authz, "status", str, "the authorization of " + name)
        if status == "valid":
            print('Authorization for {0}: already valid, nothing to do'.format(name))
            continue
        if status != "pending":
            sys.exit("Error: The authorization for {0} is {1!r}: this order cannot be completed. Create a new "
                     "order: {2}".format(name, helper.cut(status, 100), helper.command(args, "request_certificate.py")))
        if transport.field(authz["identifier"], "type", str, "the identifier of " + name) == "ip":
            sys.exit("Error: {0} is an IP address: dns-01 cannot prove it (RFC 8738). Use {1}".format(
                name, helper.command(args, "http01_challenge.py")))
        challenges = transport.field(authz, "challenges", list, "the authorization of " + name)
        dns01 = [c for c in challenges if isinstance(c, dict) and c.get("type") == "dns-01"]
        if not dns01:
            sys.exit("Error: The CA offers no dns-01 challenge for {0}.".format(name))
        pending.append((authz_url, name, dns01[0]))

    if pending:
        with DnsRecords(ini["DNSHook"], args.config) as records:
            # 5. The TXT records: _acme-challenge.<name> (a wildcard's "*." dropped) = the dns-01 value
            for _authz_url, name, challenge in pending:
                token = transport.token(challenge, "the dns-01 challenge for " + name)
                value = myhelper.dns01_txt_value(myhelper.key_authorization(token, jwk))
                records.add("_acme-challenge." + name.replace("*.", "", 1), value)
            records.wait_until_published()

            # 6. Tell the CA to validate: POST {} to each challenge
            for _authz_url, name, challenge in pending:
                url = transport.url_field(challenge, "url", "the dns-01 challenge for " + name)
                net.post(url, signed(url, {}), "answering the dns-01 challenge for " + name)

            # 7. Poll each authorization until valid or invalid (the first after a moment)
            for number, (authz_url, name, _challenge) in enumerate(pending):
                authz = net.poll(authz_url, signed(authz_url, ""), ("valid", "invalid", "deactivated", "expired",
                                                                    "revoked"), "the authorization for " + name,
                                 first_wait=transport.FIRST_POLL if number == 0 else 0)
                if authz["status"] != "valid":
                    sys.exit("Error: The authorization for {0} is {1}: the CA could not validate the challenge.{2}"
                             .format(name, authz["status"], helper.challenge_errors(authz)))
                print('Authorization for {0}: valid'.format(name))

    print('All authorizations are valid. Next:', helper.command(args, "finalize_order.py"))
    return 0


if __name__ == "__main__":
    sys.exit(helper.run(main))
