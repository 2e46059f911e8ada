"""``createWebSocketStream`` over loopback (ws-api.md 10.1).

Messages become a byte stream; writes become binary messages (queued until
'open'); a full read buffer pauses the WebSocket and reading resumes it;
'close' ends the stream and 'error' is raised by the next read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from helpers.rawpeer import RawServer, build_frame, scaled

import pyws

T = 5.0


def run(coro_fn: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro_fn(), scaled(30))

    asyncio.run(main())


def test_write_before_open_then_read_the_echo() -> None:
    async def main() -> None:
        wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
        await pyws.once(wss, "listening", scaled(T))
        kinds: list[bool] = []

        def on_connection(ws: Any, req: Any) -> None:
            def echo(data: bytes, is_binary: bool) -> None:
                kinds.append(is_binary)
                ws.send(data, binary=is_binary)

            ws.on("message", echo)

        wss.on("connection", on_connection)
        ws = pyws.WebSocket(f"ws://127.0.0.1:{wss.address()['port']}/")  # type: ignore[index]
        stream = pyws.createWebSocketStream(ws)
        stream.write(b"hello ")  # CONNECTING: queued until 'open'
        stream.writelines([b"world", b"\nsecond line\n"])
        await asyncio.wait_for(stream.drain(), scaled(T))
        line = await asyncio.wait_for(stream.readline(), scaled(T))
        assert line == b"hello world\n"
        assert await asyncio.wait_for(stream.readexactly(7), scaled(T)) == b"second "
        assert kinds == [True, True, True]
        stream.write_eof()  # ws end(): the closing handshake
        await asyncio.wait_for(stream.wait_closed(), scaled(T))
        assert await stream.read() == b"line\n"
        assert await stream.read() == b""
        assert stream.at_eof()
        closed = asyncio.get_running_loop().create_future()
        wss.close(lambda *a: closed.set_result(None))
        await asyncio.wait_for(closed, scaled(T))

    run(main)


def test_unread_data_pauses_the_websocket() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/", perMessageDeflate=False)
            stream = pyws.create_websocket_stream(ws, high_water_mark=1000)
            peer = await raw.accept()
            await ws.wait_open(scaled(T))
            peer.send_raw(build_frame(2, b"x" * 3000))
            first = await asyncio.wait_for(stream.read(10), scaled(T))
            assert first == b"x" * 10
            assert ws.isPaused  # 2990 bytes wait unread, above the mark
            rest = await asyncio.wait_for(stream.readexactly(2990), scaled(T))
            assert rest == b"x" * 2990
            assert not ws.isPaused  # reading resumed it
            stream.close()  # ws destroy(): terminate
            await asyncio.wait_for(stream.wait_closed(), scaled(T))
            assert ws.readyState == pyws.CLOSED

    run(main)


def test_error_is_raised_by_the_next_read() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/", perMessageDeflate=False)
            stream = pyws.createWebSocketStream(ws)
            peer = await raw.accept()
            await ws.wait_open(scaled(T))
            peer.send_raw(build_frame(1, b"\xff"))  # invalid UTF-8: 1007
            with pytest.raises(pyws.ProtocolError) as info:
                await asyncio.wait_for(stream.read(), scaled(T))
            assert info.value.code == "WS_ERR_INVALID_UTF8"
            peer.write_eof()
            await asyncio.wait_for(stream.wait_closed(), scaled(T))

    run(main)


def test_options_are_checked() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/")
            with pytest.raises(TypeError, match="unknown option 'objectMod'"):
                pyws.createWebSocketStream(ws, {"objectMod": True})
            with pytest.raises(TypeError, match="given twice"):
                pyws.createWebSocketStream(ws, {"highWaterMark": 1}, high_water_mark=2)
            with pytest.raises(TypeError, match="'encoding' must be str"):
                pyws.createWebSocketStream(ws, {"encoding": 8})
            with pytest.raises(ValueError, match="highWaterMark"):
                pyws.createWebSocketStream(ws, {"highWaterMark": -1})
            with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
                pyws.createWebSocketStream(ws, encoding="klingon")
            # ws forces these off; they are accepted, as ws accepts them.
            stream = pyws.createWebSocketStream(
                ws, {"objectMode": True, "writableObjectMode": True, "emitClose": True}
            )
            assert not stream.object_mode
            ws.terminate()
            await ws.wait_closed(scaled(T))

    run(main)


async def server_sending(*messages: Any) -> tuple[pyws.WebSocketServer, str, list[Any]]:
    """A server that sends ``messages`` (bytes: binary, str: text) on
    connection, then closes; it records what it receives."""
    wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
    await pyws.once(wss, "listening", scaled(T))
    received: list[Any] = []

    def on_connection(ws: Any) -> None:
        ws.on("message", lambda data, is_binary: received.append((data, is_binary)))
        for m in messages:
            ws.send(m)
        ws.close(1000)

    wss.on("connection", on_connection)
    return wss, f"ws://127.0.0.1:{wss.address()['port']}/", received  # type: ignore[index]


async def close_server(wss: pyws.WebSocketServer) -> None:
    closed = asyncio.get_running_loop().create_future()
    wss.close(lambda: closed.set_result(None))
    await asyncio.wait_for(closed, scaled(T))


def test_encoding_utf8_reads_str_across_message_boundaries() -> None:
    async def main() -> None:
        wss, url, _ = await server_sending(b"h\xc3", b"\xa9llo\nsecond ", "line")
        ws = pyws.WebSocket(url)
        stream = pyws.createWebSocketStream(ws, {"encoding": "utf8"})
        ended = asyncio.get_running_loop().create_future()
        stream.on("end", lambda: ended.set_result(True))
        assert await asyncio.wait_for(stream.readline(), scaled(T)) == "h\u00e9llo\n"
        await asyncio.wait_for(stream.wait_closed(), scaled(T))
        assert await stream.read() == "second line"
        assert await stream.read() == ""
        assert await asyncio.wait_for(ended, scaled(T))
        await close_server(wss)

    run(main)


def test_hex_and_base64_encodings() -> None:
    async def main() -> None:
        wss, url, _ = await server_sending(b"\x00\xff\x10", b"\x01")
        ws = pyws.WebSocket(url)
        stream = pyws.createWebSocketStream(ws, encoding="base64")
        await asyncio.wait_for(stream.wait_closed(), scaled(T))
        assert await stream.read() == "AP8QAQ=="
        await close_server(wss)
        wss, url, _ = await server_sending(b"\x00\xff")
        ws = pyws.WebSocket(url)
        stream = pyws.createWebSocketStream(ws, encoding="hex")
        await asyncio.wait_for(stream.wait_closed(), scaled(T))
        assert await stream.read() == "00ff"
        await close_server(wss)

    run(main)


def test_readable_object_mode_reads_messages() -> None:
    async def main() -> None:
        wss, url, _ = await server_sending("text", b"\x00bin", "more")
        ws = pyws.WebSocket(url)
        stream = pyws.createWebSocketStream(
            ws, readableObjectMode=True, highWaterMark=1
        )
        closed = asyncio.get_running_loop().create_future()
        stream.on("close", lambda: closed.set_result(True))
        assert await asyncio.wait_for(stream.read(), scaled(T)) == "text"
        got = [m async for m in stream]
        assert got == [b"\x00bin", "more"]
        assert await stream.read() is None
        assert stream.at_eof()
        assert await asyncio.wait_for(closed, scaled(T))
        with pytest.raises(TypeError, match="object mode"):
            await stream.readline()
        await close_server(wss)

    run(main)


def test_object_mode_high_water_mark_pauses_the_websocket() -> None:
    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{raw.port}/", perMessageDeflate=False)
            stream = pyws.createWebSocketStream(
                ws, {"readableObjectMode": True, "readableHighWaterMark": 2}
            )
            peer = await raw.accept()
            await ws.wait_open(scaled(T))
            two = asyncio.get_running_loop().create_future()
            count = 0

            def counted() -> None:
                nonlocal count
                count += 1
                if count == 2:
                    two.set_result(None)

            ws.on("message", counted)  # runs after the stream's listener
            peer.send_raw(
                build_frame(2, b"a") + build_frame(2, b"b") + build_frame(1, b"c")
            )
            await asyncio.wait_for(two, scaled(T))
            assert ws.isPaused  # two messages wait unread: the mark
            assert await stream.read() == b"a"
            assert await stream.read() == b"b"
            assert await asyncio.wait_for(stream.read(), scaled(T)) == "c"
            assert not ws.isPaused  # reading resumed it
            stream.close()
            await asyncio.wait_for(stream.wait_closed(), scaled(T))

    run(main)


def test_strings_written_decode_strings_and_default_encoding() -> None:
    async def main() -> None:
        wss, url, received = await server_sending()
        wss.remove_all_listeners("connection")
        got = asyncio.get_running_loop().create_future()

        def on_connection(ws: Any) -> None:
            def on_message(data: Any, is_binary: bool) -> None:
                received.append((data, is_binary))
                if len(received) == 4:
                    got.set_result(None)

            ws.on("message", on_message)

        wss.on("connection", on_connection)
        ws = pyws.WebSocket(url)
        plain = pyws.createWebSocketStream(ws)
        text = pyws.createWebSocketStream(ws, decodeStrings=False)
        hexed = pyws.createWebSocketStream(ws, defaultEncoding="hex")
        assert plain.write("\u00e9") is True
        text.write("as text")
        hexed.write("00ff")
        plain.write(bytearray(b"raw"))
        await asyncio.wait_for(got, scaled(T))
        # Each stream sends what it queued before 'open' in its turn.
        assert received == [
            (b"\xc3\xa9", True),
            (b"raw", True),
            (b"as text", False),
            (b"\x00\xff", True),
        ]
        ws.close()
        await asyncio.wait_for(plain.wait_closed(), scaled(T))
        await close_server(wss)

    run(main)


def test_writable_high_water_mark_and_allow_half_open() -> None:
    async def main() -> None:
        wss, url, _ = await server_sending()
        ws = pyws.WebSocket(url)
        small = pyws.createWebSocketStream(ws, writableHighWaterMark=5)
        assert small.write(b"1234") is True  # CONNECTING: waits, 4 < 5
        assert small.write(b"56") is False  # 6 bytes wait
        strict = pyws.createWebSocketStream(ws, allowHalfOpen=False)
        await asyncio.wait_for(strict.wait_closed(), scaled(T))  # the server closes
        with pytest.raises(RuntimeError, match="write after end"):
            strict.write(b"late")
        small.write(b"late")  # half-open allowed (the default): ws's send rules
        small.end()
        with pytest.raises(RuntimeError, match="write after end"):
            small.write(b"after end()")
        await close_server(wss)

    run(main)


def test_bad_options_leave_no_pending_task(tmp_path: Any) -> None:
    """A TypeError from createWebSocketStream ends a script cleanly: no
    "Task was destroyed but it is pending!", no ResourceWarning."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            import pyws
            ws = pyws.WebSocket("ws://127.0.0.1:9/")
            pyws.createWebSocketStream(ws, {"bogus": True})
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-X", "dev", str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1
    assert "TypeError: createWebSocketStream: unknown option 'bogus'" in proc.stderr
    assert "Task was destroyed" not in proc.stderr
    assert "ResourceWarning" not in proc.stderr


class _Sink:
    """A writable that records chunks and says 'full' once (Node's write())."""

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.drained = 0
        self.ended = asyncio.get_running_loop().create_future()

    def write(self, chunk: Any) -> bool:
        self.chunks.append(chunk)
        return len(self.chunks) != 1  # the first write asks for drain()

    async def drain(self) -> None:
        self.drained += 1

    def end(self) -> None:
        self.ended.set_result(None)


async def _echo_pair() -> tuple[Any, Any]:
    wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
    await pyws.once(wss, "listening", scaled(T))
    wss.on(
        "connection",
        lambda ws: ws.on("message", lambda d, b: ws.send(d, binary=b)),
    )
    ws = pyws.WebSocket(f"ws://127.0.0.1:{wss.address()['port']}/")  # type: ignore[index]
    return wss, ws


def test_pipe_writes_every_chunk_then_ends_the_destination() -> None:
    async def main() -> None:
        wss, ws = await _echo_pair()
        stream = pyws.createWebSocketStream(ws, {"encoding": "utf8"})
        sink = _Sink()
        assert stream.pipe(sink) is sink
        stream.write("héllo ")
        stream.write(b"w\xc3")  # a character split across two messages
        stream.write(b"\xb6rld")
        first = asyncio.get_running_loop().create_future()
        ws.on("message", lambda *a: None if first.done() else first.set_result(None))
        await asyncio.wait_for(first, scaled(T))
        stream.end()
        await asyncio.wait_for(sink.ended, scaled(T))
        assert "".join(sink.chunks) == "héllo wörld"
        assert all(isinstance(c, str) for c in sink.chunks)
        assert sink.drained == 1
        wss.close()

    run(main)


def test_pipe_end_false_and_stdout_are_not_ended() -> None:
    async def main() -> None:
        wss, ws = await _echo_pair()
        stream = pyws.createWebSocketStream(ws)
        sink = _Sink()
        stream.pipe(sink, {"end": False})
        with pytest.raises(TypeError, match="'ending'"):
            stream.pipe(sink, {"ending": False})
        stream.write(b"\x00\x01")
        stream.end()
        await asyncio.wait_for(stream.wait_closed(), scaled(T))
        await asyncio.wait_for(asyncio.gather(*stream._pipes), scaled(T))
        assert sink.chunks == [b"\x00\x01"] and not sink.ended.done()
        wss.close()

    run(main)


def test_pipe_into_a_text_file_takes_bytes_through_its_buffer(
    tmp_path: Any,
) -> None:
    async def main() -> None:
        wss, ws = await _echo_pair()
        stream = pyws.createWebSocketStream(ws)  # no encoding: bytes
        out = open(tmp_path / "out.txt", "w", encoding="utf-8")  # noqa: SIM115
        out.write("head:")
        stream.pipe(out)
        stream.write(b"\xff\x00raw")
        stream.end()
        await asyncio.wait_for(stream.wait_closed(), scaled(T))
        await asyncio.wait_for(asyncio.gather(*stream._pipes), scaled(T))
        assert out.closed  # ended, as Node ends an fs.WriteStream
        assert (tmp_path / "out.txt").read_bytes() == b"head:\xff\x00raw"
        wss.close()

    run(main)
