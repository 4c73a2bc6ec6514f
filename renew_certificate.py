""" Let's Encrypt ACME Version 2 Examples - Renew the certificate when its time has come (Part 1's promise)

Run it every few hours from cron or a systemd timer; it renews only when it should:
- it asks the CA when (renewal information, RFC 9773) and renews at a random point in the window
  the CA suggests, at once when the window has passed; a CA without renewal information: when a
  third of the certificate's lifetime is left; --force renews anyway;
- the chosen point and the time to ask again (the CA's Retry-After) are kept beside the chain in
  ChainFile.renewal.json, so runs every few hours neither redraw the point nor ask the CA each time;
- it renews by running issue_certificate.py as a command, with "replaces" (a renewal inside the
  window is exempt from Let's Encrypt's rate limits), the profile in acme.ini, the challenge in
  acme.ini (Challenge, HTTPPort, Webroot, DNSHook), and the CSR again (or a new key: --new-key);
- on any failure the old chain and key stay as they were; a lock stops two runs at once;
- --deploy-hook CMD runs only after a renewal (certbot's convention), with RENEWED_CHAIN,
  RENEWED_KEY and RENEWED_DOMAINS in its environment: "renew, then install" installs nothing on
  the days nothing was renewed.
Exit 0 when renewed and when it is not time yet; 1 on failure.
Reference: RFC 9773 §4.2 (choosing when), §4.3 (Retry-After), §5 ("replaces")

HTTP exchanges (then those of issue_certificate.py, when it renews):
    1. GET <ACMEDirectory>                  ->  200, the directory (its renewalInfo URL)
    2. GET <renewalInfo>/<certificate ID>   ->  200, {"suggestedWindow": {"start", "end"}}, Retry-After

acme.ini keys read: ChainFile, CertificateKeyFile, CSRFile, Profile, Challenge, HTTPPort, HTTPBind,
Webroot, DNSHook, ACMEDirectory, UserAgent, Language, CABundle, Timeout (and those issue_certificate.py reads).
Example:
    python renew_certificate.py                                  # renews only when it is time
    python renew_certificate.py --deploy-hook "systemctl reload nginx"
    python renew_certificate.py --force --new-key                # now, with a new certificate key
"""

import fcntl
import json
import os
import random
import shlex
import subprocess
import sys
import time

# lib first: a missing package is one line that says what to install, not a traceback
from lib import answers, certs, config, files, frame, send
from cryptography import x509
from Crypto.PublicKey import RSA
import myhelper

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RETRY = 6 * 3600                   # RFC 9773 §4.3: ask again after 6 hours when the CA says nothing


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("--force", action="store_true", help="renew now, whatever the window says")
    parser.add_argument("--new-key", action="store_true", help="make a new certificate key (RSA 2048) for it")
    parser.add_argument("--deploy-hook", metavar="CMD", help="a shell command to run after a renewal (only then)")
    return parser.parse_args(argv)


def utc(seconds):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def read_state(filename, serial):
    """ What an earlier run decided for this certificate (another certificate's state is dropped) """
    try:
        with open(filename, encoding="utf8") as f:
            state = json.load(f)
    except (OSError, ValueError, RecursionError):
        return {}
    return state if isinstance(state, dict) and state.get("serial") == serial else {}


def renewal_window(net, ini, cert, cert_id):
    """ The CA's suggested window and when to ask again; without renewal information, a third of the lifetime """
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    if "renewalInfo" not in directory:
        lifetime = cert.not_valid_after_utc.timestamp() - cert.not_valid_before_utc.timestamp()
        point = cert.not_valid_after_utc.timestamp() - lifetime / 3
        print("The CA offers no renewal information: renewing when a third of the lifetime is left.")
        return point, point, time.time() + DEFAULT_RETRY, False
    url = answers.url_field(directory, "renewalInfo", "the directory").rstrip("/") + "/" + cert_id
    resp = net.get(url, "getting the renewal information")
    window = answers.field(answers.json_object(resp, "the renewal information"), "suggestedWindow", dict,
                           "the renewal information")
    start = answers.time_field(window, "start", "the suggested window")
    end = max(start, answers.time_field(window, "end", "the suggested window"))
    asked = answers.retry_after(resp)
    retry = DEFAULT_RETRY if asked is None else min(max(asked, 60), 86400)     # §4.3: 1 minute to 1 day
    print("The CA suggests renewing between {0} and {1}.".format(utc(start), utc(end)))
    return start, end, time.time() + retry, True


def same_csr(csr_file, cert, names):
    """ Can the CSR be sent again: same names, same key as the certificate? """
    if not csr_file or not os.path.exists(csr_file):
        return False
    csr = myhelper.load_csr(csr_file)
    return sorted(myhelper.get_domains_from_csr(csr)) == names and not certs.certificate_problems(cert, csr, [])


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config,
                          ["ACMEDirectory", "AccountKeyFile", "ChainFile", "CertificateKeyFile"])
    chain_file, key_file = ini["ChainFile"], ini["CertificateKeyFile"]

    # One run at a time: the lock is released when this process ends, however it ends
    lock = open(chain_file + ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print("Another renew_certificate.py is renewing {0} right now; this run does nothing.".format(chain_file))
        return 0

    cert = certs.load_certificate(chain_file, frame.command(args, "issue_certificate.py", "NAME..."))
    serial = format(cert.serial_number, "x")
    names = sorted({str(n.value).lower() for n in cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value})
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        aki = None
    cert_id = certs.ari_cert_id(aki, cert.serial_number) if aki else None
    state_file = chain_file + ".renewal.json"
    state, now = read_state(state_file, serial), time.time()
    print("Certificate: {0} (serial {1}, for {2}), not after {3}".format(
        chain_file, serial, ", ".join(names), utc(cert.not_valid_after_utc.timestamp())))

    # Not time yet, as an earlier run found: no need to ask the CA again so soon
    if not args.force and now < state.get("next_check", 0) and now < state.get("chosen", 0):
        print("Not yet: renewal is planned for {0}; next check after {1}.".format(
            utc(state["chosen"]), utc(state["next_check"])))
        return 0

    if not args.force:
        start, end, next_check, ari = renewal_window(send.Transport(ini, args.debug), ini, cert, cert_id or "")
        chosen = state.get("chosen") if state.get("window") == [start, end] else random.uniform(start, end)
        if now < chosen:
            files.write_file(state_file, json.dumps({"serial": serial, "window": [start, end], "chosen": chosen,
                                                     "next_check": min(next_check, chosen)}).encode())
            print("Not yet: renewal is planned for {0}; next check after {1}.".format(
                utc(chosen), utc(min(next_check, chosen))))
            return 0
        print("It is time: renewing now.")

    # Renew: issue_certificate.py does the ACME exchanges; the old chain and key stay until it succeeded
    command = [sys.executable, os.path.join(HERE, "issue_certificate.py"), "--config", args.config, "--yes"]
    command += ["--debug"] if args.debug else []
    command += ["--replaces=" + cert_id] if cert_id else []     # "=": an ID may start with "-"
    new_key = key_file + ".new"
    if args.new_key:
        if not os.path.exists(new_key):                         # an earlier run's new key is used again
            myhelper.save_private_key(RSA.generate(2048), new_key)
        command += ["--key", new_key, "--chain", chain_file + ".new"] + names
    elif same_csr(ini["CSRFile"], cert, names):
        command += ["--csr", ini["CSRFile"]]                   # the same CSR: the same key and names
    else:
        command += names                                        # a CSR made anew from CertificateKeyFile
    print("Running: python " + shlex.join([os.path.basename(command[1])] + command[2:]), flush=True)
    if subprocess.run(command, stdin=subprocess.DEVNULL).returncode != 0:
        sys.exit("Error: The renewal failed (above); {0} and {1} are unchanged. The next run tries again."
                 .format(chain_file, key_file))
    if args.new_key:                                            # the new key and its chain take their places
        with open(key_file, "rb") as f:
            files.write_file(key_file + ".bak", f.read(), mode=0o600)
        os.replace(new_key, key_file)
        with open(chain_file + ".new", "rb") as f:
            files.write_file(chain_file, f.read(), backup=True)
        os.unlink(chain_file + ".new")
        print("The new key is in {0}; the old one in {0}.bak.".format(key_file))
    if os.path.exists(state_file):
        os.unlink(state_file)
    print("Renewed:", chain_file)

    if args.deploy_hook:
        env = dict(os.environ, RENEWED_CHAIN=os.path.abspath(chain_file), RENEWED_KEY=os.path.abspath(key_file),
                   RENEWED_DOMAINS=" ".join(names))
        print("Running the deploy hook: " + args.deploy_hook, flush=True)
        done = subprocess.run(args.deploy_hook, shell=True, env=env, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            sys.exit("Error: Renewed, but the deploy hook failed with status {0}; run it again by hand: {1}".format(
                done.returncode, args.deploy_hook))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
