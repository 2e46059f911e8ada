"""The layer rule of STYLE.md ("Layout"): imports only point down.

Each module is parsed with ``ast`` (never imported, so a forbidden import
cannot hide behind a lazy ``import`` inside a function or under ``if
TYPE_CHECKING:``: every ``import`` statement in the file counts, so no
upward reference exists even for the type checker). Core modules are stdlib-only and
sans-I/O: no asyncio, pyee, socket, time or selectors, and nothing from the
transport or facade layers. Transport modules must not import pyee.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "pyws"

CORE = [
    "constants",
    "errors",
    "validation",
    "buffer_util",
    "extension",
    "subprotocol",
    "permessage_deflate",
    "receiver",
    "sender",
    "handshake",
    "protocol",
    "heartbeat",
    "_options",
    "_printable",
    "_callbacks",
]
TRANSPORT = ["_transport", "_client", "_server", "_tls", "_proxy", "asgi"]
FACADE = [
    "websocket",
    "websocket_server",
    "stream",
    "event_target",
    "inbox",
    "typing",
    "_ws_events",
    "_server_events",
    "log",
    "_emitter",
    "_runtime",
    "timers",
    "node_socket",
    "__init__",
    "__main__",
    "cli",
    "workers",
    "redis",
]

FORBIDDEN_IN_CORE = {"asyncio", "pyee", "socket", "time", "selectors"}
UPPER_LAYERS = set(TRANSPORT) | set(FACADE)

# Third-party packages the core may use (setup.cfg install_requires).
CORE_THIRD_PARTY = {"httptools"}


def imported_modules(module: str, pkg: Path = PKG) -> list[tuple[int, str]]:
    """Every module an ``import`` statement of ``pyws/<module>.py`` names.

    Relative imports come back as ``pyws.<name>``; ``from . import x``
    yields ``pyws.x``. Imports under ``if TYPE_CHECKING:`` count like any
    other: an upward type-only import is still an upward dependency.
    """
    tree = ast.parse((pkg / f"{module}.py").read_text(), filename=f"{module}.py")
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "pyws" + ("." + node.module if node.module else "")
                if node.module:
                    found.append((node.lineno, base))
                else:
                    found.extend((node.lineno, f"pyws.{a.name}") for a in node.names)
            else:
                assert node.module is not None
                found.append((node.lineno, node.module))
                if node.module == "pyws":
                    found.extend((node.lineno, f"pyws.{a.name}") for a in node.names)
    return found


def test_every_module_is_classified() -> None:
    """A new module must be put in a layer here before it can ship."""
    on_disk = {p.stem for p in PKG.glob("*.py")}
    assert on_disk == set(CORE) | set(TRANSPORT) | set(FACADE)


def test_imported_modules_sees_every_form(tmp_path: Path) -> None:
    """The checker itself: every import form is found (so it can fail),
    type-only and function-local imports included."""
    found = {name for _, name in imported_modules("websocket_server")}
    assert {"asyncio", "pyws._server", "pyws.extension", "inspect"} <= found
    (tmp_path / "probe.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from .websocket import WebSocket\n"
        "def f():\n"
        "    import pyee\n"
        "    from . import cli\n"
    )
    found = {name for _, name in imported_modules("probe", tmp_path)}
    assert {"pyws.websocket", "pyee", "pyws.cli"} <= found


@pytest.mark.parametrize("module", CORE)
def test_core_is_sans_io(module: str) -> None:
    """Core: stdlib only; no asyncio/pyee/socket/time/selectors; no upper layer."""
    bad = []
    for line, name in imported_modules(module):
        top = name.split(".")[0]
        if top in FORBIDDEN_IN_CORE:
            bad.append(f"{module}.py:{line}: imports {name}")
        elif top == "pyws":
            sub = name.split(".")[1] if "." in name else "__init__"
            if sub in UPPER_LAYERS:
                bad.append(f"{module}.py:{line}: imports upper layer {name}")
        elif top not in CORE_THIRD_PARTY and top not in _stdlib():
            bad.append(f"{module}.py:{line}: imports non-stdlib {name}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module", TRANSPORT)
def test_transport_does_not_import_pyee(module: str) -> None:
    """Transport: asyncio and the core, never pyee nor the facade."""
    bad = []
    for line, name in imported_modules(module):
        top = name.split(".")[0]
        if top == "pyee":
            bad.append(f"{module}.py:{line}: imports {name}")
        elif top == "pyws" and "." in name:
            sub = name.split(".")[1]
            if sub in FACADE:
                bad.append(f"{module}.py:{line}: imports facade {name}")
    assert not bad, "\n".join(bad)


def test_no_private_reach_through_into_websocket() -> None:
    """The seam: no other module touches a WebSocket's private attributes
    (``ws._x``); they call :mod:`pyws.websocket`'s seam functions or the
    owner interfaces instead."""
    bad = []
    for path in sorted(PKG.glob("*.py")):
        if path.stem == "websocket":
            continue
        tree = ast.parse(path.read_text(), filename=path.name)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in ("ws", "websocket")
            ):
                bad.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names) | {"__future__"}
