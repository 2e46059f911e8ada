"""pyws: Node.js's ``ws`` WebSocket library, ported to Python on asyncio.

``WebSocket`` and ``WebSocketServer`` keep ws 8.x's names, options, events,
defaults and units (milliseconds), on a pyee EventEmitter; PEP 8 spellings
work too. Closing and failing follow RFC 6455 section 7.

    import pyws

    wss = pyws.WebSocketServer(port=8080)
    wss.on("connection", lambda ws, req: ws.on("message", ws.send))
    pyws.run()
"""

from __future__ import annotations

from . import extension, inbox, subprotocol
from ._emitter import MaxListenersExceededWarning
from ._runtime import once, run
from .constants import (
    BINARY_TYPES,
    CLOSE_TIMEOUT,
    CLOSED,
    CLOSING,
    CONNECTING,
    EMPTY_BUFFER,
    GUID,
    OPEN,
    CloseCode,
    Opcode,
    ReadyState,
)
from .errors import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    HandshakeError,
    InflateError,
    NotOpenError,
    ProtocolError,
    RangeError,
    WebSocketError,
    WsSyntaxError,
)
from .event_target import CloseEvent, ErrorEvent, Event, MessageEvent
from .handshake import Request, Response
from .node_socket import NodeSocket
from .permessage_deflate import PerMessageDeflate
from .receiver import Receiver
from .sender import Sender
from .stream import WebSocketStream, create_websocket_stream, createWebSocketStream
from .timers import (
    Immediate,
    Timeout,
    clear_immediate,
    clear_interval,
    clear_timeout,
    clearImmediate,
    clearInterval,
    clearTimeout,
    set_immediate,
    set_interval,
    set_timeout,
    setImmediate,
    setInterval,
    setTimeout,
)
from .websocket import WebSocket
from .websocket_server import WebSocketServer, read_upgrade_request

__version__ = "0.1.0.dev0"

#: ws exports the server class as ``Server`` too.
Server = WebSocketServer

__all__ = [
    "BINARY_TYPES",
    "CLOSED",
    "CLOSE_TIMEOUT",
    "CLOSING",
    "CONNECTING",
    "CloseCode",
    "CloseEvent",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "EMPTY_BUFFER",
    "ErrorEvent",
    "Event",
    "GUID",
    "HandshakeError",
    "Immediate",
    "InflateError",
    "MaxListenersExceededWarning",
    "MessageEvent",
    "NodeSocket",
    "NotOpenError",
    "OPEN",
    "Opcode",
    "PerMessageDeflate",
    "ProtocolError",
    "RangeError",
    "ReadyState",
    "Receiver",
    "Request",
    "Response",
    "Sender",
    "Server",
    "Timeout",
    "WebSocket",
    "WebSocketError",
    "WebSocketServer",
    "WebSocketStream",
    "WsSyntaxError",
    "__version__",
    "clearImmediate",
    "clearInterval",
    "clearTimeout",
    "clear_immediate",
    "clear_interval",
    "clear_timeout",
    "createWebSocketStream",
    "create_websocket_stream",
    "extension",
    "inbox",
    "log",
    "once",
    "read_upgrade_request",
    "run",
    "setImmediate",
    "setInterval",
    "setTimeout",
    "set_immediate",
    "set_interval",
    "set_timeout",
    "subprotocol",
]
