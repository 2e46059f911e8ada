"""Throughput and memory of a sender that honours ``highWaterMark``.

A pyws server streams binary messages to one client in another process
(a pyws client that counts bytes) as fast as backpressure lets it:
``if not ws.send(chunk): await ws.drain()``. For each mark, the run prints
the throughput, the largest ``bufferedAmount`` seen and the sender's CPU
time per MiB, and, for
comparison, a sender that ignores the return value ("none"), where
``bufferedAmount`` grows with whatever the reader cannot take.

    python3 scripts/bench/backpressure.py               # 64 KiB and 1 KiB messages
    python3 scripts/bench/backpressure.py --mib 256 --marks 65536,1048576

The reader is the same for every row, so the rows compare the marks; on a
shared machine run it twice and trust what both runs agree on.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time

import pyws

READER = r"""
import asyncio, sys
import pyws

async def main():
    total = int(sys.argv[2])
    ws = pyws.WebSocket(sys.argv[1], perMessageDeflate=False)
    got = 0
    done = asyncio.get_running_loop().create_future()
    def on_message(data, is_binary):
        nonlocal got
        got += len(data)
        if got >= total and not done.done():
            done.set_result(None)
    ws.on("message", on_message)
    await done
    ws.close()
    await ws.wait_closed(10)

asyncio.run(main())
"""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def one_run(size: int, total: int, mark: int | None) -> tuple[float, int, float]:
    """(MB/s, peak bufferedAmount, sender CPU ms per MiB) for one mark
    (None: ignore send()'s value)."""
    options = {"port": 0, "host": "127.0.0.1"}
    if mark is not None:
        options["highWaterMark"] = mark
    else:
        options["highWaterMark"] = 1 << 62
    wss = pyws.WebSocketServer(options)
    await pyws.once(wss, "listening")
    port = wss.address()["port"]
    connected = asyncio.ensure_future(pyws.once(wss, "connection"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", READER, f"ws://127.0.0.1:{port}/", str(total)
    )
    ws, _ = await asyncio.wait_for(connected, 30)
    chunk = b"\x00" * size
    peak = 0
    sent = 0
    t0 = time.perf_counter()
    c0 = _cpu()
    while sent < total:
        ok = ws.send(chunk)
        sent += size
        amount = ws.bufferedAmount
        if amount > peak:
            peak = amount
        if not ok and mark is not None:
            await ws.drain(60)
        elif sent % (64 * size) == 0:
            await asyncio.sleep(0)  # let the loop write between bursts
    await asyncio.wait_for(ws.wait_closed(), 120)
    elapsed = time.perf_counter() - t0
    cpu = _cpu() - c0
    await asyncio.wait_for(proc.wait(), 30)
    wss.close()
    return total / elapsed / 1e6, peak, cpu * 1000 / (total / 1024 / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=128, help="MiB per run")
    parser.add_argument(
        "--marks",
        default="16384,65536,262144,1048576,4194304",
        help="highWaterMark values, comma-separated",
    )
    parser.add_argument("--sizes", default="65536,1024", help="message sizes")
    args = parser.parse_args()
    marks: list[int | None] = [int(m) for m in args.marks.split(",")]
    marks.append(None)
    total = args.mib * 1024 * 1024
    print(
        f"{'size':>6} {'highWaterMark':>14} {'MB/s':>8} "
        f"{'peak bufferedAmount':>20} {'CPU ms/MiB':>11}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        for mark in marks:
            rate, peak, cpu = asyncio.run(one_run(size, total, mark))
            name = "none" if mark is None else str(mark)
            print(f"{size:>6} {name:>14} {rate:>8.0f} {peak:>20} {cpu:>11.2f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"max RSS of the sender process over all runs: {rss // 1024} MiB")


if __name__ == "__main__":
    main()
