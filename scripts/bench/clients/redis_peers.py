"""Subscribers or a publisher for the Redis fan-out benchmark
(``scripts/bench/scale.py``). Standard library only.

``--role sub``: opens ``--subscribers`` connections to ``--port`` and
prints ``{"event": "ready"}``. Each line ``go COUNT`` read on stdin starts
a phase: it prints ``{"event": "armed"}`` (the publisher may start), then
waits until every connection got COUNT more messages (or
nothing arrived for 5 s), then prints the time it was done
(``time.monotonic_ns()``, one clock for every process of the machine), how
many deliveries are missing, and the delivery latency p50/p99: each
message carries its send time, read back from the frames.

``--role pub``: one connection to ``--port``; each line ``go COUNT RATE``
sends COUNT text messages at RATE per second and prints when it started
and ended.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from fanout_peers import connect, masked_text

STALL_S = 5.0
STAMP = 20  # decimal digits of monotonic_ns at the start of each payload


class Stamped:
    """Reads the send time out of every frame a connection receives."""

    def __init__(self) -> None:
        self.lat: list[int] = []

    def attach(self, peer: Any) -> None:
        original = peer.data_received
        lat = self.lat
        pending = bytearray()

        def data_received(data: bytes) -> None:
            if not peer.upgraded.done():
                original(data)
                return
            now = time.monotonic_ns()
            pending.extend(data)
            pos = 0
            n = len(pending)
            while n - pos >= 2:
                size = pending[pos + 1] & 0x7F
                head = 2
                if size == 126:
                    if n - pos < 4:
                        break
                    size = int.from_bytes(pending[pos + 2 : pos + 4], "big")
                    head = 4
                if n - pos < head + size:
                    break
                start = pos + head
                if size >= STAMP:
                    lat.append(now - int(pending[start : start + STAMP]))
                pos = start + size
            del pending[:pos]
            original(data)  # counts the frames, as for every peer

        peer.data_received = data_received


def percentile(values: list[int], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] / 1e6


async def lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    return reader


async def subscriber(args: argparse.Namespace) -> None:
    sem = asyncio.Semaphore(50)
    peers: list[Any] = []
    stamped = Stamped()

    async def one() -> None:
        async with sem:
            peer = await connect(args.port, False)
            stamped.attach(peer)
            peers.append(peer)

    await asyncio.gather(*(one() for _ in range(args.subscribers)))
    print(json.dumps({"event": "ready", "connections": len(peers)}), flush=True)
    reader = await lines()
    while line := await reader.readline():
        count = int(line.split()[1])
        stamped.lat.clear()
        starts = [p.frames for p in peers]
        print(json.dumps({"event": "armed"}), flush=True)
        done = asyncio.gather(
            *(p.wait_frames(s + count) for p, s in zip(peers, starts, strict=True))
        )
        last = -1
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(done), STALL_S)
                break
            except asyncio.TimeoutError:
                got = sum(p.frames for p in peers)
                if got == last:
                    done.cancel()
                    break
                last = got
        done_ns = time.monotonic_ns()
        delivered = sum(
            min(p.frames - s, count) for p, s in zip(peers, starts, strict=True)
        )
        lat = stamped.lat or [0]
        print(
            json.dumps(
                {
                    "event": "done",
                    "done_ns": done_ns,
                    "missing": count * len(peers) - delivered,
                    "p50_ms": percentile(lat, 50),
                    "p99_ms": percentile(lat, 99),
                    "samples": len(stamped.lat),
                }
            ),
            flush=True,
        )
    for p in peers:
        p.transport.abort()


async def publisher(args: argparse.Namespace) -> None:
    pub = await connect(args.port, False)
    pad = b"x" * max(args.size - STAMP, 0)
    print(json.dumps({"event": "ready"}), flush=True)
    reader = await lines()
    while line := await reader.readline():
        _, count_text, rate_text = line.split()
        count, rate = int(count_text), float(rate_text)
        start = time.monotonic_ns()
        t0 = time.perf_counter()
        for i in range(count):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the publisher
            stamp = b"%020d" % time.monotonic_ns()
            pub.transport.write(masked_text(stamp + pad))
        print(
            json.dumps(
                {"event": "done", "start_ns": start, "end_ns": time.monotonic_ns()}
            ),
            flush=True,
        )
    pub.transport.abort()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("sub", "pub"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(subscriber(args) if args.role == "sub" else publisher(args))
