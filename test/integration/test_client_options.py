"""Client options that shape the opening handshake (ws-api.md 2.2, 6.2, 6.3).

``finishRequest``, ``handshakeTimeout``, ``followRedirects`` /
``maxRedirects`` and the ``'redirect'`` event, against raw servers on
127.0.0.1 that record the request and answer by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from helpers.rawpeer import RawServer, scaled

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
