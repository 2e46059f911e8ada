"""How a port-mode server takes an accepted socket to its first read.

On the stdlib's selector loop a plain TCP connection gets its transport
made directly (no task per connection); elsewhere (uvloop, TLS) through
``connect_accepted_socket``, run without a task for plain TCP. The
request head is read as a ``BufferedProtocol`` into a small buffer shared
by the thread's handshakes, however it is split. Every case ends in an
open WebSocket that echoes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import TIMEOUT
from helpers.rawpeer import RawPeer

import pyws
from pyws import _server


async def serve_and_echo() -> pyws.WebSocketServer:
    wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
    await pyws.once(wss, "listening", TIMEOUT)
    wss.on(
        "connection",
        lambda ws, req: ws.on("message", lambda data, is_binary: ws.send(data)),
    )
    return wss


async def close(wss: pyws.WebSocketServer) -> None:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    for ws in list(wss.clients or ()):
        ws.terminate()
    wss.close(lambda *a: done.done() or done.set_result(None))
    await asyncio.wait_for(done, TIMEOUT)


def test_a_plain_connection_gets_no_task_on_the_selector_loop(arun: Any) -> None:
    async def main() -> None:
        wss = await serve_and_echo()
        listener = wss._server
        assert isinstance(listener, _server.Listener)
        assert listener._make_transport is not None
        tasks_before = len(asyncio.all_tasks())
        peer = await RawPeer.connect("127.0.0.1", wss.address()["port"])  # type: ignore[index]
        assert len(asyncio.all_tasks()) == tasks_before
        assert not listener.pending
        peer.send_frame(2, b"ping!", mask=True)
        await peer.wait_for(lambda: bool(peer.data_frames()), TIMEOUT, "the echo")
        assert peer.data_frames()[0].payload == b"ping!"
        peer.close()
        await close(wss)

    arun(main())


def test_the_request_head_is_read_into_the_shared_buffer(arun: Any) -> None:
    async def main() -> None:
        wss = await serve_and_echo()
        port = wss.address()["port"]  # type: ignore[index]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        # byte by byte: each read is copied out of the shared buffer
        for i in range(len(head)):
            writer.write(head[i : i + 1])
            await writer.drain()
        status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert status.startswith(b"HTTP/1.1 101 ")
        assert isinstance(_server._read_view(), memoryview)
        assert len(_server._read_view()) == _server._HEAD_READ
        writer.close()
        await close(wss)

    arun(main())


def test_uvloop_takes_the_connect_accepted_socket_path() -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not available here")

    async def main() -> None:
        wss = await serve_and_echo()
        listener = wss._server
        assert isinstance(listener, _server.Listener)
        assert listener._make_transport is None
        client = pyws.WebSocket(f"ws://127.0.0.1:{wss.address()['port']}/")  # type: ignore[index]
        await pyws.once(client, "open", TIMEOUT)
        echoed = pyws.once(client, "message", TIMEOUT)
        client.send(b"over uvloop")
        data, _ = await echoed
        assert data == b"over uvloop"
        closed = pyws.once(client, "close", TIMEOUT)
        client.close()
        await closed
        await close(wss)

    uvloop.run(asyncio.wait_for(main(), 4 * TIMEOUT))


def test_uvloop_sets_up_a_plain_connection_without_a_task() -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not available here")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        made: list[str] = []

        def factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
            made.append(coro.__qualname__)
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(factory)
        wss = await serve_and_echo()
        listener = wss._server
        assert isinstance(listener, _server.Listener)
        url = f"ws://127.0.0.1:{wss.address()['port']}/"  # type: ignore[index]
        clients = []
        for i in range(3):
            client = pyws.WebSocket(url)
            clients.append(client)
            await pyws.once(client, "open", TIMEOUT)
            echoed = pyws.once(client, "message", TIMEOUT)
            client.send(b"ping %d" % i)
            data, _ = await echoed
            assert data == b"ping %d" % i
        assert len(wss.clients or ()) == 3
        assert not listener.pending
        assert not [name for name in made if name.startswith("Listener.")]
        for client in clients:
            closed = pyws.once(client, "close", TIMEOUT)
            client.close()
            await closed
        await close(wss)

    uvloop.run(asyncio.wait_for(main(), 4 * TIMEOUT))
