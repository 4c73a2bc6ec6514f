#!/usr/bin/env bash
# Runs the article's whole story against a local Pebble, script by script, in walkthrough-run/:
# keys -> account -> order -> challenges -> finalize -> certificate -> revocation -> account end.
# Installs what it needs first (.venv with requirements.txt, Debian's pebble).
# Your own acme.ini and account.key are never touched.
set -euo pipefail
cd "$(dirname "$0")"
tools/setup.sh requirements.txt requirements-alibaba.txt
exec .venv/bin/python tools/walkthrough.py "$@"
