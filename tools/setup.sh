#!/usr/bin/env bash
# Installs what the examples need: a virtual environment .venv with the Python packages, and
# Debian's pebble package (Let's Encrypt's test server) when it is missing.
# Usage: tools/setup.sh [requirements file]   (default: requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=${1:-requirements.txt}
python=${PYTHON:-python3}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
    command -v apt-get >/dev/null || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
        || { as_root apt-get update -qq >/dev/null 2>&1 && \
             as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

if [ ! -x .venv/bin/python ]; then
    if ! "$python" -m venv .venv >/dev/null 2>&1; then
        rm -rf .venv
        apt_install python3-venv || {
            echo "Error: cannot create a Python virtual environment. Install it with: sudo apt-get install python3-venv" >&2
            exit 1; }
        "$python" -m venv .venv
    fi
fi
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements" > .venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    echo "Error: pip could not install $requirements (see above)." >&2
    exit 1
fi

# The tests also run acme2certifier (a second ACME server, with ARI and profiles) from a venv of its own:
# it pulls in pyOpenSSL and certbot's acme package, which the examples never need
if [ "$requirements" = requirements-dev.txt ]; then
    if [ ! -x .venv-a2c/bin/python ]; then "$python" -m venv .venv-a2c; fi
    if ! .venv-a2c/bin/python -m pip install -q --disable-pip-version-check -r requirements-acme2certifier.txt \
            > .venv-a2c/pip.log 2>&1; then
        cat .venv-a2c/pip.log >&2
        echo "Error: pip could not install requirements-acme2certifier.txt (see above)." >&2
        exit 1
    fi
fi

if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
    echo "Installing Pebble (Debian package pebble)..."
    apt_install pebble || {
        echo "Error: Pebble is not installed and could not be installed here." >&2
        echo "Install it with: sudo apt-get install pebble   (Debian 12+ / Ubuntu 22.04+)" >&2
        exit 1; }
fi
