"""The ``WebSocketServer`` API surface over 127.0.0.1 (docs/server.md).

``address()``, ``'listening'`` (and the constructor callback), 426 for plain
HTTP, the ``'connection'`` request object (Node's IncomingMessage shape:
attribute and key access, lower-case headers, ``socket.remoteAddress``),
``'headers'`` (mutable lines), ``verifyClient`` (one argument, two arguments,
``async def``), ``handleProtocols``, ``path``, ``clientTracking``,
``'wsClientError'`` with the Node-like socket, ``noServer`` with
``handleUpgrade`` given a ``socket.socket``, an asyncio transport or the
wrapper (and ``read_upgrade_request``), and ``close(cb)``.

Clients are pyws or the raw peer (test/helpers/rawpeer.py). Every wait is
bounded (``arun.within``).
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # test/helpers

from conftest import MS, TIMEOUT  # noqa: E402
from conftest import start_server as start  # noqa: E402
from conftest import stop_server as stop
from helpers.rawpeer import RawPeer  # noqa: E402

import pyws  # noqa: E402
from pyws import WebSocket, WebSocketServer  # noqa: E402
from pyws.handshake import RequestParser  # noqa: E402

HOST = "127.0.0.1"

GOOD_REQUEST = (
    "GET {path} HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "{extra}"
    "\r\n"
)


async def raw_request(port: int, request: str) -> RawPeer:
    """Send ``request`` by hand; return the peer once the response head is in."""
    peer = await RawPeer.connect(HOST, port, handshake=False)
    peer.send_raw(request.encode("latin-1"))
    await peer.wait_head()
    return peer


async def response_of(port: int, request: str) -> tuple[int, str, bytes]:
    """Status, head text and body (read until the server's FIN)."""
    peer = await raw_request(port, request)
    await peer.wait_eof()
    peer.close()
    assert peer.head is not None
    return peer.head.status, peer.head.raw.decode("latin-1"), bytes(peer.raw)


# -- listening, address ----------------------------------------------------------------


def test_listening_callback_and_address(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        called = loop.create_future()
        wss = WebSocketServer(
            {"port": 0, "host": HOST}, lambda: called.set_result(True)
        )
        await arun.within(called)
        address = wss.address()
        assert address is not None
        assert address["address"] == HOST
        assert address["family"] == "IPv4"
        assert 0 < address["port"] < 65536
        await stop(arun, wss)
        assert wss.address() is None

    arun(main())


def test_address_in_no_server_mode_raises(arun: Any) -> None:
    async def main() -> None:
        wss = WebSocketServer(noServer=True)
        with pytest.raises(Exception) as info:
            wss.address()
        assert str(info.value) == 'The server is operating in "noServer" mode'
        closed = arun.event(wss, "close")
        wss.close()
        await arun.within(closed)

    arun(main())


def test_listen_error_is_emitted(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        other = WebSocketServer(port=port, host=HOST)
        (err,) = await arun.within(arun.event(other, "error"))
        assert isinstance(err, OSError)
        await stop(arun, wss)

    arun(main())


def test_plain_http_gets_426(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        status, head, body = await response_of(
            port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert status == 426
        assert "Content-Type: text/plain" in head
        assert body == b"Upgrade Required"
        await stop(arun, wss)

    arun(main())


# -- 'connection' and the request object -----------------------------------------------


def test_connection_request_object(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        conn = arun.event(wss, "connection")
        ws = WebSocket(
            f"ws://{HOST}:{port}/chat?room=1",
            headers={"X-Token": "abc", "Cookie": "a=1"},
        )
        opened = arun.event(ws, "open")
        sws, req = await arun.within(conn)
        await arun.within(opened)
        assert req.method == "GET" and req["method"] == "GET"
        assert req.url == "/chat?room=1" and req["url"] == "/chat?room=1"
        assert req.httpVersion == "1.1" and req.http_version == "1.1"
        assert req.headers["x-token"] == "abc"
        assert req["headers"]["upgrade"] == "websocket"
        assert "X-Token" not in req.headers  # names are lower case, as Node
        assert req.headers["sec-websocket-version"] == "13"
        local = ws._conn.transport.get_extra_info("sockname")  # type: ignore[union-attr]
        assert req.socket.remoteAddress == HOST
        assert req.socket.remotePort == local[1]
        assert req.socket.remote_port == local[1]
        assert req.socket.remoteFamily == "IPv4"
        # Server-side ws: no url, OPEN in 'connection'.
        assert sws.url is None
        assert sws.readyState == sws.OPEN
        assert wss.clients is not None and sws in wss.clients
        await stop(arun, wss)

    arun(main())


def test_headers_event_lines_are_mutable(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        seen: list[Any] = []

        def on_headers(lines: list[str], req: Any) -> None:
            seen.append(list(lines))
            lines.append("X-Added: 1")
            lines.append("Set-Cookie: s=2")

        wss.on("headers", on_headers)
        peer = await RawPeer.connect(HOST, port, protocols=["p1", "p2"])
        assert peer.head is not None
        assert peer.head.get("X-Added") == "1"
        assert peer.head.get("Set-Cookie") == "s=2"
        lines = seen[0]
        assert lines[0] == "HTTP/1.1 101 Switching Protocols"
        assert lines[1:3] == ["Upgrade: websocket", "Connection: Upgrade"]
        assert lines[3].startswith("Sec-WebSocket-Accept: ")
        assert lines[4] == "Sec-WebSocket-Protocol: p1"  # the first, by default
        peer.close()
        await stop(arun, wss)

    arun(main())


def test_connection_listener_exception_is_contained(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        conn = arun.event(wss, "connection")

        def bad(ws: Any, req: Any) -> None:
            raise RuntimeError("connection listener bug")

        wss.on("connection", bad)
        ws = WebSocket(f"ws://{HOST}:{port}/")
        opened = arun.event(ws, "open")
        sws, _ = await arun.within(conn)
        await arun.within(opened)
        got = arun.event(ws, "message")
        sws.send("still fine")
        (data, _) = await arun.within(got)
        assert data == b"still fine"
        await stop(arun, wss)

    arun(main())
    assert [type(e) for e in arun.exceptions()] == [RuntimeError]


# -- verifyClient ----------------------------------------------------------------------


def test_verify_client_one_argument(arun: Any) -> None:
    async def main() -> None:
        infos: list[Any] = []

        def verify(info: Any) -> bool:
            infos.append(info)
            return bool(info["req"].headers.get("x-ok") == "1")

        wss, port = await start(arun, verifyClient=verify)
        status, _, body = await response_of(
            port, GOOD_REQUEST.format(path="/", extra="Origin: http://o\r\n")
        )
        assert (status, body) == (401, b"Unauthorized")
        info = infos[0]
        assert info.origin == info["origin"] == "http://o"
        assert info.secure is False and info["secure"] is False
        assert info.req.url == "/"
        ws = WebSocket(f"ws://{HOST}:{port}/", headers={"X-Ok": "1"})
        await arun.within(arun.event(ws, "open"))
        await stop(arun, wss)

    arun(main())


def test_verify_client_two_arguments(arun: Any) -> None:
    async def main() -> None:
        def verify(info: Any, cb: Any) -> None:
            loop = asyncio.get_running_loop()
            if info.req.url == "/ok":
                loop.call_soon(cb, True)
            else:
                loop.call_soon(cb, False, 403, "Go away", {"X-Reason": "test"})

        wss, port = await start(arun, verify_client=verify)
        status, head, body = await response_of(
            port, GOOD_REQUEST.format(path="/no", extra="")
        )
        assert status == 403
        assert head.startswith("HTTP/1.1 403 Forbidden\r\n")  # standard phrase
        assert "X-Reason: test" in head
        assert body == b"Go away"
        ws = WebSocket(f"ws://{HOST}:{port}/ok")
        await arun.within(arun.event(ws, "open"))
        await stop(arun, wss)

    arun(main())


def test_verify_client_two_arguments_default_code(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun, verifyClient=lambda info, cb: cb(False))
        status, _, body = await response_of(
            port, GOOD_REQUEST.format(path="/", extra="")
        )
        assert (status, body) == (401, b"Unauthorized")
        await stop(arun, wss)

    arun(main())


def test_verify_client_async(arun: Any) -> None:
    async def main() -> None:
        reading: list[bool] = []

        async def verify(info: Any) -> bool:
            # While the answer is pending the socket is read on (bounded by
            # HOLD_LIMIT), so a FIN is seen (test_hardening.py).
            reading.append(info.req.socket.transport.is_reading())
            await asyncio.sleep(0)  # a real suspension point
            return bool(info.req.url == "/ok")

        wss, port = await start(arun, verifyClient=verify)
        status, _, _ = await response_of(port, GOOD_REQUEST.format(path="/", extra=""))
        assert status == 401
        ws = WebSocket(f"ws://{HOST}:{port}/ok")
        await arun.within(arun.event(ws, "open"))
        # Data sent right after the upgrade, while verifyClient ran, is kept.
        got = arun.event(ws, "message")
        next(iter(wss.clients or ())).send("hello")
        (data, _) = await arun.within(got)
        assert data == b"hello"
        assert reading == [True, True]
        server_ws = next(iter(wss.clients or ()))
        assert server_ws._conn.transport.is_reading()
        ws.terminate()
        await stop(arun, wss)

    arun(main())


# -- handleProtocols, path -------------------------------------------------------------


def test_handle_protocols(arun: Any) -> None:
    async def main() -> None:
        calls: list[Any] = []

        def choose(protocols: Any, req: Any) -> Any:
            calls.append((list(protocols), req.url))
            return "b" if "b" in protocols else False

        wss, port = await start(arun, handleProtocols=choose)
        ws = WebSocket(f"ws://{HOST}:{port}/x", ["a", "b"])
        await arun.within(arun.event(ws, "open"))
        assert ws.protocol == "b"
        assert calls == [(["a", "b"], "/x")]
        # A falsy return: no protocol header; the client fails as ws does.
        ws2 = WebSocket(f"ws://{HOST}:{port}/", ["c"])
        errors: list[str] = []
        ws2.on("error", lambda e: errors.append(str(e)))
        code, _ = await arun.within(arun.event(ws2, "close"))
        assert code == 1006
        assert errors == ["Server sent no subprotocol"]
        await stop(arun, wss)

    arun(main())


def test_path_option(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun, path="/ws")
        status, _, body = await response_of(
            port, GOOD_REQUEST.format(path="/other", extra="")
        )
        assert (status, body) == (400, b"Bad Request")
        ws = WebSocket(f"ws://{HOST}:{port}/ws?q=1")
        await arun.within(arun.event(ws, "open"))
        await stop(arun, wss)

    arun(main())


# -- clientTracking --------------------------------------------------------------------


def test_client_tracking(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        conn = arun.event(wss, "connection")
        ws = WebSocket(f"ws://{HOST}:{port}/")
        opened = arun.event(ws, "open")
        sws, _ = await arun.within(conn)
        assert wss.clients == {sws}
        server_closed = arun.event(sws, "close")
        await arun.within(opened)  # close() in CONNECTING would abort instead
        ws.close()
        await arun.within(server_closed)
        assert wss.clients == set()
        await stop(arun, wss)
        untracked, port2 = await start(arun, clientTracking=False)
        assert untracked.clients is None
        await stop(arun, untracked)

    arun(main())


# -- wsClientError ---------------------------------------------------------------------


def test_ws_client_error_listener_writes_the_response(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        seen: list[Any] = []

        def on_client_error(err: Any, sock: Any, req: Any) -> None:
            seen.append((str(err), req.method, sock.remoteAddress))
            sock.end("HTTP/1.1 400 Bad Request\r\n\r\n")

        wss.on("wsClientError", on_client_error)
        bad = GOOD_REQUEST.format(path="/", extra="").replace(
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""
        )
        peer = await raw_request(port, bad)
        await peer.wait_eof()
        peer.close()
        assert peer.head is not None
        assert peer.head.raw == b"HTTP/1.1 400 Bad Request\r\n\r\n"
        assert bytes(peer.raw) == b""
        assert seen == [("Missing or invalid Sec-WebSocket-Key header", "GET", HOST)]
        await stop(arun, wss)

    arun(main())


def test_ws_client_error_default_response(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        bad = GOOD_REQUEST.format(path="/", extra="").replace(
            "Version: 13", "Version: 12"
        )
        status, head, body = await response_of(port, bad)
        assert status == 400
        assert "Sec-WebSocket-Version: 13, 8" in head
        assert body == b"Missing or invalid Sec-WebSocket-Version header"
        await stop(arun, wss)

    arun(main())


# -- noServer + handleUpgrade ----------------------------------------------------------


async def _exchange(arun: Any, port: int, path: str = "/") -> None:
    """A pyws client connects, sends 'x', expects it back, closes."""
    ws = WebSocket(f"ws://{HOST}:{port}{path}")
    got = arun.event(ws, "message")
    ws.on("open", lambda: ws.send("x"))
    (data, _) = await arun.within(got)
    assert data == b"x"
    closed = arun.event(ws, "close")
    ws.close()
    await arun.within(closed)


def _echo(ws: Any, req: Any) -> None:
    ws.on("message", lambda data, b: ws.send(data, binary=b))


def test_no_server_with_read_upgrade_request(arun: Any) -> None:
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
            req, nsock, head = await pyws.read_upgrade_request(conn, timeout=5)
            assert req.url == "/own"
            assert isinstance(nsock, pyws.NodeSocket)

            def done(ws: Any, request: Any) -> None:
                _echo(ws, request)
                upgraded.set_result(ws)

            wss.handleUpgrade(req, nsock, head, done)
            with pytest.raises(Exception) as info:
                wss.handle_upgrade(req, nsock, head, done)
            assert "was called more than once with the same socket" in str(info.value)

        task = loop.create_task(serve_one())
        await _exchange(arun, port, "/own")
        await arun.within(task)
        server_ws = await arun.within(upgraded)
        if server_ws.readyState != WebSocket.CLOSED:
            # The server side closes on the client's FIN, after the client.
            await arun.within(arun.event(server_ws, "close"))
        assert server_ws.readyState == WebSocket.CLOSED
        listener.close()
        closed = arun.event(wss, "close")
        wss.close()
        await arun.within(closed)

    arun(main())


def test_no_server_with_a_plain_socket(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        wss = WebSocketServer(noServer=True)
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]

        async def serve_one() -> None:
            conn, _ = await loop.sock_accept(listener)
            parser = RequestParser()
            req = None
            while req is None:
                data = await loop.sock_recv(conn, 4096)
                assert data, "client closed early"
                req = parser.feed(data)
            wss.handleUpgrade(req, conn, parser.tail, _echo)

        task = loop.create_task(serve_one())
        await _exchange(arun, port)
        await arun.within(task)
        listener.close()
        closed = arun.event(wss, "close")
        wss.close()
        await arun.within(closed)

    arun(main())


def test_no_server_with_an_asyncio_transport(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        wss = WebSocketServer(noServer=True)
        requests: list[Any] = []

        class Http(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                assert isinstance(transport, asyncio.Transport)
                self.transport = transport
                self.parser = RequestParser()

            def data_received(self, data: bytes) -> None:
                req = self.parser.feed(data)
                if req is not None:
                    requests.append(req)
                    wss.handleUpgrade(req, self.transport, self.parser.tail, _echo)

        server = await loop.create_server(Http, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        await _exchange(arun, port)
        assert requests[0].socket.remoteAddress == HOST
        server.close()
        await server.wait_closed()
        closed = arun.event(wss, "close")
        wss.close()
        await arun.within(closed)

    arun(main())


def test_handle_upgrade_rejects_other_socket_types(arun: Any) -> None:
    async def main() -> None:
        wss = WebSocketServer(noServer=True)
        with pytest.raises(TypeError):
            wss.handleUpgrade(object(), object(), b"", _echo)  # type: ignore[arg-type]
        closed = arun.event(wss, "close")
        wss.close()
        await arun.within(closed)

    arun(main())


# -- close(cb) (docs/server.md, Methods and properties) --------------------------------


def test_close_callback_and_closing_twice(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        wss, _ = await start(arun)
        first = loop.create_future()
        close_events: list[str] = []
        wss.on("close", lambda: close_events.append("close"))
        wss.close(lambda *args: first.set_result(args))
        assert await arun.within(first) == ()
        assert close_events == ["close"]
        # Already closed: cb gets an error, and 'close' is emitted again.
        second = loop.create_future()
        again = arun.event(wss, "close")
        wss.close(lambda *args: second.set_result(args))
        (err,) = await arun.within(second)
        assert str(err) == "The server is not running"
        await arun.within(again)
        assert close_events == ["close", "close"]

    arun(main())


def test_close_keeps_existing_connections(arun: Any) -> None:
    """ws 8: close() stops accepting; existing connections stay open, and
    'close' comes after the last one has closed."""

    async def main() -> None:
        wss, port = await start(arun)
        wss.on("connection", _echo)
        ws = WebSocket(f"ws://{HOST}:{port}/")
        await arun.within(arun.event(ws, "open"))
        server_closed = arun.event(wss, "close")
        wss.close()
        got = arun.event(ws, "message")
        ws.send("after close()")
        (data, _) = await arun.within(got)
        assert data == b"after close()"
        assert not server_closed.done()
        assert ws.readyState == ws.OPEN
        # A new connection is refused now.
        refused = WebSocket(f"ws://{HOST}:{port}/")
        refused.on("error", lambda e: None)
        await arun.within(arun.event(refused, "close"))
        ws.close()
        await arun.within(server_closed)

    arun(main())


def test_no_server_close_then_upgrade_gets_503(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        wss = WebSocketServer(noServer=True)
        closed = arun.event(wss, "close")
        wss.close()
        await arun.within(closed)
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]

        async def serve_one() -> None:
            conn, _ = await loop.sock_accept(listener)
            req, nsock, head = await pyws.read_upgrade_request(conn, timeout=5)
            wss.handleUpgrade(req, nsock, head, _echo)

        task = loop.create_task(serve_one())
        status, _, body = await response_of(
            port, GOOD_REQUEST.format(path="/", extra="")
        )
        await arun.within(task)
        assert (status, body) == (503, b"Service Unavailable")
        listener.close()

    arun(main())


# -- the request head's timeout (HEADERS_TIMEOUT, 408) ---------------------------------


def test_head_timeout_is_one_timer_for_the_oldest_head(
    arun: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A head that does not arrive in time gets 408 and the socket closes,
    as Node's ``headersTimeout``; one server timer waits for the oldest head
    being read, and a head that arrived in time is not touched."""
    timeout = 300 * MS
    monkeypatch.setattr("pyws._server.HEADERS_TIMEOUT", timeout)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        wss, port = await start(arun)
        deadlines = wss._deadlines
        assert deadlines is not None and deadlines.timer is None
        before = loop.time()
        slow = await RawPeer.connect(HOST, port, handshake=False)
        slow.send_raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no end of head
        conn = arun.event(wss, "connection")
        fast = await raw_request(port, GOOD_REQUEST.format(path="/", extra=""))
        assert fast.head is not None and fast.head.status == 101
        (ws, _req) = await arun.within(conn)
        after = loop.time()
        # One timer, for the slow head (the first one connected).
        timer = deadlines.timer
        assert timer is not None
        assert before + timeout <= timer.when() <= after + timeout
        assert len(deadlines) == 1

        later = await RawPeer.connect(HOST, port, handshake=False)
        later.send_raw(b"GET / HTTP/1.1\r\n")
        await arun.within(slow.wait_eof(TIMEOUT))
        assert slow.head is not None and slow.head.status == 408
        assert b"Request Timeout" in slow.head.raw
        # Re-armed for the later head, unless it expired in the same pass.
        timer = deadlines.timer
        if len(deadlines):
            assert timer is not None and timer.when() >= after + timeout
        else:
            assert timer is None and later.eof_time is not None
        assert ws.readyState == WebSocket.OPEN
        await arun.within(later.wait_eof(TIMEOUT))
        assert later.head is not None and later.head.status == 408
        assert deadlines.timer is None and len(deadlines) == 0
        for peer in (slow, fast, later):
            peer.close()
        ws.terminate()
        await stop(arun, wss)
        assert deadlines.timer is None

    arun(main())


def test_remote_family_over_ipv6(arun: Any) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 cannot be bound here")

    async def main() -> None:
        wss = WebSocketServer(port=0, host="::1")
        await arun.within(arun.event(wss, "listening"))
        port = wss.address()["port"]  # type: ignore[index]
        conn = arun.event(wss, "connection")
        ws = WebSocket(f"ws://[::1]:{port}/")
        opened = arun.event(ws, "open")
        (server_ws, req) = await arun.within(conn)
        await arun.within(opened)  # else terminate() fails the handshake
        assert req.socket.remoteFamily == "IPv6"
        assert req.socket.remoteAddress == "::1"
        ws.terminate()
        await stop(arun, wss)

    arun(main())


def test_connections_get_their_own_servers_settings(arun: Any) -> None:
    """Settings read once per server's options: connections of two servers,
    opened in turns, each get their server's."""

    async def main() -> None:
        small, small_port = await start(arun, maxPayload=1000, closeTimeout=700)
        big, big_port = await start(arun, maxPayload=5000)
        clients = []
        for wss, port, payload, close_ms in (
            (small, small_port, 1000, 700),
            (big, big_port, 5000, 30000),
            (small, small_port, 1000, 700),
        ):
            conn = arun.event(wss, "connection")
            client = WebSocket(f"ws://{HOST}:{port}/")
            clients.append(client)
            opened = arun.event(client, "open")
            (ws, _req) = await arun.within(conn)
            await arun.within(opened)  # else terminate() fails the handshake
            assert ws._proto.receiver.max_payload == payload
            assert ws._proto.close_timeout_ms == close_ms
        for client in clients:
            client.terminate()
        await stop(arun, small)
        await stop(arun, big)

    arun(main())
