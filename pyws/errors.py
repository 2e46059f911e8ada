"""The pyws exception tree and the ``WS_ERR_*`` table.

Hierarchy::

    Exception
    +-- WebSocketError                 base of every error pyws defines
        +-- ProtocolError              the peer broke RFC 6455 (or a limit);
        |   |                          carries ``code`` and ``statusCode``
        |   +-- FrameRangeError        also a RangeError (ws raises RangeError)
        |   +-- InflateError           permessage-deflate could not inflate
        +-- HandshakeError             the opening handshake failed
        +-- RangeError (ValueError)    JS RangeError: a value out of range
        +-- WsSyntaxError (ValueError) JS SyntaxError: an unparsable value
        +-- NotOpenError               send/ping/pong while CLOSING/CLOSED
        +-- ConnectionClosed           recv()/async for after the close
            +-- ConnectionClosedOK     ... with 1000, 1001 or 1005
            +-- ConnectionClosedError  ... with any other code (1006 on a
                                       failure; the error is __cause__)

Errors that mean "the caller misused pyws" are ``TypeError``/``ValueError``
(or the ``RangeError``/``WsSyntaxError`` subclasses of ``ValueError``);
errors that mean "the peer misbehaved" are ``ProtocolError``.

Imports only :mod:`pyws.constants`.
"""

from __future__ import annotations

from .constants import CloseCode

__all__ = [
    "WebSocketError",
    "ProtocolError",
    "FrameRangeError",
    "InflateError",
    "HandshakeError",
    "RangeError",
    "WsSyntaxError",
    "NotOpenError",
    "ConnectionClosed",
    "ConnectionClosedOK",
    "ConnectionClosedError",
    "NORMAL_CLOSE_CODES",
    "WS_ERRORS",
    "protocol_error",
]


class WebSocketError(Exception):
    """Base class of every exception pyws defines."""

    #: ws error code (``WS_ERR_*``), or ``None``.
    code: str | None = None
    #: Close status code sent for this error, or ``None``.
    status_code: int | None = None

    @property
    def statusCode(self) -> int | None:  # noqa: N802 - ws spelling
        """ws spelling of :attr:`status_code`."""
        return self.status_code


class RangeError(WebSocketError, ValueError):
    """A value is outside the range ws allows (JavaScript ``RangeError``)."""


class WsSyntaxError(WebSocketError, ValueError):
    """A value could not be parsed (JavaScript ``SyntaxError``)."""


class ProtocolError(WebSocketError):
    """The peer violated the protocol, or a message broke a limit.

    Attributes:
        code: the ws error code, e.g. ``'WS_ERR_INVALID_UTF8'``.
        status_code: the close status pyws sends for it (1002, 1007, ...).
    """

    def __init__(self, message: str, code: str, status_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.status_code = status_code

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self)!r}, code={self.code!r}, "
            f"status_code={self.status_code})"
        )


class FrameRangeError(ProtocolError, RangeError):
    """A :class:`ProtocolError` ws reports as a ``RangeError``."""


class InflateError(ProtocolError):
    """permessage-deflate data could not be inflated (close status 1007)."""


class HandshakeError(WebSocketError):
    """The opening handshake failed (client side); the message is ws's."""


class NotOpenError(WebSocketError):
    """``send``/``ping``/``pong`` was called while not OPEN.

    In CONNECTING it is raised; in CLOSING or CLOSED it is passed to the
    callback, as ws does.
    """


#: Close codes that end ``async for`` quietly: normal closure, going away,
#: and a close frame without a code.
NORMAL_CLOSE_CODES = frozenset((1000, 1001, 1005))


class ConnectionClosed(WebSocketError):
    """``recv()`` (or ``async for``) was asked for a message after the
    connection closed and every queued message was read.

    Attributes:
        close_code: the code ``'close'`` reported (1006 when no close frame
            came).
        reason: the close reason, decoded as UTF-8.
    """

    def __init__(self, close_code: int, reason: str) -> None:
        text = f"WebSocket closed with {close_code}"
        super().__init__(f"{text}: {reason!r}" if reason else text)
        self.close_code = close_code
        self.reason = reason


class ConnectionClosedOK(ConnectionClosed):
    """Closed with 1000, 1001 or 1005: ``async for`` just stops."""


class ConnectionClosedError(ConnectionClosed):
    """Closed with any other code; after a failure the ``'error'`` is the
    ``__cause__``."""


_PFX = "Invalid WebSocket frame: "

#: ``WS_ERR_*`` code -> (close status, message prefix wanted, exception class).
WS_ERRORS: dict[str, tuple[int, bool, type[ProtocolError]]] = {
    "WS_ERR_UNEXPECTED_RSV_2_3": (CloseCode.PROTOCOL_ERROR, True, FrameRangeError),
    "WS_ERR_UNEXPECTED_RSV_1": (CloseCode.PROTOCOL_ERROR, True, FrameRangeError),
    "WS_ERR_INVALID_OPCODE": (CloseCode.PROTOCOL_ERROR, True, FrameRangeError),
    "WS_ERR_EXPECTED_FIN": (CloseCode.PROTOCOL_ERROR, True, FrameRangeError),
    "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH": (
        CloseCode.PROTOCOL_ERROR,
        True,
        FrameRangeError,
    ),
    "WS_ERR_EXPECTED_MASK": (CloseCode.PROTOCOL_ERROR, True, FrameRangeError),
    "WS_ERR_UNEXPECTED_MASK": (CloseCode.PROTOCOL_ERROR, True, FrameRangeError),
    "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH": (
        CloseCode.MESSAGE_TOO_BIG,
        False,
        FrameRangeError,
    ),
    "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH": (
        CloseCode.MESSAGE_TOO_BIG,
        False,
        FrameRangeError,
    ),
    "WS_ERR_TOO_MANY_BUFFERED_PARTS": (
        CloseCode.POLICY_VIOLATION,
        False,
        FrameRangeError,
    ),
    "WS_ERR_INVALID_UTF8": (CloseCode.INVALID_DATA, True, ProtocolError),
    "WS_ERR_INVALID_CLOSE_CODE": (CloseCode.PROTOCOL_ERROR, True, FrameRangeError),
    # pyws's opt-in limits (ws has none): maxBufferedAmount and
    # incompleteMessageTimeout.
    "WS_ERR_BUFFERED_AMOUNT_EXCEEDED": (
        CloseCode.POLICY_VIOLATION,
        False,
        ProtocolError,
    ),
    "WS_ERR_INCOMPLETE_MESSAGE_TIMEOUT": (
        CloseCode.POLICY_VIOLATION,
        False,
        ProtocolError,
    ),
}


def protocol_error(code: str, message: str) -> ProtocolError:
    """Build the exception ws's receiver raises for ``code``.

    Args:
        code: a key of :data:`WS_ERRORS`.
        message: the specific text, e.g. ``'RSV1 must be clear'``; the
            ``'Invalid WebSocket frame: '`` prefix is added where ws adds it.
    """
    status, prefix, cls = WS_ERRORS[code]
    return cls(_PFX + message if prefix else message, code, int(status))
