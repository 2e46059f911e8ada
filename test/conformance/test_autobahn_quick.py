"""Autobahn TestSuite, quick case set, against pyws (RFC 6455 conformance).

Owns the CI slice of ``scripts/autobahn/run.py``: the ``--quick`` cases
(1.*, 2.*, 3.*, 4.*, 5.*, 6.1-6.4, 7.1-7.5; 90 cases) with wstest's
fuzzingclient against the pyws echo server and its fuzzingserver against the
pyws echo client. Every case must be OK or INFORMATIONAL, or a documented
exception in ``scripts/autobahn/exceptions.json``.

Skipped only when Python 2.7 is missing, or when its virtualenv is not built
(``bash scripts/autobahn/setup.sh`` builds it; .ci/run calls it). The checks
of the runner's own report logic need neither and always run.

Imports the runner by path; does not import pyws (the runner's children do).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
RUNNER = ROOT / "scripts" / "autobahn" / "run.py"
#: A quick run takes about 10-30 s per mode here; CI machines may be slower.
TIMEOUT_FACTOR = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1"))
RUN_TIMEOUT_S = 240 * TIMEOUT_FACTOR


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("autobahn_run", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["autobahn_run"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


run = _load_runner()


def _skip_reason() -> str | None:
    if run.find_python27() is None:
        return (
            "Autobahn wstest needs Python 2.7: none found "
            "($PYWS_PYTHON27, python2.7 on PATH, or pyenv versions/2.7*)"
        )
    if not run.venv_ready():
        return (
            "Autobahn virtualenv scripts/autobahn/.venv27 missing or stale: "
            "run `bash scripts/autobahn/setup.sh`"
        )
    return None


SKIP_REASON = _skip_reason()
needs_wstest = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


def _run_quick(mode: str, tmp_path: Path) -> dict[str, Any]:
    """Run the quick set against pyws in mode; return the JSON results."""
    result_file = tmp_path / "results.json"
    cmd = [
        sys.executable,
        str(RUNNER),
        "--quick",
        "--impl",
        "pyws",
        "--mode",
        mode,
        "--no-setup",
        "--outdir",
        str(tmp_path / "reports"),
        "--json",
        str(result_file),
        "--time-limit",
        str(RUN_TIMEOUT_S - 30),
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        cwd=ROOT,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert result_file.is_file(), f"runner wrote no results:\n{output}"
    data: dict[str, Any] = json.loads(result_file.read_text())
    data["_output"] = output
    data["_status"] = proc.returncode
    return data


def _check(data: dict[str, Any], mode: str) -> None:
    cases = data["cases"]
    # wstest itself resolved --quick: 1.* to 5.*, 6.1-6.4, 7.1-7.5.
    assert len(cases) == 90, sorted(cases)
    assert {c.split(".")[0] for c in cases} == {"1", "2", "3", "4", "5", "6", "7"}
    (pyws_run,) = data["runs"]
    assert (pyws_run["impl"], pyws_run["mode"]) == ("pyws", mode)
    results = pyws_run["cases"]
    assert set(results) == set(cases), data["_output"]
    exceptions = run.load_exceptions().get("pyws", {})
    bad = []
    for case_id, res in sorted(results.items(), key=lambda kv: run.case_key(kv[0])):
        behavior = res["behavior"]
        if behavior in run.PASSING:
            continue
        doc = exceptions.get(case_id, {})
        if behavior in run.EXCUSABLE and doc.get("behavior") == behavior:
            continue
        bad.append(
            f"{case_id} {behavior} (close {res['close_code']}): "
            f"{cases[case_id]} -> {res['result']}"
        )
    assert not bad, "\n".join(bad) + "\n\n" + data["_output"]
    assert pyws_run["gate_failures"] == []
    assert data["_status"] == 0, data["_output"]


@needs_wstest
@pytest.mark.timeout(RUN_TIMEOUT_S + 30)
def test_quick_cases_against_pyws_server(tmp_path: Path) -> None:
    """wstest fuzzingclient -> pyws echo server: the quick set passes."""
    _check(_run_quick("server", tmp_path), "server")


@needs_wstest
@pytest.mark.timeout(RUN_TIMEOUT_S + 30)
def test_quick_cases_against_pyws_client(tmp_path: Path) -> None:
    """wstest fuzzingserver -> pyws echo client: the quick set passes."""
    _check(_run_quick("client", tmp_path), "client")


# The runner's report logic, on reports written here (no wstest needed).


def _write_index(report_dir: Path, agent: str, entries: dict[str, Any]) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    index: dict[str, dict[str, Any]] = {agent: {}}
    for case_id, (behavior, detail) in entries.items():
        name = f"{agent}_case_{case_id.replace('.', '_')}.json"
        index[agent][case_id] = {
            "behavior": behavior,
            "behaviorClose": "OK",
            "duration": 3,
            "remoteCloseCode": 1000,
            "reportfile": name,
        }
        (report_dir / name).write_text(json.dumps(detail))
    (report_dir / "index.json").write_text(json.dumps(index))


def test_load_index_marks_cases_without_result_missing(tmp_path: Path) -> None:
    """A case wstest never reported (crash, time limit) is MISSING, not OK."""
    _write_index(tmp_path, "pyws", {"1.1.1": ("OK", {})})
    result = run.load_index(tmp_path, "pyws", "server", ["1.1.1", "1.1.2"])
    assert result.cases["1.1.1"].behavior == "OK"
    assert result.cases["1.1.1"].close_code == 1000
    assert result.cases["1.1.2"].behavior == "MISSING"


def test_load_index_reads_details_of_non_ok_cases(tmp_path: Path) -> None:
    """A non-OK case carries the per-case report's result text."""
    detail = {"result": "Did not fail fast", "resultClose": "Closed cleanly"}
    _write_index(tmp_path, "pyws", {"6.4.1": ("NON-STRICT", detail)})
    (res,) = run.load_index(tmp_path, "pyws", "client", ["6.4.1"]).cases.values()
    assert (res.behavior, res.result, res.result_close) == (
        "NON-STRICT",
        "Did not fail fast",
        "Closed cleanly",
    )


def test_verdict_gates_on_failed_and_undocumented_results() -> None:
    """OK/INFORMATIONAL pass; NON-STRICT passes only when documented; FAILED never."""
    results = run.Run("pyws", "server")
    for case_id, behavior in [
        ("1.1.1", "OK"),
        ("7.1.6", "INFORMATIONAL"),
        ("6.4.1", "NON-STRICT"),
        ("6.4.2", "NON-STRICT"),
        ("5.1", "FAILED"),
        ("12.1.1", "UNIMPLEMENTED"),
        ("2.1", "MISSING"),
    ]:
        results.cases[case_id] = run.CaseResult(case_id, behavior)
    documented = {
        "pyws": {
            "6.4.1": {"behavior": "NON-STRICT", "why": "documented"},
            "5.1": {"behavior": "FAILED", "why": "cannot excuse a failure"},
        }
    }
    bad = {res.case_id for res, _ in run.verdict(results, documented)}
    assert bad == {"6.4.2", "5.1", "12.1.1", "2.1"}


def test_quick_set_and_exceptions_file_are_consistent() -> None:
    """Every documented exception names an allowed behavior and a reason."""
    assert "1.*" in run.QUICK_CASES and "7.5.*" in run.QUICK_CASES
    for impl, cases in run.load_exceptions().items():
        assert impl in run.IMPLS
        for case_id, doc in cases.items():
            run.case_key(case_id)  # a well-formed case id
            assert doc["behavior"] in run.EXCUSABLE, (case_id, doc)
            assert doc["why"].strip(), case_id
