"""permessage-deflate over 127.0.0.1 (RFC 7692; docs/permessage-deflate.md).

pyws client against pyws server for negotiation and data, and a raw TCP peer
(test/helpers/rawpeer.py, which does not import pyws) to see the bytes on the
wire: RSV1 only on a compressed message's first frame, the offer and response
headers, and the close codes for RSV1 misuse (1002), inflated size (1009) and
bad deflate data (1007). Every wait is bounded by ``TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import zlib
from collections.abc import AsyncIterator, Awaitable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # test/helpers

from helpers.rawpeer import RawPeer, RawServer  # noqa: E402

from pyws.websocket import WebSocket  # noqa: E402
from pyws.websocket_server import WebSocketServer  # noqa: E402

FACTOR = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1") or "1")
TIMEOUT = 10.0 * FACTOR
HOST = "127.0.0.1"
MiB = 1024 * 1024
TRAILER = b"\x00\x00\xff\xff"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def within(aw: Awaitable[T], what: str = "event") -> T:
    try:
        return await asyncio.wait_for(aw, TIMEOUT)
    except asyncio.TimeoutError:
        pytest.fail(f"timed out after {TIMEOUT}s waiting for {what}")


def event(emitter: Any, name: str) -> asyncio.Future[tuple[Any, ...]]:
    """A future for the arguments of ``emitter``'s next ``name`` event."""
    fut: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def listener(*args: Any) -> None:
        if not fut.done():
            fut.set_result(args)

    emitter.once(name, listener)
    return fut


def deflate(data: bytes, wbits: int = 15) -> bytes:
    """One whole message deflated independently of pyws (RFC 7692 7.2.1)."""
    deflater = zlib.compressobj(-1, zlib.DEFLATED, -max(wbits, 9))
    out = deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TRAILER)
    return out[:-4]


def inflate(payload: bytes, wbits: int = 15) -> bytes:
    return zlib.decompressobj(-wbits).decompress(payload + TRAILER)


def sample(size: int) -> bytes:
    unit = b"".join(b"%05d pyws permessage-deflate " % i for i in range(200))
    return (unit * (size // len(unit) + 1))[:size]


@asynccontextmanager
async def pyws_server(**options: Any) -> AsyncIterator[tuple[WebSocketServer, int]]:
    """A pyws echo server on 127.0.0.1, port 0; yields it and its port."""
    wss = WebSocketServer({"port": 0, "host": HOST, **options})
    listening = event(wss, "listening")
    await within(listening, "'listening'")

    def on_connection(ws: WebSocket, req: Any) -> None:
        ws.on("error", lambda err: None)  # recorded by the tests that care
        ws.on("message", lambda data, is_binary: ws.send(data, binary=is_binary))

    wss.on("connection", on_connection)
    try:
        yield wss, wss.address()["port"]  # type: ignore[index]
    finally:
        done = event(wss, "close")
        for client in list(wss.clients or ()):
            client.terminate()
        wss.close()
        await within(done, "server 'close'")


async def connect(port: int, **options: Any) -> WebSocket:
    ws = WebSocket(f"ws://{HOST}:{port}/", options)
    await within(ws.wait_open(), "'open'")
    return ws


async def messages(ws: WebSocket, count: int) -> list[tuple[Any, bool]]:
    """The next ``count`` messages received by ``ws``."""
    got: list[tuple[Any, bool]] = []
    done = asyncio.get_running_loop().create_future()

    def on_message(data: Any, is_binary: bool) -> None:
        got.append((data, is_binary))
        if len(got) == count and not done.done():
            done.set_result(None)

    ws.on("message", on_message)
    try:
        await within(done, f"{count} messages")
    finally:
        ws.remove_listener("message", on_message)
    return got


async def close(ws: WebSocket) -> tuple[int, bytes]:
    ws.close()
    return await within(ws.wait_closed(), "'close'")


# ---------------------------------------------------------------------------
# pyws <-> pyws
# ---------------------------------------------------------------------------


class TestPywsToPyws:
    """Negotiation and data between a pyws client and a pyws server."""

    def test_server_off_by_default(self) -> None:
        async def main() -> None:
            async with pyws_server() as (_, port):
                ws = await connect(port)
                assert ws.extensions == ""
                ws.send(sample(5000))
                [(data, is_binary)] = await messages(ws, 1)
                assert data == sample(5000) and is_binary
                await close(ws)

        run(main())

    def test_client_off(self) -> None:
        async def main() -> None:
            async with pyws_server(perMessageDeflate=True) as (_, port):
                ws = await connect(port, perMessageDeflate=False)
                assert ws.extensions == ""
                await close(ws)

        run(main())

    @pytest.mark.parametrize(
        ("server_options", "client_options", "extensions"),
        [
            (True, True, "permessage-deflate"),
            (
                {"serverNoContextTakeover": True, "clientNoContextTakeover": True},
                True,
                "permessage-deflate; server_no_context_takeover; "
                "client_no_context_takeover",
            ),
            (
                {"server_max_window_bits": 8, "client_max_window_bits": 8},
                {"clientMaxWindowBits": 8},
                # ws keeps the offer's parameters first, then adds its own.
                "permessage-deflate; client_max_window_bits=8; "
                "server_max_window_bits=8",
            ),
            (
                True,
                {"serverMaxWindowBits": 10, "clientNoContextTakeover": True},
                "permessage-deflate; client_no_context_takeover; "
                "server_max_window_bits=10",
            ),
            (
                {"threshold": 0, "zlibDeflateOptions": {"level": 1}},
                {"clientMaxWindowBits": 11, "zlib_deflate_options": {"level": 9}},
                "permessage-deflate; client_max_window_bits=11",
            ),
        ],
    )
    def test_echo_in_order(
        self, server_options: Any, client_options: Any, extensions: str
    ) -> None:
        # Small and large (threaded-size) messages, text and binary, twice
        # each so context takeover (or its absence) is exercised.
        payloads: list[Any] = [
            b"",
            "a",
            sample(1023),
            sample(1024).decode(),
            os.urandom(3000),
            sample(70000),
            sample(MiB),
        ] * 2

        async def main() -> None:
            async with pyws_server(perMessageDeflate=server_options) as (wss, port):
                headers = event(wss, "headers")
                ws = await connect(port, perMessageDeflate=client_options)
                (lines, _) = await within(headers, "'headers'")
                assert f"Sec-WebSocket-Extensions: {extensions}" in lines
                # ws reports the names only.
                assert ws.extensions == "permessage-deflate"
                [server_ws] = list(wss.clients or ())
                assert server_ws.extensions == "permessage-deflate"
                for payload in payloads:
                    ws.send(payload)
                got = await messages(ws, len(payloads))
                assert [d for d, _ in got] == [
                    p.encode() if isinstance(p, str) else p for p in payloads
                ]
                assert [b for _, b in got] == [not isinstance(p, str) for p in payloads]
                assert await close(ws) == (1005, b"")

        run(main())

    def test_empty_options_mean_on(self) -> None:
        async def main() -> None:
            async with pyws_server(perMessageDeflate={}) as (_, port):
                ws = await connect(port, perMessageDeflate={})
                assert ws.extensions == "permessage-deflate"
                await close(ws)

        run(main())

    def test_max_payload_applies_to_inflated_size(self) -> None:
        async def main() -> None:
            async with pyws_server(perMessageDeflate=True, maxPayload=1000) as (
                wss,
                port,
            ):
                conn = event(wss, "connection")
                ws = await connect(port)
                (server_ws, _) = await within(conn)
                error = event(server_ws, "error")
                ws.send(bytes(1001))  # about 10 bytes on the wire
                (err,) = await within(error, "server 'error'")
                assert err.code == "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
                assert str(err) == "Max payload size exceeded"
                code, _ = await within(ws.wait_closed())
                assert code == 1009

        run(main())


# ---------------------------------------------------------------------------
# Raw client -> pyws server
# ---------------------------------------------------------------------------


@asynccontextmanager
async def raw_client(
    extensions: str | None = "permessage-deflate; client_max_window_bits",
    **server_options: Any,
) -> AsyncIterator[tuple[RawPeer, WebSocket]]:
    """A raw client connected to a pyws echo server; yields both ends."""
    server_options.setdefault("perMessageDeflate", True)
    async with pyws_server(**server_options) as (wss, port):
        conn = event(wss, "connection")
        peer = await RawPeer.connect(HOST, port, extensions=extensions)
        (server_ws, _) = await within(conn, "'connection'")
        try:
            yield peer, server_ws
        finally:
            peer.close()


async def expect_close(peer: RawPeer, code: int) -> None:
    frame = await peer.wait_frame(8, TIMEOUT)
    assert frame.close_code == code, frame
    await peer.wait_eof(TIMEOUT)


class TestRawClient:
    """What a pyws server puts on the wire, and what it refuses."""

    def test_offer_answer_and_rsv1(self) -> None:
        async def main() -> None:
            async with raw_client() as (peer, _):
                assert peer.head is not None
                assert peer.head.get("Sec-WebSocket-Extensions") == "permessage-deflate"
                message = sample(5000)
                peer.send_frame(2, deflate(message), rsv1=True)
                frame = await peer.wait_frame(2, TIMEOUT)
                assert frame.rsv1 and frame.fin
                assert inflate(frame.payload) == message

        run(main())

    def test_fragmented_compressed_message(self) -> None:
        async def main() -> None:
            async with raw_client() as (peer, _):
                message = sample(20000)
                payload = deflate(message)
                third = len(payload) // 3
                peer.send_frame(1, payload[:third], fin=False, rsv1=True)
                peer.send_ping(b"in between")
                peer.send_frame(0, payload[third : 2 * third], fin=False)
                peer.send_frame(0, payload[2 * third :], fin=True)
                frame = await peer.wait_frame(1, TIMEOUT)
                assert frame.rsv1
                assert inflate(frame.payload) == message

        run(main())

    @pytest.mark.parametrize("bits", [8, 9, 12, 15])
    def test_window_bits(self, bits: int) -> None:
        offer = (
            f"permessage-deflate; server_max_window_bits={bits}; "
            f"client_max_window_bits={bits}"
        )

        async def main() -> None:
            async with raw_client(offer) as (peer, _):
                assert peer.head is not None
                assert peer.head.get("Sec-WebSocket-Extensions") == (
                    f"permessage-deflate; server_max_window_bits={bits}; "
                    f"client_max_window_bits={bits}"
                )
                message = (os.urandom(1 << (bits - 1)) + sample(300)) * 8
                peer.send_frame(2, deflate(message, bits), rsv1=True)
                frame = await peer.wait_frame(2, TIMEOUT)
                # The echo inflates in a window of exactly ``bits``.
                assert inflate(frame.payload, bits) == message

        run(main())

    @pytest.mark.parametrize(
        ("options", "size", "compressed"),
        [
            ({"serverNoContextTakeover": True}, 1023, False),
            ({"serverNoContextTakeover": True}, 1024, True),
            ({"serverNoContextTakeover": True, "threshold": 10}, 10, True),
            # The threshold needs our no_context_takeover.
            pytest.param({}, 5, True),
            ({"clientNoContextTakeover": True}, 5, True),
        ],
    )
    def test_threshold(
        self, options: dict[str, Any], size: int, compressed: bool
    ) -> None:
        async def main() -> None:
            async with raw_client(perMessageDeflate=options) as (peer, server_ws):
                message = sample(size)
                server_ws.send(message)
                frame = await peer.wait_frame(2, TIMEOUT)
                assert frame.rsv1 is compressed
                body = inflate(frame.payload) if compressed else frame.payload
                assert body == message

        run(main())

    def test_send_compress_false(self) -> None:
        async def main() -> None:
            async with raw_client() as (peer, server_ws):
                server_ws.send(sample(5000), compress=False)
                server_ws.send(sample(5000))
                plain = await peer.wait_frame(2, TIMEOUT)
                packed = await peer.wait_frame(2, TIMEOUT)
                assert not plain.rsv1 and plain.payload == sample(5000)
                assert packed.rsv1 and inflate(packed.payload) == sample(5000)

        run(main())

    def test_rsv1_only_on_first_fragment(self) -> None:
        async def main() -> None:
            async with raw_client() as (peer, server_ws):
                server_ws.send(sample(3000), fin=False)
                server_ws.send(sample(3000), fin=False)
                server_ws.send(sample(3000))
                frames = [await peer.wait_frame(None, TIMEOUT) for _ in range(3)]
                assert [(f.opcode, f.rsv1, f.fin) for f in frames] == [
                    (2, True, False),
                    (0, False, False),
                    (0, False, True),
                ]
                assert frames[0].payload.endswith(TRAILER)
                assert frames[1].payload.endswith(TRAILER)
                joined = b"".join(f.payload for f in frames)
                assert inflate(joined) == sample(3000) * 3

        run(main())

    def test_rsv1_on_continuation_frame(self) -> None:
        async def main() -> None:
            async with raw_client() as (peer, server_ws):
                error = event(server_ws, "error")
                payload = deflate(sample(3000))
                peer.send_frame(1, payload[:100], fin=False, rsv1=True)
                peer.send_frame(0, payload[100:], fin=True, rsv1=True)
                (err,) = await within(error)
                assert err.code == "WS_ERR_UNEXPECTED_RSV_1"
                assert str(err) == "Invalid WebSocket frame: RSV1 must be clear"
                await expect_close(peer, 1002)

        run(main())

    def test_rsv1_on_control_frame(self) -> None:
        async def main() -> None:
            async with raw_client() as (peer, server_ws):
                error = event(server_ws, "error")
                peer.send_frame(9, b"ping", rsv1=True)
                (err,) = await within(error)
                assert err.code == "WS_ERR_UNEXPECTED_RSV_1"
                await expect_close(peer, 1002)

        run(main())

    def test_rsv1_without_negotiation(self) -> None:
        async def main() -> None:
            async with raw_client(None) as (peer, server_ws):
                assert peer.head is not None
                assert peer.head.get("Sec-WebSocket-Extensions") is None
                error = event(server_ws, "error")
                peer.send_frame(2, deflate(b"hello"), rsv1=True)
                (err,) = await within(error)
                assert err.code == "WS_ERR_UNEXPECTED_RSV_1"
                await expect_close(peer, 1002)

        run(main())

    def test_rsv1_when_server_has_deflate_off(self) -> None:
        async def main() -> None:
            async with raw_client(perMessageDeflate=False) as (peer, server_ws):
                assert peer.head is not None
                assert peer.head.get("Sec-WebSocket-Extensions") is None
                peer.send_frame(2, deflate(b"hello"), rsv1=True)
                await expect_close(peer, 1002)

        run(main())

    def test_bomb_refused_with_1009(self) -> None:
        deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
        zeros = bytes(MiB)
        head = deflater.compress(zeros) + deflater.flush(zlib.Z_SYNC_FLUSH)
        step = deflater.compress(zeros) + deflater.flush(zlib.Z_SYNC_FLUSH)
        bomb = head + step * 1023  # about 1 MB that inflates to 1 GiB

        async def main() -> None:
            async with raw_client(maxPayload=4 * MiB) as (peer, server_ws):
                error = event(server_ws, "error")
                peer.send_frame(2, bomb, rsv1=True)
                (err,) = await within(error)
                assert err.code == "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
                await expect_close(peer, 1009)

        run(main())

    def test_corrupt_data_fails_with_1007(self) -> None:
        async def main() -> None:
            async with raw_client() as (peer, server_ws):
                error = event(server_ws, "error")
                peer.send_frame(2, b"\xff\xff\xff\xff", rsv1=True)
                (err,) = await within(error)
                assert err.code == "Z_DATA_ERROR"
                assert err.statusCode == 1007
                await expect_close(peer, 1007)

        run(main())

    @pytest.mark.parametrize(
        ("offer", "options"),
        [
            ("permessage-deflate; foo", True),
            ("permessage-deflate; client_max_window_bits=7", True),
            ("permessage-deflate; server_max_window_bits", True),
            (
                "permessage-deflate; server_max_window_bits=10",
                {"serverMaxWindowBits": False},
            ),
            ("permessage-deflate; =", True),
        ],
    )
    def test_server_refuses_offer(self, offer: str, options: Any) -> None:
        async def main() -> None:
            async with pyws_server(perMessageDeflate=options) as (_, port):
                peer = await RawPeer.connect(
                    HOST, port, extensions=offer, check_accept=False
                )
                assert peer.head is not None
                assert peer.head.status == 400
                await peer.wait_eof(TIMEOUT)
                assert peer.raw.endswith(
                    b"Invalid or unacceptable Sec-WebSocket-Extensions header"
                )
                peer.close()

        run(main())


# ---------------------------------------------------------------------------
# pyws client -> raw server
# ---------------------------------------------------------------------------


class TestRawServer:
    """What a pyws client offers, accepts and refuses."""

    @pytest.mark.parametrize(
        ("options", "offer"),
        [
            (None, "permessage-deflate; client_max_window_bits"),
            (True, "permessage-deflate; client_max_window_bits"),
            (
                {"serverNoContextTakeover": True, "serverMaxWindowBits": 9},
                "permessage-deflate; server_no_context_takeover; "
                "server_max_window_bits=9; client_max_window_bits",
            ),
            ({"clientMaxWindowBits": False}, "permessage-deflate"),
            (False, None),
        ],
    )
    def test_offer_on_the_wire(self, options: Any, offer: str | None) -> None:
        async def main() -> None:
            raw = await RawServer.start()
            try:
                opts = {} if options is None else {"perMessageDeflate": options}
                ws = WebSocket(f"ws://{HOST}:{raw.port}/", opts)
                peer = await raw.accept()
                assert peer.head is not None
                assert peer.head.get("Sec-WebSocket-Extensions") == offer
                await within(ws.wait_open())
                ws.terminate()
                await within(ws.wait_closed())
            finally:
                await raw.close()

        run(main())

    @pytest.mark.parametrize(
        ("options", "response", "message"),
        [
            (
                False,
                "permessage-deflate",
                "Server sent a Sec-WebSocket-Extensions header but no extension "
                "was requested",
            ),
            (
                True,
                "x-webkit-deflate-frame",
                "Server indicated an extension that was not requested",
            ),
            (
                True,
                "permessage-deflate; foo",
                "Invalid Sec-WebSocket-Extensions header",
            ),
            (
                True,
                "permessage-deflate; client_max_window_bits",
                "Invalid Sec-WebSocket-Extensions header",
            ),
            (
                {"clientMaxWindowBits": False},
                "permessage-deflate; client_max_window_bits=10",
                "Invalid Sec-WebSocket-Extensions header",
            ),
            (
                {"clientNoContextTakeover": False},
                "permessage-deflate; client_no_context_takeover",
                "Invalid Sec-WebSocket-Extensions header",
            ),
            (
                True,
                "permessage-deflate; server_max_window_bits=",
                "Invalid Sec-WebSocket-Extensions header",
            ),
        ],
    )
    def test_client_refuses_response(
        self, options: Any, response: str, message: str
    ) -> None:
        async def main() -> None:
            raw = await RawServer.start()
            try:
                ws = WebSocket(
                    f"ws://{HOST}:{raw.port}/", {"perMessageDeflate": options}
                )
                error = event(ws, "error")
                closed = event(ws, "close")
                await raw.accept(extensions=response)
                (err,) = await within(error, "'error'")
                assert str(err) == message
                (code, _) = await within(closed, "'close'")
                assert code == 1006
            finally:
                await raw.close()

        run(main())

    def test_client_data_and_rsv1_misuse(self) -> None:
        async def main() -> None:
            raw = await RawServer.start()
            try:
                ws = WebSocket(f"ws://{HOST}:{raw.port}/")
                peer = await raw.accept(extensions="permessage-deflate")
                await within(ws.wait_open())
                assert ws.extensions == "permessage-deflate"
                received = event(ws, "message")
                peer.send_frame(1, deflate(b"compressed hello"), rsv1=True)
                (data, is_binary) = await within(received)
                assert data == b"compressed hello" and not is_binary
                ws.send(sample(4000))
                frame = await peer.wait_frame(2, TIMEOUT)
                assert frame.masked and frame.rsv1
                assert inflate(frame.payload) == sample(4000)
                error = event(ws, "error")
                peer.send_frame(10, b"pong", rsv1=True)
                (err,) = await within(error)
                assert err.code == "WS_ERR_UNEXPECTED_RSV_1"
                close = await peer.wait_frame(8, TIMEOUT)
                assert close.close_code == 1002 and close.masked
            finally:
                await raw.close()

        run(main())
