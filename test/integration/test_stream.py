"""``createWebSocketStream`` over loopback (ws-api.md 10.1).

Messages become a byte stream; writes become binary messages (queued until
'open'); a full read buffer pauses the WebSocket and reading resumes it;
'close' ends the stream and 'error' is raised by the next read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from helpers.rawpeer import RawServer, build_frame, scaled

import pyws

T = 5.0


def run(coro_fn: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro_fn(), scaled(30))

    asyncio.run(main())


def test_write_before_open_then_read_the_echo() -> None:
    async def main() -> None:
        wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
        await pyws.once(wss, "listening", scaled(T))
        kinds: list[bool] = []

        def on_connection(ws: Any, req: Any) -> None:
            def echo(data: bytes, is_binary: bool) -> None:
                kinds.append(is_binary)
                ws.send(data, binary=is_binary)

            ws.on("message", echo)

        wss.on("connection", on_connection)
        ws = pyws.WebSocket(f"ws://127.0.0.1:{wss.address()['port']}/")  # type: ignore[index]
        stream = pyws.createWebSocketStream(ws)
        stream.write(b"hello ")  # CONNECTING: queued until 'open'
        stream.writelines([b"world", b"\nsecond line\n"])
        await asyncio.wait_for(stream.drain(), scaled(T))
        line = await asyncio.wait_for(stream.readline(), scaled(T))
        assert line == b"hello world\n"
        assert await asyncio.wait_for(stream.readexactly(7), scaled(T)) == b"second "
        assert kinds == [True, True, True]
        stream.write_eof()  # ws end(): the closing handshake
        await asyncio.wait_for(stream.wait_closed(), scaled(T))
        assert await stream.read() == b"line\n"
        assert await stream.read() == b""
        assert stream.at_eof()
        closed = asyncio.get_running_loop().create_future()
        wss.close(lambda *a: closed.set_result(None))
        await asyncio.wait_for(closed, scaled(T))

    run(main)


def test_unread_data_pauses_the_websocket() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/", perMessageDeflate=False)
            stream = pyws.create_websocket_stream(ws, high_water_mark=1000)
            peer = await raw.accept()
            await ws.wait_open(scaled(T))
            peer.send_raw(build_frame(2, b"x" * 3000))
            first = await asyncio.wait_for(stream.read(10), scaled(T))
            assert first == b"x" * 10
            assert ws.isPaused  # 2990 bytes wait unread, above the mark
            rest = await asyncio.wait_for(stream.readexactly(2990), scaled(T))
            assert rest == b"x" * 2990
            assert not ws.isPaused  # reading resumed it
            stream.close()  # ws destroy(): terminate
            await asyncio.wait_for(stream.wait_closed(), scaled(T))
            assert ws.readyState == pyws.CLOSED

    run(main)


def test_error_is_raised_by_the_next_read() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/", perMessageDeflate=False)
            stream = pyws.createWebSocketStream(ws)
            peer = await raw.accept()
            await ws.wait_open(scaled(T))
            peer.send_raw(build_frame(1, b"\xff"))  # invalid UTF-8: 1007
            with pytest.raises(pyws.ProtocolError) as info:
                await asyncio.wait_for(stream.read(), scaled(T))
            assert info.value.code == "WS_ERR_INVALID_UTF8"
            peer.write_eof()
            await asyncio.wait_for(stream.wait_closed(), scaled(T))

    run(main)


def test_options_are_checked() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/")
            with pytest.raises(TypeError, match="unknown option 'objectMode'"):
                pyws.createWebSocketStream(ws, {"objectMode": True})
            with pytest.raises(ValueError, match="highWaterMark"):
                pyws.createWebSocketStream(ws, {"highWaterMark": 0})
            ws.terminate()
            await ws.wait_closed(scaled(T))

    run(main)
