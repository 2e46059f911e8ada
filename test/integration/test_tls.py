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
import sys
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


# -- ws's tls.connect options ------------------------------------------------------


def openssl(*args: str) -> bytes:
    return subprocess.run(
        ["openssl", *args], check=True, capture_output=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def creds(cert: tuple[Path, Path]) -> dict[str, Any]:
    """The test certificate as PEM text, an encrypted key, a PKCS#12 file."""
    key, crt = cert
    d = key.parent
    enc = d / "key-enc.pem"
    openssl(
        "pkey", "-in", str(key), "-out", str(enc), "-aes256", "-passout", "pass:s3cret"
    )
    pfx = d / "bundle.p12"
    openssl(
        "pkcs12", "-export", "-in", str(crt), "-inkey", str(key), "-out", str(pfx),
        "-passout", "pass:s3cret",
    )  # fmt: skip
    fp = openssl("x509", "-in", str(crt), "-noout", "-fingerprint", "-sha256")
    return {
        "key": key.read_text(),
        "cert": crt.read_text(),
        "key_enc": enc.read_text(),
        "pfx_path": str(pfx),
        "pfx": pfx.read_bytes(),
        "fingerprint256": fp.decode().strip().split("=", 1)[1],
    }


def server_context(
    cert: tuple[Path, Path],
    *,
    client_ca: Path | None = None,
    max_version: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
    curve: str | None = None,
) -> ssl.SSLContext:
    key, crt = cert
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    if max_version is not None:
        ctx.maximum_version = max_version
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if curve is not None:
        ctx.set_ecdh_curve(curve)
    return ctx


async def start_server(ctx: ssl.SSLContext) -> tuple[pyws.WebSocketServer, int]:
    wss = pyws.WebSocketServer(port=0, host="127.0.0.1", ssl=ctx)
    await pyws.once(wss, "listening", scaled(5))
    return wss, wss.address()["port"]  # type: ignore[index]


async def stop_server(wss: pyws.WebSocketServer) -> None:
    for client in list(wss.clients):
        client.terminate()
    closed = asyncio.get_running_loop().create_future()
    wss.close(lambda *a: closed.set_result(None))
    await asyncio.wait_for(closed, scaled(5))


#: How a refused TLS handshake reaches the client: an alert (SSLError), a
#: reset, or (TLS 1.3, where the server checks the client's certificate
#: after the client finished) the server closing: "socket hang up".
REFUSED = (ssl.SSLError, ConnectionError, pyws.WebSocketError)


async def outcome(ws: pyws.WebSocket) -> BaseException | None:
    """Open then close normally (None), or the error the handshake failed with."""
    errors: list[BaseException] = []
    opened: list[bool] = []
    ws.on("error", errors.append)

    def on_open() -> None:
        opened.append(True)
        ws.close()

    ws.on("open", on_open)
    await ws.wait_closed(scaled(5))
    if errors:
        assert not opened
        return errors[0]
    assert opened
    return None


@pytest.mark.parametrize("as_bytes", [False, True])
def test_cert_and_key_as_pem_text(
    cert: tuple[Path, Path], creds: dict[str, Any], as_bytes: bool
) -> None:
    """Node takes certificates as their contents; they used to be read as
    file names (FileNotFoundError)."""

    def pem(name: str) -> str | bytes:
        text: str = creds[name]
        return text.encode() if as_bytes else text

    async def main() -> None:
        # The server requires a client certificate signed by the test cert.
        wss, port = await start_server(server_context(cert, client_ca=cert[1]))
        url = f"wss://127.0.0.1:{port}/"
        ok = pyws.WebSocket(url, ca=pem("cert"), cert=pem("cert"), key=pem("key"))
        assert await outcome(ok) is None
        # The same files by path still work.
        by_path = pyws.WebSocket(
            url, ca=str(cert[1]), cert=str(cert[1]), key=str(cert[0])
        )
        assert await outcome(by_path) is None
        # Without a client certificate the server refuses.
        refused = pyws.WebSocket(url, ca=[pem("cert")])
        assert isinstance(await outcome(refused), REFUSED)
        await stop_server(wss)

    asyncio.run(main())


def test_passphrase_and_pfx(cert: tuple[Path, Path], creds: dict[str, Any]) -> None:
    async def main() -> None:
        wss, port = await start_server(server_context(cert, client_ca=cert[1]))
        url = f"wss://127.0.0.1:{port}/"
        ca = creds["cert"]
        enc = pyws.WebSocket(
            url, ca=ca, cert=creds["cert"], key=creds["key_enc"], passphrase="s3cret"
        )
        assert await outcome(enc) is None
        pfx = pyws.WebSocket(url, ca=ca, pfx=creds["pfx"], passphrase="s3cret")
        assert await outcome(pfx) is None
        pfx_file = pyws.WebSocket(
            url, ca=ca, pfx=creds["pfx_path"], passphrase="s3cret"
        )
        assert await outcome(pfx_file) is None
        # A wrong passphrase is thrown by the constructor, as tls.connect throws.
        with pytest.raises(ssl.SSLError):
            pyws.WebSocket(
                url, cert=creds["cert"], key=creds["key_enc"], passphrase="no"
            )
        with pytest.raises(ValueError):
            pyws.WebSocket(url, pfx=creds["pfx"], passphrase="no")
        await stop_server(wss)

    asyncio.run(main())


def test_ciphers_versions_and_curve(
    cert: tuple[Path, Path], creds: dict[str, Any]
) -> None:
    async def main() -> None:
        ctx = server_context(
            cert,
            max_version=ssl.TLSVersion.TLSv1_2,
            ciphers="ECDHE-RSA-AES128-GCM-SHA256",
            curve="secp384r1",
        )
        wss, port = await start_server(ctx)
        url = f"wss://127.0.0.1:{port}/"
        ca = creds["cert"]

        async def attempt(**options: Any) -> BaseException | None:
            return await outcome(pyws.WebSocket(url, ca=ca, **options))

        assert await attempt() is None
        assert await attempt(ciphers="ECDHE-RSA-AES128-GCM-SHA256") is None
        assert isinstance(
            await attempt(ciphers="ECDHE-RSA-AES256-GCM-SHA384", maxVersion="TLSv1.2"),
            REFUSED,
        )
        assert isinstance(await attempt(minVersion="TLSv1.3"), REFUSED)
        assert await attempt(max_version="TLSv1.2", min_version="TLSv1.2") is None
        assert await attempt(ecdhCurve="P-384") is None
        assert await attempt(ecdh_curve="auto") is None
        assert isinstance(await attempt(ecdhCurve="P-256"), REFUSED)
        await stop_server(wss)

    asyncio.run(main())


def test_tls_option_errors(creds: dict[str, Any]) -> None:
    url = "wss://127.0.0.1:1/"
    with pytest.raises(ValueError, match="'minVersion' must be one of"):
        pyws.WebSocket(url, minVersion="TLSv1.4")
    with pytest.raises(ValueError, match="sets one curve"):
        pyws.WebSocket(url, ecdhCurve="P-256:P-384")
    with pytest.raises(ssl.SSLError):
        pyws.WebSocket(url, ciphers="NO-SUCH-CIPHER")
    with pytest.raises(TypeError, match="cannot be combined with 'ca'"):
        pyws.WebSocket(url, ssl=ssl.create_default_context(), ca=creds["cert"])
    with pytest.raises(TypeError, match="'key' needs 'cert'"):
        pyws.WebSocket(url, key=creds["key"])


def test_check_server_identity(cert: tuple[Path, Path], creds: dict[str, Any]) -> None:
    """Node calls checkServerIdentity(servername, cert) instead of its host
    name check; returning an Error refuses the server."""

    async def main() -> None:
        wss, port = await start_server(server_context(cert))
        # The certificate names 127.0.0.1 only: 'localhost' fails the
        # default host name check.
        url = f"wss://localhost:{port}/"
        ca = creds["cert"]
        err = await outcome(pyws.WebSocket(url, ca=ca))
        assert isinstance(err, ssl.SSLCertVerificationError)
        seen: list[tuple[str, dict[str, Any]]] = []

        def accept(host: str, peer: dict[str, Any]) -> None:
            seen.append((host, peer))

        assert (
            await outcome(pyws.WebSocket(url, ca=ca, checkServerIdentity=accept))
            is None
        )
        [(host, peer)] = seen
        assert host == "localhost"
        assert peer["fingerprint256"] == creds["fingerprint256"]
        assert peer["subjectaltname"] == "IP Address:127.0.0.1"
        assert ssl.DER_cert_to_PEM_cert(peer["raw"]).split() == creds["cert"].split()
        pinned = Exception("certificate not pinned")
        ws = pyws.WebSocket(url, ca=ca, check_server_identity=lambda h, c: pinned)
        assert await outcome(ws) is pinned
        # The chain is still verified: no ca, no call.
        seen.clear()
        err = await outcome(pyws.WebSocket(url, checkServerIdentity=accept))
        assert isinstance(err, ssl.SSLCertVerificationError) and seen == []
        await stop_server(wss)


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
        if sys.version_info >= (3, 11):
            # One ping, answered; three timeouts passed without a verdict.
            assert len(pings) == 1
        else:
            # Python 3.10's TLS transport pauses the socket itself: the
            # pongs wait in the kernel, where the heartbeat sees them as
            # signs of life and pings on.
            assert 1 < len(pings) <= len(fired) + 1
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


def test_wss_counts_tls_handshakes_as_pending(cert: tuple[Path, Path]) -> None:
    # A socket that never starts its TLS handshake holds one of
    # maxPendingHandshakes (issue 9); once it leaves, a client gets in.
    key, crt = cert

    async def main() -> None:
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(crt, key)
        wss = pyws.WebSocketServer(
            port=0, host="127.0.0.1", ssl=server_ctx, maxPendingHandshakes=1
        )
        await pyws.once(wss, "listening", scaled(5))
        port = wss.address()["port"]  # type: ignore[index]
        silent_r, silent_w = await asyncio.open_connection("127.0.0.1", port)
        listener = wss._server
        for _ in range(1000):  # turns of the loop until the server accepted it
            if listener.tls_handshakes:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0)
        assert listener.tls_handshakes == 1  # type: ignore[union-attr]
        ws = pyws.WebSocket(f"wss://127.0.0.1:{port}/", ca=str(crt))
        errors: list[BaseException] = []
        ws.on("error", errors.append)
        assert (await ws.wait_closed(scaled(5)))[0] == 1006
        assert errors and listener.refused == 1  # type: ignore[union-attr]
        silent_w.close()
        for _ in range(1000):  # until the server saw it go
            if not listener.tls_handshakes:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0)
        ws2 = pyws.WebSocket(f"wss://127.0.0.1:{port}/", ca=str(crt))
        await ws2.wait_open(scaled(5))
        ws2.close()
        await ws2.wait_closed(scaled(5))
        closed = asyncio.get_running_loop().create_future()
        wss.close(lambda *a: closed.set_result(None))
        await asyncio.wait_for(closed, scaled(5))

    asyncio.run(main())
