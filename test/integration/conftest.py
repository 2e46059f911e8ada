"""Shared fixtures for the loopback integration tests.

- ``MS``: one millisecond in seconds, scaled by ``PYWS_TEST_TIMEOUT_FACTOR``
  (as websockets' tests scale ``MS``); ``TIMEOUT`` bounds every wait.
- ``arun``: runs a coroutine in a fresh event loop (``asyncio.run``, debug
  mode when ``PYTHONASYNCIODEBUG`` is set), bounded by ``TIMEOUT``, with a
  loop exception handler that records reports in ``arun.errors``. A test
  that expects reports (a raising listener) reads and clears that list; any
  report left over fails the test, so pyws cannot hide an error there.
- ``echo_server``: ``async with echo_server(**options) as (wss, url)`` runs
  a pyws ``WebSocketServer`` on 127.0.0.1, port 0, that echoes every
  message back with its type; on exit every client is terminated and the
  server closed.
- ``wait_event(emitter, name)``: a future for the arguments of the next
  ``name`` event.

Only 127.0.0.1 and port 0 are used. Nothing here sleeps to wait.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import pytest
from helpers.rawpeer import RawPeer

from pyws import WebSocketServer

T = TypeVar("T")

#: ``PYWS_TEST_TIMEOUT_FACTOR`` (CI may raise it on slow machines).
FACTOR = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1") or "1")

#: One millisecond, scaled: durations in tests are multiples of ``MS``.
MS = 0.001 * FACTOR

#: The bound of every wait on the network.
TIMEOUT = 5000 * MS

HOST = "127.0.0.1"


async def within(aw: Awaitable[T], what: str = "event", timeout: float = TIMEOUT) -> T:
    """Await ``aw`` for at most ``timeout`` seconds; fail naming ``what``."""
    try:
        return await asyncio.wait_for(aw, timeout)
    except asyncio.TimeoutError:
        pytest.fail(f"timed out after {timeout}s waiting for {what}")


def next_event(emitter: Any, name: str) -> asyncio.Future[tuple[Any, ...]]:
    """A future for the arguments of ``emitter``'s next ``name`` event."""
    fut: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def listener(*args: Any) -> None:
        if not fut.done():
            fut.set_result(args)

    emitter.once(name, listener)
    return fut


class AsyncRunner:
    """Run a coroutine to completion in a new loop; record loop errors.

    It also carries the helpers, so a test needs one fixture: ``arun.MS``,
    ``arun.TIMEOUT``, ``arun.within(aw, what)``, ``arun.event(em, name)``.
    """

    MS = MS
    TIMEOUT = TIMEOUT

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []
        self.within = within
        self.event = next_event

    def _handler(self, loop: asyncio.AbstractEventLoop, ctx: dict[str, Any]) -> None:
        self.errors.append(ctx)

    def __call__(self, coro: Coroutine[Any, Any, T], timeout: float = TIMEOUT) -> T:
        async def main() -> T:
            asyncio.get_running_loop().set_exception_handler(self._handler)
            return await asyncio.wait_for(coro, timeout)

        return asyncio.run(main())

    def exceptions(self) -> list[BaseException]:
        """The exceptions reported so far (then forgotten)."""
        found = [c["exception"] for c in self.errors if "exception" in c]
        self.errors.clear()
        return found


@pytest.fixture
def arun() -> Any:
    """An :class:`AsyncRunner`; fails the test if a report was left unread."""
    runner = AsyncRunner()
    yield runner
    if runner.errors:
        pytest.fail(f"unexpected loop exception reports: {runner.errors!r}")


@pytest.fixture
def wait_event() -> Callable[[Any, str], asyncio.Future[tuple[Any, ...]]]:
    """:func:`next_event` as a fixture."""
    return next_event


@asynccontextmanager
async def echo_server_cm(
    **options: Any,
) -> AsyncIterator[tuple[WebSocketServer, str]]:
    """A pyws echo server on 127.0.0.1, port 0; yields it and its URL."""
    options.setdefault("host", HOST)
    wss = WebSocketServer(port=0, **options)
    listening = next_event(wss, "listening")

    def on_connection(ws: Any, req: Any) -> None:
        def echo(data: Any, is_binary: bool) -> None:
            if ws.readyState == ws.OPEN:
                ws.send(data, {"binary": is_binary})

        ws.on("message", echo)

    wss.on("connection", on_connection)
    await within(listening, "'listening'")
    address = wss.address()
    assert address is not None
    try:
        yield wss, f"ws://{HOST}:{address['port']}"
    finally:
        closed = next_event(wss, "close")
        for ws in list(wss.clients or ()):
            ws.terminate()
        wss.close()
        await within(closed, "the server's 'close'")


@pytest.fixture
def echo_server() -> Callable[..., AbstractAsyncContextManager[Any]]:
    """``async with echo_server(**options) as (wss, url)``."""
    return echo_server_cm


async def start_server(arun: Any, **options: Any) -> tuple[WebSocketServer, int]:
    """A pyws server on 127.0.0.1, port 0, once it listens: (server, port)."""
    wss = WebSocketServer(port=0, host=HOST, **options)
    await arun.within(arun.event(wss, "listening"), "'listening'")
    address = wss.address()
    assert address is not None
    return wss, int(address["port"])


async def stop_server(arun: Any, wss: WebSocketServer) -> None:
    """Terminate every client, close ``wss`` and wait for its ``'close'``."""
    closed = arun.event(wss, "close")
    for ws in list(wss.clients or ()):
        ws.terminate()
    wss.close()
    await arun.within(closed, "the server's 'close'")


@asynccontextmanager
async def served_raw_peer(
    **options: Any,
) -> AsyncIterator[tuple[Any, RawPeer]]:
    """A pyws server with ``options`` and one raw client connected to it:
    yields (the server-side WebSocket, the raw peer); closes both on exit."""
    wss = WebSocketServer(port=0, host=HOST, **options)
    await within(next_event(wss, "listening"), "'listening'")
    address = wss.address()
    assert address is not None
    connection = next_event(wss, "connection")
    peer = await RawPeer.connect(HOST, address["port"])
    ws, _req = await within(connection, "'connection'")
    try:
        yield ws, peer
    finally:
        closed = next_event(wss, "close")
        for client in list(wss.clients or ()):
            client.terminate()
        wss.close()
        peer.close()
        await within(closed, "the server's 'close'")
