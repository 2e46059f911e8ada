"""The pyws side of an interop test: event recording and connected pairs.

It owns :class:`Recorder` (records a pyws emitter's events with loop
timestamps and awaits them under timeouts) and :func:`pair`, which connects
one pyws endpoint to one Node ws endpoint in either direction:

- ``"py-client"``: a pyws ``WebSocket`` connects to a Node ``WebSocketServer``;
- ``"py-server"``: a Node ``WebSocket`` connects to a pyws ``WebSocketServer``.

Imports pyws and :mod:`interop.node_peer`; never the pyws internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pyws

from .node_peer import NodePeer, T

__all__ = ["Recorder", "Pair", "pair", "DIRECTIONS"]

DIRECTIONS = ("py-client", "py-server")

WS_EVENTS = ("open", "message", "ping", "pong", "close", "error", "upgrade")


class Recorder:
    """Records the events of a pyws emitter: ``(name, args, loop time)``."""

    def __init__(self, emitter: Any, events: tuple[str, ...] = WS_EVENTS) -> None:
        self.emitter = emitter
        self.events: list[tuple[str, tuple[Any, ...], float]] = []
        self._used: set[int] = set()
        self._loop = asyncio.get_running_loop()
        self._changed: asyncio.Future[None] = self._loop.create_future()
        for name in events:
            emitter.on(name, self._listener(name))

    def _listener(self, name: str) -> Any:
        def listener(*args: Any) -> None:
            self.events.append((name, args, self._loop.time()))
            if not self._changed.done():
                self._changed.set_result(None)
            self._changed = self._loop.create_future()

        return listener

    async def expect(self, name: str, timeout: float = 10.0) -> tuple[Any, ...]:
        """Return (and consume) the args of the next ``name`` event."""
        deadline = self._loop.time() + timeout * T
        while True:
            for i, (ev, args, _) in enumerate(self.events):
                if i not in self._used and ev == name:
                    self._used.add(i)
                    return args
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                raise TimeoutError(f"pyws: no {name!r}; got {self.names()}")
            try:
                await asyncio.wait_for(asyncio.shield(self._changed), remaining)
            except asyncio.TimeoutError:
                pass

    def names(self) -> list[str]:
        """Event names in order, for assertions and failure messages."""
        return [ev for ev, _, _ in self.events]

    def all(self, name: str) -> list[tuple[Any, ...]]:
        """Args of every ``name`` event so far."""
        return [args for ev, args, _ in self.events if ev == name]


@dataclass
class Pair:
    """A connected pyws endpoint and Node endpoint."""

    direction: str
    node: NodePeer
    ws: Any = None
    py: Recorder | None = None
    server: Any = None
    #: py-server: pyws's request object; py-client: Node's 'connection' event.
    request: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def py_is_server(self) -> bool:
        return self.direction == "py-server"

    @property
    def rec(self) -> Recorder:
        assert self.py is not None
        return self.py


@asynccontextmanager
async def pair(
    direction: str,
    *,
    py_options: dict[str, Any] | None = None,
    node_options: dict[str, Any] | None = None,
    protocols: list[str] | None = None,
    node_protocol: Any = ...,
    path: str = "/",
    headers: dict[str, str] | None = None,
    open_timeout: float = 20.0,
) -> AsyncIterator[Pair]:
    """Connect pyws and Node ws; on exit tear both down (always).

    Args:
        direction: ``"py-client"`` or ``"py-server"``.
        py_options: options of the pyws ``WebSocket`` / ``WebSocketServer``.
        node_options: options of the Node ``WebSocketServer`` / ``WebSocket``.
        protocols: subprotocols the client offers.
        node_protocol: for a Node server, what its ``handleProtocols``
            returns (``None``: no protocol); ``...`` keeps ws's default.
        path: the request path (and query).
        headers: extra request headers the client sends.
        open_timeout: bound of the whole opening, in (scaled) seconds.
    """
    py_options = dict(py_options or {})
    node_options = dict(node_options or {})
    loop = asyncio.get_running_loop()
    if direction == "py-client":
        config: dict[str, Any] = {"options": node_options}
        if node_protocol is not ...:
            config["protocol"] = node_protocol
        node = await NodePeer.start("server", config)
        p = Pair(direction, node)
        try:
            if headers:
                py_options["headers"] = headers
            url = f"ws://127.0.0.1:{node.port}{path}"
            p.ws = pyws.WebSocket(url, protocols, py_options)
            p.py = Recorder(p.ws)
            await p.py.expect("open", open_timeout)
            p.request = await node.expect("connection", open_timeout)
            yield p
        finally:
            await _teardown(p, loop)
    else:
        server = pyws.WebSocketServer({"port": 0, "host": "127.0.0.1", **py_options})
        connections = Recorder(server, ("connection", "listening", "error", "close"))
        node = None
        try:
            await connections.expect("listening", open_timeout)
            address = server.address()
            assert address is not None
            port = address["port"]
            options = dict(node_options)
            if headers:
                options["headers"] = headers
            node = await NodePeer.start(
                "client",
                {
                    "url": f"ws://127.0.0.1:{port}{path}",
                    "protocols": protocols,
                    "options": options,
                },
            )
            p = Pair(direction, node, server=server)
            p.extra["server_events"] = connections
            await node.expect("open", open_timeout)
            ws, req = await connections.expect("connection", open_timeout)
            p.ws, p.request = ws, req
            p.py = Recorder(ws)
            yield p
        finally:
            if node is not None:
                await node.stop()
            for client in list(getattr(server, "clients", ()) or ()):
                client.terminate()
            done = loop.create_future()
            server.close(lambda *_: _settle(done))
            try:
                await asyncio.wait_for(done, 5 * T)
            except asyncio.TimeoutError:
                pass


def _settle(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def _teardown(p: Pair, loop: asyncio.AbstractEventLoop) -> None:
    ws = p.ws
    if ws is not None and ws.readyState != pyws.CLOSED:
        closed = loop.create_future()
        ws.once("close", lambda *_: _settle(closed))
        ws.terminate()
        try:
            await asyncio.wait_for(closed, 5 * T)
        except asyncio.TimeoutError:
            pass
    await p.node.stop()
