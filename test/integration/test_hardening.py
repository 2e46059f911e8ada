"""Regression tests of issue 9 on 127.0.0.1: no peer takes the server down.

- a FIN before a complete request head closes the socket at once (it used
  to sit in CLOSE-WAIT until the 60 s head timeout);
- a FIN while an ``async`` ``verifyClient`` is pending destroys the socket
  and emits no ``'connection'`` (as ws);
- a request line such as ``GET /\\n`` gets a 400 and no loop report (it used
  to raise ``ValueError`` inside ``data_received``); ``read_upgrade_request``
  raises :class:`pyws.handshake.HTTPParseError` for it;
- HTTP/1.0, no ``Host`` and two ``Host`` lines get a 400 in ws's style;
- ``maxConnections`` and ``maxPendingHandshakes`` refuse the extra socket;
- a server out of file descriptors (a subprocess with a low
  ``RLIMIT_NOFILE``) reports it once, does not spin, and lets a normal
  client in once descriptors are free.

Every wait is bounded (``arun.within`` or the raw peer's timeouts).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # test/helpers

from conftest import start_server as start  # noqa: E402
from conftest import stop_server as stop
from helpers.rawpeer import RawPeer  # noqa: E402

import pyws  # noqa: E402
from pyws import WebSocket, WebSocketServer  # noqa: E402
from pyws.handshake import HTTPParseError  # noqa: E402

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]

REQUEST = (
    "GET / HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n"
)


async def answer(port: int, data: bytes) -> tuple[RawPeer, bytes]:
    """Send ``data``; return the peer and all it got up to the server's FIN."""
    peer = await RawPeer.connect(HOST, port, handshake=False, expect_head=False)
    peer.send_raw(data)
    await peer.wait_eof(timeout=2.0)
    peer.close()
    return peer, bytes(peer.raw)


# -- FIN during the opening handshake -------------------------------------------


@pytest.mark.parametrize("sent", [b"", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"])
def test_fin_before_a_complete_head_closes_at_once(arun: Any, sent: bytes) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        peer = await RawPeer.connect(HOST, port, handshake=False, expect_head=False)
        peer.send_raw(sent)
        peer.write_eof()
        # Within a second, not the 60 s head timeout; nothing is written.
        await peer.wait_eof(timeout=1.0)
        assert peer.raw == b""
        peer.close()
        await stop(arun, wss)
        assert not wss._handshaking

    arun(main())


def test_fin_while_async_verify_client_is_pending(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        asked: asyncio.Future[None] = loop.create_future()
        verdict: asyncio.Future[bool] = loop.create_future()
        connections: list[Any] = []

        async def verify(info: Any) -> bool:
            asked.set_result(None)
            return await verdict

        wss, port = await start(arun, verifyClient=verify)
        wss.on("connection", lambda ws, req: connections.append(ws))
        peer = await RawPeer.connect(HOST, port, handshake=False)
        peer.send_raw(REQUEST.encode())
        await arun.within(asked, "verifyClient")
        peer.write_eof()
        # ws destroys the socket: no 101, no 'connection'.
        await peer.wait_eof(timeout=1.0)
        verdict.set_result(True)
        await asyncio.sleep(0)  # let the verdict run (it finds the socket gone)
        assert peer.head is None and peer.raw == b""
        assert connections == []
        peer.close()
        await stop(arun, wss)

    arun(main())


# -- malformed heads ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"GET /\n\r\n", b"GET /\r\n\r\n", b"GET / HTTP/1.1\nHost: x\n\n", b"\x00\r\n\r\n"],
)
def test_malformed_head_gets_400_and_no_report(arun: Any, data: bytes) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        _, got = await answer(port, data)
        assert got.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        await stop(arun, wss)
        # arun fails the test on any loop exception report.

    arun(main())


@pytest.mark.parametrize(
    ("request_", "body"),
    [
        (REQUEST.replace("HTTP/1.1", "HTTP/1.0"), b"Invalid HTTP version"),
        (REQUEST.replace("Host: 127.0.0.1\r\n", ""), b"Missing or invalid Host header"),
        (
            REQUEST[:-2] + "Host: evil.example\r\n\r\n",
            b"Missing or invalid Host header",
        ),
    ],
)
def test_http_version_and_host_get_400(arun: Any, request_: str, body: bytes) -> None:
    async def main() -> None:
        wss, port = await start(arun)
        connections: list[Any] = []
        wss.on("connection", lambda ws, req: connections.append(ws))
        _, got = await answer(port, request_.encode())
        assert got == (
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
            b"Content-Type: text/html\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert connections == []
        await stop(arun, wss)

    arun(main())


def test_read_upgrade_request_raises_http_parse_error(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        accepted = loop.create_task(loop.sock_accept(listener))
        peer = await RawPeer.connect(HOST, port, handshake=False, expect_head=False)
        conn, _ = await arun.within(accepted)
        peer.send_raw(b"GET /\n\r\n")
        with pytest.raises(HTTPParseError) as info:
            await pyws.read_upgrade_request(conn, timeout=2.0)
        assert info.value.status == 400
        assert info.value.code == "HPE_INVALID_VERSION"
        peer.close()
        listener.close()

    arun(main())


def test_read_upgrade_request_fails_at_once_on_fin(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        accepted = loop.create_task(loop.sock_accept(listener))
        peer = await RawPeer.connect(HOST, port, handshake=False, expect_head=False)
        conn, _ = await arun.within(accepted)
        peer.send_raw(b"GET / HTTP/1.1\r\n")
        peer.write_eof()
        start = loop.time()
        with pytest.raises(ConnectionError):
            await pyws.read_upgrade_request(conn, timeout=30.0)
        assert loop.time() - start < 5.0
        peer.close()
        listener.close()

    arun(main())


# -- maxConnections, maxPendingHandshakes -----------------------------------------


def test_max_connections_refuses_the_extra_socket(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun, max_connections=2)
        opened = arun.event(wss, "connection")
        first = await RawPeer.connect(HOST, port)
        await arun.within(opened)
        # One socket still in its handshake counts too.
        second = await RawPeer.connect(HOST, port, handshake=False)
        second.send_raw(b"GET / HTTP/1.1\r\n")
        third = await RawPeer.connect(HOST, port, handshake=False)
        third.send_raw(REQUEST.encode())
        await third.wait_eof(timeout=2.0)
        assert third.head is None
        assert wss._server is not None and wss._server.refused == 1  # type: ignore[union-attr]
        # Once one leaves, a new client gets in.
        second.write_eof()
        await second.wait_eof()
        for _ in range(100):  # the server's connection_lost is a call_soon away
            if len(wss._handshaking) == 0:
                break
            await asyncio.sleep(0)
        assert not wss._handshaking
        fourth = await RawPeer.connect(HOST, port)
        assert fourth.head is not None and fourth.head.status == 101
        for peer in (first, second, third, fourth):
            peer.close()
        await stop(arun, wss)

    arun(main())


def test_max_pending_handshakes(arun: Any) -> None:
    async def main() -> None:
        wss, port = await start(arun, maxPendingHandshakes=1)
        slow = await RawPeer.connect(HOST, port, handshake=False)
        slow.send_raw(b"GET / HTTP/1.1\r\n")
        await slow.wait_for(lambda: len(wss._handshaking) == 1, what="accept")
        refused = await RawPeer.connect(HOST, port, handshake=False)
        refused.send_raw(REQUEST.encode())
        await refused.wait_eof(timeout=2.0)
        assert refused.head is None
        # Upgraded connections do not count.
        slow.send_raw(REQUEST.split("\r\n", 1)[1].encode())
        await slow.wait_head()
        assert slow.head is not None and slow.head.status == 101
        ok = await RawPeer.connect(HOST, port)
        assert ok.head is not None and ok.head.status == 101
        for peer in (slow, refused, ok):
            peer.close()
        await stop(arun, wss)

    arun(main())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"maxConnections": -1}, "'maxConnections' must be >= 0"),
        ({"max_pending_handshakes": 1.5}, "'max_pending_handshakes' must be int"),
    ],
)
def test_limit_options_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        WebSocketServer(port=0, host=HOST, **options)


# -- out of file descriptors ---------------------------------------------------------

_EMFILE_SERVER = textwrap.dedent(
    """
    import asyncio, logging, resource, sys
    import pyws

    logging.basicConfig(format="REPORT %(name)s %(message)s", level=logging.WARNING)

    resource.setrlimit(
        resource.RLIMIT_NOFILE,
        (int(sys.argv[1]), resource.getrlimit(resource.RLIMIT_NOFILE)[1]),
    )

    def report(loop, context):  # anything else that would be logged
        print("REPORT", context["message"], file=sys.stderr, flush=True)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(report)
        wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
        await pyws.once(wss, "listening")
        print(wss.address()["port"], flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # until the test ends

    asyncio.run(main())
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_NOFILE semantics")
def test_out_of_descriptors_backs_off_and_recovers(arun: Any) -> None:
    limit = 40

    async def main() -> None:
        loop = asyncio.get_running_loop()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _EMFILE_SERVER,
            str(limit),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONASYNCIODEBUG": ""},
        )
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdin is not None
        try:
            port = int(await arun.within(proc.stdout.readline(), "the port"))
            # More idle sockets than the server has descriptors for.
            holders = [
                await RawPeer.connect(HOST, port, handshake=False)
                for _ in range(limit + 10)
            ]
            line = await arun.within(proc.stderr.readline(), "the report")
            assert b"REPORT pyws.server accept() failed (EMFILE)" in line
            client = WebSocket(f"ws://{HOST}:{port}/")
            opened = arun.event(client, "open")
            client.on("error", lambda err: None)
            await asyncio.sleep(0)  # let the client's connect start
            freed = loop.time()
            for peer in holders:
                peer.close()
            await arun.within(opened, "the client's 'open'")
            # In about a second (backoff 250 ms), not a minute.
            assert loop.time() - freed < 2000 * arun.MS
            client.close()
            await arun.within(arun.event(client, "close"))
        finally:
            proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 5.0)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
        errors = (await proc.stderr.read()).decode()
        # Once per streak of failures (asyncio: up to 100 a pass, each retried).
        assert errors.count("REPORT") <= 2, errors

    arun(main(), timeout=30.0)
