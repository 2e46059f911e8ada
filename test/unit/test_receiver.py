"""Unit tests for :mod:`pyws.receiver` (RFC 6455 sections 5 and 8; ws 8.23
``lib/receiver.js``, docs/errors.md).

Frames are hex literals, or built by :func:`encode`, a small encoder written
here (not :mod:`pyws.sender`) so that a sender bug cannot hide a receiver
bug. Each case runs in the role it concerns, and in both roles when the role
only decides masking. No event loop.
"""

from __future__ import annotations

import random
import struct
import zlib
from typing import Any

import pytest

from pyws.errors import FrameRangeError, ProtocolError, RangeError
from pyws.permessage_deflate import PerMessageDeflate
from pyws.receiver import Receiver

MASK = bytes.fromhex("37fa213d")
PFX = "Invalid WebSocket frame: "
ROLES = pytest.mark.parametrize("is_server", [False, True], ids=["client", "server"])


def h(text: str) -> bytes:
    """Hex literal with spaces allowed."""
    return bytes.fromhex(text)


def encode(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
) -> bytes:
    """Serialize one frame, the shortest length form (RFC 6455 section 5.2)."""
    b0 = (0x80 if fin else 0) | rsv | opcode
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


def peer(is_server: bool, opcode: int, payload: bytes = b"", **kw: Any) -> bytes:
    """A frame as the peer of a receiver in this role sends it."""
    return encode(opcode, payload, mask=MASK if is_server else None, **kw)


class Rec:
    """A receiver and what it reported, in order."""

    def __init__(self, is_server: bool = False, **options: Any) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.errors: list[ProtocolError] = []
        self.r = Receiver(
            is_server=is_server,
            on_message=lambda data, binary: self.events.append(
                ("message", data, binary)
            ),
            on_ping=lambda data: self.events.append(("ping", data)),
            on_pong=lambda data: self.events.append(("pong", data)),
            on_close=lambda code, reason: self.events.append(("close", code, reason)),
            on_error=self._on_error,
            **options,
        )
        self.r.on_defer = lambda: self.events.append(("defer",))

    def _on_error(self, exc: ProtocolError) -> None:
        self.errors.append(exc)
        self.events.append(("error", exc.code, str(exc), exc.status_code))

    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[Any, ...]]:
        """Feed ``data``; return the events it produced."""
        start = len(self.events)
        self.r.feed(data)
        return self.events[start:]


def err(code: str, message: str, status: int) -> tuple[Any, ...]:
    return ("error", code, message, status)


def inflater() -> PerMessageDeflate:
    return PerMessageDeflate(None, False, 0)


# -- docs/errors.md, row by row ----------------------------------------------

ERROR_ROWS: list[tuple[str, bool, str, str, str, int]] = [
    # id, is_server, input, code, message, status
    ("rsv2", False, "a1 00", "UNEXPECTED_RSV_2_3", "RSV2 and RSV3 must be clear", 1002),
    ("rsv3", False, "91 00", "UNEXPECTED_RSV_2_3", "RSV2 and RSV3 must be clear", 1002),
    ("rsv23", True, "b2 80", "UNEXPECTED_RSV_2_3", "RSV2 and RSV3 must be clear", 1002),
    ("rsv1-text", False, "c1 00", "UNEXPECTED_RSV_1", "RSV1 must be clear", 1002),
    ("rsv1-ping", True, "c9 80", "UNEXPECTED_RSV_1", "RSV1 must be clear", 1002),
    ("cont-alone", False, "80 00", "INVALID_OPCODE", "invalid opcode 0", 1002),
    ("cont-alone-srv", True, "00 80", "INVALID_OPCODE", "invalid opcode 0", 1002),
    (
        "text-in-frag",
        False,
        "01 01 61 81 00",
        "INVALID_OPCODE",
        "invalid opcode 1",
        1002,
    ),
    (
        "bin-in-frag",
        False,
        "02 01 61 02 00",
        "INVALID_OPCODE",
        "invalid opcode 2",
        1002,
    ),
    *[
        (
            f"opcode-{op}",
            False,
            f"8{op:x} 00",
            "INVALID_OPCODE",
            f"invalid opcode {op}",
            1002,
        )
        for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)
    ],
    ("close-no-fin", False, "08 00", "EXPECTED_FIN", "FIN must be set", 1002),
    ("ping-no-fin", True, "09 80", "EXPECTED_FIN", "FIN must be set", 1002),
    ("pong-no-fin", False, "0a 00", "EXPECTED_FIN", "FIN must be set", 1002),
    (
        "ping-126",
        False,
        "89 7e",
        "INVALID_CONTROL_PAYLOAD_LENGTH",
        "invalid payload length 126",
        1002,
    ),
    (
        "pong-127",
        True,
        "8a ff",
        "INVALID_CONTROL_PAYLOAD_LENGTH",
        "invalid payload length 127",
        1002,
    ),
    (
        "close-1-byte",
        False,
        "88 01",
        "INVALID_CONTROL_PAYLOAD_LENGTH",
        "invalid payload length 1",
        1002,
    ),
    ("server-unmasked", True, "81 00", "EXPECTED_MASK", "MASK must be set", 1002),
    ("server-unmasked-ping", True, "89 00", "EXPECTED_MASK", "MASK must be set", 1002),
    ("client-masked", False, "81 80", "UNEXPECTED_MASK", "MASK must be clear", 1002),
    (
        "client-masked-pong",
        False,
        "8a 80",
        "UNEXPECTED_MASK",
        "MASK must be clear",
        1002,
    ),
    (
        "len-2^53",
        False,
        "82 7f 00 20 00 00 00 00 00 00",
        "UNSUPPORTED_DATA_PAYLOAD_LENGTH",
        "Unsupported WebSocket frame: payload length > 2^53 - 1",
        1009,
    ),
    (
        "len-top-bit",
        False,
        "82 7f 80 00 00 00 00 00 00 00",
        "UNSUPPORTED_DATA_PAYLOAD_LENGTH",
        "Unsupported WebSocket frame: payload length > 2^53 - 1",
        1009,
    ),
    (
        "len-all-ones-srv",
        True,
        "82 ff ff ff ff ff ff ff ff ff",
        "UNSUPPORTED_DATA_PAYLOAD_LENGTH",
        "Unsupported WebSocket frame: payload length > 2^53 - 1",
        1009,
    ),
    ("text-utf8", False, "81 01 ff", "INVALID_UTF8", "invalid UTF-8 sequence", 1007),
    (
        "close-999",
        False,
        "88 02 03 e7",
        "INVALID_CLOSE_CODE",
        "invalid status code 999",
        1002,
    ),
    (
        "close-reason-utf8",
        False,
        "88 03 03 e8 ff",
        "INVALID_UTF8",
        "invalid UTF-8 sequence",
        1007,
    ),
]

PREFIXED = {
    "UNEXPECTED_RSV_2_3",
    "UNEXPECTED_RSV_1",
    "INVALID_OPCODE",
    "EXPECTED_FIN",
    "INVALID_CONTROL_PAYLOAD_LENGTH",
    "EXPECTED_MASK",
    "UNEXPECTED_MASK",
    "INVALID_UTF8",
    "INVALID_CLOSE_CODE",
}


class TestErrorTable:
    """docs/errors.md: each rejection's code, class, message and close status."""

    @pytest.mark.parametrize(
        ("is_server", "data", "code", "message", "status"),
        [row[1:] for row in ERROR_ROWS],
        ids=[row[0] for row in ERROR_ROWS],
    )
    def test_row(
        self, is_server: bool, data: str, code: str, message: str, status: int
    ) -> None:
        rec = Rec(is_server)
        full = ("" if code not in PREFIXED else PFX) + message
        assert rec.feed(h(data)) == [err("WS_ERR_" + code, full, status)]
        (exc,) = rec.errors
        assert exc.statusCode == status
        if code == "INVALID_UTF8":
            # A plain Error in ws, not a RangeError.
            assert type(exc) is ProtocolError
            assert not isinstance(exc, ValueError)
        else:
            assert type(exc) is FrameRangeError
            assert isinstance(exc, RangeError)
            assert isinstance(exc, ValueError)
        assert rec.r.done

    @pytest.mark.parametrize(
        ("is_server", "data"),
        [row[1:3] for row in ERROR_ROWS],
        ids=[row[0] for row in ERROR_ROWS],
    )
    def test_nothing_after_error(self, is_server: bool, data: str) -> None:
        # Section 7.1.7: stop processing input. Valid and invalid frames after
        # the error, in the same chunk or later, give no event at all.
        rec = Rec(is_server)
        good = peer(is_server, 0x1, b"hi") + peer(is_server, 0x9, b"p")
        rec.feed(h(data) + good)
        assert len(rec.events) == 1
        assert rec.feed(good + h("a1 00") + peer(is_server, 0x8)) == []
        assert len(rec.errors) == 1

    def test_rsv1_on_continuation_with_extension(self) -> None:
        rec = Rec(inflater=inflater())
        assert rec.feed(h("01 01 61 c0 01 62")) == [
            err("WS_ERR_UNEXPECTED_RSV_1", PFX + "RSV1 must be clear", 1002)
        ]

    @pytest.mark.parametrize("opcode", [0x8, 0x9, 0xA])
    def test_rsv1_on_control_with_extension(self, opcode: int) -> None:
        rec = Rec(inflater=inflater())
        assert rec.feed(bytes([0xC0 | opcode, 0])) == [
            err("WS_ERR_UNEXPECTED_RSV_1", PFX + "RSV1 must be clear", 1002)
        ]


class TestCheckOrder:
    """ws ``getInfo``: when one frame breaks several rules, the first wins."""

    @pytest.mark.parametrize(
        ("is_server", "ext", "data", "code"),
        [
            # RSV2/RSV3 first of all.
            (False, False, "a3 00", "UNEXPECTED_RSV_2_3"),
            (False, False, "e1 00", "UNEXPECTED_RSV_2_3"),
            (True, False, "a1 00", "UNEXPECTED_RSV_2_3"),
            (False, False, "29 7e", "UNEXPECTED_RSV_2_3"),
            # Then RSV1 without the extension, before the opcode.
            (False, False, "c3 00", "UNEXPECTED_RSV_1"),
            (False, False, "c0 00", "UNEXPECTED_RSV_1"),
            (False, False, "49 7e", "UNEXPECTED_RSV_1"),
            # With the extension: RSV1 on a continuation before "no message".
            (False, True, "c0 00", "UNEXPECTED_RSV_1"),
            # Control frames: FIN, then RSV1, then the length.
            (False, True, "49 7e", "EXPECTED_FIN"),
            (False, True, "c9 7e", "UNEXPECTED_RSV_1"),
            (False, False, "09 7e", "EXPECTED_FIN"),
            # The opcode before the mask.
            (True, False, "83 00", "INVALID_OPCODE"),
            (True, False, "80 00", "INVALID_OPCODE"),
            (False, False, "8b 80", "INVALID_OPCODE"),
            (True, False, "09 00", "EXPECTED_FIN"),
            (True, False, "89 7e", "INVALID_CONTROL_PAYLOAD_LENGTH"),
            (True, False, "88 01", "INVALID_CONTROL_PAYLOAD_LENGTH"),
            # The mask before the extended length.
            (False, False, "82 ff 00 20 00 00 00 00 00 00", "UNEXPECTED_MASK"),
            (True, False, "82 7f 80 00 00 00 00 00 00 00", "EXPECTED_MASK"),
            # The close code before the reason's UTF-8.
            (False, False, "88 03 03 e7 ff", "INVALID_CLOSE_CODE"),
        ],
    )
    def test_first_rule_wins(
        self, is_server: bool, ext: bool, data: str, code: str
    ) -> None:
        rec = Rec(is_server, inflater=inflater() if ext else None)
        events = rec.feed(h(data))
        assert [e[:2] for e in events] == [("error", "WS_ERR_" + code)]

    def test_length_rule_before_max_payload(self) -> None:
        rec = Rec(max_payload=10)
        events = rec.feed(h("82 7f 00 20 00 00 00 00 00 00"))
        assert [e[:2] for e in events] == [
            ("error", "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH")
        ]

    def test_max_payload_before_max_fragments(self) -> None:
        # ws checks maxPayload from the header (haveLength), maxFragments
        # once the payload is read (getData).
        rec = Rec(max_payload=3, max_fragments=1)
        rec.feed(h("01 02 6162"))
        events = rec.feed(h("80 02 6364"))
        assert [e[:2] for e in events] == [
            ("error", "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH")
        ]

    def test_max_fragments_before_inflate(self) -> None:
        # ws getData counts the fragment before inflating it: a surplus
        # fragment fails with 1008 whatever its payload is.
        rec = Rec(inflater=inflater(), max_fragments=1)
        # First fragment: "Hello" deflated and sync-flushed (RSV1, not final).
        assert rec.feed(h("41 0b f248cdc9c90700 0000ffff")) == []
        events = rec.feed(h("00 03 ff ff ff"))  # not a valid deflate block
        assert [e[:2] for e in events] == [("error", "WS_ERR_TOO_MANY_BUFFERED_PARTS")]


# -- lengths (section 5.2) --------------------------------------------------


class TestPayloadLength:
    """7-bit, 16-bit and 64-bit payload lengths and their boundaries."""

    @pytest.mark.parametrize(
        ("length", "header"),
        [
            (0, "82 00"),
            (1, "82 01"),
            (125, "82 7d"),
            (126, "82 7e 00 7e"),
            (127, "82 7e 00 7f"),
            (65535, "82 7e ff ff"),
            (65536, "82 7f 00 00 00 00 00 01 00 00"),
            (65537, "82 7f 00 00 00 00 00 01 00 01"),
        ],
    )
    @ROLES
    def test_boundaries(self, is_server: bool, length: int, header: str) -> None:
        data = random.Random(length).randbytes(length)
        wire = peer(is_server, 0x2, data)
        head = h(header)
        if is_server:
            head = bytes([head[0], head[1] | 0x80]) + head[2:]
        assert wire.startswith(head)
        rec = Rec(is_server)
        assert rec.feed(wire) == [("message", data, True)]

    def test_header_without_payload_waits(self) -> None:
        rec = Rec()
        assert rec.feed(h("82 7e 01 00")) == []
        assert rec.feed(bytes(255)) == []
        assert rec.feed(b"\x01") == [("message", bytes(255) + b"\x01", True)]

    @pytest.mark.parametrize(
        "wire",
        ["81 7e 00 03 616263", "81 7f 00 00 00 00 00 00 00 03 616263"],
        ids=["16-bit", "64-bit"],
    )
    def test_non_minimal_length_accepted(self, wire: str) -> None:
        # ws does not require the shortest form; neither does pyws.
        rec = Rec()
        assert rec.feed(h(wire)) == [("message", b"abc", False)]

    def test_largest_length_accepted_without_limit(self) -> None:
        # 2^53 - 1: the upper word is 2^21 - 1, the last value ws allows.
        rec = Rec(max_payload=0)
        assert rec.feed(h("82 7f 00 1f ff ff ff ff ff ff")) == []
        assert not rec.r.done

    def test_largest_length_hits_max_payload(self) -> None:
        rec = Rec()
        assert rec.feed(h("82 7f 00 1f ff ff ff ff ff ff")) == [
            err("WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", "Max payload size exceeded", 1009)
        ]

    @pytest.mark.parametrize("upper", [0x00200000, 0x00400000, 0x7FFFFFFF, 0x80000000])
    def test_upper_word_over_2_21(self, upper: int) -> None:
        rec = Rec(max_payload=0)
        events = rec.feed(h("82 7f") + struct.pack("!II", upper, 0))
        assert [e[1:] for e in events] == [
            (
                "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
                "Unsupported WebSocket frame: payload length > 2^53 - 1",
                1009,
            )
        ]


# -- limits -----------------------------------------------------------------


class TestMaxPayload:
    """ws ``maxPayload``: the message's summed frame lengths, from the header."""

    TOO_BIG = err(
        "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", "Max payload size exceeded", 1009
    )

    @ROLES
    def test_exactly_max(self, is_server: bool) -> None:
        rec = Rec(is_server, max_payload=10)
        wire = peer(is_server, 0x2, b"0123456789")
        assert rec.feed(wire) == [("message", b"0123456789", True)]

    @pytest.mark.parametrize(
        ("max_payload", "header"),
        [
            (10, "82 0b"),
            (10, "81 0b"),
            (200, "82 7e 00 c9"),
            (70000, "82 7f 00 00 00 00 00 01 11 71"),
        ],
    )
    def test_from_header_before_payload(self, max_payload: int, header: str) -> None:
        rec = Rec(max_payload=max_payload)
        assert rec.feed(h(header)) == [self.TOO_BIG]

    def test_server_before_mask_key(self) -> None:
        rec = Rec(True, max_payload=10)
        assert rec.feed(h("82 8b")) == [self.TOO_BIG]

    @ROLES
    def test_summed_over_fragments(self, is_server: bool) -> None:
        rec = Rec(is_server, max_payload=10)
        assert rec.feed(peer(is_server, 0x1, b"abcdef", fin=False)) == []
        assert rec.feed(peer(is_server, 0x0, b"ghij", fin=False)) == []
        # 11 bytes in all: refused from the last fragment's header.
        head = peer(is_server, 0x0, b"k")[:2]
        assert rec.feed(head) == [self.TOO_BIG]

    def test_fragments_up_to_max(self) -> None:
        rec = Rec(max_payload=10)
        events = rec.feed(h("01 06 616263646566 00 00 80 04 6768696a"))
        assert events == [("message", b"abcdefghij", False)]

    @ROLES
    def test_control_frames_exempt(self, is_server: bool) -> None:
        rec = Rec(is_server, max_payload=1)
        wire = (
            peer(is_server, 0x9, b"x" * 125)
            + peer(is_server, 0xA, b"y" * 125)
            + peer(is_server, 0x8, b"\x03\xe8" + b"z" * 123)
        )
        assert rec.feed(wire) == [
            ("ping", b"x" * 125),
            ("pong", b"y" * 125),
            ("close", 1000, b"z" * 123),
        ]

    def test_control_frames_inside_message_not_counted(self) -> None:
        rec = Rec(max_payload=6)
        wire = h("01 03 616263") + encode(0x9, b"p" * 100) + h("80 03 646566")
        assert rec.feed(wire) == [("ping", b"p" * 100), ("message", b"abcdef", False)]

    def test_counter_resets_after_each_message(self) -> None:
        rec = Rec(max_payload=4)
        wire = h("82 04 00010203 02 02 0001 80 02 0203 82 04 00010203")
        assert [e[0] for e in rec.feed(wire)] == ["message"] * 3

    @pytest.mark.parametrize("max_payload", [0, -1])
    def test_no_limit(self, max_payload: int) -> None:
        rec = Rec(max_payload=max_payload)
        data = bytes(70000)
        assert rec.feed(encode(0x2, data)) == [("message", data, True)]

    def test_max_one_byte(self) -> None:
        rec = Rec(max_payload=1)
        assert rec.feed(h("82 01 ff 82 00")) == [
            ("message", b"\xff", True),
            ("message", b"", True),
        ]
        assert rec.feed(h("82 02")) == [self.TOO_BIG]


class TestMaxFragments:
    """ws ``maxFragments``: data frames per message, empty ones included."""

    TOO_MANY = err("WS_ERR_TOO_MANY_BUFFERED_PARTS", "Too many message fragments", 1008)

    @ROLES
    def test_up_to_limit(self, is_server: bool) -> None:
        rec = Rec(is_server, max_fragments=3)
        wire = (
            peer(is_server, 0x2, b"a", fin=False)
            + peer(is_server, 0x0, b"b", fin=False)
            + peer(is_server, 0x0, b"c")
        )
        assert rec.feed(wire) == [("message", b"abc", True)]

    @ROLES
    def test_one_more(self, is_server: bool) -> None:
        rec = Rec(is_server, max_fragments=3)
        for part in (b"a", b"b", b"c"):
            opcode = 0x2 if part == b"a" else 0x0
            assert rec.feed(peer(is_server, opcode, part, fin=False)) == []
        assert rec.feed(peer(is_server, 0x0, b"d")) == [self.TOO_MANY]

    def test_empty_fragments_count(self) -> None:
        rec = Rec(max_fragments=2)
        assert rec.feed(h("01 00 00 00 80 00")) == [self.TOO_MANY]

    def test_control_frames_do_not_count(self) -> None:
        rec = Rec(max_fragments=2)
        wire = h("01 01 61 89 00 8a 00 89 00 80 01 62")
        assert rec.feed(wire) == [
            ("ping", b""),
            ("pong", b""),
            ("ping", b""),
            ("message", b"ab", False),
        ]

    def test_single_frame_with_limit_one(self) -> None:
        rec = Rec(max_fragments=1)
        assert rec.feed(h("81 01 61 82 00")) == [
            ("message", b"a", False),
            ("message", b"", True),
        ]
        assert rec.feed(h("01 01 61 80 01 62")) == [self.TOO_MANY]

    def test_counter_resets_after_each_message(self) -> None:
        rec = Rec(max_fragments=2)
        wire = h("01 01 61 80 01 62") * 3
        assert rec.feed(wire) == [("message", b"ab", False)] * 3

    @pytest.mark.parametrize("limit", [0, -5])
    def test_no_limit(self, limit: int) -> None:
        rec = Rec(max_fragments=limit)
        wire = h("02 01 00") + h("00 01 01") * 300 + h("80 00")
        assert rec.feed(wire) == [("message", b"\x00" + b"\x01" * 300, True)]


class TestMaxBufferedChunks:
    """ws ``maxBufferedChunks``: socket chunks held unparsed."""

    TOO_MANY = err("WS_ERR_TOO_MANY_BUFFERED_PARTS", "Too many buffered chunks", 1008)

    def test_limit_one_refuses_a_split_frame(self) -> None:
        rec = Rec(max_buffered_chunks=1)
        assert rec.feed(h("81 03 61")) == []
        assert rec.feed(h("62 63")) == [self.TOO_MANY]

    def test_whole_frames_never_buffer(self) -> None:
        rec = Rec(max_buffered_chunks=1)
        for _ in range(10):
            assert rec.feed(h("81 01 61")) == [("message", b"a", False)]

    def test_limit_three(self) -> None:
        rec = Rec(max_buffered_chunks=3)
        wire = h("82 05 0102030405")
        assert rec.feed(wire[:1]) == []
        assert rec.feed(wire[1:3]) == []
        assert rec.feed(wire[3:5]) == []
        assert rec.feed(wire[5:]) == [self.TOO_MANY]

    def test_parsed_chunks_are_released(self) -> None:
        rec = Rec(max_buffered_chunks=2)
        wire = h("82 02 0102")
        for _ in range(5):
            assert rec.feed(wire[:3]) == []
            assert rec.feed(wire[3:]) == [("message", b"\x01\x02", True)]

    @pytest.mark.parametrize("limit", [0, -1])
    def test_no_limit(self, limit: int) -> None:
        rec = Rec(max_buffered_chunks=limit)
        wire = encode(0x2, bytes(300))
        events: list[tuple[Any, ...]] = []
        for i in range(len(wire)):
            events += rec.feed(wire[i : i + 1])
        assert events == [("message", bytes(300), True)]


# -- fragmentation and text (sections 5.4, 5.6, 8.1) --------------------------


class TestFragmentation:
    """Section 5.4: fragments, with control frames in between."""

    @ROLES
    def test_text_in_three_fragments(self, is_server: bool) -> None:
        rec = Rec(is_server)
        wire = (
            peer(is_server, 0x1, b"ab", fin=False)
            + peer(is_server, 0x0, b"", fin=False)
            + peer(is_server, 0x0, b"cd")
        )
        assert rec.feed(wire) == [("message", b"abcd", False)]

    @ROLES
    def test_interleaved_control_frames(self, is_server: bool) -> None:
        rec = Rec(is_server)
        wire = (
            peer(is_server, 0x2, b"\x01", fin=False)
            + peer(is_server, 0x9, b"ping")
            + peer(is_server, 0x0, b"\x02", fin=False)
            + peer(is_server, 0xA, b"pong")
            + peer(is_server, 0x0, b"\x03")
            + peer(is_server, 0x1, b"next")
        )
        assert rec.feed(wire) == [
            ("ping", b"ping"),
            ("pong", b"pong"),
            ("message", b"\x01\x02\x03", True),
            ("message", b"next", False),
        ]

    def test_close_inside_fragmented_message(self) -> None:
        rec = Rec()
        assert rec.feed(h("01 01 61 88 02 03e8 80 01 62")) == [("close", 1000, b"")]

    def test_new_message_after_fragmented_one(self) -> None:
        rec = Rec()
        assert rec.feed(h("01 01 61 80 01 62 81 01 63 02 00 80 00")) == [
            ("message", b"ab", False),
            ("message", b"c", False),
            ("message", b"", True),
        ]

    def test_only_empty_fragments(self) -> None:
        rec = Rec()
        assert rec.feed(h("01 00 00 00 80 00")) == [("message", b"", False)]


class TestTextValidation:
    """Section 8.1: text must be UTF-8; pyws checks fragments as they come."""

    BAD = err("WS_ERR_INVALID_UTF8", PFX + "invalid UTF-8 sequence", 1007)

    @ROLES
    def test_single_frame(self, is_server: bool) -> None:
        rec = Rec(is_server)
        assert rec.feed(peer(is_server, 0x1, "é".encode())) == [
            ("message", "é".encode(), False)
        ]
        assert rec.feed(peer(is_server, 0x1, b"\xc3\x28")) == [self.BAD]

    @ROLES
    def test_fails_at_fragment_holding_invalid_byte(self, is_server: bool) -> None:
        rec = Rec(is_server)
        assert rec.feed(peer(is_server, 0x1, b"ok", fin=False)) == []
        # The final fragment has not arrived: the error comes now.
        assert rec.feed(peer(is_server, 0x0, b"\xff", fin=False)) == [self.BAD]
        assert rec.feed(peer(is_server, 0x0, b"end")) == []

    def test_sequence_split_across_fragments(self) -> None:
        rec = Rec()
        euro = "€".encode()  # e2 82 ac
        wire = h("01 01 e2 00 01 82") + h("89 00") + h("80 02 ac 21")
        assert rec.feed(wire) == [("ping", b""), ("message", euro + b"!", False)]

    def test_four_byte_sequence_one_byte_per_fragment(self) -> None:
        rec = Rec()
        raw = "😀".encode()
        wire = b"".join(
            encode(0x1 if i == 0 else 0x0, raw[i : i + 1], fin=i == 3) for i in range(4)
        )
        assert rec.feed(wire) == [("message", raw, False)]

    def test_fails_fast_after_a_compressed_message(self) -> None:
        # Section 8.1: a text frame still arriving is checked as it comes,
        # whatever the message before it was.
        deflate = zlib.compressobj(wbits=-15)
        packed = (deflate.compress(b"hi") + deflate.flush(zlib.Z_SYNC_FLUSH))[:-4]
        rec = Rec(inflater=inflater())
        assert rec.feed(bytes([0xC1, len(packed)]) + packed) == [
            ("message", b"hi", False)
        ]
        assert rec.feed(h("81 05 ff")) == [self.BAD]

    def test_truncated_at_the_end(self) -> None:
        rec = Rec()
        assert rec.feed(h("01 01 e2 00 01 82")) == []
        assert rec.feed(h("80 00")) == [self.BAD]

    def test_binary_is_not_validated(self) -> None:
        rec = Rec()
        assert rec.feed(h("82 02 ff fe 02 01 ff 80 01 fe")) == [
            ("message", b"\xff\xfe", True),
            ("message", b"\xff\xfe", True),
        ]

    @pytest.mark.parametrize(
        "payload",
        [b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"a\x80"],
        ids=["surrogate", "overlong", "above-10ffff", "stray-continuation"],
    )
    def test_invalid_sequences(self, payload: bytes) -> None:
        assert Rec().feed(encode(0x1, payload)) == [self.BAD]
        rec = Rec()
        wire = encode(0x1, b"x", fin=False) + encode(0x0, payload)
        assert rec.feed(wire) == [self.BAD]

    def test_skip_utf8_validation(self) -> None:
        rec = Rec(skip_utf8_validation=True)
        wire = h("81 01 ff 01 01 c0 80 01 80") + h("88 04 03e8 ff fe")
        assert rec.feed(wire) == [
            ("message", b"\xff", False),
            ("message", b"\xc0\x80", False),
            ("close", 1000, b"\xff\xfe"),
        ]


# -- close frames (section 5.5.1, 7.4) ---------------------------------------


class TestCloseFrame:
    """Section 5.5.1: the close frame's body; ws ``controlMessage``."""

    @ROLES
    def test_empty_is_1005(self, is_server: bool) -> None:
        rec = Rec(is_server)
        assert rec.feed(peer(is_server, 0x8)) == [("close", 1005, b"")]
        assert rec.r.done

    @pytest.mark.parametrize(
        ("code", "valid"),
        [
            (0, False),
            (999, False),
            (1000, True),
            (1001, True),
            (1002, True),
            (1003, True),
            (1004, False),
            (1005, False),
            (1006, False),
            (1007, True),
            (1010, True),
            (1014, True),
            (1015, False),
            (1016, False),
            (2999, False),
            (3000, True),
            (4999, True),
            (5000, False),
            (65535, False),
        ],
    )
    @ROLES
    def test_code(self, is_server: bool, code: int, valid: bool) -> None:
        rec = Rec(is_server)
        events = rec.feed(peer(is_server, 0x8, struct.pack("!H", code)))
        if valid:
            assert events == [("close", code, b"")]
        else:
            assert events == [
                err(
                    "WS_ERR_INVALID_CLOSE_CODE",
                    f"{PFX}invalid status code {code}",
                    1002,
                )
            ]

    @ROLES
    def test_reason(self, is_server: bool) -> None:
        rec = Rec(is_server)
        reason = "au revoir €".encode()
        assert rec.feed(peer(is_server, 0x8, h("0bb8") + reason)) == [
            ("close", 3000, reason)
        ]

    def test_longest_reason(self) -> None:
        rec = Rec()
        assert rec.feed(encode(0x8, h("03e8") + b"r" * 123)) == [
            ("close", 1000, b"r" * 123)
        ]

    def test_invalid_reason(self) -> None:
        rec = Rec()
        assert rec.feed(h("88 05 03e8 61 e2 82")) == [
            err("WS_ERR_INVALID_UTF8", PFX + "invalid UTF-8 sequence", 1007)
        ]

    def test_one_byte_payload(self) -> None:
        rec = Rec()
        assert rec.feed(h("88 01 03")) == [
            err(
                "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
                PFX + "invalid payload length 1",
                1002,
            )
        ]

    @ROLES
    def test_everything_after_close_ignored(self, is_server: bool) -> None:
        rec = Rec(is_server)
        after = peer(is_server, 0x1, b"late") + peer(is_server, 0x9) + h("ff ff")
        assert rec.feed(peer(is_server, 0x8, h("03e8")) + after) == [
            ("close", 1000, b"")
        ]
        assert rec.feed(after + peer(is_server, 0x8, h("03e9"))) == []
        assert rec.r.buffered == 0

    def test_close_split_from_garbage(self) -> None:
        rec = Rec()
        assert rec.feed(h("88")) == []
        assert rec.feed(h("00 a1")) == [("close", 1005, b"")]
        assert rec.feed(h("00")) == []


# -- feeding -----------------------------------------------------------------


def _stream(is_server: bool) -> bytes:
    return b"".join(
        [
            peer(is_server, 0x1, b"hi"),
            peer(is_server, 0x2, bytes(range(126)) + b"\xaa" * 4),
            peer(is_server, 0x1, "ab€".encode()[:3], fin=False),
            peer(is_server, 0x9, b"ping"),
            peer(is_server, 0x0, "ab€".encode()[3:]),
            peer(is_server, 0xA),
            peer(is_server, 0x2, b""),
            peer(is_server, 0x8, h("0fa0") + b"bye"),
            peer(is_server, 0x1, b"ignored"),
        ]
    )


EXPECTED_STREAM = [
    ("message", b"hi", False),
    ("message", bytes(range(126)) + b"\xaa" * 4, True),
    ("ping", b"ping"),
    ("message", "ab€".encode(), False),
    ("pong", b""),
    ("message", b"", True),
    ("close", 4000, b"bye"),
]


class TestChunking:
    """Any split of the input gives the same events as feeding it at once."""

    @ROLES
    def test_at_once(self, is_server: bool) -> None:
        assert Rec(is_server).feed(_stream(is_server)) == EXPECTED_STREAM

    @pytest.mark.parametrize("split", range(1, len(_stream(False))))
    @ROLES
    def test_split_in_two(self, is_server: bool, split: int) -> None:
        wire = _stream(is_server)
        rec = Rec(is_server)
        rec.feed(wire[:split])
        rec.feed(wire[split:])
        assert rec.events == EXPECTED_STREAM

    @ROLES
    def test_byte_by_byte(self, is_server: bool) -> None:
        wire = _stream(is_server)
        rec = Rec(is_server)
        for i in range(len(wire)):
            rec.feed(wire[i : i + 1])
        assert rec.events == EXPECTED_STREAM

    @ROLES
    def test_random_chunks(self, is_server: bool) -> None:
        wire = _stream(is_server)
        rng = random.Random(6455)
        for _ in range(50):
            rec = Rec(is_server)
            pos = 0
            while pos < len(wire):
                step = rng.randint(1, 40)
                rec.feed(memoryview(wire)[pos : pos + step])
                pos += step
            assert rec.events == EXPECTED_STREAM

    def test_error_split_byte_by_byte(self) -> None:
        wire = h("81 02 6869 89 01 70 81 02 c3 28 81 01 61")
        rec = Rec()
        for i in range(len(wire)):
            rec.feed(wire[i : i + 1])
        assert rec.events == [
            ("message", b"hi", False),
            ("ping", b"p"),
            err("WS_ERR_INVALID_UTF8", PFX + "invalid UTF-8 sequence", 1007),
        ]

    def test_input_buffer_may_be_reused(self) -> None:
        # The caller's buffer may be overwritten after feed() returns.
        rec = Rec()
        buf = bytearray(h("82 04 01020304"))
        rec.feed(buf)
        buf[2:] = b"\xff" * 4
        partial = bytearray(h("82 04 0506"))
        rec.feed(partial)
        partial[:] = b"\x00" * len(partial)
        rec.feed(h("0708"))
        assert rec.events == [
            ("message", h("01020304"), True),
            ("message", h("05060708"), True),
        ]
        assert all(type(e[1]) is bytes for e in rec.events)


class TestMasking:
    """Section 5.3 on input: the server unmasks, a zero mask changes nothing."""

    def test_rfc_example(self) -> None:
        rec = Rec(True)
        assert rec.feed(h("81 85 37fa213d 7f9f4d5158")) == [
            ("message", b"Hello", False)
        ]

    def test_zero_mask(self) -> None:
        rec = Rec(True)
        assert rec.feed(h("82 83 00000000 616263 89 82 00000000 7069")) == [
            ("message", b"abc", True),
            ("ping", b"pi"),
        ]

    def test_mask_per_frame(self) -> None:
        rec = Rec(True)
        wire = encode(0x1, b"one", mask=b"\x01\x02\x03\x04") + encode(
            0x1, b"two", mask=b"\xf0\x0f\xaa\x55"
        )
        assert rec.feed(wire) == [
            ("message", b"one", False),
            ("message", b"two", False),
        ]


class TestBinaryType:
    """ws ``binaryType``: how binary messages are delivered."""

    @pytest.mark.parametrize("binary_type", ["nodebuffer", "arraybuffer"])
    def test_bytes(self, binary_type: str) -> None:
        rec = Rec(binary_type=binary_type)
        assert rec.feed(h("82 01 61 02 01 62 80 01 63")) == [
            ("message", b"a", True),
            ("message", b"bc", True),
        ]
        assert all(type(e[1]) is bytes for e in rec.events)

    def test_fragments(self) -> None:
        rec = Rec(binary_type="fragments")
        wire = h("82 02 6162 82 00 02 01 61 00 00 89 00 80 02 6263")
        assert rec.feed(wire) == [
            ("message", [b"ab"], True),
            ("message", [], True),
            ("ping", b""),
            ("message", [b"a", b"bc"], True),
        ]

    def test_fragments_leaves_text_alone(self) -> None:
        rec = Rec(binary_type="fragments")
        assert rec.feed(h("81 01 61 01 01 62 80 01 63")) == [
            ("message", b"a", False),
            ("message", b"bc", False),
        ]

    def test_change_applies_to_next_message(self) -> None:
        rec = Rec()
        assert rec.feed(h("02 01 61")) == []
        rec.r.binary_type = "fragments"
        assert rec.feed(h("80 01 62 82 01 63")) == [
            ("message", [b"a", b"b"], True),
            ("message", [b"c"], True),
        ]
        rec.r.binary_type = "nodebuffer"
        assert rec.feed(h("82 01 64")) == [("message", b"d", True)]


class TestHold:
    """``hold()``: a consumer that fell behind stops the parse loop; the
    rest of the input is kept, unparsed, until ``resume()``."""

    def test_hold_from_a_callback_stops_after_that_frame(self) -> None:
        rec = Rec()
        rec.r.on_message = lambda data, binary: (
            rec.events.append(("message", data, binary)),
            rec.r.hold() if data == b"a" else None,
        )
        wire = h("81 01 61 81 01 62 88 02 03e8")
        assert rec.feed(wire) == [("message", b"a", False)]
        assert rec.r.buffered == len(wire) - 3
        # Input that arrives while held is kept behind the held bytes.
        assert rec.feed(h("81 01 63")) == []
        start = len(rec.events)
        rec.r.resume()
        assert rec.events[start:] == [("message", b"b", False), ("close", 1000, b"")]

    def test_hold_before_input_keeps_all_of_it(self) -> None:
        rec = Rec()
        rec.r.hold()
        assert rec.feed(h("81 01 61")) == []
        rec.r.resume()
        assert rec.events == [("message", b"a", False)]


class TestDeferredEvents:
    """ws ``allowSynchronousEvents: false``: one event, then wait for resume."""

    def test_one_event_per_resume(self) -> None:
        rec = Rec(allow_synchronous_events=False)
        wire = h("81 01 61 89 01 70 82 01 62 8a 00 88 02 03e8")
        assert rec.feed(wire) == [("message", b"a", False), ("defer",)]
        assert rec.r.buffered > 0
        start = len(rec.events)
        rec.r.resume()
        assert rec.events[start:] == [("ping", b"p"), ("defer",)]
        start = len(rec.events)
        rec.r.resume()
        assert rec.events[start:] == [("message", b"b", True), ("defer",)]
        start = len(rec.events)
        rec.r.resume()
        assert rec.events[start:] == [("pong", b""), ("defer",)]
        start = len(rec.events)
        rec.r.resume()
        # A close frame ends the receiver: nothing to defer.
        assert rec.events[start:] == [("close", 1000, b"")]

    def test_input_while_held_waits(self) -> None:
        rec = Rec(allow_synchronous_events=False)
        assert rec.feed(h("81 01 61")) == [("message", b"a", False), ("defer",)]
        assert rec.feed(h("81 01 62 81")) == []
        start = len(rec.events)
        rec.r.resume()
        assert rec.events[start:] == [("message", b"b", False), ("defer",)]
        start = len(rec.events)
        rec.r.resume()
        assert rec.events[start:] == []
        assert rec.feed(h("01 63")) == [("message", b"c", False), ("defer",)]

    def test_fragmented_message_is_one_event(self) -> None:
        rec = Rec(allow_synchronous_events=False)
        assert rec.feed(h("01 01 61 00 01 62 80 01 63 81 00")) == [
            ("message", b"abc", False),
            ("defer",),
        ]

    def test_resume_without_deferral_is_noop(self) -> None:
        rec = Rec(allow_synchronous_events=False)
        rec.r.resume()
        assert rec.feed(h("81 01")) == []
        rec.r.resume()
        assert rec.events == []
        assert rec.feed(h("61")) == [("message", b"a", False), ("defer",)]

    def test_synchronous_by_default(self) -> None:
        rec = Rec()
        assert rec.feed(h("81 01 61 89 00 81 01 62")) == [
            ("message", b"a", False),
            ("ping", b""),
            ("message", b"b", False),
        ]

    def test_error_while_held(self) -> None:
        rec = Rec(allow_synchronous_events=False)
        rec.feed(h("81 01 61 a1 00 81 01 62"))
        start = len(rec.events)
        rec.r.resume()
        assert [e[:2] for e in rec.events[start:]] == [
            ("error", "WS_ERR_UNEXPECTED_RSV_2_3")
        ]
        rec.r.resume()
        assert len(rec.errors) == 1


class TestStop:
    """``stop()``: the owner ends input (terminate, EOF, a failure elsewhere)."""

    def test_drops_buffer_and_later_input(self) -> None:
        rec = Rec()
        assert rec.feed(h("81 05 6865")) == []
        assert rec.r.buffered > 0
        rec.r.stop()
        assert rec.r.done
        assert rec.r.buffered == 0
        assert rec.feed(h("6c6c6f 81 01 61 a1 00")) == []
        assert rec.errors == []

    def test_drops_fragments(self) -> None:
        rec = Rec()
        rec.feed(h("01 01 61"))
        rec.r.stop()
        assert rec.feed(h("80 01 62")) == []
        assert rec.events == []

    def test_stop_from_a_callback(self) -> None:
        events: list[Any] = []
        box: list[Receiver] = []

        def on_message(data: Any, binary: bool) -> None:
            events.append(data)
            box[0].stop()

        r = Receiver(
            is_server=False,
            on_message=on_message,
            on_ping=events.append,
            on_pong=events.append,
            on_close=lambda c, r: events.append(c),
            on_error=events.append,
        )
        box.append(r)
        r.feed(h("81 01 61 81 01 62 89 00"))
        assert events == [b"a"]


class TestCompressed:
    """RSV1 with a negotiated permessage-deflate (RFC 7692 section 6)."""

    def test_compressed_message(self) -> None:
        # "Hello" deflated, as RFC 7692 section 7.2.3.1 shows it.
        rec = Rec(inflater=inflater())
        assert rec.feed(h("c1 07 f248cdc9c90700")) == [("message", b"Hello", False)]

    def test_compressed_fragments(self) -> None:
        # RFC 7692 section 7.2.3.1, the same message in two fragments.
        rec = Rec(inflater=inflater())
        assert rec.feed(h("41 03 f248cd 80 04 c9c90700")) == [
            ("message", b"Hello", False)
        ]

    def test_uncompressed_message_with_extension(self) -> None:
        rec = Rec(inflater=inflater())
        assert rec.feed(h("81 05 48656c6c6f")) == [("message", b"Hello", False)]

    def test_inflate_error(self) -> None:
        rec = Rec(inflater=inflater())
        events = rec.feed(h("c1 03 ffffff 81 01 61"))
        assert len(events) == 1
        (exc,) = rec.errors
        assert exc.status_code == 1007
        assert rec.r.done


class TestIncompleteState:
    """What the I/O layer's incompleteMessageTimeout reads after each read:
    ``partial_frame_reads``, ``in_fragmented_message``, ``fragmented_messages``
    (issue 9)."""

    @ROLES
    def test_partial_frame_reads(self, is_server: bool) -> None:
        r = Rec(is_server)
        frame = peer(is_server, 2, b"0123456789")
        assert r.r.partial_frame_reads == 0
        r.feed(frame[:3])
        assert r.r.partial_frame_reads == 1  # began in this read
        r.feed(frame[3:5])
        assert r.r.partial_frame_reads == 2  # the same frame, older
        # The frame completes and the next one begins in the same read.
        r.feed(frame[5:] + frame[:4])
        assert r.r.partial_frame_reads == 1
        assert r.events == [("message", b"0123456789", True)]
        r.feed(frame[4:])
        assert r.r.partial_frame_reads == 0

    @ROLES
    def test_fragmented_messages(self, is_server: bool) -> None:
        r = Rec(is_server)
        first = peer(is_server, 1, b"ab", fin=False)
        last = peer(is_server, 0, b"cd")
        assert not r.r.in_fragmented_message
        r.feed(peer(is_server, 1, b"whole"))
        assert r.r.fragmented_messages == 0  # one frame: not counted
        r.feed(first)
        assert r.r.in_fragmented_message
        assert r.r.fragmented_messages == 1
        r.feed(peer(is_server, 9, b"p"))  # a ping between fragments
        assert r.r.in_fragmented_message
        r.feed(last + first)  # one ends, the next begins
        assert r.r.fragmented_messages == 2
        r.feed(last)
        assert not r.r.in_fragmented_message
        assert r.r.partial_frame_reads == 0

    def test_nothing_incomplete_after_an_error(self) -> None:
        r = Rec(False)
        second = encode(0, b"c", fin=False)
        r.feed(encode(1, b"ab", fin=False) + second[:2])
        assert r.r.partial_frame_reads == 1 and r.r.in_fragmented_message
        r.feed(second[2:] + h("8f 00"))  # invalid opcode: the receiver stops
        assert r.errors and r.errors[0].code == "WS_ERR_INVALID_OPCODE"
        assert r.r.partial_frame_reads == 0
        assert not r.r.in_fragmented_message
