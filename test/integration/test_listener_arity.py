"""Listeners and callbacks with fewer parameters than pyws passes (Node's
call convention, issue 10 item 1), over 127.0.0.1.

ws's heartbeat example ported as written (``ws.on('pong', heartbeat)`` with
``def heartbeat()``, ``wss.on('connection', lambda ws: ...)``), ``send`` and
``ping`` callbacks taking nothing, ``handleUpgrade``'s ``done`` taking only
``ws``, ``verifyClient`` and ``handleProtocols`` taking fewer arguments,
``finishRequest(req)``, ``close(cb)`` and ``addEventListener`` with a
listener that ignores the event. Each would raise ``TypeError`` inside pyws
if the arguments were not fitted; ``arun`` fails on any such report.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from pyws import WebSocket, WebSocketServer
from pyws.handshake import RequestParser

HOST = "127.0.0.1"


async def listening(arun: Any, **options: Any) -> tuple[WebSocketServer, str]:
    wss = WebSocketServer(port=0, host=HOST, **options)
    await arun.within(arun.event(wss, "listening"), "'listening'")
    address = wss.address()
    assert address is not None
    return wss, f"ws://{HOST}:{address['port']}/"


async def shut(arun: Any, wss: WebSocketServer) -> None:
    closed = arun.event(wss, "close")
    for ws in list(wss.clients or ()):
        ws.terminate()
    wss.close()
    await arun.within(closed, "the server's 'close'")


def test_heartbeat_example_as_written(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        wss, url = await listening(arun)
        alive_after_pong = loop.create_future()

        def connection(ws: Any) -> None:  # ws passes (ws, req)
            ws.isAlive = False

            def heartbeat() -> None:  # 'pong' passes the data
                ws.isAlive = True
                if not alive_after_pong.done():
                    alive_after_pong.set_result(ws.isAlive)

            ws.on("pong", heartbeat)
            ws.ping()

        wss.on("connection", connection)
        client = WebSocket(url)
        assert await arun.within(alive_after_pong, "the heartbeat")
        closed = arun.event(client, "close")
        client.close()
        await arun.within(closed)
        await shut(arun, wss)

    arun(main())


def test_callbacks_taking_no_arguments(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        got: list[str] = []
        protocols_seen = loop.create_future()
        wss, url = await listening(
            arun,
            verifyClient=lambda: True,
            handleProtocols=lambda protocols: (
                protocols_seen.set_result(sorted(protocols)) or "b"
            ),
        )
        client = WebSocket(url, ["a", "b"], finishRequest=lambda req: req.end())
        await arun.within(client.wait_open())
        assert client.protocol == "b"
        assert await protocols_seen == ["a", "b"]
        sent = loop.create_future()
        pinged = loop.create_future()
        client.send("x", lambda: sent.set_result("send"))
        client.ping(lambda: pinged.set_result("ping"))
        got.append(await arun.within(sent))
        got.append(await arun.within(pinged))
        closed = arun.event(client, "close")
        client.close()
        await arun.within(closed)
        after_close = loop.create_future()
        client.send("late", lambda: after_close.set_result("after close"))
        got.append(await arun.within(after_close))
        server_closed = loop.create_future()
        for ws in list(wss.clients or ()):
            ws.terminate()
        wss.close(lambda: server_closed.set_result("server close"))
        got.append(await arun.within(server_closed))
        assert got == ["send", "ping", "after close", "server close"]

    arun(main())


def test_handle_upgrade_done_taking_only_ws(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        wss = WebSocketServer(noServer=True)
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        upgraded = loop.create_future()

        async def serve_one() -> None:
            conn, _ = await loop.sock_accept(listener)
            parser = RequestParser()
            req = None
            while req is None:
                data = await loop.sock_recv(conn, 4096)
                assert data
                req = parser.feed(data)
            wss.handleUpgrade(
                req, conn, parser.tail, lambda ws: upgraded.set_result(ws)
            )

        task = loop.create_task(serve_one())
        client = WebSocket(f"ws://{HOST}:{port}/")
        await arun.within(client.wait_open())
        await arun.within(task)
        server_ws = await arun.within(upgraded)
        assert server_ws.readyState == WebSocket.OPEN
        closed = arun.event(server_ws, "close")
        client.close()
        await arun.within(closed)
        listener.close()
        done = arun.event(wss, "close")
        wss.close()
        await arun.within(done)

    arun(main())


def test_event_target_listener_ignoring_the_event(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        wss, url = await listening(arun)
        wss.on("connection", lambda ws: ws.send("hello"))
        client = WebSocket(url)
        opened = loop.create_future()
        message = loop.create_future()
        client.addEventListener("open", lambda: opened.set_result(True))
        client.onmessage = lambda event: message.set_result(event.data)
        assert await arun.within(opened)
        assert await arun.within(message) == "hello"
        closed = arun.event(client, "close")
        client.close()
        await arun.within(closed)
        await shut(arun, wss)

    arun(main())
