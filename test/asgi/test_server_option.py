"""ws's ``server`` option on uvicorn: ``WebSocketServer({"server": server})``.

A FastAPI app with an HTTP route and a WebSocket route of its own shares one
uvicorn port with ws-style WebSocketServers (``path``), as ws shares an
``http.Server``: requests a WebSocketServer handles become pyws WebSockets
(verifyClient, handleProtocols, 'headers', 'connection' with a Node-style
request), every other upgrade goes to the app through ``pyws.asgi``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import uvicorn
from fastapi import FastAPI
from fastapi import WebSocket as FastAPIWebSocket
from helpers.rawpeer import RawPeer, build_frame, scaled

import pyws
from pyws import WebSocketServer
from pyws.asgi import WebSocketProtocol

from .conftest import HOST, listening_socket

T = 5.0


def run(coro: Any) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro, scaled(30))

    asyncio.run(main())


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    def index() -> dict[str, str]:
        return {"hello": "world"}

    @app.websocket("/asgi")
    async def asgi_ws(websocket: FastAPIWebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text(f"asgi:{text}")
        await websocket.close(code=1000)

    return app


class Setup:
    """One uvicorn server, a FastAPI app, WebSocketServers on /chat, /news."""

    def __init__(self) -> None:
        self.sock = listening_socket()
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(make_app(), lifespan="off", log_level="warning")
        self.server = uvicorn.Server(config)
        self.chat = WebSocketServer({"server": self.server, "path": "/chat"})
        self.news = WebSocketServer(
            server=self.server,
            path="/news",
            verify_client=lambda info: info["req"].headers.get("x-token") == "ok",
            handle_protocols=lambda protocols, req: (
                "v2" if "v2" in protocols else False
            ),
        )
        self.requests: list[Any] = []
        for wss, tag in ((self.chat, "chat"), (self.news, "news")):
            wss.on("connection", self._echo(tag))
        self.task: asyncio.Future[None] | None = None

    def _echo(self, tag: str) -> Any:
        def on_connection(ws: pyws.WebSocket, req: Any) -> None:
            self.requests.append(req)
            ws.on(
                "message",
                lambda data, is_binary: ws.send(
                    f"{tag}:".encode() + data, {"binary": is_binary}
                ),
            )

        return on_connection

    async def __aenter__(self) -> Setup:
        listening = [
            pyws.once(w, "listening", scaled(T)) for w in (self.chat, self.news)
        ]
        self.task = asyncio.ensure_future(self.server.serve(sockets=[self.sock]))
        await asyncio.gather(*listening)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await asyncio.wait_for(self.task, scaled(10))
        self.sock.close()


async def talk(url: str, text: str, **options: Any) -> tuple[pyws.WebSocket, str]:
    ws = pyws.WebSocket(url, **options)
    got: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    ws.on("message", lambda data, _: got.done() or got.set_result(bytes(data).decode()))
    await ws.wait_open(scaled(T))
    ws.send(text)
    return ws, await asyncio.wait_for(got, scaled(T))


def test_http_routes_asgi_websocket_and_websocket_servers_on_one_port() -> None:
    async def main() -> None:
        async with Setup() as s:
            assert s.chat.address() == {
                "address": HOST,
                "family": "IPv4",
                "port": s.port,
            }
            base = f"ws://{HOST}:{s.port}"
            async with httpx2.AsyncClient() as client:
                res = await client.get(f"http://{HOST}:{s.port}/")
            assert res.json() == {"hello": "world"}

            ws, reply = await talk(f"{base}/chat?room=1", "hi")
            assert reply == "chat:hi"
            req = s.requests[-1]
            assert req.url == "/chat?room=1"
            assert req.headers["host"] == f"{HOST}:{s.port}"
            assert req.socket.remoteAddress == HOST
            assert len(s.chat.clients or ()) == 1 and not s.news.clients
            ws.close(1000)
            assert await ws.wait_closed(scaled(T)) == (1000, b"")

            asgi, reply = await talk(f"{base}/asgi", "hi")
            assert reply == "asgi:hi"
            assert await asgi.wait_closed(scaled(T)) == (1000, b"")

    run(main())


def test_verify_client_handle_protocols_and_headers() -> None:
    async def main() -> None:
        async with Setup() as s:
            s.news.on("headers", lambda lines, req: lines.append("X-Seen: yes"))
            refused = await RawPeer.connect(
                HOST, s.port, path="/news", check_accept=False
            )
            assert refused.head is not None and refused.head.status == 401
            await refused.wait_eof(T)
            refused.close()

            peer = await RawPeer.connect(
                HOST,
                s.port,
                path="/news",
                protocols=["v1", "v2"],
                headers={"X-Token": "ok"},
            )
            assert peer.head is not None
            assert peer.head.get("Sec-WebSocket-Protocol") == "v2"
            assert peer.head.get("X-Seen") == "yes"
            peer.send_text("x")
            assert await peer.wait_message(T) == (1, b"news:x")
            peer.send_close(1000)
            await peer.wait_eof(T)
            peer.close()

    run(main())


def test_close_detaches_and_requests_go_to_the_app() -> None:
    async def main() -> None:
        async with Setup() as s:
            closed = pyws.once(s.chat, "close", scaled(T))
            s.chat.close()
            await closed
            assert s.chat.address() is None
            # /chat is now the app's: FastAPI has no such route and refuses.
            peer = await RawPeer.connect(HOST, s.port, path="/chat", check_accept=False)
            assert peer.head is not None and peer.head.status == 403
            await peer.wait_eof(T)
            peer.close()
            assert s.requests == []

    run(main())


def test_uvicorn_shutdown_closes_websocket_server_clients_with_1001() -> None:
    async def main() -> None:
        async with Setup() as s:
            peer = await RawPeer.connect(HOST, s.port, path="/chat")
            peer.send_text("x")
            await peer.wait_message(T)
            shutdown = asyncio.ensure_future(s.server.shutdown())
            frame = await peer.wait_frame(8, T)
            assert frame.close_code == 1001
            assert not shutdown.done()  # uvicorn waits for the connection
            peer.send_close(1001)
            await peer.wait_eof(T)
            peer.write_eof()
            await asyncio.wait_for(shutdown, scaled(T))
            assert not s.chat.clients
            peer.close()

    run(main())


def test_server_option_takes_only_a_uvicorn_server() -> None:
    app = FastAPI()
    server = uvicorn.Server(uvicorn.Config(app))
    wss = WebSocketServer(server=server)
    assert server.config.ws is WebSocketProtocol
    assert wss.address() is None  # not listening yet


def test_attaching_to_a_running_server_emits_listening() -> None:
    async def main() -> None:
        async with Setup() as s:
            late = WebSocketServer(server=s.server, path="/late")
            await pyws.once(late, "listening", scaled(T))
            assert late.address() == s.chat.address()
            late.on("connection", lambda ws, req: ws.send("late"))
            peer = await RawPeer.connect(HOST, s.port, path="/late")
            assert await peer.wait_message(T) == (1, b"late")
            peer.send_close(1000)
            await peer.wait_eof(T)
            peer.close()

    run(main())


def test_failing_on_a_websocket_server_path() -> None:
    """Section 7.1.7 as in port mode: 1002, the server's FIN, then it waits
    for the client's FIN before 'close' 1006."""

    async def main() -> None:
        async with Setup() as s:
            closed: asyncio.Future[tuple[int, bytes]] = (
                asyncio.get_running_loop().create_future()
            )
            errors: list[Any] = []

            def on_connection(ws: pyws.WebSocket, req: Any) -> None:
                ws.on("error", errors.append)
                ws.on("close", lambda code, reason: closed.set_result((code, reason)))

            s.chat.once("connection", on_connection)
            peer = await RawPeer.connect(HOST, s.port, path="/chat")
            peer.send_raw(build_frame(1, b"hi", mask=False))  # unmasked
            frame = await peer.wait_frame(8, T)
            assert frame.close_code == 1002
            await peer.wait_eof(T)
            assert not closed.done()
            peer.write_eof()
            assert await asyncio.wait_for(closed, scaled(T)) == (1006, b"")
            assert [e.code for e in errors] == ["WS_ERR_EXPECTED_MASK"]
            peer.close()

    run(main())
