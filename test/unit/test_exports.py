"""``pyws.__all__``: the public names, each resolving to the right object.

ws exports (docs/api.md): the ``WebSocket`` class, ``WebSocketServer``
and its alias ``Server``, ``Receiver``, ``Sender``, ``PerMessageDeflate``,
``extension`` (parse/format) and ``subprotocol`` (parse), and the ready-state
constants. pyws adds its Python extras (``run``, ``once``, the errors, the
event classes, ``read_upgrade_request``, ``NodeSocket``, ...).
"""

from __future__ import annotations

import types

import pytest

import pyws

EXPECTED = {
    # ws's exports
    "WebSocket",
    "WebSocketServer",
    "Server",
    "Receiver",
    "Sender",
    "PerMessageDeflate",
    "extension",
    "inbox",
    "log",
    "subprotocol",
    "createWebSocketStream",
    "create_websocket_stream",
    "WebSocketStream",
    # constants
    "CONNECTING",
    "OPEN",
    "CLOSING",
    "CLOSED",
    "GUID",
    "CLOSE_TIMEOUT",
    "BINARY_TYPES",
    "EMPTY_BUFFER",
    "ReadyState",
    "Opcode",
    "CloseCode",
    # errors
    "WebSocketError",
    "ProtocolError",
    "HandshakeError",
    "InflateError",
    "NotOpenError",
    "RangeError",
    "WsSyntaxError",
    # events, HTTP objects, runtime (Python extras)
    "Event",
    "MessageEvent",
    "CloseEvent",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "ErrorEvent",
    "Request",
    "Response",
    "NodeSocket",
    "MaxListenersExceededWarning",
    "read_upgrade_request",
    "run",
    "once",
    "__version__",
    # Node's timers on pyws's loop (pyws.timers)
    "setTimeout",
    "setInterval",
    "setImmediate",
    "clearTimeout",
    "clearInterval",
    "clearImmediate",
    "set_timeout",
    "set_interval",
    "set_immediate",
    "clear_timeout",
    "clear_interval",
    "clear_immediate",
    "Timeout",
    "Immediate",
}


def test_all_is_exactly_the_public_names() -> None:
    assert set(pyws.__all__) == EXPECTED
    assert len(pyws.__all__) == len(set(pyws.__all__)), "duplicate in __all__"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_name_resolves(name: str) -> None:
    assert getattr(pyws, name) is not None


def test_star_import_gives_all() -> None:
    ns: dict[str, object] = {}
    exec("from pyws import *", ns)
    assert set(ns) - {"__builtins__"} == set(pyws.__all__)


def test_no_public_name_left_out() -> None:
    """Every public, non-module attribute of pyws is in ``__all__``."""
    public = {
        n
        for n, v in vars(pyws).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert public <= set(pyws.__all__) | {"annotations"}


def test_ws_identities() -> None:
    """The names are the classes they stand for, as in ws."""
    from pyws import permessage_deflate, receiver, sender, websocket, websocket_server

    assert pyws.Server is pyws.WebSocketServer
    assert pyws.WebSocket is websocket.WebSocket
    assert pyws.WebSocketServer is websocket_server.WebSocketServer
    assert pyws.Receiver is receiver.Receiver
    assert pyws.Sender is sender.Sender
    assert pyws.PerMessageDeflate is permessage_deflate.PerMessageDeflate
    assert callable(pyws.extension.parse) and callable(pyws.extension.format)
    assert callable(pyws.subprotocol.parse)


def test_constant_values() -> None:
    """docs/api.md."""
    assert (pyws.CONNECTING, pyws.OPEN, pyws.CLOSING, pyws.CLOSED) == (0, 1, 2, 3)
    assert pyws.GUID == "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    assert pyws.CLOSE_TIMEOUT == 30000
    assert pyws.EMPTY_BUFFER == b""
    assert {"nodebuffer", "arraybuffer", "fragments"} <= set(pyws.BINARY_TYPES)


def test_error_classes() -> None:
    """RangeError and WsSyntaxError are ValueErrors (Python's counterpart of
    JS RangeError/SyntaxError); the others are WebSocketErrors."""
    assert issubclass(pyws.RangeError, ValueError)
    assert issubclass(pyws.WsSyntaxError, ValueError)
    for cls in (pyws.ProtocolError, pyws.HandshakeError, pyws.InflateError):
        assert issubclass(cls, pyws.WebSocketError)
    assert issubclass(pyws.MaxListenersExceededWarning, Warning)


def test_version_defined_once() -> None:
    """setup.cfg reads the version from pyws.__version__ (no second copy),
    and the installed distribution carries it."""
    import configparser
    from importlib.metadata import version
    from pathlib import Path

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[2] / "setup.cfg")
    assert cfg["metadata"]["version"] == "attr: pyws.__version__"
    assert version("pyws-node") == pyws.__version__


def test_uvicorn_stays_optional() -> None:
    """``import pyws`` loads neither uvicorn nor pyws.asgi, and pyws.asgi
    itself imports without uvicorn (it reads uvicorn's objects by name)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.modules['uvicorn'] = None  # any import of it fails\n"
        "import pyws\n"
        "assert 'pyws.asgi' not in sys.modules\n"
        "import pyws.asgi\n"
        "assert pyws.asgi.WebSocketProtocol.__module__ == 'pyws.asgi'\n"
        "pyws.WebSocketServer(noServer=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
