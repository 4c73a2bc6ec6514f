""" The snippet the READMEs print for copying (<!-- snippet: account -->, issue 19) runs as printed

Each README's snippet is written, unchanged, into an empty folder that holds only myhelper.py (the one
module it may use besides requests), an account key made by make_account_key.py and an acme.ini for
Pebble (a reader's acme.ini points at Let's Encrypt staging, which the tests cannot reach). Run there:
the first time it creates the account and prints its URL, the second time it finds the same account,
and get_account_url.py finds that URL for the key too. A CA that refuses the request (one that requires
external account binding) makes it print the CA's problem and exit 1. test_readmes_in_step.py checks
without a CA that both READMEs show the same code, short, with its timeouts and verify in sight.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from fake_ca import ROOT
from real_cas import Reader, start_pebble
from test_readmes_in_step import read, snippet

pytestmark = pytest.mark.e2e
READMES = ["README.md", "README.ja.md"]


def folder_with_the_snippet(folder, readme, pebble, key_type):
    """ An empty folder, as a reader's own: the snippet as my_account.py, myhelper.py, acme.ini, account.key """
    folder.mkdir()
    reader = Reader(folder, pebble)
    reader.run("make_account_key.py", "--type", key_type, *(["--bits", "2048"] if key_type == "rsa" else []))
    shutil.copy2(os.path.join(ROOT, "myhelper.py"), str(folder / "myhelper.py"))
    (folder / "my_account.py").write_text(snippet(read(readme)), encoding="utf8")
    return reader


def run_snippet(folder):
    """ python my_account.py in the folder, with nothing of the project on the path but the copied myhelper.py """
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    return subprocess.run([sys.executable, "my_account.py"], cwd=str(folder), env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
@pytest.mark.parametrize("readme", READMES)
def test_the_snippet_creates_the_account_then_finds_it(readme, key_type, pebble, tmp_path):
    folder = tmp_path / "mine"
    reader = folder_with_the_snippet(folder, readme, pebble, key_type)
    assert sorted(os.listdir(str(folder))) == ["account.key", "acme.ini", "my_account.py", "myhelper.py"]

    first = run_snippet(folder)
    assert first.returncode == 0 and first.stderr == "", first.stdout + first.stderr
    created = re.fullmatch(r"Account URL: (https://\S+) \(created\)\n", first.stdout)
    assert created, first.stdout
    url = created.group(1)
    assert url.startswith(pebble.directory_url.rsplit("/", 1)[0] + "/"), url

    second = run_snippet(folder)
    assert (second.returncode, second.stdout, second.stderr) == (0, "Account URL: {0} (existing)\n".format(url), "")
    assert "Account URL: {0}\n".format(url) in reader.run("get_account_url.py").stdout


@pytest.mark.parametrize("readme", READMES)
def test_the_snippet_prints_the_cas_problem_and_exits_1(readme, tmp_path, tmp_path_factory):
    from pebble import EAB_KEYS
    eab = start_pebble(tmp_path_factory, "snippet-eab", eab_keys=EAB_KEYS)
    try:
        folder = tmp_path / "mine"
        folder_with_the_snippet(folder, readme, eab, "ec")
        refused = run_snippet(folder)
    finally:
        eab.stop()
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stdout + refused.stderr
    assert refused.stdout.startswith("Error Type: urn:ietf:params:acme:error:"), refused.stdout
    assert "Detail: " in refused.stdout and "Account URL" not in refused.stdout
