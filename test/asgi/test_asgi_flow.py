"""``pyws.asgi.WebSocketProtocol`` driven in-process, as uvicorn drives it.

uvicorn's HTTP protocol calls ``connection_made(transport)`` and feeds the
request head to ``data_received``; here a recording transport stands in for
the socket (what was written, in how many writes, and whether reading is
paused), so flow control can be checked exactly: how the app's sends are
grouped into writes, and how ``ws_max_queue`` bounds what is parsed while
the app does not receive.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

import uvicorn
from helpers.rawpeer import build_frame, parse_frames, scaled
from uvicorn.server import ServerState

import pyws
from pyws.asgi import _FLUSH_AT, WebSocketProtocol


class RecordingTransport:
    """The parts of an asyncio transport the protocol uses, recorded."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        info = {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}
        return info.get(name, default)

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def frames(self) -> list[Any]:
        data = b"".join(self.writes)
        head_end = data.index(b"\r\n\r\n") + 4
        frames, _ = parse_frames(data[head_end:], 0.0)
        return frames


def start(app: Any, **config: Any) -> tuple[WebSocketProtocol, RecordingTransport]:
    cfg = uvicorn.Config(app, lifespan="off", ws=WebSocketProtocol, **config)
    cfg.load()
    proto = WebSocketProtocol(config=cfg, server_state=ServerState(), app_state={})
    transport = RecordingTransport()
    proto.connection_made(transport)  # type: ignore[arg-type]
    key = base64.b64encode(os.urandom(16))
    proto.data_received(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    return proto, transport


def run(coro: Any) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro, scaled(10))

    asyncio.run(main())


def test_sends_of_one_turn_go_out_in_one_write() -> None:
    async def main() -> None:
        finished = asyncio.Event()

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "websocket.accept"})
            await finished.wait()
            for i in range(3):
                await send({"type": "websocket.send", "text": f"m{i}"})
            # A burst past _FLUSH_AT is written before the turn ends.
            big = b"x" * _FLUSH_AT
            before = len(transport.writes)
            await send({"type": "websocket.send", "bytes": big})
            assert len(transport.writes) == before + 1
            await send({"type": "websocket.close"})

        proto, transport = start(app)
        await asyncio.sleep(0)  # the app task's first turn: accept
        accepted = len(transport.writes)
        assert accepted == 1  # the 101
        finished.set()
        await asyncio.gather(*proto.tasks)
        # m0..m2 and the big message in one write, then the close frame.
        assert len(transport.writes) == accepted + 2
        kinds = [(f.opcode, len(f.payload)) for f in transport.frames()]
        assert kinds == [(1, 2), (1, 2), (1, 2), (2, _FLUSH_AT), (8, 2)]
        proto.connection_lost(None)

    run(main())


def test_max_queue_holds_parsing_until_the_app_receives() -> None:
    async def main() -> None:
        go = asyncio.Event()
        got: list[Any] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "websocket.accept"})
            await go.wait()
            while True:
                message = await receive()
                got.append(message)
                if message["type"] == "websocket.disconnect":
                    return

        proto, transport = start(app, ws_max_queue=2)
        await asyncio.sleep(0)  # the app task's first turn: accept
        frames = b"".join(build_frame(1, b"%d" % i, mask=True) for i in range(5))
        proto.data_received(frames + build_frame(8, b"\x03\xe8", mask=True))
        # Two messages queued, the rest held unparsed; reading paused.
        assert transport.paused
        assert not [f for f in transport.frames() if f.opcode == 8]
        go.set()
        await asyncio.wait_for(asyncio.gather(*proto.tasks), scaled(5))
        texts = [m.get("text") for m in got if m["type"] == "websocket.receive"]
        assert texts == ["0", "1", "2", "3", "4"]
        assert got[-1] == {"type": "websocket.disconnect", "code": 1000, "reason": ""}
        # The close frame was parsed after the held messages and echoed.
        assert [f.close_code for f in transport.frames() if f.opcode == 8] == [1000]
        proto.connection_lost(None)

    run(main())


def test_the_101_is_the_same_bytes_as_the_websocket_servers() -> None:
    """The ASGI path and WebSocketServer share the permessage-deflate
    negotiation and the head serializer: the same request (an extension
    offer, subprotocols) gets the same 101, byte for byte."""
    request = (
        b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; "
        b"server_no_context_takeover, permessage-deflate\r\n\r\n"
    )

    async def asgi_head() -> bytes:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "websocket.accept", "subprotocol": "chat"})

        cfg = uvicorn.Config(app, lifespan="off", ws=WebSocketProtocol)
        cfg.load()
        proto = WebSocketProtocol(config=cfg, server_state=ServerState(), app_state={})
        transport = RecordingTransport()
        proto.connection_made(transport)  # type: ignore[arg-type]
        proto.data_received(request)
        for _ in range(10):  # the app task's first turns: receive, accept
            if transport.writes:
                break
            await asyncio.sleep(0)
        data = b"".join(transport.writes)
        proto.connection_lost(None)
        return data[: data.index(b"\r\n\r\n") + 4]

    async def server_head() -> bytes:
        wss = pyws.WebSocketServer(port=0, host="127.0.0.1", perMessageDeflate=True)
        await pyws.once(wss, "listening", scaled(5))
        port = wss.address()["port"]  # type: ignore[index]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), scaled(5))
        writer.close()
        for ws in list(wss.clients or ()):
            ws.terminate()
        closed = pyws.once(wss, "close", scaled(5))
        wss.close()
        await closed
        return head

    async def main() -> None:
        asgi, server = await asgi_head(), await server_head()
        assert b"Sec-WebSocket-Protocol: chat\r\n" in server
        assert (
            b"Sec-WebSocket-Extensions: permessage-deflate; "
            b"server_no_context_takeover\r\n"
        ) in server
        assert asgi == server

    run(main())
