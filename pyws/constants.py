"""Protocol constants and ws defaults, in ws units (milliseconds, bytes).

This module imports nothing from pyws: every other module may import it.
"""

from __future__ import annotations

import enum

__all__ = [
    "GUID",
    "BINARY_TYPES",
    "CLOSE_TIMEOUT",
    "EMPTY_BUFFER",
    "CONNECTING",
    "OPEN",
    "CLOSING",
    "CLOSED",
    "Opcode",
    "CloseCode",
    "ReadyState",
]

#: RFC 6455 section 1.3: appended to Sec-WebSocket-Key before hashing.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#: The reason of a ``'close'`` event that carries none (ws ``EMPTY_BUFFER``).
EMPTY_BUFFER = b""

#: ws ``binaryType`` values pyws accepts. ``'arraybuffer'`` gives ``bytes``
#: like ``'nodebuffer'`` (Python has one immutable byte string type);
#: ``'fragments'`` gives a list of ``bytes``, one per frame.
BINARY_TYPES = ("nodebuffer", "arraybuffer", "fragments")

#: Default ``closeTimeout``, in milliseconds, as ws 8.19+.
CLOSE_TIMEOUT = 30000

#: Default ``maxPayload``: 100 MiB.
MAX_PAYLOAD = 100 * 1024 * 1024

#: Default ``maxFragments`` (ws 8.22+).
MAX_FRAGMENTS = 16384

#: Default ``maxPendingAutoPongs`` (ws 8.23).
MAX_PENDING_AUTO_PONGS = 60

#: Default ``highWaterMark`` (pyws extra): ``send()`` returns False once
#: ``bufferedAmount`` reaches it. 64 KiB: asyncio's own default write-buffer
#: limit and Node 22's stream default; larger marks bought neither
#: throughput nor CPU in scripts/bench/backpressure.py, only memory (see the
#: README, "Running a server in production").
HIGH_WATER_MARK = 64 * 1024

#: Default ``maxRedirects``.
MAX_REDIRECTS = 10

#: Protocol versions a server accepts and a client may send.
PROTOCOL_VERSIONS = (13, 8)

#: Largest control frame payload (RFC 6455 section 5.5).
MAX_CONTROL_PAYLOAD = 125

#: Largest close reason in bytes (125 minus the 2-byte status code).
MAX_CLOSE_REASON = 123

#: Limits on the opening handshake's HTTP message (not in ws, which relies on
#: Node's 16 KiB header limit).
MAX_HEADER_BYTES = 16384
MAX_HEADERS = 128


class ReadyState(enum.IntEnum):
    """``WebSocket.readyState`` values."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


CONNECTING = ReadyState.CONNECTING
OPEN = ReadyState.OPEN
CLOSING = ReadyState.CLOSING
CLOSED = ReadyState.CLOSED


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 section 5.2)."""

    CONT = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    """Close status codes (RFC 6455 section 7.4.1, IANA registry)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    # 1004 is reserved.
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015
