"""Run pyws's coverage-guided fuzz targets under atheris (libFuzzer).

    python scripts/fuzz/run.py --ci                 # every job, ~1 minute
    python scripts/fuzz/run.py frames --time 3600   # one long run
    python scripts/fuzz/run.py --all --time 600     # every job, 10 min each
    python scripts/fuzz/run.py request --replay FILE   # re-run one input

Jobs: ``frames`` (C helper), ``frames-py`` (the same with
``PYWS_NO_SPEEDUPS=1``, the pure Python fallback), ``request``,
``response``, ``extensions`` (see ``targets.py``). Each job runs in its own
process: libFuzzer reads the kept seeds of ``scripts/fuzz/corpus/TARGET``
and writes what it finds into a work directory (``--work``, by default a
temporary one), so a run never changes the repository; ``--merge`` copies
the new inputs that add coverage into the kept corpus.

A finding is any exception that is not pyws's own documented error
(:class:`pyws.errors.WebSocketError` and its subclasses) or a failed check
in a target. libFuzzer then stops, prints the traceback and writes the input
as ``crash-*`` into the work directory; the job fails and so does the run.
At the end a table gives, per job, the executions, executions per second,
coverage and the result.

Requires atheris (``pip install -r scripts/fuzz/requirements.txt``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "corpus"

#: job name -> (target, extra environment)
JOBS: dict[str, tuple[str, dict[str, str]]] = {
    "frames": ("frames", {"PYWS_NO_SPEEDUPS": ""}),
    "frames-py": ("frames", {"PYWS_NO_SPEEDUPS": "1"}),
    "request": ("request", {}),
    "response": ("response", {}),
    "extensions": ("extensions", {}),
}

#: Seconds per job in ``--ci`` (five jobs plus start-up: about a minute).
CI_SECONDS = 10

#: Largest input libFuzzer makes, per target.
MAX_LEN = {"frames": 16384, "request": 8192, "response": 8192, "extensions": 1024}


def worker(target: str, argv: list[str]) -> None:
    """Inside the job's process: instrument pyws, then hand over to atheris."""
    import atheris

    sys.path.insert(0, str(ROOT))
    with atheris.instrument_imports(include=["pyws", "scripts.fuzz"]):
        from pyws.errors import WebSocketError
        from scripts.fuzz.targets import TARGETS

    fn = TARGETS[target]

    def one_input(data: bytes) -> None:
        try:
            fn(data)
        except WebSocketError:
            pass  # pyws's own documented error: a clean refusal

    atheris.Setup([sys.argv[0], *argv], one_input)
    atheris.Fuzz()


_STAT_RE = re.compile(r"stat::(\w+):\s*(\d+)")
_COV_RE = re.compile(r"cov: (\d+) ft: (\d+)")


def run_job(
    job: str, seconds: int, work: Path, runs: int | None, extra: list[str]
) -> dict[str, object]:
    target, env_extra = JOBS[job]
    out_dir = work / job
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        str(out_dir),
        str(CORPUS / target),
        f"-max_total_time={seconds}",
        f"-max_len={MAX_LEN[target]}",
        "-timeout=10",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
        f"-artifact_prefix={out_dir}/",
        *([f"-runs={runs}"] if runs is not None else []),
        *extra,
    ]
    env = {**os.environ, **env_extra, "PYTHONPATH": str(ROOT)}
    if not env.get("PYWS_NO_SPEEDUPS"):
        env.pop("PYWS_NO_SPEEDUPS", None)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", target, *argv],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    elapsed = time.monotonic() - started
    log = proc.stdout + proc.stderr
    stats = {k: int(v) for k, v in _STAT_RE.findall(log)}
    cov = _COV_RE.findall(log)
    crashes = sorted(p.name for p in out_dir.glob("crash-*"))
    crashes += sorted(p.name for p in out_dir.glob("timeout-*"))
    crashes += sorted(p.name for p in out_dir.glob("oom-*"))
    ok = proc.returncode == 0 and not crashes
    if not ok:
        print(f"--- {job}: exit status {proc.returncode}", file=sys.stderr)
        print(log[-6000:], file=sys.stderr)
    return {
        "job": job,
        "execs": stats.get("number_of_executed_units", 0),
        "per_s": stats.get("average_exec_per_sec", 0),
        "cov": cov[-1][0] if cov else "?",
        "seconds": elapsed,
        "ok": ok,
        "crashes": crashes,
        "new": len(list(out_dir.iterdir())) - len(crashes),
    }


def replay(target: str, path: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from scripts.fuzz.targets import TARGETS

    TARGETS[target](path.read_bytes())  # let the traceback show
    print(f"{path}: no finding")
    return 0


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--worker"]:
        worker(args_in[1], args_in[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("jobs", nargs="*", choices=[[], *JOBS], default=[])
    parser.add_argument("--all", action="store_true", help="every job")
    parser.add_argument("--ci", action="store_true", help=f"every job, {CI_SECONDS} s")
    parser.add_argument("--time", type=int, default=60, help="seconds per job")
    parser.add_argument("--runs", type=int, default=None, help="inputs per job")
    parser.add_argument("--work", type=Path, default=None, help="output directory")
    parser.add_argument(
        "--merge", action="store_true", help="add new inputs to corpus/"
    )
    parser.add_argument("--replay", type=Path, default=None, help="run one input")
    parser.add_argument("--libfuzzer", action="append", default=[], help="extra flag")
    args = parser.parse_args(args_in)
    if args.replay is not None:
        if len(args.jobs) != 1:
            parser.error("--replay takes one target")
        return replay(JOBS[args.jobs[0]][0], args.replay)
    jobs = list(JOBS) if (args.all or args.ci or not args.jobs) else args.jobs
    seconds = CI_SECONDS if args.ci else args.time
    work = args.work or Path(tempfile.mkdtemp(prefix="pyws-fuzz-"))
    results = [run_job(job, seconds, work, args.runs, args.libfuzzer) for job in jobs]
    header = f"{'job':<12}{'execs':>10}{'exec/s':>9}{'cov':>7}{'new':>6}{'secs':>7}"
    print(f"\n{header}  result")
    for r in results:
        crashes: list[str] = r["crashes"]  # type: ignore[assignment]
        result = "ok" if r["ok"] else "FAIL " + " ".join(crashes)
        print(
            f"{r['job']:<12}{r['execs']:>10}{r['per_s']:>9}{r['cov']:>7}"
            f"{r['new']:>6}{r['seconds']:>7.1f}  {result}"
        )
    print(f"work directory: {work}")
    if args.merge:
        for job in jobs:
            target = JOBS[job][0]
            for path in (work / job).iterdir():
                if not path.name.startswith(("crash-", "timeout-", "oom-")):
                    shutil.copy(path, CORPUS / target / path.name)
        print("new inputs copied into", CORPUS)
    elif args.work is None:
        if all(r["ok"] for r in results):
            shutil.rmtree(work)
            print("(removed: nothing found)")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
