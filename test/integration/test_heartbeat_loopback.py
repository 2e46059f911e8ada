"""The heartbeat (``pingInterval`` / ``pingTimeout``) on loopback TCP.

A raw peer (``test/helpers/rawpeer.py``) plays the other side and decides
whether, when and how to answer pings, so the tests see what pyws puts on
the wire: the pings, no close frame, the reset. Deadlines are checked on the
armed timer (``TimerHandle.when()``); the waits are for events, bounded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from conftest import HOST, MS, next_event, within
from conftest import served_raw_peer as served
from helpers.rawpeer import RawPeer, RawServer

from pyws import WebSocket, WebSocketServer

# Durations in ms (options) and the same in seconds (loop time).
INTERVAL_MS = 150 * MS * 1000
TIMEOUT_MS = 100 * MS * 1000
INTERVAL = INTERVAL_MS / 1000
TIMEOUT = TIMEOUT_MS / 1000
SLACK = 100 * MS  # timer and scheduling noise


def answer_pings(peer: RawPeer, delay: float, count: int) -> asyncio.Future[None]:
    """Answer the next ``count`` pings ``delay`` seconds after each arrives."""
    loop = asyncio.get_running_loop()

    async def answer() -> None:
        for _ in range(count):
            ping = await peer.wait_frame(0x9, timeout=10)
            await asyncio.sleep(max(0.0, ping.time + delay - loop.time()))
            peer.send_pong(ping.payload)

    return asyncio.ensure_future(answer())


def test_off_by_default_costs_nothing_per_read(arun: Any) -> None:
    async def main() -> None:
        async with served() as (ws, peer):
            conn = ws._conn
            assert conn is not None
            assert conn.heartbeat is None and conn.heartbeat_timer is None
            # No per-read wrapper: the class's method reads.
            assert "buffer_updated" not in vars(conn)
            assert ws.latency is None

    arun(main())


def test_silent_peer_is_dropped_within_interval_plus_timeout(
    arun: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pyws")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with served(pingInterval=INTERVAL_MS, pingTimeout=TIMEOUT_MS) as (
            ws,
            peer,
        ):
            opened = loop.time()
            conn = ws._conn
            assert conn is not None and conn.heartbeat_timer is not None
            first = conn.heartbeat_timer
            # One interval after the open, the first ping is due.
            assert opened - SLACK <= first.when() - INTERVAL <= opened
            closed = next_event(ws, "close")
            ping = await peer.wait_frame(0x9, timeout=5)
            assert len(ping.payload) == 4 and ping.masked is False
            # Re-armed (one timer at a time) for the timeout after the ping.
            second = conn.heartbeat_timer
            assert second is not None and second is not first
            assert first.cancelled() or first.when() <= loop.time()
            assert second.when() - ping.time <= TIMEOUT
            code, reason = await within(closed, "'close'")
            assert (code, reason) == (1006, b"")
            assert loop.time() - opened <= INTERVAL + TIMEOUT + SLACK
            await peer.wait_eof(timeout=5)
            # Terminated: no close frame was tried.
            assert peer.close_frames() == []
            assert ws.readyState == WebSocket.CLOSED
            assert ws.was_clean is False

    arun(main())
    # Operators see why: one WARNING on the server's logger.
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "pyws.server" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert warnings[0].endswith(
        f"] no answer to a ping within pingTimeout ({TIMEOUT_MS} ms): terminated"
    )


def test_slow_but_alive_peer_is_kept_and_latency_measured(arun: Any) -> None:
    async def main() -> None:
        async with served(pingInterval=INTERVAL_MS, pingTimeout=TIMEOUT_MS) as (
            ws,
            peer,
        ):
            pongs: list[bytes] = []
            ws.on("pong", pongs.append)
            delay = TIMEOUT * 0.6
            await within(answer_pings(peer, delay, 3), "three pings answered")
            # The third answer must be read, and the next verdict given.
            await peer.wait_frame(0x9, timeout=5)
            assert ws.readyState == WebSocket.OPEN
            assert len(pongs) == 3
            latency = ws.latency
            assert latency is not None
            assert delay * 1000 * 0.9 <= latency <= (delay + SLACK) * 1000

    arun(main())


def test_any_frame_counts_as_a_sign_of_life(arun: Any) -> None:
    async def main() -> None:
        async with served(
            pingInterval=INTERVAL_MS, pingTimeout=TIMEOUT_MS, autoPong=True
        ) as (ws, peer):
            got: list[bytes] = []
            ws.on("message", lambda data, is_binary: got.append(data))
            loop = asyncio.get_running_loop()
            chatter: list[asyncio.TimerHandle] = []

            def chat() -> None:
                # Data, never a pong: ten times per timeout.
                peer.send_text("tick")
                chatter.append(loop.call_later(TIMEOUT / 10, chat))

            chat()
            try:
                for _ in range(3):
                    await peer.wait_frame(0x9, timeout=5)
                # The third ping's verdict: wait for the fourth ping.
                await peer.wait_frame(0x9, timeout=5)
            finally:
                chatter[-1].cancel()
            assert ws.readyState == WebSocket.OPEN
            assert got and ws.latency is None  # no pong ever came

    arun(main())


def test_paused_connection_with_answers_waiting_is_kept(arun: Any) -> None:
    async def main() -> None:
        async with served(pingInterval=INTERVAL_MS, pingTimeout=TIMEOUT_MS) as (
            ws,
            peer,
        ):
            pongs: list[bytes] = []
            ws.on("pong", pongs.append)
            ws.pause()
            await within(answer_pings(peer, 0.0, 3), "three pings answered")
            await peer.wait_frame(0x9, timeout=5)
            # The answers sit unread in the kernel; still alive.
            assert ws.readyState == WebSocket.OPEN
            assert pongs == []
            got_pong = next_event(ws, "pong")
            ws.resume()
            await within(got_pong, "the pongs, once resumed")
            assert len(pongs) >= 3

    arun(main())


def test_listener_hogging_the_loop_does_not_get_the_peer_killed(arun: Any) -> None:
    async def main() -> None:
        async with served(pingInterval=INTERVAL_MS, pingTimeout=TIMEOUT_MS) as (
            ws,
            peer,
        ):
            hogged = asyncio.get_running_loop().create_future()

            def hog(data: Any, is_binary: bool) -> None:
                # Blocks the loop past the heartbeat's deadline while the
                # peer's pong arrives (the scenario, not a wait).
                time.sleep(TIMEOUT + 2 * SLACK)
                hogged.set_result(None)

            ws.on("message", hog)
            ping = await peer.wait_frame(0x9, timeout=5)
            peer.send_text("hog")
            peer.send_pong(ping.payload)
            await within(hogged, "the hogging listener")
            await peer.wait_frame(0x9, timeout=5)
            assert ws.readyState == WebSocket.OPEN

    arun(main())


def test_client_drops_silent_server(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with await RawServer.start() as raw:
            ws = WebSocket(
                f"ws://{HOST}:{raw.port}/",
                ping_interval=INTERVAL_MS,
                ping_timeout=TIMEOUT_MS,
            )
            peer = await raw.accept()
            await ws.wait_open(5)
            opened = loop.time()
            closed = next_event(ws, "close")
            ping = await peer.wait_frame(0x9, timeout=5)
            assert ping.masked is True  # a client's ping is masked
            code, _ = await within(closed, "'close'")
            assert code == 1006
            assert loop.time() - opened <= INTERVAL + TIMEOUT + SLACK
            await peer.wait_eof(timeout=5)
            assert peer.close_frames() == []

    arun(main())


def test_server_passes_both_spellings_to_its_connections(arun: Any) -> None:
    async def main() -> None:
        async with served(ping_interval=60_000, ping_timeout=5_000) as (ws, peer):
            conn = ws._conn
            assert conn is not None and conn.heartbeat is not None
            assert conn.heartbeat.interval == 60.0
            assert conn.heartbeat.timeout == 5.0
        async with served(pingInterval=60_000) as (ws, peer):
            conn = ws._conn
            assert conn is not None and conn.heartbeat is not None
            # pingTimeout defaults to the interval.
            assert conn.heartbeat.timeout == 60.0

    arun(main())


def test_heartbeat_stops_when_closing(arun: Any) -> None:
    async def main() -> None:
        async with served(pingInterval=INTERVAL_MS, pingTimeout=TIMEOUT_MS) as (
            ws,
            peer,
        ):
            conn = ws._conn
            assert conn is not None
            ws.close(1000)
            await peer.wait_frame(0x8, timeout=5)
            # closeTimeout bounds the closing handshake from here on.
            assert conn.heartbeat_timer is None

    arun(main())


def test_heartbeat_keeps_a_live_peer_on_uvloop() -> None:
    """uvloop keeps the protocol's buffer_updated from set_protocol(): the
    heartbeat's 'heard' read hook must reach it, or every answered ping
    would still end in 1006 after pingTimeout."""
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed")

    async def main() -> None:
        wss = WebSocketServer(port=0, host=HOST)
        await within(next_event(wss, "listening"), "'listening'")
        address = wss.address()
        assert address is not None
        ws = WebSocket(
            f"ws://{HOST}:{address['port']}/", pingInterval=50, pingTimeout=50
        )
        closed: list[Any] = []
        ws.on("close", lambda *args: closed.append(args))
        pongs = 0
        enough = asyncio.get_running_loop().create_future()

        def on_pong() -> None:
            nonlocal pongs
            pongs += 1
            if pongs == 6 and not enough.done():
                enough.set_result(None)

        ws.on("pong", on_pong)
        await within(enough, "six answered pings")
        assert closed == [] and ws.readyState == ws.OPEN
        ws.terminate()
        await within(wss.shutdown(), "the server's shutdown")

    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(main())  # every wait in main() is bounded
    finally:
        loop.close()
