#!/usr/bin/env bash
# Runs every test: mocked ones and end-to-end ones against a local Pebble that the tests start.
# Installs what it needs first (.venv with requirements-dev.txt, Debian's pebble).
# Extra arguments go to pytest, e.g. ./test.sh -k new_account
set -euo pipefail
cd "$(dirname "$0")"
tools/setup.sh requirements-dev.txt
exec .venv/bin/python -m pytest "$@"
