"""The receiver's zero-copy input: ``get_buffer()`` / ``buffer_updated()``.

This is how ``asyncio.BufferedProtocol`` feeds pyws: the socket reads into
the receiver's own buffer. Whatever the read sizes, the events must be those
of ``feed()`` with the same bytes (RFC 6455 section 5.2 framing), limits must
hold (``maxBufferedChunks``, docs/errors.md) and a header announcing a huge
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
    assert room <= receiver_module._MAX_AHEAD + receiver_module._MIN_READ
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


def one_read(r: Receiver, data: bytes) -> int:
    """One read of at most what get_buffer offers; returns bytes taken."""
    buf = r.get_buffer()
    n = min(len(buf), len(data))
    buf[:n] = data[:n]
    del buf
    r.buffer_updated(n)
    return n


def test_reads_with_nothing_pending_use_the_shared_buffer() -> None:
    # A connection that parsed everything holds no buffer of its own.
    events: list[Any] = []
    r1, r2 = make(events), make(events)
    b1, b2 = r1.get_buffer(), r2.get_buffer()
    assert b1.obj is b2.obj  # one buffer for the thread
    assert len(b1) == receiver_module._SHARED_SIZE
    del b1, b2
    r1.buffer_updated(0)
    r2.buffer_updated(0)
    msg = b"".join(frame(2, b"m" * 1000, mask=b"\x01\x02\x03\x04"))
    one_read(r1, msg * 100)
    assert len(events) == 100 and len(r1._rbuf) == 0


def test_an_incomplete_frame_is_kept_and_completed_in_the_shared_buffer() -> None:
    events: list[Any] = []
    r = make(events)
    data = b"".join(frame(2, PAYLOAD, mask=b"\x01\x02\x03\x04"))
    one_read(r, data[:30000])
    # Kept in the connection's buffer between reads (another socket may
    # read into the shared one meanwhile)...
    assert r.buffered == 30000 and len(r._rbuf) >= 30000
    one_read(make([]), os.urandom(100000))
    # ...and copied back in front of the next read, which has room for the
    # rest of the frame and more.
    buf = r.get_buffer()
    shared = receiver_module._shared_view()
    assert buf.obj is shared.obj
    assert bytes(shared[:30000]) == data[:30000]
    assert len(buf) >= len(data) - 30000 + 65536
    del buf
    r.buffer_updated(0)  # a read that gave nothing keeps everything
    assert r.buffered == 30000
    one_read(r, data[30000:])
    assert events == [("message", PAYLOAD, True)]
    assert r.buffered == 0


def test_a_frame_bigger_than_the_shared_limit_reads_into_its_own_buffer() -> None:
    events: list[Any] = []
    r = make(events)
    payload = os.urandom(receiver_module._SHARED_FRAME + 10)
    data = b"".join(frame(2, payload, mask=b"\x01\x02\x03\x04"))
    pos = one_read(r, data[:1000])
    buf = r.get_buffer()
    assert buf.obj is r._rbuf
    del buf
    r.buffer_updated(0)
    while pos < len(data):
        pos += one_read(r, data[pos:])
    assert events == [("message", payload, True)]


@pytest.mark.parametrize("seed", range(6))
def test_connections_taking_turns_on_the_shared_buffer(seed: int) -> None:
    # Reads of several connections interleave on one shared buffer: each
    # keeps its own incomplete frames, no byte of one reaches another.
    rng = random.Random(seed)
    data = stream()
    expected = expected_events()
    receivers = []
    for _ in range(3):
        events: list[Any] = []
        receivers.append((make(events), events, [0]))
    while any(pos[0] < len(data) for _, _, pos in receivers):
        r, _, pos = rng.choice(receivers)
        if pos[0] >= len(data):
            continue
        size = rng.choice([1, 3, 100, 5000, 70000, 600000])
        pos[0] += one_read(r, data[pos[0] : pos[0] + size])
    for _, events, _ in receivers:
        assert events == expected


def test_a_deferral_keeps_the_rest_of_a_shared_read() -> None:
    # allowSynchronousEvents off: one message per turn; what follows it in
    # the shared buffer is kept before another connection reads there.
    events: list[Any] = []
    r = make(events, allow_synchronous_events=False)
    deferred: list[int] = []
    r.on_defer = lambda: deferred.append(1)
    msgs = [os.urandom(100 + i) for i in range(5)]
    data = b"".join(b"".join(frame(2, m, mask=b"\x01\x02\x03\x04")) for m in msgs)
    one_read(r, data)
    other: list[Any] = []
    one_read(make(other), b"".join(frame(2, b"x" * 5000, mask=b"\x05\x06\x07\x08")))
    while r._held:
        r.resume()
    assert [e[1] for e in events] == msgs
    assert other == [("message", b"x" * 5000, True)]


def test_a_big_frame_gets_room_in_steps_and_frees_it() -> None:
    # A 2 MB frame is completed in the connection's own buffer, grown to
    # at most four times what arrived (or _MAX_AHEAD past it); once parsed,
    # that room is freed.
    events: list[Any] = []
    r = make(events)
    payload = os.urandom(2_000_000)
    data = b"".join(frame(2, payload, mask=b"\x01\x02\x03\x04"))
    pos = one_read(r, data[:100])
    while pos < len(data):
        buf = r.get_buffer()
        ahead = max(4 * pos, pos + receiver_module._MAX_AHEAD)
        assert len(r._rbuf) <= ahead + receiver_module._MIN_READ
        n = min(len(buf), len(data) - pos)
        buf[:n] = data[pos : pos + n]
        del buf
        r.buffer_updated(n)
        pos += n
    assert events == [("message", payload, True)]
    assert len(r._rbuf) == 0


def test_a_read_that_never_completed_does_not_confuse_the_next() -> None:
    # asyncio asks for a buffer, then the read fails (EAGAIN, EOF): no
    # buffer_updated. Input fed meanwhile leaves an incomplete frame; the
    # next read goes to the connection's buffer and is parsed from there.
    events: list[Any] = []
    r = make(events)
    r.get_buffer()  # shared; the read then fails
    data = b"".join(frame(2, PAYLOAD, mask=b"\x01\x02\x03\x04"))
    r.feed(data[:1000])
    one_read(make([]), os.urandom(5000))  # another socket reads meanwhile
    pos = 1000
    while pos < len(data):
        pos += one_read(r, data[pos:])
    assert events == [("message", PAYLOAD, True)]


@pytest.mark.parametrize("size", [3_000_000, 5_000_000, 16 << 20])
def test_a_big_frame_buffer_never_outgrows_the_frame(size: int) -> None:
    # Doubling as it grows, the buffer stops at the frame's own size: the
    # last step does not allocate twice what the frame needs.
    events: list[Any] = []
    r = make(events)
    payload = os.urandom(size)
    data = b"".join(frame(2, payload, mask=b"\x01\x02\x03\x04"))
    pos = one_read(r, data[:100])
    largest = 0
    while pos < len(data):
        buf = r.get_buffer()
        largest = max(largest, len(r._rbuf))
        n = min(len(buf), len(data) - pos)
        buf[:n] = data[pos : pos + n]
        del buf
        r.buffer_updated(n)
        pos += n
    assert events == [("message", payload, True)]
    assert len(data) <= largest <= len(data) + receiver_module._MIN_READ


# A big frame's buffer, once its connection is done with it, is the thread's
# spare for the next big frame (no zero fill, no fresh pages): nothing the
# receiver handed out may see that memory again.

BIG = 2 * 1048576 + 123


@pytest.fixture(autouse=True)
def no_spare() -> Any:
    """Every test here starts and ends without a spare: one left by an
    earlier test (in this module or another) would change how much room a
    big frame gets."""
    receiver_module._shared.spare = None
    yield
    receiver_module._shared.spare = None


def read_big(
    r: Receiver, data: bytes, keep: list[memoryview] | None = None
) -> set[int]:
    """Socket-sized reads of ``data``; the ids of the buffers offered. With
    ``keep``, the view of the last read is kept, as a leaky reader would."""
    objs: set[int] = set()
    pos = 0
    while pos < len(data):
        buf = r.get_buffer()
        objs.add(id(buf.obj))
        n = min(len(buf), 65536, len(data) - pos)
        buf[:n] = data[pos : pos + n]
        if keep is not None and pos + n == len(data):
            keep.append(buf)
        r.buffer_updated(n)  # asyncio still holds its view meanwhile
        del buf
        pos += n
    return objs


@pytest.mark.parametrize("key", [b"\x01\x02\x03\x04", b"\x00\x00\x00\x00"])
def test_a_big_frame_buffer_is_reused_and_messages_never_see_it(
    no_spare: None, key: bytes
) -> None:
    one, two = os.urandom(BIG), os.urandom(BIG)
    events: list[Any] = []
    r1, r2 = make(events), make(events)
    objs1 = read_big(r1, b"".join(frame(2, one, mask=key)))
    spare = receiver_module._shared.spare
    assert spare is not None and id(spare) in objs1
    objs2 = read_big(r2, b"".join(frame(2, two, mask=key)))
    assert id(spare) in objs2  # the same memory, another connection
    text = "é".encode() * (BIG // 2)
    read_big(r1, b"".join(frame(1, text, mask=key)))
    assert events == [
        ("message", one, True),
        ("message", two, True),
        ("message", text, False),
    ]
    # What was delivered is its own memory: still intact after the reuse.
    assert type(events[0][1]) is bytes and type(events[1][1]) is bytes


def test_a_buffer_a_memoryview_still_sees_is_never_reused(no_spare: None) -> None:
    key = b"\x01\x02\x03\x04"
    one, two = os.urandom(BIG), os.urandom(BIG)
    events: list[Any] = []
    r1, r2 = make(events), make(events)
    leaked: list[memoryview] = []
    objs1 = read_big(r1, b"".join(frame(2, one, mask=key)), keep=leaked)
    seen = bytes(leaked[0])
    objs2 = read_big(r2, b"".join(frame(2, two, mask=key)))
    assert not objs1 & objs2 - {id(receiver_module._shared_view().obj)}
    assert bytes(leaked[0]) == seen  # nobody wrote there
    assert receiver_module._shared.spare is not leaked[0].obj
    leaked[0].release()
    assert events == [("message", one, True), ("message", two, True)]


def test_the_spare_is_bounded(no_spare: None) -> None:
    # One spare per thread, the biggest seen up to _SPARE_MAX; a bigger
    # frame's buffer is freed.
    key = b"\x01\x02\x03\x04"
    events: list[Any] = []
    r = make(events, max_payload=0)
    read_big(r, b"".join(frame(2, b"x" * BIG, mask=key)))
    first = receiver_module._shared.spare
    assert first is not None and BIG < len(first) <= receiver_module._SPARE_MAX
    huge = receiver_module._SPARE_MAX + 1
    read_big(r, b"".join(frame(2, b"y" * huge, mask=key)))
    # the spare served the first part of the huge frame, which then grew
    # past the bound: neither buffer is kept
    assert receiver_module._shared.spare is None
    assert [len(e[1]) for e in events] == [BIG, huge]
