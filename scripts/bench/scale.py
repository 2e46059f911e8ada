#!/usr/bin/env python3
"""Past one process: fan-out through Redis, and memory with N workers.

    python3 scripts/bench/scale.py                   # both parts
    python3 scripts/bench/scale.py --part redis --processes 2,4 --subscribers 1000
    python3 scripts/bench/scale.py --part memory --workers 1,2,4

``redis``: starts ``redis-server`` on a free port and P pyws servers
(``servers/fanout_redis_pyws.py``: every message received goes out through
``RedisFanout.publish``), each with ``--subscribers`` clients;
``clients/redis_peers.py`` publishes on the first server and reports
messages per second (every connection gets every message) and the delivery
latency p50/p99 at a fixed rate, plus the servers' CPU per delivery.

``memory``: ``python -m pyws listen 0 --workers N``; the RSS of the workers
(summed) before and after 1,000 idle connections (spread by the kernel).

Needs ``redis-server`` (Debian package) and redis-py (``pip install -e
'.[redis]'``). Keep runs short on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
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


def redis_part(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for procs in [int(p) for p in args.processes.split(",")]:
        redis, rport = start_redis()
        servers: list[Proc] = []
        try:
            url = f"redis://127.0.0.1:{rport}/0"
            for _ in range(procs):
                servers.append(
                    Proc((PY, "servers/fanout_redis_pyws.py", "--redis", url))
                )
            ports = [int(s.readline(30.0)) for s in servers]
            peers = Proc(
                (
                    PY,
                    "clients/redis_peers.py",
                    "--port",
                    ",".join(map(str, ports)),
                    "--subscribers",
                    str(args.subscribers),
                    "--messages",
                    str(args.messages),
                    "--rate",
                    str(args.rate),
                    "--seconds",
                    str(args.seconds),
                ),
                stdin=True,
            )
            try:
                ready = json.loads(peers.readline(300.0))
                before = sum(cpu_seconds(s.pid) for s in servers)
                peers.send_line()
                tput = json.loads(peers.readline(600.0))
                lat = json.loads(peers.readline(600.0))
                cpu = sum(cpu_seconds(s.pid) for s in servers) - before
                deliveries = args.messages * ready["connections"] + lat["deliveries"]
                fig = {
                    "connections": ready["connections"],
                    "messages_per_s": tput["messages_per_s"],
                    "deliveries_per_s": tput["deliveries_per_s"],
                    "p50_ms": lat["p50_ms"],
                    "p99_ms": lat["p99_ms"],
                    "rate": lat["rate"],
                    "server_cpu_us_per_delivery": cpu / deliveries * 1e6,
                }
                results[f"{procs} processes"] = fig
                print(
                    f"  {procs} processes x {args.subscribers} clients: "
                    f"{fig['messages_per_s']:7.0f} messages/s "
                    f"({fig['deliveries_per_s'] / 1000:5.0f} k deliveries/s), "
                    f"at {args.rate:.0f}/s p50 {fig['p50_ms']:.1f} ms "
                    f"p99 {fig['p99_ms']:.1f} ms; servers' CPU "
                    f"{fig['server_cpu_us_per_delivery']:.2f} us/delivery",
                    flush=True,
                )
            finally:
                peers.stop()
        finally:
            for s in servers:
                s.stop()
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
            while not pids:
                line = proc.stderr.readline()
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
    parser.add_argument("--rate", type=float, default=100.0)
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
