"""Sphinx helpers for the pyws docs: generated pages and checks.

At ``builder-inited`` this writes ``docs/_generated/`` (ignored by git):

- ``ws-errors-table.md``: the ``WS_ERR_*`` table, from ``pyws.errors.WS_ERRORS``
  (code, close status, class) and the receiver's own calls (the messages,
  read from ``pyws/receiver.py`` and ``pyws/permessage_deflate.py`` with
  ``ast``), with the "when" column below. A code in the table without a
  "when", or the other way round, is a build warning (an error under -W).
- ``cli-help.md``: ``python -m pyws ... --help`` for each command.
- ``client-options.md``, ``server-options.md``, ``redis-options.md``: the
  option tables, from ``pyws._options`` with the meanings written in
  ``opttable.py``.
- ``closing-*.svg``: sequence diagrams of the saved ``scripts/compare``
  traces in ``docs/_traces/`` (see ``seqdiagram.py``).
- ``bench.svg``: the benchmark chart, from the newest
  ``scripts/bench/results/*.json`` if there is one (a local run; the folder is
  not committed), else from the README's benchmark table; ``bench-source.md``
  says which.

At ``env-check-consistency`` it checks that every name in ``pyws.__all__``
is documented in the API reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import benchchart
import errtable
import opttable
import seqdiagram
from sphinx.application import Sphinx
from sphinx.util import logging

import pyws

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parent.parent
ROOT = DOCS.parent
OUT = DOCS / "_generated"


def _write(path: Path, text: str) -> None:
    # Unchanged files keep their mtime, so Sphinx does not rebuild for nothing.
    if not path.exists() or path.read_text("utf-8") != text:
        path.write_text(text, "utf-8")


def generate(app: Sphinx) -> None:
    OUT.mkdir(exist_ok=True)
    for problem in errtable.problems():
        logger.warning("docs: %s", problem)
    _write(OUT / "ws-errors-table.md", errtable.errors_markdown())
    for problem in opttable.problems():
        logger.warning("docs: %s", problem)
    _write(OUT / "cli-help.md", _cli_help())
    _write(OUT / "client-options.md", opttable.table("client"))
    _write(OUT / "server-options.md", opttable.table("server"))
    _write(OUT / "redis-options.md", opttable.table("redis"))
    for trace_path in sorted((DOCS / "_traces").glob("*.json")):
        trace = json.loads(trace_path.read_text("utf-8"))
        _write(OUT / f"{trace_path.stem}.svg", seqdiagram.trace_to_svg(trace))
    results = sorted((ROOT / "scripts" / "bench" / "results").glob("*.json"))
    if results:
        source = f"`scripts/bench/results/{results[-1].name}` (a local run)"
        table = benchchart.results_rows(json.loads(results[-1].read_text("utf-8")))
    else:
        source = "the table of the README's Benchmark section"
        table = benchchart.readme_table((ROOT / "README.md").read_text("utf-8"))
    if not table:
        logger.warning("docs: no benchmark figures in %s", source)
    else:
        _write(OUT / "bench.svg", benchchart.chart_svg(table))
    _write(OUT / "bench-source.md", f"The chart is drawn from {source}.\n")


def _constant_docs(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Give a constant re-exported by ``pyws`` its ``#:`` comment.

    autodoc reads ``#:`` comments from the module a name is documented in
    (``pyws/__init__.py``), not from ``pyws/constants.py`` where they are
    written, and falls back to the docstring of the value's type ("str(object)
    -> str ..."). This puts the comment from ``pyws.constants`` in its place.
    """
    if what != "data" or not name.startswith("pyws."):
        return
    from sphinx.pycode import ModuleAnalyzer

    docs = ModuleAnalyzer.for_module("pyws.constants").find_attr_docs()
    comment = docs.get(("", name.rsplit(".", 1)[1]))
    if comment:
        lines[:] = [line for line in comment if line is not None]


def _cli_help() -> str:
    """``python -m pyws [COMMAND] --help``, as the installed program prints it."""
    parts = []
    for command in ([], ["listen"], ["connect"]):
        run = subprocess.run(
            [sys.executable, "-m", "pyws", *command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
        )
        if run.returncode != 0:
            logger.warning("docs: python -m pyws %s --help failed", " ".join(command))
        title = " ".join(["python -m pyws", *command])
        parts.append(f"## `{title}`\n\n```text\n{run.stdout.rstrip()}\n```\n")
    return "\n".join(parts)


def _check_all_documented(app: Sphinx, env: Any) -> None:
    documented = set(env.domains["py"].objects)
    missing = [n for n in pyws.__all__ if f"pyws.{n}" not in documented]
    if missing:
        logger.warning(
            "pyws.__all__ names missing from the API reference: %s", ", ".join(missing)
        )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-docstring", _constant_docs)
    app.connect("env-check-consistency", _check_all_documented)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
