"""Run the Autobahn TestSuite (wstest) against pyws and Node ws, side by side.

Owns the whole conformance run: it sets up wstest (``setup.sh``), starts the
echo endpoints (``pyws_server.py``, ``pyws_client.py``, ``ws_server.js``,
``ws_client.js``), drives ``wstest -m fuzzingclient`` (servers under test) and
``wstest -m fuzzingserver`` (clients under test) within time limits, reads the
reports' ``index.json`` and prints one summary per case group with pyws and
Node ws side by side, naming every case that is not OK.

Exit status: 0 when every pyws case is OK or INFORMATIONAL (or a documented
exception from ``exceptions.json``), 1 otherwise, 2 on a usage or setup error,
3 when no Python 2.7 is found. Node ws results are printed, never gate.

Usage::

    python3 scripts/autobahn/run.py                 # everything, both modes
    python3 scripts/autobahn/run.py --quick         # the CI case set
    python3 scripts/autobahn/run.py --cases '1.*,2.*' --impl pyws --mode server

Stdlib only; imports pyws only in the child processes it starts.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = HERE / ".venv27"
WSTEST = VENV / "bin" / "wstest"
NODE_WS = ROOT / "test" / "interop" / "node_modules" / "ws"
EXCEPTIONS_FILE = HERE / "exceptions.json"

IMPLS = ("pyws", "ws")
MODES = ("server", "client")

#: The CI case set: framing, pings, reserved bits, opcodes, fragmentation,
#: the first UTF-8 groups and the basic close cases: 90 cases, about 10 s
#: against Node ws per mode.
QUICK_CASES = (
    "1.*",
    "2.*",
    "3.*",
    "4.*",
    "5.*",
    "6.1.*",
    "6.2.*",
    "6.3.*",
    "6.4.*",
    "7.1.*",
    "7.2.*",
    "7.3.*",
    "7.4.*",
    "7.5.*",
)

#: Results that pass without a documented exception.
PASSING = frozenset({"OK", "INFORMATIONAL"})
#: Results that pass only with a documented exception.
EXCUSABLE = frozenset({"NON-STRICT", "UNIMPLEMENTED"})
#: Column order of the summary.
COLUMNS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "MISSING")

GROUP_NAMES = {
    "1": "Framing",
    "2": "Pings/Pongs",
    "3": "Reserved Bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 Handling",
    "7": "Close Handling",
    "9": "Limits/Performance",
    "10": "Misc",
    "12": "Compression (payloads)",
    "13": "Compression (parameters)",
}

# Run inside .venv27: resolves case patterns the way wstest does and gives
# each case's one-line description. Python 2 source, kept as data here.
_LIST_CASES_PY2 = r"""
import json, sys
from autobahntestsuite.case import (Cases, CaseSetname, CaseBasename,
                                    CaseCategories, CaseSubCategories)
from autobahntestsuite.caseset import CaseSet
cs = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
spec = json.load(sys.stdin)
out = [[i, cs.caseClassToPrettyDescription(cs.CasesById[i])]
       for i in cs.parseSpecCases(spec)]
sys.stdout.write(json.dumps(out))
"""


def _quiet_env() -> dict[str, str]:
    """Environment for the Python 2 children: no buffering, no py2 warnings."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    return env


def case_key(case_id: str) -> tuple[int, ...]:
    """Sort key for a case id such as ``6.4.2``."""
    return tuple(int(part) for part in case_id.split("."))


def group_of(case_id: str) -> str:
    """The top-level group of a case id: ``6.4.2`` is in group ``6``."""
    return case_id.split(".", 1)[0]


@dataclass
class CaseResult:
    """One case's outcome for one implementation in one mode."""

    case_id: str
    behavior: str
    behavior_close: str = ""
    close_code: int | None = None
    duration_ms: int | None = None
    result: str = ""
    result_close: str = ""
    received: str = ""
    ok_expected: str = ""


@dataclass
class Run:
    """Outcome of one implementation in one mode."""

    impl: str
    mode: str
    cases: dict[str, CaseResult] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """What to run: the resolved case list and per-implementation exclusions."""

    patterns: list[str]
    exclude: list[str]
    descriptions: dict[str, str]
    agent_exclude: dict[str, list[str]]
    agent_exclude_why: dict[str, str]
    time_limit_s: float
    outdir: Path


def log(message: str, stream: TextIO = sys.stdout) -> None:
    """Print a progress line, flushed so CI logs interleave correctly."""
    print(f"autobahn: {message}", file=stream, flush=True)


def find_python27() -> str | None:
    """Python 2.7 the way setup.sh looks for it; None when there is none.

    Tries $PYWS_PYTHON27, python2.7 on PATH, then pyenv's versions/2.7*;
    each candidate is run, since a pyenv shim exists even when 2.7 is not
    selected.
    """
    cands = [os.environ.get("PYWS_PYTHON27", ""), shutil.which("python2.7") or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    cands += sorted(str(p) for p in pyenv_root.glob("versions/2.7*/bin/python2.7"))
    for cand in cands:
        if not cand or not os.access(cand, os.X_OK):
            continue
        try:
            proc = subprocess.run(
                [cand, "-c", "import sys; print(sys.version_info[:2] == (2, 7))"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.stdout.strip() == "True":
            return cand
    return None


def venv_ready() -> bool:
    """Whether setup.sh has built .venv27 from the current requirements file."""
    stamp = VENV / ".stamp"
    if not WSTEST.exists() or not stamp.is_file():
        return False
    want = hashlib.sha256((HERE / "requirements-py27.txt").read_bytes()).hexdigest()
    return stamp.read_text().strip() == want


def setup(quiet: bool) -> None:
    """Run setup.sh; exits 3 when Python 2.7 is missing, 2 when setup fails."""
    cmd = ["bash", str(HERE / "setup.sh")] + (["--quiet"] if quiet else [])
    proc = subprocess.run(cmd, env=_quiet_env(), check=False)
    if proc.returncode == 3:
        log("no Python 2.7: cannot run wstest", sys.stderr)
        sys.exit(3)
    if proc.returncode != 0:
        log(f"setup.sh failed with status {proc.returncode}", sys.stderr)
        sys.exit(2)


def resolve_cases(patterns: Sequence[str], exclude: Sequence[str]) -> dict[str, str]:
    """Ask wstest's own CaseSet which cases the patterns select, in order."""
    spec = json.dumps({"cases": list(patterns), "exclude-cases": list(exclude)})
    proc = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", _LIST_CASES_PY2],
        input=spec,
        capture_output=True,
        text=True,
        env=_quiet_env(),
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        log(f"cannot resolve cases {list(patterns)}:\n{proc.stderr}", sys.stderr)
        sys.exit(2)
    return {case_id: desc for case_id, desc in json.loads(proc.stdout)}


def pyws_has_deflate() -> bool:
    """Whether pyws ships permessage-deflate (pyws/permessage_deflate.py)."""
    return (ROOT / "pyws" / "permessage_deflate.py").is_file()


def free_port() -> int:
    """A loopback port that was free a moment ago (wstest needs a fixed one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, deadline: float, proc: subprocess.Popen[str]) -> None:
    """Poll until something accepts on 127.0.0.1:port (wstest prints no ready line).

    Raises:
        RuntimeError: the process died or the deadline passed first.
    """
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"wstest exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listening on port {port}") from None
            time.sleep(0.05)  # bounded poll: wstest has no readiness signal


def read_port(proc: subprocess.Popen[str], timeout_s: float, name: str) -> int:
    """Read the port an echo server prints as its first stdout line."""
    assert proc.stdout is not None
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            raise RuntimeError(f"{name} printed no port within {timeout_s} s")
    line = proc.stdout.readline().strip()
    if not line.isdigit():
        raise RuntimeError(f"{name} printed {line!r} instead of a port")
    return int(line)


def stop(proc: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    """Stop a child we started: SIGTERM, then SIGKILL after grace_s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace_s)


#: Extra endpoint options (``--max-fragments 0`` unless --default-limits).
LIMIT_ARGS: list[str] = []

#: Printed with every summary while LIMIT_ARGS raises a limit.
LIMITS_NOTE = (
    "endpoints run with maxFragments 0 (no limit). With the ws 8.22+ default "
    "16384, 9.3.1, 9.3.2, 9.4.1 and 9.4.2 (4 MiB in 64/256-byte fragments) "
    "FAIL with close 1008 for pyws and Node ws alike: see --default-limits."
)


def server_command(impl: str, deflate: bool) -> list[str]:
    """Command line of the echo server of an implementation."""
    if impl == "pyws":
        cmd = [sys.executable, str(HERE / "pyws_server.py")]
        return cmd + (["--deflate"] if deflate else []) + LIMIT_ARGS
    cmd = ["node", str(HERE / "ws_server.js")]
    return cmd + ([] if deflate else ["--no-deflate"]) + LIMIT_ARGS


def client_command(impl: str, base_url: str, deflate: bool) -> list[str]:
    """Command line of the echo client of an implementation."""
    if impl == "pyws":
        cmd = [sys.executable, str(HERE / "pyws_client.py"), base_url, impl]
        return cmd + (["--deflate"] if deflate else []) + LIMIT_ARGS
    return ["node", str(HERE / "ws_client.js"), base_url, impl] + LIMIT_ARGS


@contextmanager
def echo_servers(
    impls: Sequence[str], plan: Plan, logdir: Path
) -> Iterator[dict[str, int]]:
    """Start the echo servers of impls; yields their ports by implementation."""
    procs: list[subprocess.Popen[str]] = []
    ports: dict[str, int] = {}
    try:
        for impl in impls:
            deflate = impl not in plan.agent_exclude
            errlog = open(logdir / f"{impl}-server.log", "w")
            proc = subprocess.Popen(
                server_command(impl, deflate),
                stdout=subprocess.PIPE,
                stderr=errlog,
                text=True,
                cwd=ROOT,
            )
            errlog.close()
            procs.append(proc)
            ports[impl] = read_port(proc, 30, f"{impl} server")
        yield ports
    finally:
        for proc in procs:
            stop(proc)
            if proc.stdout is not None:
                proc.stdout.close()


def load_index(report_dir: Path, impl: str, mode: str, cases: Sequence[str]) -> Run:
    """Read index.json (and each non-OK case's report) for one agent."""
    run = Run(impl, mode)
    index_file = report_dir / "index.json"
    index: dict[str, dict[str, dict[str, Any]]] = {}
    if index_file.is_file():
        index = json.loads(index_file.read_text())
    entries = index.get(impl, {})
    for case_id in cases:
        entry = entries.get(case_id)
        if entry is None:
            run.cases[case_id] = CaseResult(case_id, "MISSING")
            continue
        res = CaseResult(
            case_id,
            str(entry["behavior"]),
            str(entry.get("behaviorClose", "")),
            entry.get("remoteCloseCode"),
            entry.get("duration"),
        )
        if res.behavior != "OK" and entry.get("reportfile"):
            detail_file = report_dir / str(entry["reportfile"])
            if detail_file.is_file():
                detail = json.loads(detail_file.read_text())
                res.result = str(detail.get("result", ""))
                res.result_close = str(detail.get("resultClose", ""))
                res.received = _events(detail.get("received"))
                ok = (detail.get("expected") or {}).get("OK")
                res.ok_expected = _events(ok) if ok else ""
        run.cases[case_id] = res
    return run


def _events(events: Any, limit: int = 160) -> str:
    """Autobahn's event list, e.g. ``[['timeout', 'A'], ['message', ...]]``, short."""
    if not isinstance(events, list):
        return ""
    parts = []
    for event in events:
        if isinstance(event, list) and event:
            args = " ".join(str(a)[:24] for a in event[1:])
            parts.append(f"{event[0]} {args}".strip())
        else:
            parts.append(str(event)[:24])
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_wstest(
    mode: str, spec: dict[str, Any], plan: Plan, impls: Sequence[str]
) -> subprocess.Popen[str]:
    """Write the spec and start wstest in mode (output to a log file)."""
    spec_file = plan.outdir / f"{mode}.json"
    spec_file.write_text(json.dumps(spec, indent=2))
    out = open(plan.outdir / f"wstest-{mode}.log", "w")
    cmd = [str(WSTEST), "-m", mode, "-s", str(spec_file)]
    if mode == "fuzzingserver":
        cmd += ["-u", "0"]  # no embedded web server
    proc = subprocess.Popen(
        cmd,
        cwd=plan.outdir,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_quiet_env(),
    )
    out.close()
    log(
        f"wstest -m {mode}: {len(plan.descriptions)} cases x {len(impls)} "
        f"({', '.join(impls)}), limit {plan.time_limit_s:.0f} s, "
        f"log {spec_file.parent.name}/wstest-{mode}.log"
    )
    return proc


def test_servers(impls: Sequence[str], plan: Plan) -> list[Run]:
    """fuzzingclient against each implementation's echo server, one wstest run."""
    report_dir = plan.outdir / "servers"
    shutil.rmtree(report_dir, ignore_errors=True)
    cases = list(plan.descriptions)
    start = time.monotonic()
    notes: list[str] = []
    with echo_servers(impls, plan, plan.outdir) as ports:
        spec = {
            "outdir": "./servers",
            "servers": [
                {"agent": impl, "url": f"ws://127.0.0.1:{ports[impl]}"}
                for impl in impls
            ],
            "cases": plan.patterns,
            "exclude-cases": plan.exclude,
            "exclude-agent-cases": {k: v for k, v in plan.agent_exclude.items()},
        }
        proc = run_wstest("fuzzingclient", spec, plan, impls)
        limit = plan.time_limit_s * len(impls)
        try:
            proc.wait(limit)
        except subprocess.TimeoutExpired:
            notes.append(f"wstest stopped after the {limit:.0f} s time limit")
            stop(proc)
        if proc.returncode not in (0, None, -signal.SIGTERM):
            notes.append(f"wstest exited with status {proc.returncode}")
    log(f"fuzzingclient done in {time.monotonic() - start:.1f} s")
    runs = []
    for impl in impls:
        run = load_index(report_dir, impl, "server", included_for(plan, impl, cases))
        run.excluded = excluded_for(plan, impl, cases)
        run.notes.extend(notes)
        runs.append(run)
    return runs


def update_reports(port: int, agent: str, timeout_s: float) -> None:
    """Ask the fuzzingserver to write its reports (GET /updateReports).

    A bare WebSocket handshake over a socket: the server writes the reports
    when the connection opens, then sends a close frame; we read to EOF.
    """
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /updateReports?agent={agent} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(request.encode())
        received = b""
        # Response head, then the server's close frame (opcode 0x8).
        while b"\r\n\r\n" not in received or not received.split(b"\r\n\r\n", 1)[1]:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        # Answer the close (masked, empty) so the server ends cleanly.
        try:
            sock.sendall(b"\x88\x80\x00\x00\x00\x00")
        except OSError:
            pass


def test_clients(impls: Sequence[str], plan: Plan) -> list[Run]:
    """fuzzingserver against each implementation's echo client, one wstest run."""
    report_dir = plan.outdir / "clients"
    shutil.rmtree(report_dir, ignore_errors=True)
    cases = list(plan.descriptions)
    port = free_port()
    spec = {
        "url": f"ws://127.0.0.1:{port}",
        "outdir": "./clients",
        "cases": plan.patterns,
        "exclude-cases": plan.exclude,
        "exclude-agent-cases": {k: v for k, v in plan.agent_exclude.items()},
    }
    notes: dict[str, list[str]] = {impl: [] for impl in impls}
    start = time.monotonic()
    proc = run_wstest("fuzzingserver", spec, plan, impls)
    try:
        wait_listening(port, time.monotonic() + 60, proc)
        for impl in impls:
            deflate = impl not in plan.agent_exclude
            cmd = client_command(impl, f"ws://127.0.0.1:{port}", deflate)
            with open(plan.outdir / f"{impl}-client.log", "w") as out:
                try:
                    client = subprocess.run(
                        cmd,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        timeout=plan.time_limit_s,
                        cwd=ROOT,
                        check=False,
                    )
                    if client.returncode != 0:
                        notes[impl].append(
                            f"client exited with status {client.returncode} "
                            f"(see {plan.outdir.name}/{impl}-client.log)"
                        )
                except subprocess.TimeoutExpired:
                    notes[impl].append(
                        f"client stopped after the {plan.time_limit_s:.0f} s limit"
                    )
            log(f"{impl} client done at {time.monotonic() - start:.1f} s")
            update_reports(port, impl, 120)
    finally:
        stop(proc)
    runs = []
    for impl in impls:
        run = load_index(report_dir, impl, "client", included_for(plan, impl, cases))
        run.excluded = excluded_for(plan, impl, cases)
        run.notes.extend(notes[impl])
        runs.append(run)
    return runs


def _excluded(plan: Plan, impl: str, case_id: str) -> bool:
    for pattern in plan.agent_exclude.get(impl, []):
        prefix = pattern.rstrip("*")
        if case_id == pattern or (pattern.endswith("*") and case_id.startswith(prefix)):
            return True
    return False


def included_for(plan: Plan, impl: str, cases: Sequence[str]) -> list[str]:
    """The cases impl actually runs (agent exclusions removed)."""
    return [c for c in cases if not _excluded(plan, impl, c)]


def excluded_for(plan: Plan, impl: str, cases: Sequence[str]) -> dict[str, str]:
    """Cases excluded for impl, each with the reason."""
    why = plan.agent_exclude_why.get(impl, "excluded")
    return {c: why for c in cases if _excluded(plan, impl, c)}


def load_exceptions() -> dict[str, dict[str, dict[str, str]]]:
    """Documented exceptions: ``{impl: {case_id: {"behavior", "why"}}}``."""
    if not EXCEPTIONS_FILE.is_file():
        return {}
    data: dict[str, dict[str, dict[str, str]]] = json.loads(EXCEPTIONS_FILE.read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def verdict(
    run: Run, exceptions: dict[str, dict[str, dict[str, str]]]
) -> list[tuple[CaseResult, str]]:
    """The cases of a run that fail the gate, each with the reason."""
    documented = exceptions.get(run.impl, {})
    bad = []
    for res in run.cases.values():
        if res.behavior in PASSING:
            continue
        doc = documented.get(res.case_id)
        if res.behavior in EXCUSABLE and doc and doc.get("behavior") == res.behavior:
            continue
        bad.append((res, "not documented" if res.behavior in EXCUSABLE else "fails"))
    return bad


def print_summary(
    runs: Sequence[Run],
    plan: Plan,
    exceptions: dict[str, dict[str, dict[str, str]]],
    out: TextIO = sys.stdout,
) -> None:
    """Per mode: one row per case group, each implementation's counts side by side."""
    for mode in MODES:
        mode_runs = [r for r in runs if r.mode == mode]
        if not mode_runs:
            continue
        what = (
            "servers (wstest fuzzingclient)"
            if mode == "server"
            else ("clients (wstest fuzzingserver)")
        )
        print(f"\n== {what} ==", file=out)
        abbrev = {
            "OK": "ok",
            "NON-STRICT": "nonstrict",
            "INFORMATIONAL": "info",
            "UNIMPLEMENTED": "unimpl",
            "FAILED": "FAILED",
            "MISSING": "MISSING",
        }
        header = f"{'group':<30}" + "".join(f" | {r.impl:<40}" for r in mode_runs)
        print(header, file=out)
        print("-" * len(header), file=out)
        groups = sorted({group_of(c) for c in plan.descriptions}, key=int)
        for group in groups:
            label = f"{group} {GROUP_NAMES.get(group, '')}"
            cells = []
            for run in mode_runs:
                counts: dict[str, int] = {}
                for res in run.cases.values():
                    if group_of(res.case_id) == group:
                        counts[res.behavior] = counts.get(res.behavior, 0) + 1
                skipped = sum(1 for c in run.excluded if group_of(c) == group)
                parts = [
                    f"{abbrev.get(k, k)} {counts[k]}" for k in COLUMNS if k in counts
                ]
                parts += [f"{k} {v}" for k, v in counts.items() if k not in COLUMNS]
                if skipped:
                    parts.append(f"excluded {skipped}")
                cells.append(", ".join(parts) or "-")
            print(f"{label:<30}" + "".join(f" | {c:<40}" for c in cells), file=out)
        for run in mode_runs:
            not_ok = [r for r in run.cases.values() if r.behavior != "OK"]
            documented = exceptions.get(run.impl, {})
            print(
                f"\n{run.impl} {mode}: {len(run.cases)} cases run, "
                f"{len(not_ok)} not OK, {len(run.excluded)} excluded",
                file=out,
            )
            for note in run.notes:
                print(f"  note: {note}", file=out)
            if run.excluded:
                by_why: dict[str, list[str]] = {}
                for case_id, why in run.excluded.items():
                    by_why.setdefault(why, []).append(case_id)
                for why, ids in by_why.items():
                    print(f"  excluded {_span(ids)}: {why}", file=out)
            for res in sorted(not_ok, key=lambda r: case_key(r.case_id)):
                code = "" if res.close_code is None else f", close {res.close_code}"
                close = (
                    f", close behavior {res.behavior_close}"
                    if res.behavior_close not in ("", "OK", "INFORMATIONAL")
                    else ""
                )
                print(f"  {res.case_id:<9} {res.behavior}{close}{code}", file=out)
                print(
                    f"            tests: {plan.descriptions.get(res.case_id, '')}",
                    file=out,
                )
                if res.result:
                    print(f"            got:   {res.result}", file=out)
                if res.received:
                    print(f"            events: {res.received}", file=out)
                if res.ok_expected:
                    print(f"            OK is:  {res.ok_expected}", file=out)
                if res.result_close and res.behavior_close not in ("OK", ""):
                    print(f"            close: {res.result_close}", file=out)
                doc = documented.get(res.case_id)
                if doc:
                    print(f"            documented: {doc.get('why', '')}", file=out)


def _span(ids: Sequence[str]) -> str:
    groups = sorted({".".join(i.split(".")[:2]) for i in ids}, key=case_key)
    return f"{len(ids)} cases ({', '.join(g + '.*' for g in groups)})"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line options."""
    p = argparse.ArgumentParser(
        description="Autobahn TestSuite against pyws and Node ws, side by side."
    )
    p.add_argument("--cases", help="comma-separated case patterns, e.g. '1.*,2.*'")
    p.add_argument("--quick", action="store_true", help="the CI case set")
    p.add_argument("--exclude", default="", help="comma-separated patterns to skip")
    p.add_argument(
        "--skip-perf", action="store_true", help="exclude 9.* (Limits/Performance)"
    )
    p.add_argument("--impl", default=",".join(IMPLS), help="pyws,ws (default both)")
    p.add_argument(
        "--mode", default=",".join(MODES), help="server,client (default both)"
    )
    p.add_argument(
        "--time-limit",
        type=float,
        help="seconds per implementation per mode (default 300 quick, 2400 full)",
    )
    p.add_argument("--outdir", type=Path, default=HERE / "reports")
    p.add_argument("--json", type=Path, help="also write the results here as JSON")
    p.add_argument(
        "--default-limits",
        action="store_true",
        help="keep maxFragments at the libraries' default (9.3/9.4 then fail)",
    )
    p.add_argument("--no-setup", action="store_true", help="do not run setup.sh")
    p.add_argument("--quiet-setup", action="store_true", help="pip -q in setup.sh")
    args = p.parse_args(argv)
    args.impls = [i for i in args.impl.split(",") if i]
    args.modes = [m for m in args.mode.split(",") if m]
    for impl in args.impls:
        if impl not in IMPLS:
            p.error(f"unknown --impl {impl!r}; choose from {', '.join(IMPLS)}")
    for mode in args.modes:
        if mode not in MODES:
            p.error(f"unknown --mode {mode!r}; choose from {', '.join(MODES)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    if not args.no_setup:
        setup(args.quiet_setup)
    elif not venv_ready():
        log(f"{VENV} missing or stale: run bash scripts/autobahn/setup.sh", sys.stderr)
        return 3
    if "ws" in args.impls and not NODE_WS.is_dir():
        log("Node ws missing: run npm ci --prefix test/interop", sys.stderr)
        return 2

    if args.cases:
        patterns = [c.strip() for c in args.cases.split(",") if c.strip()]
    elif args.quick:
        patterns = list(QUICK_CASES)
    else:
        patterns = ["*"]
    exclude = [c.strip() for c in args.exclude.split(",") if c.strip()]
    if args.skip_perf:
        exclude.append("9.*")
    if not args.default_limits:
        LIMIT_ARGS[:] = ["--max-fragments", "0"]
        log(LIMITS_NOTE)
    descriptions = resolve_cases(patterns, exclude)
    if not descriptions:
        log(f"no case matches {patterns}", sys.stderr)
        return 2
    if exclude:
        log(f"excluded for every implementation by request: {', '.join(exclude)}")
    if patterns != ["*"]:
        log(f"case subset: {', '.join(patterns)} ({len(descriptions)} cases)")

    agent_exclude: dict[str, list[str]] = {}
    agent_exclude_why: dict[str, str] = {}
    if "pyws" in args.impls and not pyws_has_deflate():
        agent_exclude["pyws"] = ["12.*", "13.*"]
        agent_exclude_why["pyws"] = (
            "permessage-deflate not in pyws yet (no pyws/permessage_deflate.py)"
        )
    time_limit = args.time_limit or (300.0 if args.quick else 2400.0)
    outdir: Path = args.outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    plan = Plan(
        patterns,
        exclude,
        descriptions,
        agent_exclude,
        agent_exclude_why,
        time_limit,
        outdir,
    )

    runs: list[Run] = []
    try:
        if "server" in args.modes:
            runs += test_servers(args.impls, plan)
        if "client" in args.modes:
            runs += test_clients(args.impls, plan)
    except RuntimeError as exc:
        log(f"run failed: {exc}", sys.stderr)
        return 2

    exceptions = load_exceptions()
    print_summary(runs, plan, exceptions)
    if LIMIT_ARGS:
        print(f"\nnote: {LIMITS_NOTE}")
    status = 0
    print()
    for run in runs:
        bad = verdict(run, exceptions)
        if run.impl == "pyws" and bad:
            status = 1
        state = "PASS" if not bad else f"{len(bad)} case(s) not passing"
        gate = "" if run.impl == "pyws" else " (reference, not gating)"
        print(f"{run.impl} {run.mode}: {state}{gate}")
    print(f"HTML reports: {outdir}/servers/index.html, {outdir}/clients/index.html")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cases": plan.descriptions,
                    "runs": [
                        {
                            "impl": r.impl,
                            "mode": r.mode,
                            "cases": {k: v.__dict__ for k, v in r.cases.items()},
                            "excluded": r.excluded,
                            "notes": r.notes,
                            "gate_failures": [
                                res.case_id for res, _ in verdict(r, exceptions)
                            ],
                        }
                        for r in runs
                    ],
                },
                indent=2,
            )
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
