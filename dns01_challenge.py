""" Let's Encrypt ACME Version 2 Examples - Answer the dns-01 challenges of an order (Part 5)

For each name still pending, the server looks up the TXT record _acme-challenge.<name> and expects
base64url(SHA-256(key authorization)). dns-01 is the only challenge for a wildcard (*.example.com).
This step either prints the records and waits for you to create them, or runs the command in
DNSHook (acme.ini) as "DNSHook set NAME VALUE", and afterwards "DNSHook clear NAME VALUE". Then it
tells the server to validate (POST {} to the challenge) and polls the authorization until valid.
Reference: RFC 8555 §8.4 (DNS Challenge), §7.5.1 (Responding to Challenges)

HTTP exchanges:
    GET  <ACMEDirectory>            ->  200, the directory
    HEAD <newNonce>                 ->  200, Replay-Nonce
    POST <newAccount>               ->  200, Location: the account URL (onlyReturnExisting)
    POST <authorization URL> (each) ->  200, the authorization (POST-as-GET)
    POST <challenge URL> (each)     ->  200, payload {}: "please validate now"
    POST <authorization URL> ...    ->  200, polled until "valid" (honouring Retry-After)

acme.ini keys read: AccountKeyFile, OrderFile, DNSHook, PollTimeout, ACMEDirectory, UserAgent,
Language, CABundle, Timeout.
Example:
    python dns01_challenge.py                 # prints the TXT records, waits for Enter
    DNSHook = /usr/local/bin/my-dns-api       # in acme.ini: set and clear records by a command
"""

import shlex
import subprocess
import sys

import myhelper
from get_challenges import dns01_record_name


class DnsRecords:
    """ The TXT records of the challenges: set by the DNSHook command, or by you when asked """

    def __init__(self, hook):
        self.hook = shlex.split(hook) if hook else None
        self.records = []

    def add(self, name, value):
        print("TXT record: {0}  value: {1}".format(name, value))
        if self.hook:
            self._run("set", name, value)
        self.records.append((name, value))

    def _run(self, action, name, value):
        command = self.hook + [action, name, value]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise myhelper.AcmeError("Error: The DNSHook command failed to run ({0}): {1}".format(error, command))
        if done.returncode != 0:
            raise myhelper.AcmeError("Error: DNSHook {0} {1} failed with status {2}: {3}".format(
                action, name, done.returncode, (done.stderr or done.stdout).strip()))

    def wait_until_published(self):
        if self.hook or not self.records:
            return
        if not (sys.stdin and sys.stdin.isatty()):
            raise myhelper.AcmeError("Error: Create the TXT records above, then run this in a terminal to "
                                     "confirm; or set DNSHook in acme.ini to a command that creates them.")
        input("Create the TXT records above, wait until DNS serves them, then press Enter: ")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for name, value in self.records:
            if self.hook:
                try:
                    self._run("clear", name, value)
                    print("Cleared TXT record", name)
                except myhelper.AcmeError as error:
                    print("Warning: could not clear {0}: {1}".format(name, error), file=sys.stderr)
            else:
                print("You can delete the TXT record", name)


def perform_dns01(acme, pending, records):
    """ Publish every TXT record, answer every challenge, then poll every authorization """
    jwk = myhelper.get_jwk(acme.key)
    challenges = []
    with records:
        for _url, authz in pending:
            if (authz.get("identifier") or {}).get("type") == "ip":
                raise myhelper.AcmeError("Error: {0} is an IP address: dns-01 cannot prove it (RFC 8738); use "
                                         "http01_challenge.py.".format(myhelper.authz_name(authz)))
            challenge = myhelper.find_challenge(authz, "dns-01")
            key_auth = myhelper.key_authorization(challenge["token"], jwk)
            records.add(dns01_record_name(myhelper.authz_name(authz)), myhelper.dns01_txt_value(key_auth))
            challenges.append(challenge)
        records.wait_until_published()
        for challenge in challenges:
            acme.answer_challenge(challenge)
        acme.wait_for_authorizations(pending)


def main(argv=None):
    """ Main Program Function """
    args = myhelper.make_parser(__doc__).parse_args(argv)
    config = myhelper.load_acme_config(args.config)
    _order_url, order = myhelper.load_order(config)
    key = myhelper.load_account_key(config)
    acme = myhelper.AcmeSession(config, key=key, debug=args.debug)

    print('Account URL:', acme.find_account())
    pending = acme.pending_authorizations(order)
    if pending:
        perform_dns01(acme, pending, DnsRecords(config.get("DNSHook", "")))
    print('All authorizations are valid. Next: python finalize_order.py')
    return 0


if __name__ == "__main__":
    sys.exit(myhelper.run(main))
