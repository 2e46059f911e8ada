#!/usr/bin/env bash
# Install everything the test suite needs, from the project's own files:
#   - the package with its test extra, and the other implementations the
#     behaviour lab drives (scripts/compare/requirements.txt), into the
#     Python given as $PYTHON (default: python3 on PATH);
#   - Node ws for the interop tests (npm ci --prefix test/interop);
#   - redis-server (Redis fan-out tests) and chromium (the browser tests and
#     the lab's Chromium adapter), from Debian's packages, when missing and
#     when this runs as root with apt-get;
#   - the Autobahn TestSuite's pinned wstest (needs CPython 2.7).
# A component that cannot be installed is reported here; its tests then say
# they are skipped and why. Used by the README's test command and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

say() { printf '\n--> %s\n' "$*"; }

apt_install() {  # apt_install PACKAGE: install a Debian package when possible
    if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
        echo "$1: not installed and no apt-get as root; its tests will say they are skipped"
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "$1" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq "$1" >/dev/null; } \
        || echo "$1 could not be installed; its tests will say they are skipped"
}

say "Python packages ($("$PYTHON" --version))"
"$PYTHON" -m pip install -q -e '.[test]'
"$PYTHON" -m pip install -q -r scripts/compare/requirements.txt

say "Node ws for the interop tests"
if command -v npm >/dev/null 2>&1; then
    npm ci --prefix test/interop --no-audit --no-fund
else
    echo "npm not found: the interop tests will say they are skipped"
fi

say "redis-server"
command -v redis-server >/dev/null 2>&1 && echo "redis-server: $(command -v redis-server)" \
    || apt_install redis-server

say "chromium"
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    echo "chromium: $(command -v chromium || command -v chromium-browser)"
else
    apt_install chromium
fi

if [ -f scripts/autobahn/setup.sh ]; then
    say "Autobahn TestSuite (Python 2.7)"
    # Exit 3 means no Python 2.7: the quick Autobahn test then says it is skipped.
    bash scripts/autobahn/setup.sh --quiet || [ $? -eq 3 ]
fi
