"""``recv()``, ``async for`` and ``async with`` on a WebSocket (pyws.inbox).

Against a raw peer on 127.0.0.1 so that what arrives, and when reading is
held, is under the test's control: text comes as ``str``, binary as
``bytes``; a normal close ends ``async for``; a failure raises
``ConnectionClosedError`` with the protocol error as its cause; a full
queue stops reading from the socket until the program catches up.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from helpers.rawpeer import RawServer

import pyws

HOST = "127.0.0.1"


async def _client(raw: RawServer, **options: Any) -> tuple[pyws.WebSocket, Any]:
    ws = pyws.WebSocket(f"ws://{HOST}:{raw.port}/", **options)
    peer = await raw.accept(handshake=False)
    await peer.wait_head()
    return ws, peer


def test_messages_sent_with_the_101_are_not_lost(arun: Any) -> None:
    """Entering ``async with`` before the handshake ends queues from the
    start: a message in the same segment as the 101 is the first one read."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://{HOST}:{raw.port}/")
            accepting = asyncio.ensure_future(raw.accept(handshake=False))
            entered = asyncio.ensure_future(ws.__aenter__())
            peer = await arun.within(accepting, "the connection")
            await peer.wait_head()
            # Pause the transport so that the 101 and the frames reach pyws
            # in one read.
            peer.transport.pause_reading()
            peer.respond()
            peer.send_text("hello")
            peer.send_binary(b"\x00\x01")
            assert await arun.within(entered, "open") is ws
            assert await arun.within(ws.recv(), "text") == "hello"
            assert await arun.within(ws.recv(), "binary") == b"\x00\x01"
            peer.transport.resume_reading()
            leaving = asyncio.ensure_future(ws.__aexit__(None, None, None))
            close = await peer.wait_frame(8)
            assert close.close_code == 1000
            peer.send_close(1000)
            peer.close()
            await arun.within(leaving, "__aexit__")
            assert ws.readyState == ws.CLOSED

    arun(main())


def test_async_for_reads_until_a_normal_close(arun: Any) -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws, peer = await _client(raw)
            got: list[pyws.inbox.Message] = []

            async def consume() -> None:
                async for message in ws:
                    got.append(message)

            consumer = asyncio.ensure_future(consume())
            peer.respond()
            for i in range(3):
                peer.send_text(f"m{i}")
            peer.send_binary(b"end")
            peer.send_close(1001, "bye")
            await peer.wait_frame(8)  # the echo; then the server closes TCP
            peer.close()
            await arun.within(consumer, "the end of async for")
            assert got == ["m0", "m1", "m2", b"end"]
            assert [type(m) for m in got] == [str, str, str, bytes]
            with pytest.raises(pyws.ConnectionClosedOK) as info:
                await ws.recv()
            assert (info.value.close_code, info.value.reason) == (1001, "bye")

    arun(main())


def test_a_failure_raises_with_the_protocol_error_as_cause(arun: Any) -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws, peer = await _client(raw, closeTimeout=200)
            ws.on("error", lambda err: None)  # events still fire
            receiving = asyncio.ensure_future(ws.recv())
            await asyncio.sleep(0)  # let recv() start waiting first
            peer.respond()
            peer.send_text("ok")
            assert await arun.within(receiving, "a message") == "ok"
            peer.send_frame(1, b"x", rsv2=True)  # RSV2: 1002, then 1006
            await peer.wait_frame(8)
            peer.close()
            with pytest.raises(pyws.ConnectionClosedError) as info:
                await arun.within(ws.recv(), "the failure")
            assert info.value.close_code == 1006
            cause = info.value.__cause__
            assert isinstance(cause, pyws.ProtocolError)
            assert cause.code == "WS_ERR_UNEXPECTED_RSV_2_3"

    arun(main())


def test_no_unhandled_error_report_when_only_iterating(arun: Any) -> None:
    """The inbox listens to 'error', so a program that only iterates does
    not get an "Unhandled 'error' event" report (``arun`` would fail)."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws, peer = await _client(raw, closeTimeout=200)
            it = ws.__aiter__()
            peer.respond()
            peer.send_frame(0, b"x")  # a lone continuation frame
            with pytest.raises(pyws.ConnectionClosedError):
                await arun.within(it.__anext__(), "the failure")

    arun(main())


def test_a_full_queue_holds_reading_and_a_reader_releases_it(arun: Any) -> None:
    """maxQueue=4: after 4 unread messages pyws stops reading (the 5th stays
    in the kernel); reading down to 1 (a quarter) resumes it."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws, peer = await _client(raw, maxQueue=4)
            seen: list[Any] = []
            ws.on("message", lambda data, is_binary: seen.append(bytes(data)))
            ws.__aiter__()
            peer.respond()
            await arun.within(ws.wait_open(), "open")
            for i in range(4):
                peer.send_text(f"m{i}")
            while len(seen) < 4:
                await arun.within(arun.event(ws, "message"), "a message")
            assert ws.isPaused is False  # the user's pause is untouched
            peer.send_text("m4")
            # Nothing more is read while 4 wait unread: m4 stays queued in
            # the kernel. A ping sent after it must not be answered either.
            peer.send_ping(b"p")
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(arun.event(ws, "message"), 50 * arun.MS)
            assert not [f for f in peer.frames if f.opcode == 10]
            assert [await ws.recv() for _ in range(3)] == ["m0", "m1", "m2"]
            assert await arun.within(ws.recv(), "m3") == "m3"
            assert await arun.within(ws.recv(), "m4, read after the release") == "m4"
            await peer.wait_frame(10)
            ws.terminate()

    arun(main())


def test_recv_timeout_is_in_seconds_and_keeps_the_message(arun: Any) -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws, peer = await _client(raw)
            ws.__aiter__()
            peer.respond()
            await arun.within(ws.wait_open(), "open")
            with pytest.raises(asyncio.TimeoutError):
                await ws.recv(timeout=20 * arun.MS)
            peer.send_text("late")
            assert await arun.within(ws.recv(timeout=arun.TIMEOUT), "late") == "late"
            ws.terminate()

    arun(main())


def test_events_only_use_has_no_inbox(arun: Any) -> None:
    """wait_open() and listeners alone never start queueing: reading is
    never held for a program that does not call recv()."""

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws, peer = await _client(raw, maxQueue=1)
            got: list[bytes] = []
            ws.on("message", lambda data, is_binary: got.append(bytes(data)))
            peer.respond()
            await arun.within(ws.wait_open(), "open")
            for i in range(10):
                peer.send_text(f"m{i}")
            while len(got) < 10:
                await arun.within(arun.event(ws, "message"), "a message")
            ws.terminate()

    arun(main())


def test_max_queue_option_is_checked() -> None:
    with pytest.raises(TypeError, match="maxQueue"):
        pyws.WebSocket("ws://127.0.0.1:1/", maxQueue="16")
    with pytest.raises(ValueError, match="max_queue"):
        pyws.WebSocket("ws://127.0.0.1:1/", max_queue=-1)


def test_server_async_with_listens_then_shuts_down(arun: Any) -> None:
    """``async with WebSocketServer(...)``: listening inside; on exit every
    client gets 1001 and the server emits 'close'."""

    async def main() -> None:
        async with pyws.WebSocketServer(port=0, host=HOST) as wss:
            address = wss.address()
            assert address is not None
            closed = arun.event(wss, "close")
            async with pyws.WebSocket(f"ws://{HOST}:{address['port']}/") as ws:
                ending = asyncio.ensure_future(ws.wait_closed())
                assert ws.readyState == ws.OPEN
            assert ws.readyState == ws.CLOSED
            assert (await ending)[0] == 1000
        await arun.within(closed, "the server's close")

    arun(main())


def test_server_async_with_shuts_down_open_clients_with_1001(arun: Any) -> None:
    async def main() -> None:
        ws: pyws.WebSocket | None = None
        async with pyws.WebSocketServer(port=0, host=HOST) as wss:
            address = wss.address()
            assert address is not None
            ws = pyws.WebSocket(f"ws://{HOST}:{address['port']}/")
            ws.__aiter__()
            await arun.within(ws.wait_open(), "open")
        assert ws is not None
        code, _ = await arun.within(ws.wait_closed(), "the client's close")
        assert code == 1001
        with pytest.raises(pyws.ConnectionClosedOK):
            await ws.recv()

    arun(main())


def test_server_async_with_raises_the_listen_error(arun: Any) -> None:
    async def main() -> None:
        async with pyws.WebSocketServer(port=0, host=HOST) as first:
            address = first.address()
            assert address is not None
            taken = pyws.WebSocketServer(port=address["port"], host=HOST)
            with pytest.raises(OSError):
                async with taken:
                    pass

    arun(main())


def test_server_async_with_waits_for_listening_on_a_given_socket(arun: Any) -> None:
    """With ``socket`` (a listening socket made elsewhere) too, the block
    starts once 'listening' was emitted."""

    async def main() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((HOST, 0))
        sock.listen(16)
        wss = pyws.WebSocketServer(socket=sock)
        heard: list[tuple[Any, ...]] = []
        wss.on("listening", lambda *args: heard.append(args))
        async with wss:
            assert heard == [()]
            address = wss.address()
            assert address is not None and address["port"] == sock.getsockname()[1]

    arun(main())
