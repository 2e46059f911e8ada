"""The layer rule of STYLE.md ("Layout"): imports only point down.

Modules are named as paths under ``pyws/`` without ``.py``: ``websocket``
for ``pyws/websocket.py``, ``cli/connect`` for the command line package's
``pyws/cli/connect.py``. Each module is parsed with ``ast`` (never
imported, so a forbidden import cannot hide behind a lazy ``import`` inside
a function or under ``if TYPE_CHECKING:``: every ``import`` statement in the
file counts, so no upward reference exists even for the type checker). Core
modules are stdlib-only and sans-I/O: no asyncio, pyee, socket, time or
selectors, and nothing from the transport or facade layers. Transport
modules must not import pyee. The command line uses the public API only,
and nothing but ``__main__`` imports it.
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
    "cli/__init__",
    "cli/connect",
    "cli/listen",
    "cli/output",
    "cli/signals",
    "cli/stdin",
    "workers",
    "redis",
]

FORBIDDEN_IN_CORE = {"asyncio", "pyee", "socket", "time", "selectors"}
UPPER_LAYERS = set(TRANSPORT) | set(FACADE)

# Third-party packages the core may use (setup.cfg install_requires).
CORE_THIRD_PARTY = {"httptools"}


def _package_of(module: str) -> str:
    """``cli/connect`` -> ``pyws.cli``; ``cli/__init__`` -> ``pyws.cli``;
    ``websocket`` -> ``pyws``: the package a relative import starts from."""
    parts = module.split("/")[:-1]
    return ".".join(["pyws", *parts])


def _resolve(module: str, level: int, name: str | None) -> str:
    base = _package_of(module).split(".")
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imported_modules(module: str, pkg: Path = PKG) -> list[tuple[int, str]]:
    """Every module an ``import`` statement of ``pyws/<module>.py`` names.

    Relative imports come back absolute: ``from .x import y`` in
    ``websocket`` is ``pyws.x``, in ``cli/connect`` it is ``pyws.cli.x``;
    ``from . import x`` yields the package plus ``.x``. Imports under ``if
    TYPE_CHECKING:`` count like any other: an upward type-only import is
    still an upward dependency.
    """
    path = pkg / f"{module}.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve(module, node.level, node.module)
                if node.module:
                    found.append((node.lineno, base))
                else:
                    found.extend((node.lineno, f"{base}.{a.name}") for a in node.names)
            else:
                assert node.module is not None
                found.append((node.lineno, node.module))
                if node.module == "pyws":
                    found.extend((node.lineno, f"pyws.{a.name}") for a in node.names)
    return found


def _on_disk(pkg: Path = PKG) -> set[str]:
    """Every module of the package, subpackages included, as named here."""
    return {
        p.relative_to(pkg).with_suffix("").as_posix()
        for p in pkg.rglob("*.py")
        if "__pycache__" not in p.parts
    }


def _layer_name(dotted: str) -> str:
    """``pyws.cli.connect`` -> ``cli/connect``; ``pyws.cli`` ->
    ``cli/__init__``; ``pyws.websocket`` -> ``websocket``; ``pyws`` ->
    ``__init__`` (what the layer lists hold)."""
    parts = dotted.split(".")[1:]
    if not parts:
        return "__init__"
    name = "/".join(parts)
    if (PKG / name).is_dir():
        return f"{name}/__init__"
    return name


def test_every_module_is_classified() -> None:
    """A new module must be put in a layer here before it can ship."""
    assert _on_disk() == set(CORE) | set(TRANSPORT) | set(FACADE)


def test_imported_modules_sees_every_form(tmp_path: Path) -> None:
    """The checker itself: every import form is found (so it can fail),
    type-only and function-local imports included."""
    found = {name for _, name in imported_modules("websocket_server")}
    assert {"asyncio", "pyws._server", "pyws._runtime", "inspect"} <= found
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
    # In a subpackage, relative imports start from the subpackage.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mod.py").write_text(
        "from .sibling import x\nfrom . import other\nfrom ..websocket import W\n"
    )
    found = {name for _, name in imported_modules("sub/mod", tmp_path)}
    assert found == {"pyws.sub.sibling", "pyws.sub.other", "pyws.websocket"}
    assert _layer_name("pyws.cli") == "cli/__init__"
    assert _layer_name("pyws.cli.stdin") == "cli/stdin"
    assert _layer_name("pyws") == "__init__"


@pytest.mark.parametrize("module", CORE)
def test_core_is_sans_io(module: str) -> None:
    """Core: stdlib only; no asyncio/pyee/socket/time/selectors; no upper layer."""
    bad = []
    for line, name in imported_modules(module):
        top = name.split(".")[0]
        if top in FORBIDDEN_IN_CORE:
            bad.append(f"{module}.py:{line}: imports {name}")
        elif top == "pyws":
            if _layer_name(name) in UPPER_LAYERS:
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
            if _layer_name(name) in FACADE:
                bad.append(f"{module}.py:{line}: imports facade {name}")
    assert not bad, "\n".join(bad)


CLI = sorted(m for m in FACADE if m.startswith("cli/"))
#: What the command line may use of pyws besides itself: the public API.
CLI_MAY_IMPORT = {
    "__init__",
    "constants",
    "typing",
    "_printable",
    "errors",
    "workers",
    "redis",
}


@pytest.mark.parametrize("module", CLI)
def test_cli_uses_the_public_api_only(module: str) -> None:
    """The command line sits on the facade: pyws's public names, constants
    and the escaping helper; never the core or the transport."""
    bad = []
    for line, name in imported_modules(module):
        if name.split(".")[0] != "pyws":
            continue
        layer = _layer_name(name)
        if not layer.startswith("cli/") and layer not in CLI_MAY_IMPORT:
            bad.append(f"{module}.py:{line}: imports {name}")
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_cli() -> None:
    """Only ``__main__`` and the CLI itself may import :mod:`pyws.cli`."""
    bad = []
    for module in sorted(_on_disk()):
        if module == "__main__" or module.startswith("cli/"):
            continue
        for line, name in imported_modules(module):
            if name == "pyws.cli" or name.startswith("pyws.cli."):
                bad.append(f"{module}.py:{line}: imports {name}")
    assert not bad, "\n".join(bad)


def test_no_private_reach_through_into_websocket() -> None:
    """The seam: no other module touches a WebSocket's private attributes
    (``ws._x``); they call :mod:`pyws.websocket`'s seam functions or the
    owner interfaces instead."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        if path.relative_to(PKG).as_posix() == "websocket.py":
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
