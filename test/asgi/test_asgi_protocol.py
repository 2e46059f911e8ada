"""``pyws.asgi.WebSocketProtocol`` on a real uvicorn, checked on the wire.

A raw TCP client (``test/helpers/rawpeer.py``) records every frame, the FIN
and resets, so these tests assert what RFC 6455 section 7 asks of the
server, as ``test/integration/test_closing.py`` does for port mode: the
close frame's code and reason, that the server half-closes only after the
closing handshake (or when failing), and what the ASGI app is told.
uvicorn's own interface tests run through ``scripts/uvicorn_suite``.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Any

import httpx2
import pytest
from helpers.rawpeer import RawPeer, build_frame, scaled

from pyws.asgi import WebSocketProtocol

from .conftest import HOST, EchoApp, serve

T = 5.0


def run(coro: Any) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro, scaled(30))

    asyncio.run(main())


async def disconnect_of(app: EchoApp) -> dict[str, Any]:
    assert app.done is not None
    messages = await asyncio.wait_for(asyncio.shield(app.done), scaled(T))
    return messages[-1]


def test_http_route_and_websocket_share_the_port(asgi_echo: EchoApp) -> None:
    async def main() -> None:
        async with serve(asgi_echo) as (_, port):
            async with httpx2.AsyncClient() as client:
                res = await client.get(f"http://{HOST}:{port}/")
            assert res.status_code == 200 and res.content == b"plain http"
            peer = await RawPeer.connect(HOST, port, path="/x?y=1")
            assert peer.head is not None
            assert peer.head.get("server") == "uvicorn"
            peer.send_text("hello")
            peer.send_binary(b"\x00\x01")
            assert await peer.wait_message(T) == (1, b"hello")
            assert await peer.wait_message(T) == (2, b"\x00\x01")
            peer.send_close(1000)
            await peer.wait_eof(T)
            peer.close()
            assert await disconnect_of(asgi_echo) == {
                "type": "websocket.disconnect",
                "code": 1000,
                "reason": "",
            }
            got = asgi_echo.log[0][1:3]
            assert got == [
                {"type": "websocket.receive", "text": "hello"},
                {"type": "websocket.receive", "bytes": b"\x00\x01"},
            ]

    run(main())


class TestClosing:
    """Section 7 with the ASGI app on one side and a raw client on the other."""

    def test_app_close_waits_for_the_echo_before_the_fin(
        self, asgi_echo: EchoApp
    ) -> None:
        async def main() -> None:
            async with serve(asgi_echo) as (server, port):
                peer = await RawPeer.connect(HOST, port)
                (server_side,) = server.config.ws.made
                peer.send_text("close-me")
                frame = await peer.wait_frame(8, T)
                assert (frame.close_code, frame.close_reason) == (4001, b"asked")
                assert not frame.masked
                # 7.1.1: no FIN before our close frame came back.
                await peer.expect_no_eof(0.1)
                assert await disconnect_of(asgi_echo) == {
                    "type": "websocket.disconnect",
                    "code": 4001,
                    "reason": "asked",
                }
                peer.send_close(4001, b"asked")
                await peer.wait_eof(T)
                assert peer.lost_time is None  # a half-close, not a reset
                assert not server_side.lost.done()  # waiting for our FIN
                peer.write_eof()
                await asyncio.wait_for(server_side.lost, scaled(T))
                peer.close()

        run(main())

    def test_client_close_is_echoed_with_code_and_reason(
        self, asgi_echo: EchoApp
    ) -> None:
        async def main() -> None:
            async with serve(asgi_echo) as (server, port):
                peer = await RawPeer.connect(HOST, port)
                peer.send_close(1001, b"away")
                frame = await peer.wait_frame(8, T)
                assert (frame.close_code, frame.close_reason) == (1001, b"away")
                eof = await peer.wait_eof(T)
                assert frame.time <= eof
                assert await disconnect_of(asgi_echo) == {
                    "type": "websocket.disconnect",
                    "code": 1001,
                    "reason": "away",
                }
                peer.write_eof()
                await asyncio.wait_for(server.config.ws.made[0].lost, scaled(T))
                peer.close()

        run(main())

    def test_empty_close_frame_is_echoed_empty_and_reported_1005(
        self, asgi_echo: EchoApp
    ) -> None:
        async def main() -> None:
            async with serve(asgi_echo) as (_, port):
                peer = await RawPeer.connect(HOST, port)
                peer.send_close(None)
                frame = await peer.wait_frame(8, T)
                assert frame.payload == b""
                await peer.wait_eof(T)
                message = await disconnect_of(asgi_echo)
                assert message["code"] == 1005
                peer.close()

        run(main())

    @pytest.mark.parametrize(
        ("data", "status"),
        [
            (build_frame(1, b"hi", mask=False), 1002),  # unmasked client frame
            (build_frame(1, b"\xff\xfe", mask=True), 1007),  # invalid UTF-8
            (build_frame(2, b"x" * 11, mask=True), 1009),  # over ws_max_size=10
        ],
        ids=["1002-unmasked", "1007-utf8", "1009-too-big"],
    )
    def test_failing_sends_the_status_then_fin(
        self, asgi_echo: EchoApp, data: bytes, status: int
    ) -> None:
        async def main() -> None:
            async with serve(asgi_echo, ws_max_size=10) as (server, port):
                peer = await RawPeer.connect(HOST, port)
                peer.send_raw(data)
                frame = await peer.wait_frame(8, T)
                assert frame.close_code == status
                await peer.wait_eof(T)
                assert peer.lost_time is None  # 7.1.7: wait for the peer's FIN
                message = await disconnect_of(asgi_echo)
                assert message["code"] == status
                assert not [
                    m for m in asgi_echo.log[0] if m["type"] == "websocket.receive"
                ]
                peer.write_eof()
                await asyncio.wait_for(server.config.ws.made[0].lost, scaled(T))
                peer.close()

        run(main())

    def test_close_timeout_bounds_a_silent_peer(self, asgi_echo: EchoApp) -> None:
        protocols: list[WebSocketProtocol] = []

        class Quick(WebSocketProtocol):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.close_timeout = 0.2
                protocols.append(self)

        async def main() -> None:
            async with serve(asgi_echo, ws=Quick) as (_, port):
                peer = await RawPeer.connect(HOST, port)
                peer.send_text("close-me")
                await peer.wait_frame(8, T)
                timer = protocols[0].close_timer
                assert timer is not None
                left = timer.when() - asyncio.get_running_loop().time()
                assert 0 < left <= 0.2
                # The peer never answers: the server gives up and aborts.
                await peer.wait_eof(T)
                peer.close()
                assert protocols[0].close_timer is None

        run(main())

    def test_keepalive_timeout_fails_with_1011(self, asgi_echo: EchoApp) -> None:
        async def main() -> None:
            async with serve(
                asgi_echo, ws_ping_interval=0.05, ws_ping_timeout=0.05
            ) as (_, port):
                peer = await RawPeer.connect(HOST, port)
                ping = await peer.wait_frame(9, T)
                assert len(ping.payload) == 4
                frame = await peer.wait_frame(8, T)  # no pong from us
                assert (frame.close_code, frame.close_reason) == (
                    1011,
                    b"keepalive ping timeout",
                )
                await peer.wait_eof(T)
                assert (await disconnect_of(asgi_echo))["code"] == 1011
                peer.close()

        run(main())

    def test_keepalive_answered_keeps_the_connection(self, asgi_echo: EchoApp) -> None:
        async def main() -> None:
            async with serve(asgi_echo, ws_ping_interval=0.05, ws_ping_timeout=0.5) as (
                _,
                port,
            ):
                peer = await RawPeer.connect(HOST, port)
                for _ in range(3):
                    ping = await peer.wait_frame(9, T)
                    peer.send_pong(ping.payload)
                peer.send_text("still here")
                assert await peer.wait_message(T) == (1, b"still here")
                assert not peer.close_frames()
                peer.send_close(1000)
                await peer.wait_eof(T)
                peer.close()

        run(main())

    def test_shutdown_closes_with_1012_and_waits_for_the_echo(
        self, asgi_echo: EchoApp
    ) -> None:
        async def main() -> None:
            async with serve(asgi_echo) as (server, port):
                peer = await RawPeer.connect(HOST, port)
                peer.send_text("x")
                await peer.wait_message(T)
                shutdown = asyncio.ensure_future(server.shutdown())
                frame = await peer.wait_frame(8, T)
                assert frame.close_code == 1012
                assert await disconnect_of(asgi_echo) == {
                    "type": "websocket.disconnect",
                    "code": 1012,
                }
                assert not shutdown.done()  # uvicorn waits for the socket
                peer.send_close(1012)
                await peer.wait_eof(T)
                peer.write_eof()
                await asyncio.wait_for(shutdown, scaled(T))
                peer.close()

        run(main())


class TestHandshake:
    def test_deflate_offer_with_client_max_window_bits(
        self, asgi_echo: EchoApp
    ) -> None:
        """Chromium offers ``permessage-deflate; client_max_window_bits``."""

        async def main() -> None:
            async with serve(asgi_echo) as (_, port):
                peer = await RawPeer.connect(
                    HOST,
                    port,
                    extensions="permessage-deflate; client_max_window_bits",
                )
                assert peer.head is not None
                agreed = peer.head.get("Sec-WebSocket-Extensions") or ""
                assert agreed.startswith("permessage-deflate")
                text = "compress me " * 200
                deflater = zlib.compressobj(wbits=-15)
                body = deflater.compress(text.encode()) + deflater.flush(
                    zlib.Z_SYNC_FLUSH
                )
                peer.send_raw(build_frame(1, body[:-4], rsv1=True, mask=True))
                frame = await peer.wait_frame(1, T)
                assert frame.rsv & 4  # RSV1: 2.4 KB is over the 1 KiB threshold
                inflater = zlib.decompressobj(wbits=-15)
                got = inflater.decompress(frame.payload + b"\x00\x00\xff\xff")
                assert got == text.encode()
                assert asgi_echo.log[0][1] == {
                    "type": "websocket.receive",
                    "text": text,
                }
                peer.send_close(1000)
                await peer.wait_eof(T)
                peer.close()

        run(main())

    def test_deflate_off(self, asgi_echo: EchoApp) -> None:
        async def main() -> None:
            async with serve(asgi_echo, ws_per_message_deflate=False) as (_, port):
                peer = await RawPeer.connect(
                    HOST, port, extensions="permessage-deflate"
                )
                assert peer.head is not None
                assert peer.head.get("Sec-WebSocket-Extensions") is None
                peer.close()

        run(main())

    def test_bad_request_gets_400_and_the_app_is_not_called(self) -> None:
        called: list[Any] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            called.append(scope)

        async def main() -> None:
            async with serve(app) as (_, port):
                peer = await RawPeer.connect(HOST, port, handshake=False)
                peer.send_raw(
                    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Key: short\r\n"
                    b"Sec-WebSocket-Version: 13\r\n\r\n"
                )
                head = await peer.wait_head(T)
                assert head.status == 400
                await peer.wait_eof(T)
                peer.close()
                assert b"Invalid Sec-WebSocket-Key header" in bytes(peer.raw)
            assert called == []

        run(main())

    def test_denial_response_streams_a_body_without_length(self) -> None:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": 401,
                    "headers": [(b"www-authenticate", b"Bearer")],
                }
            )
            await send(
                {
                    "type": "websocket.http.response.body",
                    "body": b"no ",
                    "more_body": True,
                }
            )
            await send({"type": "websocket.http.response.body", "body": b"entry"})

        async def main() -> None:
            async with serve(app) as (_, port):
                peer = await RawPeer.connect(HOST, port, check_accept=False)
                head = peer.head
                assert head is not None and head.status == 401
                assert head.get("transfer-encoding") == "chunked"
                assert head.get("www-authenticate") == "Bearer"
                await peer.wait_eof(T)
                peer.close()
                assert bytes(peer.raw) == b"3\r\nno \r\n5\r\nentry\r\n0\r\n\r\n"

        run(main())

    def test_header_injection_is_refused(self) -> None:
        errors: list[BaseException] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await receive()
            try:
                await send(
                    {"type": "websocket.accept", "headers": [(b"x", b"a\r\nb: c")]}
                )
            except RuntimeError as exc:
                errors.append(exc)
                raise

        async def main() -> None:
            async with serve(app) as (_, port):
                peer = await RawPeer.connect(HOST, port, check_accept=False)
                assert peer.head is not None and peer.head.status == 500
                await peer.wait_eof(T)
                peer.close()
            assert len(errors) == 1

        run(main())


def test_uvicorn_log_lines(
    asgi_echo: EchoApp, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn.error gets the lines uvicorn's own implementations write."""

    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.close"})

    async def main() -> None:
        async with serve(asgi_echo, log_config=None, log_level="info") as (_, port):
            peer = await RawPeer.connect(HOST, port, path="/a%20b?x=1")
            peer.send_close(1000)
            await peer.wait_eof(T)
            peer.close()
        async with serve(refuse, log_config=None, log_level="info") as (_, port):
            peer = await RawPeer.connect(HOST, port, check_accept=False)
            assert peer.head is not None and peer.head.status == 403
            await peer.wait_eof(T)
            peer.close()

    # Straight on the logger: an earlier uvicorn run with its default log
    # config may have left "uvicorn" not propagating to the root logger.
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level("INFO", logger="uvicorn.error"):
            run(main())
    finally:
        logger.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.error"]
    assert any(line.endswith('"WebSocket /a%20b?x=1" [accepted]') for line in lines)
    assert any(line.endswith('"WebSocket /" 403') for line in lines)
