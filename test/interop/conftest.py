"""Interop tests: mark them ``interop`` and skip them, loudly, without Node.

They are skipped only when ``node`` is not on PATH or ``test/interop/
node_modules/ws`` is missing (the reason says how to install it); never
silently, and never for any other reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .node_peer import skip_reason

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    reason = skip_reason()
    for item in items:
        if HERE not in Path(str(item.fspath)).resolve().parents:
            continue
        item.add_marker(pytest.mark.interop)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
