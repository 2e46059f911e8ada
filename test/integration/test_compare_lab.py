"""Tests for the behaviour lab: the adapters beyond ws, the matrix, the diagrams.

Each adapter (pyws, websockets, aiohttp, picows, Chromium) is compared with
itself on a representative subset of the scenario library through the real
tool; it is skipped, with the reason, only when its implementation is not
installed. The matrix report and the SVG sequence diagram are checked on
traces recorded from real runs (``compare_fixtures/``), with no live peer; one
diagram is pinned by a golden file. To refresh the golden file after an
intended change of the drawing, run this file with ``PYWS_UPDATE_GOLDEN=1``
and review the diff.

Every subprocess is bounded by a timeout scaled by PYWS_TEST_TIMEOUT_FACTOR.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.compare import matrix, report, runner, svg
from scripts.compare.scenario import ScenarioError, load, load_all

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "compare_fixtures"
FACTOR = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1"))
IMPLS = ["ws", "pyws", "websockets", "aiohttp", "picows", "chromium"]


def run_tool(*args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
    """Run ``python -m scripts.compare`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.compare", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout * FACTOR,
        env={**os.environ, "PYWS_COMPARE_TIMEOUT_FACTOR": str(FACTOR)},
    )


# -- each adapter against itself ---------------------------------------------------

#: A representative subset: a normal close either way, a receiver failure in
#: each role, the client waiting out a silent server, a graceful shutdown.
SELF_SCENARIOS = [
    "server-close-by-peer",
    "client-close-by-peer",
    "server-err-rsv2",
    "client-err-invalid-utf8",
    "client-close-timeout-silent-peer",
    "server-shutdown-silent-client",
]
CHROMIUM_SCENARIOS = [
    "client-close-by-peer",
    "client-close-by-impl",
    "client-err-invalid-utf8",
    "client-reject-403",
]


@pytest.mark.parametrize(
    "impl", ["pyws", "websockets", "aiohttp", "picows", "chromium"]
)
def test_adapter_against_itself_is_the_same(impl: str) -> None:
    why = runner.unavailable(impl)
    if why:
        pytest.skip(why)
    scenarios, jobs = SELF_SCENARIOS, "2"
    if impl == "chromium":
        # Client role only; a browser waits far longer than closeTimeout
        # for a silent server, so that scenario is left to the command.
        scenarios, jobs = CHROMIUM_SCENARIOS, "1"
    proc = run_tool("--jobs", jobs, "--a", impl, "--b", impl, "--json", *scenarios)
    statuses = {r["scenario"]: r["status"] for r in json.loads(proc.stdout)["results"]}
    # On a loaded machine a scenario can differ on timing alone: as the
    # tool's README says, run it again on its own before trusting it.
    for name, status in statuses.items():
        if status not in (report.SAME, report.NOT_APPLICABLE):
            again = run_tool("--jobs", "1", "--a", impl, "--b", impl, "--json", name)
            statuses[name] = json.loads(again.stdout)["results"][0]["status"]
    assert set(statuses.values()) <= {report.SAME, report.NOT_APPLICABLE}, statuses
    # n/a only where the API lacks the action (pyws without shutdown()).
    same = [name for name, status in statuses.items() if status == report.SAME]
    assert len(same) >= len(scenarios) - 1, statuses
    for name, status in statuses.items():
        if status == report.NOT_APPLICABLE:
            assert name == "server-shutdown-silent-client", (name, statuses)


def test_not_applicable_is_reported_with_the_adapters_reason() -> None:
    for impl in ("ws", "websockets"):
        why = runner.unavailable(impl)
        if why:
            pytest.skip(why)
    # websockets answers pings itself and never shows them to the application.
    proc = run_tool(
        "--a", "ws", "--b", "websockets", "-q", "client-ping-pong", timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(
        r"^not applicable client-ping-pong websockets: websockets does not "
        r"surface 'ping'",
        proc.stdout,
        re.M,
    )
    assert "1 not applicable" in proc.stdout


def test_unknown_or_missing_implementation_is_bad_usage() -> None:
    proc = run_tool("--matrix", "ws,nosuch", "server-close-by-peer", timeout=30)
    assert proc.returncode == 2 and "nosuch" in proc.stderr


# -- scenarios ---------------------------------------------------------------------


def test_library_has_the_lab_scenarios() -> None:
    rules = [r for s in load_all() for r in s.rules]
    for topic in (
        "lab: heartbeat",
        "lab: server shutdown",
        "lab: handshake rejection",
        "lab: deflate negotiation",
        "lab: large messages",
    ):
        assert sum(r == topic for r in rules) >= 2, topic


def test_heartbeat_and_any_payload_are_validated(tmp_path: Path) -> None:
    base: dict[str, Any] = {
        "description": "d",
        "role": "client",
        "implementation": {"heartbeat": {"interval_ms": 100}},
        "peer": {},
    }
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(base))
    with pytest.raises(ScenarioError, match="heartbeat"):
        load(bad)
    base["implementation"] = {"heartbeat": {"interval_ms": 100, "timeout_ms": 50}}
    base["any_payload"] = ["ping", "bogus"]
    bad.write_text(json.dumps(base))
    with pytest.raises(ScenarioError, match="any_payload"):
        load(bad)
    base["any_payload"] = ["ping"]
    bad.write_text(json.dumps(base))
    assert load(bad).any_payload == ["ping"]


# -- the report writer on recorded traces ------------------------------------------


@pytest.fixture(scope="module")
def recorded() -> dict[str, dict[str, dict[str, Any]]]:
    results = matrix.load_traces(FIXTURES)
    return {
        name: {i: traces[i] for i in IMPLS if i in traces}
        for name, traces in results.items()
    }


def test_facts_of_recorded_closing_handshakes(
    recorded: dict[str, dict[str, dict[str, Any]]],
) -> None:
    close = recorded["client-close-by-peer"]
    # closing.md "Who closes TCP first": ws's client FINs before the server,
    # pyws waits for the server's FIN (RFC 6455 7.1.1).
    assert matrix.facts(close["ws"])["fin_first"] == "impl"
    assert matrix.facts(close["pyws"])["fin_first"] == "peer"
    for trace in close.values():
        fact = matrix.facts(trace)
        assert (fact["close_sent"], fact["close_reported"]) == ("1000", "1000")
        assert fact["failure_close"] == "-" and fact["http"] == "-"
    failed = recorded["server-err-then-frames-ignored"]
    ws_fact = matrix.facts(failed["ws"])
    assert ws_fact["failure_close"] == "yes" and ws_fact["close_sent"] == "1002"
    assert ws_fact["input_after_failure"] == "no"
    # picows does not check RSV bits: no failure at all.
    assert matrix.facts(failed["picows"])["failure_close"] == "-"
    heartbeat = recorded["client-heartbeat-no-pong"]
    assert matrix.facts(heartbeat["chromium"]) == {
        "not_applicable": "chromium has no heartbeat option"
    }
    # Without a pong, websockets closes with 1011 (a failure code).
    websockets_fact = matrix.facts(heartbeat["websockets"])
    assert websockets_fact["close_sent"] == "1011"
    assert websockets_fact["failure_close"] == "yes"


def test_groups_put_alike_implementations_together(
    recorded: dict[str, dict[str, dict[str, Any]]],
) -> None:
    groups = matrix.group(recorded["client-close-by-peer"])
    assert ["ws"] in groups or any("ws" in g and "pyws" not in g for g in groups)
    assert not any("ws" in g and "pyws" in g for g in groups)
    together = next(g for g in groups if "pyws" in g)
    assert "websockets" in together  # both wait for the server's FIN
    assert matrix.group({"a": recorded["client-close-by-peer"]["ws"]}) == [["a"]]


def test_markdown_and_html_reports(
    recorded: dict[str, dict[str, dict[str, Any]]], tmp_path: Path
) -> None:
    descriptions = {s.name: s.description for s in load_all()}
    paths = matrix.write(recorded, IMPLS, descriptions, tmp_path)
    assert sorted(p.name for p in paths) == [
        "closing-matrix.md",
        "matrix.html",
        "matrix.md",
    ]
    md = (tmp_path / "matrix.md").read_text("utf-8")
    versions = {t["version"] for traces in recorded.values() for t in traces.values()}
    for version in versions:
        assert version in md
    assert "| client-close-by-peer | impl · 1000/1000 · +0 | peer · 1000/1000" in md
    assert "chromium has no heartbeat option" in md
    page = (tmp_path / "matrix.html").read_text("utf-8")
    applicable = sum(
        1
        for traces in recorded.values()
        for t in traces.values()
        if not t.get("not_applicable")
    )
    assert page.count("<svg ") == applicable
    # Self-contained: no script, no stylesheet or image fetched from elsewhere.
    assert not re.search(r"<script|<link|src=|url\(", page)
    assert page.count("<section") == len(recorded)
    table = matrix.closing_table(recorded, IMPLS)
    assert table.splitlines()[0].startswith("| scenario | ws ")


def test_matrix_from_saved_traces_through_the_command_line(tmp_path: Path) -> None:
    proc = run_tool(
        "--matrix",
        ",".join(IMPLS),
        "--from",
        str(FIXTURES),
        "--out",
        str(tmp_path),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| client-close-by-peer |" in proc.stdout
    assert (tmp_path / "matrix.html").stat().st_size > 0


# -- the sequence diagram ----------------------------------------------------------


def test_sequence_diagram_matches_the_golden_file(
    recorded: dict[str, dict[str, dict[str, Any]]],
) -> None:
    drawn = svg.diagram(recorded["client-close-by-peer"]["pyws"])
    path = FIXTURES / "client-close-by-peer.pyws.svg"
    if os.environ.get("PYWS_UPDATE_GOLDEN") == "1":
        path.write_text(drawn, "utf-8")
    assert drawn == path.read_text("utf-8")


def test_sequence_diagram_draws_frames_fin_rst_and_events() -> None:
    trace = {
        "implementation": "x",
        "version": "x 1.0",
        "close_timeout_ms": 500,
        "events": [
            {"t": 0.0, "kind": "event", "event": "open", "args": [], "readyState": 1},
            {"t": 900.0, "kind": "event", "event": "close", "args": [1006, {"b": ""}]},
        ],
        "wire": [
            {
                "t": 1.0,
                "who": "peer",
                "kind": "frame",
                "detail": {
                    "opcode": "text",
                    "fin": True,
                    "masked": False,
                    "payload": {"b": "6869"},
                },
            },
            {"t": 2.0, "who": "impl", "kind": "fin", "detail": None},
            {"t": 800.0, "who": "peer", "kind": "reset", "detail": None},
        ],
    }
    drawn = svg.diagram(trace)
    assert drawn.startswith("<svg ") and drawn.rstrip().endswith("</svg>")
    assert drawn.count('class="msg"') == 1  # the text frame
    assert drawn.count('class="fin"') == 1 and ">FIN<" in drawn
    assert drawn.count('class="rst"') == 1
    assert "close(1006, b&#x27;&#x27;)" in drawn and "x 1.0" in drawn
    assert "\u2026 798 ms" in drawn  # the pause shows as a break
    # Time goes down: each arrow sits lower than the one before.
    ys = [int(m) for m in re.findall(r'<line x1="\d+" y1="(\d+)"', drawn)[2:]]
    assert ys == sorted(ys)
