"""Checks that the benchmark's load generator counts and verifies echoes.

Run with ``pytest scripts/bench/test_loadgen.py``. It builds ``loadgen`` with
``cc`` and talks to in-process asyncio peers on 127.0.0.1, port 0: a plain
echo (every message must come back and be counted), an echo that damages each
message's length (every one must be reported as an error), a minimal
WebSocket server (handshake, unmasked echo, close), and one that refuses the
upgrade. Imports only the standard library and pytest; not pyws.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
import struct
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
LOADGEN = HERE / "build" / "loadgen"
TIMEOUT = 30.0
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs cc")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(scope="module", autouse=True)
def build() -> None:
    LOADGEN.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["cc", "-O2", "-o", str(LOADGEN), str(HERE / "loadgen.c"), "-lz"], check=True
    )


async def run_loadgen(handler: Handler, *args: str) -> list[dict[str, Any]]:
    """Serves ``handler`` on port 0, runs loadgen against it, returns its events."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        proc = await asyncio.create_subprocess_exec(
            str(LOADGEN),
            *args,
            "--port",
            str(port),
            "--duration-ms",
            "300",
            "--warmup-ms",
            "100",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        server.close()
    return [json.loads(line) for line in out.decode().splitlines()]


async def plain_echo(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while data := await reader.read(65536):
        writer.write(data)
    writer.close()


async def damaging_echo(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Echoes 16-byte masked frames with the length field changed to 15.

    Each frame stays well formed (a 15-byte payload), so loadgen must notice
    the wrong message length itself, not merely fail to parse.
    """
    while True:
        try:
            frame = await reader.readexactly(2 + 4 + 16)
        except asyncio.IncompleteReadError:
            break
        writer.write(bytes([frame[0], 0x80 | 15]) + frame[2:-1])
    writer.close()


async def ws_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal RFC 6455 server: handshake, unmasked echo, close echo."""
    head = await reader.readuntil(b"\r\n\r\n")
    key = next(
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    while True:
        b0, b1 = await reader.readexactly(2)
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await reader.readexactly(8))
        mask = await reader.readexactly(4)
        masked = await reader.readexactly(length)
        mask_int = int.from_bytes((mask * (length // 4 + 1))[:length], "big")
        data = (int.from_bytes(masked, "big") ^ mask_int).to_bytes(length, "big")
        if length < 126:
            header = bytes([b0, length])
        elif length < 65536:
            header = bytes([b0, 126]) + struct.pack("!H", length)
        else:
            header = bytes([b0, 127]) + struct.pack("!Q", length)
        writer.write(header + data)
        if b0 & 0x0F == 8:
            break
    await writer.drain()
    writer.close()


async def refusing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    writer.close()


def result(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in events if e["event"] in ("result", "error"))


def test_raw_throughput_counts_every_echo() -> None:
    events = asyncio.run(
        run_loadgen(plain_echo, "throughput", "--raw", "--size", "1024", "--conns", "2")
    )
    assert [e["event"] for e in events] == ["ready", "start", "result"]
    res = result(events)
    assert res["errors"] == 0, res
    assert res["count"] > 100
    assert res["rate"] == pytest.approx(res["count"] / res["elapsed_s"], rel=1e-3)


def test_wrong_echo_length_is_an_error() -> None:
    events = asyncio.run(
        run_loadgen(
            damaging_echo, "throughput", "--raw", "--size", "16", "--conns", "1"
        )
    )
    res = result(events)
    assert res["event"] == "result"
    assert res["errors"] > 0
    assert "expected 16" in res["first_error"]


@pytest.mark.parametrize("size", ["16", "300", "70000"])
def test_websocket_echo_and_latency(size: str) -> None:
    res = result(asyncio.run(run_loadgen(ws_echo, "latency", "--size", size)))
    assert res["errors"] == 0, res
    assert res["count"] > 10
    assert 0 < res["p50_us"] <= res["p99_us"] <= res["max_us"]


def test_handshakes_complete_the_close_handshake() -> None:
    res = result(asyncio.run(run_loadgen(ws_echo, "handshakes", "--conns", "2")))
    assert res["errors"] == 0, res
    assert res["count"] > 10


def test_refused_upgrade_is_reported() -> None:
    res = result(asyncio.run(run_loadgen(refusing, "throughput", "--conns", "1")))
    assert res["event"] == "error"
    assert "403" in res["message"]
