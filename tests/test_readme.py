""" The READMEs are true, as a new user finds them

- Every command of each README runs as shown, in the README's order, in a fresh copy of the project,
  against local CAs this test starts itself (Pebble, a second Pebble with EAB, acme2certifier, the
  fake Alibaba Cloud API, and for dns-persist-01 a validating acme2certifier with a second fake API):
  what the README's start-up commands, or ./walkthrough.sh, would give a reader. Its output matches
  the README's block (values that differ on every run, and the order of lines, normalized).
- A block marked <!-- not run: why --> (Let's Encrypt itself, cron and systemd lines, the quick start,
  foreground servers) only has its scripts and options checked.
- The walkthrough (./walkthrough.sh) still runs every command the README shows.
Update the READMEs' outputs with: python tools/update_readme.py
"""

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

import update_readme
import walkthrough
from fake_ca import ROOT
from real_cas import pebble_binaries, start_pebble

pytestmark = pytest.mark.e2e
READMES = ["README.md", "README.ja.md"]
# lines whose number may differ from run to run: the CA's connections to the challenge servers, retries
NOISE = ("  web server: ", "  tls-alpn-01 server: ", "Status of the authorization", "Status of the order",
         "The server rejected the nonce",
         "  DNSHook: ")
FENCE = re.compile(r"(?:<!-- not run: (?P<why>[^>]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)


DAY_OR_MONTH = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")


def normalize(text):
    """ The lines of an output, sorted, with what differs on every run (URLs, nonces, serials, every
    number and so every date and time, weekday and month names) masked: the comparison holds on any day """
    # the web server's thread writes its line whole, but it may land between the pieces a print() of
    # the main thread writes ("Calling endpoint:", " ", the URL): taken out wherever it is
    text = re.sub(r"  web server: [^\n]*\n", "", text)
    lines, calls = [], set()
    for line in text.splitlines():
        if line.startswith(NOISE) or not line.strip():
            continue
        if line.startswith("Calling endpoint:"):
            if line in calls:
                continue                # a poll repeated because the CA was not done yet is no difference
            calls.add(line)
        line = DAY_OR_MONTH.sub("Day", line)
        line = re.sub(r"https?://(localhost|127\.0\.0\.1)(:\d+)?", "URL", line)
        line = re.sub(r"localhost:\d+", "URL", line)
        line = re.sub(r"[A-Za-z0-9_-]{8,}", "X", line)
        line = re.sub(r"\b[0-9a-f]{6,}\b", "X", line)
        line = re.sub(r"\d+", "0", line)
        lines.append(line)
    return sorted(lines)


# Pebble reuses a valid authorization for one order in a hundred even with PEBBLE_AUTHZREUSE=0 (its
# wfe.go makes a new one only if rand.Intn(100) > percent, and 0 > 0 is false): the script then prints
# this line instead of that name's challenge, as it would at Let's Encrypt, which reuses them too
REUSED = re.compile(r"^Authorization for (.+): already valid, nothing to do$", re.M)
CHALLENGE_SERVER = ("Serving ", "Stopped the ", "Checked: ")


def same_output(actual, shown):
    """ The same lines, normalized; and where one run found a name's authorization valid already and
    the other validated it, the same kinds of line but for that name's challenge (a line of another
    name's challenge, masked, reads as one of its: here only which lines, not how many, can count) """
    if normalize(actual) == normalize(shown):
        return True
    reused = set(REUSED.findall(actual)) ^ set(REUSED.findall(shown))
    return bool(reused) and set(normalize(without_challenges(actual, reused))) == set(normalize(
        without_challenges(shown, reused)))


def without_challenges(text, names):
    """ The text without the lines that name these names (their challenge, their TXT record, the line
    that says they were valid already), the challenge calls and the challenge server's lines """
    name = re.compile(r"(?<![\w.*-])(?:_acme-challenge\.)?(?:{0})(?![\w.-])".format("|".join(map(re.escape, names))))
    text = re.sub(r"  web server: [^\n]*\n", "", text)
    return "\n".join(line for line in text.splitlines()
                     if not (name.search(line) or "/chalZ/" in line or line.startswith(CHALLENGE_SERVER)))


def commands(text):
    """ [(command, not-run reason or None, the output block's text or None)], in the README's order """
    found = []
    for match in FENCE.finditer(text):
        body, why, lang = match.group("body"), match.group("why"), match.group("lang")
        if lang == "text":
            first, _, rest = body.partition("\n")
            if first.startswith("$ "):
                found.append((first[2:], why, rest))
            continue
        if lang != "sh":
            assert why or lang == "", "a {0} block must be marked <!-- not run: why -->".format(lang)
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                found.append((line, why, None))
    return found


def test_commands_are_found_in_both_readmes():
    for readme in READMES:
        found = commands(open(os.path.join(ROOT, readme), encoding="utf8").read())
        assert len([c for c, why, _o in found if not why]) >= 40, readme


@pytest.mark.parametrize("readme", READMES)
def test_not_run_blocks_name_scripts_and_options_that_exist(readme):
    helps = {}
    for command, why, _output in commands(open(os.path.join(ROOT, readme), encoding="utf8").read()):
        if not why:
            continue
        for part in re.split(r"&&|;", command):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                continue
            scripts = [w for w in words if w.endswith(".py")]
            if not scripts:
                continue
            script = os.path.basename(scripts[0])
            path = os.path.join(ROOT, "tools", script) if "tools/" in scripts[0] else os.path.join(ROOT, script)
            assert os.path.exists(path), "{0}: {1} does not exist".format(readme, scripts[0])
            if path not in helps:
                helps[path] = subprocess.run([sys.executable, path, "--help"], capture_output=True, text=True,
                                             timeout=60).stdout
            for option in [w.split("=")[0] for w in words[words.index(scripts[0]) + 1:] if w.startswith("--")]:
                assert option in helps[path], "{0}: {1} has no option {2}".format(readme, script, option)


def fresh_copy(folder):
    """ The project as a clone would have it (tracked files, and new ones not ignored) """
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    for name in listed:
        if os.path.isfile(os.path.join(ROOT, name)):
            os.makedirs(os.path.join(folder, os.path.dirname(name)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), os.path.join(folder, name))
    return folder


@pytest.mark.parametrize("readme", READMES)
def test_every_command_runs_as_shown_in_a_fresh_copy(readme, tmp_path_factory):
    from acme2certifier import Acme2Certifier
    from fake_alibaba import FakeAlibaba
    from pebble import EAB_KEYS
    copy = fresh_copy(str(tmp_path_factory.mktemp("clone")))
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "python").write_text('#!/bin/sh\nexec "{0}" "$@"\n'.format(sys.executable))   # this environment's
    (bin_dir / "python").chmod(0o755)
    env = dict(os.environ, PATH="{0}:{1}".format(bin_dir, os.environ["PATH"]))
    servers = []
    try:
        # what `python tools/pebble.py --ini pebble.ini --alibaba-ini alibaba.ini`, `... --eab --ini eab.ini`
        # and `python tools/acme2certifier.py --ini a2c.ini` give a reader
        pebble = start_pebble(tmp_path_factory, "readme-pebble")
        servers.append(pebble)
        pebble.write_acme_ini(os.path.join(copy, "pebble.ini"))
        cloud = FakeAlibaba(str(tmp_path_factory.mktemp("readme-cloud")), zones=("ali.example.test",),
                            cdn_domains=("cdn.ali.example.test",), api_domains=(("g1", "api.ali.example.test"),),
                            challtest_url=pebble.challtest_url).start()
        servers.append(cloud)
        pebble.write_alibaba_ini(os.path.join(copy, "alibaba.ini"), cloud, root=copy)
        eab = start_pebble(tmp_path_factory, "readme-eab", eab_keys=EAB_KEYS)
        servers.append(eab)
        eab.write_acme_ini(os.path.join(copy, "eab.ini"))
        a2c = Acme2Certifier(str(tmp_path_factory.mktemp("readme-a2c"))).start()
        servers.append(a2c)
        a2c.write_acme_ini(os.path.join(copy, "a2c.ini"))
        # dns-persist-01 as ./walkthrough.sh runs it (walkthrough.persist_story): persist.ini
        persist = Acme2Certifier(str(tmp_path_factory.mktemp("readme-persist")), dns_persist=True,
                                 policy_wildcard=True).start()
        servers.append(persist)
        persist_cloud = FakeAlibaba(str(tmp_path_factory.mktemp("readme-persist-cloud")), zones=("example.test",),
                                    challtest_url=persist.dns.management_url).start()
        servers.append(persist_cloud)
        persist.write_acme_ini(os.path.join(copy, "persist.ini"),
                               **dict(walkthrough.PERSIST_INI, **persist_cloud.ini_values()))

        ran = 0
        for command, why, shown in commands(open(os.path.join(ROOT, readme), encoding="utf8").read()):
            if why:
                continue
            if command.startswith("export "):
                env.update(assignment.split("=", 1) for assignment in shlex.split(command)[1:])
                continue
            if command.startswith("unset "):
                for name in shlex.split(command)[1:]:
                    env.pop(name, None)
                continue
            result = subprocess.run(["bash", "-c", command], cwd=copy, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
            assert result.returncode == 0, "{0}: `{1}` failed as shown:\n{2}".format(readme, command, result.stdout)
            if shown is not None:
                assert same_output(result.stdout, shown), (
                    "{0}: `{1}` prints something else than the README shows; run python tools/update_readme.py"
                    .format(readme, command))
            ran += 1
        assert ran >= 40
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture(scope="module")
def transcript(tmp_path_factory):
    pebble_binaries()
    folder = tmp_path_factory.mktemp("walkthrough")
    ok = walkthrough.run(str(folder), echo=False)
    text = open(os.path.join(folder, "transcript.txt"), encoding="utf8").read()
    assert ok, text[-3000:]
    return update_readme.runs(update_readme.parse_transcript(text))


@pytest.mark.parametrize("readme", READMES)
def test_the_walkthrough_runs_every_command_the_readme_shows(transcript, readme):
    text = open(os.path.join(ROOT, readme), encoding="utf8").read()
    found = update_readme.blocks(text)
    assert len(found) >= 40, "the README lost its output blocks"
    seen = {}
    for command, body in found:
        shape = update_readme.normalize_command(command)
        seen[shape] = seen.get(shape, -1) + 1
        assert seen[shape] < len(transcript.get(shape, [])), "the walkthrough no longer runs " + command
        assert same_output(transcript[shape][seen[shape]], update_readme.block_output(body)), (
            "{0}: {1} and the walkthrough disagree; run python tools/update_readme.py".format(readme, command))


def test_readme_names_every_script():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf8").read()
    scripts = [f for f in os.listdir(ROOT) if f.endswith(".py") and f not in ("helper.py", "myhelper.py",
                                                                              "alibaba.py")]
    assert len(scripts) >= 26
    for script in scripts:
        assert "`" + script in text, script + " is not in the README's table"
