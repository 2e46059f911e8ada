#!/usr/bin/env bash
# Set up the Autobahn TestSuite (wstest, Python 2 code) for pyws.
#
# Creates, from the pins in this folder:
#   scripts/autobahn/.venv-tools  Python 3 venv holding virtualenv 20.21.1
#                                 (the last release that can create a 2.7 env)
#   scripts/autobahn/.venv27      Python 2.7 virtualenv with wstest 0.8.2
#
# Idempotent: a venv whose stamp matches its requirements file is kept.
# Finds Python 2.7 in $PYWS_PYTHON27, on PATH, or under pyenv's versions/.
# Exit status: 0 ready, 3 no Python 2.7 found, anything else a failure.
#
# Usage: bash scripts/autobahn/setup.sh [--quiet]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
quiet=0
[[ "${1:-}" == "--quiet" ]] && quiet=1

log() { echo "autobahn setup: $*"; }

is_py27() {
    [[ -n "$1" && -x "$1" ]] &&
        "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' >/dev/null 2>&1
}

find_python27() {
    local cand
    local -a cands=()
    [[ -n "${PYWS_PYTHON27:-}" ]] && cands+=("$PYWS_PYTHON27")
    cand="$(command -v python2.7 2>/dev/null || true)"
    [[ -n "$cand" ]] && cands+=("$cand")
    local root="${PYENV_ROOT:-$HOME/.pyenv}"
    for cand in "$root"/versions/2.7*/bin/python2.7; do
        [[ -e "$cand" ]] && cands+=("$cand")
    done
    for cand in "${cands[@]}"; do
        # A pyenv shim exists even when 2.7 is not selected: run it to check.
        if is_py27 "$cand"; then
            "$cand" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    return 1
}

stamp_of() { sha256sum "$1" | cut -d' ' -f1; }

pip_quiet=()
((quiet)) && pip_quiet=(-q)

py27="$(find_python27)" || {
    log "no Python 2.7 found (set PYWS_PYTHON27 or install 2.7 with pyenv)"
    exit 3
}
log "Python 2.7: $py27"

# 1. The Python 3 tool venv with a virtualenv that still makes 2.7 envs.
tools="$here/.venv-tools"
tools_req="$here/requirements-tools.txt"
if [[ ! -f "$tools/.stamp" || "$(cat "$tools/.stamp")" != "$(stamp_of "$tools_req")" ]]; then
    log "creating $tools"
    rm -rf "$tools"
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install "${pip_quiet[@]}" --disable-pip-version-check -r "$tools_req"
    stamp_of "$tools_req" >"$tools/.stamp"
fi

# 2. The Python 2.7 virtualenv with wstest.
venv="$here/.venv27"
req="$here/requirements-py27.txt"
if [[ ! -f "$venv/.stamp" || "$(cat "$venv/.stamp")" != "$(stamp_of "$req")" ]] ||
    ! "$venv/bin/python" -c 'import autobahntestsuite' >/dev/null 2>&1; then
    log "creating $venv"
    rm -rf "$venv"
    "$tools/bin/virtualenv" --no-periodic-update -p "$py27" "$venv" >/dev/null
    # pip 20.3.4, bundled with virtualenv 20.21.1, is the last pip for 2.7.
    PYTHONWARNINGS=ignore "$venv/bin/python" -m pip install "${pip_quiet[@]}" \
        --disable-pip-version-check --no-python-version-warning -r "$req"
    stamp_of "$req" >"$venv/.stamp"
fi

# 3. Prove wstest starts.
if ! PYTHONWARNINGS=ignore "$venv/bin/wstest" --help >/dev/null 2>&1; then
    log "wstest --help failed:"
    PYTHONWARNINGS=ignore "$venv/bin/wstest" --help || true
    exit 1
fi
log "ready: $venv/bin/wstest ($(PYTHONWARNINGS=ignore "$venv/bin/python" -c 'import autobahntestsuite as a; print(a.__version__)'))"
