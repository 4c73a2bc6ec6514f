""" The article's whole story against local CAs, one script after another, as a reader runs them

Starts Pebble (tools/pebble.py), makes a fresh folder walkthrough-run/ with pebble.ini pointing at it,
and runs every script there as `python SCRIPT --config pebble.ini ...` (http-01, tls-alpn-01 on Pebble's
TLSPort, dns-01), printing each command and its output (also saved in walkthrough-run/transcript.txt).
Then the parts Pebble 2.4 cannot show:
external account binding (a second Pebble that requires it, eab.ini), renewal information and
profiles (acme2certifier, a2c.ini), Alibaba Cloud (a fake Alibaba Cloud API on 127.0.0.1 that
passes DNS records to Pebble, alibaba.ini), and dns-persist-01 (a validating acme2certifier whose DNS
server gets the standing record from the fake Alibaba Cloud API, persist.ini: publish once, then
issue and renew with no DNSHook and no credentials). Stops at the first failure with exit status 1.
The reader's own acme.ini and keys are never touched.

    ./walkthrough.sh                              # installs what is needed, then runs this
    python tools/walkthrough.py --keep-running    # ... and leaves Pebble running afterwards
"""

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from acme2certifier import Acme2Certifier, Acme2CertifierError  # noqa: E402
from fake_alibaba import FakeAlibaba  # noqa: E402
from pebble import EAB_KEYS, Pebble, PebbleError  # noqa: E402

ALIBABA_ENV = "export ALIBABA_CLOUD_ACCESS_KEY_ID={0} ALIBABA_CLOUD_ACCESS_KEY_SECRET={1}"

# (a heading or "", the command line as a reader types it in the folder of pebble.ini)
STORY = [
    ("Part 2: keys and CSR", "python make_account_key.py --config pebble.ini"),
    ("", "python make_certificate_key.py --config pebble.ini"),
    ("", "python make_csr.py --config pebble.ini example.test www.example.test"),
    ("Part 3: directory, nonce, terms, account", "python get_directory.py --config pebble.ini"),
    ("", "python get_nonce.py --config pebble.ini"),
    ("", "python get_terms_of_service.py --config pebble.ini"),
    ("", "python new_account.py --config pebble.ini --agree-tos"),
    ("", "python get_account_url.py --config pebble.ini"),
    ("", "python get_account_info.py --config pebble.ini"),
    ("", "python account_update.py --config pebble.ini --contact mailto:admin@example.org"),
    ("Part 5: order, http-01 challenge, finalize, certificate, revocation",
     "python request_certificate.py --config pebble.ini"),
    ("", "python get_challenges.py --config pebble.ini"),
    ("", "python http01_challenge.py --config pebble.ini"),
    ("", "python finalize_order.py --config pebble.ini"),
    ("", "python get_certificate.py --config pebble.ini"),
    ("", "python revoke_certificate.py --config pebble.ini --reason superseded --yes"),
    ("Part 5: the same names with tls-alpn-01 (port 443 only; Pebble checks TLSPort)",
     "python request_certificate.py --config pebble.ini"),
    ("", "python tlsalpn01_challenge.py --config pebble.ini"),
    ("", "python finalize_order.py --config pebble.ini"),
    ("", "python get_certificate.py --config pebble.ini"),
    ("Part 5: a wildcard certificate with dns-01",
     "python make_csr.py --config pebble.ini --out wildcard.csr '*.example.test'"),
    ("", "python request_certificate.py --config pebble.ini --csr wildcard.csr"),
    ("", "python dns01_challenge.py --config pebble.ini"),
    ("", "python finalize_order.py --config pebble.ini --csr wildcard.csr"),
    ("", "python get_certificate.py --config pebble.ini --csr wildcard.csr"),
    ("Everything in one process", "python issue_certificate.py --config pebble.ini --agree-tos shop.example.test"),
    ("Renewal (Pebble has no renewal information: a third of the lifetime is the rule)",
     "python get_renewal_info.py --config pebble.ini"),
    ("", "python renew_certificate.py --config pebble.ini"),
    ("", "python renew_certificate.py --config pebble.ini --force"),
    ("PKCS #12 for IIS", "python export_pfx.py --config pebble.ini --password-file pfx.pass"),
    ("Account lifecycle: key rollover and deactivation",
     "python make_account_key.py --config pebble.ini --type ec new-account.key"),
    ("", "python account_key_change.py --config pebble.ini new-account.key"),
    ("", "python get_account_info.py --config pebble.ini"),
    ("", "python account_deactivate.py --config pebble.ini --yes"),
]
EAB_STORY = [("External account binding (a second Pebble that requires it)",
              "python new_account.py --config eab.ini --agree-tos")]
A2C_STORY = [
    ("Renewal information and profiles (acme2certifier, a second ACME server run on 127.0.0.1)",
     "python get_directory.py --config a2c.ini"),
    ("", "python make_account_key.py --config a2c.ini --type ec"),
    ("", "python new_account.py --config a2c.ini --agree-tos"),
    ("", "python issue_certificate.py --config a2c.ini --profile tlsserver --yes ari.example.test"),
    ("", "python get_renewal_info.py --config a2c.ini"),
    ("", "python renew_certificate.py --config a2c.ini"),
    ("", "python renew_certificate.py --config a2c.ini"),
]
ALIBABA_STORY = [
    ("Alibaba Cloud: DNS, CDN and API Gateway (a fake Alibaba Cloud API on 127.0.0.1, not Alibaba Cloud)",
     "ALIBABA_ENV"),
    ("", "python make_account_key.py --config alibaba.ini --type ec"),
    ("", "python issue_certificate.py --config alibaba.ini --agree-tos --yes --challenge dns-01 "
         "'*.ali.example.test' ali.example.test"),
    ("", "python install_cdn.py --config alibaba.ini --domain cdn.ali.example.test"),
    ("", "python install_api_gateway.py --config alibaba.ini --group g1 --domain api.ali.example.test"),
    ("", "python install_cdn.py --config alibaba.ini --domain cdn.ali.example.test"),
]

PERSIST_STORY = [
    ("dns-persist-01: publish one standing record, then issue and renew with no DNSHook and no DNS credentials "
     "(acme2certifier validating against a DNS server on 127.0.0.1; the fake Alibaba Cloud API publishes)",
     "python make_account_key.py --config persist.ini --type ec"),
    ("", "python new_account.py --config persist.ini --agree-tos"),
    ("", "python dns_persist_record.py --config persist.ini persist.example.test '*.persist.example.test'"),
    ("", "ALIBABA_ENV"),
    ("", "python dns_persist_record.py --config persist.ini --publish persist.example.test '*.persist.example.test'"),
    ("", "unset ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ("", "python dns_persist_record.py --config persist.ini --check persist.example.test '*.persist.example.test'"),
    ("", "python issue_certificate.py --config persist.ini --yes persist.example.test '*.persist.example.test'"),
    ("", "python renew_certificate.py --config persist.ini --force"),
]
PERSIST_INI = {"AccountKeyFile": "persist-account.key", "CertificateKeyFile": "persist.example.test.key",
               "CSRFile": "persist.example.test.csr", "ChainFile": "persist.example.test.chain.pem",
               "OrderFile": "persist-order.json", "Challenge": "dns-persist-01", "DNSHook": ""}


class Transcript:
    """ The commands and what they printed: on the screen (echo) and in transcript.txt """

    def __init__(self, folder, echo, env):
        self.folder, self.echo, self.env = folder, echo, dict(os.environ, **(env or {}))
        self.file = open(os.path.join(folder, "transcript.txt"), "w", encoding="utf8")

    def say(self, text=""):
        if self.echo:
            print(text, flush=True)
        self.file.write(text + "\n")
        self.file.flush()

    def header(self, part):
        self.say("")
        self.say("=" * 78)
        self.say("== " + part)
        self.say("=" * 78)

    def step(self, command):
        """ Run one command line as a reader would (python = this Python); True when it succeeded """
        self.say("")
        self.say("$ " + command)
        if command.startswith("export "):
            for assignment in shlex.split(command)[1:]:
                name, _, value = assignment.partition("=")
                self.env[name] = value
            return True
        if command.startswith("unset "):
            for name in shlex.split(command)[1:]:
                self.env.pop(name, None)
            return True
        words = shlex.split(command)
        result = subprocess.run([sys.executable, os.path.join(ROOT, words[1])] + words[2:], cwd=self.folder,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=300, env=self.env)
        self.say(result.stdout.rstrip("\n"))
        if result.returncode != 0:
            self.say("")
            self.say("Walkthrough stopped: {0} exited with status {1}.".format(words[1], result.returncode))
        return result.returncode == 0

    def story(self, steps):
        for part, command in steps:
            if part:
                self.header(part)
            if not self.step(command):
                return False
        return True


def run(folder, echo=True, env=None, keep_running=False, acme2certifier=True):
    """ Run the whole story in folder (made anew) against new local CAs; True when every step succeeded """
    folder = os.path.abspath(folder)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    # Pebble's usual ports, as in the README's output; free ones where another program holds them
    pebble = Pebble(os.path.join(folder, "pebble"), env=env)
    pebble.move_taken_ports()
    transcript = Transcript(folder, echo, {})
    started = []
    try:
        pebble.start()
        started.append(pebble)
        pebble.write_acme_ini(os.path.join(folder, "pebble.ini"))
        # as the README makes it: echo ... > pfx.pass; chmod 600 pfx.pass
        with open(os.open(os.path.join(folder, "pfx.pass"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write("correct horse battery staple\n")
        transcript.say("Pebble is running: {0} (its TLS CA: {1})".format(pebble.directory_url, pebble.ca_file))
        transcript.say("Working folder: {0}".format(folder))
        if not transcript.story(STORY):
            return False

        with Pebble.on_free_ports(os.path.join(folder, "pebble-eab"), env=env, eab_keys=EAB_KEYS) as eab:
            eab.write_acme_ini(os.path.join(folder, "eab.ini"))
            if not transcript.story(EAB_STORY):
                return False

        with FakeAlibaba(os.path.join(folder, "alibaba"), zones=("ali.example.test",),
                         cdn_domains=("cdn.ali.example.test",), api_domains=(("g1", "api.ali.example.test"),),
                         challtest_url=pebble.challtest_url) as cloud:
            pebble.write_alibaba_ini(os.path.join(folder, "alibaba.ini"), cloud)
            steps = [(part, ALIBABA_ENV.format(cloud.access_key_id, cloud.secret) if command == "ALIBABA_ENV"
                      else command) for part, command in ALIBABA_STORY]
            if not transcript.story(steps):
                return False

        if acme2certifier:
            try:
                with Acme2Certifier(os.path.join(folder, "acme2certifier")) as a2c:
                    a2c.write_acme_ini(os.path.join(folder, "a2c.ini"))
                    if not transcript.story(A2C_STORY):
                        return False
            except Acme2CertifierError as error:
                transcript.say("Error: {0}".format(error))
                return False
            if not persist_story(folder, transcript):
                return False

        transcript.say("")
        transcript.say("Walkthrough complete: every step succeeded. Transcript: {0}".format(transcript.file.name))
        if keep_running:
            print("Pebble keeps running at", pebble.directory_url, "- press Ctrl-C to stop.")
            while True:
                time.sleep(1)
        return True
    except PebbleError as error:
        transcript.say("Error: {0}".format(error))
        return False
    except KeyboardInterrupt:
        return keep_running
    finally:
        for server in started:
            server.stop()
        transcript.file.close()


def persist_story(folder, transcript):
    """ dns-persist-01: a validating acme2certifier (wildcards with policy=wildcard) whose DNS server
    gets its TXT records from the fake Alibaba Cloud API; persist.ini has no DNSHook """
    try:
        with Acme2Certifier(os.path.join(folder, "acme2certifier-persist"), dns_persist=True,
                            policy_wildcard=True) as a2c, \
                FakeAlibaba(os.path.join(folder, "alibaba-persist"), zones=("example.test",),
                            challtest_url=a2c.dns.management_url) as cloud:
            a2c.write_acme_ini(os.path.join(folder, "persist.ini"), **dict(PERSIST_INI, **cloud.ini_values()))
            steps = [(part, ALIBABA_ENV.format(cloud.access_key_id, cloud.secret) if command == "ALIBABA_ENV"
                      else command) for part, command in PERSIST_STORY]
            ok = transcript.story(steps)
            for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
                transcript.env.pop(name, None)
            return ok
    except Acme2CertifierError as error:
        transcript.say("Error: {0}".format(error))
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--dir", default=os.path.join(ROOT, "walkthrough-run"), help="scratch folder (made anew)")
    parser.add_argument("--keep-running", action="store_true", help="leave Pebble running at the end (Ctrl-C stops)")
    args = parser.parse_args(argv)
    return 0 if run(args.dir, keep_running=args.keep_running) else 1


if __name__ == "__main__":
    sys.exit(main())
