"""Unit tests for :mod:`pyws.protocol`: the RFC 6455 section 7 state machine.

Bytes go in through ``receive_data``/``receive_eof``; what comes out of
``data_to_send()`` is compared byte for byte, with the half-close marker
(``b''``) checked for position. Every case runs in both roles: the server
masks nothing and half-closes first (7.1.1), the client masks with a pinned
key and never half-closes. The closing rules are those of docs/closing.md and
docs/closing.md, How ws 8 closes. No event loop.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest

from pyws.constants import CLOSING, OPEN, ReadyState
from pyws.errors import ProtocolError, protocol_error
from pyws.permessage_deflate import PerMessageDeflate
from pyws.protocol import EOF, JOIN_LIMIT, Handler, Protocol, shared_frame

MASK = bytes.fromhex("37fa213d")
PEER_MASK = bytes.fromhex("0a0b0c0d")
ROLES = pytest.mark.parametrize("is_server", [False, True], ids=["client", "server"])


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def _encode(opcode: int, payload: bytes, fin: bool, mask: bytes | None) -> bytes:
    b0 = (0x80 if fin else 0) | opcode
    mbit = 0x80 if mask is not None else 0
    n = len(payload)
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", n)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ours(is_server: bool, opcode: int, payload: bytes = b"", fin: bool = True) -> bytes:
    """A frame as a Protocol in this role must write it (client: MASK)."""
    return _encode(opcode, payload, fin, None if is_server else MASK)


def theirs(
    is_server: bool, opcode: int, payload: bytes = b"", fin: bool = True
) -> bytes:
    """A frame as the peer of this role sends it (to a server: masked)."""
    return _encode(opcode, payload, fin, PEER_MASK if is_server else None)


def close_body(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


def pin(buf: bytearray) -> None:
    buf[:] = MASK


def make(is_server: bool, handler: Handler | None = None, **kw: Any) -> Protocol:
    return Protocol(is_server=is_server, handler=handler, generate_mask=pin, **kw)


def drain(p: Protocol) -> tuple[bytes, bool]:
    """The bytes queued, and whether a half-close follows them.

    Fails if anything is queued after the half-close marker, or if the
    marker appears twice.
    """
    chunks = [bytes(c) for c in p.data_to_send()]
    if EOF in chunks:
        assert chunks.index(EOF) == len(chunks) - 1, chunks
        return b"".join(chunks[:-1]), True
    return b"".join(chunks), False


def kinds(events: list[tuple[Any, ...]]) -> list[Any]:
    return [e if e[0] != "error" else ("error", e[1].code) for e in events]


class Probe(Handler):
    """Records what the connection looked like when each event arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.p: Protocol | None = None
        self.seen: list[tuple[Any, ...]] = []

    def _snapshot(self, name: str) -> None:
        assert self.p is not None
        self.seen.append(
            (name, self.p.state, drain(self.p), self.p.receiver.done, self.p.eof_sent)
        )

    def on_error(self, exc: ProtocolError) -> None:
        super().on_error(exc)
        self._snapshot("error")

    def on_ping(self, data: bytes) -> None:
        super().on_ping(data)
        self._snapshot("ping")

    def on_close_frame(self, code: int, reason: bytes) -> None:
        super().on_close_frame(code, reason)
        self._snapshot("close_frame")


def probed(is_server: bool, **kw: Any) -> tuple[Protocol, Probe]:
    probe = Probe()
    p = make(is_server, probe, **kw)
    probe.p = p
    return p, probe


# -- 7.1.2 / 7.1.3: we start the closing handshake ---------------------------


class TestLocalClose:
    """Sections 7.1.2 and 7.1.3: ``close()`` from OPEN, then the peer's close."""

    @ROLES
    def test_close_frame_after_queued_data(self, is_server: bool) -> None:
        p = make(is_server)
        p.send(b"hi", binary=False)
        p.send(b"\x01\x02", binary=True, fin=False)
        p.close(1000, b"bye")
        assert p.state is CLOSING
        assert p.close_sent
        assert drain(p) == (
            ours(is_server, 0x1, b"hi")
            + ours(is_server, 0x2, b"\x01\x02", fin=False)
            + ours(is_server, 0x8, close_body(1000, b"bye")),
            False,  # the peer's close has not come: no half-close yet
        )

    @ROLES
    def test_close_without_code_is_empty(self, is_server: bool) -> None:
        p = make(is_server)
        p.close()
        assert drain(p) == (ours(is_server, 0x8), False)

    @ROLES
    def test_second_close_sends_nothing(self, is_server: bool) -> None:
        p = make(is_server)
        p.close(4000)
        drain(p)
        p.close(1000, b"again")
        p.close()
        assert drain(p) == (b"", False)
        assert p.state is CLOSING

    @ROLES
    def test_peer_close_completes_handshake(self, is_server: bool) -> None:
        p = make(is_server)
        p.close(1000)
        drain(p)
        p.receive_data(theirs(is_server, 0x8, close_body(1001, b"ok")))
        # No echo (ours was sent); the server half-closes, the client waits.
        assert drain(p) == (b"", is_server)
        assert p.events_received() == [("close_frame", 1001, b"ok")]
        assert (p.close_code, p.close_reason) == (1001, b"ok")
        assert p.state is CLOSING
        assert p.close_frame_exchanged

    @ROLES
    def test_messages_before_peer_close_still_delivered(self, is_server: bool) -> None:
        # docs/closing.md, ws 8: a close you start step 2.
        p = make(is_server)
        p.close(1000)
        drain(p)
        p.receive_data(
            theirs(is_server, 0x1, b"late")
            + theirs(is_server, 0xA, b"pg")
            + theirs(is_server, 0x8)
            + theirs(is_server, 0x1, b"after close")
        )
        assert p.events_received() == [
            ("message", b"late", False),
            ("pong", b"pg"),
            ("close_frame", 1005, b""),
        ]
        assert (p.close_code, p.close_reason) == (1005, b"")
        assert drain(p) == (b"", is_server)

    @ROLES
    def test_half_close_only_once(self, is_server: bool) -> None:
        p = make(is_server)
        p.close(1000)
        p.receive_data(theirs(is_server, 0x8, close_body(1000)))
        assert drain(p) == (ours(is_server, 0x8, close_body(1000)), is_server)
        p.close(1000)
        p.receive_eof()
        assert drain(p) == (b"", False)


# -- 5.5.1 / 7.1.5: the peer starts -----------------------------------------


class TestPeerClose:
    """Section 5.5.1: echo the peer's close frame; 7.1.5: its code is reported."""

    @pytest.mark.parametrize(
        ("body", "code", "reason"),
        [
            (close_body(1000), 1000, b""),
            (close_body(1001, b"going"), 1001, b"going"),
            (close_body(4321, "é".encode()), 4321, "é".encode()),
            (close_body(3000, b"r" * 123), 3000, b"r" * 123),
        ],
    )
    @ROLES
    def test_echo_same_code_and_reason(
        self, is_server: bool, body: bytes, code: int, reason: bytes
    ) -> None:
        p = make(is_server)
        p.receive_data(theirs(is_server, 0x8, body))
        assert p.state is CLOSING
        # Echo (masked by a client), then the server half-closes at once.
        assert drain(p) == (ours(is_server, 0x8, body), is_server)
        assert (p.close_code, p.close_reason) == (code, reason)
        assert p.events_received() == [("close_frame", code, reason)]
        assert p.close_frame_exchanged

    @ROLES
    def test_empty_close_echoed_empty(self, is_server: bool) -> None:
        p = make(is_server)
        p.receive_data(theirs(is_server, 0x8))
        assert drain(p) == (ours(is_server, 0x8), is_server)
        assert (p.close_code, p.close_reason) == (1005, b"")

    @ROLES
    def test_echo_queued_before_handler_runs(self, is_server: bool) -> None:
        p, probe = probed(is_server)
        p.receive_data(theirs(is_server, 0x8, close_body(1000)))
        assert probe.seen == [
            (
                "close_frame",
                CLOSING,
                (ours(is_server, 0x8, close_body(1000)), is_server),
                True,
                is_server,
            )
        ]

    @ROLES
    def test_echo_after_queued_data(self, is_server: bool) -> None:
        p = make(is_server)
        p.send(b"x", binary=True)
        p.receive_data(theirs(is_server, 0x8, close_body(1000)))
        assert drain(p) == (
            ours(is_server, 0x2, b"x") + ours(is_server, 0x8, close_body(1000)),
            is_server,
        )

    @ROLES
    def test_input_after_close_ignored(self, is_server: bool) -> None:
        p = make(is_server)
        p.receive_data(
            theirs(is_server, 0x8, close_body(1000))
            + theirs(is_server, 0x9, b"ping")
            + theirs(is_server, 0x8, close_body(4000))
        )
        p.receive_data(theirs(is_server, 0x1, b"more") + h("a1 00"))
        assert p.events_received() == [("close_frame", 1000, b"")]
        assert drain(p) == (ours(is_server, 0x8, close_body(1000)), is_server)
        assert p.close_code == 1000

    @ROLES
    def test_then_socket_closed(self, is_server: bool) -> None:
        p = make(is_server)
        p.receive_data(theirs(is_server, 0x8, close_body(1000)))
        p.receive_eof()
        assert p.should_close
        p.connection_closed()
        assert p.state is ReadyState.CLOSED
        assert p.close_code == 1000


# -- 7.1.5 / 7.1.6 bookkeeping ------------------------------------------------


class TestCloseCode:
    """Sections 7.1.5/7.1.6: the first close frame received, else 1006."""

    @ROLES
    def test_starts_at_1006(self, is_server: bool) -> None:
        p = make(is_server)
        assert (p.close_code, p.close_reason) == (1006, b"")
        assert p.state is OPEN
        assert not (p.close_sent or p.close_rcvd or p.close_frame_exchanged)

    @ROLES
    def test_our_code_never_reported(self, is_server: bool) -> None:
        p = make(is_server)
        p.close(4000, b"mine")
        p.receive_eof()
        assert (p.close_code, p.close_reason) == (1006, b"")
        assert not p.close_frame_exchanged

    @ROLES
    def test_terminate_keeps_received_code(self, is_server: bool) -> None:
        p = make(is_server)
        p.receive_data(theirs(is_server, 0x8, close_body(3001, b"r")))
        p.terminate()
        assert (p.close_code, p.close_reason) == (3001, b"r")

    @ROLES
    def test_failure_is_1006(self, is_server: bool) -> None:
        p = make(is_server)
        # A close frame in the same chunk after the bad frame is not processed.
        p.receive_data(h("a1 00") + theirs(is_server, 0x8, close_body(1000)))
        assert (p.close_code, p.close_reason) == (1006, b"")
        assert not p.close_rcvd


# -- 7.1.7: failing ------------------------------------------------------------

FAILURES = [
    # id, frame builder (is_server -> bytes), status, ws code
    ("rsv2", lambda s: h("a1 80 00000000") if s else h("a1 00"), 1002, "RSV_2_3"),
    ("opcode", lambda s: h("83 80 00000000") if s else h("83 00"), 1002, "OPCODE"),
    ("wrong-mask", lambda s: h("81 00") if s else h("81 80 00000000"), 1002, "MASK"),
    ("utf8", lambda s: theirs(s, 0x1, b"\xff"), 1007, "UTF8"),
    ("close-code", lambda s: theirs(s, 0x8, close_body(1005)), 1002, "CLOSE_CODE"),
    ("too-big", lambda s: theirs(s, 0x2, bytes(11)), 1009, "MESSAGE_LENGTH"),
    (
        "fragments",
        lambda s: b"".join(
            theirs(s, 0x2 if i == 0 else 0, b"", False) for i in range(4)
        ),
        1008,
        "BUFFERED_PARTS",
    ),
]


class TestFail:
    """Section 7.1.7 and docs/closing.md "Failing the connection", in order."""

    @pytest.mark.parametrize(
        ("bad", "status", "code"),
        [f[1:] for f in FAILURES],
        ids=[f[0] for f in FAILURES],
    )
    @ROLES
    def test_close_frame_queued_before_on_error(
        self, is_server: bool, bad: Any, status: int, code: str
    ) -> None:
        p, probe = probed(is_server, max_payload=10, max_fragments=3)
        p.receive_data(theirs(is_server, 0x1, b"ok") + bad(is_server))
        # From inside on_error: CLOSING, input stopped, our close frame with
        # the status only (no reason) already queued, the server's FIN after.
        assert probe.seen == [
            (
                "error",
                CLOSING,
                (ours(is_server, 0x8, close_body(status)), is_server),
                True,
                is_server,
            )
        ]
        events = p.events_received()
        assert events[0] == ("message", b"ok", False)
        assert len(events) == 2
        exc = events[1][1]
        assert events[1][0] == "error"
        assert exc.code.endswith(code)
        assert exc.status_code == status
        assert p.failed
        assert not p.should_close  # the I/O layer waits for the FIN (or timer)

    @ROLES
    def test_input_stops(self, is_server: bool) -> None:
        p = make(is_server)
        p.receive_data(
            theirs(is_server, 0x1, b"\xc3\x28")
            + theirs(is_server, 0x9, b"no pong")
            + theirs(is_server, 0x1, b"no message")
        )
        p.receive_data(theirs(is_server, 0x8, close_body(1000)) + h("a1 00"))
        assert kinds(p.events_received()) == [("error", "WS_ERR_INVALID_UTF8")]
        # One close frame (1007), no pong, no echo.
        assert drain(p) == (ours(is_server, 0x8, close_body(1007)), is_server)
        assert p.pending_auto_pongs == 0

    @ROLES
    def test_no_second_close_frame(self, is_server: bool) -> None:
        p, probe = probed(is_server)
        p.close(1000)
        assert drain(p) == (ours(is_server, 0x8, close_body(1000)), False)
        p.receive_data(theirs(is_server, 0x1, b"\xff"))
        # Ours already went out: only the server's half-close is queued.
        assert probe.seen == [("error", CLOSING, (b"", is_server), True, is_server)]

    @ROLES
    def test_on_error_at_most_once(self, is_server: bool) -> None:
        p = make(is_server)
        p.receive_data(h("a1 00"))
        p.fail(protocol_error("WS_ERR_INVALID_UTF8", "invalid UTF-8 sequence"))
        p.receive_data(h("a1 00"))
        assert kinds(p.events_received()) == [("error", "WS_ERR_UNEXPECTED_RSV_2_3")]
        assert drain(p) == (ours(is_server, 0x8, close_body(1002)), is_server)

    @ROLES
    def test_fail_called_by_owner(self, is_server: bool) -> None:
        # The facade may fail the connection itself (e.g. an inflate error
        # found off the parse path): same sequence.
        p = make(is_server)
        p.send(b"queued", binary=False)
        p.fail(protocol_error("WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", "Max payload"))
        assert p.state is CLOSING
        assert p.receiver.done
        assert drain(p) == (
            ours(is_server, 0x1, b"queued") + ours(is_server, 0x8, close_body(1009)),
            is_server,
        )

    @ROLES
    def test_close_after_fail_is_noop(self, is_server: bool) -> None:
        p = make(is_server)
        p.receive_data(h("a1 00"))
        drain(p)
        p.close(1000)
        assert drain(p) == (b"", False)


# -- the peer's FIN (ws socketOnEnd) -----------------------------------------


class TestEof:
    """TCP closed by the peer without (or after) a close frame."""

    @ROLES
    def test_eof_while_open(self, is_server: bool) -> None:
        p = make(is_server)
        p.receive_eof()
        assert p.should_close
        assert p.state is CLOSING
        assert (p.close_code, p.close_reason) == (1006, b"")
        # No close frame and no half-close of our own: the socket just closes.
        assert drain(p) == (b"", False)
        p.receive_data(theirs(is_server, 0x1, b"late"))
        assert p.events_received() == []

    @ROLES
    def test_eof_drops_partial_frame(self, is_server: bool) -> None:
        p = make(is_server)
        p.receive_data(theirs(is_server, 0x1, b"partial")[:-2])
        p.receive_eof()
        assert p.events_received() == []
        assert p.receiver.buffered == 0

    @ROLES
    def test_eof_after_our_close(self, is_server: bool) -> None:
        p = make(is_server)
        p.close(1000)
        drain(p)
        p.receive_eof()
        assert p.should_close
        assert p.close_code == 1006
        assert drain(p) == (b"", False)

    def test_client_never_half_closes(self) -> None:
        def close_then(data: bytes) -> Callable[[Protocol], None]:
            def act(p: Protocol) -> None:
                p.close()
                p.receive_data(data)

            return act

        scenarios: list[Callable[[Protocol], object]] = [
            lambda p: p.close(1000),
            lambda p: p.receive_data(h("88 02 03e8")),
            lambda p: p.receive_data(h("a1 00")),
            close_then(h("88 00")),
            close_then(h("ff 00")),
        ]
        for act in scenarios:
            p = make(False)
            act(p)
            chunks = p.data_to_send()
            assert EOF not in [bytes(c) for c in chunks]
            assert not p.eof_sent


# -- 5.5.2 / 5.5.3: pings ----------------------------------------------------


class TestAutoPong:
    """Sections 5.5.2/5.5.3 and ws 8.23 ``autoPong``/``maxPendingAutoPongs``."""

    @ROLES
    def test_pong_with_same_data_then_ping_event(self, is_server: bool) -> None:
        p, probe = probed(is_server)
        p.receive_data(theirs(is_server, 0x9, b"are you there"))
        # The pong is queued before 'ping' is emitted.
        assert probe.seen == [
            (
                "ping",
                OPEN,
                (ours(is_server, 0xA, b"are you there"), False),
                False,
                False,
            )
        ]
        assert p.events_received() == [("ping", b"are you there")]
        assert p.pending_auto_pongs == 1

    @ROLES
    def test_auto_pong_off(self, is_server: bool) -> None:
        p = make(is_server, auto_pong=False)
        p.receive_data(theirs(is_server, 0x9, b"x"))
        assert p.events_received() == [("ping", b"x")]
        assert drain(p) == (b"", False)

    @ROLES
    def test_no_pong_once_closing(self, is_server: bool) -> None:
        p = make(is_server)
        p.close(1000)
        drain(p)
        p.receive_data(theirs(is_server, 0x9, b"x"))
        assert p.events_received() == [("ping", b"x")]
        assert drain(p) == (b"", False)

    @ROLES
    def test_pong_received_sends_nothing(self, is_server: bool) -> None:
        p = make(is_server)
        p.receive_data(theirs(is_server, 0xA, b"y"))
        assert p.events_received() == [("pong", b"y")]
        assert drain(p) == (b"", False)

    @ROLES
    def test_max_pending_auto_pongs(self, is_server: bool) -> None:
        p = make(is_server, max_pending_auto_pongs=2)
        p.send(b"queued", binary=True)
        p.receive_data(
            theirs(is_server, 0x9, b"1")
            + theirs(is_server, 0x9, b"2")
            + theirs(is_server, 0x9, b"3")
            + theirs(is_server, 0x9, b"4")
        )
        # The third ping finds two unflushed pongs: terminate. 'ping' is still
        # emitted for it (after the terminate), then input stops.
        assert p.events_received() == [("ping", b"1"), ("ping", b"2"), ("ping", b"3")]
        assert p.abort_requested
        assert p.should_close
        assert p.state is CLOSING
        assert drain(p) == (b"", False)  # terminate drops the queue
        assert p.close_code == 1006
        assert not p.close_sent

    @ROLES
    def test_flushed_pongs_do_not_count(self, is_server: bool) -> None:
        p = make(is_server, max_pending_auto_pongs=1)
        for i in range(5):
            p.receive_data(theirs(is_server, 0x9, bytes([i])))
            assert drain(p) == (ours(is_server, 0xA, bytes([i])), False)
            p.pending_auto_pongs = 0  # what the I/O layer does once flushed
        assert not p.abort_requested

    @pytest.mark.parametrize("limit", [0, -1])
    def test_no_limit(self, limit: int) -> None:
        p = make(True, max_pending_auto_pongs=limit)
        p.receive_data(theirs(True, 0x9, b"p") * 200)
        assert not p.abort_requested
        assert drain(p) == (ours(True, 0xA, b"p") * 200, False)


class TestTerminate:
    """ws ``terminate()``: no close frame, queued output dropped."""

    @ROLES
    def test_drops_queued_output(self, is_server: bool) -> None:
        p = make(is_server)
        p.send(b"data", binary=False)
        p.ping(b"p")
        p.close(1000)
        p.terminate()
        assert p.data_to_send() == []
        assert p.should_close
        assert p.state is CLOSING
        assert p.receiver.done
        p.receive_data(theirs(is_server, 0x1, b"x"))
        assert p.events_received() == []

    @ROLES
    def test_from_open(self, is_server: bool) -> None:
        p = make(is_server)
        p.terminate()
        assert p.state is CLOSING
        assert not p.close_sent
        assert not p.abort_requested
        p.close(1000)
        assert p.data_to_send() == []


class TestOutput:
    """Output order and the default Handler's event list."""

    @ROLES
    def test_ping_pong_send(self, is_server: bool) -> None:
        p = make(is_server)
        p.ping(b"a")
        p.pong()
        p.send(b"", binary=False)
        assert drain(p) == (
            ours(is_server, 0x9, b"a") + ours(is_server, 0xA) + ours(is_server, 0x1),
            False,
        )
        assert p.pending_bytes() == 0

    def test_pending_bytes(self) -> None:
        p = make(True)
        p.send(b"12345", binary=True)
        assert p.pending_bytes() == 7
        p.close(1000)
        assert p.pending_bytes() == 11
        p.data_to_send()
        assert p.pending_bytes() == 0

    def test_events_received_clears(self) -> None:
        p = make(False)
        p.receive_data(h("81 01 61 82 01 62"))
        assert p.events_received() == [
            ("message", b"a", False),
            ("message", b"b", True),
        ]
        assert p.events_received() == []

    def test_events_received_needs_default_handler(self) -> None:
        class Bare(Handler):
            def __init__(self) -> None:
                pass

        p = make(False, Bare())
        with pytest.raises(TypeError):
            p.events_received()

    def test_receiver_options_passed(self) -> None:
        p = make(
            False,
            binary_type="fragments",
            skip_utf8_validation=True,
            max_payload=3,
        )
        p.receive_data(h("81 01 ff 02 01 61 80 01 62"))
        assert p.events_received() == [
            ("message", b"\xff", False),
            ("message", [b"a", b"b"], True),
        ]
        p.receive_data(h("82 04"))
        assert kinds(p.events_received()) == [
            ("error", "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH")
        ]

    def test_deferred_compression_keeps_order(self) -> None:
        p = make(True, extension=PerMessageDeflate(None, True, 0))
        p.defer_threshold = 1
        p.send(b"Hello", binary=False)
        p.ping(b"p")
        p.close(1000)
        # Nothing overtakes the message being compressed.
        assert p.data_to_send() == []
        (item,) = p.deferred
        p.resolve_deferred(item, h("f248cdc9c90700"))
        assert drain(p) == (
            h("c1 07 f248cdc9c90700 89 01 70 88 02 03e8"),
            False,
        )


class TestSendFrame:
    """A frame built once for many connections (the server's broadcast)."""

    def test_shared_frame_bytes(self) -> None:
        assert shared_frame(b"hi", binary=False) == [h("8102") + b"hi"]
        assert shared_frame(b"\x01", binary=True, rsv1=True) == [h("c20101")]
        assert shared_frame(b"", binary=True) == [h("8200")]
        big = b"z" * 70000
        chunks = shared_frame(big, binary=True)
        assert chunks[0] == h("827f") + (70000).to_bytes(8, "big")
        assert chunks[1] is big  # not copied

    def test_shared_frame_joins_up_to_the_join_limit(self) -> None:
        at_limit = b"a" * JOIN_LIMIT
        assert shared_frame(at_limit, binary=True) == [
            h("827f") + JOIN_LIMIT.to_bytes(8, "big") + at_limit
        ]
        over = at_limit + b"a"
        chunks = shared_frame(over, binary=True)
        assert len(chunks) == 2 and chunks[1] is over

    def test_queued_in_order_with_own_frames(self) -> None:
        p = Protocol(is_server=True)
        p.send(b"a", binary=False)
        assert p.send_frame([h("8101") + b"b"])
        p.send(b"c", binary=False)
        assert (
            b"".join(p.data_to_send())
            == h("8101") + b"a" + h("8101") + b"b" + h("8101") + b"c"
        )

    def test_refused_while_fragmenting(self) -> None:
        """Section 5.4: no other message inside a fragmented one."""
        p = Protocol(is_server=True)
        p.send(b"x", binary=False, fin=False)
        assert not p.send_frame([h("8101") + b"b"])
        p.send(b"y", binary=False, fin=True)
        assert p.send_frame([h("8101") + b"b"])
        assert (
            b"".join(p.data_to_send())
            == h("0101") + b"x" + h("8001") + b"y" + h("8101") + b"b"
        )

    def test_refused_after_close(self) -> None:
        """Section 7.1.2: no data frame after our close frame."""
        p = Protocol(is_server=True)
        p.close(1000)
        before = p.data_to_send()
        assert not p.send_frame([h("8101") + b"b"])
        assert p.data_to_send() == [] and before

    def test_client_role_refused(self) -> None:
        """A client masks every frame: a shared unmasked frame is wrong."""
        p = Protocol(is_server=False, generate_mask=lambda b: None)
        with pytest.raises(ValueError, match="server role only"):
            p.send_frame([h("8101") + b"b"])
