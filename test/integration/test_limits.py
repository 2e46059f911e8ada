"""pyws's opt-in limits over 127.0.0.1 (issue 9): ``maxBufferedAmount`` and
``incompleteMessageTimeout``. Both are off by default, as in ws.

- a peer that stops reading: past ``maxBufferedAmount`` the connection
  fails with ``WS_ERR_BUFFERED_AMOUNT_EXCEEDED`` (status 1008) and the
  socket is destroyed, freeing the queue; ``'close'`` reports 1006;
- a peer that sends half a frame (or the first fragment of a message) and
  goes silent: after ``incompleteMessageTimeout`` ms the connection fails
  with ``WS_ERR_INCOMPLETE_MESSAGE_TIMEOUT``: a close frame 1008, then the
  server's FIN; the armed timer is checked with ``TimerHandle.when()``;
- a slow peer that keeps completing frames is not failed;
- the options are checked (both spellings, ranges).

Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # test/helpers

from conftest import start_server as start  # noqa: E402
from conftest import stop_server as stop
from helpers.rawpeer import RawPeer, build_frame  # noqa: E402

from pyws import WebSocket, WebSocketServer  # noqa: E402

HOST = "127.0.0.1"


async def until(predicate: Any, what: str) -> None:
    """Let the loop run until the server side reached ``predicate()``: the
    raw peer cannot see it. Bounded by turns of the loop, not by time."""
    for _ in range(10000):
        if predicate():
            return
        await asyncio.sleep(0)  # one turn: the server reads and reacts
    pytest.fail(f"never saw {what}")


async def connected(arun: Any, wss: WebSocketServer, port: int) -> tuple[Any, RawPeer]:
    opened = arun.event(wss, "connection")
    peer = await RawPeer.connect(HOST, port)
    (ws, _) = await arun.within(opened, "'connection'")
    return ws, peer


# -- maxBufferedAmount -----------------------------------------------------------


def test_max_buffered_amount_fails_a_peer_that_does_not_read(arun: Any) -> None:
    limit = 1 << 20
    chunk = b"x" * 65536

    async def main() -> None:
        wss, port = await start(arun, maxBufferedAmount=limit)
        ws, peer = await connected(arun, wss, port)
        peer.transport.pause_reading()  # the peer stops reading
        errors: list[Any] = []
        ws.on("error", errors.append)
        closed = arun.event(ws, "close")
        highest = 0
        for _ in range(4096):  # at most 256 MiB: the kernel holds a few MiB
            ws.send(chunk)
            if errors:
                break
            highest = max(highest, ws.bufferedAmount)
        assert len(errors) == 1, "the limit never tripped"
        err = errors[0]
        assert err.code == "WS_ERR_BUFFERED_AMOUNT_EXCEEDED"
        assert err.statusCode == 1008
        assert f"(maxBufferedAmount {limit})" in str(err)
        # Bounded: at most one message past the limit was ever queued.
        assert highest <= limit
        code, _ = await arun.within(closed, "'close'")
        assert code == 1006
        assert ws.readyState == WebSocket.CLOSED
        peer.close()
        await stop(arun, wss)

    arun(main())


def test_max_buffered_amount_leaves_a_reading_peer_alone(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun, max_buffered_amount=65536)
        ws, peer = await connected(arun, wss, port)
        errors: list[Any] = []
        ws.on("error", errors.append)
        for _ in range(64):
            ws.send(b"y" * 8192)
        await peer.wait_for(lambda: len(peer.frames) >= 64, what="64 frames")
        assert errors == [] and ws.readyState == WebSocket.OPEN
        peer.close()
        await stop(arun, wss)

    arun(main())


# -- incompleteMessageTimeout -----------------------------------------------------


@pytest.mark.parametrize(
    "sent",
    [
        # Half a frame: the header and 3 of 10 payload bytes.
        build_frame(2, b"0123456789", mask=b"abcd")[:9],
        # A whole first fragment, then nothing.
        build_frame(1, b"part", fin=False, mask=b"abcd"),
    ],
    ids=["half-a-frame", "first-fragment"],
)
def test_incomplete_message_timeout(arun: Any, sent: bytes) -> None:
    timeout_ms = 100

    async def main() -> None:
        loop = asyncio.get_running_loop()
        wss, port = await start(arun, incompleteMessageTimeout=timeout_ms)
        ws, peer = await connected(arun, wss, port)
        errors: list[Any] = []
        ws.on("error", errors.append)
        closed = arun.event(ws, "close")
        before = loop.time()
        peer.send_raw(sent)
        await until(lambda: ws._conn._incomplete_timer is not None, "the timer")
        when = ws._conn._incomplete_timer.when()
        assert before + timeout_ms / 1000 <= when <= loop.time() + timeout_ms / 1000
        frame = await peer.wait_frame(8, timeout=2.0)
        assert frame.close_code == 1008
        assert [e.code for e in errors] == ["WS_ERR_INCOMPLETE_MESSAGE_TIMEOUT"]
        assert "stayed incomplete for more than 100 ms" in str(errors[0])
        # RFC 6455 7.1.7: the server half-closes after its close frame.
        await peer.wait_eof()
        peer.send_close(1008)
        peer.close()
        code, _ = await arun.within(closed)
        assert code == 1006  # failing: no close frame was received (docs/closing.md)
        await stop(arun, wss)

    arun(main())


def test_incomplete_message_timeout_spares_a_slow_peer_that_progresses(
    arun: Any,
) -> None:
    timeout_ms = 300

    async def main() -> None:
        wss, port = await start(arun, incomplete_message_timeout=timeout_ms)
        ws, peer = await connected(arun, wss, port)
        got: list[bytes] = []
        ws.on("message", lambda data, binary: got.append(bytes(data)))
        errors: list[Any] = []
        ws.on("error", errors.append)
        frames = [build_frame(2, bytes([i]) * 10, mask=b"abcd") for i in range(4)]
        # Each read completes the frame in progress and leaves the next one
        # half sent: no frame stays incomplete for 300 ms, though the input
        # is never without an incomplete frame for 4 x 180 ms.
        peer.send_raw(frames[0][:8])
        for i in range(3):
            await asyncio.sleep(0.18)  # the peer is slow (this is its pace)
            peer.send_raw(frames[i][8:] + frames[i + 1][:8])
        await asyncio.sleep(0.18)
        peer.send_raw(frames[3][8:])
        await until(lambda: len(got) == 4, "4 messages")
        assert errors == [] and ws.readyState == WebSocket.OPEN
        assert ws._conn._incomplete_timer is None  # nothing incomplete now
        peer.close()
        await stop(arun, wss)

    arun(main())


def test_incomplete_message_timer_is_cancelled(arun: Any) -> None:
    # Both ways the armed timer goes: the frame completes, the connection ends.
    async def main() -> None:
        wss, port = await start(arun, incompleteMessageTimeout=60_000)
        ws, peer = await connected(arun, wss, port)
        got = arun.event(ws, "message")
        frame = build_frame(2, b"0123456789", mask=b"abcd")
        peer.send_raw(frame[:9])
        await until(lambda: ws._conn._incomplete_timer is not None, "the timer")
        armed = ws._conn._incomplete_timer
        peer.send_raw(frame[9:])
        await arun.within(got)
        assert armed.cancelled() and ws._conn._incomplete_timer is None

        peer.send_raw(frame[:9])
        await until(lambda: ws._conn._incomplete_timer is not None, "the timer")
        armed = ws._conn._incomplete_timer
        conn = ws._conn
        closed = arun.event(ws, "close")
        ws.terminate()
        await arun.within(closed)
        assert armed.cancelled() and conn._incomplete_timer is None
        peer.close()
        await stop(arun, wss)

    arun(main())


def test_limits_are_off_by_default(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        ws, peer = await connected(arun, wss, port)
        peer.send_raw(build_frame(2, b"0123456789", mask=b"abcd")[:9])
        await peer.expect_no_eof(0.05)
        assert ws._conn._incomplete_timer is None
        assert ws._conn._max_buffered == 0
        peer.close()
        await stop(arun, wss)

    arun(main())


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"maxBufferedAmount": -1}, ValueError),
        ({"max_buffered_amount": 1.5}, TypeError),
        ({"incompleteMessageTimeout": -5}, ValueError),
        ({"incomplete_message_timeout": "1s"}, TypeError),
        ({"maxBufferedAmount": 1, "max_buffered_amount": 1}, TypeError),
    ],
)
def test_limit_options_are_checked(options: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        WebSocketServer(noServer=True, **options)
    with pytest.raises(error):
        WebSocket("ws://127.0.0.1:1/", **options)
