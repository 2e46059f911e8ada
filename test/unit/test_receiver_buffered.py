"""The receiver's zero-copy input: ``get_buffer()`` / ``buffer_updated()``.

This is how ``asyncio.BufferedProtocol`` feeds pyws: the socket reads into
the receiver's own buffer. Whatever the read sizes, the events must be those
of ``feed()`` with the same bytes (RFC 6455 section 5.2 framing), limits must
hold (``maxBufferedChunks``, ws-api.md 7.1) and a header announcing a huge
frame must not make the receiver allocate it ahead of the data.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from pyws import receiver as receiver_module
from pyws.receiver import Receiver
from pyws.sender import frame


def make(events: list[Any], **kw: Any) -> Receiver:
    return Receiver(
        is_server=True,
        on_message=lambda data, is_binary: events.append(("message", data, is_binary)),
        on_ping=lambda data: events.append(("ping", data)),
        on_pong=lambda data: events.append(("pong", data)),
        on_close=lambda code, reason: events.append(("close", code, reason)),
        on_error=lambda exc: events.append(("error", exc.code)),
        **kw,
    )


def read_into(r: Receiver, data: bytes, sizes: list[int]) -> None:
    """Deliver ``data`` in reads of the given sizes, as a socket would."""
    pos = 0
    for size in sizes:
        if pos >= len(data):
            break
        buf = r.get_buffer()
        n = min(size, len(buf), len(data) - pos)
        buf[:n] = data[pos : pos + n]
        del buf  # asyncio drops its view before the next get_buffer
        r.buffer_updated(n)
        pos += n
    while pos < len(data):
        buf = r.get_buffer()
        n = min(len(buf), len(data) - pos)
        buf[:n] = data[pos : pos + n]
        del buf
        r.buffer_updated(n)
        pos += n


PAYLOAD = os.urandom(70000)


def stream() -> bytes:
    key = b"\x01\x02\x03\x04"
    parts = [
        frame(1, "héllo".encode(), mask=key),
        frame(2, PAYLOAD, mask=key),
        frame(9, b"ping", mask=key),
        frame(2, b"a" * 10, fin=False, mask=key),
        frame(0, b"b" * 300000, mask=key),
        frame(1, b"", mask=key),
        frame(8, b"\x03\xe8bye", mask=key),
    ]
    return b"".join(b"".join(p) for p in parts)


def expected_events() -> list[Any]:
    events: list[Any] = []
    make(events).feed(stream())
    return events


@pytest.mark.parametrize("seed", range(8))
def test_random_read_sizes_give_the_events_of_feed(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [rng.choice([1, 2, 7, 100, 4096, 65536, 300000]) for _ in range(400)]
    events: list[Any] = []
    read_into(make(events), stream(), sizes)
    assert events == expected_events()


def test_mixed_feed_and_reads() -> None:
    data = stream()
    events: list[Any] = []
    r = make(events)
    r.feed(data[:5])  # the head that came with the HTTP response
    read_into(r, data[5:], [3, 70000])
    assert events == expected_events()


def test_big_frame_gets_room_in_steps_not_at_once() -> None:
    """A header announcing 50 MB makes room for at most _MAX_AHEAD more."""
    events: list[Any] = []
    r = make(events)
    header = b"\x82\xff" + (50_000_000).to_bytes(8, "big") + b"\x00\x00\x00\x00"
    read_into(r, header, [len(header)])
    room = len(r.get_buffer())
    assert room <= receiver_module._MAX_AHEAD + receiver_module._READ_SIZE
    assert r.buffered == len(header)
    assert events == []


def test_max_buffered_chunks_counts_reads_of_one_frame() -> None:
    events: list[Any] = []
    r = make(events, max_buffered_chunks=2)
    data = b"".join(frame(2, b"x" * 30, mask=b"\x01\x02\x03\x04"))
    read_into(r, data, [5, 5, 5])
    assert events == [("error", "WS_ERR_TOO_MANY_BUFFERED_PARTS")]


def test_input_after_done_is_read_and_dropped() -> None:
    events: list[Any] = []
    r = make(events)
    bad = bytes([0x81 | 0x20, 0x80, 0, 0, 0, 0])  # RSV2 set
    read_into(r, bad + b"junk" * 100, [6, 400])
    assert events == [("error", "WS_ERR_UNEXPECTED_RSV_2_3")]
    assert r.buffered == 0
    assert len(r.get_buffer()) > 0


def test_the_first_buffer_is_small_and_grows_with_full_reads() -> None:
    # A short-lived connection costs no big allocation; a busy one soon
    # reads up to _READ_SIZE at a time, and no more.
    events: list[Any] = []
    r = make(events)
    assert len(r.get_buffer()) == receiver_module._FIRST_SIZE
    msg = b"".join(frame(2, b"m" * 1000, mask=b"\x01\x02\x03\x04"))
    data = msg * 2000
    pos = 0
    sizes = []
    for _ in range(6):
        buf = r.get_buffer()
        n = len(buf)
        sizes.append(n)
        buf[:n] = data[pos : pos + n]  # fills the buffer: more was waiting
        del buf
        r.buffer_updated(n)
        pos += n
    assert sizes[0] == receiver_module._FIRST_SIZE
    assert max(sizes) <= receiver_module._READ_SIZE
    assert len(r._rbuf) == receiver_module._READ_SIZE
    assert len(events) == pos // len(msg)
    assert all(e == ("message", b"m" * 1000, True) for e in events)


def test_reads_that_do_not_fill_the_buffer_do_not_grow_it() -> None:
    events: list[Any] = []
    r = make(events)
    data = b"".join(frame(2, b"x" * 100, mask=b"\x01\x02\x03\x04"))
    read_into(r, data * 50, [len(data)] * 50)
    assert len(events) == 50
    assert len(r._rbuf) == receiver_module._FIRST_SIZE
