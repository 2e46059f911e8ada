"""Draw the README's benchmark table as an SVG bar chart.

The README's "Benchmark" section has one row per scenario: pyws's server
CPU time per message, then pyws's figure as a ratio to each other
implementation's (``0.25x`` means pyws used a quarter of that one's CPU). The
chart shows, per scenario, each implementation's CPU time per message
relative to pyws (pyws = 1; longer bars cost more CPU).

    python docs/_ext/benchchart.py README.md > bench.svg
    python docs/_ext/benchchart.py scripts/bench/results/bench-....json > bench.svg

A results file of ``scripts/bench/run.py --json`` gives the same chart from
that run's medians (:func:`results_rows`); the docs build uses the newest one
in ``scripts/bench/results/`` when there is one, else the README's table.

Standard library only; the docs build calls :func:`chart_svg`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

FONT = (
    "font-family='system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif' "
    "font-size='12'"
)
COLORS = ["#0a6ebd", "#d4731f", "#2f8f46", "#8e44ad", "#b5363c", "#6b7280"]

#: One row: (scenario, pyws figure as written, {implementation: ratio}).
Row = tuple[str, str, dict[str, float]]


def readme_table(readme: str) -> list[Row]:
    """The rows of the first table under ``## Benchmark`` (empty if none)."""
    section = re.split(r"^## Benchmark\s*$", readme, maxsplit=1, flags=re.M)
    if len(section) < 2:
        return []
    body = re.split(r"^## ", section[1], maxsplit=1, flags=re.M)[0]
    lines: list[str] = []  # the first table only: its consecutive "|" lines
    for raw in body.splitlines():
        if raw.strip().startswith("|"):
            lines.append(raw.strip())
        elif lines:
            break
    if len(lines) < 3:
        return []
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    others = [h.removeprefix("vs ").strip() for h in header[2:]]
    rows: list[Row] = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        ratios = {}
        for name, cell in zip(others, cells[2:], strict=False):
            match = re.fullmatch(r"([0-9.]+)x", cell)
            if match and float(match.group(1)) > 0:
                ratios[name] = float(match.group(1))
        rows.append((cells[0], cells[1], ratios))
    return rows


def results_rows(data: dict[str, Any]) -> list[Row]:
    """Rows from a ``scripts/bench/run.py --json`` file, as the README's.

    ``data["median"]`` maps each scenario to ``{implementation: figures}``;
    every scenario with a CPU time per message for pyws gives a row (idle
    memory has none), with pyws's figure divided by each other one's.
    """
    rows: list[Row] = []
    for scenario, impls in data.get("median", {}).items():
        base = impls.get("pyws", {}).get("cpu_us")
        if not base:
            continue
        ratios = {}
        for name, fig in impls.items():
            other = fig.get("cpu_us") if isinstance(fig, dict) else None
            if name != "pyws" and other:
                ratios[name] = float(base) / float(other)
        rows.append((scenario, f"{float(base):.1f} us", ratios))
    return rows


def chart_svg(rows: list[Row]) -> str:
    """Grouped horizontal bars: CPU per message relative to pyws, per scenario."""
    names = ["pyws"] + sorted({n for _, _, r in rows for n in r}, key=_order(rows))
    color = {n: COLORS[i % len(COLORS)] for i, n in enumerate(names)}
    bar, gap, label_w, plot_w = 13, 14, 190, 430
    top = 56
    biggest = max([1.0] + [1 / v for _, _, r in rows for v in r.values()])
    scale = plot_w / biggest
    y = top
    body: list[str] = []
    for scenario, figure, ratios in rows:
        group = [("pyws", 1.0)] + [(n, 1 / ratios[n]) for n in names[1:] if n in ratios]
        body.append(
            f"<text x='8' y='{y + 11}' {FONT} font-weight='bold' fill='#1f2328'>"
            f"{escape(scenario)}</text>"
        )
        body.append(
            f"<text x='8' y='{y + 26}' {FONT} fill='#57606a'>"
            f"pyws: {escape(figure)}</text>"
        )
        for i, (name, value) in enumerate(group):
            by = y + i * bar
            w = max(1.0, value * scale)
            body.append(
                f"<rect x='{label_w}' y='{by}' width='{w:.1f}' height='{bar - 2}' "
                f"fill='{color[name]}'><title>{escape(name)}: {value:.2f}x pyws's CPU "
                f"per message</title></rect>"
            )
            body.append(
                f"<text x='{label_w + w + 4:.1f}' y='{by + bar - 3}' {FONT} "
                "fill='#1f2328'>"
                f"{value:.2f}</text>"
            )
        y += max(len(group) * bar, 30) + gap
    legend = []
    lx = 8
    for name in names:
        legend.append(
            f"<rect x='{lx}' y='30' width='12' height='12' fill='{color[name]}'/>"
            f"<text x='{lx + 16}' y='40' {FONT} fill='#1f2328'>{escape(name)}</text>"
        )
        lx += 24 + 7 * len(name)
    width = label_w + plot_w + 60
    height = y + 8
    title = "Server CPU time per message, relative to pyws (pyws = 1, lower is better)"
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img'>\n<title>{escape(title)}</title>\n"
        f"<rect width='{width}' height='{height}' fill='white'/>\n"
        f"<text x='8' y='18' {FONT} font-weight='bold' fill='#1f2328'>"
        f"{escape(title)}</text>\n"
        + "\n".join(legend)
        + "\n"
        + f"<line x1='{label_w}' y1='{top - 4}' x2='{label_w}' y2='{y - gap}' "
        "stroke='#8c959f'/>\n" + "\n".join(body) + "\n</svg>\n"
    )


def _order(rows: list[Row]) -> Callable[[str], int]:
    seen: list[str] = []
    for _, _, ratios in rows:
        for name in ratios:
            if name not in seen:
                seen.append(name)
    return seen.index


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(
            "usage: python docs/_ext/benchchart.py README.md|RESULTS.json > bench.svg",
            file=sys.stderr,
        )
        return 2
    text = Path(argv[1]).read_text("utf-8")
    if argv[1].endswith(".json"):
        rows = results_rows(json.loads(text))
    else:
        rows = readme_table(text)
    if not rows:
        print(f"no benchmark figures in {argv[1]}", file=sys.stderr)
        return 1
    sys.stdout.write(chart_svg(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
