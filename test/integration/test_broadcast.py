"""``WebSocketServer.broadcast``: one frame, the same bytes on every wire.

Raw peers (``test/helpers/rawpeer.py``) record what the server wrote and
decode it themselves: the bytes must be identical across clients, valid
frames, in order with each client's own messages, compressed once per group
of clients whose permessage-deflate parameters allow it (RSV1 set, inflated
by the peer with its own window), compressed per client otherwise, and a
client that does not read must neither hold the others back nor grow its
buffer past the limit. 127.0.0.1, port 0; every wait bounded.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from conftest import HOST, next_event, within
from helpers.rawpeer import RawPeer

import pyws.websocket_server as server_mod
from pyws import WebSocketServer
from pyws.permessage_deflate import PerMessageDeflate

TRAILER = b"\x00\x00\xff\xff"

#: Raw peers of the running test, closed when its server closes.
_PEERS: list[RawPeer] = []


@asynccontextmanager
async def server(**options: Any) -> AsyncIterator[tuple[WebSocketServer, int]]:
    wss = WebSocketServer(port=0, host=HOST, **options)
    await within(next_event(wss, "listening"), "'listening'")
    address = wss.address()
    assert address is not None
    try:
        yield wss, int(address["port"])
    finally:
        for peer in _PEERS:
            peer.transport.abort()
        _PEERS.clear()
        closed = next_event(wss, "close")
        for ws in list(wss.clients or ()):
            ws.terminate()
        wss.close()
        await within(closed, "the server's 'close'")


async def connect_all(
    wss: WebSocketServer, port: int, offers: list[str | None]
) -> tuple[list[RawPeer], list[Any]]:
    """Connect one raw peer per offer; return the peers and, in the same
    order, the server-side WebSockets."""
    peers: list[RawPeer] = []
    sockets: list[Any] = []
    for offer in offers:
        conn = next_event(wss, "connection")
        peers.append(await RawPeer.connect(HOST, port, extensions=offer))
        _PEERS.append(peers[-1])
        ws, _ = await within(conn, "'connection'")
        sockets.append(ws)
    return peers, sockets


async def wait_raw(peer: RawPeer, n: int) -> None:
    await peer.wait_for(lambda: len(peer.data_frames()) >= n, what=f"{n} frames")


def inflate(payload: bytes, wbits: int) -> bytes:
    return zlib.decompressobj(-wbits).decompress(payload + TRAILER)


def test_same_bytes_on_every_wire(arun: Any) -> None:
    async def main() -> None:
        async with server() as (wss, port):
            peers, _ = await connect_all(wss, port, [None] * 4)
            assert wss.broadcast("hello") == 4
            assert wss.broadcast(b"\x00\x01\x02") == 4
            assert wss.broadcast("as binary", {"binary": True}) == 4
            big = bytes(range(256)) * 400  # 100 KiB: header and payload apart
            assert wss.broadcast(big) == 4
            for peer in peers:
                await wait_raw(peer, 4)
            expected = (
                b"\x81\x05hello"
                + b"\x82\x03\x00\x01\x02"
                + b"\x82\x09as binary"
                + b"\x82\x7f"
                + len(big).to_bytes(8, "big")
                + big
            )
            for peer in peers:
                assert bytes(peer.raw) == expected
                frames = peer.data_frames()
                assert [(f.opcode, f.fin, f.rsv, f.masked) for f in frames] == [
                    (1, True, 0, False),
                    (2, True, 0, False),
                    (2, True, 0, False),
                    (2, True, 0, False),
                ]

    arun(main())


def test_in_order_with_own_messages_and_filters(arun: Any) -> None:
    async def main() -> None:
        async with server() as (wss, port):
            peers, sockets = await connect_all(wss, port, [None] * 3)
            first = sockets[0]

            def on_message(data: Any, is_binary: bool) -> None:
                # Called while the server reads: everything goes out after.
                first.send("own-1")
                wss.broadcast(data)
                first.send("own-2")

            first.on("message", on_message)
            peers[0].send_text("relay")
            await wait_raw(peers[0], 3)
            await wait_raw(peers[1], 1)
            payloads = [f.payload for f in peers[0].data_frames()]
            assert payloads == [b"own-1", b"relay", b"own-2"]
            assert [f.payload for f in peers[1].data_frames()] == [b"relay"]

            # filter keeps some clients; clients= names them.
            assert wss.broadcast("f", filter=lambda ws: ws is sockets[2]) == 1
            assert wss.broadcast("c", {"clients": [sockets[1]]}) == 1
            await wait_raw(peers[2], 2)
            await wait_raw(peers[1], 2)
            assert [f.payload for f in peers[2].data_frames()] == [b"relay", b"f"]
            assert [f.payload for f in peers[1].data_frames()] == [b"relay", b"c"]

            # A closing client is passed over.
            sockets[1].close()
            assert wss.broadcast("after") == 2

    arun(main())


def test_options_are_checked(arun: Any) -> None:
    async def main() -> None:
        async with server() as (wss, _):
            with pytest.raises(TypeError, match="unknown option 'bogus'"):
                wss.broadcast("x", bogus=1)
            with pytest.raises(TypeError, match="'binary' given twice"):
                wss.broadcast("x", {"binary": True}, binary=False)
            with pytest.raises(TypeError, match="'filter' must be callable"):
                wss.broadcast("x", filter=3)
            with pytest.raises(TypeError, match="options must be a dict"):
                wss.broadcast("x", [1])
        untracked = WebSocketServer(noServer=True, clientTracking=False)
        with pytest.raises(TypeError, match="'clients' option"):
            untracked.broadcast("x")
        assert untracked.broadcast("x", clients=[]) == 0

    arun(main())


def test_deflate_once_per_group(arun: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = PerMessageDeflate.compress_message

    def counting(self: PerMessageDeflate, data: Any) -> bytes:
        calls.append(len(data))
        return original(self, data)

    monkeypatch.setattr(PerMessageDeflate, "compress_message", counting)

    async def main() -> None:
        options = {"serverNoContextTakeover": True, "threshold": 0}
        async with server(perMessageDeflate=options) as (wss, port):
            offers = [
                "permessage-deflate; server_max_window_bits=10",
                "permessage-deflate; server_max_window_bits=10",
                "permessage-deflate",
                "permessage-deflate",
                None,
            ]
            peers, _ = await connect_all(wss, port, offers)
            # A repeat 1,500 bytes back: reachable with a 15-bit window, not
            # with a 10-bit one, so the two groups' outputs differ.
            message = random.Random(1).randbytes(750).hex() * 2
            for _ in range(2):
                assert wss.broadcast(message) == 5
            for peer in peers:
                await wait_raw(peer, 2)
            # One deflate per group per message: window 10 and window 15.
            assert len(calls) == 4
            raw = [bytes(p.raw) for p in peers]
            assert raw[0] == raw[1]
            assert raw[2] == raw[3]
            assert raw[0] != raw[2]
            for peer, wbits in zip(peers[:4], (10, 10, 15, 15), strict=True):
                for f in peer.data_frames():
                    assert (f.opcode, f.rsv1, f.fin) == (1, True, True)
                    assert inflate(f.payload, wbits).decode() == message
            for f in peers[4].data_frames():
                assert (f.opcode, f.rsv1, f.payload) == (1, False, message.encode())

            # compress: false and messages under the threshold go out plain.
            assert wss.broadcast("small", compress=False) == 5
            for peer in peers:
                await wait_raw(peer, 3)
                last = peer.data_frames()[-1]
                assert (last.rsv1, last.payload) == (False, b"small")
            assert len(calls) == 4

    arun(main())


def test_context_takeover_falls_back_per_client(
    arun: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(
        PerMessageDeflate,
        "compress_message",
        lambda self, data: calls.append(1) or b"",
    )

    async def main() -> None:
        async with server(perMessageDeflate=True) as (wss, port):
            peers, _ = await connect_all(
                wss, port, ["permessage-deflate", "permessage-deflate", None]
            )
            messages = ["takeover text " * 30, "takeover text " * 31]
            for m in messages:
                assert wss.broadcast(m) == 3
            for peer in peers:
                await wait_raw(peer, 2)
            assert calls == []  # nothing shared: each stream is its own
            for peer in peers[:2]:
                inflater = zlib.decompressobj(-15)
                got = []
                for f in peer.data_frames():
                    assert f.rsv1
                    got.append(inflater.decompress(f.payload + TRAILER).decode())
                assert got == messages
                # The second message reuses the first one's window.
                assert len(peer.data_frames()[1].payload) < 20
            assert [f.payload.decode() for f in peers[2].data_frames()] == messages

    arun(main())


@pytest.mark.parametrize("mark", [None, 256 * 1024])
def test_slow_client_is_bounded_and_holds_no_one_back(
    arun: Any, mark: int | None
) -> None:
    """Over its highWaterMark (64 KiB by default) a client is skipped."""
    limit = mark or 64 * 1024
    options = {} if mark is None else {"highWaterMark": mark}

    async def main() -> None:
        async with server(**options) as (wss, port):
            peers, sockets = await connect_all(wss, port, [None, None])
            slow, fast = peers
            slow.transport.pause_reading()  # never reads: the kernel fills up
            drops: list[tuple[Any, str]] = []
            wss.on("broadcastDrop", lambda ws, reason: drops.append((ws, reason)))
            chunk = b"x" * (64 * 1024)
            sent = 0
            peak = 0
            for _ in range(2000):
                sent += 1
                wss.broadcast(chunk)
                peak = max(peak, sockets[0].bufferedAmount)
                if drops:
                    break
                # The fast peer keeps up: it has every message so far.
                await fast.wait_for(
                    lambda n=sent: len(fast.data_frames()) == n, what="the message"
                )
            assert drops and drops[0] == (sockets[0], "slow")
            # Bounded: at most one message over the limit.
            assert peak <= limit + len(chunk) + 16
            for _ in range(5):
                sent += 1
                wss.broadcast(chunk)
            assert sockets[0].bufferedAmount <= limit + len(chunk) + 16
            await fast.wait_for(
                lambda: len(fast.data_frames()) == sent, what="every message"
            )
            assert len(drops) == 6

    arun(main())


def test_client_sending_fragments_is_skipped(arun: Any) -> None:
    async def main() -> None:
        async with server() as (wss, port):
            peers, sockets = await connect_all(wss, port, [None, None])
            drops: list[tuple[Any, str]] = []
            wss.on("broadcastDrop", lambda ws, reason: drops.append((ws, reason)))
            sockets[0].send("part-1", {"fin": False})
            assert wss.broadcast("all") == 1
            assert drops == [(sockets[0], "fragmented")]
            sockets[0].send("part-2", {"fin": True})
            await wait_raw(peers[0], 2)
            await wait_raw(peers[1], 1)
            frames = peers[0].data_frames()
            assert [(f.opcode, f.fin, f.payload) for f in frames] == [
                (1, False, b"part-1"),
                (0, True, b"part-2"),
            ]
            assert [f.payload for f in peers[1].data_frames()] == [b"all"]

    arun(main())


def test_one_write_per_turn_up_to_the_coalesce_limit(arun: Any) -> None:
    async def main() -> None:
        async with server() as (wss, port):
            peers, sockets = await connect_all(wss, port, [None, None])
            for text in ("a", "b", "c"):
                wss.broadcast(text)
            # Queued, not written yet: they go out together after this turn.
            assert [ws.bufferedAmount for ws in sockets] == [9, 9]
            for peer in peers:
                await wait_raw(peer, 3)
                assert bytes(peer.raw) == b"\x81\x01a\x81\x01b\x81\x01c"
            assert [ws.bufferedAmount for ws in sockets] == [0, 0]
            # Past BROADCAST_COALESCE bytes in one turn: written at once.
            big = b"x" * server_mod.BROADCAST_COALESCE
            wss.broadcast(big)
            assert all(ws.bufferedAmount < len(big) for ws in sockets)
            for peer in peers:
                await wait_raw(peer, 4)
                assert peer.data_frames()[-1].payload == big
            # The same when several messages add up to it in one turn.
            half = b"y" * (server_mod.BROADCAST_COALESCE // 2 + 1)
            wss.broadcast(half)
            assert [ws.bufferedAmount for ws in sockets] == [len(half) + 4] * 2
            wss.broadcast(half)
            assert all(ws.bufferedAmount < 2 * len(half) for ws in sockets)
            for peer in peers:
                await wait_raw(peer, 6)
                assert [f.payload for f in peer.data_frames()[-2:]] == [half, half]

    arun(main())
