"""``pyws.redis.RedisFanout`` against a real ``redis-server``.

The tests start ``redis-server`` themselves on 127.0.0.1 and a free port
(Debian package ``redis-server``; ``.ci/run`` installs it) and stop and
start it to check what happens when Redis goes away and comes back. Fanout
A reaches Redis through a small TCP relay the test can block, so that the
order of reconnections is the test's to choose. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from conftest import HOST, TIMEOUT, next_event, within
from helpers.rawpeer import RawPeer

from pyws import WebSocketServer

redis_mod = pytest.importorskip("redis", reason="redis-py is not installed")
if shutil.which("redis-server") is None:
    pytest.skip(
        "redis-server is not installed (apt-get install redis-server)",
        allow_module_level=True,
    )

from pyws.redis import FanoutDisconnected, FanoutOverflow, RedisFanout  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: asyncio.subprocess.Process | None = None
        self.url = f"redis://{HOST}:{port}/0"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port", str(self.port),
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stdout is not None

        async def ready() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    raise AssertionError("redis-server exited")
                if b"Ready to accept connections" in line:
                    return

        await within(ready(), "redis-server to start")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await within(self.proc.wait(), "redis-server to stop")


class Relay:
    """A TCP relay to Redis that can refuse new connections (blocked)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.blocked = False
        self.server: asyncio.Server | None = None
        self.port = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if self.blocked:
            w.close()
            return
        try:
            ur, uw = await asyncio.open_connection(HOST, self.target)
        except OSError:
            w.close()
            return

        async def pipe(a: asyncio.StreamReader, b: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await a.read(65536):
                    b.write(data)
                    await b.drain()
            b.close()

        for coro in (pipe(r, uw), pipe(ur, w)):
            task = asyncio.ensure_future(coro)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.tasks):
            task.cancel()


@asynccontextmanager
async def ws_server() -> AsyncIterator[tuple[WebSocketServer, int]]:
    wss = WebSocketServer(port=0, host=HOST)
    await within(next_event(wss, "listening"), "'listening'")
    address = wss.address()
    assert address is not None
    try:
        yield wss, int(address["port"])
    finally:
        closed = next_event(wss, "close")
        for ws in list(wss.clients or ()):
            ws.terminate()
        wss.close()
        await within(closed, "'close'")


async def texts(peer: RawPeer, n: int) -> list[bytes]:
    await peer.wait_for(lambda: len(peer.data_frames()) >= n, what=f"{n} frames")
    return [f.payload for f in peer.data_frames()]


def test_two_servers_one_channel_and_an_outage(arun: Any) -> None:
    async def main() -> None:
        redis = RedisServer(free_port())
        await redis.start()
        relay = Relay(redis.port)
        await relay.start()
        peers: list[RawPeer] = []
        try:
            async with ws_server() as (wss_a, port_a), ws_server() as (wss_b, port_b):
                fast = {"reconnectDelay": 20, "reconnectDelayMax": 40}
                a = RedisFanout(
                    wss_a, f"redis://{HOST}:{relay.port}/0", channel="room", **fast
                )
                b = RedisFanout(wss_b, redis.url, {"channel": "room", **fast})
                errors_a: list[BaseException] = []
                errors_b: list[BaseException] = []
                a.on("error", errors_a.append)
                b.on("error", errors_b.append)
                await within(next_event(a, "ready"), "A ready")
                if not b.connected:
                    await within(next_event(b, "ready"), "B ready")
                peer_a = await RawPeer.connect(HOST, port_a)
                peer_b = await RawPeer.connect(HOST, port_b)
                peers += [peer_a, peer_b]
                await within(
                    asyncio.ensure_future(
                        _until(lambda: len(wss_b.clients or ()) == 1)
                    ),
                    "B's client",
                )

                assert a.publish("one") == 1
                assert a.publish(b"\x00two") == 1
                assert await texts(peer_b, 2) == [b"one", b"\x00two"]
                assert [f.opcode for f in peer_b.data_frames()] == [1, 2]
                assert bytes(peer_a.raw) == bytes(peer_b.raw)  # the same frames
                b.publish("three")
                assert (await texts(peer_a, 3))[2] == b"three"

                # A foreign publisher: plain text on the channel.
                client = redis_mod.asyncio.Redis.from_url(redis.url)
                await client.publish("room", "from redis-cli")
                await client.publish("room", b"\xff\xfe")
                await client.aclose()
                assert (await texts(peer_a, 5))[3:] == [b"from redis-cli", b"\xff\xfe"]
                assert peer_a.data_frames()[4].opcode == 2

                # Redis goes away: both report it once; A keeps serving its
                # own clients and queues for Redis.
                relay.blocked = True
                lost_a = next_event(a, "error")
                lost_b = next_event(b, "error")
                await redis.stop()
                (err_a,) = await within(lost_a, "A's error")
                (err_b,) = await within(lost_b, "B's error")
                assert isinstance(err_a, FanoutDisconnected)
                assert isinstance(err_b, FanoutDisconnected)
                for i in range(3):
                    assert a.publish(f"queued {i}") == 1
                assert (await texts(peer_a, 8))[5:] == [
                    b"queued 0",
                    b"queued 1",
                    b"queued 2",
                ]
                assert a.pending == 3 and not a.connected

                # Back: B first (it is subscribed), then A flushes in order.
                await redis.start()
                await within(next_event(b, "ready"), "B ready again")
                relay.blocked = False
                await within(next_event(a, "ready"), "A ready again")
                got = await texts(peer_b, 8)  # 3 + 2 foreign + 3 queued
                assert got[5:] == [b"queued 0", b"queued 1", b"queued 2"]
                assert a.pending == 0 and a.dropped == 0
                assert errors_a == [err_a] and errors_b == [err_b]
                await a.close()
                await b.close()
        finally:
            for peer in peers:
                peer.transport.abort()
            await relay.close()
            await redis.stop()

    arun(main(), timeout=6 * TIMEOUT)


async def _until(predicate: Any) -> None:
    while not predicate():
        await asyncio.sleep(0.001)  # polling a counter with no event to await


def test_queue_is_bounded_and_reported(arun: Any) -> None:
    async def main() -> None:
        port = free_port()  # nothing listens there: Redis is unreachable
        async with ws_server() as (wss, _):
            fanout = RedisFanout(
                wss,
                f"redis://{HOST}:{port}/0",
                maxPending=3,
                reconnect_delay=1000,
                reconnectDelayMax=1000,
            )
            errors: list[BaseException] = []
            fanout.on("error", errors.append)
            for i in range(6):
                fanout.publish(f"m{i}")
            overflow = [e for e in errors if isinstance(e, FanoutOverflow)]
            assert len(overflow) == 1  # once per outage, not per message
            assert fanout.pending == 3 and fanout.dropped == 3
            closed = next_event(fanout, "close")
            await fanout.close()
            await within(closed, "'close'")
            last = errors[-1]
            assert isinstance(last, FanoutOverflow) and "3 messages" in str(last)
            assert fanout.dropped == 6
            with pytest.raises(RuntimeError, match="closed"):
                fanout.publish("late")

    arun(main())


def test_options_are_checked(arun: Any) -> None:
    async def main() -> None:
        wss = WebSocketServer(noServer=True)
        with pytest.raises(TypeError, match="unknown option 'bogus'"):
            RedisFanout(wss, bogus=1)
        with pytest.raises(TypeError, match="unknown option 'maxpending'"):
            RedisFanout(wss, "redis://x", {"maxpending": 1})
        doubled = r"'maxPending' given twice \(as 'maxPending' and 'max_pending'\)"
        with pytest.raises(TypeError, match=doubled):
            RedisFanout(wss, "redis://x", {"maxPending": 1}, max_pending=2)
        with pytest.raises(TypeError, match=doubled):
            RedisFanout(wss, "redis://x", {"maxPending": 1, "max_pending": 2})
        with pytest.raises(TypeError, match="url must be a str"):
            RedisFanout(wss, {"maxPending": 1})  # type: ignore[arg-type]
        wrong_type: list[dict[str, Any]] = [
            {"maxPending": "10"},
            {"max_pending": True},
            {"maxPendingBytes": 1.5},
            {"reconnect_delay": "100"},
            {"connectTimeout": None},
            {"channel": b"room"},
            {"filter": 1},
        ]
        for bad in wrong_type:
            (name,) = bad
            with pytest.raises(TypeError, match=f"option '{name}' must (not )?be"):
                RedisFanout(wss, "redis://x", bad)
        out_of_range: list[dict[str, Any]] = [
            {"maxPendingBytes": 0},
            {"max_pending": -1},
            {"reconnectDelay": 0},
            {"reconnect_delay_max": -1},
            {"connect_timeout": 0},
        ]
        for bad in out_of_range:
            (name,) = bad
            with pytest.raises(
                ValueError, match=f"option '{name}' must be > 0"
            ) as info:
                RedisFanout(wss, "redis://x", bad)
            assert not isinstance(info.value, TypeError)
        with pytest.raises(ValueError, match="reconnectDelayMax must be >="):
            RedisFanout(wss, "redis://x", reconnectDelay=200, reconnect_delay_max=100)

    arun(main())


def test_options_in_both_spellings(arun: Any) -> None:
    async def main() -> None:
        wss = WebSocketServer(noServer=True)
        url = f"redis://{HOST}:{free_port()}/0"  # unreachable: nothing connects

        def keep(ws: Any) -> bool:
            return True

        camel = RedisFanout(
            wss,
            url,
            {
                "channel": "c",
                "filter": keep,
                "maxPending": 5,
                "maxPendingBytes": 600,
                "reconnectDelay": 1000,
                "reconnectDelayMax": 2000.5,
            },
            connectTimeout=300,
        )
        snake = RedisFanout(
            wss,
            url,
            {"max_pending": 5, "max_pending_bytes": 600, "connect_timeout": 300},
            channel="c",
            filter=keep,
            reconnect_delay=1000,
            reconnect_delay_max=2000.5,
        )
        defaults = RedisFanout(wss, url, reconnectDelay=1000, reconnectDelayMax=1000)
        fanouts = (camel, snake, defaults)
        for fanout in fanouts:
            fanout.on("error", lambda err: None)  # Redis is unreachable
        try:
            expected = {
                "channel": "c",
                "filter": keep,
                "maxPending": 5,
                "maxPendingBytes": 600,
                "reconnectDelay": 1000,
                "reconnectDelayMax": 2000.5,
                "connectTimeout": 300,
            }
            assert camel.options == snake.options == expected
            assert camel.channel == "c"
            assert defaults.options == {
                "channel": "pyws",
                "filter": None,
                "maxPending": 10000,
                "maxPendingBytes": 16 * 1024 * 1024,
                "reconnectDelay": 1000,
                "reconnectDelayMax": 1000,
                "connectTimeout": 2000,
            }
        finally:
            for fanout in fanouts:
                await fanout.close()

    arun(main())


def test_publish_options(arun: Any) -> None:
    async def main() -> None:
        port = free_port()  # Redis is unreachable: publish() delivers locally
        async with ws_server() as (wss, wss_port):
            fanout = RedisFanout(
                wss,
                f"redis://{HOST}:{port}/0",
                reconnectDelay=1000,
                reconnectDelayMax=1000,
            )
            fanout.on("error", lambda err: None)
            peer = await RawPeer.connect(HOST, wss_port)
            try:
                await within(
                    asyncio.ensure_future(_until(lambda: len(wss.clients or ()) == 1)),
                    "the client",
                )
                # A keyword never overrides the dict: given in both, it is an
                # error, and nothing is sent.
                with pytest.raises(TypeError, match="'binary' given twice"):
                    fanout.publish("a", {"binary": True}, binary=False)
                with pytest.raises(TypeError, match="unknown option 'compress'"):
                    fanout.publish("a", compress=True)  # type: ignore[call-arg]
                with pytest.raises(TypeError, match="options must be a dict"):
                    fanout.publish("a", [("binary", True)])  # type: ignore[arg-type]
                assert fanout.pending == 0
                assert fanout.publish("b", {"binary": True}) == 1
                assert fanout.publish(b"c", binary=False) == 1
                assert fanout.publish("d", {}) == 1
                assert fanout.publish(b"e") == 1
                assert await texts(peer, 4) == [b"b", b"c", b"d", b"e"]
                assert [f.opcode for f in peer.data_frames()] == [2, 1, 1, 2]
                assert fanout.pending == 4
            finally:
                peer.transport.abort()
                await fanout.close()

    arun(main())
