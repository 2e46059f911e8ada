"""The receiver's C fast path for whole, plain messages (``deliver_frames``).

The C function hands every plain message frame at the front of a buffer to
``on_message`` and stops, returning the offset, at the first frame the Python
parser must look at. These tests pin where it stops, that a listener can stop
it, and that a :class:`Receiver` reports the same events with and without it
on streams of every kind of frame, cut into reads at every size.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from helpers.rawpeer import build_frame

from pyws.errors import ProtocolError
from pyws.receiver import Receiver

speedups = pytest.importorskip(
    "pyws.speedups", reason="pyws.speedups was not built (no C compiler at install)"
)
deliver_frames = speedups.deliver_frames

KEY = b"\x11\x22\x33\x44"


def frame(opcode: int, payload: bytes, *, mask: bytes | None = KEY, **kw: Any) -> bytes:
    """One frame as a peer writes it (masked with ``KEY`` unless told
    otherwise); ``build_frame``'s other arguments pass through."""
    return build_frame(opcode, payload, mask=mask, **kw)


def server_receiver(on_message: Any, **options: Any) -> Receiver:
    """A server-role Receiver whose only interest is its messages."""
    return Receiver(
        is_server=True,
        on_message=on_message,
        on_ping=print,
        on_pong=print,
        on_close=print,
        on_error=print,
        **options,
    )


class Owner:
    """What ``deliver_frames`` reads from its receiver, and a record."""

    def __init__(self, *, stop_after: int = 0, hold_after: int = 0) -> None:
        self.done = False
        self._held = False
        self.binary_type = "nodebuffer"
        self.messages: list[tuple[bytes, bool]] = []
        self._stop_after = stop_after
        self._hold_after = hold_after

    def on_message(self, data: bytes, is_binary: bool) -> None:
        self.messages.append((data, is_binary))
        if len(self.messages) == self._stop_after:
            self.done = True
        if len(self.messages) == self._hold_after:
            self._held = True


def run(buf: Any, owner: Owner, *, server: bool = True, max_payload: int = 0) -> int:
    return deliver_frames(buf, 0, server, max_payload, True, owner.on_message, owner)


def test_plain_frames_are_delivered_and_the_offset_returned() -> None:
    stream = frame(2, b"abc") + frame(1, "héllo".encode()) + frame(2, b"")
    owner = Owner()
    assert run(stream, owner) == len(stream)
    assert owner.messages == [(b"abc", True), ("héllo".encode(), False), (b"", True)]


@pytest.mark.parametrize("size", [125, 126, 65535, 65536, 70000])
def test_every_length_form(size: int) -> None:
    payload = bytes(random.Random(size).randrange(256) for _ in range(size))
    for server, mask in ((True, KEY), (False, None)):
        stream = frame(2, payload, mask=mask)
        owner = Owner()
        assert run(memoryview(stream), owner, server=server) == len(stream)
        assert owner.messages == [(payload, True)]


@pytest.mark.parametrize(
    "other",
    [
        frame(9, b"ping"),  # control frame
        frame(8, b"\x03\xe8"),
        frame(1, b"part", fin=False),  # a fragment
        frame(0, b"cont"),  # a continuation
        frame(1, b"x", rsv1=True),  # compressed (or RSV1 unexpected)
        frame(2, b"x", rsv2=True),
        frame(2, b"x", rsv3=True),
        frame(3, b""),  # reserved opcode
        frame(2, b"x", mask=None),  # unmasked, to a server
        frame(1, b"\xff\xfe"),  # invalid UTF-8
        frame(1, b"ok \xed\xa0\x80"),  # a surrogate: not UTF-8
        frame(2, b"", length=1 << 53),  # over 2^53 - 1
    ],
)
def test_it_stops_at_the_first_frame_python_must_see(other: bytes) -> None:
    first = frame(2, b"first")
    stream = first + other + frame(2, b"never")
    owner = Owner()
    assert run(stream, owner) == len(first)
    assert owner.messages == [(b"first", True)]


@pytest.mark.parametrize(
    "part",
    [
        frame(2, b"abc")[:8],  # incomplete payload
        frame(2, b"abc")[:5],  # incomplete key
        frame(2, bytes(200))[:3],  # incomplete 16-bit length
        frame(2, bytes(70000))[:9],  # incomplete 64-bit length
        frame(2, bytes(70000))[:-1],
        b"\x82",  # incomplete first two bytes
    ],
)
def test_it_stops_at_an_incomplete_frame(part: bytes) -> None:
    first = frame(2, b"first")
    owner = Owner()
    assert run(first + part, owner) == len(first)
    assert owner.messages == [(b"first", True)]


def test_masked_frames_stop_a_client() -> None:
    first = frame(1, b"a", mask=None)
    stream = first + frame(1, b"b")
    owner = Owner()
    assert run(stream, owner, server=False) == len(first)
    assert owner.messages == [(b"a", False)]


def test_max_payload_stops_before_the_frame() -> None:
    first = frame(2, bytes(10))
    stream = first + frame(2, bytes(11))
    owner = Owner()
    assert run(stream, owner, max_payload=10) == len(first)
    assert len(owner.messages) == 1


def test_text_is_not_checked_when_validation_is_skipped() -> None:
    stream = frame(1, b"\xff")
    owner = Owner()
    assert deliver_frames(stream, 0, True, 0, False, owner.on_message, owner) == len(
        stream
    )
    assert owner.messages == [(b"\xff", False)]


def test_binary_waits_for_python_while_binary_type_is_fragments() -> None:
    stream = frame(1, b"text") + frame(2, b"bin")
    owner = Owner()
    owner.binary_type = "fragments"
    assert run(stream, owner) == len(frame(1, b"text"))
    assert owner.messages == [(b"text", False)]


@pytest.mark.parametrize("attr", ["stop_after", "hold_after"])
def test_a_listener_stops_it_after_its_message(attr: str) -> None:
    stream = frame(2, b"1") + frame(2, b"2") + frame(2, b"3")
    owner = Owner(**{attr: 2})
    assert run(stream, owner) == 2 * len(frame(2, b"1"))
    assert [m for m, _ in owner.messages] == [b"1", b"2"]


def test_an_exception_from_on_message_propagates() -> None:
    def boom(data: bytes, is_binary: bool) -> None:
        raise KeyError("listener")

    with pytest.raises(KeyError):
        deliver_frames(frame(2, b"x"), 0, True, 0, True, boom, Owner())


def test_bad_arguments() -> None:
    owner = Owner()
    with pytest.raises(TypeError):
        deliver_frames(b"", 0, True, 0, True, owner.on_message)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        deliver_frames(b"", 1, True, 0, True, owner.on_message, owner)
    with pytest.raises(TypeError):
        deliver_frames("text", 0, True, 0, True, owner.on_message, owner)  # type: ignore[arg-type]


# -- a Receiver with and without it ----------------------------------------------


def receive(
    chunks: list[bytes], *, speedups: bool, server: bool = True, **options: Any
) -> list[tuple[Any, ...]]:
    events: list[tuple[Any, ...]] = []

    def on_error(exc: ProtocolError) -> None:
        events.append(("error", exc.code, exc.status_code))

    r = Receiver(
        is_server=server,
        on_message=lambda d, b: events.append(("message", d, b)),
        on_ping=lambda d: events.append(("ping", d)),
        on_pong=lambda d: events.append(("pong", d)),
        on_close=lambda c, m: events.append(("close", c, m)),
        on_error=on_error,
        speedups=speedups,
        **options,
    )
    for chunk in chunks:
        view = r.get_buffer()
        n = min(len(view), len(chunk))
        view[:n] = chunk[:n]
        r.buffer_updated(n)
        if n < len(chunk):
            r.feed(chunk[n:])
    return events


def mixed_stream(
    seed: int, *, server: bool, tail: bytes = b"", big: bool = True
) -> bytes:
    sizes = [0, 1, 16, 125, 126, 1000] + ([70000] if big else [])
    rnd = random.Random(seed)
    mask = KEY if server else None
    out = []
    for _ in range(60):
        kind = rnd.randrange(7)
        size = rnd.choice(sizes)
        data = bytes(rnd.randrange(256) for _ in range(min(size, 300))) * (
            size // 300 + 1
        )
        data = data[:size]
        if kind == 0:
            out.append(frame(2, data, mask=mask))
        elif kind == 1:
            out.append(frame(1, "é€x".encode() * (size // 6), mask=mask))
        elif kind == 2:
            out.append(frame(9, data[:100], mask=mask))
        elif kind == 3:
            out.append(frame(1, b"abc", fin=False, mask=mask))
            out.append(frame(10, b"p", mask=mask))
            out.append(frame(0, "ü".encode(), mask=mask))
        elif kind == 4:
            out.append(frame(2, b"a", fin=False, mask=mask))
            out.append(frame(0, data, mask=mask))
        else:
            out.append(frame(2, data[:20], mask=mask))
    out.append(tail)
    return b"".join(out)


def tail_frames(kind: str, mask: bytes | None) -> bytes:
    if kind == "bad-utf8":
        return frame(1, b"\xc3\x28", mask=mask)
    if kind == "close":
        return frame(8, b"\x03\xe8bye", mask=mask) + frame(2, b"after", mask=mask)
    return b""


@pytest.mark.parametrize("server", [True, False])
@pytest.mark.parametrize("tail", ["clean", "bad-utf8", "close"])
@pytest.mark.parametrize("step", [0, 1, 7, 1000, 65536])
def test_same_events_with_and_without_it(server: bool, tail: str, step: int) -> None:
    mask = KEY if server else None
    stream = mixed_stream(
        step, server=server, tail=tail_frames(tail, mask), big=step > 1
    )
    chunks = (
        [stream]
        if step == 0
        else [stream[i : i + step] for i in range(0, len(stream), step)]
    )
    fast = receive(chunks, speedups=True, server=server)
    slow = receive(chunks, speedups=False, server=server)
    assert fast == slow
    assert sum(e[0] == "message" for e in fast) > 20
    if tail != "clean":
        assert fast[-1][0] in ("error", "close")


def test_limits_and_options_give_the_same_events() -> None:
    stream = b"".join([frame(2, bytes(10)), frame(1, b"\xff"), frame(2, bytes(2000))])
    for options in (
        {"max_payload": 1024},
        {"skip_utf8_validation": True},
        {"binary_type": "fragments"},
    ):
        assert receive([stream], speedups=True, **options) == receive(
            [stream], speedups=False, **options
        )


def test_binary_type_changed_by_a_listener_applies_to_the_next_message() -> None:
    got: list[Any] = []
    r: Receiver

    def on_message(data: Any, is_binary: bool) -> None:
        got.append(data)
        r.binary_type = "fragments"

    r = server_receiver(on_message)
    r.feed(frame(2, b"one") + frame(2, b"two"))
    assert got == [b"one", [b"two"]]


def test_a_listener_that_stops_the_receiver_ends_delivery() -> None:
    got: list[bytes] = []
    r: Receiver

    def on_message(data: bytes, is_binary: bool) -> None:
        got.append(data)
        r.stop()

    r = server_receiver(on_message)
    r.feed(frame(2, b"one") + frame(2, b"two"))
    assert got == [b"one"]


def test_a_held_receiver_resumes_where_it_stopped() -> None:
    got: list[bytes] = []
    r: Receiver

    def on_message(data: bytes, is_binary: bool) -> None:
        got.append(data)
        if data == b"one":
            r.hold()

    r = server_receiver(on_message)
    r.feed(frame(2, b"one") + frame(2, b"two") + frame(2, b"three"))
    assert got == [b"one"]
    r.resume()
    assert got == [b"one", b"two", b"three"]


def test_a_receiver_uses_it_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyws.receiver

    calls: list[int] = []

    def counting(*args: Any) -> int:
        calls.append(args[1])
        return int(deliver_frames(*args))

    monkeypatch.setattr(pyws.receiver, "deliver_frames", counting)
    stream = frame(2, b"a") + frame(9, b"") + frame(2, b"b")
    events = receive([stream], speedups=True)
    assert [e[0] for e in events] == ["message", "ping", "message"]
    assert calls == [0, len(frame(2, b"a") + frame(9, b""))]
    calls.clear()
    receive([stream], speedups=False)
    assert calls == []
    server_receiver(print, allow_synchronous_events=False).feed(stream)
    assert calls == []


@pytest.mark.parametrize("limit", [0, -1, 1 << 80, -(1 << 80)])
def test_no_limit_when_max_payload_is_not_positive_or_huge(limit: int) -> None:
    stream = frame(2, bytes(70000))
    owner = Owner()
    assert run(stream, owner, max_payload=limit) == len(stream)
    assert len(owner.messages) == 1
