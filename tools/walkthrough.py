""" The article's whole story against a local Pebble, one script after another, as a reader runs them

Starts Pebble (tools/pebble.py), makes a fresh folder walkthrough-run/ with an acme.ini that points
at it, and runs every script there with `python SCRIPT ...`, printing each command and its output
(also saved in walkthrough-run/transcript.txt). Stops at the first failure with exit status 1.
The reader's own acme.ini and keys are never touched.

    ./walkthrough.sh                  # installs what is needed, then runs this
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

from pebble import EAB_KEYS, Pebble, PebbleError  # noqa: E402


def steps(http_port):
    """ (article part, command) in the order of the story """
    serve = ["--port", str(http_port), "--bind", "127.0.0.1"]
    return [
        ("Part 2: keys and CSR", ["make_account_key.py"]),
        ("", ["make_certificate_key.py"]),
        ("", ["make_csr.py", "example.test", "www.example.test"]),
        ("Part 3: directory, nonce, terms, account", ["get_directory.py"]),
        ("", ["get_nonce.py"]),
        ("", ["get_terms_of_service.py"]),
        ("", ["new_account.py", "--agree-tos"]),
        ("", ["get_account_url.py"]),
        ("", ["get_account_info.py"]),
        ("", ["account_update.py", "--contact", "mailto:admin@example.org"]),
        ("Part 5: order, http-01 challenge, finalize, certificate, revocation", ["request_certificate.py"]),
        ("", ["get_challenges.py"]),
        ("", ["http01_challenge.py"] + serve),
        ("", ["finalize_order.py"]),
        ("", ["get_certificate.py"]),
        ("", ["revoke_certificate.py", "--reason", "4", "--yes"]),
        ("Part 5: a wildcard certificate with dns-01", ["make_csr.py", "--out", "wildcard.csr", "*.example.test"]),
        ("", ["request_certificate.py", "--csr", "wildcard.csr"]),
        ("", ["dns01_challenge.py"]),
        ("", ["finalize_order.py", "--csr", "wildcard.csr"]),
        ("", ["get_certificate.py"]),
        ("Everything in one process", ["issue_certificate.py", "--agree-tos"] + serve + ["shop.example.test"]),
        ("Account lifecycle: key rollover and deactivation",
         ["make_account_key.py", "--type", "ec", "new-account.key"]),
        ("", ["account_key_change.py", "new-account.key"]),
        ("", ["get_account_info.py"]),
        ("", ["account_deactivate.py", "--yes"]),
    ]


def run(folder, echo=True, env=None, keep_running=False):
    """ Run the whole story in folder (made anew) against a new Pebble; True when every step succeeded """
    folder = os.path.abspath(folder)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    # Pebble's usual ports, as in the README's output; free ones where another program holds them
    pebble = Pebble(os.path.join(folder, "pebble"), env=env)
    pebble.move_taken_ports()
    try:
        pebble.start()
    except PebbleError as error:
        print("Error:", error, file=sys.stderr)
        with open(os.path.join(folder, "transcript.txt"), "w", encoding="utf8") as transcript:
            transcript.write("Error: {0}\n".format(error))
        return False

    with open(os.path.join(folder, "transcript.txt"), "w", encoding="utf8") as transcript:
        def say(text=""):
            if echo:
                print(text, flush=True)
            transcript.write(text + "\n")

        try:
            pebble.write_acme_ini(os.path.join(folder, "acme.ini"))
            say("Pebble is running: {0} (its TLS CA: {1})".format(pebble.directory_url, pebble.ca_file))
            say("Working folder: {0}".format(folder))
            def header(part):
                say("")
                say("=" * 78)
                say("== " + part)
                say("=" * 78)

            def step(command):
                say("")
                say("$ python " + " ".join(shlex.quote(c) for c in command))
                result = subprocess.run([sys.executable, os.path.join(ROOT, command[0])] + command[1:], cwd=folder,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, timeout=300)
                say(result.stdout.rstrip("\n"))
                transcript.flush()
                if result.returncode != 0:
                    say("")
                    say("Walkthrough stopped: {0} exited with status {1}.".format(command[0], result.returncode))
                return result.returncode == 0

            for part, command in steps(pebble.http_port):
                if part:
                    header(part)
                if not step(command):
                    return False

            # A CA that requires external account binding: a second Pebble, with MAC keys
            header("External account binding (a second Pebble that requires it)")
            with Pebble.on_free_ports(os.path.join(folder, "pebble-eab"), env=env, eab_keys=EAB_KEYS) as eab:
                eab.write_acme_ini(os.path.join(folder, "eab.ini"))
                if not step(["new_account.py", "--config", "eab.ini", "--agree-tos"]):
                    return False
            say("")
            say("Walkthrough complete: every step succeeded. Transcript: {0}".format(transcript.name))
            if keep_running:
                print("Pebble keeps running at", pebble.directory_url, "- press Ctrl-C to stop.")
                while True:
                    time.sleep(1)
            return True
        except KeyboardInterrupt:
            return keep_running
        finally:
            pebble.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--dir", default=os.path.join(ROOT, "walkthrough-run"), help="scratch folder (made anew)")
    parser.add_argument("--keep-running", action="store_true", help="leave Pebble running at the end (Ctrl-C stops)")
    args = parser.parse_args(argv)
    return 0 if run(args.dir, keep_running=args.keep_running) else 1


if __name__ == "__main__":
    sys.exit(main())
