"""``wss.shutdown()`` on loopback TCP: codes, order, FIN, closeTimeout.

Raw clients (``test/helpers/rawpeer.py``) record every frame and the FIN, so
the tests assert what a client of a shutting-down server sees on the wire:
the messages queued before the shutdown, in order, then a close frame with
1001 (or the given code), then, once it answered, the server's FIN (RFC 6455
section 7.1.1: the server closes TCP first).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from conftest import HOST, MS, next_event, within
from helpers.rawpeer import RawPeer, close_payload

from pyws import RangeError, WebSocket, WebSocketServer


@asynccontextmanager
async def server(**options: Any) -> AsyncIterator[tuple[WebSocketServer, int]]:
    wss = WebSocketServer(port=0, host=HOST, **options)
    await within(next_event(wss, "listening"), "'listening'")
    address = wss.address()
    assert address is not None
    try:
        yield wss, address["port"]
    finally:
        for ws in list(wss.clients or ()):
            ws.terminate()
        if wss._state != 2:  # not CLOSED yet: a test failed half-way
            closed = next_event(wss, "close")
            wss.close()
            await within(closed, "the server's 'close'")


async def connect(
    wss: WebSocketServer, port: int, n: int
) -> list[tuple[WebSocket, RawPeer]]:
    out = []
    for _ in range(n):
        connection = next_event(wss, "connection")
        peer = await RawPeer.connect(HOST, port)
        ws, _req = await within(connection, "'connection'")
        out.append((ws, peer))
    return out


def test_clients_get_queued_messages_in_order_then_1001_then_fin(arun: Any) -> None:
    async def main() -> None:
        async with server() as (wss, port):
            pairs = await connect(wss, port, 3)
            big = 1024 * 1024
            for i, (ws, peer) in enumerate(pairs):
                peer.transport.pause_reading()  # until the shutdown started
                # Some of this waits in the transport's buffer at shutdown.
                for k in range(20):
                    ws.send(bytes([k]) * big if k % 5 == 0 else f"{i}:{k}")
            # The test means something only if data waits behind pyws.
            assert all(ws.bufferedAmount > 0 for ws, _ in pairs)
            closed = next_event(wss, "close")
            called: list[tuple[Any, ...]] = []
            done = wss.shutdown(lambda *args: called.append(args))
            assert isinstance(done, asyncio.Future) and not done.done()
            assert wss.shutdown() is done  # again: the same future
            for _ws, peer in pairs:
                peer.transport.resume_reading()
            # Stopped accepting at once.
            with pytest.raises(OSError):
                await RawPeer.connect(HOST, port, timeout=1)
            for i, (ws, peer) in enumerate(pairs):
                assert ws.readyState == WebSocket.CLOSING
                close = await peer.wait_frame(0x8, timeout=5)
                assert close.close_code == 1001 and close.close_reason == b""
                data = peer.data_frames()
                assert len(data) == 20
                for k, frame in enumerate(data):
                    want = bytes([k]) * big if k % 5 == 0 else f"{i}:{k}".encode()
                    assert frame.payload == want
                    assert frame.time <= close.time
                # No FIN before our answer: the handshake is not done.
                assert peer.eof_time is None
                # What we send before our close frame is still delivered.
                got = next_event(ws, "message")
                peer.send_text(f"late {i}")
                assert (await within(got, "'message'"))[0] == f"late {i}".encode()
                answered = asyncio.get_running_loop().time()
                peer.send_close(1001)
                fin = await peer.wait_eof(timeout=5)
                assert fin >= answered
                peer.close()  # our FIN: this TCP connection is done
            await within(closed, "the server's 'close'")
            assert done.done() and done.result() is None
            assert called == [()]
            assert wss.address() is None
            for ws, _peer in pairs:
                assert ws.readyState == WebSocket.CLOSED
                assert ws.was_clean is True

    arun(main())


def test_code_and_reason_are_sent(arun: Any) -> None:
    async def main() -> None:
        async with server() as (wss, port):
            [(ws, peer)] = await connect(wss, port, 1)
            done = wss.shutdown(4001, "deploy")
            frame = await peer.wait_frame(0x8, timeout=5)
            assert frame.payload == close_payload(4001, b"deploy")
            closed = next_event(ws, "close")
            peer.send_close(4001, b"deploy")
            await peer.wait_eof(timeout=5)
            peer.close()
            assert await within(closed, "'close'") == (4001, b"deploy")
            await within(done, "shutdown()")

    arun(main())


def test_silent_client_is_destroyed_after_close_timeout(arun: Any) -> None:
    async def main() -> None:
        close_timeout_ms = 200 * MS * 1000
        async with server(closeTimeout=close_timeout_ms) as (wss, port):
            [(ws, peer)] = await connect(wss, port, 1)
            loop = asyncio.get_running_loop()
            started = loop.time()
            done = wss.shutdown()
            await peer.wait_frame(0x8, timeout=5)
            # The close timer bounds the wait for an answer that never comes.
            conn = ws._conn
            assert conn is not None and conn._timer is not None
            armed = conn._timer.when() - started
            assert close_timeout_ms / 1000 <= armed <= close_timeout_ms / 1000 + 50 * MS
            await within(done, "shutdown()")
            assert ws.readyState == WebSocket.CLOSED
            assert ws.was_clean is False
            assert loop.time() - started >= close_timeout_ms / 1000 * 0.9
            peer.close()

    arun(main())


def test_without_clients_it_closes_at_once_and_after_close_it_resolves(
    arun: Any,
) -> None:
    async def main() -> None:
        async with server() as (wss, port):
            await within(wss.shutdown(), "shutdown()")
            assert wss.address() is None
            # Already closed: a new call resolves too, its callback runs.
            called: list[tuple[Any, ...]] = []
            await within(wss.shutdown(lambda *a: called.append(a)), "again")
            await asyncio.sleep(0)  # the callback is scheduled with call_soon
            assert called == [()]

    arun(main())


def test_shutdown_after_close_still_closes_the_clients(arun: Any) -> None:
    async def main() -> None:
        async with server() as (wss, port):
            [(ws, peer)] = await connect(wss, port, 1)
            wss.close()  # ws 8: the client stays open
            assert ws.readyState == WebSocket.OPEN
            done = wss.shutdown()
            frame = await peer.wait_frame(0x8, timeout=5)
            assert frame.close_code == 1001
            peer.send_close(1001)
            await peer.wait_eof(timeout=5)
            peer.close()
            await within(done, "shutdown()")

    arun(main())


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((999,), TypeError),
        ((1005,), TypeError),
        ((1000, 5), TypeError),
        ((1000, "x" * 124), RangeError),
    ],
)
def test_invalid_code_or_reason_raises_before_anything(
    arun: Any, args: tuple[Any, ...], error: type[Exception]
) -> None:
    async def main() -> None:
        async with server() as (wss, port):
            with pytest.raises(error):
                wss.shutdown(*args)
            assert wss.address() is not None  # still listening

    arun(main())
