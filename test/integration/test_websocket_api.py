"""The ``WebSocket`` API surface over 127.0.0.1 (docs/api.md and docs/websocket.md).

Names in both spellings, constants on the class and instances, synchronous
throws, send/ping/pong argument shapes and callbacks, ``bufferedAmount``,
state rules outside OPEN, ``close()`` validation, pause/resume, autoPong,
the ``'upgrade'`` / ``'open'`` / ``'unexpected-response'`` events and their
order, ``extensions`` as a string, listener exceptions, and ``pyws.run()``
for a Node-style script (in a subprocess).

A pyws echo server (conftest ``echo_server``) or the raw peer
(test/helpers/rawpeer.py, which does not import pyws) stands on the other
side. Every wait is bounded (``arun.within``).
"""

from __future__ import annotations

import array
import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # test/helpers

from helpers.rawpeer import RawServer, accept_key, build_frame  # noqa: E402

import pyws  # noqa: E402
from pyws import NotOpenError, RangeError, WebSocket, WsSyntaxError  # noqa: E402

HOST = "127.0.0.1"


async def open_client(arun: Any, url: str, *args: Any, **kwargs: Any) -> WebSocket:
    ws = WebSocket(url, *args, **kwargs)
    await arun.within(arun.event(ws, "open"), "'open'")
    return ws


async def close_client(arun: Any, ws: WebSocket) -> tuple[Any, ...]:
    if ws.readyState == ws.CLOSED:
        return ()
    closed = arun.event(ws, "close")
    ws.close()
    return await arun.within(closed, "'close'")  # type: ignore[no-any-return]


# -- names and constants ---------------------------------------------------------------


def test_constants_on_class_and_instance(arun: Any, echo_server: Any) -> None:
    async def main() -> None:
        assert (WebSocket.CONNECTING, WebSocket.OPEN) == (0, 1)
        assert (WebSocket.CLOSING, WebSocket.CLOSED) == (2, 3)
        async with echo_server() as (_, url):
            ws = WebSocket(url)
            assert (ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED) == (0, 1, 2, 3)
            assert ws.readyState == ws.CONNECTING == pyws.CONNECTING
            await arun.within(arun.event(ws, "open"))
            assert ws.readyState == 1 and ws.ready_state == 1
            await close_client(arun, ws)
            assert ws.readyState == pyws.CLOSED

    arun(main())


def test_pep8_twins(arun: Any, echo_server: Any) -> None:
    async def main() -> None:
        async with echo_server() as (_, url):
            ws = await open_client(arun, url)
            assert ws.bufferedAmount == ws.buffered_amount == 0
            assert ws.binaryType == ws.binary_type == "nodebuffer"
            ws.binary_type = "fragments"
            assert ws.binaryType == "fragments"
            assert ws.isPaused is ws.is_paused is False
            assert ws.add_event_listener == ws.addEventListener
            assert ws.url == url + "/"
            assert ws.protocol == ""
            await close_client(arun, ws)

    arun(main())


# -- synchronous throws (docs/websocket.md, Errors raised at once) ---------------------


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("not a url", "Invalid URL: not a url"),
        (
            "ftp://127.0.0.1/",
            'The URL\'s protocol must be one of "ws:", "wss:", "http:", '
            '"https:", or "ws+unix:"',
        ),
        ("ws://127.0.0.1:9/#frag", "The URL contains a fragment identifier"),
        ("ws+unix:", "The URL's pathname is empty"),
    ],
)
def test_url_errors(address: str, message: str) -> None:
    with pytest.raises(WsSyntaxError) as info:
        WebSocket(address)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("protocols", [["a", "a"], ["a b"], [""], ["ok", 5]])
def test_invalid_subprotocols(protocols: list[Any]) -> None:
    with pytest.raises(WsSyntaxError) as info:
        WebSocket("ws://127.0.0.1:9/", protocols)
    assert str(info.value) == "An invalid or duplicated subprotocol was specified"


def test_options_in_the_protocols_position(arun: Any, echo_server: Any) -> None:
    """ws: a non-array object where ``protocols`` goes is taken as options."""

    async def main() -> None:
        async with echo_server() as (_, url):
            ws = WebSocket(url, {"perMessageDeflate": False, "maxPayload": 10})
            await arun.within(arun.event(ws, "open"))
            assert ws._options["maxPayload"] == 10
            await close_client(arun, ws)

    arun(main())


# -- CONNECTING ------------------------------------------------------------------------


def test_send_ping_pong_in_connecting_raise(arun: Any, echo_server: Any) -> None:
    async def main() -> None:
        async with echo_server() as (_, url):
            ws = WebSocket(url)
            calls: list[Callable[[], None]] = [
                lambda: ws.send("x"),
                ws.ping,
                lambda: ws.pong(b"x"),
            ]
            for call in calls:
                with pytest.raises(NotOpenError) as info:
                    call()
                assert str(info.value) == (
                    "WebSocket is not open: readyState 0 (CONNECTING)"
                )
            assert ws.bufferedAmount == 0
            await arun.within(arun.event(ws, "open"))
            await close_client(arun, ws)

    arun(main())


def test_close_in_connecting(arun: Any, echo_server: Any) -> None:
    """docs/websocket.md: 'error' (readyState 2), then 'close' 1006 (3)."""

    async def main() -> None:
        async with echo_server() as (_, url):
            ws = WebSocket(url)
            seen: list[Any] = []
            ws.on("error", lambda err: seen.append(("error", str(err), ws.readyState)))
            ws.on("close", lambda c, r: seen.append(("close", c, r, ws.readyState)))
            ws.on("open", lambda: seen.append("open"))
            closed = arun.event(ws, "close")
            ws.close()
            await arun.within(closed)
            assert seen == [
                (
                    "error",
                    "WebSocket was closed before the connection was established",
                    2,
                ),
                ("close", 1006, b"", 3),
            ]

    arun(main())


def test_pause_resume_noop_in_connecting_and_closed(
    arun: Any, echo_server: Any
) -> None:
    async def main() -> None:
        async with echo_server() as (_, url):
            ws = WebSocket(url)
            ws.pause()
            assert ws.isPaused is False
            await arun.within(arun.event(ws, "open"))
            await close_client(arun, ws)
            ws.pause()
            assert ws.isPaused is False
            ws.resume()
            assert ws.isPaused is False

    arun(main())


# -- data shapes -----------------------------------------------------------------------


def test_bytes_like_and_none_sends(arun: Any, echo_server: Any) -> None:
    """str is text; bytes-likes are binary, a memoryview of any item size
    goes out as its byte length; None is an empty binary message; a number
    becomes its string (ws)."""

    async def main() -> list[tuple[Any, bool]]:
        async with echo_server() as (wss, url):
            ws = await open_client(arun, url)
            got: list[tuple[Any, bool]] = []
            n_sent = 7
            done = asyncio.get_running_loop().create_future()

            def on_message(data: Any, is_binary: bool) -> None:
                got.append((data, is_binary))
                if len(got) == n_sent:
                    done.set_result(None)

            ws.on("message", on_message)
            ints = array.array("i", [1, 2, 3])
            ws.send("héllo")
            ws.send(b"\x00\x01")
            ws.send(bytearray(b"ba"))
            ws.send(memoryview(ints))
            ws.send(None)
            ws.send(42)
            ws.send("")
            await arun.within(done, "the echoes")
            await close_client(arun, ws)
            return got

    got = arun(main())
    ints = array.array("i", [1, 2, 3])
    assert got == [
        ("héllo".encode(), False),
        (b"\x00\x01", True),
        (b"ba", True),
        (ints.tobytes(), True),
        (b"", True),
        (b"42", False),
        (b"", False),
    ]
    assert len(got[3][0]) == 3 * ints.itemsize


def test_send_options_dict_or_kwargs(arun: Any, echo_server: Any) -> None:
    async def main() -> list[tuple[Any, bool]]:
        async with echo_server() as (_, url):
            ws = await open_client(arun, url)
            got: list[tuple[Any, bool]] = []
            done = asyncio.get_running_loop().create_future()

            def on_message(data: Any, is_binary: bool) -> None:
                got.append((data, is_binary))
                if len(got) == 3:
                    done.set_result(None)

            ws.on("message", on_message)
            ws.send("t", {"binary": True})
            ws.send(b"b", binary=False)
            ws.send("part1-", {"fin": False})
            ws.send("part2", {"fin": True})
            with pytest.raises(TypeError, match="bogus"):
                ws.send("x", {"bogus": 1})
            with pytest.raises(TypeError, match="bogus"):
                ws.send("x", {"binary": True, "bogus": 1})
            for wrong in ([1], "binary", 5):
                with pytest.raises(TypeError, match="options must be a dict"):
                    ws.send("x", wrong)
            await arun.within(done)
            await close_client(arun, ws)
            return got

    assert arun(main()) == [(b"t", True), (b"b", False), (b"part1-part2", False)]


def test_send_with_is_binary_as_options_like_ws(arun: Any, echo_server: Any) -> None:
    """``ws.on('message', ws.send)`` passes isBinary as send's options; ws
    spreads it into its options object, where a boolean adds nothing."""

    async def main() -> list[tuple[Any, bool]]:
        async with echo_server() as (_, url):
            ws = await open_client(arun, url)
            got: list[tuple[Any, bool]] = []
            done = asyncio.get_running_loop().create_future()

            def on_message(data: Any, is_binary: bool) -> None:
                got.append((data, is_binary))
                if len(got) == 2:
                    done.set_result(None)

            ws.on("message", on_message)
            ws.send("text", False)
            ws.send(b"bin", True)
            await arun.within(done)
            await close_client(arun, ws)
            return got

    assert arun(main()) == [(b"text", False), (b"bin", True)]


def test_binary_type(arun: Any, echo_server: Any) -> None:
    """Unknown values are ignored; 'fragments' gives a list; text is bytes."""

    async def main() -> list[Any]:
        async with echo_server() as (_, url):
            ws = await open_client(arun, url)
            ws.binaryType = "blobby"
            assert ws.binaryType == "nodebuffer"
            ws.binaryType = "fragments"
            got: list[Any] = []
            done = asyncio.get_running_loop().create_future()

            def on_message(data: Any, is_binary: bool) -> None:
                got.append((data, is_binary))
                if len(got) == 2:
                    done.set_result(None)

            ws.on("message", on_message)
            ws.send(b"bin")
            ws.send("text")
            await arun.within(done)
            await close_client(arun, ws)
            return got

    got = arun(main())
    assert got[0] == ([b"bin"], True)
    assert got[1] == (b"text", False)


# -- callbacks -------------------------------------------------------------------------


def test_positional_callbacks(arun: Any, echo_server: Any) -> None:
    async def main() -> list[Any]:
        async with echo_server() as (_, url):
            ws = await open_client(arun, url)
            loop = asyncio.get_running_loop()
            calls: list[Any] = []
            futs = [loop.create_future() for _ in range(5)]

            def cb(i: int) -> Any:
                def done(err: Any = None) -> None:
                    calls.append((i, err))
                    futs[i].set_result(None)

                return done

            pongs: list[bytes] = []
            ws.on("pong", pongs.append)
            ws.send("a", cb(0))
            ws.ping(cb(1))
            ws.ping(b"data", cb(2))
            ws.pong(b"p", cb(3))
            ws.send(b"b", {"binary": True}, cb(4))
            assert calls == []  # not called synchronously
            await arun.within(asyncio.gather(*futs), "the send callbacks")
            await close_client(arun, ws)
            assert sorted(pongs) == [b"", b"data"]
            return calls

    calls = arun(main())
    assert sorted(calls) == [(i, None) for i in range(5)]
    assert [i for i, _ in calls] == [0, 1, 2, 3, 4]


def test_ping_over_125_bytes_raises_while_open(arun: Any, echo_server: Any) -> None:
    async def main() -> None:
        async with echo_server() as (_, url):
            ws = await open_client(arun, url)
            for call in (ws.ping, ws.pong):
                with pytest.raises(RangeError) as info:
                    call(b"x" * 126)
                assert str(info.value) == (
                    "The data size must not be greater than 125 bytes"
                )
            ws.ping(b"x" * 125)  # the limit itself is fine
            await close_client(arun, ws)
            # Not OPEN: no size check, the callback gets the state error.
            got = asyncio.get_running_loop().create_future()
            ws.ping(b"x" * 200, got.set_result)
            err = await arun.within(got)
            assert isinstance(err, NotOpenError)

    arun(main())


def test_send_after_close(arun: Any, echo_server: Any) -> None:
    """ws sendAfterClose: no throw, no 'error'; cb(err) on the next tick;
    bufferedAmount grows by the data's byte length and never goes down."""

    async def main() -> None:
        async with echo_server() as (_, url):
            ws = await open_client(arun, url)
            errors: list[Any] = []
            ws.on("error", errors.append)
            loop = asyncio.get_running_loop()
            closed = arun.event(ws, "close")
            ws.close()
            assert ws.readyState == ws.CLOSING
            before = ws.bufferedAmount
            got: list[Any] = []
            fut = loop.create_future()

            def cb(err: Any = None) -> None:
                got.append(err)
                fut.set_result(None)

            ws.send("abcd", cb)
            assert got == []  # next tick, not now
            await arun.within(fut)
            assert str(got[0]) == "WebSocket is not open: readyState 2 (CLOSING)"
            assert ws.bufferedAmount == before + 4
            await arun.within(closed)
            after_close = ws.bufferedAmount
            fut2 = loop.create_future()
            ws.send(b"\x00" * 10, fut2.set_result)
            ws.ping(b"pp")
            ws.pong()  # empty data adds nothing
            ws.send("")
            err2 = await arun.within(fut2)
            assert str(err2) == "WebSocket is not open: readyState 3 (CLOSED)"
            assert ws.bufferedAmount == after_close + 12
            assert errors == []

    arun(main())


async def _fill_kernel_buffers(arun: Any, raw: RawServer) -> tuple[WebSocket, Any]:
    """Open a client to ``raw``, stop the peer reading, send until pyws
    buffers; return the client and the peer."""
    ws = WebSocket(f"ws://{HOST}:{raw.port}/", perMessageDeflate=False)
    peer = await raw.accept()
    await arun.within(arun.event(ws, "open"))
    peer.transport.pause_reading()
    chunk = b"x" * 65536
    sent = 0
    while ws.bufferedAmount == 0 or sent < 4:
        ws.send(chunk)
        sent += 1
        if sent > 2000:
            pytest.fail("bufferedAmount never grew")
    return ws, peer


def test_buffered_amount_with_a_paused_peer(arun: Any) -> None:
    """While the kernel buffers are full, bufferedAmount counts what was
    accepted but not written; it is 0 once the peer has read everything."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws, peer = await _fill_kernel_buffers(arun, raw)
            assert ws.bufferedAmount > 0
            ws.send(b"last")
            peer.transport.resume_reading()
            await peer.wait_for(
                lambda: any(f.payload == b"last" for f in peer.frames),
                what="the last frame",
            )
            assert ws.bufferedAmount == 0
            ws.terminate()
            await arun.within(arun.event(ws, "close"))

    arun(main())


def test_send_callback_runs_once_the_data_is_written(arun: Any) -> None:
    """ws calls ``cb`` from ``socket.write``'s callback: by then the data no
    longer counts in ``bufferedAmount``."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws, peer = await _fill_kernel_buffers(arun, raw)
            drained = asyncio.get_running_loop().create_future()
            ws.send(b"last", drained.set_result)
            peer.transport.resume_reading()
            assert await arun.within(drained) is None
            try:
                assert ws.bufferedAmount == 0
            finally:
                ws.terminate()
                await arun.within(arun.event(ws, "close"))

    arun(main())


# -- close() validation (docs/websocket.md, Methods) -----------------------------------


@pytest.mark.parametrize(
    "code", [1004, 1005, 1006, 1015, 999, 5000, 2999, "1000", 1000.5, True]
)
def test_close_invalid_code(arun: Any, echo_server: Any, code: Any) -> None:
    async def main() -> None:
        async with echo_server() as (_, url):
            ws = await open_client(arun, url)
            with pytest.raises(TypeError) as info:
                ws.close(code)
            assert str(info.value) == "First argument must be a valid error code number"
            assert ws.readyState == ws.OPEN  # ws 8.22+
            await close_client(arun, ws)

    arun(main())


def test_close_reason_errors(arun: Any, echo_server: Any) -> None:
    async def main() -> None:
        async with echo_server() as (_, url):
            ws = await open_client(arun, url)
            with pytest.raises(RangeError) as info:
                ws.close(1000, "é" * 62)  # 124 bytes
            assert str(info.value) == "The message must not be greater than 123 bytes"
            with pytest.raises(TypeError) as info2:
                ws.close(1000, 5)
            assert str(info2.value) == (
                "Second argument must be a string or a Uint8Array"
            )
            assert ws.readyState == ws.OPEN
            closed = arun.event(ws, "close")
            ws.close(4000, b"x" * 123)  # the limit itself is fine
            code, reason = await arun.within(closed)
            assert (code, reason) == (4000, b"x" * 123)  # the echo, as ws

    arun(main())


def test_close_frames_on_the_wire(arun: Any) -> None:
    """No code: an empty close frame, a reason alone is dropped (ws)."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            for args, payload in [((), b""), ((None, "dropped"), b"")]:
                ws = WebSocket(f"ws://{HOST}:{raw.port}/")
                peer = await raw.accept()
                await arun.within(arun.event(ws, "open"))
                ws.close(*args)
                assert ws.readyState == ws.CLOSING
                ws.close()  # CLOSING: no second frame
                frame = await peer.wait_frame(8)
                assert frame.payload == payload
                closed = arun.event(ws, "close")
                peer.send_close(None)
                peer.close()
                code, _ = await arun.within(closed)
                assert code == 1005
                assert len(peer.close_frames()) == 1

    arun(main())


# -- ping / pong / autoPong ------------------------------------------------------------


def test_ping_pong_events(arun: Any, echo_server: Any) -> None:
    async def main() -> None:
        async with echo_server() as (wss, url):
            server_pings: list[bytes] = []
            wss.on("connection", lambda sws, req: sws.on("ping", server_pings.append))
            ws = await open_client(arun, url)
            pong = arun.event(ws, "pong")
            ws.ping(b"hi")
            (data,) = await arun.within(pong)
            assert data == b"hi"
            assert server_pings == [b"hi"]
            await close_client(arun, ws)

    arun(main())


@pytest.mark.parametrize("auto_pong", [True, False])
def test_auto_pong_option(arun: Any, auto_pong: bool) -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = WebSocket(f"ws://{HOST}:{raw.port}/", auto_pong=auto_pong)
            peer = await raw.accept()
            await arun.within(arun.event(ws, "open"))
            pings: list[bytes] = []
            ws.on("ping", pings.append)
            ws.on("message", lambda data, b: ws.send(data, binary=b))
            peer.send_ping(b"p1")
            peer.send_text(b"marker")
            await peer.wait_frame(1)  # the echo comes after any auto-pong
            pongs = [f.payload for f in peer.frames if f.opcode == 10]
            assert pongs == ([b"p1"] if auto_pong else [])
            assert pings == [b"p1"]
            ws.terminate()
            await arun.within(arun.event(ws, "close"))

    arun(main())


# -- pause / resume --------------------------------------------------------------------


def test_pause_and_resume(arun: Any, echo_server: Any) -> None:
    async def main() -> None:
        async with echo_server() as (wss, url):
            ws = await open_client(arun, url)
            (sws,) = wss.clients
            got: list[bytes] = []
            ws.on("message", lambda d, b: got.append(d))
            ws.pause()
            assert ws.isPaused is True
            written = asyncio.get_running_loop().create_future()
            sws.send("while paused", written.set_result)
            await arun.within(written)
            # Absence over a short window: nothing is read while paused.
            message = arun.event(ws, "message")
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(message), 50 * arun.MS)
            assert got == []
            ws.resume()
            assert ws.isPaused is False
            await arun.within(message)
            assert got == [b"while paused"]
            await close_client(arun, ws)

    arun(main())


# -- events and their order ------------------------------------------------------------


def test_upgrade_before_open_and_open_before_frames_in_the_101(arun: Any) -> None:
    """'upgrade'(res) comes first; 'open' listeners run before a frame that
    arrived in the same TCP segment as the 101 is processed."""

    async def main() -> list[Any]:
        async with await RawServer.start() as raw:
            order: list[Any] = []
            ws = WebSocket(f"ws://{HOST}:{raw.port}/", perMessageDeflate=False)

            def on_upgrade(res: Any) -> None:
                order.append(
                    (
                        "upgrade",
                        res.statusCode,
                        res["statusCode"],
                        res.statusMessage,
                        res.headers["x-custom"],
                        ws.readyState,
                    )
                )

            ws.on("upgrade", on_upgrade)
            ws.on("open", lambda: order.append(("open", ws.readyState)))
            got = arun.event(ws, "message")
            ws.on("message", lambda d, b: order.append(("message", d)))
            peer = await raw.accept(handshake=False)
            head = await peer.wait_head()
            key = head.get("Sec-WebSocket-Key") or ""
            response = (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n"
                "X-Custom: yes\r\n\r\n"
            ).encode()
            peer.send_raw(response + build_frame(1, b"early"))
            await arun.within(got)
            ws.terminate()
            await arun.within(arun.event(ws, "close"))
            return order

    assert arun(main()) == [
        ("upgrade", 101, 101, "Switching Protocols", "yes", 0),
        ("open", 1),
        ("message", b"early"),
    ]


def test_terminate_in_upgrade_listener(arun: Any) -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = WebSocket(f"ws://{HOST}:{raw.port}/")
            seen: list[Any] = []
            ws.on("upgrade", lambda res: ws.terminate())
            ws.on("open", lambda: seen.append("open"))
            ws.on("error", lambda e: seen.append(str(e)))
            closed = arun.event(ws, "close")
            await raw.accept()
            code, _ = await arun.within(closed)
            assert code == 1006
            assert seen == [
                "WebSocket was closed before the connection was established"
            ]

    arun(main())


def test_unexpected_response_without_listener(arun: Any) -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = WebSocket(f"ws://{HOST}:{raw.port}/")
            errors: list[Any] = []
            ws.on("error", errors.append)
            closed = arun.event(ws, "close")
            peer = await raw.accept(handshake=False)
            await peer.wait_head()
            peer.respond(status=403)
            code, _ = await arun.within(closed)
            assert code == 1006
            assert [str(e) for e in errors] == ["Unexpected server response: 403"]

    arun(main())


@pytest.mark.parametrize("how", ["abort", "terminate", "close"])
def test_unexpected_response_listener_decides(arun: Any, how: str) -> None:
    """With a listener ws does nothing else: readyState stays CONNECTING
    until the listener calls req.abort() (then 'close' 1006, no 'error') or
    ws.close()/terminate() ('error' closed-before-established, 'close')."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = WebSocket(f"ws://{HOST}:{raw.port}/")
            errors: list[str] = []
            ws.on("error", lambda e: errors.append(str(e)))
            got = arun.event(ws, "unexpected-response")
            peer = await raw.accept(handshake=False)
            await peer.wait_head()
            peer.respond(status=418, headers=[("X-Why", "teapot")])
            req, res = await arun.within(got)
            assert res.statusCode == 418 and res.status_code == 418
            assert res.headers["x-why"] == "teapot"
            assert res.statusMessage == "Status"
            assert ws.readyState == ws.CONNECTING
            assert errors == []
            closed = arun.event(ws, "close")
            if how == "abort":
                req.abort()
            elif how == "terminate":
                ws.terminate()
            else:
                ws.close()
            code, _ = await arun.within(closed)
            assert code == 1006
            if how == "abort":
                assert errors == []
            else:
                assert errors == [
                    "WebSocket was closed before the connection was established"
                ]

    arun(main())


def test_extensions_is_a_string(arun: Any, echo_server: Any) -> None:
    async def main() -> None:
        async with echo_server(perMessageDeflate=True) as (wss, url):
            ws = await open_client(arun, url)
            assert ws.extensions == "permessage-deflate"
            (sws,) = wss.clients
            assert sws.extensions == "permessage-deflate"
            await close_client(arun, ws)
            ws2 = await open_client(arun, url, perMessageDeflate=False)
            assert ws2.extensions == "" and isinstance(ws2.extensions, str)
            await close_client(arun, ws2)

    arun(main())


def test_event_target_api(arun: Any, echo_server: Any) -> None:
    async def main() -> list[Any]:
        async with echo_server() as (_, url):
            ws = WebSocket(url)
            events: list[Any] = []
            # on* attributes are installed with setattr: mypy cannot see them.
            ws.onopen = lambda ev: events.append((ev.type, ev.target is ws))
            ws.addEventListener("message", lambda ev: events.append(ev.data))
            ws.addEventListener("bogus", lambda ev: events.append("never"))
            closed = asyncio.get_running_loop().create_future()

            def onclose(ev: Any) -> None:
                events.append((ev.type, ev.code, ev.reason, ev.wasClean))
                closed.set_result(None)

            ws.onclose = onclose
            assert ws.onclose is onclose
            await arun.within(arun.event(ws, "open"))
            ws.send("txt")
            ws.send(b"bin")
            await arun.within(arun.event(ws, "message"))
            if len(events) < 3:
                await arun.within(arun.event(ws, "message"))
            ws.close(1000, "bye")
            await arun.within(closed)
            return events

    assert arun(main()) == [
        ("open", True),
        "txt",
        b"bin",
        ("close", 1000, "bye", True),
    ]


# -- listener exceptions ---------------------------------------------------------------


def test_listener_exception_does_not_break_the_connection(
    arun: Any, echo_server: Any
) -> None:
    """docs/closing.md: a user's error is the user's. The exception reaches the
    loop's exception handler; the connection keeps working, 'close' comes."""

    async def main() -> None:
        async with echo_server() as (_, url):
            ws = WebSocket(url)

            def bad_open() -> None:
                raise RuntimeError("open listener bug")

            def bad_message(data: Any, is_binary: bool) -> None:
                raise KeyError("message listener bug")

            # A raising listener ends that emit (Node), so ours go first.
            opened = arun.event(ws, "open")
            messages: asyncio.Queue[bytes] = asyncio.Queue()
            ws.on("message", lambda data, b: messages.put_nowait(data))
            ws.on("open", bad_open)
            ws.on("message", bad_message)
            await arun.within(opened)
            ws.send("one")
            assert await arun.within(messages.get()) == b"one"
            assert ws.readyState == ws.OPEN
            ws.send("two")  # still works after the raise
            assert await arun.within(messages.get()) == b"two"
            code, _ = await close_client(arun, ws)
            assert code == 1000 or code == 1005

    arun(main())
    excs = arun.exceptions()
    assert [type(e) for e in excs] == [RuntimeError, KeyError, KeyError]


def test_close_listener_exception_is_reported_once(arun: Any, echo_server: Any) -> None:
    async def main() -> None:
        async with echo_server() as (wss, url):
            ws = await open_client(arun, url)
            closed = arun.event(ws, "close")
            ws.on("close", lambda c, r: 1 / 0)
            ws.close()
            await arun.within(closed)
            assert ws.readyState == ws.CLOSED

    arun(main())
    assert [type(e) for e in arun.exceptions()] == [ZeroDivisionError]


# -- pyws.run(): a Node-style script ---------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import pyws

    wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
    log = []

    def on_connection(ws, req):
        ws.on("message", lambda data, is_binary: ws.send(data))

    def on_listening():
        port = wss.address()["port"]
        client = pyws.WebSocket(f"ws://127.0.0.1:{port}/")
        client.on("open", lambda: client.send("ping me"))

        def on_message(data, is_binary):
            log.append(data)
            client.close(1000)

        client.on("message", on_message)

        def on_close(code, reason):
            log.append(code)
            wss.close()

        client.on("close", on_close)

    wss.on("connection", on_connection)
    wss.on("listening", on_listening)
    wss.on("close", lambda: log.append("server closed"))
    result = pyws.run()
    print(log, result)
    """
)


def test_run_returns_once_everything_closed(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[b'ping me', 1000, 'server closed'] None"
    assert proc.stderr == ""
