"""A subset of the conformance table over loopback TCP, through the facade.

The same :mod:`conformance.cases` run against a real pyws ``WebSocketServer``
(the raw peer is the client) and a real pyws ``WebSocket`` (the raw peer is
the server): every case outside the long UTF-8 lists, plus a sample of those.
Besides the case's events and reply frames, each run checks on the wire:

- 7.1.1: after failing or echoing a close, a pyws server half-closes; a pyws
  client does not, and closes only after the raw server's FIN;
- 7.1.5: ``'close'`` reports the case's code once the TCP connection is
  gone; ``'error'`` comes before ``'close'``, only for failures;
- connections that stay OPEN end with the peer's FIN: pyws sends no close
  frame, and reports 1006.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from helpers.rawpeer import RawPeer, RawServer, scaled

import pyws

from .cases import CASES, PING, TEXT, Case, F, wire

TRAILER = (F(TEXT, b"after"), F(PING, b"late"))


def subset() -> list[Case]:
    out = [c for c in CASES if c.section not in ("8.1", "5.6")]
    utf8 = [c for c in CASES if c.section == "8.1"]
    out += utf8[::12]  # a sample of valid, invalid, split and boundary cases
    return out


class Events:
    """pyws events (minus 'open'), normalized like the core test's."""

    def __init__(self, ws: Any) -> None:
        loop = asyncio.get_running_loop()
        self.items: list[tuple[Any, ...]] = []
        self.closed: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        self.changed = asyncio.Event()
        ws.on("message", lambda d, b: self._add(("message", bytes(d), b)))
        ws.on("ping", lambda d: self._add(("ping", bytes(d))))
        ws.on("pong", lambda d: self._add(("pong", bytes(d))))
        ws.on("error", lambda e: self._add(("error", e.code, e.statusCode)))
        ws.on("close", self._on_close)

    def _add(self, item: tuple[Any, ...]) -> None:
        self.items.append(item)
        self.changed.set()

    def _on_close(self, code: int, reason: bytes) -> None:
        self._add(("close", code, bytes(reason)))
        if not self.closed.done():
            self.closed.set_result((code, bytes(reason)))

    async def wait_count(self, n: int, timeout: float = 10.0) -> None:
        async def until() -> None:
            while len(self.items) < n:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), scaled(timeout))


def expected_events(case: Case) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for ev in case.events:
        if ev[0] == "error":
            status = next(p for op, p in case.sent if op == 8)
            out.append(("error", ev[1], int.from_bytes(status[:2], "big")))
        elif ev[0] != "close_frame":
            out.append(ev)
    return out


def facade_options(case: Case) -> dict[str, Any]:
    names = {
        "max_payload": "maxPayload",
        "max_fragments": "maxFragments",
        "auto_pong": "autoPong",
        "skip_utf8_validation": "skipUTF8Validation",
    }
    return {names[k]: v for k, v in case.options.items()}


def settle(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


@asynccontextmanager
async def server_side(case: Case) -> AsyncIterator[tuple[RawPeer, Any]]:
    """pyws server, raw client."""
    loop = asyncio.get_running_loop()
    wss = pyws.WebSocketServer(
        {"port": 0, "host": "127.0.0.1", "closeTimeout": 3000, **facade_options(case)}
    )
    conns: asyncio.Future[Any] = loop.create_future()
    wss.on("connection", lambda ws, req: settle(conns, ws))
    await pyws.once(wss, "listening", timeout=scaled(10))
    address = wss.address()
    assert address is not None
    peer = await RawPeer.connect("127.0.0.1", address["port"])
    ws = await asyncio.wait_for(conns, scaled(10))
    try:
        yield peer, ws
    finally:
        peer.close()
        if ws.readyState != pyws.CLOSED:
            ws.terminate()
        done: asyncio.Future[None] = loop.create_future()
        wss.close(lambda *_: settle(done, None))
        await asyncio.wait_for(done, scaled(10))


@asynccontextmanager
async def client_side(case: Case) -> AsyncIterator[tuple[RawPeer, Any]]:
    """pyws client, raw server."""
    async with await RawServer.start() as server:
        ws = pyws.WebSocket(
            f"ws://127.0.0.1:{server.port}/",
            {"closeTimeout": 3000, "perMessageDeflate": False, **facade_options(case)},
        )
        peer = await server.accept()
        await pyws.once(ws, "open", timeout=scaled(10))
        try:
            yield peer, ws
        finally:
            if ws.readyState != pyws.CLOSED:
                ws.terminate()


def params() -> list[Any]:
    return [
        pytest.param(case, role, id=f"{case.id} [{'server' if role else 'client'}]")
        for case in subset()
        for role in case.roles
    ]


@pytest.mark.parametrize(("case", "is_server"), params())
def test_case_over_tcp(case: Case, is_server: bool) -> None:
    async def main() -> None:
        side = server_side if is_server else client_side
        async with side(case) as (peer, ws):
            events = Events(ws)
            data = wire(case.frames, is_server)
            terminal = case.failed or case.closed
            if terminal:
                data += wire(TRAILER, is_server)
            peer.send_raw(data)
            want = expected_events(case)
            if case.sent:
                # Every reply frame (pongs, the close frame) reaches the peer.
                await peer.wait_for(lambda: len(peer.frames) >= len(case.sent))
            await events.wait_count(len(want))
            assert [(f.opcode, f.payload) for f in peer.frames] == list(case.sent)
            for f in peer.frames:
                assert f.masked is not is_server and f.fin and f.rsv == 0
            if terminal and is_server:
                await peer.wait_eof()  # 7.1.1: the server half-closes
            elif terminal:
                await peer.expect_no_eof(scaled(0.02))  # a client waits
                assert ws.readyState == pyws.CLOSING
            peer.write_eof()
            code, reason = await asyncio.wait_for(events.closed, scaled(10))
            await peer.wait_eof()  # the pyws side closed its socket too
            assert code == case.close_code
            assert events.items == [*want, ("close", code, reason)]
            assert len(peer.frames) == len(case.sent), "no frame after the FIN"
            assert ws.readyState == pyws.CLOSED

    asyncio.run(asyncio.wait_for(main(), scaled(30)))
