"""wss:// over TLS on 127.0.0.1: handshake, messages, closing.

TLS cannot half-close (no ``write_eof``), so the server's "close TCP first"
becomes a full close after its close frame; the client still waits for it.
The certificate is made for the test with the ``openssl`` command.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.rawpeer import scaled

import pyws

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl command is needed"
)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
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


def test_wss_echo_and_close(cert: tuple[Path, Path]) -> None:
    key, crt = cert

    async def main() -> None:
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(crt, key)
        wss = pyws.WebSocketServer(port=0, host="127.0.0.1", ssl=server_ctx)
        await pyws.once(wss, "listening", scaled(5))
        secure: list[Any] = []

        def on_connection(ws: pyws.WebSocket, req: Any) -> None:
            secure.append(req.socket.encrypted)
            ws.on("message", lambda data, is_binary: ws.send(data, binary=is_binary))

        wss.on("connection", on_connection)
        port = wss.address()["port"]  # type: ignore[index]
        ws = pyws.WebSocket(f"wss://127.0.0.1:{port}/", ca=str(crt))
        await ws.wait_open(scaled(5))
        big = bytes(range(256)) * 1000
        ws.send(big)
        data, is_binary = await pyws.once(ws, "message", scaled(5))
        assert (data, is_binary) == (big, True)
        ws.close(4000, "tls")
        assert await ws.wait_closed(scaled(5)) == (4000, b"tls")
        assert secure == [True]
        closed = asyncio.get_running_loop().create_future()
        wss.close(lambda *a: closed.set_result(None))
        await asyncio.wait_for(closed, scaled(5))

    asyncio.run(main())


def test_wss_rejects_an_unknown_certificate(cert: tuple[Path, Path]) -> None:
    key, crt = cert

    async def main() -> None:
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(crt, key)
        wss = pyws.WebSocketServer(port=0, host="127.0.0.1", ssl=server_ctx)
        await pyws.once(wss, "listening", scaled(5))
        port = wss.address()["port"]  # type: ignore[index]
        ws = pyws.WebSocket(f"wss://127.0.0.1:{port}/")  # no ca: not trusted
        errors: list[BaseException] = []
        ws.on("error", errors.append)
        assert (await ws.wait_closed(scaled(5)))[0] == 1006
        assert isinstance(errors[0], ssl.SSLCertVerificationError)
        # rejectUnauthorized: false accepts it, as in ws.
        ws2 = pyws.WebSocket(f"wss://127.0.0.1:{port}/", rejectUnauthorized=False)
        await ws2.wait_open(scaled(5))
        ws2.close()
        await ws2.wait_closed(scaled(5))
        closed = asyncio.get_running_loop().create_future()
        wss.close(lambda *a: closed.set_result(None))
        await asyncio.wait_for(closed, scaled(5))

    asyncio.run(main())


def test_heartbeat_keeps_a_paused_tls_connection(cert: tuple[Path, Path]) -> None:
    """Paused TLS: the pongs may sit decrypted inside the TLS layer, where
    the kernel's count of unread bytes cannot see them; the heartbeat gives
    no verdict then, and the pongs count once reading resumes."""
    key, crt = cert

    async def main() -> None:
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(crt, key)
        wss = pyws.WebSocketServer(
            port=0,
            host="127.0.0.1",
            ssl=server_ctx,
            pingInterval=scaled(0.1) * 1000,
            pingTimeout=scaled(0.1) * 1000,
        )
        await pyws.once(wss, "listening", scaled(5))
        port = wss.address()["port"]  # type: ignore[index]
        connected = asyncio.ensure_future(pyws.once(wss, "connection", scaled(5)))
        client = pyws.WebSocket(f"wss://127.0.0.1:{port}/", ca=str(crt))
        pings: list[bytes] = []
        client.on("ping", pings.append)  # autoPong answers each one
        await client.wait_open(scaled(5))
        ws, _req = await connected
        conn = ws._conn
        assert conn is not None
        # Count the heartbeat's timer firings (each gives a verdict, or none).
        fired: list[asyncio.Future[None]] = [
            asyncio.get_running_loop().create_future() for _ in range(4)
        ]
        on_heartbeat = conn._on_heartbeat

        def counted() -> None:
            on_heartbeat()
            for fut in fired:
                if not fut.done():
                    fut.set_result(None)
                    break

        conn._on_heartbeat = counted  # type: ignore[method-assign]
        ws.pause()
        await asyncio.wait_for(asyncio.gather(*fired), scaled(5))
        # One ping, answered; three timeouts passed without a verdict.
        assert len(pings) == 1
        assert ws.readyState == pyws.OPEN
        pong = asyncio.ensure_future(pyws.once(ws, "pong", scaled(5)))
        ws.resume()
        await pong
        assert ws.latency is not None
        client.close()
        await client.wait_closed(scaled(5))
        closed = asyncio.get_running_loop().create_future()
        wss.close(lambda *a: closed.set_result(None))
        await asyncio.wait_for(closed, scaled(5))

    asyncio.run(main())
