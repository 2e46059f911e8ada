"""Your own asyncio server in ``noServer`` mode (issue 10 items 5 and 6),
over 127.0.0.1.

``read_upgrade_request`` with the ``(reader, writer)`` pair of
``asyncio.start_server`` (plain and TLS: bytes sent right after the head
reach the WebSocket), with a ``socket.socket`` (plain and ``ssl=``), and its
``TypeError``s; ``handleUpgrade`` with request objects that are not pyws's
(headers as a dict with lower-case names, a Mapping, a multidict, a list
of pairs) and the ``TypeError`` naming what is wrong; the ``NodeSocket``
as an EventEmitter: ``'error'``/``'close'`` listeners on a rejected
socket, ``'data'``/``'end'`` on a plain HTTP request, ``write(data, cb)``,
``'close'`` after the upgraded WebSocket closed.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import struct
import subprocess
import types
from pathlib import Path
from typing import Any

import pytest
from helpers.rawpeer import build_frame, parse_frames

import pyws
from pyws import WebSocket, WebSocketServer

HOST = "127.0.0.1"

REQUEST = (
    "GET {path} HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n"
)
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def echo(ws: Any) -> None:
    ws.on("message", lambda data, is_binary: ws.send(data, binary=is_binary))


async def close_server(arun: Any, wss: WebSocketServer) -> None:
    closed = arun.event(wss, "close")
    for ws in list(wss.clients or ()):
        ws.terminate()
    wss.close()
    await arun.within(closed, "the server's 'close'")


def own_server(wss: WebSocketServer, seen: list[Any]) -> Any:
    """The README's program: a health check and WebSocket upgrades."""

    async def on_client(reader: Any, writer: Any) -> None:
        req, sock, head = await pyws.read_upgrade_request((reader, writer), timeout=5)
        seen.append(req)
        if req.url == "/health":
            sock.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            return
        wss.handleUpgrade(req, sock, head, echo)

    return on_client


async def raw_upgrade_then_frame(port: int, ctx: ssl.SSLContext | None) -> bytes:
    """Send the head and a masked text frame in one write; return the echo."""
    reader, writer = await asyncio.open_connection(HOST, port, ssl=ctx)
    frame = build_frame(1, b"early bird", mask=b"\x01\x02\x03\x04")
    writer.write(REQUEST.format(path="/ws").encode() + frame)
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101 ")
    assert f"Sec-WebSocket-Accept: {ACCEPT}".encode() in response
    data = b""
    while not parse_frames(data)[0]:
        chunk = await reader.read(4096)
        assert chunk, "closed before the echo"
        data += chunk
    writer.close()
    await writer.wait_closed()
    return bytes(parse_frames(data)[0][0].payload)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(crt), "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return key, crt


def contexts(cert: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key, crt = cert
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(crt, key)
    client_ctx = ssl.create_default_context(cafile=str(crt))
    return server_ctx, client_ctx


# -- read_upgrade_request ---------------------------------------------------------


def test_start_server_pair_with_a_health_check(arun: Any) -> None:
    async def main() -> None:
        wss = WebSocketServer(noServer=True)
        seen: list[Any] = []
        server = await asyncio.start_server(own_server(wss, seen), HOST, 0)
        port = server.sockets[0].getsockname()[1]
        # The health check: a plain HTTP request.
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await arun.within(reader.read(), "the health check's answer")
        assert answer == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        writer.close()
        await writer.wait_closed()
        # A pyws client, then bytes sent in the same write as the head.
        client = WebSocket(f"ws://{HOST}:{port}/ws")
        await arun.within(client.wait_open())
        client.send("hi")
        assert await arun.within(pyws.once(client, "message")) == [b"hi", False]
        closed = arun.event(client, "close")
        client.close()
        await arun.within(closed)
        assert await arun.within(raw_upgrade_then_frame(port, None)) == b"early bird"
        assert [r.url for r in seen] == ["/health", "/ws", "/ws"]
        assert seen[1].socket.remoteAddress == HOST
        server.close()
        await server.wait_closed()
        await close_server(arun, wss)

    arun(main())


def test_start_server_pair_over_tls(arun: Any, cert: tuple[Path, Path]) -> None:
    async def main() -> None:
        server_ctx, client_ctx = contexts(cert)
        wss = WebSocketServer(noServer=True)
        seen: list[Any] = []
        server = await asyncio.start_server(
            own_server(wss, seen), HOST, 0, ssl=server_ctx
        )
        port = server.sockets[0].getsockname()[1]
        echoed = await arun.within(raw_upgrade_then_frame(port, client_ctx))
        assert echoed == b"early bird"
        assert seen[0].socket.encrypted
        server.close()
        await server.wait_closed()
        await close_server(arun, wss)

    arun(main())


@pytest.mark.parametrize("tls", [False, True])
def test_plain_socket_with_and_without_ssl(
    arun: Any, cert: tuple[Path, Path], tls: bool
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server_ctx, client_ctx = contexts(cert)
        wss = WebSocketServer(noServer=True)
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        secure = loop.create_future()

        async def serve_one() -> None:
            conn, _ = await loop.sock_accept(listener)
            req, sock, head = await pyws.read_upgrade_request(
                conn, 5, ssl=server_ctx if tls else None
            )
            secure.set_result(sock.encrypted)
            wss.handleUpgrade(req, sock, head, echo)

        task = loop.create_task(serve_one())
        echoed = await arun.within(
            raw_upgrade_then_frame(port, client_ctx if tls else None)
        )
        assert echoed == b"early bird"
        await arun.within(task)
        assert await secure is tls
        listener.close()
        await close_server(arun, wss)

    arun(main())


def test_read_upgrade_request_type_errors(arun: Any, cert: tuple[Path, Path]) -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="not object"):
            await pyws.read_upgrade_request(object())
        with pytest.raises(TypeError, match=r"\(reader, writer\) pair"):
            await pyws.read_upgrade_request(("a", "b"))
        server_ctx, _ = contexts(cert)
        a, b = socket.socketpair()
        wrapped = server_ctx.wrap_socket(
            a, server_side=True, do_handshake_on_connect=False
        )
        try:
            with pytest.raises(TypeError, match="ssl.SSLSocket"):
                await pyws.read_upgrade_request(wrapped)
        finally:
            wrapped.close()
            b.close()

    arun(main())


# -- handleUpgrade with other request objects -------------------------------------


def reshape(headers: dict[str, Any], shape: str) -> Any:
    """Node's ``req.headers`` (lower-case names) in another container."""
    import multidict

    pairs = [(k.title(), v) for k, v in headers.items()]
    if shape == "node-dict":
        return dict(headers)
    if shape == "mapping":
        return types.MappingProxyType(dict(headers))
    if shape == "multidict":
        return multidict.CIMultiDict(pairs)
    if shape == "pairs":
        return pairs
    assert shape == "asgi"
    return [(k.encode(), v.encode()) for k, v in headers.items()]


@pytest.mark.parametrize(
    "shape", ["node-dict", "mapping", "multidict", "pairs", "asgi"]
)
def test_handle_upgrade_with_any_request_object(arun: Any, shape: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        verified: list[Any] = []
        wss = WebSocketServer(
            noServer=True, verifyClient=lambda info: verified.append(info.req) or True
        )
        upgraded = loop.create_future()
        requests: list[Any] = []

        async def on_client(reader: Any, writer: Any) -> None:
            parsed, sock, head = await pyws.read_upgrade_request((reader, writer), 5)
            request = types.SimpleNamespace(
                method=parsed.method,
                url=parsed.url,
                headers=reshape(parsed.headers, shape),
            )
            requests.append(request)
            wss.handleUpgrade(
                request, sock, head, lambda ws, req: upgraded.set_result((ws, req))
            )

        server = await asyncio.start_server(on_client, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        client = WebSocket(f"ws://{HOST}:{port}/x?y=1")
        await arun.within(client.wait_open())
        ws, req = await arun.within(upgraded)
        assert req is requests[0] and verified == requests  # the caller's object
        assert req.url == "/x?y=1"
        assert isinstance(req.socket, pyws.NodeSocket)
        closed = arun.event(ws, "close")
        client.close()
        await arun.within(closed)
        server.close()
        await server.wait_closed()
        await close_server(arun, wss)

    arun(main())


@pytest.mark.parametrize(
    ("request_obj", "message"),
    [
        (object(), "has no method, url, headers"),
        (types.SimpleNamespace(method="GET", url="/"), "has no headers"),
        (
            types.SimpleNamespace(method=b"GET", url="/", headers={}),
            "request.method must be a str, not bytes",
        ),
        (
            types.SimpleNamespace(method="GET", url=1, headers={}),
            "request.url must be a str",
        ),
        (
            types.SimpleNamespace(method="GET", url="/", headers="upgrade"),
            "request.headers must be a dict",
        ),
        (
            types.SimpleNamespace(method="GET", url="/", headers=[("a", "b", "c")]),
            r"must hold \(name, value\) pairs",
        ),
        (
            types.SimpleNamespace(method="GET", url="/", headers={"upgrade": None}),
            "header 'upgrade' must be a str, not NoneType",
        ),
    ],
)
def test_handle_upgrade_names_what_is_wrong(
    arun: Any, request_obj: Any, message: str
) -> None:
    async def main() -> None:
        wss = WebSocketServer(noServer=True)
        a, b = socket.socketpair()
        try:
            with pytest.raises(TypeError, match=message):
                wss.handleUpgrade(request_obj, a, b"", echo)
        finally:
            a.close()
            b.close()
        await close_server(arun, wss)

    arun(main())


# -- NodeSocket, an EventEmitter -------------------------------------------------


def test_rejected_socket_emits_close_and_write_callback(arun: Any) -> None:
    """ws's README client authentication: socket.on('error', ...), write a
    401, destroy()."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        events: list[Any] = []
        closed = loop.create_future()

        async def on_client(reader: Any, writer: Any) -> None:
            req, sock, head = await pyws.read_upgrade_request((reader, writer), 5)
            assert isinstance(sock, pyws.NodeSocket)
            assert sock.on("error", lambda err: events.append(("error", err))) is sock
            sock.on("close", lambda had_error: closed.set_result(had_error))
            sock.write(
                "HTTP/1.1 401 Unauthorized\r\n\r\n",
                lambda: (events.append("written"), sock.destroy()),
            )

        server = await asyncio.start_server(on_client, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(REQUEST.format(path="/").encode())
        answer = await arun.within(reader.read())
        assert answer == b"HTTP/1.1 401 Unauthorized\r\n\r\n"
        assert await arun.within(closed) is False
        assert events == ["written"]
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    arun(main())


def test_data_and_end_events_on_a_plain_request(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        got: list[Any] = []
        ended = loop.create_future()

        async def on_client(reader: Any, writer: Any) -> None:
            req, sock, head = await pyws.read_upgrade_request((reader, writer), 5)
            got.append(head)  # body bytes that came with the head
            sock.on("data", got.append)
            sock.on(
                "end",
                lambda: (
                    sock.end(b"HTTP/1.1 204 No Content\r\n\r\n"),
                    ended.set_result(None),
                ),
            )

        server = await asyncio.start_server(on_client, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nabcd")
        await writer.drain()
        # The rest of the body once the server holds the socket: poll-free,
        # the server's 'data' listener is added before reading resumes.
        writer.write(b"efgh")
        writer.write_eof()
        await arun.within(ended)
        assert b"".join(got) == b"abcdefgh"
        assert await arun.within(reader.read()) == b"HTTP/1.1 204 No Content\r\n\r\n"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    arun(main())


def test_upgraded_socket_emits_close_with_the_websocket(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        wss = WebSocketServer(noServer=True)
        socket_closed = loop.create_future()
        upgraded = loop.create_future()

        async def on_client(reader: Any, writer: Any) -> None:
            req, sock, head = await pyws.read_upgrade_request((reader, writer), 5)
            sock.on("close", lambda *a: socket_closed.set_result(a))
            wss.handleUpgrade(req, sock, head, lambda ws: upgraded.set_result(ws))

        server = await asyncio.start_server(on_client, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        client = WebSocket(f"ws://{HOST}:{port}/")
        await arun.within(client.wait_open())
        ws = await arun.within(upgraded)
        assert not socket_closed.done()
        client.close()
        await arun.within(ws.wait_closed())
        assert await arun.within(socket_closed) == (False,)
        server.close()
        await server.wait_closed()
        await close_server(arun, wss)

    arun(main())


def test_reset_emits_error_then_close_with_had_error(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        events: list[Any] = []
        closed = loop.create_future()
        listening = loop.create_future()

        async def on_client(reader: Any, writer: Any) -> None:
            req, sock, head = await pyws.read_upgrade_request((reader, writer), 5)
            sock.on("error", lambda err: events.append(type(err).__name__))
            sock.on("close", closed.set_result)
            sock.on("data", events.append)  # flowing: the reset is read
            listening.set_result(None)

        server = await asyncio.start_server(on_client, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        client = socket.create_connection((HOST, port))
        client.sendall(REQUEST.format(path="/").encode())
        await arun.within(listening)
        # SO_LINGER 0: close() sends an RST.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        assert await arun.within(closed) is True
        assert events == ["ConnectionResetError"]
        server.close()
        await server.wait_closed()

    arun(main())
