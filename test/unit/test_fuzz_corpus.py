"""Replay the kept fuzz corpus (scripts/fuzz/corpus) through the targets.

The inputs that once broke pyws (``crash-*``, issue 9) and the seeds run on
every test run, without atheris: a target may only end normally or with
pyws's own documented error (:class:`pyws.errors.WebSocketError`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pyws.errors import WebSocketError  # noqa: E402
from scripts.fuzz.targets import TARGETS  # noqa: E402

CORPUS = ROOT / "scripts" / "fuzz" / "corpus"

CASES = sorted(
    (target, path)
    for target in TARGETS
    for path in (CORPUS / target).iterdir()
    if path.is_file()
)


def test_every_target_has_a_corpus() -> None:
    for target in TARGETS:
        assert any((CORPUS / target).iterdir()), target


def test_the_issue_9_crash_is_kept() -> None:
    assert (
        (CORPUS / "request" / "crash-http09-lf").read_bytes().endswith(b"GET /\n\r\n")
    )


@pytest.mark.parametrize(
    ("target", "path"), CASES, ids=[f"{t}/{p.name[:12]}" for t, p in CASES]
)
def test_corpus_input(target: str, path: Path) -> None:
    try:
        TARGETS[target](path.read_bytes())
    except WebSocketError:
        pass
