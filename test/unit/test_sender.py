"""Unit tests for :mod:`pyws.sender` (RFC 6455 section 5; ws 8.23
``lib/sender.js``, ``Sender.frame``).

As websockets' ``test_frames.py`` does, :class:`TestRoundTrip` checks in one
assertion that a frame serializes to the expected hex with a pinned mask and
that the :class:`~pyws.receiver.Receiver` of the other role parses the same
bytes back. The other classes check the header forms, masking, fragments,
RSV1, and close/ping/pong payloads byte for byte. No event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from pyws import buffer_util
from pyws.permessage_deflate import PerMessageDeflate
from pyws.receiver import Receiver
from pyws.sender import DeferredFrame, Sender, frame

MASK = bytes.fromhex("37fa213d")  # RFC 6455 section 5.7


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def wire(chunks: Sequence[Any]) -> bytes:
    return b"".join(bytes(c) for c in chunks)


def pinned(*masks: bytes) -> Callable[[bytearray], None]:
    """A ``generateMask`` handing out ``masks`` in turn (the last one repeats)."""
    it: Iterator[bytes] = iter(masks)
    last = [masks[-1]]

    def generate(buf: bytearray) -> None:
        last[0] = next(it, last[0])
        buf[:] = last[0]

    return generate


def parse(data: bytes, *, is_server: bool, **options: Any) -> list[tuple[Any, ...]]:
    """What a Receiver in role ``is_server`` reports for ``data``."""
    events: list[tuple[Any, ...]] = []
    r = Receiver(
        is_server=is_server,
        on_message=lambda d, b: events.append(("message", d, b)),
        on_ping=lambda d: events.append(("ping", d)),
        on_pong=lambda d: events.append(("pong", d)),
        on_close=lambda c, reason: events.append(("close", c, reason)),
        on_error=lambda e: events.append(("error", e.code)),
        **options,
    )
    r.feed(data)
    return events


ROUND_TRIPS: list[tuple[str, int, bytes, bytes | None, tuple[Any, ...]]] = [
    # hex, opcode, payload, mask, event the peer's receiver reports
    ("81 00", 0x1, b"", None, ("message", b"", False)),
    ("81 05 48656c6c6f", 0x1, b"Hello", None, ("message", b"Hello", False)),
    (
        "81 85 37fa213d 7f9f4d5158",
        0x1,
        b"Hello",
        MASK,
        ("message", b"Hello", False),
    ),
    ("82 80 37fa213d", 0x2, b"", MASK, ("message", b"", True)),
    ("82 03 010203", 0x2, h("010203"), None, ("message", h("010203"), True)),
    (
        "82 83 00000000 010203",
        0x2,
        h("010203"),
        bytes(4),
        ("message", h("010203"), True),
    ),
    ("89 05 48656c6c6f", 0x9, b"Hello", None, ("ping", b"Hello")),
    ("89 85 37fa213d 7f9f4d5158", 0x9, b"Hello", MASK, ("ping", b"Hello")),
    ("8a 00", 0xA, b"", None, ("pong", b"")),
    ("8a 80 37fa213d", 0xA, b"", MASK, ("pong", b"")),
    ("88 00", 0x8, b"", None, ("close", 1005, b"")),
    ("88 02 03e8", 0x8, h("03e8"), None, ("close", 1000, b"")),
    ("88 82 37fa213d 3412", 0x8, h("03e8"), MASK, ("close", 1000, b"")),
    ("88 05 0fa0 627965", 0x8, h("0fa0") + b"bye", None, ("close", 4000, b"bye")),
]


class TestRoundTrip:
    """Section 5.2: serialize and parse the same bytes."""

    @pytest.mark.parametrize(
        ("hexframe", "opcode", "payload", "mask", "event"), ROUND_TRIPS
    )
    def test_round_trip(
        self,
        hexframe: str,
        opcode: int,
        payload: bytes,
        mask: bytes | None,
        event: tuple[Any, ...],
    ) -> None:
        data = h(hexframe)
        # A masked frame goes client -> server, an unmasked one server -> client.
        assert (
            wire(frame(opcode, payload, mask=mask)),
            parse(data, is_server=mask is not None),
        ) == (data, [event])

    @pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536])
    @pytest.mark.parametrize("mask", [None, MASK], ids=["unmasked", "masked"])
    def test_lengths(self, length: int, mask: bytes | None) -> None:
        payload = bytes(i % 251 for i in range(length))
        data = wire(frame(0x2, payload, mask=mask))
        assert parse(data, is_server=mask is not None) == [("message", payload, True)]


class TestFrameHeader:
    """Section 5.2: the 7-bit, 16-bit and 64-bit length forms."""

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
    def test_length_forms(self, length: int, header: str) -> None:
        payload = b"\x5a" * length
        chunks = frame(0x2, payload)
        assert bytes(chunks[0]) == h(header)
        assert wire(chunks) == h(header) + payload

    @pytest.mark.parametrize(
        ("length", "header"),
        [
            (125, "82 fd"),
            (126, "82 fe 00 7e"),
            (65535, "82 fe ff ff"),
            (65536, "82 ff 00 00 00 00 00 01 00 00"),
        ],
    )
    def test_masked_length_forms(self, length: int, header: str) -> None:
        chunks = frame(0x2, bytes(length), mask=MASK)
        assert len(chunks) == 1  # header, key and masked payload together
        hl = len(h(header))
        assert chunks[0][:hl] == h(header)
        assert chunks[0][hl : hl + 4] == MASK
        # Zero bytes masked give the mask repeated.
        assert chunks[0][hl + 4 :] == (MASK * (length // 4 + 1))[:length]
        for build in (buffer_util.mask_frame, buffer_util.mask_frame_py):
            assert build(0x82, bytes(length), MASK) == chunks[0]

    @pytest.mark.parametrize(
        ("fin", "rsv1", "first"),
        [
            (True, False, 0x81),
            (False, False, 0x01),
            (True, True, 0xC1),
            (False, True, 0x41),
        ],
    )
    def test_first_byte(self, fin: bool, rsv1: bool, first: int) -> None:
        assert bytes(frame(0x1, b"x", fin=fin, rsv1=rsv1)[0])[0] == first

    @pytest.mark.parametrize("mask", [None, MASK, bytes(4)])
    @pytest.mark.parametrize("opcode", [0x0, 0x1, 0x2, 0x8, 0x9, 0xA])
    def test_empty_payload_is_one_chunk(self, opcode: int, mask: bytes | None) -> None:
        # ws 8.23: an empty frame, masked or not, is written as one chunk.
        chunks = frame(opcode, b"", mask=mask)
        assert len(chunks) == 1
        expected = bytes([0x80 | opcode, 0x80 if mask else 0]) + (mask or b"")
        assert bytes(chunks[0]) == expected

    def test_header_and_payload_separate(self) -> None:
        payload = bytes(70000)
        chunks = frame(0x2, payload)
        assert len(chunks) == 2
        assert chunks[1] is payload  # never copied to prepend the header

    def test_masking_leaves_input_alone(self) -> None:
        payload = bytearray(b"Hello")
        chunks = frame(0x1, payload, mask=MASK)
        assert payload == b"Hello"
        assert chunks[0][6:] == h("7f9f4d5158")

    def test_zero_mask_sets_mask_bit(self) -> None:
        assert wire(frame(0x1, b"abc", mask=bytes(4))) == h("81 83 00000000 616263")


class TestSenderMasking:
    """Section 5.3: clients mask every frame, servers none; ``generateMask``."""

    def test_client_masks_with_pinned_mask(self) -> None:
        s = Sender(is_server=False, generate_mask=pinned(MASK))
        assert wire(s.send(b"Hello", binary=False)) == h("81 85 37fa213d 7f9f4d5158")

    def test_server_does_not_mask(self) -> None:
        calls: list[bytearray] = []
        s = Sender(is_server=True, generate_mask=calls.append)
        assert wire(s.send(b"Hello", binary=False)) == h("81 05 48656c6c6f")
        assert wire(s.ping(b"")) == h("89 00")
        assert wire(s.pong(b"x")) == h("8a 01 78")
        assert wire(s.close(1000)) == h("88 02 03e8")
        assert calls == []

    def test_new_mask_for_every_frame_control_included(self) -> None:
        masks = [bytes([i, i, i, i]) for i in range(1, 6)]
        s = Sender(is_server=False, generate_mask=pinned(*masks))
        out = [
            wire(s.send(b"a", binary=False)),
            wire(s.ping(b"b")),
            wire(s.pong(b"")),
            wire(s.send(b"", binary=True)),
            wire(s.close(1000)),
        ]
        assert out == [
            h("81 81 01010101") + bytes([ord("a") ^ 1]),
            h("89 81 02020202") + bytes([ord("b") ^ 2]),
            h("8a 80 03030303"),
            h("82 80 04040404"),
            h("88 82 05050505 06ed"),
        ]

    def test_mask_option_overrides_role(self) -> None:
        client = Sender(is_server=False, generate_mask=pinned(MASK))
        assert wire(client.send(b"hi", binary=True, mask=False)) == h("82 02 6869")
        assert wire(client.ping(b"hi", mask=False)) == h("89 02 6869")
        server = Sender(is_server=True, generate_mask=pinned(MASK))
        assert wire(server.send(b"Hello", binary=False, mask=True)) == h(
            "81 85 37fa213d 7f9f4d5158"
        )
        assert wire(server.close(None, mask=True)) == h("88 80 37fa213d")

    def test_default_mask_source(self) -> None:
        s = Sender(is_server=False)
        data = wire(s.send(b"Hello", binary=False))
        assert data[:2] == h("81 85")
        assert parse(data, is_server=True) == [("message", b"Hello", False)]


class TestFragments:
    """Section 5.4: continuation frames after ``fin=False``."""

    def test_opcodes(self) -> None:
        s = Sender(is_server=True)
        out = [
            wire(s.send(b"a", binary=False, fin=False)),
            wire(s.send(b"b", binary=True, fin=False)),  # binary ignored
            wire(s.send(b"", binary=False, fin=False)),
            wire(s.send(b"c", binary=True)),
            wire(s.send(b"d", binary=True, fin=False)),
            wire(s.send(b"e", binary=False)),
            wire(s.send(b"f", binary=True)),
        ]
        assert out == [
            h("01 01 61"),
            h("00 01 62"),
            h("00 00"),
            h("80 01 63"),
            h("02 01 64"),
            h("80 01 65"),
            h("82 01 66"),
        ]
        assert parse(b"".join(out), is_server=False) == [
            ("message", b"abc", False),
            ("message", b"de", True),
            ("message", b"f", True),
        ]

    def test_control_frames_between_fragments(self) -> None:
        s = Sender(is_server=False, generate_mask=pinned(bytes(4)))
        out = (
            wire(s.send(b"a", binary=True, fin=False))
            + wire(s.ping(b"p"))
            + wire(s.send(b"b", binary=True))
        )
        assert out == h("02 81 00000000 61 89 81 00000000 70 80 81 00000000 62")
        assert parse(out, is_server=True) == [
            ("ping", b"p"),
            ("message", b"ab", True),
        ]


def deflate(is_server: bool) -> PerMessageDeflate:
    return PerMessageDeflate(None, is_server, 0)


class TestCompression:
    """RFC 7692 section 6: RSV1 on the first frame of a compressed message."""

    def test_rfc7692_hello(self) -> None:
        # RFC 7692 section 7.2.3.1: "Hello" in one compressed frame.
        s = Sender(is_server=True, deflater=deflate(True))
        assert wire(s.send(b"Hello", binary=False)) == h("c1 07 f248cdc9c90700")

    def test_rsv1_only_on_first_fragment(self) -> None:
        s = Sender(is_server=True, deflater=deflate(True))
        frames = [
            s.send(b"Hel", binary=False, fin=False),
            s.send(b"l", binary=False, fin=False),
            s.send(b"o", binary=False),
        ]
        first_bytes = [wire(f)[0] for f in frames]
        assert first_bytes == [0x41, 0x00, 0x80]
        data = b"".join(wire(f) for f in frames)
        assert parse(data, is_server=False, inflater=deflate(False)) == [
            ("message", b"Hello", False)
        ]

    def test_first_fragment_decides(self) -> None:
        s = Sender(is_server=True, deflater=deflate(True))
        # Compressed: later fragments stay compressed whatever they ask.
        a = s.send(b"abc" * 10, binary=True, fin=False, compress=True)
        b = s.send(b"def" * 10, binary=True, compress=False)
        # Not compressed: later fragments stay plain.
        c = s.send(b"ghi", binary=True, fin=False, compress=False)
        d = s.send(b"jkl", binary=True, compress=True)
        assert [wire(f)[0] for f in (a, b, c, d)] == [0x42, 0x80, 0x02, 0x80]
        assert wire(c) == h("02 03 676869")
        assert wire(d) == h("80 03 6a6b6c")
        data = b"".join(wire(f) for f in (a, b, c, d))
        assert parse(data, is_server=False, inflater=deflate(False)) == [
            ("message", b"abc" * 10 + b"def" * 10, True),
            ("message", b"ghijkl", True),
        ]

    def test_control_frames_never_compressed(self) -> None:
        s = Sender(is_server=True, deflater=deflate(True))
        assert wire(s.ping(b"hi")) == h("89 02 6869")
        assert wire(s.close(1000, b"x")) == h("88 03 03e8 78")

    def test_no_deflater_ignores_compress(self) -> None:
        s = Sender(is_server=True)
        assert wire(s.send(b"x", binary=False, compress=True)) == h("81 01 78")

    def test_deferred_frame(self) -> None:
        masks = [b"\x01\x02\x03\x04", b"\x05\x06\x07\x08"]
        s = Sender(
            is_server=False, generate_mask=pinned(*masks), deflater=deflate(False)
        )
        (item,) = s.send(b"Hello", binary=False, defer=True)
        assert isinstance(item, DeferredFrame)
        assert (item.opcode, item.fin, item.rsv1, item.mask) == (
            0x1,
            True,
            True,
            masks[0],
        )
        assert item.data == b"Hello"
        assert item.chunks is None
        # The key was drawn at send() time: a ping framed now gets the next.
        assert wire(s.ping(b""))[2:] == masks[1]
        item.resolve(h("f248cdc9c90700"))
        assert item.chunks is not None
        assert wire(item.chunks) == wire(
            frame(0x1, h("f248cdc9c90700"), rsv1=True, mask=masks[0])
        )
        assert parse(wire(item.chunks), is_server=True, inflater=deflate(True)) == [
            ("message", b"Hello", False)
        ]

    def test_defer_without_compression_frames_at_once(self) -> None:
        s = Sender(is_server=True)
        assert wire(s.send(b"x", binary=True, defer=True)) == h("82 01 78")


class TestControlPayloads:
    """Sections 5.5.1 to 5.5.3: close, ping and pong bodies."""

    @pytest.mark.parametrize(
        ("code", "reason", "expected"),
        [
            (None, b"", "88 00"),
            (1000, b"", "88 02 03e8"),
            (1001, b"bye", "88 05 03e9 627965"),
            (4999, b"", "88 02 1387"),
            (1002, "é".encode(), "88 04 03ea c3a9"),
        ],
    )
    def test_close(self, code: int | None, reason: bytes, expected: str) -> None:
        s = Sender(is_server=True)
        assert wire(s.close(code, reason)) == h(expected)

    def test_close_longest_reason(self) -> None:
        s = Sender(is_server=True)
        assert wire(s.close(1000, b"r" * 123)) == h("88 7d 03e8") + b"r" * 123

    def test_masked_close(self) -> None:
        s = Sender(is_server=False, generate_mask=pinned(MASK))
        # 03 e8 62 79 65 XOR 37 fa 21 3d 37 = 34 12 43 44 52
        assert wire(s.close(1000, b"bye")) == h("88 85 37fa213d 3412434452")
        assert wire(s.close()) == h("88 80 37fa213d")

    @pytest.mark.parametrize("size", [0, 1, 125])
    def test_ping_pong(self, size: int) -> None:
        s = Sender(is_server=True)
        payload = b"\x07" * size
        assert wire(s.ping(payload)) == bytes([0x89, size]) + payload
        assert wire(s.pong(payload)) == bytes([0x8A, size]) + payload

    def test_masked_ping_pong(self) -> None:
        s = Sender(is_server=False, generate_mask=pinned(MASK))
        assert wire(s.ping(b"Hello")) == h("89 85 37fa213d 7f9f4d5158")
        assert wire(s.pong(b"Hello")) == h("8a 85 37fa213d 7f9f4d5158")

    def test_control_frames_do_not_disturb_fragments(self) -> None:
        s = Sender(is_server=True)
        s.send(b"a", binary=False, fin=False)
        s.ping(b"")
        s.close(1000)
        assert wire(s.send(b"b", binary=False)) == h("80 01 62")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536])
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("is_server", [True, False])
def test_whole_gives_the_chunks_of_frame(
    size: int, binary: bool, is_server: bool
) -> None:
    """Sender.whole (the hot path's framing) is frame() with the role's mask."""

    def pin(buf: bytearray) -> None:
        buf[:] = b"\x01\x02\x03\x04"

    payload = bytes(i & 0xFF for i in range(size))
    sender = Sender(is_server=is_server, generate_mask=pin)
    expected = frame(
        2 if binary else 1, payload, mask=None if is_server else b"\x01\x02\x03\x04"
    )
    assert sender.whole(payload, binary) == expected
