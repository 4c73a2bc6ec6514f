#!/usr/bin/env bash
# Installs what the examples need: a virtual environment .venv with the Python packages of the given
# requirements files; .venv-a2c with acme2certifier (a second ACME server, with renewal information
# and profiles, that the walkthrough and the tests run on 127.0.0.1: it pulls in pyOpenSSL and
# certbot's acme package, which the examples never need); and Debian's pebble package (Let's
# Encrypt's test server) when it is missing.
# Usage: tools/setup.sh [requirements file...]   (default: requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ $# -gt 0 ] || set -- requirements.txt

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
    command -v apt-get >/dev/null || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
        || { as_root apt-get update -qq >/dev/null 2>&1 && \
             as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

venv() {   # venv FOLDER REQUIREMENTS...: make FOLDER if needed, install into it
    local folder=$1; shift
    if [ ! -x "$folder/bin/python" ]; then
        if ! "$python" -m venv "$folder" >/dev/null 2>&1; then
            rm -rf "$folder"
            apt_install python3-venv || {
                echo "Error: $python -m venv cannot create a virtual environment: on Debian, Ubuntu and WSL the venv" >&2
                echo "module is a package of its own. Install it with: sudo apt install python3-venv" >&2
                exit 1; }
            "$python" -m venv "$folder"
        fi
    fi
    local args=()
    for requirements in "$@"; do args+=(-r "$requirements"); done
    if ! "$folder/bin/python" -m pip install -q --disable-pip-version-check "${args[@]}" > "$folder/pip.log" 2>&1; then
        cat "$folder/pip.log" >&2
        echo "Error: pip could not install $* into $folder (see above)." >&2
        exit 1
    fi
}

venv .venv "$@"
venv .venv-a2c requirements-acme2certifier.txt

if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
    echo "Installing Pebble (Debian package pebble)..."
    apt_install pebble || {
        echo "Error: Pebble is not installed and could not be installed here." >&2
        echo "Install it with: sudo apt-get install pebble   (Debian 12+ / Ubuntu 22.04+)" >&2
        exit 1; }
fi
