"""Subscribers on several servers joined by Redis, one publisher: throughput
and delivery latency (used by ``scripts/bench/scale.py``).

Opens ``--subscribers`` connections to each port of ``--port a,b,...`` and
one publisher on the first. On each ``go`` line read on stdin:

1. throughput: ``--messages`` messages, at most ``--window`` ahead of what
   the last subscriber of the last server received; prints messages/s and
   deliveries/s until every connection had every message;
2. latency: ``--rate`` messages per second for ``--seconds``; every
   delivery's latency is the time from the publisher's write to the read
   on the subscriber's socket (one process, one clock). Messages reach a
   connection in order, so the n-th frame a connection gets is message n.

Prints one JSON line per phase. Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from fanout_peers import Peer, connect, masked_text, payload_of


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


async def main(args: argparse.Namespace) -> None:
    ports = [int(p) for p in args.port.split(",")]
    subs: list[Peer] = []
    sem = asyncio.Semaphore(50)

    async def one(port: int) -> None:
        async with sem:
            subs.append(await connect(port, False))

    for port in ports:
        await asyncio.gather(*(one(port) for _ in range(args.subscribers)))
    sentinel = subs[-1]  # on the last server: reached through Redis
    pub = await connect(ports[0], False)
    everyone = [*subs, pub]
    frame = masked_text(payload_of(args.size, False))
    print(json.dumps({"event": "ready", "connections": len(everyone)}), flush=True)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )

    async def throughput() -> dict[str, Any]:
        starts = [p.frames for p in everyone]
        base = sentinel.frames
        moved = asyncio.Event()
        sentinel.on_frame = lambda n: moved.set()
        t0 = time.perf_counter()
        for i in range(args.messages):
            while i - (sentinel.frames - base) >= args.window:
                moved.clear()
                await moved.wait()
            pub.transport.write(frame)
        waits = [
            p.wait_frames(s + args.messages)
            for p, s in zip(everyone, starts, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*waits), 300)
        elapsed = time.perf_counter() - t0
        sentinel.on_frame = None
        return {
            "phase": "throughput",
            "messages_per_s": args.messages / elapsed,
            "deliveries_per_s": args.messages * len(everyone) / elapsed,
        }

    async def latency() -> dict[str, Any]:
        count = int(args.rate * args.seconds)
        sent: list[float] = []
        lat: list[float] = []
        starts = {id(p): p.frames for p in everyone}

        def recorder(peer: Peer) -> Any:
            def on_frame(n: int) -> None:
                now = time.perf_counter()
                first = peer.frames - n - starts[id(peer)]
                for idx in range(first, first + n):
                    lat.append(now - sent[idx])

            return on_frame

        for p in everyone:
            p.on_frame = recorder(p)
        t0 = time.perf_counter()
        for i in range(count):
            delay = t0 + i / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the publisher
            sent.append(time.perf_counter())
            pub.transport.write(frame)
        waits = [p.wait_frames(starts[id(p)] + count) for p in everyone]
        await asyncio.wait_for(asyncio.gather(*waits), 300)
        for p in everyone:
            p.on_frame = None
        return {
            "phase": "latency",
            "rate": args.rate,
            "p50_ms": percentile(lat, 50) * 1000,
            "p99_ms": percentile(lat, 99) * 1000,
            "max_ms": max(lat) * 1000,
            "deliveries": len(lat),
        }

    while True:
        line = await reader.readline()
        if not line:
            break
        print(json.dumps({"event": "done", **(await throughput())}), flush=True)
        print(json.dumps({"event": "done", **(await latency())}), flush=True)
    for p in everyone:
        p.transport.abort()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", required=True, help="ports a,b,c")
    parser.add_argument("--subscribers", type=int, default=1000, help="per port")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(main(args))
