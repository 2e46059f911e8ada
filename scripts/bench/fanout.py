#!/usr/bin/env python3
"""Fan-out benchmark: one publisher, many subscribers, server CPU per delivery.

    python3 scripts/bench/fanout.py                    # 1,000 subscribers
    python3 scripts/bench/fanout.py --subscribers 200 --messages 50 --runs 1
    python3 scripts/bench/fanout.py --only pyws,ws --sizes 1024 --deflate on

Each server relays every message it receives to every client (the
publisher included): pyws with ``wss.broadcast()``, pyws with a loop of
``send()`` (what a ws user writes), Node ws with
``wss.clients.forEach(c => c.send(data))`` and websockets with
``broadcast(server.connections, message)``. ``clients/fanout_peers.py``
opens the subscribers and the publisher (raw sockets, frames counted, not
decoded), sends ``--messages`` messages with ``--window`` in flight
(default 8; with 1, no two messages reach the server in one read, so
pyws's broadcast cannot join two messages into one write), and waits
until every connection has every message. The figure is the server's own CPU
time (utime + stime from ``/proc``, every thread) over that window divided
by the deliveries (messages x connections), the median of ``--runs``. A
server that drops messages for clients it finds slow (websockets'
``broadcast()`` does) is counted on what it delivered, and the row says
how many deliveries were dropped.

Deflate rows: pyws offers ``serverNoContextTakeover`` (so broadcast can
compress once for everyone); Node ws and websockets keep their defaults
(context takeover: one compression per client); "pyws takeover" is pyws
with ws's default, where broadcast falls back to one compression per
client.

Needs ``npm ci --prefix scripts/bench`` for Node ws and ``pip install -r
scripts/bench/requirements.txt`` for websockets; rows whose server is
missing are skipped. Mind the file limit: each connection is two
descriptors on this machine (both ends).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import Proc, cpu_seconds  # noqa: E402

PY = sys.executable

IMPLS: dict[str, tuple[str, ...]] = {
    "pyws": (PY, "servers/fanout_pyws.py"),
    "pyws foreach": (PY, "servers/fanout_pyws.py", "--mode", "foreach"),
    "pyws takeover": (PY, "servers/fanout_pyws.py"),
    "ws": ("node", "servers/fanout_ws.js"),
    "websockets": (PY, "servers/fanout_websockets.py"),
}


def available(name: str) -> str | None:
    """Why ``name`` cannot run here, or None."""
    if name == "ws":
        if shutil.which("node") is None:
            return "node not found"
        if not (HERE / "node_modules" / "ws").is_dir():
            return "run npm ci --prefix scripts/bench"
    if name == "websockets":
        try:
            import websockets  # noqa: F401
        except ImportError:
            return "pip install -r scripts/bench/requirements.txt"
    return None


def one(name: str, size: int, deflate: bool, args: argparse.Namespace) -> Any:
    cmd = IMPLS[name]
    if deflate:
        cmd += ("--deflate-takeover",) if name == "pyws takeover" else ("--deflate",)
    elif name == "pyws takeover":
        return None  # the same as "pyws" without deflate
    srv = Proc(cmd)
    try:
        port = int(srv.readline(30.0))
        peers_cmd = [
            PY,
            "clients/fanout_peers.py",
            "--port",
            str(port),
            "--subscribers",
            str(args.subscribers),
            "--messages",
            str(args.messages),
            "--size",
            str(size),
            "--window",
            str(args.window),
        ]
        if deflate:
            peers_cmd.append("--deflate")
        peers = Proc(tuple(peers_cmd), stdin=True)
        try:
            ready = json.loads(peers.readline(120.0))
            assert ready["event"] == "ready", ready
            runs = []
            for _ in range(args.runs):
                before = cpu_seconds(srv.pid)
                peers.send_line()
                done = json.loads(peers.readline(300.0))
                cpu = cpu_seconds(srv.pid) - before
                runs.append(
                    {
                        "cpu_us": cpu / done["deliveries"] * 1e6,
                        "rate": done["deliveries"] / done["elapsed_s"],
                        "missing": done["missing"],
                    }
                )
            return {
                "cpu_us": statistics.median(r["cpu_us"] for r in runs),
                "rate": statistics.median(r["rate"] for r in runs),
                "connections": ready["connections"],
                "missing": max(r["missing"] for r in runs),
            }
        finally:
            peers.stop()
    finally:
        srv.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--window",
        type=int,
        default=8,
        help="messages in flight (1: no two messages ever reach the server "
        "in one read)",
    )
    parser.add_argument("--sizes", default="16,1024")
    parser.add_argument("--deflate", choices=("off", "on", "both"), default="both")
    parser.add_argument("--only", help="comma-separated rows: " + ",".join(IMPLS))
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(IMPLS)
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.deflate]
    os.chdir(HERE)
    results: dict[str, Any] = {}
    print(
        f"fan-out: {args.subscribers} subscribers + 1 publisher, "
        f"{args.messages} messages per run, {args.window} in flight, "
        f"median of {args.runs} runs; "
        "server CPU per delivered message"
    )
    for deflate in modes:
        for size in sizes:
            key = f"{size} B{' deflate' if deflate else ''}"
            row: dict[str, Any] = {}
            for name in names:
                why = available(name)
                if why:
                    print(f"  {key:>14}  {name:<14} skipped: {why}")
                    continue
                fig = one(name, size, deflate, args)
                if fig is None:
                    continue
                row[name] = fig
            node = row.get("ws", {}).get("cpu_us")
            for name, fig in row.items():
                ratio = f"{fig['cpu_us'] / node:5.2f}x ws" if node else ""
                missing = (
                    f"  ({fig['missing']} deliveries dropped by the server)"
                    if fig["missing"]
                    else ""
                )
                print(
                    f"  {key:>14}  {name:<14} {fig['cpu_us']:7.2f} us/delivery "
                    f"{fig['rate'] / 1000:8.0f} k deliveries/s  {ratio}{missing}"
                )
            results[key] = row
            pyws = row.get("pyws", {}).get("cpu_us")
            if node and pyws:
                verdict = "PASS" if pyws <= 0.5 * node else "FAIL"
                print(f"  {key:>14}  target pyws <= 0.5x ws: {verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
