"""The fault suite: hostile and broken peers against a pyws server.

    python scripts/fault/run.py              # every scenario, a table at the end
    python scripts/fault/run.py churn idle   # some of them
    python scripts/fault/run.py --list

Each scenario starts what it needs (``server.py`` in a subprocess, so its
memory, descriptors and CPU time are its own), drives raw sockets at it on
127.0.0.1 and measures through ``/proc`` (Linux). Every loop is bounded and
every wait has a timeout. The last lines are a table: scenario, what was
measured, the verdict (``ok`` / ``FAIL``).

Scenarios: slowloris, fin-handshake, emfile, half-frame, slow-reader, rst,
ping-flood, deflate-bomb, big-headers, idle, churn (see ``README.md`` for what each
does and the numbers of the development machine).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import socket
import statistics
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
KEY = base64.b64encode(b"fault-suite-key!").decode()
TICK = os.sysconf("SC_CLK_TCK")

REQUEST = (
    f"GET / HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\n"
    f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
    "Sec-WebSocket-Version: 13\r\n"
)


# -- the server process ----------------------------------------------------------


class Server:
    """``server.py`` in a subprocess, with its /proc figures."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.port = port
        self.pid = proc.pid

    @classmethod
    def start(cls, *, nofile: int | None = None, **options: Any) -> Server:
        cmd = [
            sys.executable,
            str(HERE / "server.py"),
            "--options",
            json.dumps(options),
        ]
        if nofile is not None:
            cmd += ["--nofile", str(nofile)]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server did not start: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        return cls(proc, int(line))

    def stop(self) -> str:
        """End the server; return what it wrote on stderr."""
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.stderr.read().decode(errors="replace")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK


async def settle(server: Server, limit: float = 5.0) -> int:
    """Wait (at most ``limit`` s) until the server's descriptor count stops
    changing, as the sockets of the previous step close; return it."""
    last = server.fds()
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
        now = server.fds()
        if now == last:
            return now
        last = now
    return last


# -- raw clients ---------------------------------------------------------------


def frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, rsv1: bool = False
) -> bytes:
    """A client frame with the all-zero masking key (valid, and no XOR)."""
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def upgrade(port: int, extra: str = "", timeout: float = 10.0) -> Conn:
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(HOST, port, limit=1 << 22), timeout
    )
    writer.write((REQUEST + extra + "\r\n").encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    if not head.startswith(b"HTTP/1.1 101"):
        writer.close()
        raise RuntimeError(f"handshake refused: {head[:40]!r}")
    return reader, writer


async def read_frame(
    reader: asyncio.StreamReader, timeout: float = 10.0
) -> tuple[int, bytes]:
    b0, b1 = await asyncio.wait_for(reader.readexactly(2), timeout)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    return b0 & 0x0F, await asyncio.wait_for(reader.readexactly(n), timeout)


async def close_cleanly(conn: Conn, timeout: float = 10.0) -> None:
    reader, writer = conn
    writer.write(frame(8, struct.pack("!H", 1000)))
    try:
        await asyncio.wait_for(reader.read(), timeout)  # the close frame, then FIN
    except (asyncio.TimeoutError, ConnectionError):
        pass
    writer.close()


async def echo_once(port: int) -> float:
    """Seconds for a normal client: connect, upgrade, echo one message, close."""
    start = time.perf_counter()
    conn = await upgrade(port)
    conn[1].write(frame(1, b"hello"))
    opcode, data = await read_frame(conn[0])
    assert (opcode, data) == (1, b"hello"), (opcode, data)
    elapsed = time.perf_counter() - start
    await close_cleanly(conn)
    return elapsed


async def median_echo(port: int, n: int = 20) -> float:
    return statistics.median([await echo_once(port) for _ in range(n)])


async def gather_bounded(
    make: Callable[[int], Awaitable[Any]], count: int, concurrency: int
) -> list[Any]:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Any:
        async with sem:
            return await make(i)

    return await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)


def close_all(writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.close()


def reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# -- scenarios -----------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    measured: str
    ok: bool


async def slowloris(server: Server) -> list[Row]:
    """1,000 sockets dribble a request head (a byte every 0.5 s for 5 s)
    while a normal client connects and echoes; its latency is compared with
    the latency without them."""
    await median_echo(server.port, 5)  # warm up
    base = await median_echo(server.port)
    conns = await gather_bounded(
        lambda i: asyncio.open_connection(HOST, server.port), 1000, 200
    )
    writers = [c[1] for c in conns if not isinstance(c, BaseException)]
    for w in writers:
        w.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    latencies = []
    for _ in range(10):  # 5 s: a byte per socket per 0.5 s, echo in between
        for w in writers:
            w.write(b"X")
        latencies.append(await median_echo(server.port, 5))
        await asyncio.sleep(0.5)
    loaded = statistics.median(latencies)
    close_all(writers)
    delta_ms = (loaded - base) * 1000
    return [
        Row(
            "slowloris",
            f"{len(writers)} sockets; normal client {base * 1000:.2f} -> "
            f"{loaded * 1000:.2f} ms ({delta_ms:+.2f} ms)",
            delta_ms < 50,
        )
    ]


async def fin_handshake(server: Server) -> list[Row]:
    """1,000 sockets send part of a head and FIN: each must be closed at once
    (it used to wait in CLOSE-WAIT for the 60 s head timeout)."""
    before = await settle(server)

    async def one(i: int) -> float:
        reader, writer = await asyncio.open_connection(HOST, server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"")
        writer.write_eof()
        start = time.perf_counter()
        await asyncio.wait_for(reader.read(), 5.0)
        writer.close()
        return time.perf_counter() - start

    results = await gather_bounded(one, 1000, 200)
    times = [r for r in results if isinstance(r, float)]
    failed = len(results) - len(times)
    after = await settle(server)
    worst = max(times) * 1000 if times else float("nan")
    return [
        Row(
            "fin-handshake",
            f"{len(times)}/1000 closed by the server, slowest {worst:.1f} ms; "
            f"server fds {before} -> {after}",
            failed == 0 and worst < 2000 and after <= before + 5,
        )
    ]


async def emfile(_: Server) -> list[Row]:
    """A server under ``ulimit -n 1024``: (a) the issue's attack, 1,100
    sockets that send part of a head and FIN, then a normal client; (b) 1,100
    idle sockets exhaust its descriptors: log lines and CPU meanwhile, then
    how soon a normal client gets in once they leave."""
    rows = []
    server = Server.start(nofile=1024)
    try:

        async def fin_one(i: int) -> None:
            reader, writer = await asyncio.open_connection(HOST, server.port)
            writer.write(b"GET / HTTP/1.1\r\n")
            writer.write_eof()
            await asyncio.wait_for(reader.read(), 10.0)
            writer.close()

        await gather_bounded(fin_one, 1100, 1100)
        start = time.perf_counter()
        await echo_once(server.port)
        after_fin = time.perf_counter() - start
        rows.append(
            Row(
                "emfile (FIN)",
                f"1,100 head+FIN sockets; a normal client then got in in "
                f"{after_fin * 1000:.1f} ms",
                after_fin < 1.0,
            )
        )

        conns = await gather_bounded(
            lambda i: asyncio.open_connection(HOST, server.port), 1100, 1100
        )
        writers = [c[1] for c in conns if not isinstance(c, BaseException)]
        cpu0, t0 = server.cpu_s(), time.perf_counter()
        await asyncio.sleep(3.0)  # the server is out of descriptors meanwhile
        cpu = (server.cpu_s() - cpu0) / (time.perf_counter() - t0)
        client = asyncio.ensure_future(echo_once(server.port))
        await asyncio.sleep(0.1)
        close_all(writers)
        freed = time.perf_counter()
        await asyncio.wait_for(client, 10.0)
        recovery = time.perf_counter() - freed
    finally:
        log = server.stop()
    lines = [line for line in log.splitlines() if line.strip()]
    emfile_lines = [line for line in lines if "EMFILE" in line]
    rows.append(
        Row(
            "emfile (idle)",
            f"{len(writers)} idle sockets for 3 s: CPU {cpu * 100:.0f}%, "
            f"{len(emfile_lines)} log line(s) ({len(lines)} in all); normal client "
            f"in {recovery * 1000:.0f} ms after they left",
            cpu < 0.2 and len(lines) <= 5 and recovery < 1.5,
        )
    )
    return rows


async def half_frame(server: Server) -> list[Row]:
    """Half a frame, then silence: held by default (as ws); with
    ``incompleteMessageTimeout: 1000`` closed with 1008 after about 1 s."""
    conn = await upgrade(server.port)
    conn[1].write(frame(2, b"0123456789")[:9])
    try:
        await asyncio.wait_for(conn[0].read(1), 2.0)
        held = False
    except asyncio.TimeoutError:
        held = True
    conn[1].close()
    limited = Server.start(incompleteMessageTimeout=1000)
    try:
        conn = await upgrade(limited.port)
        start = time.perf_counter()
        conn[1].write(frame(2, b"0123456789")[:9])
        opcode, payload = await read_frame(conn[0], 5.0)
        elapsed = time.perf_counter() - start
        code = struct.unpack("!H", payload[:2])[0] if opcode == 8 else None
        conn[1].close()
    finally:
        limited.stop()
    return [
        Row(
            "half-frame",
            f"default: {'held after 2 s (as ws)' if held else 'closed'}",
            held,
        ),
        Row(
            "half-frame (limit)",
            f"incompleteMessageTimeout 1000: close {code} "
            f"after {elapsed * 1000:.0f} ms",
            code == 1008 and 0.9 < elapsed < 1.5,
        ),
    ]


async def _flood_unread(port: int, total: int) -> tuple[int, str]:
    """Send ``total`` bytes of 64 KiB messages to the echo server without
    reading the echoes; return what was sent and how it ended."""
    conn = await upgrade(port)
    conn[0]._transport.pause_reading()  # type: ignore[attr-defined]
    message = frame(2, b"\0" * 65536)
    sent = 0
    outcome = "still open"
    try:
        while sent < total:
            conn[1].write(message * 16)
            sent += 16 * 65536
            await asyncio.wait_for(conn[1].drain(), 10.0)
    except ConnectionError as exc:
        outcome = f"cut off ({type(exc).__name__})"
    except asyncio.TimeoutError:
        outcome = "the server stopped reading"
    conn[1].close()
    return sent, outcome


async def slow_reader(server: Server) -> list[Row]:
    """A client sends 256 MiB to the echo server and never reads the
    echoes: the server queues them all by default (as ws); with
    ``maxBufferedAmount: 8388608`` it destroys the connection."""
    total = 256 << 20
    rss0 = server.rss_kib()
    sent, outcome = await _flood_unread(server.port, total)
    rss1 = server.rss_kib()
    await settle(server)
    limited = Server.start(maxBufferedAmount=8 << 20)
    try:
        lrss0 = limited.rss_kib()
        lsent, loutcome = await _flood_unread(limited.port, total)
        lrss1 = limited.rss_kib()
    finally:
        log = limited.stop()
    tripped = "WS_ERR_BUFFERED_AMOUNT_EXCEEDED" in log
    return [
        Row(
            "slow-reader",
            f"default: {sent >> 20} MiB sent, {outcome}, server RSS "
            f"{(rss1 - rss0) / 1024:+.0f} MiB (as ws)",
            True,
        ),
        Row(
            "slow-reader (limit)",
            f"maxBufferedAmount 8 MiB: {loutcome} after {lsent >> 20} MiB, "
            f"server RSS {(lrss1 - lrss0) / 1024:+.0f} MiB"
            f"{', WS_ERR_BUFFERED_AMOUNT_EXCEEDED logged' if tripped else ''}",
            tripped and (lrss1 - lrss0) < 64 * 1024,
        ),
    ]


async def rst(server: Server) -> list[Row]:
    """100 connections send half of a 1 MiB frame, then an RST."""
    before = await settle(server)

    async def one(i: int) -> None:
        conn = await upgrade(server.port)
        conn[1].write(frame(2, b"\0" * (1 << 20))[: 1 << 19])
        await conn[1].drain()
        reset(conn[1])

    results = await gather_bounded(one, 100, 20)
    errors = [r for r in results if isinstance(r, BaseException)]
    after = await settle(server)
    return [
        Row(
            "rst",
            f"100 resets mid-message ({len(errors)} client errors); "
            f"server fds {before} -> {after}",
            not errors and after <= before + 5,
        )
    ]


async def ping_flood(server: Server) -> list[Row]:
    """One client sends up to 100,000 pings (125 bytes) and never reads the
    pongs; the server's memory and a normal client's latency meanwhile (ws
    8.23's maxPendingAutoPongs, 60 by default, cuts such a peer off)."""
    rss0 = server.rss_kib()
    conn = await upgrade(server.port)
    conn[0]._transport.pause_reading()  # type: ignore[attr-defined]
    ping = frame(9, b"p" * 125)
    sent = 0
    outcome = "still open"
    start = time.perf_counter()
    latency = 0.0
    try:
        for _ in range(100):
            conn[1].write(ping * 1000)
            sent += 1000
            await asyncio.wait_for(conn[1].drain(), 5.0)
            if sent == 50000:
                latency = await median_echo(server.port, 5)
    except ConnectionError as exc:
        outcome = f"cut off by the server ({type(exc).__name__})"
    except asyncio.TimeoutError:
        outcome = "the server stopped reading"
    flood_s = time.perf_counter() - start
    if not latency:
        latency = await median_echo(server.port, 5)
    rss1 = server.rss_kib()
    conn[1].close()
    return [
        Row(
            "ping-flood",
            f"{sent:,} pings written in {flood_s:.2f} s, {outcome}: server RSS "
            f"{(rss1 - rss0) / 1024:+.1f} MiB, normal client {latency * 1000:.1f} ms",
            (rss1 - rss0) < 200 * 1024 and latency < 0.5,
        )
    ]


def _bomb(size: int) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * (1 << 20)
    out = [deflater.compress(chunk) for _ in range(size >> 20)]
    out.append(deflater.flush(zlib.Z_SYNC_FLUSH))
    return b"".join(out)[:-4]


async def deflate_bomb(server: Server) -> list[Row]:
    """A 1 GiB message of zeros deflated to about 1 MiB, to a server with
    perMessageDeflate and the default maxPayload (100 MiB)."""
    payload = _bomb(1 << 30)
    rss0 = server.rss_kib()
    conn = await upgrade(
        server.port, "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    )
    start = time.perf_counter()
    conn[1].write(frame(2, payload, rsv1=True))
    opcode, data = await read_frame(conn[0], 30.0)
    elapsed = time.perf_counter() - start
    code = struct.unpack("!H", data[:2])[0] if opcode == 8 else None
    rss1 = server.rss_kib()
    conn[1].close()
    return [
        Row(
            "deflate-bomb",
            f"1 GiB in {len(payload) / 1024:.0f} KiB: close {code} after "
            f"{elapsed * 1000:.0f} ms, server RSS {(rss1 - rss0) / 1024:+.1f} MiB",
            code == 1009 and (rss1 - rss0) < 150 * 1024,
        )
    ]


async def big_headers(server: Server) -> list[Row]:
    """A request head with 1 MiB of header lines: the server answers 431
    once it has 16 KiB (Node's limit) and closes; the close resets what the
    client is still sending, which may discard the 431 before it is read."""
    before = await settle(server)
    reader, writer = await asyncio.open_connection(HOST, server.port)
    answer = asyncio.ensure_future(reader.read())
    start = time.perf_counter()
    line = b"X-Filler: " + b"a" * 90 + b"\r\n"
    writer.write(REQUEST.encode() + line * ((1 << 20) // len(line)) + b"\r\n")
    try:
        await asyncio.wait_for(writer.drain(), 10.0)
    except ConnectionError:
        pass
    try:
        got = await asyncio.wait_for(answer, 10.0)
    except ConnectionError:
        got = b""
    elapsed = time.perf_counter() - start
    writer.close()
    after = await settle(server)
    status = got.split(b"\r\n", 1)[0].decode(errors="replace") or "reset"
    return [
        Row(
            "big-headers",
            f"1 MiB of headers: {status} in {elapsed * 1000:.0f} ms; "
            f"server fds {before} -> {after}",
            status in ("HTTP/1.1 431 Request Header Fields Too Large", "reset")
            and elapsed < 2
            and after <= before,
        )
    ]


async def idle(_: Server) -> list[Row]:
    """10,000 upgraded connections that say nothing, on a fresh server: RSS
    per connection, server CPU over 5 s of idleness."""
    server = Server.start()
    try:
        return await _idle(server)
    finally:
        server.stop()


async def _idle(server: Server) -> list[Row]:
    await echo_once(server.port)  # warm up: the first connection's imports
    rss0, fds0 = server.rss_kib(), await settle(server)
    results = await gather_bounded(
        lambda i: upgrade(server.port, timeout=30), 10000, 200
    )
    conns = [r for r in results if not isinstance(r, BaseException)]
    await asyncio.sleep(1.0)
    rss1, fds1 = server.rss_kib(), server.fds()
    cpu0, t0 = server.cpu_s(), time.perf_counter()
    await asyncio.sleep(5.0)
    cpu = (server.cpu_s() - cpu0) / (time.perf_counter() - t0)
    per = (rss1 - rss0) / max(1, len(conns))
    close_all([c[1] for c in conns])
    return [
        Row(
            "idle",
            f"{len(conns):,} idle connections: {per:.1f} KiB each "
            f"(RSS {rss0 / 1024:.0f} -> {rss1 / 1024:.0f} MiB, fds {fds0} -> {fds1}), "
            f"CPU {cpu * 100:.1f}% while idle",
            len(conns) == 10000 and per < 16 and cpu < 0.05,
        )
    ]


async def churn(_: Server) -> list[Row]:
    """20,000 open/echo/close cycles, 100 at a time, on a fresh server:
    descriptors and RSS before and after (after a first 1,000 to warm up)."""
    server = Server.start()
    try:
        return await _churn(server)
    finally:
        server.stop()


async def _churn(server: Server) -> list[Row]:
    await gather_bounded(lambda i: echo_once(server.port), 1000, 100)
    fds = [await settle(server)]
    rss = [server.rss_kib()]
    errors = 0
    start = time.perf_counter()
    for _ in range(2):  # two halves: a leak grows in both, warm-up only in one
        results = await gather_bounded(lambda i: echo_once(server.port), 10000, 100)
        errors += sum(isinstance(r, BaseException) for r in results)
        fds.append(await settle(server))
        rss.append(server.rss_kib())
    elapsed = time.perf_counter() - start
    mib = " -> ".join(f"{r / 1024:.1f}" for r in rss)
    return [
        Row(
            "churn",
            f"20,000 cycles in {elapsed:.1f} s ({errors} errors): fds "
            f"{' -> '.join(map(str, fds))}, RSS {mib} MiB (before, 10k, 20k)",
            not errors and fds[2] <= fds[0] and rss[2] - rss[1] < 1024,
        )
    ]


SCENARIOS: dict[str, Callable[[Server], Awaitable[list[Row]]]] = {
    "slowloris": slowloris,
    "fin-handshake": fin_handshake,
    "emfile": emfile,
    "half-frame": half_frame,
    "slow-reader": slow_reader,
    "rst": rst,
    "ping-flood": ping_flood,
    "deflate-bomb": deflate_bomb,
    "big-headers": big_headers,
    "idle": idle,
    "churn": churn,
}

#: Seconds one scenario may take in all.
SCENARIO_TIMEOUT = 300


async def run(names: list[str]) -> int:
    rows: list[Row] = []
    server = Server.start(perMessageDeflate=True)
    try:
        for name in names:
            print(f"-- {name}", flush=True)
            start = time.perf_counter()
            try:
                got = await asyncio.wait_for(SCENARIOS[name](server), SCENARIO_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - reported in the table
                got = [Row(name, f"error: {exc!r}", False)]
            for row in got:
                print(f"   {row.measured}  [{time.perf_counter() - start:.1f} s]")
            rows.extend(got)
    finally:
        log = server.stop()
    tracebacks = log.count("Traceback")
    rows.append(
        Row(
            "server log",
            f"{len(log.splitlines())} lines, {tracebacks} tracebacks",
            not tracebacks,
        )
    )
    width = max(len(r.scenario) for r in rows)
    print(f"\n{'scenario':<{width}}  result  measured")
    for r in rows:
        print(f"{r.scenario:<{width}}  {'ok  ' if r.ok else 'FAIL'}    {r.measured}")
    return 0 if all(r.ok for r in rows) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], default=[])
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for name, fn in SCENARIOS.items():
            summary = " ".join((fn.__doc__ or "").split("\n\n")[0].split())
            print(f"{name:<14} {summary}")
        return 0
    # The clients need descriptors too: up to the hard limit (20,000 here).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return asyncio.run(run(args.scenarios or list(SCENARIOS)))


if __name__ == "__main__":
    sys.exit(main())
