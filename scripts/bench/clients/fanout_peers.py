"""Subscribers and one publisher for the fan-out benchmark (raw sockets).

Opens ``--subscribers`` connections (offering permessage-deflate with
``--deflate``) plus one publisher to every ``--port`` (spread round robin),
then, for each line ``go`` read on stdin, has the publisher send
``--messages`` messages of ``--size`` bytes with ``--window`` in flight
(counted by the copies the publisher itself gets back: it is a client
too), and waits until every connection received every message. The frames
are only counted (headers parsed, payloads skipped), so the cost here stays
small. Prints one JSON line per phase: ``ready``, then ``done`` with the
elapsed time and the number of deliveries.

Used by ``scripts/bench/fanout.py``; needs only the standard library.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import struct
import sys
import time
from typing import Any

HANDSHAKE = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
    "Sec-WebSocket-Version: 13\r\n{ext}\r\n"
)
#: Seconds without a frame after which a phase gives up waiting.
STALL_S = 5.0

DEFLATE_OFFER = (
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
)


class Peer(asyncio.Protocol):
    """One connection that counts the data frames it receives."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: Any = None
        self.buf = bytearray()
        self.skip = 0  # payload bytes of the current frame still to skip
        self.frames = 0
        self.waiter: asyncio.Future[None] | None = None
        self.want = 0
        self.on_frame: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if not self.upgraded.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            data = bytes(self.head[end + 4 :])
            self.upgraded.set_result(None)
        buf = self.buf
        buf += data
        pos = 0
        n = len(buf)
        if self.skip:
            take = min(self.skip, n)
            self.skip -= take
            pos = take
        count = 0
        while not self.skip and n - pos >= 2:
            b1 = buf[pos + 1] & 0x7F
            hlen = 2
            if b1 == 126:
                if n - pos < 4:
                    break
                b1 = struct.unpack_from("!H", buf, pos + 2)[0]
                hlen = 4
            elif b1 == 127:
                if n - pos < 10:
                    break
                b1 = struct.unpack_from("!Q", buf, pos + 2)[0]
                hlen = 10
            if buf[pos] & 0x80:
                count += 1
            pos += hlen
            take = min(b1, n - pos)
            pos += take
            self.skip = b1 - take
        del buf[:pos]
        if count:
            self.frames += count
            if self.on_frame is not None:
                self.on_frame(count)
            if self.waiter is not None and self.frames >= self.want:
                if not self.waiter.done():
                    self.waiter.set_result(None)

    def wait_frames(self, total: int) -> asyncio.Future[None]:
        fut = asyncio.get_running_loop().create_future()
        if self.frames >= total:
            fut.set_result(None)
        else:
            self.want = total
            self.waiter = fut
        return fut


async def connect(port: int, deflate: bool) -> Peer:
    loop = asyncio.get_running_loop()
    _, peer = await loop.create_connection(Peer, "127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    ext = DEFLATE_OFFER if deflate else ""
    peer.transport.write(HANDSHAKE.format(port=port, key=key, ext=ext).encode())
    await asyncio.wait_for(peer.upgraded, 30)
    return peer


def masked_text(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((0x81, 0x80 | n))
    else:
        head = bytes((0x81, 0x80 | 126)) + struct.pack("!H", n)
    return head + b"\0\0\0\0" + payload  # a zero key leaves the payload as is


def payload_of(size: int, deflate: bool) -> bytes:
    words = b"alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu "
    return (words * (size // len(words) + 1))[:size]


async def main(args: argparse.Namespace) -> None:
    ports = [int(p) for p in args.port.split(",")]
    subs: list[Peer] = []
    sem = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        async with sem:
            subs.append(await connect(ports[i % len(ports)], args.deflate))

    await asyncio.gather(*(one(i) for i in range(args.subscribers)))
    pub = await connect(ports[0], args.deflate)
    everyone = [*subs, pub]
    base = payload_of(args.size, args.deflate)
    frame_cache: dict[int, bytes] = {}

    async def phase(messages: int) -> dict[str, Any]:
        start_counts = [p.frames for p in everyone]
        sent = 0
        pub_start = pub.frames
        window = asyncio.Event()

        def on_pub_frame(count: int) -> None:
            window.set()

        pub.on_frame = on_pub_frame
        t0 = time.perf_counter()
        for i in range(messages):
            while sent - (pub.frames - pub_start) >= args.window:
                window.clear()
                await window.wait()
            frame = frame_cache.get(i % 64)
            if frame is None:
                # 64 different messages (deflate must not see one repeated)
                tag = b"%05d " % (i % 64)
                frame = frame_cache[i % 64] = masked_text(tag + base[len(tag) :])
            sent += 1
            pub.transport.write(frame)
        waits = [
            p.wait_frames(c + messages)
            for p, c in zip(everyone, start_counts, strict=True)
        ]
        # A server may drop messages for a slow client (websockets does):
        # stop once nothing arrived for STALL_S and count what did.
        done = asyncio.gather(*waits)
        last = -1
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(done), STALL_S)
                break
            except asyncio.TimeoutError:
                got = sum(p.frames for p in everyone)
                if got == last:
                    done.cancel()
                    break
                last = got
        elapsed = time.perf_counter() - t0
        pub.on_frame = None
        delivered = sum(
            min(p.frames - c, messages)
            for p, c in zip(everyone, start_counts, strict=True)
        )
        return {
            "elapsed_s": elapsed,
            "deliveries": delivered,
            "missing": messages * len(everyone) - delivered,
        }

    await phase(args.warmup)
    print(json.dumps({"event": "ready", "connections": len(everyone)}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    while True:
        line = await reader.readline()
        if not line:
            break
        result = await phase(args.messages)
        print(json.dumps({"event": "done", **result}), flush=True)
    for p in everyone:
        p.transport.abort()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", required=True, help="port, or ports a,b,c")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--deflate", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args))
