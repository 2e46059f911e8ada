"""The large-output write path over loopback TCP.

Output over 64 KiB goes to the kernel in one gather write (``os.writev``)
while the transport's buffer is empty; what the kernel does not take goes
to the transport. These tests check the bytes on the wire when the kernel
takes everything, part of a chunk, nothing, or fails, and that the bypass
is only used where it keeps the byte order (the stdlib's plain TCP
transport). On uvloop, big output goes unjoined to ``writelines`` (libuv's
gather write).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import pytest
from helpers.rawpeer import RawPeer, build_frame, scaled

import pyws
from pyws import _transport

T = 5.0


async def pair(**options: Any) -> tuple[pyws.WebSocketServer, pyws.WebSocket, RawPeer]:
    wss = pyws.WebSocketServer(port=0, host="127.0.0.1", **options)
    await pyws.once(wss, "listening", scaled(T))
    conn: asyncio.Future[pyws.WebSocket] = asyncio.get_running_loop().create_future()
    wss.on("connection", lambda ws, req: conn.set_result(ws))
    peer = await RawPeer.connect("127.0.0.1", wss.address()["port"])  # type: ignore[index]
    ws = await asyncio.wait_for(conn, scaled(T))
    return wss, ws, peer


async def finish(wss: pyws.WebSocketServer, ws: pyws.WebSocket, peer: RawPeer) -> None:
    """Close everything and wait for it: no socket is left to the GC."""
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[None] = loop.create_future()
    if ws.readyState == ws.CLOSED:
        closed.set_result(None)
    else:
        ws.on("close", lambda *a: closed.done() or closed.set_result(None))
        ws.terminate()
    peer.close()
    await asyncio.wait_for(closed, scaled(T))
    await peer.wait_lost(T)
    done: asyncio.Future[None] = loop.create_future()
    wss.close(lambda *a: done.done() or done.set_result(None))
    await asyncio.wait_for(done, scaled(T))


def messages(count: int) -> list[bytes]:
    """Big and small payloads mixed, each with distinct bytes."""
    sizes = [70000, 5, 200000, 65536, 125, 126, 131072, 1]
    return [
        bytes([i & 0xFF]) * 7 + os.urandom(sizes[i % len(sizes)]) for i in range(count)
    ]


async def send_all(ws: pyws.WebSocket, payloads: list[bytes]) -> list[Any]:
    """Send every payload in one loop turn; return the callbacks' errors."""
    loop = asyncio.get_running_loop()
    done: list[asyncio.Future[Any]] = []
    for data in payloads:
        fut: asyncio.Future[Any] = loop.create_future()
        done.append(fut)
        ws.send(data, lambda err, fut=fut: fut.done() or fut.set_result(err))
    return list(await asyncio.wait_for(asyncio.gather(*done), scaled(T)))


async def received(peer: RawPeer, count: int) -> list[bytes]:
    await peer.wait_for(
        lambda: len(peer.data_frames()) >= count, T, f"{count} data frames"
    )
    return [f.payload for f in peer.data_frames()]


def test_a_burst_of_echoes_is_one_gather_write(
    arun: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Messages that arrive in one read are echoed in one writev: no join,
    # one syscall.
    async def main() -> None:
        wss, ws, peer = await pair()
        ws.on("message", lambda data, is_binary: ws.send(data))
        conn = ws._conn
        assert conn is not None
        assert conn._fd == conn.transport.get_extra_info("socket").fileno() >= 0
        calls: list[int] = []
        real = os.writev

        def counting(fd: int, buffers: Any) -> int:
            calls.append(len(buffers))
            return real(fd, buffers)

        monkeypatch.setattr(_transport.os, "writev", counting)
        payloads = [os.urandom(70000) for _ in range(4)]
        peer.send_raw(b"".join(build_frame(2, p, mask=True) for p in payloads))
        assert await received(peer, 4) == payloads
        # However the reads split the burst, each read's echoes went out in
        # one call: four frames, header and payload each, in as many calls
        # as reads that completed frames.
        assert sum(calls) == 8
        assert all(n % 2 == 0 for n in calls)
        await finish(wss, ws, peer)

    arun(main())


@pytest.mark.parametrize(
    "limit",
    [1, 9, 10, 11, 4096, 70009, 70010, 70017, 70018],
    ids=lambda n: f"takes-{n}",
)
def test_a_partial_gather_write_loses_and_reorders_nothing(
    arun: Any, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    # The kernel takes `limit` bytes of the first writev (mid-header,
    # header boundary, mid-payload, ...) then nothing: the rest goes through
    # the transport, after the part already sent.
    async def main() -> None:
        wss, ws, peer = await pair()
        real = os.writev
        state = {"left": limit}

        def partial(fd: int, buffers: Any) -> int:
            left = state["left"]
            if not left:
                raise BlockingIOError
            take: list[Any] = []
            for buf in buffers:
                if left <= 0:
                    break
                piece = memoryview(buf)[:left]
                take.append(piece)
                left -= len(piece)
            n = real(fd, take)
            state["left"] -= n
            return n

        monkeypatch.setattr(_transport.os, "writev", partial)
        payloads = messages(5)
        assert await send_all(ws, payloads) == [None] * 5
        assert await received(peer, 5) == payloads
        # The transport's buffer now drained; the next burst may bypass
        # it again, and still lands after the first.
        state["left"] = 3 * limit
        more = messages(3)
        assert await send_all(ws, more) == [None] * 3
        assert await received(peer, 8) == payloads + more
        await finish(wss, ws, peer)

    arun(main())


def test_a_full_kernel_buffer_then_reading_again(arun: Any) -> None:
    # The peer stops reading: the gather write fills the kernel's buffers,
    # the rest waits in the transport, later sends queue behind it.
    async def main() -> None:
        wss, ws, peer = await pair()
        # Small socket buffers on both sides: the kernel soon refuses more.
        peer.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_RCVBUF, 65536
        )
        assert ws._conn is not None
        ws._conn.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 65536
        )
        peer.transport.pause_reading()
        payloads = messages(40)  # about 2.3 MB
        loop = asyncio.get_running_loop()
        callbacks: list[asyncio.Future[Any]] = []
        for data in payloads:
            fut: asyncio.Future[Any] = loop.create_future()
            callbacks.append(fut)
            ws.send(data, lambda err, fut=fut: fut.done() or fut.set_result(err))
            await asyncio.sleep(0)
        assert ws.bufferedAmount > 0
        peer.transport.resume_reading()
        assert await received(peer, 40) == payloads
        assert (
            await asyncio.wait_for(asyncio.gather(*callbacks), scaled(T)) == [None] * 40
        )
        assert ws.bufferedAmount == 0
        await finish(wss, ws, peer)

    arun(main())


def test_a_gather_write_error_leaves_the_data_to_the_transport(
    arun: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The transport's own write meets the error (if it is real) and fails
    # the connection as always; here only writev fails, so all arrives.
    async def main() -> None:
        wss, ws, peer = await pair()

        def failing(fd: int, buffers: Any) -> int:
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(_transport.os, "writev", failing)
        payloads = messages(4)
        assert await send_all(ws, payloads) == [None] * 4
        assert await received(peer, 4) == payloads
        await finish(wss, ws, peer)

    arun(main())


def test_sending_to_a_reset_peer_ends_in_1006(arun: Any) -> None:
    async def main() -> None:
        wss, ws, peer = await pair()
        loop = asyncio.get_running_loop()
        closed: asyncio.Future[Any] = loop.create_future()
        ws.on("close", lambda code, reason: closed.set_result(code))
        peer.reset_connection()
        await peer.wait_lost(T)
        sent: asyncio.Future[Any] = loop.create_future()
        if ws.readyState == ws.OPEN:
            ws.send(os.urandom(200000), lambda err: sent.set_result(err))
        else:
            sent.set_result(None)
        await asyncio.wait_for(sent, scaled(T))
        assert await asyncio.wait_for(closed, scaled(T)) == 1006
        await finish(wss, ws, peer)

    arun(main())


def test_the_bypass_can_be_turned_off(
    arun: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_transport, "_NO_WRITEV", True)  # PYWS_NO_WRITEV=1

    async def main() -> None:
        wss, ws, peer = await pair()
        assert ws._conn is not None and ws._conn._fd == -1
        payloads = messages(6)
        assert await send_all(ws, payloads) == [None] * 6
        assert await received(peer, 6) == payloads
        await finish(wss, ws, peer)

    arun(main())


def test_other_transports_are_written_through() -> None:
    class Other(asyncio.Transport):
        def get_extra_info(self, name: str, default: Any = None) -> Any:
            raise AssertionError("not asked: the type alone decides")

    assert _transport._gather_fd(Other()) == -1


class _Recording:
    """Wraps a transport; records the chunk sizes given to writelines."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.lines: list[list[int]] = []

    def writelines(self, chunks: Any) -> None:
        self.lines.append([len(c) for c in chunks])
        self.real.writelines(chunks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def uv_echo(payloads: list[bytes]) -> tuple[bool, list[list[int]]]:
    """A pyws echo server and client on one uvloop loop: the server's
    Connection (transport wrapped), what the client got back."""
    loop = asyncio.get_running_loop()
    wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
    await pyws.once(wss, "listening", scaled(T))
    conn_fut: asyncio.Future[pyws.WebSocket] = loop.create_future()
    wss.on("connection", lambda ws, req: conn_fut.set_result(ws))
    client = pyws.WebSocket(f"ws://127.0.0.1:{wss.address()['port']}/")  # type: ignore[index]
    got: list[bytes] = []
    all_back: asyncio.Future[None] = loop.create_future()

    def on_message(data: bytes, is_binary: bool) -> None:
        got.append(data)
        if len(got) == len(payloads) and not all_back.done():
            all_back.set_result(None)

    client.on("message", on_message)
    await pyws.once(client, "open", scaled(T))
    ws = await asyncio.wait_for(conn_fut, scaled(T))
    conn = ws._conn
    assert conn is not None and conn._fd == -1
    gathers = conn._writelines
    rec = _Recording(conn.transport)
    conn.transport = rec  # type: ignore[assignment]
    # one loop turn: the echoes of one read leave in one call
    ws.on("message", lambda data, is_binary: ws.send(data))
    for p in payloads:
        client.send(p)
    await asyncio.wait_for(all_back, scaled(4 * T))
    assert got == payloads
    conn.transport = rec.real
    closed = pyws.once(client, "close", scaled(T))
    client.close()
    await closed
    done: asyncio.Future[None] = loop.create_future()
    wss.close(lambda *a: done.done() or done.set_result(None))
    await asyncio.wait_for(done, scaled(T))
    return gathers, rec.lines


def test_uvloop_large_output_is_one_writelines() -> None:
    # uvloop's transport cannot be bypassed (libuv owns the socket), but its
    # writelines() is a gather write: big echoes go there unjoined (header
    # and payload as separate chunks) and arrive whole and in order.
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not available here")
    payloads = messages(8)
    gathers, lines = uvloop.run(uv_echo(payloads))
    assert gathers
    seen = {n for line in lines for n in line}
    assert {len(p) for p in payloads if len(p) > 65536} <= seen


def test_uvloop_writelines_honours_the_off_switch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not available here")
    monkeypatch.setattr(_transport, "_NO_WRITEV", True)  # PYWS_NO_WRITEV=1
    gathers, lines = uvloop.run(uv_echo(messages(6)))
    assert not gathers and not lines


def test_a_big_chunk_goes_to_the_transport_unjoined(
    arun: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the bypass, chunks are joined in groups, but a payload of
    # _NO_JOIN (1 MiB) or more is handed over as it is: a join would copy
    # it.
    monkeypatch.setattr(_transport, "_NO_WRITEV", True)  # PYWS_NO_WRITEV=1

    async def main() -> None:
        wss, ws, peer = await pair()
        conn = ws._conn
        assert conn is not None and conn._fd == -1
        written: list[Any] = []
        real = conn.transport

        class Recording:
            def write(self, data: Any) -> None:
                written.append(data)
                real.write(data)

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

        conn.transport = Recording()  # type: ignore[assignment]
        payloads = messages(4) + [os.urandom(_transport._NO_JOIN)] + messages(3)
        assert await send_all(ws, payloads) == [None] * 8
        assert await received(peer, 8) == payloads
        assert any(w is payloads[4] for w in written)
        # smaller ones are joined with their headers
        assert not any(w is p for p in payloads[:4] for w in written)
        conn.transport = real
        await finish(wss, ws, peer)

    arun(main())


def test_the_off_switch_is_the_environment_at_import() -> None:
    import subprocess
    import sys

    code = "from pyws import _transport; print(_transport._NO_WRITEV)"
    for value, expected in (("1", "True"), ("", "False")):
        env = {**os.environ, "PYWS_NO_WRITEV": value}
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=scaled(30),
            check=True,
        )
        assert out.stdout.strip() == expected
