"""Closing and failing over loopback TCP (docs/closing.md; RFC 6455 section 7).

Each test puts a pyws endpoint against a raw TCP peer
(``test/helpers/rawpeer.py``) that records every frame, the FIN and the
reset, so the assertions are about what is on the wire and in which order,
not only about events. Waits are bounded by scaled timeouts; the close
timeout is checked through the armed timer, and a short ``closeTimeout`` is
used where the test needs it to fire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from helpers.rawpeer import RawPeer, RawServer, build_frame, close_payload, scaled

import pyws

T = 5.0  # default bound of each wait, in seconds (scaled)


def run(coro_fn: Callable[[], Awaitable[None]]) -> None:
    """Run one test coroutine on a fresh loop, bounded as a whole."""

    async def main() -> None:
        await asyncio.wait_for(coro_fn(), scaled(30))

    asyncio.run(main())


class Recorder:
    """Records a WebSocket's events with the readyState seen by each."""

    def __init__(self, ws: pyws.WebSocket) -> None:
        self.ws = ws
        self.events: list[tuple[Any, ...]] = []
        self.closed: asyncio.Future[tuple[int, bytes]] = (
            asyncio.get_running_loop().create_future()
        )
        for name in ("open", "message", "ping", "pong", "error", "close"):
            ws.on(name, self._make(name))

    def _make(self, name: str) -> Callable[..., None]:
        def listener(*args: Any) -> None:
            self.events.append((name, int(self.ws.readyState), *args))
            if name == "close" and not self.closed.done():
                self.closed.set_result((args[0], args[1]))

        return listener

    def names(self) -> list[str]:
        return [e[0] for e in self.events]

    def errors(self) -> list[Any]:
        return [e[2] for e in self.events if e[0] == "error"]

    async def wait_close(self, timeout: float = T) -> tuple[int, bytes]:
        return await asyncio.wait_for(asyncio.shield(self.closed), scaled(timeout))


async def server_pair(
    **options: Any,
) -> tuple[pyws.WebSocketServer, pyws.WebSocket, Recorder, RawPeer]:
    """A pyws server with one raw client connected (handshake done)."""
    wss = pyws.WebSocketServer(port=0, host="127.0.0.1", **options)
    await pyws.once(wss, "listening", scaled(T))
    conn: asyncio.Future[pyws.WebSocket] = asyncio.get_running_loop().create_future()
    recorders: list[Recorder] = []

    def on_connection(ws: pyws.WebSocket, req: Any) -> None:
        recorders.append(Recorder(ws))
        conn.set_result(ws)

    wss.on("connection", on_connection)
    port = wss.address()["port"]  # type: ignore[index]
    peer = await RawPeer.connect("127.0.0.1", port)
    _PEERS.append(peer)
    ws = await asyncio.wait_for(conn, scaled(T))
    return wss, ws, recorders[0], peer


async def client_pair(
    **options: Any,
) -> tuple[RawServer, pyws.WebSocket, Recorder, RawPeer]:
    """A pyws client connected to a raw server (handshake done, OPEN)."""
    raw = await RawServer.start()
    options.setdefault("perMessageDeflate", False)
    ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/", **options)
    rec = Recorder(ws)
    peer = await raw.accept()
    await ws.wait_open(scaled(T))
    return raw, ws, rec, peer


_PEERS: list[RawPeer] = []


async def assert_socket_closed(peer: RawPeer) -> None:
    """pyws closed (or aborted) its socket: the peer saw the FIN."""
    await peer.wait_eof(T)


async def close_server(wss: pyws.WebSocketServer) -> None:
    while _PEERS:
        _PEERS.pop().close()
    for client in list(wss.clients or ()):
        client.terminate()
    done = asyncio.get_running_loop().create_future()
    wss.close(lambda *a: done.done() or done.set_result(None))
    await asyncio.wait_for(done, scaled(T))


# -- 7.1.7: failing the connection, server role -------------------------------


class TestServerFails:
    """Section 7.1.7 with pyws as the server: close frame, FIN, wait, 1006."""

    def test_protocol_error_sends_1002_then_fin_and_waits_for_peer(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair()
            # An unmasked frame from a client: WS_ERR_EXPECTED_MASK.
            peer.send_raw(build_frame(1, b"hi", mask=False))
            frame = await peer.wait_frame(8, T)
            assert frame.close_code == 1002
            assert not frame.masked
            # The server half-closes right after its close frame...
            await peer.wait_eof(T)
            assert peer.lost_time is None
            # ... then waits for the client's FIN before closing: no 'close'.
            assert rec.names() == ["error"]
            err = rec.errors()[0]
            assert err.code == "WS_ERR_EXPECTED_MASK"
            assert err.statusCode == 1002 and err.status_code == 1002
            assert rec.events[0][1] == pyws.CLOSING  # readyState during 'error'
            peer.write_eof()
            code, reason = await rec.wait_close()
            assert (code, reason) == (1006, b"")
            assert rec.names() == ["error", "close"]
            assert ws.readyState == pyws.CLOSED
            assert not peer.reset
            await close_server(wss)

        run(main)

    @pytest.mark.parametrize(
        ("frame", "code", "status"),
        [
            (
                build_frame(1, b"x", mask=True, rsv2=True),
                "WS_ERR_UNEXPECTED_RSV_2_3",
                1002,
            ),
            (
                build_frame(1, b"x", mask=True, rsv1=True),
                "WS_ERR_UNEXPECTED_RSV_1",
                1002,
            ),
            (build_frame(3, b"", mask=True), "WS_ERR_INVALID_OPCODE", 1002),
            (build_frame(0, b"x", mask=True), "WS_ERR_INVALID_OPCODE", 1002),
            (build_frame(9, b"", mask=True, fin=False), "WS_ERR_EXPECTED_FIN", 1002),
            (
                build_frame(9, b"x" * 126, mask=True),
                "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
                1002,
            ),
            (
                build_frame(8, b"\x03", mask=True),
                "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
                1002,
            ),
            (
                build_frame(8, close_payload(1005), mask=True),
                "WS_ERR_INVALID_CLOSE_CODE",
                1002,
            ),
            (build_frame(8, b"\x03\xe8\xff", mask=True), "WS_ERR_INVALID_UTF8", 1007),
            (build_frame(1, b"\xc3\x28", mask=True), "WS_ERR_INVALID_UTF8", 1007),
            (
                build_frame(2, b"x" * 65, mask=True),
                "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
                1009,
            ),
        ],
        ids=lambda v: v if isinstance(v, str) else "",
    )
    def test_each_receiver_error_gets_its_status(
        self, frame: bytes, code: str, status: int
    ) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair(maxPayload=64)
            peer.send_raw(frame)
            close = await peer.wait_frame(8, T)
            assert close.close_code == status
            await peer.wait_eof(T)
            peer.write_eof()
            assert await rec.wait_close() == (1006, b"")
            [err] = rec.errors()
            assert (err.code, err.statusCode) == (code, status)
            await close_server(wss)

        run(main)

    def test_input_after_the_error_is_not_processed(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair()
            bad = build_frame(1, b"\xff", mask=True)
            after = (
                build_frame(1, b"later", mask=True)
                + build_frame(9, b"ping", mask=True)
                + build_frame(8, close_payload(1000, b"x"), mask=True)
            )
            peer.send_raw(build_frame(1, b"first", mask=True) + bad + after)
            await peer.wait_eof(T)
            peer.send_raw(after)  # still read and discarded
            peer.write_eof()
            # The peer's close frame does not change the code: 1006.
            assert await rec.wait_close() == (1006, b"")
            assert rec.names() == ["message", "error", "close"]
            assert rec.events[0][2] == b"first"
            # Exactly one close frame (1007) and no pong went out.
            assert [f.opcode for f in peer.frames] == [8]
            assert peer.frames[0].close_code == 1007
            await close_server(wss)

        run(main)

    def test_data_queued_before_the_failure_goes_out_first(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair()
            ws.on("message", lambda data, is_binary: ws.send(b"echo:" + data))
            peer.send_raw(
                build_frame(2, b"a", mask=True) + build_frame(2, b"b", mask=False)
            )
            await peer.wait_eof(T)
            assert [(f.opcode, f.payload) for f in peer.frames] == [
                (2, b"echo:a"),
                (8, close_payload(1002)),
            ]
            peer.write_eof()
            await rec.wait_close()
            await close_server(wss)

        run(main)

    def test_silent_peer_is_aborted_after_close_timeout(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair(closeTimeout=300)
            loop = asyncio.get_running_loop()
            peer.send_raw(build_frame(1, b"x", mask=False))
            await peer.wait_eof(T)
            timer = ws._conn._timer  # type: ignore[union-attr]
            assert timer is not None
            assert 0 < timer.when() - loop.time() <= 0.3
            # The peer never sends FIN: the timer destroys the socket.
            assert await rec.wait_close() == (1006, b"")
            await assert_socket_closed(peer)
            await close_server(wss)

        run(main)

    def test_raising_error_listener_still_closes(self) -> None:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            reported: list[dict[str, Any]] = []
            loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx))
            wss, ws, rec, peer = await server_pair()

            def bad_listener(err: Exception) -> None:
                raise RuntimeError("listener bug")

            ws.on("error", bad_listener)
            peer.send_raw(build_frame(1, b"x", mask=False))
            frame = await peer.wait_frame(8, T)
            assert frame.close_code == 1002
            await peer.wait_eof(T)
            peer.write_eof()
            assert await rec.wait_close() == (1006, b"")
            assert any(isinstance(c.get("exception"), RuntimeError) for c in reported)
            await close_server(wss)

        run(main)

    def test_unhandled_error_event_is_reported_not_raised(self) -> None:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            reported: list[dict[str, Any]] = []
            loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx))
            wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
            await pyws.once(wss, "listening", scaled(T))
            closed: asyncio.Future[int] = loop.create_future()
            wss.on(
                "connection",
                lambda ws, req: ws.on("close", lambda c, r: closed.set_result(c)),
            )
            peer = await RawPeer.connect("127.0.0.1", wss.address()["port"])  # type: ignore[index]
            _PEERS.append(peer)
            peer.send_raw(build_frame(1, b"x", mask=False))
            await peer.wait_eof(T)
            peer.write_eof()
            assert await asyncio.wait_for(closed, scaled(T)) == 1006
            assert [type(c["exception"]).__name__ for c in reported] == [
                "FrameRangeError"
            ]
            await close_server(wss)

        run(main)


# -- 7.1.7: failing the connection, client role -------------------------------


class TestClientFails:
    """Section 7.1.7 with pyws as the client: close frame, wait for the
    server's FIN (7.1.1), bounded by closeTimeout; 1006."""

    def test_protocol_error_sends_masked_1002_and_waits_for_server_fin(self) -> None:
        async def main() -> None:
            raw, ws, rec, peer = await client_pair()
            peer.send_frame(1, b"x", rsv2=True)
            frame = await peer.wait_frame(8, T)
            assert frame.close_code == 1002 and frame.masked
            [err] = rec.errors()
            assert err.code == "WS_ERR_UNEXPECTED_RSV_2_3"
            assert rec.events[-1][1] == pyws.CLOSING
            # RFC 6455 7.1.1: the client does not half-close first.
            assert not ws._proto.eof_sent  # type: ignore[union-attr]
            await peer.expect_no_eof(0.2)
            assert rec.names() == ["open", "error"]
            # The server closes TCP; then the client closes its side.
            peer.write_eof()
            await peer.wait_eof(T)
            assert await rec.wait_close() == (1006, b"")
            await raw.close()

        run(main)

    def test_masked_frame_from_server(self) -> None:
        async def main() -> None:
            raw, ws, rec, peer = await client_pair()
            peer.send_frame(2, b"x", mask=True)
            frame = await peer.wait_frame(8, T)
            assert frame.close_code == 1002
            assert rec.errors()[0].code == "WS_ERR_UNEXPECTED_MASK"
            peer.write_eof()
            assert await rec.wait_close() == (1006, b"")
            await raw.close()

        run(main)

    def test_server_that_never_closes_is_aborted_after_close_timeout(self) -> None:
        async def main() -> None:
            raw, ws, rec, peer = await client_pair(closeTimeout=300)
            loop = asyncio.get_running_loop()
            peer.send_frame(1, b"\xff")
            await peer.wait_frame(8, T)
            timer = ws._conn._timer  # type: ignore[union-attr]
            assert timer is not None and 0 < timer.when() - loop.time() <= 0.3
            assert await rec.wait_close() == (1006, b"")
            await assert_socket_closed(peer)
            await raw.close()

        run(main)


# -- 7.1.2 - 7.1.6: normal closing ----------------------------------------------


class TestServerCloses:
    """Closing handshakes with pyws as the server (7.1.1: server FINs first)."""

    def test_peer_initiated_close_is_echoed_then_fin(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair()
            peer.send_close(1000, b"bye")
            echo = await peer.wait_frame(8, T)
            assert (echo.close_code, echo.close_reason) == (1000, b"bye")
            await peer.wait_eof(T)
            assert ws.readyState == pyws.CLOSING
            peer.write_eof()
            assert await rec.wait_close() == (1000, b"bye")
            await close_server(wss)

        run(main)

    def test_empty_close_reports_1005(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair()
            peer.send_close(None)
            echo = await peer.wait_frame(8, T)
            assert echo.payload == b""
            await peer.wait_eof(T)
            peer.write_eof()
            assert await rec.wait_close() == (1005, b"")
            await close_server(wss)

        run(main)

    def test_local_close_sends_queued_data_first_and_reports_peer_code(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair()
            sent: list[Any] = []
            for i in range(3):
                ws.send(f"m{i}", lambda err: sent.append(err))
            ws.close(4000, "x")
            assert ws.readyState == pyws.CLOSING
            frame = await peer.wait_frame(8, T)
            assert frame.close_code == 4000
            assert [f.payload for f in peer.data_frames()] == [b"m0", b"m1", b"m2"]
            # No FIN until the peer's close frame arrives.
            await peer.expect_no_eof(0.1)
            # Messages that arrive before the peer's close are still emitted.
            peer.send_text(b"late")
            peer.send_close(4001, b"y")
            await peer.wait_eof(T)
            peer.write_eof()
            assert await rec.wait_close() == (4001, b"y")
            assert ("message", 2, b"late", False) in rec.events
            assert sent == [None, None, None]
            await close_server(wss)

        run(main)

    def test_close_timeout_without_close_frame_reports_1006(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair(closeTimeout=200)
            ws.close(1000)
            await peer.wait_frame(8, T)
            assert await rec.wait_close() == (1006, b"")
            await assert_socket_closed(peer)
            await close_server(wss)

        run(main)

    def test_peer_fin_without_close_frame(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair()
            peer.write_eof()
            assert await rec.wait_close() == (1006, b"")
            assert rec.names() == ["close"]
            assert peer.close_frames() == []
            await peer.wait_eof(T)
            await close_server(wss)

        run(main)

    def test_peer_reset_reports_1006_without_error(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair()
            peer.reset_connection()
            assert await rec.wait_close() == (1006, b"")
            assert "error" not in rec.names()
            await close_server(wss)

        run(main)

    def test_terminate_sends_no_close_frame(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair()
            ws.terminate()
            assert ws.readyState == pyws.CLOSING
            await assert_socket_closed(peer)
            assert peer.close_frames() == []
            assert await rec.wait_close() == (1006, b"")
            await close_server(wss)

        run(main)

    def test_send_after_close_calls_back_with_error(self) -> None:
        async def main() -> None:
            wss, ws, rec, peer = await server_pair()
            ws.close()
            errs: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            before = ws.bufferedAmount
            ws.send("abcd", errs.set_result)
            err = await asyncio.wait_for(errs, scaled(T))
            assert str(err) == "WebSocket is not open: readyState 2 (CLOSING)"
            assert ws.bufferedAmount == before + 4
            await peer.wait_frame(8, T)
            assert peer.data_frames() == []
            peer.send_close(1000)
            peer.write_eof()
            await rec.wait_close()
            await close_server(wss)

        run(main)


class TestClientCloses:
    """Closing handshakes with pyws as the client (waits for the server's FIN)."""

    def test_server_initiated_close_is_echoed_without_fin(self) -> None:
        async def main() -> None:
            raw, ws, rec, peer = await client_pair()
            peer.send_close(1000, b"bye")
            echo = await peer.wait_frame(8, T)
            assert (echo.close_code, echo.close_reason, echo.masked) == (
                1000,
                b"bye",
                True,
            )
            await peer.expect_no_eof(0.2)
            peer.write_eof()
            await peer.wait_eof(T)
            assert await rec.wait_close() == (1000, b"bye")
            await raw.close()

        run(main)

    def test_client_initiated_close(self) -> None:
        async def main() -> None:
            raw, ws, rec, peer = await client_pair()
            ws.close(4000, "x")
            frame = await peer.wait_frame(8, T)
            assert (frame.close_code, frame.close_reason) == (4000, b"x")
            peer.send_close(4001, b"y")
            await peer.expect_no_eof(0.1)
            peer.write_eof()
            await peer.wait_eof(T)
            assert await rec.wait_close() == (4001, b"y")
            await raw.close()

        run(main)

    def test_close_timeout_after_close_frame_keeps_received_code(self) -> None:
        async def main() -> None:
            raw, ws, rec, peer = await client_pair(closeTimeout=200)
            peer.send_close(1001, b"")
            await peer.wait_frame(8, T)
            # The server never FINs: closeTimeout bounds the wait.
            assert await rec.wait_close() == (1001, b"")
            await assert_socket_closed(peer)
            await raw.close()

        run(main)

    def test_server_fin_without_close_frame(self) -> None:
        async def main() -> None:
            raw, ws, rec, peer = await client_pair()
            peer.write_eof()
            assert await rec.wait_close() == (1006, b"")
            assert "error" not in rec.names()
            await raw.close()

        run(main)


# -- ping / pong while closing ----------------------------------------------------


def test_auto_pong_only_while_open() -> None:
    async def main() -> None:
        wss, ws, rec, peer = await server_pair()
        peer.send_ping(b"p1")
        pong = await peer.wait_frame(10, T)
        assert pong.payload == b"p1"
        ws.close(1000)
        await peer.wait_frame(8, T)
        peer.send_ping(b"p2")
        peer.send_close(1000)
        await peer.wait_eof(T)
        assert [f.opcode for f in peer.frames] == [10, 8]
        assert [e[2] for e in rec.events if e[0] == "ping"] == [b"p1", b"p2"]
        peer.write_eof()
        await rec.wait_close()
        await close_server(wss)

    run(main)


def test_failure_while_paused_still_sees_the_peer_fin() -> None:
    """A listener paused reading, then the same chunk failed the connection:
    input is discarded but still read, so the FIN closes the socket before
    closeTimeout (7.1.7 step 1)."""

    async def main() -> None:
        wss, ws, rec, peer = await server_pair(closeTimeout=20000)
        ws.on("message", lambda data, is_binary: ws.pause())
        peer.send_raw(
            build_frame(1, b"a", mask=True) + build_frame(1, b"b", mask=False)
        )
        frame = await peer.wait_frame(8, T)
        assert frame.close_code == 1002
        await peer.wait_eof(T)
        peer.write_eof()
        assert await rec.wait_close(T) == (1006, b"")
        assert rec.names() == ["message", "error", "close"]
        await close_server(wss)

    run(main)
