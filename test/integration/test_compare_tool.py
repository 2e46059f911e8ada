"""Tests for scripts/compare, the ws-vs-pyws behaviour comparison tool.

Runs scenarios from the library through the real tool (Node ws against
itself and against pyws), and feeds hand-made traces to the diff to prove it
marks differences and recognises only the one intended difference
(docs/closing.md, "Who closes TCP first"). Every subprocess is bounded by a
timeout scaled by PYWS_TEST_TIMEOUT_FACTOR.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.compare import report
from scripts.compare.frames import FrameDecoder, build_frame
from scripts.compare.scenario import SCENARIO_DIR, ScenarioError, load, load_all

REPO = Path(__file__).resolve().parents[2]
WS_MODULE = REPO / "test" / "interop" / "node_modules" / "ws"
FACTOR = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1"))

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not WS_MODULE.is_dir(),
    reason="node or test/interop/node_modules/ws missing: npm ci --prefix test/interop",
)

#: docs/errors.md: every receiver error code (zlib errors appear as 1007).
WS_ERR_CODES = (
    "WS_ERR_UNEXPECTED_RSV_2_3",
    "WS_ERR_UNEXPECTED_RSV_1",
    "WS_ERR_INVALID_OPCODE",
    "WS_ERR_EXPECTED_FIN",
    "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
    "WS_ERR_EXPECTED_MASK",
    "WS_ERR_UNEXPECTED_MASK",
    "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
    "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
    "WS_ERR_TOO_MANY_BUFFERED_PARTS",
    "WS_ERR_INVALID_UTF8",
    "WS_ERR_INVALID_CLOSE_CODE",
)


def run_tool(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``python -m scripts.compare`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.compare", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout * FACTOR,
        env={**os.environ, "PYWS_COMPARE_TIMEOUT_FACTOR": str(FACTOR)},
    )


# -- the library ----------------------------------------------------------------


def test_library_covers_every_receiver_error_in_both_roles() -> None:
    scenarios = load_all()
    assert len(scenarios) >= 80
    for code in WS_ERR_CODES:
        roles = {s.role for s in scenarios if any(code in r for r in s.rules)}
        assert roles, f"no scenario for {code}"
        if code not in ("WS_ERR_EXPECTED_MASK", "WS_ERR_UNEXPECTED_MASK"):
            assert roles == {"server", "client"}, f"{code} only for {roles}"
    assert any("1007" in r for s in scenarios for r in s.rules)  # inflate error


def test_library_covers_the_closing_rules() -> None:
    rules = " ".join(r for s in load_all() for r in s.rules)
    for needle in (
        "Who closes TCP first",
        "Normal closing 1",
        "Normal closing 2",
        "(1005)",
        "(1006",
        "terminate()",
        "closeTimeout",
        "Failing the connection 1",
        "Aborting before the connection is established (server)",
        "Aborting before the connection is established (client)",
        "maxPayload",
    ):
        assert needle in rules, needle


def test_scenario_validation_rejects_unknown_steps(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "description": "d",
                "role": "server",
                "implementation": {},
                "peer": {"script": [{"send_frame": {"opcode": 1}, "jump": 1}]},
            }
        )
    )
    with pytest.raises(ScenarioError, match="unknown keys"):
        load(bad)
    bad.write_text(
        json.dumps(
            {"description": "d", "role": "proxy", "implementation": {}, "peer": {}}
        )
    )
    with pytest.raises(ScenarioError, match="role"):
        load(bad)
    assert load(SCENARIO_DIR / "server-close-by-peer.json").close_timeout_ms == 500


def test_frame_codec_round_trip_with_mask() -> None:
    data = build_frame(0x1, b"hello", mask=True, mask_key=b"\x01\x02\x03\x04")
    assert data[:2] == b"\x81\x85" and data[2:6] == b"\x01\x02\x03\x04"
    decoder = FrameDecoder()
    assert decoder.feed(data[:3]) == []
    (frame,) = decoder.feed(data[3:] + b"\x88\x02\x03")
    assert (frame.opcode, frame.fin, frame.masked, frame.payload) == (
        1,
        True,
        True,
        b"hello",
    )
    assert decoder.pending == 3
    (close,) = decoder.feed(b"\xe8")
    assert close.describe()["code"] == 1000
    big = build_frame(0x2, b"x" * 70000)
    assert big[1] == 127 and FrameDecoder().feed(big)[0].payload == b"x" * 70000


def test_bucket_snaps_to_multiples_of_close_timeout() -> None:
    assert [report.bucket(dt, 500) for dt in (0, 120, 240, 260, 500, 700, 1000)] == [
        "0",
        "0",
        "0",
        "T",
        "T",
        "T",
        "2T",
    ]


# -- hand-made traces -----------------------------------------------------------


def fake_trace(
    impl: str, role: str, wire: list[tuple[float, str, str, Any]], events: list[Any]
) -> dict[str, Any]:
    """A raw trace as the runner writes it, with times in ms from 0."""
    return {
        "scenario": "fake",
        "implementation": impl,
        "role": role,
        "close_timeout_ms": 500,
        "delays_ms": [300],
        "start": 0.0,
        "events": [
            {"t": t, "kind": "event", "event": name, "args": args, "readyState": rs}
            for t, name, args, rs in events
        ],
        "wire": [
            {"t": t, "who": who, "kind": kind, "detail": detail}
            for t, who, kind, detail in wire
        ],
        "problems": [],
        "exit_code": 0,
        "stderr": "",
    }


CLOSE_IN = {
    "opcode": "close",
    "fin": True,
    "masked": False,
    "code": 1000,
    "reason": {"b": ""},
}
CLOSE_OUT = {**CLOSE_IN, "masked": True}


def client_close(
    impl: str, fin_at: float, half_close_at: float, code: int = 1000
) -> dict[str, Any]:
    wire = [
        (1.0, "peer", "http_response", "HTTP/1.1 101 Switching Protocols"),
        (2.0, "peer", "frame", CLOSE_IN),
        (3.0, "impl", "frame", CLOSE_OUT),
        (fin_at, "impl", "fin", None),
        (half_close_at, "peer", "half_close", None),
    ]
    wire.sort(key=lambda e: e[0])
    close_at = max(fin_at, half_close_at) + 1
    events = [(0.5, "open", [], 1), (close_at, "close", [code, {"b": ""}], 3)]
    return fake_trace(impl, "client", wire, events)


def test_diff_marks_a_different_close_code(tmp_path: Path) -> None:
    a = client_close("ws", 4.0, 305.0)
    b = client_close("pyws", 4.0, 305.0, code=1005)
    result = report.compare(a, b)
    assert result["status"] == report.DIFFERENT
    assert result["reasons"] == ["events differ"]
    marked = [row for row in result["rows"] if row["mark"] != " "]
    assert len(marked) == 1 and "1000" in marked[0]["a"] and "1005" in marked[0]["b"]
    text = report.render(result)
    assert re.search(r"^ ! .*close\(1000.*\| .*close\(1005", text, re.M)
    # Same through the command line, from saved traces.
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    proc = run_tool(
        "--diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"), timeout=30
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "DIFFERENT" in proc.stdout and " ! " in proc.stdout
    proc = run_tool(
        "--diff", str(tmp_path / "a.json"), str(tmp_path / "a.json"), timeout=30
    )
    assert proc.returncode == 0 and "SAME" in proc.stdout


def test_a_departure_documents_a_behaviour_difference_between_ws_and_pyws() -> None:
    """A scenario's "departure" (a README entry) marks a ws/pyws difference
    as documented, behaviour included, and only for that pair."""
    a = client_close("ws", 4.0, 305.0)
    text = "pyws answers differently here (README, Departures from ws)"
    for pair in (("ws", "pyws"), ("pyws", "ws")):
        b = client_close("pyws", 4.0, 305.0, code=1005)
        result = report.apply_departure(report.compare(a, b), text, pair)
        assert result["status"] == report.DOCUMENTED
        assert result["reasons"] == [f"documented departure: {text}"]
    b = client_close("pyws", 4.0, 305.0, code=1005)
    other = report.apply_departure(report.compare(a, b), text, ("ws", "websockets"))
    assert other["status"] == report.DIFFERENT
    same = report.apply_departure(report.compare(a, a), text, ("ws", "pyws"))
    assert same["status"] == report.SAME
    assert (
        report.apply_departure(report.compare(a, b), None, ("ws", "pyws"))["status"]
        == report.DIFFERENT
    )


def test_client_waiting_for_the_server_fin_is_the_intended_difference() -> None:
    ws_like = client_close("ws", 4.0, 305.0)  # FIN at once, server FINs later
    rfc_like = client_close("pyws", 306.0, 305.0)  # FIN only after the server's
    status, reasons = report.classify(ws_like, rfc_like)
    assert status == report.INTENDED, reasons
    timed_out = client_close("pyws", 505.0, 900.0)  # gave up after closeTimeout
    assert report.classify(ws_like, timed_out)[0] == report.INTENDED
    assert "~" in report.render(report.compare(ws_like, rfc_like))


def test_other_fin_differences_are_not_intended() -> None:
    ws_like = client_close("ws", 4.0, 305.0)
    # The candidate closes first too, with a reset instead of a FIN.
    reset = client_close("pyws", 4.0, 305.0)
    for entry in reset["wire"]:
        if entry["kind"] == "fin":
            entry["kind"] = "rst"
    assert report.classify(ws_like, reset) == (
        report.DIFFERENT,
        ["wire differs: B half-closed before the server without waiting"],
    )
    # The reverse direction (baseline waits, candidate does not).
    assert (
        report.classify(client_close("ws", 306.0, 305.0), ws_like)[0]
        == report.DIFFERENT
    )
    # The same pattern with the implementation as a server is a bug.
    server_a, server_b = ws_like, client_close("pyws", 306.0, 305.0)
    server_a = {**server_a, "role": "server"}
    server_b = {**server_b, "role": "server"}
    assert report.classify(server_a, server_b)[0] == report.DIFFERENT
    # A FIN order difference plus a missing frame is not intended either.
    missing = client_close("pyws", 306.0, 305.0)
    missing["wire"] = [
        e for e in missing["wire"] if e["kind"] != "frame" or e["who"] == "peer"
    ]
    assert report.classify(ws_like, missing)[0] == report.DIFFERENT


def test_timing_noise_is_not_a_difference() -> None:
    a = client_close("ws", 4.0, 305.0)
    b = client_close("ws", 90.0, 305.0)  # 86 ms slower, still "promptly"
    assert report.classify(a, b)[0] == report.SAME


# -- real runs ------------------------------------------------------------------

SCENARIOS = [
    "server-close-by-peer",
    "client-close-by-peer",
    "server-err-expected-mask",
    "client-err-rsv2",
    "client-echo-no-fin",
    "server-close-timeout-silent-peer",
]


@needs_node
def test_ws_against_itself_is_the_same() -> None:
    proc = run_tool("--jobs", "1", "--a", "ws", "--b", "ws", "--json", *SCENARIOS)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    out = json.loads(proc.stdout)
    assert [r["status"] for r in out["results"]] == ["same"] * len(SCENARIOS)


def _pyws_ready() -> bool:
    try:
        import pyws
    except ImportError:
        return False
    return hasattr(pyws, "WebSocketServer") and hasattr(pyws, "WebSocket")


@needs_node
@pytest.mark.skipif(not _pyws_ready(), reason="pyws WebSocket facade not importable")
def test_ws_against_pyws_shows_only_the_intended_difference() -> None:
    proc = run_tool("--jobs", "1", "--json", *SCENARIOS)
    out = json.loads(proc.stdout)
    statuses = {r["scenario"]: r["status"] for r in out["results"]}
    assert proc.returncode == 0, statuses
    for name, status in statuses.items():
        # docs/closing.md: only a client ever differs, and only in its FIN.
        expected = "intended" if name.startswith("client-") else "same"
        assert status == expected, (name, status)
    fin_rows = [
        row
        for r in out["results"]
        for row in r["rows"]
        if row["mark"] != " " and r["status"] == "intended"
    ]
    assert fin_rows and all(
        re.search(r"\b(fin|half_close)\b", row["a"] + row["b"]) for row in fin_rows
    )
