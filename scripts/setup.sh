#!/usr/bin/env bash
# Installs what eldercare needs on a fresh Debian machine, skipping what is already there:
#   system packages (mosquitto, PostgreSQL, Chromium) when running tests, and the Python
#   virtual environment (.venv) with the project and its development dependencies.
# Usage: scripts/setup.sh [runtime|test]
set -euo pipefail
cd "$(dirname "$0")/.."
want="${1:-test}"

need=()
if [ "$want" = test ]; then
    command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
    # mosquitto_pub/_sub: the benchmark's ceiling (C clients), a separate Debian package.
    command -v mosquitto_sub >/dev/null 2>&1 || need+=(mosquitto-clients)
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
    [ -x /usr/bin/chromium ] || need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
        echo "setup: please install: ${need[*]} (apt-get install ${need[*]})" >&2
        exit 1
    fi
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    echo "setup: installing ${need[*]} with apt-get"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # Debian starts the packaged services; the project starts its own instances instead.
    $SUDO systemctl disable --now mosquitto postgresql >/dev/null 2>&1 || true
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# constraints.txt pins every package to the versions the suite last passed with; the stamp
# changes with either file, so an edit to one reinstalls.
stamp=.venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
