""" dns-01 (RFC 8555 §8.4): the TXT record _acme-challenge.<name> = base64url(SHA-256(key authorization))

DnsRecords sets the records through the command in DNSHook (acme.ini), run as
"DNSHook set NAME VALUE" and afterwards "DNSHook clear NAME VALUE" (for Alibaba Cloud DNS:
DNSHook = python alidns_hook.py), or, without a hook, waits for you to create them by hand.

Before anything is made or sent, check() runs "DNSHook check NAME" for each record, so that a wrong
secret or an unknown zone stops the run while nothing exists yet. check is optional for a hook:
    exit 0 with some output      the check passed (the output is shown)
    exit 2                       the hook has no check action (argparse's and getopt's usage error)
    any exit, no output at all   the hook ignored it (say: case "$1" in set) ...;; clear) ...;; esac)
    any other exit, with output  the check failed: the run stops, the hook's message shown
In the three middle cases the run goes on without a pre-check.

VALUE is base64url and begins with "-" about once in 64 runs: a hook that parses options must stop
parsing before NAME (as alidns_hook.py does), or read ACME_ACTION, ACME_RECORD and ACME_VALUE, which
the environment of every call also holds (with ACME_INI, the acme.ini the script read).
"""

import os
import shlex
import subprocess
import sys

import helper
from lib.frame import AcmeError

HOOK_TIMEOUT = 600          # seconds a DNSHook call may take (it may wait for DNS to spread)
NO_CHECK = 2                # a hook's exit status for "I have no check action": a usage error


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

    def check(self, names):
        """ "DNSHook check NAME" for the record of each of names (certificate names: "*.example.com" is
        fine), before any key, CSR, order or record exists; nothing without a hook. The run stops on a
        failed check; a hook without check (see above) means no pre-check """
        if not self.hook:
            return
        for record in dict.fromkeys(record_name(name) for name in names):
            print("Checking DNSHook for {0}...".format(record))
            done = self.run("check", record)
            if done.returncode == NO_CHECK or not (done.stdout + done.stderr).strip():
                print("  DNSHook has no check action (status {0}{1}): going on without a pre-check.".format(
                    done.returncode, ", no output" if done.returncode != NO_CHECK else ""))
                return
            if done.returncode != 0:
                raise AcmeError(self.failure("check", record, done))

    def add(self, name, value):
        if self.hook:
            self.run_hook("set", name, value)
        self.records.append((name, value))

    def run(self, action, name, *value):
        """ One call of the hook: "DNSHook ACTION NAME [VALUE]", its output shown; the finished process """
        command = self.hook + [action, name] + list(value)
        env = dict(self.env, ACME_ACTION=action, ACME_RECORD=name, ACME_VALUE="".join(value))
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=HOOK_TIMEOUT, env=env)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise AcmeError("Error: The DNSHook command could not run ({0}): {1}".format(error, command[0]))
        for line in done.stdout.splitlines()[:50]:
            print("  DNSHook:", helper.cut(line, 500))
        return done

    def run_hook(self, action, name, value):
        done = self.run(action, name, value)
        if done.returncode != 0:
            raise AcmeError(self.failure(action, name, done))

    @staticmethod
    def failure(action, name, done):
        """ A failed hook call: the hook's own "Error: ..." message as it is (its hint first), else its status
        and what it said """
        text = (done.stderr or done.stdout).strip()
        lines = text.splitlines()
        errors = [n for n, line in enumerate(lines) if line.startswith("Error: ")]
        if errors:                        # from its Error line on: a warning before it is the caller's own too
            text = "\n".join(lines[errors[0]:])
        if text.startswith("Error: "):
            return "Error: DNSHook {0} {1}: {2}".format(action, name, helper.cut(text[len("Error: "):], 1000))
        return "Error: DNSHook {0} {1} failed with status {2}: {3}{4}".format(
            action, name, done.returncode, helper.cut(text, 1000),
            " (a hook without a check action must exit 2 for it, or 0 without output)" if action == "check" else "")

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
