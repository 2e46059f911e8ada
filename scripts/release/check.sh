#!/usr/bin/env bash
# Build the sdist and a manylinux wheel the way a release would, and check
# what PyPI would check, and that the wheel works where pyws's sources are
# not around.
#
#   bash scripts/release/check.sh [PYTHON]
#
# PYTHON: a virtualenv's python with the 'dist' extra installed (default:
# .venv/bin/python). About a minute, most of it installing the test extra.
#
# Steps: python -m build (sdist, then a wheel built from that sdist);
# auditwheel repair (needs patchelf) retags the wheel manylinux, or fails if
# the C helper links against something a manylinux policy does not allow;
# twine check --strict; the sdist must carry the tests, docs, changelog and
# licence; the wheel, installed with its 'test' extra into a fresh virtualenv
# and imported from outside the source tree, must load the compiled
# pyws.speedups and pass the sdist's unit tests. The results are left in dist/.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=${1:-.venv/bin/python}
BIN=$(dirname "$PY")
export PATH="$BIN:$PATH"    # auditwheel runs patchelf from PATH
fail() { echo "check.sh: $*" >&2; exit 1; }

rm -rf dist
"$PY" -m build --outdir dist . >/dev/null

shopt -s nullglob
raw=(dist/*-linux_*.whl)
[ ${#raw[@]} -eq 1 ] || fail "expected one linux_* wheel from build, got: $(ls dist)"
"$PY" -m auditwheel repair --wheel-dir dist "${raw[0]}"
rm -f "${raw[0]}"

wheels=(dist/*.whl)
sdists=(dist/*.tar.gz)
[ ${#wheels[@]} -eq 1 ] && [ ${#sdists[@]} -eq 1 ] || fail "expected one wheel and one sdist: $(ls dist)"
wheel=${wheels[0]}
sdist=${sdists[0]}
case "$(basename "$wheel")" in
    *-manylinux*_x86_64.whl | *-manylinux*_aarch64.whl | *manylinux*.whl) ;;
    *) fail "wheel is not manylinux-tagged: $wheel" ;;
esac
echo "wheel: $(basename "$wheel")"
echo "sdist: $(basename "$sdist")"

"$PY" -m twine check --strict dist/*

# The sdist must be enough to build, test and document pyws.
listing=$(tar tzf "$sdist")
for path in LICENSE CHANGELOG.md README.md pyws/speedups.c docs/conf.py docs/index.md \
    test/unit/test_exports.py test/integration/conftest.py test/interop/package-lock.json \
    scripts/compare/__main__.py; do
    grep -qx "[^/]*/$path" <<<"$listing" || fail "sdist lacks $path"
done
built='(\.so|\.pyc|/node_modules/|/docs/_build/|/docs/_generated/)'
if grep -qE "$built" <<<"$listing"; then
    fail "sdist carries build products: $(grep -E "$built" <<<"$listing" | head -3)"
fi

# A fresh virtualenv, the wheel alone, run from a directory with no pyws/.
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"$PY" -m venv "$venv"
"$venv/bin/python" -m pip install -q "$wheel[test]"
(cd "$venv" && env -u PYWS_NO_SPEEDUPS "$venv/bin/python" - <<'PYEOF'
import os
import sys

import pyws
from pyws import buffer_util

here = os.path.dirname(pyws.__file__)
assert here.startswith(sys.prefix), f"pyws imported from {here}, not the venv"
assert buffer_util.SPEEDUPS, "the wheel's C helper pyws.speedups did not load"
from pyws import speedups

assert speedups.__file__.endswith(".so"), speedups.__file__
data, mask = bytes(range(256)) * 4, b"\x01\x02\x03\x04"
assert buffer_util.apply_mask(data, mask) == buffer_util.apply_mask_py(data, mask)
print(f"installed wheel OK: pyws {pyws.__version__}, speedups at {speedups.__file__}")
PYEOF
)
"$venv/bin/pyws-node" --help >/dev/null

# The sdist's own unit tests against the installed wheel: run from outside
# the unpacked tree, so that neither pytest nor the tests' subprocesses can
# import the sources instead of the wheel.
tar xzf "$sdist" -C "$venv"
src=$(echo "$venv"/pyws_node-*/)
(cd "$venv" && env -u PYWS_NO_SPEEDUPS "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    -c "$src/setup.cfg" --rootdir "$src" "$src/test/unit" "$src/test/docs")
