"""Send-side backpressure on loopback TCP: ``highWaterMark``, ``send()``'s
return value, ``'drain'``, ``await ws.drain()``, the stream's ``drain()``.

A raw peer stops reading (``pause_reading`` on its transport) so that the
kernel's buffers fill and pyws has to hold data; it resumes to let the data
drain. Every wait is for an event, bounded.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import HOST, next_event, within
from conftest import served_raw_peer as served
from helpers.rawpeer import RawServer

from pyws import NotOpenError, WebSocket, createWebSocketStream

MARK = 32 * 1024
CHUNK = b"x" * 16 * 1024


def fill(ws: WebSocket, limit: int = 64 * 1024 * 1024) -> list[tuple[bool, int]]:
    """Send CHUNKs until send() returns False; (returned, bufferedAmount
    before the send) for each."""
    out = []
    sent = 0
    while sent < limit:
        before = ws.bufferedAmount
        ok = ws.send(CHUNK)
        out.append((ok, before))
        sent += len(CHUNK)
        if not ok:
            return out
    pytest.fail(f"send() never returned False after {sent} bytes")


def test_send_returns_false_at_the_mark_then_drain(arun: Any) -> None:
    async def main() -> None:
        async with served(highWaterMark=MARK) as (ws, peer):
            assert ws.highWaterMark == MARK
            peer.transport.pause_reading()
            results = fill(ws)
            # True while under the mark, False once it was reached.
            assert all(ok for ok, _ in results[:-1])
            assert all(before < MARK for _, before in results[:-1])
            assert ws.bufferedAmount >= MARK
            # Queued all the same; still False until 'drain'.
            assert ws.send(b"more") is False
            drained = next_event(ws, "drain")
            waiter = asyncio.ensure_future(ws.drain(5))
            await asyncio.sleep(0)  # let drain() start waiting
            assert not waiter.done()
            peer.transport.resume_reading()
            await within(drained, "'drain'")
            # 'drain' at a quarter of the mark.
            assert ws.bufferedAmount <= MARK // 4
            await within(waiter, "drain()")
            assert ws.send(b"again") is True
            total = sum(len(CHUNK) for _ in results) + len(b"more") + len(b"again")
            await peer.wait_for(
                lambda: sum(len(f.payload) for f in peer.data_frames()) == total,
                5,
                "every byte",
            )

    arun(main())


def test_drain_is_immediate_under_the_mark_and_fails_on_close(arun: Any) -> None:
    async def main() -> None:
        async with served(high_water_mark=MARK) as (ws, peer):
            assert ws.send(b"small") is True
            await within(ws.drain(), "drain() under the mark")
            peer.transport.pause_reading()
            fill(ws)
            waiter = asyncio.ensure_future(ws.drain())
            await asyncio.sleep(0)  # let drain() start waiting
            ws.terminate()
            with pytest.raises(NotOpenError):
                await within(waiter, "drain() failing")
            with pytest.raises(NotOpenError):
                await ws.drain()
            # Not OPEN: nothing is queued, False.
            assert ws.send(b"late") is False

    arun(main())


def test_send_callbacks_and_the_mark_together(arun: Any) -> None:
    """Pending send callbacks put the transport's limits at 0; the mark
    must still be found and 'drain' still come."""

    async def main() -> None:
        async with served(highWaterMark=MARK) as (ws, peer):
            peer.transport.pause_reading()
            done: list[Any] = []
            ws.send(CHUNK, done.append)
            results = fill(ws)
            assert not results[-1][0]
            assert ws.bufferedAmount >= MARK
            drained = next_event(ws, "drain")
            peer.transport.resume_reading()
            await within(drained, "'drain'")
            assert done == [None]

    arun(main())


def test_client_role(arun: Any) -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = WebSocket(f"ws://{HOST}:{raw.port}/", highWaterMark=MARK)
            peer = await raw.accept()
            await ws.wait_open(5)
            peer.transport.pause_reading()
            fill(ws)
            drained = next_event(ws, "drain")
            peer.transport.resume_reading()
            await within(drained, "'drain'")
            assert ws.send(b"x") is True
            ws.terminate()

    arun(main())


def test_default_mark_is_64_kib_like_asyncio(arun: Any) -> None:
    async def main() -> None:
        async with served() as (ws, peer):
            assert ws.highWaterMark == ws.high_water_mark == 64 * 1024
            peer.transport.pause_reading()
            results = fill(ws)
            assert results[-2][1] < 64 * 1024 <= ws.bufferedAmount
            # The transport's limits are asyncio's defaults (pausing at the
            # mark rather than one byte above it): nothing changes for code
            # that ignores send()'s value.
            conn = ws._conn
            assert conn is not None
            assert conn.transport.get_write_buffer_limits() == (16384, 65535)

    arun(main())


def test_stream_drain_honours_the_mark(arun: Any) -> None:
    async def main() -> None:
        async with served(highWaterMark=MARK) as (ws, peer):
            stream = createWebSocketStream(ws)
            await within(stream.drain(), "drain() with nothing queued")
            peer.transport.pause_reading()
            while ws.bufferedAmount < MARK:
                stream.write(CHUNK)
            waiter = asyncio.ensure_future(stream.drain())
            await asyncio.sleep(0)  # let drain() start waiting
            assert not waiter.done()
            peer.transport.resume_reading()
            await within(waiter, "the stream's drain()")
            assert ws.bufferedAmount <= MARK // 4

    arun(main())


def test_mark_then_hard_limit_on_the_same_accounting(arun: Any) -> None:
    """highWaterMark says False first; maxBufferedAmount (opt-in) fails the
    connection once a sender ignores that."""

    async def main() -> None:
        limit = 8 * MARK
        async with served(highWaterMark=MARK, maxBufferedAmount=limit) as (
            ws,
            peer,
        ):
            peer.transport.pause_reading()
            errors: list[Any] = []
            ws.on("error", errors.append)
            closed = next_event(ws, "close")
            results = fill(ws)
            assert results[-1][1] < limit  # False came before the limit
            assert not errors
            while not errors and ws.readyState == WebSocket.OPEN:
                ws.send(CHUNK)
            assert [e.code for e in errors] == ["WS_ERR_BUFFERED_AMOUNT_EXCEEDED"]
            assert (await within(closed, "'close'"))[0] == 1006

    arun(main())
