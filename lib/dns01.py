""" dns-01 (RFC 8555 §8.4): the TXT record _acme-challenge.<name> = base64url(SHA-256(key authorization))

DnsRecords sets the records through the command in DNSHook (acme.ini), run as
"DNSHook set NAME VALUE" and afterwards "DNSHook clear NAME VALUE" (for Alibaba Cloud DNS:
DNSHook = python alidns_hook.py), or, without a hook, waits for you to create them by hand.
"""

import os
import shlex
import subprocess
import sys

import helper
from lib.frame import AcmeError

HOOK_TIMEOUT = 600          # seconds a DNSHook call may take (it may wait for DNS to spread)


def record_name(name):
    """ The TXT record that proves NAME: a wildcard's "*." is dropped """
    return "_acme-challenge." + name.replace("*.", "", 1)


class DnsRecords:
    """ The TXT records of the challenges: set by the DNSHook command, or by you when asked; a context
    manager that clears what it set afterwards """

    def __init__(self, hook, config):
        self.hook = shlex.split(hook) if hook else None
        self.env = dict(os.environ, ACME_INI=os.path.abspath(config))    # the hook may read acme.ini too
        self.records = []

    def add(self, name, value):
        if self.hook:
            self.run_hook("set", name, value)
        self.records.append((name, value))

    def run_hook(self, action, name, value):
        command = self.hook + [action, name, value]
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=HOOK_TIMEOUT, env=self.env)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise AcmeError("Error: The DNSHook command could not run ({0}): {1}".format(error, command[0]))
        for line in done.stdout.splitlines()[:50]:
            print("  DNSHook:", helper.cut(line, 500))
        if done.returncode != 0:
            raise AcmeError("Error: DNSHook {0} {1} failed with status {2}: {3}".format(
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
            except AcmeError as error:
                print("Warning: could not clear {0}: {1}".format(name, error), file=sys.stderr)
