"""Drive a real Node ``ws`` 8.x peer (test/interop/peers/*.js) from asyncio.

It owns the JSON-lines protocol with the Node scripts: starting one with
:func:`asyncio.create_subprocess_exec`, reading its events under timeouts,
sending it commands, and always killing it (``async with``). It also tells
whether Node and ``ws`` are installed (:func:`skip_reason`).

It must not import pyws: the Node peer is the independent side.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

__all__ = [
    "NodePeer",
    "pattern",
    "skip_reason",
    "run_async",
    "T",
]

INTEROP_DIR = Path(__file__).resolve().parent
PEERS_DIR = INTEROP_DIR / "peers"
WS_PACKAGE = INTEROP_DIR / "node_modules" / "ws" / "package.json"

#: Time unit of every wait, in seconds, scaled like the rest of the suite.
T = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1") or "1")


def skip_reason() -> str | None:
    """Why the interop tests cannot run here, or ``None`` if they can."""
    if shutil.which("node") is None:
        return "Node.js is not installed: `node` is not on PATH"
    if not WS_PACKAGE.is_file():
        return "Node ws is missing: run `npm ci --prefix test/interop`"
    return None


def pattern(size: int, seed: int = 0) -> bytes:
    """The deterministic payload common.js ``pattern()`` builds.

    Byte ``i`` is ``(i * 7 + seed) % 251``.
    """
    unit = bytes((i * 7 + seed) % 251 for i in range(251))
    # The sequence repeats every 251 bytes (7 and 251 are coprime).
    reps = size // 251 + 1
    return (unit * reps)[:size]


def digest(data: bytes) -> str:
    """SHA-256 hex digest, as the Node peer reports it."""
    return hashlib.sha256(data).hexdigest()


def run_async(coro_fn: Callable[[], Awaitable[None]], timeout: float = 45.0) -> None:
    """Run one test coroutine on a fresh loop, bounded by ``timeout``."""

    async def main() -> None:
        await asyncio.wait_for(coro_fn(), timeout * T)

    asyncio.run(main())


class NodePeer:
    """A running Node ws script and the events it printed.

    Use ``async with await NodePeer.start(...) as peer``. Events are dicts
    such as ``{"event": "message", "id": 1, "isBinary": True, "len": 3,
    "sha256": ..., "data_b64": ..., "t": <ms since start>}``.
    """

    def __init__(self, proc: asyncio.subprocess.Process, role: str) -> None:
        self.proc = proc
        self.role = role
        self.events: list[dict[str, Any]] = []
        self.stderr = b""
        self._used: set[int] = set()
        self._seq = 0
        self._loop = asyncio.get_running_loop()
        self._changed: asyncio.Future[None] = self._loop.create_future()
        self._reader = asyncio.ensure_future(self._read())
        self._err_reader = asyncio.ensure_future(self._read_stderr())
        self.port = 0

    @classmethod
    async def start(
        cls, role: str, config: dict[str, Any], timeout: float = 20.0
    ) -> NodePeer:
        """Start ``peers/<role>.js`` with ``config`` as its JSON argument.

        For a server, waits for ``listening`` and sets :attr:`port`.
        """
        node = shutil.which("node")
        assert node is not None, skip_reason()
        proc = await asyncio.create_subprocess_exec(
            node,
            str(PEERS_DIR / f"{role}.js"),
            json.dumps(config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=str(INTEROP_DIR),
            limit=64 * 1024 * 1024,
        )
        peer = cls(proc, role)
        if role == "server":
            try:
                ev = await peer.expect("listening", timeout)
            except BaseException:
                await peer.stop()
                raise
            peer.port = int(ev["port"])
        return peer

    async def __aenter__(self) -> NodePeer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            self.events.append(json.loads(line))
            self._notify()
        self.events.append({"event": "exit"})
        self._notify()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = await self.proc.stderr.read()

    def _notify(self) -> None:
        if not self._changed.done():
            self._changed.set_result(None)
        self._changed = self._loop.create_future()

    async def stop(self) -> None:
        """Kill the process (if still running) and reap it."""
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        await self.proc.wait()
        for task in (self._reader, self._err_reader):
            try:
                await asyncio.wait_for(task, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
        if self.proc.stdin is not None:
            self.proc.stdin.close()

    # -- events ----------------------------------------------------------

    def _find(self, event: str, match: dict[str, Any]) -> int | None:
        for i, ev in enumerate(self.events):
            if i in self._used or ev.get("event") != event:
                continue
            if all(ev.get(k) == v for k, v in match.items()):
                return i
        return None

    async def expect(
        self, event: str, timeout: float = 10.0, **match: Any
    ) -> dict[str, Any]:
        """Return (and consume) the first unconsumed ``event`` matching ``match``.

        Raises:
            TimeoutError: with every event seen so far in the message.
        """
        deadline = self._loop.time() + timeout * T
        while True:
            i = self._find(event, match)
            if i is not None:
                self._used.add(i)
                return self.events[i]
            remaining = deadline - self._loop.time()
            if remaining <= 0 or (self.events and self.events[-1]["event"] == "exit"):
                raise TimeoutError(
                    f"node {self.role}: no {event!r} {match or ''} in "
                    f"{self.summary()}; stderr={self.stderr[-2000:]!r}"
                )
            try:
                await asyncio.wait_for(asyncio.shield(self._changed), remaining)
            except asyncio.TimeoutError:
                pass

    def seen(self, event: str, **match: Any) -> list[dict[str, Any]]:
        """Every event of that name (consumed or not) matching ``match``."""
        return [
            ev
            for ev in self.events
            if ev.get("event") == event
            and all(ev.get(k) == v for k, v in match.items())
        ]

    def summary(self) -> list[str]:
        """Short description of every event, for failure messages."""
        out = []
        for ev in self.events:
            short = {k: v for k, v in ev.items() if k not in ("data_b64", "headers")}
            out.append(json.dumps(short)[:200])
        return out

    # -- commands --------------------------------------------------------

    def command(self, cmd: str, **fields: Any) -> int:
        """Write one command; return its ``seq`` (echoed by ``sent``)."""
        self._seq += 1
        msg = {"cmd": cmd, "seq": self._seq, **fields}
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        return self._seq

    def send(
        self,
        data: bytes | str,
        *,
        binary: bool | None = None,
        fin: bool = True,
        **fields: Any,
    ) -> int:
        """``ws.send(data, {binary, fin, ...})``; a ``str`` goes as text."""
        if isinstance(data, str):
            return self.command(
                "send", text=data, binary=bool(binary), fin=fin, **fields
            )
        return self.command(
            "send",
            data_b64=base64.b64encode(data).decode(),
            binary=True if binary is None else binary,
            fin=fin,
            **fields,
        )

    def send_pattern(self, size: int, seed: int = 0, binary: bool = True) -> int:
        """Send :func:`pattern` bytes built on the Node side (no pipe copy)."""
        return self.command("send", size=size, seed=seed, binary=binary)

    def send_repeat(self, text: str, times: int, **fields: Any) -> int:
        """Send ``text * times`` as a text message built on the Node side."""
        return self.command("send", repeat=text, times=times, binary=False, **fields)

    def ping(self, data: bytes = b"", **fields: Any) -> int:
        """``ws.ping(data)``."""
        return self.command("ping", data_b64=base64.b64encode(data).decode(), **fields)

    def pong(self, data: bytes = b"", **fields: Any) -> int:
        """``ws.pong(data)``."""
        return self.command("pong", data_b64=base64.b64encode(data).decode(), **fields)

    def close(self, code: int | None = None, reason: str = "") -> int:
        """``ws.close(code, reason)`` (no arguments when ``code`` is None)."""
        return self.command("close", code=code, reason=reason)

    def terminate(self) -> int:
        """``ws.terminate()``."""
        return self.command("terminate")

    def raw(self, data: bytes) -> int:
        """Write bytes straight onto ws's TCP socket."""
        return self.command("raw", data_b64=base64.b64encode(data).decode())


def payload_of(event: dict[str, Any]) -> bytes:
    """The bytes of a ``message``/``ping``/``pong`` event (small ones only)."""
    assert "data_b64" in event, f"payload not sent for {event.get('len')} bytes"
    return base64.b64decode(event["data_b64"])
