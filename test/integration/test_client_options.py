"""Client options that shape the opening handshake (docs/websocket.md).

``finishRequest``, ``handshakeTimeout``, ``followRedirects`` /
``maxRedirects`` and the ``'redirect'`` event, the URL as Node's parser
gives it, what ws's request creation throws (in the constructor, or as a
redirect's error), ``'unexpected-response'`` followed by the server's FIN,
and ``family``, against raw servers on 127.0.0.1 that record the request
and answer by hand.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from helpers.rawpeer import RawServer, accept_key, scaled

import pyws

T = 5.0


def run(coro_fn: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro_fn(), scaled(30))

    asyncio.run(main())


async def fail_and_close(ws: pyws.WebSocket) -> tuple[BaseException, int]:
    """Wait for 'error' then 'close'; return the error and the close code."""
    loop = asyncio.get_running_loop()
    err: asyncio.Future[BaseException] = loop.create_future()
    closed: asyncio.Future[int] = loop.create_future()
    order: list[str] = []

    def on_error(e: BaseException) -> None:
        order.append("error")
        err.set_result(e)

    def on_close(code: int, reason: bytes) -> None:
        order.append("close")
        closed.set_result(code)

    ws.on("error", on_error)
    ws.on("close", on_close)
    e = await asyncio.wait_for(err, scaled(T))
    code = await asyncio.wait_for(closed, scaled(T))
    assert order == ["error", "close"]
    return e, code


def test_finish_request_sends_the_request_when_told() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            held: list[Any] = []
            ws = pyws.WebSocket(
                f"ws://127.0.0.1:{raw.port}/p",
                perMessageDeflate=False,
                finishRequest=lambda req, sock: held.append((req, sock)),
            )
            peer = await raw.accept(handshake=False)
            await peer.expect_no_eof(0.1)
            assert peer.head is None  # nothing sent before req.end()
            [(req, sock)] = held
            assert sock is ws and (req.method, req.path) == ("GET", "/p")
            req.end()
            head = await peer.wait_head(T)
            assert head.target == "/p"
            peer.respond()
            await ws.wait_open(scaled(T))
            ws.terminate()
            await ws.wait_closed(scaled(T))

    run(main)


def test_handshake_timeout() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/", handshakeTimeout=100)
            await raw.accept(handshake=False)  # never answers
            err, code = await fail_and_close(ws)
            assert str(err) == "Opening handshake has timed out"
            assert code == 1006

    run(main)


def test_unexpected_response_without_listener() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/")
            peer = await raw.accept(handshake=False)
            await peer.wait_head(T)
            peer.respond(status=302, headers=[("Location", "/elsewhere")])
            err, code = await fail_and_close(ws)
            assert str(err) == "Unexpected server response: 302"
            assert code == 1006

    run(main)


@pytest.mark.parametrize("drop", ["Upgrade: websocket\r\n", "Connection: Upgrade\r\n"])
def test_101_that_is_not_an_upgrade_is_an_unexpected_response(drop: str) -> None:
    """Node's HTTP parser flags a 101 as an upgrade only with an Upgrade
    header and 'upgrade' in Connection; without either, ws sees an ordinary
    response: no 'upgrade' event, "Unexpected server response: 101"."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/")
            upgrades: list[Any] = []
            ws.on("upgrade", upgrades.append)
            peer = await raw.accept(handshake=False)
            head = await peer.wait_head(T)
            key = head.get("Sec-WebSocket-Key", "") or ""
            response = (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
            )
            peer.send_raw(response.replace(drop, "").encode())
            err, code = await fail_and_close(ws)
            assert str(err) == "Unexpected server response: 101"
            assert code == 1006 and upgrades == []

    run(main)


def test_follow_redirects_emits_redirect_and_connects() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(
                f"ws://127.0.0.1:{raw.port}/first",
                followRedirects=True,
                perMessageDeflate=False,
            )
            redirects: list[Any] = []
            ws.on("redirect", lambda url, req: redirects.append((url, req.path)))
            first = await raw.accept(handshake=False)
            await first.wait_head(T)
            first.respond(status=301, headers=[("Location", "/second?x=1")])
            second = await raw.accept(handshake=False)
            head = await second.wait_head(T)
            assert head.target == "/second?x=1"
            second.respond()
            await ws.wait_open(scaled(T))
            url = f"ws://127.0.0.1:{raw.port}/second?x=1"
            assert redirects == [(url, "/second?x=1")]
            assert ws.url == url
            ws.terminate()
            await ws.wait_closed(scaled(T))

    run(main)


def test_max_redirects_exceeded() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(
                f"ws://127.0.0.1:{raw.port}/",
                followRedirects=True,
                maxRedirects=1,
            )
            for _ in range(2):
                peer = await raw.accept(handshake=False)
                await peer.wait_head(T)
                peer.respond(status=302, headers=[("Location", "/again")])
            err, code = await fail_and_close(ws)
            assert str(err) == "Maximum redirects exceeded"
            assert code == 1006

    run(main)


def test_connection_refused_is_an_error_then_close() -> None:
    async def main() -> None:
        raw = await RawServer.start()
        port = raw.port
        await raw.close()  # nothing listens there now
        ws = pyws.WebSocket(f"ws://127.0.0.1:{port}/")
        err, code = await fail_and_close(ws)
        assert isinstance(err, ConnectionRefusedError)
        assert getattr(err, "code", None) == "ECONNREFUSED"
        assert code == 1006

    run(main)


# -- URLs as Node's URL parser gives them (ada) ------------------------------------


def test_url_is_normalised_and_the_path_encoded() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://LOCALHOST:{raw.port}/a b?c d")
            assert ws.url == f"ws://localhost:{raw.port}/a%20b?c%20d"
            peer = await raw.accept(handshake=False)
            head = await peer.wait_head(T)
            assert head.target == "/a%20b?c%20d"
            assert head.get("Host") == f"localhost:{raw.port}"
            peer.respond()
            await ws.wait_open(scaled(T))
            ws.terminate()
            await ws.wait_closed(scaled(T))
            ws2 = pyws.WebSocket(f"http://127.0.0.1:{raw.port}")
            assert ws2.url == f"ws://127.0.0.1:{raw.port}/"
            ws2.terminate()
            await ws2.wait_closed(scaled(T))

    run(main)


# -- what ws's request() throws: in the constructor, or as the redirect's error ---


def test_request_errors_are_thrown_by_the_constructor() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="Invalid character in header content"):
            pyws.WebSocket("ws://127.0.0.1:1/", headers={"X-A": "a\nb"})
        with pytest.raises(FileNotFoundError):
            pyws.WebSocket("wss://127.0.0.1:1/", cert="/nonexistent/cert.pem")
        with pytest.raises(ValueError, match="'family' must be 4, 6, 0"):
            pyws.WebSocket("ws://127.0.0.1:1/", family=5)
        with pytest.raises(ValueError, match="Unsupported proxy scheme 'ftp'"):
            pyws.WebSocket("ws://127.0.0.1:1/", proxy="ftp://127.0.0.1:1")
        with pytest.raises(TypeError, match="proxy='http://host:port'"):
            pyws.WebSocket("ws://127.0.0.1:1/", agent=object())
        assert pyws._runtime.alive(asyncio.get_running_loop()) == 0

    run(main)


def test_redirect_whose_request_cannot_be_created_is_its_error() -> None:
    """ws 8.23.1: the redirect's request fails to be created (here: the
    client certificate for the wss: hop cannot be read): 'error' with that
    error, then 'close' 1006; no 'redirect' event."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(
                f"ws://127.0.0.1:{raw.port}/",
                followRedirects=True,
                cert="/nonexistent/cert.pem",
            )
            redirects: list[Any] = []
            ws.on("redirect", lambda url, req: redirects.append(url))
            peer = await raw.accept(handshake=False)
            await peer.wait_head(T)
            peer.respond(
                status=302, headers=[("Location", f"wss://127.0.0.1:{raw.port}/")]
            )
            err, code = await fail_and_close(ws)
            assert isinstance(err, FileNotFoundError)
            assert code == 1006
            assert redirects == []
            await peer.wait_eof(T)  # the first hop's socket is gone
            assert len(raw.all_peers) == 1

    run(main)


def test_redirect_to_an_invalid_url() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/", followRedirects=True)
            peer = await raw.accept(handshake=False)
            await peer.wait_head(T)
            peer.respond(status=302, headers=[("Location", "ws://h:99999/")])
            err, code = await fail_and_close(ws)
            assert str(err) == "Invalid URL: ws://h:99999/"
            assert code == 1006

    run(main)


# -- 'unexpected-response': a complete response, then FIN, is no error ------------


@pytest.mark.parametrize("how", ["close", "terminate", "abort"])
def test_unexpected_response_then_fin_waits_for_the_user(how: str) -> None:
    """ws: with a listener, a 401 with a body followed by the server's FIN
    emits neither 'error' nor 'close'; the WebSocket stays CONNECTING, and
    nothing keeps the process alive, until the listener's code acts."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/")
            events: list[Any] = []
            ws.on("error", lambda e: events.append(("error", str(e))))
            ws.on("close", lambda code, reason: events.append(("close", code)))
            loop = asyncio.get_running_loop()
            got: asyncio.Future[tuple[Any, Any]] = loop.create_future()
            ws.on("unexpected-response", lambda req, res: got.set_result((req, res)))
            peer = await raw.accept(handshake=False)
            await peer.wait_head(T)
            body = b"authentication required"
            peer.send_raw(
                b"HTTP/1.1 401 Unauthorized\r\n"
                b"WWW-Authenticate: Basic\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body)
            )
            req, res = await asyncio.wait_for(got, scaled(T))
            assert res.statusCode == 401
            peer.send_raw(body)  # the body in its own segment
            peer.write_eof()
            await peer.wait_eof(T)  # the client closed its side in turn
            # Nothing is left running: pyws.run() would return here.
            await asyncio.wait_for(pyws._runtime.wait_idle(), scaled(T))
            assert events == []
            assert ws.readyState == ws.CONNECTING
            closed = loop.create_future()
            ws.on("close", lambda *a: closed.set_result(None))
            if how == "abort":
                req.abort()
            elif how == "terminate":
                ws.terminate()
            else:
                ws.close()
            await asyncio.wait_for(closed, scaled(T))
            if how == "abort":
                assert events == [("close", 1006)]
            else:
                assert events == [
                    (
                        "error",
                        "WebSocket was closed before the connection was established",
                    ),
                    ("close", 1006),
                ]

    run(main)


def test_unexpected_response_with_handshake_timeout_and_no_fin() -> None:
    """While the server keeps the socket open, handshakeTimeout still
    bounds the handshake (as ws's socket timeout fires on an idle socket)."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/", handshakeTimeout=200)
            ws.on("unexpected-response", lambda req, res: None)
            peer = await raw.accept(handshake=False)
            await peer.wait_head(T)
            peer.send_raw(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            err, code = await fail_and_close(ws)
            assert str(err) == "Opening handshake has timed out"
            assert code == 1006

    run(main)


def test_family() -> None:
    """Node's 4/6 and Python's socket.AF_INET/AF_INET6 pick the address
    family; an IPv4 literal cannot be reached over IPv6."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            url = f"ws://127.0.0.1:{raw.port}/"
            for family in (4, socket.AF_INET, 0):
                ws = pyws.WebSocket(url, family=family)
                peer = await raw.accept()
                await ws.wait_open(scaled(T))
                assert peer.transport.get_extra_info("peername")[0] == "127.0.0.1"
                ws.terminate()
                await ws.wait_closed(scaled(T))
            for family in (6, socket.AF_INET6):
                err, code = await fail_and_close(pyws.WebSocket(url, family=family))
                assert isinstance(err, OSError) and code == 1006

    run(main)
