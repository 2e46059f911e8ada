"""The compare tool's operations scenarios: heartbeat and shutdown.

pyws's ``pingInterval``/``pingTimeout`` and ``wss.shutdown()`` against what
ws users write by hand (the ws adapter runs ws's README heartbeat and closes
every client with 1001 before ``wss.close()``): the traces must be the same,
but for the one intended difference of a client (it waits for the server's
FIN, docs/closing.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WS_MODULE = REPO / "test" / "interop" / "node_modules" / "ws"
FACTOR = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1") or "1")

SCENARIOS = [
    "server-heartbeat-silent-peer",
    "server-heartbeat-answered",
    "client-heartbeat-silent-peer",
    "client-heartbeat-answered",
    "server-shutdown",
    "server-shutdown-silent-peer",
]


@pytest.mark.skipif(
    shutil.which("node") is None or not WS_MODULE.is_dir(),
    reason="node or test/interop/node_modules/ws missing: npm ci --prefix test/interop",
)
def test_operations_scenarios_match_hand_written_ws() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.compare", "--json", *SCENARIOS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120 * FACTOR,
    )
    out = json.loads(proc.stdout)
    statuses = {r["scenario"]: r["status"] for r in out["results"]}
    assert set(statuses) == set(SCENARIOS)
    assert proc.returncode == 0, statuses
    for name, status in statuses.items():
        # Only a client that closes normally waits for the server's FIN.
        expected = "intended" if name == "client-heartbeat-answered" else "same"
        assert status == expected, (name, status)
