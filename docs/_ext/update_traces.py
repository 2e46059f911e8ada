"""Re-record the traces the closing page draws (``docs/_traces/*.json``).

Runs ``python -m scripts.compare --save`` for every scenario that has a
trace here (both implementations, Node ws as A and pyws as B), drops the
adapters' stderr, and rewrites the files. Needs what ``scripts/compare``
needs: ``pip install -e .`` and ``npm ci --prefix test/interop``.

    python docs/_ext/update_traces.py            # from the repository root

The SVGs are drawn from these files when the docs are built.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TRACES = ROOT / "docs" / "_traces"


def main() -> int:
    scenarios = sorted({p.name.split(".")[0] for p in TRACES.glob("*.json")})
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(
            [sys.executable, "-m", "scripts.compare", "-q", "--save", tmp, *scenarios],
            cwd=ROOT,
            timeout=600,
        )
        if run.returncode != 0:
            print("scripts.compare reported a difference: traces left as they were")
            return run.returncode
        for path in sorted(Path(tmp).glob("*.json")):
            trace = json.loads(path.read_text("utf-8"))
            trace.pop("stderr", None)
            target = TRACES / path.name
            if target.exists():
                target.write_text(json.dumps(trace, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
