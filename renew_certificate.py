""" Let's Encrypt ACME Version 2 Examples - Renew the certificate when its time has come (Part 1's promise)

Run it every few hours from cron or a systemd timer, as root if need be, for years; it renews only
when it should:
- it asks the CA when (renewal information, RFC 9773) and renews at a random point in the window
  the CA suggests, at once when the window has passed. Without a usable answer (a CA without
  renewal information, a certificate without an Authority Key Identifier, a 404, a 5xx, no answer,
  a malformed one, a window that ends before it starts or after the certificate expires) the
  lifetime rule applies, and a line says why: renew when a third of the lifetime is left, half for
  a certificate of 10 days or less; --force renews anyway;
- the chosen point and the time to ask again (the CA's Retry-After; an hour after a useless
  answer) are kept beside the chain in ChainFile.renewal.json, so runs every few hours neither
  redraw the point nor ask the CA each time; a damaged state file is ignored with a warning;
- it renews by running issue_certificate.py as a command, with "replaces" (a renewal inside the
  window is exempt from Let's Encrypt's rate limits), the profile in acme.ini, the challenge in
  acme.ini (Challenge, HTTPPort, Webroot, DNSHook), and the CSR again (or a new key: --new-key).
  The names come from the certificate: DNS names and IP addresses only, each checked as a name on
  the command line is, and passed after "--"; a certificate that names anything else is refused;
- on any failure the old chain and key stay as they were; a lock (ChainFile.lock) stops two runs
  at once and is held until issue_certificate.py has ended;
- --new-key: the key and the chain change together or not at all. The new pair is written as
  KEY.new and CHAIN.new, the old one copied to .bak (a key's copy stays 0600), a journal
  (ChainFile.swap.json) is written, both are renamed, the journal is removed. A run that finds the
  journal (after a kill, a power cut) completes the swap when the new pair fits, else undoes it;
- --deploy-hook CMD runs only after a renewal was saved (certbot's convention), with RENEWED_CHAIN,
  RENEWED_KEY and RENEWED_DOMAINS in its environment: "renew, then install" installs nothing on
  the days nothing was renewed. A renewal whose hook failed, or did not run because the run was
  killed, is deployed by the next run.
Exit 0 when renewed and when it is not time yet; 1 on failure.
Reference: RFC 9773 §4.2 (choosing when), §4.3 (Retry-After, errors), §5 ("replaces")

HTTP exchanges (then those of issue_certificate.py, when it renews):
    1. GET <ACMEDirectory>                  ->  200, the directory (its renewalInfo URL)
    2. GET <renewalInfo>/<certificate ID>   ->  200, {"suggestedWindow": {"start", "end"}}, Retry-After

acme.ini keys read: ChainFile, CertificateKeyFile, CSRFile, Profile, Challenge, HTTPPort, HTTPBind,
Webroot, DNSHook, DNSResolver, TLSPort, TLSBind, ACMEDirectory, UserAgent, Language, CABundle, Timeout
(and those issue_certificate.py reads).
Example:
    python renew_certificate.py                                  # renews only when it is time
    python renew_certificate.py --deploy-hook "systemctl reload nginx"
    python renew_certificate.py --force --new-key                # now, with a new certificate key
"""

import os
import random
import shlex
import subprocess
import sys
import time

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, certs, config, dns01, dnspersist, frame, renewal, send
import myhelper

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--force", action="store_true", help="renew now, whatever the window says")
    parser.add_argument("--new-key", action="store_true", help="make a new certificate key (RSA 2048) for it")
    parser.add_argument("--deploy-hook", metavar="CMD", help="a shell command to run after a renewal (only then)")
    return parser.parse_args(argv)


def renewal_window(args, ini, cert, cert_id):
    """ 1.-2. The CA's suggested window and when to ask again; the lifetime rule when there is no usable one """
    if not cert_id:
        return renewal.lifetime_rule(cert, "{0} has no Authority Key Identifier, so renewal information cannot "
                                           "name it".format(ini["ChainFile"]))
    net = send.Transport(ini, args.debug)
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    if "renewalInfo" not in directory:
        return renewal.lifetime_rule(cert, "The CA offers no renewal information")
    url = answers.url_field(directory, "renewalInfo", "the directory").rstrip("/") + "/" + cert_id
    try:
        resp = net.get(url, "getting the renewal information")
        window = answers.field(answers.json_object(resp, "the renewal information"), "suggestedWindow", dict,
                               "the renewal information")
        start = answers.time_field(window, "start", "the suggested window")
        end = answers.time_field(window, "end", "the suggested window")
    except (frame.AcmeError, ValueError) as error:     # 404, 5xx, no answer, malformed (§4.3.3)
        return renewal.lifetime_rule(cert, renewal.unusable(error), renewal.ERROR_RETRY)
    return renewal.window(cert, start, end, answers.retry_after(resp))


def time_to_renew(args, ini, cert, cert_id, state, state_file):
    """ Is it time? The point chosen in the window is kept, with the time to ask again, for the next runs """
    serial, now = format(cert.serial_number, "x"), time.time()
    plan = state if state.get("serial") == serial and not state.get("renewing") else {}
    if now < plan.get("next_check", 0) and now < plan.get("chosen", 0):
        print("Not yet: renewal is planned for {0}; next check after {1}.".format(
            renewal.utc(plan["chosen"]), renewal.utc(plan["next_check"])))
        return False
    start, end, next_check = renewal_window(args, ini, cert, cert_id)
    chosen = plan["chosen"] if plan.get("window") == [start, end] else random.uniform(start, end)
    if now < chosen:
        renewal.write_state(state_file, {"serial": serial, "window": [start, end], "chosen": chosen,
                                         "next_check": min(next_check, chosen)})
        print("Not yet: renewal is planned for {0}; next check after {1}.".format(
            renewal.utc(chosen), renewal.utc(min(next_check, chosen))))
        return False
    print("It is time: renewing now.")
    return True


def same_csr(csr_file, cert, names):
    """ Can the CSR be sent again: same names, same key as the certificate? """
    if not csr_file or not os.path.exists(csr_file):
        return False
    try:
        csr = myhelper.load_csr(csr_file)
    except ValueError:
        return False                                    # a damaged CSR: a new one is made
    return sorted(myhelper.get_domains_from_csr(csr)) == sorted(names) and not certs.certificate_problems(cert, csr, [])


def issue_command(args, ini, cert, cert_id, names):
    """ issue_certificate.py's command line: options first, then "--", then the names """
    command = [sys.executable, os.path.join(HERE, "issue_certificate.py"), "--config", args.config, "--yes"]
    command += ["--debug"] if args.debug else []
    command += ["--replaces=" + cert_id] if cert_id else []     # "=": an ID may start with "-"
    if args.new_key:
        key_new, chain_new = renewal.new_key(ini["CertificateKeyFile"], ini["ChainFile"])
        return command + ["--key", key_new, "--chain", chain_new, "--"] + names
    if same_csr(ini["CSRFile"], cert, names):
        return command + ["--csr", ini["CSRFile"]]             # the same CSR: the same key and names
    return command + ["--"] + names                             # a CSR made anew from CertificateKeyFile


def deploy(args, ini, names, state_file, late=False):
    """ The deploy hook, after a saved renewal (late: saved by an earlier run); the state file goes once it
    succeeded, or at once when there is no hook """
    if args.deploy_hook and late:
        print("An earlier run renewed {0}, but its deploy hook has not succeeded yet.".format(ini["ChainFile"]))
    if args.deploy_hook:
        env = dict(os.environ, RENEWED_CHAIN=os.path.abspath(ini["ChainFile"]),
                   RENEWED_KEY=os.path.abspath(ini["CertificateKeyFile"]), RENEWED_DOMAINS=" ".join(names))
        print("Running the deploy hook: " + args.deploy_hook, flush=True)
        done = subprocess.run(args.deploy_hook, shell=True, env=env, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            sys.exit("Error: Renewed, but the deploy hook failed with status {0}; the next run tries it again (or "
                     "run it by hand: {1}).".format(done.returncode, args.deploy_hook))
    if os.path.exists(state_file):
        os.unlink(state_file)
    return 0


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config,
                          ["ACMEDirectory", "AccountKeyFile", "ChainFile", "CertificateKeyFile"])
    chain_file, key_file = ini["ChainFile"], ini["CertificateKeyFile"]
    state_file = chain_file + ".renewal.json"

    # One run at a time, issue_certificate.py included; then a --new-key swap left half-done is finished
    lock = renewal.lock(chain_file)
    if lock is None:
        print("Another renew_certificate.py is renewing {0} right now; this run does nothing.".format(chain_file))
        return 0
    renewal.recover(key_file, chain_file)

    # The certificate and its names: refused before anything is written or run when a name is not one
    cert = certs.load_certificate(chain_file, frame.command(args, "issue_certificate.py", "NAME..."))
    names, cert_id = renewal.checked_names(cert, chain_file), certs.cert_id(cert)
    serial = format(cert.serial_number, "x")
    print("Certificate: {0} (serial {1}, for {2}), not after {3}".format(
        chain_file, serial, ", ".join(names), renewal.utc(cert.not_valid_after_utc.timestamp())))
    if ini["Challenge"] == "dns-persist-01":       # the standing record: ends soon, has ended, lacks policy, missing
        for line in dnspersist.renewal_warnings(names, ini["DNSResolver"], ini["Timeout"]):
            print(line, file=sys.stderr)
    state = renewal.read_state(state_file)
    if state.get("renewing") and state["serial"] != serial:     # renewed, but its deploy hook has not succeeded
        deploy(args, ini, names, state_file, late=True)
        if not args.force:
            return 0
        state = {}
    if not args.force and not time_to_renew(args, ini, cert, cert_id, state, state_file):
        return 0

    # Renew: issue_certificate.py does the ACME exchanges; the old chain and key stay until it succeeded
    if args.new_key and ini["Challenge"] == "dns-01":   # a wrong DNSHook secret, said before a new key exists
        dns01.DnsRecords(ini["DNSHook"], args.config).check(names)
    renewal.write_state(state_file, {"serial": serial, "renewing": True})
    command = issue_command(args, ini, cert, cert_id, names)
    print("Running: python " + shlex.join([os.path.basename(command[1])] + command[2:]), flush=True)
    code = subprocess.run(command, stdin=subprocess.DEVNULL, pass_fds=(lock,)).returncode
    if code != 0:
        renewal.discard(key_file, chain_file)
        how = "above" if code > 0 else "issue_certificate.py was killed by signal {0}".format(-code)
        sys.exit("Error: The renewal failed ({0}); {1} and {2} are unchanged. The next run tries again.".format(
            how, chain_file, key_file))
    if args.new_key:                                            # the new key and its chain take their places
        renewal.swap(key_file, chain_file)
        print("The new key is in {0}; the old one in {0}.bak.".format(key_file))
    print("Renewed:", chain_file)
    return deploy(args, ini, names, state_file)


if __name__ == "__main__":
    sys.exit(frame.run(main))
