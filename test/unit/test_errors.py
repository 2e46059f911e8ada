"""Unit tests for :mod:`pyws.errors`: the exception tree and ``WS_ERR_*`` table.

The expected table below is written from docs/errors.md (ws 8.23
``lib/receiver.js`` ``createError`` calls), not read back from pyws, so a
wrong row in :data:`pyws.errors.WS_ERRORS` fails here. No event loop.
"""

from __future__ import annotations

import pytest

from pyws.errors import (
    WS_ERRORS,
    FrameRangeError,
    HandshakeError,
    InflateError,
    NotOpenError,
    ProtocolError,
    RangeError,
    WebSocketError,
    WsSyntaxError,
    protocol_error,
)

PFX = "Invalid WebSocket frame: "

# code -> (close status, prefixed message, ws class is RangeError)
EXPECTED: dict[str, tuple[int, bool, bool]] = {
    "WS_ERR_UNEXPECTED_RSV_2_3": (1002, True, True),
    "WS_ERR_UNEXPECTED_RSV_1": (1002, True, True),
    "WS_ERR_INVALID_OPCODE": (1002, True, True),
    "WS_ERR_EXPECTED_FIN": (1002, True, True),
    "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH": (1002, True, True),
    "WS_ERR_EXPECTED_MASK": (1002, True, True),
    "WS_ERR_UNEXPECTED_MASK": (1002, True, True),
    "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH": (1009, False, True),
    "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH": (1009, False, True),
    "WS_ERR_TOO_MANY_BUFFERED_PARTS": (1008, False, True),
    "WS_ERR_INVALID_UTF8": (1007, True, False),
    "WS_ERR_INVALID_CLOSE_CODE": (1002, True, True),
    # pyws's opt-in limits (issue 9); ws has no counterpart.
    "WS_ERR_BUFFERED_AMOUNT_EXCEEDED": (1008, False, False),
    "WS_ERR_INCOMPLETE_MESSAGE_TIMEOUT": (1008, False, False),
}


class TestTable:
    """docs/errors.md: the twelve codes doc/ws.md lists and pyws's two
    opt-in limits, no more, no less."""

    def test_same_codes_as_ws(self) -> None:
        assert set(WS_ERRORS) == set(EXPECTED)

    @pytest.mark.parametrize("code", sorted(EXPECTED))
    def test_row(self, code: str) -> None:
        status, prefixed, is_range = EXPECTED[code]
        row_status, row_prefixed, row_cls = WS_ERRORS[code]
        assert int(row_status) == status
        assert row_prefixed is prefixed
        assert issubclass(row_cls, ProtocolError)
        assert issubclass(row_cls, RangeError) is is_range


class TestProtocolErrorFactory:
    """``protocol_error(code, message)`` builds what ws's ``createError`` does."""

    @pytest.mark.parametrize("code", sorted(EXPECTED))
    def test_builds_entry(self, code: str) -> None:
        status, prefixed, is_range = EXPECTED[code]
        exc = protocol_error(code, "some detail")
        assert exc.code == code
        assert exc.status_code == status
        assert exc.statusCode == status
        assert type(exc.status_code) is int
        assert str(exc) == (PFX + "some detail" if prefixed else "some detail")
        assert isinstance(exc, ProtocolError)
        assert isinstance(exc, WebSocketError)
        if is_range:
            assert type(exc) is FrameRangeError
            assert isinstance(exc, RangeError)
            assert isinstance(exc, ValueError)
        else:
            # WS_ERR_INVALID_UTF8 is a plain Error in ws: not a RangeError.
            assert type(exc) is ProtocolError
            assert not isinstance(exc, ValueError)

    def test_unknown_code(self) -> None:
        with pytest.raises(KeyError):
            protocol_error("WS_ERR_NOPE", "x")

    def test_can_be_raised_and_caught_as_value_error(self) -> None:
        with pytest.raises(ValueError, match="^Invalid WebSocket frame: RSV1"):
            raise protocol_error("WS_ERR_UNEXPECTED_RSV_1", "RSV1 must be clear")

    def test_repr_names_code_and_status(self) -> None:
        exc = protocol_error("WS_ERR_INVALID_UTF8", "invalid UTF-8 sequence")
        text = repr(exc)
        assert text.startswith("ProtocolError(")
        assert "'WS_ERR_INVALID_UTF8'" in text
        assert "1007" in text


class TestHierarchy:
    """The tree in the module docstring."""

    def test_protocol_error_fields(self) -> None:
        exc = ProtocolError("boom", "WS_ERR_X", 1011)
        assert (str(exc), exc.code, exc.status_code, exc.statusCode) == (
            "boom",
            "WS_ERR_X",
            1011,
            1011,
        )
        assert not isinstance(exc, ValueError)

    def test_inflate_error(self) -> None:
        exc = InflateError("invalid block type", "Z_DATA_ERROR", 1007)
        assert isinstance(exc, ProtocolError)
        assert not isinstance(exc, RangeError)
        assert exc.statusCode == 1007

    @pytest.mark.parametrize(
        "cls", [WebSocketError, RangeError, WsSyntaxError, HandshakeError, NotOpenError]
    )
    def test_defaults_without_code(self, cls: type[WebSocketError]) -> None:
        exc = cls("message")
        assert exc.code is None
        assert exc.status_code is None
        assert exc.statusCode is None
        assert isinstance(exc, WebSocketError)
        assert not isinstance(exc, ProtocolError)

    def test_value_error_subclasses(self) -> None:
        assert issubclass(RangeError, ValueError)
        assert issubclass(WsSyntaxError, ValueError)
        assert not issubclass(HandshakeError, ValueError)
        assert not issubclass(NotOpenError, ValueError)
        assert issubclass(FrameRangeError, RangeError)
        assert issubclass(FrameRangeError, ProtocolError)
