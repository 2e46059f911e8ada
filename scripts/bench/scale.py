#!/usr/bin/env python3
"""Past one process: fan-out through Redis, and memory with N workers.

    python3 scripts/bench/scale.py                   # both parts
    python3 scripts/bench/scale.py --part redis --processes 2,4 --subscribers 1000
    python3 scripts/bench/scale.py --part memory --workers 1,2,4

``redis``: starts ``redis-server`` on a free port and P pyws servers
(``servers/fanout_redis_pyws.py``: every message received goes out through
``RedisFanout.publish``), each with ``--subscribers`` clients;
``clients/redis_peers.py`` runs one subscriber process per server and a
publisher on the first server. Throughput: ``--messages`` sent at
``--burst-rate``, messages per second until every client of every server
has them all. Latency: ``--rate`` messages per second for ``--seconds``,
p50 (median of the processes' p50s) and p99 (the worst process's p99) from
the publisher's write to the subscriber's read, on one clock. Plus the
servers' CPU per delivery.

``memory``: ``python -m pyws listen 0 --workers N``; the RSS of the workers
(summed) before and after 1,000 idle connections (spread by the kernel).

Needs ``redis-server`` (Debian package) and redis-py (``pip install -e
'.[redis]'``). Keep runs short on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import PYWS_PATH, Proc, cpu_seconds, rss_kib  # noqa: E402

PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)  # polling a port that has no other signal


def _phase(subs: list[Proc], pub: Proc, count: int, rate: float) -> dict[str, Any]:
    for sub in subs:
        sub.popen.stdin.write(f"go {count}\n".encode())  # type: ignore[union-attr]
        sub.popen.stdin.flush()  # type: ignore[union-attr]
    for sub in subs:
        json.loads(sub.readline(60.0))  # armed: counting from here
    pub.popen.stdin.write(f"go {count} {rate}\n".encode())  # type: ignore[union-attr]
    pub.popen.stdin.flush()  # type: ignore[union-attr]
    sent = json.loads(pub.readline(600.0))
    done = [json.loads(sub.readline(600.0)) for sub in subs]
    if os.environ.get("SCALE_DEBUG"):
        print(sent, done)
    elapsed = (max(d["done_ns"] for d in done) - sent["start_ns"]) / 1e9
    return {
        "messages_per_s": count / elapsed,
        "p50_ms": statistics.median(d["p50_ms"] for d in done),
        "p99_ms": max(d["p99_ms"] for d in done),
        "missing": sum(d["missing"] for d in done),
    }


def redis_part(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for procs in [int(p) for p in args.processes.split(",")]:
        redis, rport = start_redis()
        started: list[Proc] = []
        try:
            url = f"redis://127.0.0.1:{rport}/0"
            servers = [
                Proc((PY, "servers/fanout_redis_pyws.py", "--redis", url))
                for _ in range(procs)
            ]
            started += servers
            ports = [int(s.readline(30.0)) for s in servers]
            subs = []
            for port in ports:
                sub = Proc(
                    (PY, "clients/redis_peers.py", "--role", "sub", "--port", str(port))
                    + ("--subscribers", str(args.subscribers)),
                    stdin=True,
                )
                started.append(sub)
                subs.append(sub)
            for sub in subs:
                json.loads(sub.readline(300.0))
            pub = Proc(
                (
                    PY,
                    "clients/redis_peers.py",
                    "--role",
                    "pub",
                    "--port",
                    str(ports[0]),
                ),
                stdin=True,
            )
            started.append(pub)
            json.loads(pub.readline(60.0))
            before = sum(cpu_seconds(s.pid) for s in servers)
            tput = _phase(subs, pub, args.messages, args.burst_rate)
            lat = _phase(subs, pub, int(args.rate * args.seconds), args.rate)
            cpu = sum(cpu_seconds(s.pid) for s in servers) - before
            clients = procs * args.subscribers
            deliveries = (args.messages + int(args.rate * args.seconds)) * clients
            deliveries -= tput["missing"] + lat["missing"]
            fig = {
                "clients": clients,
                "messages_per_s": tput["messages_per_s"],
                "deliveries_per_s": tput["messages_per_s"] * clients,
                "rate": args.rate,
                "p50_ms": lat["p50_ms"],
                "p99_ms": lat["p99_ms"],
                "missing": tput["missing"] + lat["missing"],
                "server_cpu_us_per_delivery": cpu / deliveries * 1e6,
            }
            results[f"{procs} processes"] = fig
            print(
                f"  {procs} processes x {args.subscribers} clients: "
                f"{fig['messages_per_s']:6.0f} messages/s "
                f"({fig['deliveries_per_s'] / 1000:4.0f} k deliveries/s); "
                f"at {args.rate:.0f}/s p50 {fig['p50_ms']:.1f} ms "
                f"p99 {fig['p99_ms']:.1f} ms; servers' CPU "
                f"{fig['server_cpu_us_per_delivery']:.2f} us/delivery"
                + (f"; {fig['missing']} deliveries missing" if fig["missing"] else ""),
                flush=True,
            )
        finally:
            for proc in started:
                proc.stop()
            redis.terminate()
            redis.wait(10)
    return results


def open_idle(port: int, n: int) -> list[socket.socket]:
    socks = []
    request = (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("closed during the handshake")
            head += chunk
        socks.append(s)
    return socks


def _drain(stream: Any, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")


def memory_part(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    env = dict(os.environ, PYTHONPATH=str(PYWS_PATH))
    for n in [int(w) for w in args.workers.split(",")]:
        proc = subprocess.Popen(
            [PY, "-m", "pyws", "listen", "0", "--workers", str(n)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        try:
            assert proc.stderr is not None
            pids: list[int] = []
            port = 0
            lines: queue.Queue[str] = queue.Queue()
            # Drain stderr (a log line per connection) so that it never fills.
            threading.Thread(
                target=_drain, args=(proc.stderr, lines), daemon=True
            ).start()
            while not pids:
                line = lines.get(timeout=60)
                if not line:
                    raise RuntimeError("listen exited")
                m = re.search(r"ws://127\.0\.0\.1:(\d+)/", line)
                if m and ("workers)" in line or n == 1):
                    port = int(m.group(1))
                    found = re.search(r"\(pids ([\d, ]+)\)", line)
                    pids = (
                        [int(p) for p in found.group(1).split(", ")]
                        if found
                        else [proc.pid]
                    )
            before = sum(rss_kib(p) for p in pids)
            socks = open_idle(port, args.connections)
            time.sleep(0.5)  # let the workers finish their handshakes
            after = sum(rss_kib(p) for p in pids)
            for s in socks:
                s.close()
            per = (after - before) / args.connections
            results[f"{n} workers"] = {
                "rss_before_kib": before,
                "rss_after_kib": after,
                "kib_per_connection": per,
            }
            print(
                f"  {n} workers: RSS {before / 1024:.1f} MiB idle "
                f"({before / 1024 / n:.1f} MiB each), "
                f"{after / 1024:.1f} MiB with {args.connections} connections: "
                f"{per:.1f} KiB per connection",
                flush=True,
            )
        finally:
            proc.terminate()
            proc.wait(30)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("redis", "memory", "all"), default="all")
    parser.add_argument("--processes", default="2,4")
    parser.add_argument("--subscribers", type=int, default=1000, help="per process")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument(
        "--burst-rate",
        type=float,
        default=2000.0,
        help="publishing rate of the throughput phase (messages/s)",
    )
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args(argv)
    os.chdir(HERE)
    out: dict[str, Any] = {}
    if args.part in ("redis", "all"):
        if shutil.which("redis-server") is None:
            print("redis: skipped (apt-get install redis-server)")
        else:
            print("fan-out through Redis (one publisher on the first server):")
            out["redis"] = redis_part(args)
    if args.part in ("memory", "all"):
        print("memory with N workers (listen --workers N, echo):")
        out["memory"] = memory_part(args)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
