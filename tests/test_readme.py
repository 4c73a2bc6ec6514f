""" The README's outputs are real: a fresh walkthrough against Pebble must print the same lines

Values that differ on every run (ports, nonces, URLs' random parts, keys' thumbprints, dates,
serials) are normalized; everything else must match, line for line (in any order, since Pebble
lists challenges and identifiers in random order). Update the README with:
    python tools/update_readme.py
"""

import os
import re

import pytest

import update_readme
import walkthrough
from conftest import ROOT, pebble_binaries

NOISE = ("  web server: ", "Status of the authorization", "The server rejected the nonce")


def normalize(text):
    lines = []
    for line in text.splitlines():
        if line.startswith(NOISE) or not line.strip():
            continue
        line = re.sub(r"https?://(localhost|127\.0\.0\.1):\d+", "URL", line)
        line = re.sub(r"[A-Za-z0-9_-]{12,}", "X", line)
        line = re.sub(r"\b[0-9a-f]{6,}\b", "X", line)
        lines.append(re.sub(r"\d+", "0", line))
    return sorted(lines)


pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def transcript(tmp_path_factory):
    pebble_binaries()
    folder = tmp_path_factory.mktemp("walkthrough")
    ok = walkthrough.run(str(folder), echo=False)
    text = open(os.path.join(folder, "transcript.txt"), encoding="utf8").read()
    assert ok, text[-3000:]
    return update_readme.parse_transcript(text)


@pytest.mark.parametrize("readme", ["README.md", "README.ja.md"])
def test_readme_outputs_match_a_fresh_walkthrough(transcript, readme):
    path = os.path.join(ROOT, readme)
    if readme != "README.md" and not os.path.exists(path):
        pytest.fail(readme + " is missing")
    text = open(path, encoding="utf8").read()
    found = update_readme.blocks(text)
    assert len(found) >= 15, "the README lost its output blocks"
    by_shape = {update_readme.normalize_command(c): o for c, o in transcript.items()}
    for command, body in found:
        assert update_readme.normalize_command(command) in by_shape, "the walkthrough no longer runs " + command
        shown = update_readme.block_output(body)
        assert shown.strip(), "empty block for {0}: run python tools/update_readme.py".format(command)
        assert normalize(shown) == normalize(by_shape[update_readme.normalize_command(command)]), (
            "{0}: {1} and the script disagree; run python tools/update_readme.py".format(readme, command))


def test_readme_names_every_script():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf8").read()
    scripts = [f for f in os.listdir(ROOT) if f.endswith(".py") and f not in ("helper.py", "myhelper.py",
                                                                              "transport.py", "alibaba.py")]
    assert scripts
    for script in scripts:
        assert "`" + script in text, script + " is not in the README's table"
