""" renew_certificate.py left running from cron for years (issue 17): the lock, a damaged state file,
renewal information that is missing or of no use, hostile names in the old certificate, the deploy
hook only after a saved renewal, and --new-key's key and chain that change together or not at all,
whatever step fails or is killed. issue_certificate.py runs in this process, as in
test_lets_encrypt_answers.py: subprocess.run is replaced by a call of its main().
"""

import datetime
import fcntl
import ipaddress
import itertools
import json
import os
import subprocess
import time

import pytest
import requests
from Crypto.PublicKey import ECC
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import issue_certificate
import renew_certificate
from fake_ca import BASE, problem
from lib import certs, frame, renewal

CHAIN, KEY, CSR = "example.com.chain.pem", "example.com.key", "example.com.csr"
STATE, LOCK, JOURNAL = CHAIN + ".renewal.json", CHAIN + ".lock", CHAIN + ".swap.json"
DAY = 86400
REAL_RUN = subprocess.run


class Killed(BaseException):
    """ A kill -9 between two steps: nothing in the process may catch it """


def build_chain(key_pem, names=("example.com",), others=(), days=90, age=0.0, aki=True):
    """ A PEM chain (leaf + issuer) for the private key key_pem: DNS names and IP addresses, other kinds
    of names (x509 GeneralName objects), a lifetime of days, issued age days ago, with or without an AKI """
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=age)
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Intermediate")])

    def ip(name):
        try:
            return ipaddress.ip_address(name)
        except ValueError:
            return None
    sans = [x509.IPAddress(ip(n)) if ip(n) else x509.DNSName(n) for n in names] + list(others)

    def build(subject, public_key, extensions):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + datetime.timedelta(days=days)))
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
    extensions = [x509.SubjectAlternativeName(sans)]
    if aki:
        extensions.append(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()))
    leaf_key = public_key(key_pem)
    return (build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")]), leaf_key, extensions)
            + build(issuer, issuer_key.public_key(), []))


def public_key(key_pem):
    """ The public key of a private key in PEM, quickly: these keys are known to be good """
    return serialization.load_pem_private_key(key_pem, None, unsafe_skip_rsa_key_validation=True).public_key()


class Renewing:
    """ A reader's folder with a certificate to renew, a fake CA that issues for whatever key the CSR
    has, and subprocess.run replaced: issue_certificate.py runs in this process, the deploy hook is recorded """

    def __init__(self, fake, workdir, monkeypatch, capsys, old_pem):
        self.fake, self.dir, self.capsys, self.old_pem = fake, workdir, capsys, old_pem
        self.commands, self.deploys, self.locks = [], [], []
        self.hook_status, self.child = 0, None
        # --new-key's RSA key is an EC P-256 key here: the same files and steps, made in a millisecond
        monkeypatch.setattr(renewal.RSA, "generate", lambda bits: ECC.generate(curve="P-256"))
        real_lock = renewal.lock

        def lock(chain_file):                   # this process never ends: its locks are closed after each run
            fd = real_lock(chain_file)
            self.locks.append(fd)
            return fd
        monkeypatch.setattr(renewal, "lock", lock)
        monkeypatch.setattr(renew_certificate.subprocess, "run", self.subprocess_run)
        fake.existing_account()
        order = {"status": "pending", "expires": "2099-01-01T00:00:00Z", "authorizations": [BASE + "/acme/authz/1"],
                 "identifiers": [{"type": "dns", "value": "example.com"}], "finalize": BASE + "/acme/order/1/finalize"}
        fake.on("POST", "/acme/new-order", status=201, json=order, headers={"Location": BASE + "/acme/order/1"})
        fake.on("POST", "/acme/authz/1", json={"status": "valid", "identifier": {"type": "dns", "value": "example.com"},
                                               "challenges": []})
        fake.on("POST", "/acme/order/1/finalize", json=dict(order, status="valid", certificate=BASE + "/acme/cert/1"))
        fake.on("POST", "/acme/cert/1", lambda record: dict(body=build_chain(self.key_in_use())))
        self.old_chain = build_chain(old_pem)
        self.cert_id = certs.cert_id(x509.load_pem_x509_certificate(self.old_chain.encode()))
        self.ari(time.time() + 30 * DAY, time.time() + 32 * DAY)         # not yet, unless a test says otherwise
        self.reset()

    def key_in_use(self):
        """ The key issue_certificate.py is signing its CSR with right now: KEY.new during --new-key """
        new = self.dir / (KEY + ".new")
        return (new if new.exists() else self.dir / KEY).read_bytes()

    def ari(self, start=None, end=None, **answer):
        if start is not None:
            answer = dict(json={"suggestedWindow": {"start": iso(start), "end": iso(end)}},
                          headers={"Retry-After": "21600"})
        self.fake.on("GET", "/acme/renewal-info/" + self.cert_id, answer)

    def reset(self, chain=None):
        """ The old pair, and nothing a run leaves behind """
        for name in os.listdir(self.dir):
            if name.startswith("example.com.") or name == "order.json":
                os.unlink(self.dir / name)
        (self.dir / KEY).write_bytes(self.old_pem)
        (self.dir / KEY).chmod(0o600)
        (self.dir / CHAIN).write_text(chain or self.old_chain)
        self.commands.clear()
        self.deploys.clear()

    def subprocess_run(self, command, **kwargs):
        if isinstance(command, str):                                     # the deploy hook
            self.deploys.append((command, kwargs["env"]))
            return subprocess.CompletedProcess(command, self.hook_status)
        if "pass_fds" not in kwargs:                                     # a DNSHook's check: the real thing
            return REAL_RUN(command, **kwargs)
        self.commands.append(command)
        assert kwargs["pass_fds"] == (self.locks[-1],)                 # the child holds the lock too
        if self.child:
            return subprocess.CompletedProcess(command, self.child(command))
        return subprocess.CompletedProcess(command, frame.run(issue_certificate.main, command[2:]))

    def run(self, *args):
        try:
            code = frame.run(renew_certificate.main, list(args))
        except Killed:
            code = "killed"
        finally:
            for fd in self.locks:
                if fd is not None:
                    os.close(fd)
            self.locks.clear()
        out, err = self.capsys.readouterr()
        return code, out, err

    def pair(self):
        """ "old" or "new": the key and the chain are a pair either way """
        key_pem = (self.dir / KEY).read_bytes()
        leaf = x509.load_pem_x509_certificates((self.dir / CHAIN).read_bytes())[0]
        assert leaf.public_key() == public_key(key_pem), "the key and the chain are not a pair"
        return "old" if key_pem == self.old_pem else "new"

    def leftovers(self):
        return sorted(n for n in os.listdir(self.dir) if n.endswith((".new", ".swap.json")))


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@pytest.fixture
def renewing(fake, workdir, monkeypatch, capsys, cert_rsa_pem):
    return Renewing(fake, workdir, monkeypatch, capsys, cert_rsa_pem)


def ari_requests(fake):
    return [r for r in fake.requests if r["path"].startswith("/acme/renewal-info/")]


# -- the lock -------------------------------------------------------------------------------------

def test_a_second_run_while_the_lock_is_held_does_nothing(renewing):
    with open(renewing.dir / LOCK, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, out, err = renewing.run("--force")
    assert code == 0 and out == ("Another renew_certificate.py is renewing {0} right now; this run does "
                                 "nothing.\n".format(CHAIN))
    assert not renewing.fake.requests and not renewing.commands


def test_the_lock_is_held_until_issue_certificate_has_finished(renewing):
    def child(command):
        with open(renewing.dir / LOCK, "a") as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fd = renewing.locks[-1]
        assert os.fstat(fd).st_ino == os.stat(renewing.dir / LOCK).st_ino and os.get_inheritable(fd) is False
        return 1
    renewing.child = child
    code, out, err = renewing.run("--force")
    assert code == 1 and len(renewing.commands) == 1


def test_the_lock_file_is_neither_followed_nor_truncated(renewing, tmp_path_factory):
    (renewing.dir / LOCK).write_text("not a lock, but kept")
    code, out, err = renewing.run()
    assert code == 0 and (renewing.dir / LOCK).read_text() == "not a lock, but kept"
    os.unlink(renewing.dir / LOCK)
    code, out, err = renewing.run()
    assert os.stat(renewing.dir / LOCK).st_mode & 0o777 == 0o600
    os.unlink(renewing.dir / LOCK)
    target = tmp_path_factory.mktemp("elsewhere") / "profile.sh"
    target.write_text("echo hello\n")
    os.symlink(target, renewing.dir / LOCK)
    asked = len(renewing.fake.requests)
    code, out, err = renewing.run("--force")
    assert code == 1 and "{0} is a symbolic link; it was not followed".format(LOCK) in err
    assert target.read_text() == "echo hello\n" and not renewing.commands and len(renewing.fake.requests) == asked
    os.unlink(renewing.dir / LOCK)
    os.symlink(target.parent / "cron.sh", renewing.dir / LOCK)             # a link to nothing: nothing is made
    code, out, err = renewing.run("--force")
    assert code == 1 and not (target.parent / "cron.sh").exists()


# -- the state file -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "{not json", "[]", "null", '{"serial": 5}', '{"serial": "SERIAL", "window": "soon", "chosen": 1, "next_check": 1}',
    '{"serial": "SERIAL", "window": [1, 2], "chosen": NaN, "next_check": 1e300}',
    '{"serial": "SERIAL", "window": [1, 2, 3], "chosen": 1, "next_check": 1}',
    '{"serial": "SERIAL", "window": [1, 2], "chosen": true, "next_check": 1}',
    '{"serial": "SERIAL", "renewing": "yes"}', "[" * 100000, "\xff\xfe"], ids=lambda t: t[:30])
def test_a_damaged_state_file_is_one_warning_and_counts_as_absent(renewing, text):
    serial = format(x509.load_pem_x509_certificate(renewing.old_chain.encode()).serial_number, "x")
    (renewing.dir / STATE).write_bytes(text.replace("SERIAL", serial).encode("latin-1"))
    code, out, err = renewing.run()
    assert code == 0 and err.count("\n") == 1
    assert err == "Warning: {0} is not a renewal state this script wrote (bad JSON or wrong types); it is " \
                  "ignored.\n".format(STATE)
    assert len(ari_requests(renewing.fake)) == 1 and "Not yet: renewal is planned for" in out
    state = json.loads((renewing.dir / STATE).read_text())        # written anew, well formed
    assert state["serial"] == serial and state["window"][0] <= state["chosen"] <= state["window"][1]
    code, out, err = renewing.run()                                # and now read without a word
    assert code == 0 and err == "" and len(ari_requests(renewing.fake)) == 1


def test_a_state_file_that_is_a_folder_is_a_warning_too(renewing):
    os.mkdir(renewing.dir / STATE)
    code, out, err = renewing.run()                # read as absent; the new plan cannot be written there
    assert err.startswith("Warning: {0} is not a renewal state".format(STATE)) and len(ari_requests(renewing.fake)) == 1


# -- when: renewal information missing or of no use -----------------------------------------------

def third_left(chain):
    cert = x509.load_pem_x509_certificate(chain.encode())
    begin, end = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
    return renewal.utc(end - (end - begin) / 3)


@pytest.mark.parametrize("answer, why", [
    (problem("malformed", "Certificate not found", status=404), "the CA answered 404"),
    (dict(status=500, body="<html><body>Internal Server Error</body></html>",
          headers={"Content-Type": "text/html"}), "the CA answered 500"),
    (dict(status=503, body="", headers={"Retry-After": "3600"}), "the CA answered 503"),
    (requests.exceptions.ReadTimeout("read timed out"), "No answer from {0}/acme/renewal-info/ID within 5 "
                                                        "seconds (getting the renewal information)".format(BASE)),
    (requests.exceptions.ConnectionError("Connection reset by peer"), "Cannot connect to"),
    (dict(body="{not json"), "Cannot load returned data: "),
    (dict(json=["start", "end"]), "Cannot load returned data: the server sent a list where a JSON object was "
                                  "expected (the renewal information, from "),
    (dict(json={"suggestedWindow": "tomorrow"}), "The server sent a string where a JSON object was expected: "
                                                 "'suggestedWindow' in the renewal information)"),
    (dict(json={"suggestedWindow": {"start": "next week", "end": "2099-01-01T00:00:00Z"}}),
     "The server sent 'next week' where an RFC 3339 time was expected: 'start' in the suggested window)"),
], ids=["404", "500", "503", "timeout", "connection", "not JSON", "a list", "no window", "no time"])
def test_renewal_information_of_no_use_falls_back_to_the_lifetime_rule(renewing, answer, why):
    renewing.fake.on("GET", "/acme/renewal-info/" + renewing.cert_id, answer)
    started = time.time()
    code, out, err = renewing.run()
    assert code == 0 and err == "", err
    line = [x for x in out.splitlines() if x.startswith("No usable renewal information")]
    assert len(line) == 1 and line[0].endswith(": renewing when a third of the lifetime is left.")
    assert why.replace("ID", renewing.cert_id) in line[0]
    assert "Not yet: renewal is planned for {0}".format(third_left(renewing.old_chain)) in out
    state = json.loads((renewing.dir / STATE).read_text())
    assert started + renewal.ERROR_RETRY <= state["next_check"] <= time.time() + renewal.ERROR_RETRY


@pytest.mark.parametrize("window, flaw", [
    ((10 * DAY, 95 * DAY), "which ends after the certificate expires"),
    ((60 * DAY, 59 * DAY), "which ends before it starts"),
], ids=["ends after expiry", "ends before it starts"])
def test_a_window_that_cannot_be_right_is_not_obeyed(renewing, window, flaw):
    now = time.time()
    renewing.ari(now + window[0], now + window[1])
    code, out, err = renewing.run()
    assert code == 0 and not renewing.commands
    assert err == "Warning: The CA suggests renewing between {0} and {1}, {2}".format(
        renewal.utc(now + window[0]), renewal.utc(now + window[1]), flaw) + (
        " ({0})".format(renewal.utc(x509.load_pem_x509_certificate(renewing.old_chain.encode())
                                    .not_valid_after_utc.timestamp())) if "expires" in flaw else "") + (
        "; it is not obeyed: renewing when a third of the lifetime is left.\n")
    assert "Not yet: renewal is planned for {0}".format(third_left(renewing.old_chain)) in out


def test_a_window_inside_the_lifetime_is_obeyed_and_remembered(renewing):
    code, out, err = renewing.run()
    assert code == 0 and "The CA suggests renewing between" in out and "Not yet" in out and err == ""
    code, out2, err = renewing.run()
    assert "Calling endpoint" not in out2 and len(ari_requests(renewing.fake)) == 1


def test_without_an_authority_key_identifier_the_lifetime_rule_applies_without_asking(renewing):
    renewing.reset(build_chain(renewing.old_pem, aki=False, age=61))
    code, out, err = renewing.run()
    assert ("{0} has no Authority Key Identifier, so renewal information cannot name it: renewing when a third of "
            "the lifetime is left.\nIt is time: renewing now.".format(CHAIN)) in out
    assert code == 0 and renewing.pair() == "old" and not any("--replaces" in a for a in renewing.commands[0])
    assert not ari_requests(renewing.fake)


@pytest.mark.parametrize("days, age, due", [(90, 59, False), (90, 61, True), (7, 3.4, False), (7, 3.6, True),
                                            (10, 4.9, False), (10, 5.1, True), (11, 7.2, False), (11, 7.4, True)])
def test_the_lifetime_rule_a_third_left_or_half_for_ten_days_or_less(renewing, days, age, due):
    renewing.reset(build_chain(renewing.old_pem, aki=False, days=days, age=age))
    renewing.child = lambda command: 1
    code, out, err = renewing.run()
    assert ("when half of the lifetime" if days <= 10 else "when a third of the lifetime") in out
    assert bool(renewing.commands) == due


# -- hostile names in the old certificate --------------------------------------------------------

@pytest.mark.parametrize("names, others, message", [
    (["--chain=/etc/profile.d/x.sh"], [], "names '--chain=/etc/profile.d/x.sh', which is not a valid host name or IP"),
    (["example.com", "-h"], [], "names '-h', which is not a valid host name or IP address"),
    (["example.com"], [x509.UniformResourceIdentifier("https://example.com/x")],
     "names the URI 'https://example.com/x' in its subjectAltName, and ACME certifies DNS names and IP addresses"),
    (["example.com"], [x509.RFC822Name("admin@example.com")],
     "names the e-mail address 'admin@example.com' in its subjectAltName"),
    ([], [], "names no DNS name or IP address in a subjectAltName"),
], ids=["--chain=", "-h", "URI", "e-mail", "none"])
def test_a_name_that_is_not_one_refuses_the_renewal_before_anything_is_written_or_run(renewing, names, others,
                                                                                       message):
    renewing.reset(build_chain(renewing.old_pem, names=names, others=others, aki=False, age=80))
    before = {n: (renewing.dir / n).read_bytes() for n in os.listdir(renewing.dir)}
    code, out, err = renewing.run("--force", "--new-key", "--deploy-hook", "touch /tmp/never")
    assert code == 1 and err.startswith("Error: {0} {1}".format(CHAIN, message))
    assert err.endswith("so it was not renewed (nothing was written or run). Issue a new certificate with python "
                        "issue_certificate.py NAME...\n")
    assert not renewing.commands and not renewing.deploys and not renewing.fake.requests
    after = {n: (renewing.dir / n).read_bytes() for n in os.listdir(renewing.dir) if n != LOCK}
    assert after == before


def test_names_go_after_a_double_dash_in_the_certificates_order(renewing):
    renewing.reset(build_chain(renewing.old_pem, names=["www.example.com", "Example.COM", "192.0.2.7"], aki=False,
                               age=80))
    renewing.child = lambda command: 1
    code, out, err = renewing.run()
    assert code == 1 and renewing.commands[0][-4:] == ["--", "www.example.com", "example.com", "192.0.2.7"]
    assert "Running: python issue_certificate.py --config acme.ini --yes -- www.example.com example.com " \
           "192.0.2.7\n" in out


# -- the deploy hook only after a saved renewal ---------------------------------------------------

def test_the_deploy_hook_runs_after_a_renewal_and_never_after_a_failure(renewing):
    renewing.child = lambda command: 1
    code, out, err = renewing.run("--force", "--deploy-hook", "systemctl reload nginx")
    assert code == 1 and not renewing.deploys and "Running the deploy hook" not in out
    assert err == "Error: The renewal failed (above); {0} and {1} are unchanged. The next run tries again.\n".format(
        CHAIN, KEY)
    renewing.child = None
    code, out, err = renewing.run("--force", "--deploy-hook", "systemctl reload nginx")
    assert code == 0 and renewing.pair() == "old" and "Renewed: {0}\nRunning the deploy hook: ".format(CHAIN) in out
    [(command, env)] = renewing.deploys
    assert env["RENEWED_CHAIN"] == str(renewing.dir / CHAIN) and env["RENEWED_DOMAINS"] == "example.com"
    assert not (renewing.dir / STATE).exists()


def test_a_killed_child_is_said_so(renewing):
    renewing.child = lambda command: -9
    code, out, err = renewing.run("--force", "--new-key", "--deploy-hook", "reload")
    assert code == 1 and err == ("Error: The renewal failed (issue_certificate.py was killed by signal 9); {0} and {1} "
                                 "are unchanged. The next run tries again.\n".format(CHAIN, KEY))
    assert renewing.pair() == "old" and renewing.leftovers() == [] and not renewing.deploys


def test_a_failed_deploy_hook_is_run_again_by_the_next_run(renewing):
    renewing.hook_status = 3
    code, out, err = renewing.run("--force", "--deploy-hook", "reload")
    assert code == 1 and err == ("Error: Renewed, but the deploy hook failed with status 3; the next run tries it "
                                 "again (or run it by hand: reload).\n")
    renewing.hook_status, asked = 0, len(renewing.fake.requests)
    code, out, err = renewing.run("--deploy-hook", "reload")
    assert code == 0 and len(renewing.deploys) == 2 and len(renewing.fake.requests) == asked
    assert "An earlier run renewed {0}, but its deploy hook has not succeeded yet.".format(CHAIN) in out
    code, out, err = renewing.run("--deploy-hook", "reload")
    assert len(renewing.deploys) == 2 and "Not yet" in out


def test_a_renewal_saved_by_a_run_killed_before_its_hook_is_deployed_by_the_next(renewing):
    def child_then_killed(command):
        assert frame.run(issue_certificate.main, command[2:]) == 0
        raise Killed()
    renewing.child = child_then_killed
    code, out, err = renewing.run("--force", "--deploy-hook", "reload")
    assert code == "killed" and not renewing.deploys
    renewing.child = None
    code, out, err = renewing.run("--deploy-hook", "reload")
    assert code == 0 and len(renewing.deploys) == 1 and "its deploy hook has not succeeded yet" in out


# -- --new-key: the key and the chain together, or not at all ---------------------------------------

class Faults:
    """ Every file-system change (os.replace, unlink, link, fsync) counted; the at-th one fails """

    def __init__(self, monkeypatch, at, error):
        self.count, self.at, self.error = 0, at, error
        for name in ("replace", "unlink", "link", "fsync"):
            monkeypatch.setattr(os, name, self.wrap(getattr(os, name)))

    def wrap(self, real):
        def call(*args, **kwargs):
            self.count += 1
            if self.count == self.at:
                raise self.error
            return real(*args, **kwargs)
        return call


@pytest.mark.parametrize("fault", ["error", "kill"])
def test_new_key_failing_at_each_step_leaves_a_pair_and_the_next_run_finishes(renewing, monkeypatch, fault):
    """ The run fails (an OSError) or is killed at each file-system step in turn, from the state file
    through the new key, issue_certificate.py's own files, the backups, the journal and the renames """
    outcomes = []
    for at in itertools.count(1):
        renewing.reset()
        with monkeypatch.context() as patch:
            faults = Faults(patch, at, OSError(28, "No space left on device") if fault == "error" else Killed())
            code, out, err = renewing.run("--force", "--new-key", "--deploy-hook", "reload")
        if faults.count < at:                      # no step left to fail: it renewed
            assert code == 0 and renewing.pair() == "new" and renewing.leftovers() == [] and len(renewing.deploys) == 1
            break
        assert code == (1 if fault == "error" else "killed"), (at, out, err)
        assert "Traceback" not in err
        if fault == "error":                       # a failure: already a pair, nothing half-done
            renewing.pair()
            assert not (renewing.dir / JOURNAL).exists(), (at, out, err)
        code, out2, err2 = renewing.run("--deploy-hook", "reload")
        assert code == 0, (at, out2, err2)
        final = renewing.pair()
        assert renewing.leftovers() == [], (at, out2)
        assert bool(renewing.deploys) == (final == "new"), (at, out, out2)
        if final == "new":
            assert oct(os.stat(renewing.dir / KEY).st_mode & 0o777) == "0o600"
            assert oct(os.stat(renewing.dir / (KEY + ".bak")).st_mode & 0o777) == "0o600"
        outcomes.append(final)
    assert at > 20 and "old" in outcomes and "new" in outcomes


def test_new_key_renewal_keeps_both_backups_and_the_key_mode(renewing):
    code, out, err = renewing.run("--force", "--new-key")
    assert code == 0 and renewing.pair() == "new"
    assert "The new key is in {0}; the old one in {0}.bak.\nRenewed: {1}\n".format(KEY, CHAIN) in out
    assert (renewing.dir / (KEY + ".bak")).read_bytes() == renewing.old_pem
    assert (renewing.dir / (CHAIN + ".bak")).read_text() == renewing.old_chain
    assert os.stat(renewing.dir / (KEY + ".bak")).st_mode & 0o777 == 0o600
    command = renewing.commands[0]
    assert command[command.index("--key") + 1] == KEY + ".new" and command[-2:] == ["--", "example.com"]


def half_done(renewing, moved=(), broken=None):
    """ The files as a swap leaves them between two steps: .new pair written, .bak copies, the journal;
    moved: the files already renamed into place; broken: a .new file damaged on disk """
    new_pem = ECC.generate(curve="P-256").export_key(format="PEM").encode()
    (renewing.dir / (KEY + ".new")).write_bytes(new_pem)
    (renewing.dir / (CHAIN + ".new")).write_text(build_chain(new_pem))
    for name in (KEY, CHAIN):
        (renewing.dir / (name + ".bak")).write_bytes((renewing.dir / name).read_bytes())
    (renewing.dir / (KEY + ".bak")).chmod(0o600)
    (renewing.dir / JOURNAL).write_text(json.dumps({"key": KEY, "chain": CHAIN, "backups": [KEY, CHAIN]}))
    for name in moved:
        os.replace(renewing.dir / (name + ".new"), renewing.dir / name)
    if broken:
        (renewing.dir / (broken + ".new")).write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


@pytest.mark.parametrize("moved, broken, result", [
    ((), None, "new"), ((KEY,), None, "new"), ((KEY, CHAIN), None, "new"),
    ((), CHAIN, "old"), ((KEY,), CHAIN, "old"), ((CHAIN,), KEY, "old"),
], ids=["nothing moved", "key moved", "both moved", "new chain damaged", "key moved, chain damaged",
        "chain moved, key damaged"])
def test_the_next_run_completes_or_undoes_a_half_done_swap(renewing, moved, broken, result):
    half_done(renewing, moved, broken)
    code, out, err = renewing.run()
    assert code == 0 and renewing.pair() == result and renewing.leftovers() == []
    if result == "new":
        assert out.startswith("Completed the swap an earlier run left half-done: {0} and {1} are the new key and "
                              "chain.\n".format(KEY, CHAIN))
    else:
        assert out.startswith("Undid the swap an earlier run left half-done (the new pair did not fit): {0} and {1} "
                              "are the old key and chain again.\n".format(KEY, CHAIN))
        assert os.stat(renewing.dir / KEY).st_mode & 0o777 == 0o600


def test_an_unreadable_journal_stops_the_run_with_what_to_do(renewing):
    half_done(renewing)
    (renewing.dir / JOURNAL).write_text("{")
    code, out, err = renewing.run("--force")
    assert code == 1 and "the journal of a --new-key swap, cannot be read" in err and not renewing.commands
    assert (renewing.dir / (KEY + ".new")).exists()


def test_new_files_of_a_swap_that_never_began_are_removed(renewing):
    (renewing.dir / (KEY + ".new")).write_bytes(ECC.generate(curve="P-256").export_key(format="PEM").encode())
    code, out, err = renewing.run()
    assert out.startswith("Removed {0}.new, left by a --new-key run that stopped before its swap.\n".format(KEY))
    assert renewing.leftovers() == [] and renewing.pair() == "old"


def test_a_new_chain_that_is_not_for_the_new_key_is_never_swapped_in(renewing):
    def wrong_chain(command):
        (renewing.dir / (CHAIN + ".new")).write_text(build_chain(renewing.old_pem))
        return 0
    renewing.child = wrong_chain
    code, out, err = renewing.run("--force", "--new-key", "--deploy-hook", "reload")
    assert code == 1 and err.startswith("Error: The new chain is not for the new key (its key is not the expected key)")
    assert renewing.pair() == "old" and renewing.leftovers() == [] and not renewing.deploys


# -- the challenge types that need something at renewal ----------------------------------------------

def test_dns_persist_01_warns_on_every_run_when_the_record_ends_soon(renewing, monkeypatch):
    from fake_ca import write_ini
    from lib import dnspersist
    write_ini(renewing.dir / "acme.ini", Challenge="dns-persist-01")
    until = int(time.time() + 10 * DAY)
    monkeypatch.setattr(dnspersist, "look_up", lambda name, setting, timeout: [
        "letsencrypt.org; accounturi=https://acme.test/acme/acct/123; persistUntil={0}".format(until)])
    for _run in range(2):                                       # "Not yet" both times, and warned both times
        code, out, err = renewing.run()
        assert code == 0 and "Not yet" in out
        assert err.count("Warning: the dns-persist-01 record for example.com stops authorizing on") == 1, err


def test_dns_persist_01_says_what_to_publish_when_the_record_has_ended(renewing, monkeypatch):
    from fake_ca import write_ini
    from lib import dnspersist
    write_ini(renewing.dir / "acme.ini", Challenge="dns-persist-01")
    monkeypatch.setattr(dnspersist, "look_up", lambda name, setting, timeout: [
        "letsencrypt.org; accounturi=https://acme.test/acme/acct/123; persistUntil=1000000000"])
    code, out, err = renewing.run()
    assert "stopped authorizing on 2001-09-09" in err and "python dns_persist_record.py example.com" in err


def test_new_key_with_a_dns_hook_that_fails_its_check_makes_no_key(renewing, tmp_path):
    from fake_ca import write_ini
    hook = tmp_path / "hook.sh"
    hook.write_text('#!/bin/sh\n[ "$1" = check ] && { echo "Error: wrong secret"; exit 1; }\nexit 0\n')
    hook.chmod(0o755)
    write_ini(renewing.dir / "acme.ini", Challenge="dns-01", DNSHook=str(hook))
    renewing.reset(build_chain(renewing.old_pem, age=61))        # due by the lifetime rule
    renewing.ari(**{"status": 404})
    code, out, err = renewing.run("--new-key")
    assert code == 1 and "wrong secret" in err and "Traceback" not in err
    assert not (renewing.dir / (KEY + ".new")).exists() and renewing.pair() == "old" and not renewing.commands


def test_a_journal_naming_other_files_is_refused_and_they_are_left_alone(renewing, tmp_path):
    """ Run as root from cron: whoever can write beside the chain must not make the swap touch other files """
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (renewing.dir / JOURNAL).write_text(json.dumps({"key": str(victim), "chain": str(victim), "backups": []}))
    code, out, err = renewing.run()
    assert code == 1 and "not the CertificateKeyFile and ChainFile of acme.ini" in err and "Traceback" not in err
    assert victim.read_text() == "keep me" and renewing.pair() == "old"


def test_a_csr_is_written_only_once_its_chain_is_saved(renewing):
    """ --new-key's CSR is for KEY.new: a failed renewal leaves CSRFile as it was """
    (renewing.dir / CSR).write_bytes(b"the old CSR")
    renewing.reset(build_chain(renewing.old_pem, age=61))
    (renewing.dir / CSR).write_bytes(b"the old CSR")
    renewing.ari(**{"status": 404})
    renewing.fake.on("POST", "/acme/order/1/finalize", **problem("serverInternal", "down", status=500))
    code, out, err = renewing.run("--new-key")
    assert code == 1 and (renewing.dir / CSR).read_bytes() == b"the old CSR" and renewing.pair() == "old"
