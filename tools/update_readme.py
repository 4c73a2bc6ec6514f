""" Copy real script output from a walkthrough transcript into README.md and README.ja.md

Each block between
    <!-- output: python SCRIPT ARGS -->   and   <!-- end output -->
is replaced by that command and what it printed in the walkthrough (the first time it ran).

    python tools/update_readme.py                       # runs the walkthrough first (needs Pebble)
    python tools/update_readme.py --transcript walkthrough-run/transcript.txt
"""

import argparse
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
READMES = [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "README.ja.md")]
BLOCK = re.compile(r"(<!-- output: (?P<command>.+?) -->\n)(?P<body>.*?)(<!-- end output -->)", re.S)
FENCE = "```"


def parse_transcript(text):
    """ [(command, output)] for every "$ ..." of a walkthrough transcript, in order """
    outputs = []
    command, lines = None, []
    for line in text.splitlines() + ["$ end"]:
        if line.startswith(("$ ", "=====", "Walkthrough complete", "Walkthrough stopped")):
            if command:
                while lines and not lines[-1].strip():
                    lines.pop()
                outputs.append((command, "\n".join(lines)))
            command, lines = (line[2:], []) if line.startswith("$ ") else (None, [])
        elif command:
            lines.append(line)
    return outputs


def runs(outputs):
    """ {normalized command: [output of its first run, of its second run, ...]} """
    found = {}
    for command, output in outputs:
        found.setdefault(normalize_command(command), []).append(output)
    return found


def blocks(readme_text):
    """ [(command, body)] of the output blocks in a README """
    return [(m.group("command"), m.group("body")) for m in BLOCK.finditer(readme_text)]


def block_output(body):
    """ The output lines of a README block (without the fence and the "$ command" line) """
    lines = body.strip("\n").splitlines()
    lines = [line for line in lines if line != FENCE and line != FENCE + "text"]
    return "\n".join(lines[1:]) if lines and lines[0].startswith("$ ") else "\n".join(lines)


def normalize_command(command):
    return re.sub(r"\d+", "0", command)


def fill(readme_text, outputs):
    """ Each output block gets the output of its command's run: the nth block the nth run """
    found, seen = runs(outputs), {}

    def replace(match):
        command = match.group("command")
        shape = normalize_command(command)
        seen[shape] = seen.get(shape, -1) + 1
        if seen[shape] >= len(found.get(shape, [])):
            raise SystemExit("No output for {0!r} (run {1}) in the transcript".format(command, seen[shape] + 1))
        body = "{0}text\n$ {1}\n{2}\n{0}\n".format(FENCE, command, found[shape][seen[shape]])
        return match.group(1) + body + match.group(4)
    return BLOCK.sub(replace, readme_text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--transcript", help="a walkthrough transcript (default: run the walkthrough now)")
    args = parser.parse_args(argv)
    if args.transcript:
        text = open(args.transcript, encoding="utf8").read()
    else:
        sys.path.insert(0, HERE)
        import walkthrough
        folder = tempfile.mkdtemp(prefix="walkthrough-")
        if not walkthrough.run(folder, echo=False):
            print("Error: the walkthrough failed; see", os.path.join(folder, "transcript.txt"), file=sys.stderr)
            return 1
        text = open(os.path.join(folder, "transcript.txt"), encoding="utf8").read()
    outputs = parse_transcript(text)
    for readme in READMES:
        if os.path.exists(readme):
            with open(readme, encoding="utf8") as f:
                old = f.read()
            new = fill(old, outputs)
            if new != old:
                with open(readme, "w", encoding="utf8") as f:
                    f.write(new)
                print("Updated", os.path.relpath(readme, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
