"""Command line of the compare tool: ``python -m scripts.compare``.

Owns argument parsing, running scenarios concurrently, printing the
side-by-side report or JSON, and the exit status (0: only the intended
difference or none; 1: any other difference; 2: bad usage). Must not import
``pyws`` nor anything under ``test/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from . import matrix, report, runner
from .scenario import Scenario, ScenarioError, find, load_all

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.compare",
        description=(
            "Run behaviour scenarios against two WebSocket implementations "
            "(default: Node ws and pyws) through a scripted raw TCP peer and "
            "show the traces side by side, or against many (--matrix) and "
            "write a report."
        ),
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        help="scenario names (from scripts/compare/scenarios) or .json paths; "
        "default: the whole library",
    )
    parser.add_argument("--a", default="ws", choices=runner.ADAPTERS, help="baseline")
    parser.add_argument(
        "--b", default="pyws", choices=runner.ADAPTERS, help="candidate"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead")
    parser.add_argument("--list", action="store_true", help="list scenarios and exit")
    parser.add_argument(
        "--only-diffs", action="store_true", help="print only differing rows"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print one line per scenario"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="adapter runs at once (default 2)"
    )
    parser.add_argument(
        "--factor",
        type=float,
        default=float(os.environ.get("PYWS_COMPARE_TIMEOUT_FACTOR", "1")),
        help="multiply every time bound (env PYWS_COMPARE_TIMEOUT_FACTOR)",
    )
    parser.add_argument("--save", type=Path, help="write raw traces to this folder")
    parser.add_argument(
        "--diff",
        nargs=2,
        type=Path,
        metavar=("A.json", "B.json"),
        help="compare two saved raw traces instead of running anything",
    )
    parser.add_argument(
        "--matrix",
        metavar="IMPL,IMPL,...",
        help="run the scenarios on each listed implementation and write the "
        "matrix report (Markdown and HTML) to --out",
    )
    parser.add_argument(
        "--from",
        dest="from_dir",
        type=Path,
        metavar="DIR",
        help="with --matrix: build the report from traces saved by --save "
        "instead of running anything",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("compare-report"),
        help="where --matrix writes matrix.md, matrix.html, closing-matrix.md "
        "(default: compare-report/)",
    )
    return parser


async def _run_all(
    scenarios: list[Scenario], a: str, b: str, jobs: int, factor: float
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    gate = asyncio.Semaphore(max(1, jobs))  # adapter runs at once

    async def run(scenario: Scenario, impl: str) -> dict[str, Any]:
        async with gate:
            return await runner.run_scenario(scenario, impl, factor)

    async def one(scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
        ta, tb = await asyncio.gather(run(scenario, a), run(scenario, b))
        return ta, tb

    return list(await asyncio.gather(*(one(s) for s in scenarios)))


async def _run_matrix(
    scenarios: list[Scenario], impls: list[str], jobs: int, factor: float
) -> dict[str, dict[str, dict[str, Any]]]:
    gate = asyncio.Semaphore(max(1, jobs))

    async def one(scenario: Scenario, impl: str) -> dict[str, Any]:
        async with gate:
            return await runner.run_scenario(scenario, impl, factor)

    traces = await asyncio.gather(
        *(one(scenario, impl) for scenario in scenarios for impl in impls)
    )
    results: dict[str, dict[str, dict[str, Any]]] = {s.name: {} for s in scenarios}
    for trace in traces:
        results[trace["scenario"]][trace["implementation"]] = trace
    return results


def _matrix(args: argparse.Namespace, scenarios: list[Scenario]) -> int:
    impls = [name.strip() for name in args.matrix.split(",") if name.strip()]
    unknown = [name for name in impls if name not in runner.ADAPTERS]
    if unknown or not impls:
        known = ", ".join(runner.ADAPTERS)
        print(f"unknown implementation(s) {unknown} (known: {known})", file=sys.stderr)
        return 2
    if args.from_dir:
        try:
            results = matrix.load_traces(args.from_dir)
        except (OSError, json.JSONDecodeError, KeyError) as exc:
            print(f"cannot read traces: {exc}", file=sys.stderr)
            return 2
        if args.scenarios:
            names = {s.name for s in scenarios}
            results = {k: v for k, v in results.items() if k in names}
        results = {
            name: {i: traces[i] for i in impls if i in traces}
            for name, traces in results.items()
        }
    else:
        missing = [(name, runner.unavailable(name)) for name in impls]
        missing = [(name, why) for name, why in missing if why]
        if missing:
            for name, why in missing:
                print(f"{name}: {why}", file=sys.stderr)
            return 2
        results = asyncio.run(_run_matrix(scenarios, impls, args.jobs, args.factor))
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            for name, traces in results.items():
                for impl, trace in traces.items():
                    path = args.save / f"{name}.m.{impl}.json"
                    path.write_text(json.dumps(trace, indent=1), "utf-8")
    descriptions = {s.name: s.description for s in scenarios}
    paths = matrix.write(results, impls, descriptions, args.out)
    problems = [
        f"{name} on {impl}: {'; '.join(trace['problems'])}"
        for name, traces in results.items()
        for impl, trace in traces.items()
        if trace.get("problems")
    ]
    for line in problems:
        print(f"runner problem: {line}", file=sys.stderr)
    print(matrix.closing_table(results, impls))
    for path in paths:
        print(f"wrote {path}")
    return 0


def _emit(results: list[dict[str, Any]], args: argparse.Namespace) -> int:
    counts = {
        report.SAME: 0,
        report.INTENDED: 0,
        report.DOCUMENTED: 0,
        report.DIFFERENT: 0,
        report.NOT_APPLICABLE: 0,
    }
    for result in results:
        counts[result["status"]] += 1
    failed = counts[report.DIFFERENT] > 0
    if args.json:
        out = {"results": results, "counts": counts, "ok": not failed}
        print(json.dumps(out, indent=1))
    else:
        for result in results:
            if args.quiet:
                reasons = "; ".join(result["reasons"])
                status = result["status"]
                print(f"{status:<9} {result['scenario']} {reasons}".rstrip())
            else:
                print(report.render(result, only_diffs=args.only_diffs))
                print()
        print(
            f"{len(results)} scenarios: {counts[report.SAME]} same, "
            f"{counts[report.INTENDED]} intended difference, "
            f"{counts[report.DOCUMENTED]} documented decision, "
            f"{counts[report.DIFFERENT]} different, "
            f"{counts[report.NOT_APPLICABLE]} not applicable"
        )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run the tool; return the process exit status."""
    args = _parser().parse_args(argv)
    if args.diff:
        try:
            traces = [json.loads(p.read_text(encoding="utf-8")) for p in args.diff]
        except (OSError, json.JSONDecodeError) as exc:
            print(f"cannot read trace: {exc}", file=sys.stderr)
            return 2
        return _emit([report.compare(traces[0], traces[1])], args)
    try:
        if args.scenarios:
            scenarios = [find(name) for name in args.scenarios]
        else:
            scenarios = load_all()
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.matrix:
        return _matrix(args, scenarios)
    if args.list:
        for scenario in scenarios:
            print(f"{scenario.name:<40} {scenario.role:<6} {scenario.description}")
        return 0
    for name in {args.a, args.b}:
        why = runner.unavailable(name)
        if why:
            print(f"{name}: {why}", file=sys.stderr)
            return 2
    pairs = asyncio.run(_run_all(scenarios, args.a, args.b, args.jobs, args.factor))
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for ta, tb in pairs:
            for label, trace in (("a", ta), ("b", tb)):
                name = f"{trace['scenario']}.{label}.{trace['implementation']}.json"
                (args.save / name).write_text(json.dumps(trace, indent=1), "utf-8")
    decisions = {s.name: s.raw.get("decision") for s in scenarios}
    departures = {s.name: s.raw.get("departure") for s in scenarios}
    results = [
        report.apply_departure(
            report.apply_decision(
                report.compare(ta, tb), decisions.get(ta["scenario"])
            ),
            departures.get(ta["scenario"]),
            (args.a, args.b),
        )
        for ta, tb in pairs
    ]
    return _emit(results, args)


if __name__ == "__main__":
    sys.exit(main())
