"""Node ws 8.x clients against pyws on uvicorn.

ws's client offers ``permessage-deflate; client_max_window_bits`` by
default, as Chromium does, so every connection here negotiates
compression. One uvicorn server carries both an ASGI app (through
``pyws.asgi``) and a ws-style WebSocketServer on ``/chat``. Skipped, saying
how to fix it, without Node or ``npm ci --prefix test/interop``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from helpers.rawpeer import scaled
from interop.node_peer import NodePeer, digest, skip_reason

import pyws
from pyws import WebSocketServer

from .conftest import HOST, EchoApp, listening_socket

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))

T = 10.0


def run(coro: Any) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro, scaled(60))

    asyncio.run(main())


class Shared:
    """An ASGI echo app and a WebSocketServer on /chat on one uvicorn."""

    def __init__(self) -> None:
        self.app = EchoApp()
        self.sock = listening_socket()
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning")
        self.server = uvicorn.Server(config)
        self.wss = WebSocketServer(
            server=self.server, path="/chat", perMessageDeflate=True
        )
        self.wss.on("connection", self._on_connection)
        self.server_ws: list[pyws.WebSocket] = []
        self.task: asyncio.Future[None] | None = None

    def _on_connection(self, ws: pyws.WebSocket, req: Any) -> None:
        self.server_ws.append(ws)

        def on_message(data: bytes, is_binary: bool) -> None:
            if data == b"bye":
                ws.close(4000, "bye")
            else:
                ws.send(data, {"binary": is_binary})

        ws.on("message", on_message)

    async def __aenter__(self) -> Shared:
        self.task = asyncio.ensure_future(self.server.serve(sockets=[self.sock]))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await asyncio.wait_for(self.task, scaled(10))
        self.sock.close()


def test_node_client_through_the_asgi_app() -> None:
    async def main() -> None:
        async with Shared() as s:
            url = f"ws://{HOST}:{s.port}/app"
            async with await NodePeer.start("client", {"url": url}) as node:
                opened = await node.expect("open", T)
                assert opened["extensions"] == "permessage-deflate"
                node.send_repeat("pyws ", 20000)  # 100 KB of text, compressed
                message = await node.expect("message", T)
                assert not message["isBinary"] and message["len"] == 100000
                node.send_pattern(70000)
                message = await node.expect("message", T)
                assert message["isBinary"]
                assert message["sha256"] == digest(pattern_bytes(70000))
                node.close(1000, "done")
                closed = await node.expect("close", T)
                assert (closed["code"], closed["reason"]) == (1000, "done")
            assert s.app.done is not None
            messages = await asyncio.wait_for(s.app.done, scaled(T))
            assert messages[-1] == {
                "type": "websocket.disconnect",
                "code": 1000,
                "reason": "done",
            }

    run(main())


def test_node_client_sees_the_apps_close_code_and_the_servers_fin_first() -> None:
    async def main() -> None:
        async with Shared() as s:
            url = f"ws://{HOST}:{s.port}/app"
            async with await NodePeer.start("client", {"url": url}) as node:
                await node.expect("open", T)
                node.send("close-me")
                closed = await node.expect("close", T)
                assert (closed["code"], closed["reason"]) == (4001, "asked")
                # 7.1.1: the server's FIN came before ws's 'close'.
                end = await node.expect("socket_end", T)
                assert end["t"] <= closed["t"]

    run(main())


def test_node_client_on_the_websocket_server_path() -> None:
    async def main() -> None:
        async with Shared() as s:
            url = f"ws://{HOST}:{s.port}/chat"
            async with await NodePeer.start("client", {"url": url}) as node:
                opened = await node.expect("open", T)
                assert opened["extensions"] == "permessage-deflate"
                node.send_repeat("chat ", 1000)
                message = await node.expect("message", T)
                assert message["len"] == 5000 and not message["isBinary"]
                node.send("bye")
                closed = await node.expect("close", T)
                assert (closed["code"], closed["reason"]) == (4000, "bye")
            code, reason = await s.server_ws[0].wait_closed(scaled(T))
            assert (code, reason) == (4000, b"bye")
            assert s.app.log == []  # the app never saw /chat

    run(main())


def pattern_bytes(size: int) -> bytes:
    from interop.node_peer import pattern

    return pattern(size)
