"""The scripted raw TCP peer: handshake by hand, send bytes, record everything.

Owns the compare tool's side of the connection. It plays the role opposite
to the implementation under test (a client when the implementation is the
server, a server otherwise), does the HTTP upgrade by hand, runs the
scenario's script step by step, and records every frame, FIN and RST the
implementation writes with a wall-clock timestamp (ms since the epoch, the
clock the adapters use too). Stdlib and asyncio only; must not import
``pyws`` nor anything under ``test/``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import socket
import struct
import time
from typing import Any

from .frames import Frame, FrameDecoder, build_frame, pattern
from .scenario import Scenario

__all__ = ["KEY", "RawPeer", "accept_for", "now_ms"]

#: The fixed Sec-WebSocket-Key the peer sends (RFC 6455 section 1.3 example).
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_DEFAULT_WAIT_MS = 3000.0
_OPCODES = {"cont": 0, "text": 1, "binary": 2, "close": 8, "ping": 9, "pong": 10}


def now_ms() -> float:
    """Wall-clock milliseconds, the timestamp every trace entry carries."""
    return time.time() * 1000.0


def accept_for(key: str) -> str:
    """Sec-WebSocket-Accept for ``key`` (RFC 6455 section 4.2.2)."""
    digest = hashlib.sha1((key + _GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def _frame_bytes(spec: dict[str, Any], default_mask: bool) -> tuple[bytes, Frame]:
    """Build a frame from a scenario frame object; also return its description."""
    opcode = spec["opcode"]
    if isinstance(opcode, str):
        opcode = _OPCODES[opcode]
    if "close_code" in spec:
        payload = struct.pack("!H", spec["close_code"])
        if "close_reason_hex" in spec:
            payload += bytes.fromhex(spec["close_reason_hex"])
        else:
            payload += str(spec.get("close_reason", "")).encode("utf-8")
    elif "payload_hex" in spec:
        payload = bytes.fromhex(spec["payload_hex"])
    elif "payload_size" in spec:
        payload = pattern(int(spec["payload_size"]))
    else:
        payload = str(spec.get("payload", "")).encode("utf-8")
    mask = bool(spec.get("mask", default_mask))
    rsv1, rsv2, rsv3 = (bool(spec.get(k, False)) for k in ("rsv1", "rsv2", "rsv3"))
    fin = bool(spec.get("fin", True))
    data = build_frame(
        opcode, payload, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, mask=mask
    )
    frame = Frame(opcode, fin, rsv1, rsv2, rsv3, mask, payload)
    return data, frame


def _parse_http(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """Split an HTTP head into its first line and (lower-case name, value)."""
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return lines[0], headers


class RawPeer:
    """One scripted connection to the implementation under test.

    Attributes:
        entries: The wire trace: dicts with ``t`` (ms), ``who`` (``"impl"``
            for what the implementation wrote, ``"peer"`` for what the script
            did), ``kind`` and ``detail``.
        upgraded: Whether the opening handshake produced a 101.
    """

    def __init__(self, scenario: Scenario) -> None:
        """Prepare a peer for ``scenario`` (nothing is opened yet)."""
        self.scenario = scenario
        self.entries: list[dict[str, Any]] = []
        self.upgraded = False
        self.adapter_events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None
        self._connected: asyncio.Future[None] = (
            asyncio.get_running_loop().create_future()
        )
        self._decoder = FrameDecoder()
        self._http_done = asyncio.Event()
        self._http_first_line = ""
        self._read_task: asyncio.Task[None] | None = None
        self._frame_cursor = 0
        self._event_cursor = 0
        self.ended = False  # the implementation's FIN or RST was seen
        self._local_closed = False  # the script closed or reset our socket
        self._peer_is_client = scenario.role == "server"

    # -- recording ----------------------------------------------------------

    def _record(self, who: str, kind: str, detail: Any = None) -> None:
        self.entries.append({"t": now_ms(), "who": who, "kind": kind, "detail": detail})
        self._changed.set()

    def notify_adapter_event(self, record: dict[str, Any]) -> None:
        """Take one adapter line (the runner forwards them for wait_event)."""
        self.adapter_events.append(record)
        self._changed.set()

    def notify(self) -> None:
        """Wake any step waiting for a change (e.g. the adapter finished)."""
        self._changed.set()

    async def _wait_change(self, deadline: float) -> bool:
        """Wait for any new entry or event until ``deadline`` (loop time)."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return False
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), remaining)
        except asyncio.TimeoutError:
            return False
        return True

    # -- connection setup ---------------------------------------------------

    async def listen(self) -> int:
        """Listen on 127.0.0.1, port 0 (implementation as client); return port."""

        def on_client(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            if self._connected.done():
                writer.close()
                return
            self._attach(reader, writer)

        self._server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def connect(self, port: int) -> None:
        """Connect to the implementation's server (implementation as server)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self._attach(reader, writer)

    def _attach(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._read_task = asyncio.get_running_loop().create_task(self._read_loop())
        self._connected.set_result(None)

    async def wait_connected(self, timeout_s: float) -> None:
        """Wait for the implementation (as client) to connect."""
        await asyncio.wait_for(asyncio.shield(self._connected), timeout_s)

    async def close(self) -> None:
        """Close everything the peer opened."""
        if self._writer is not None and not self._writer.is_closing():
            self._local_closed = True
            self._writer.close()
        if self._server is not None:
            self._server.close()
        if self._read_task is not None:
            self._read_task.cancel()
            try:
                await self._read_task
            except asyncio.CancelledError:
                pass

    # -- reading ------------------------------------------------------------

    async def _read_loop(self) -> None:
        assert self._reader is not None
        head = bytearray()
        body_left = 0
        in_http = True
        while True:
            try:
                data = await self._reader.read(65536)
            except (ConnectionResetError, ConnectionAbortedError):
                if not self._local_closed:
                    self._record("impl", "rst")
                    self.ended = True
                return
            if self._local_closed:
                return
            if not data:
                if in_http and head:
                    self._record("impl", "http_partial", {"b": bytes(head).hex()})
                self._record("impl", "fin")
                self.ended = True
                return
            if in_http:
                head += data
                end = head.find(b"\r\n\r\n")
                if end < 0:
                    continue
                rest = bytes(head[end + 4 :])
                self._on_http_head(bytes(head[:end]))
                in_http = False
                body_left = self._content_length
                data = rest
            if body_left:
                body, data = data[:body_left], data[body_left:]
                body_left -= len(body)
                self._body += body
                if body_left == 0:
                    self._record("impl", "http_body", self._body.decode("latin-1"))
                if not data:
                    continue
            if not data:
                continue
            if not self.upgraded and not self._peer_is_client:
                # The implementation (client) must wait for our 101.
                self._record("impl", "early_data", {"b": data.hex()})
                continue
            if not self.upgraded:
                self._record("impl", "data_after_rejection", {"b": data.hex()})
                continue
            for frame in self._decoder.feed(data):
                self._record("impl", "frame", frame.describe())

    _content_length = 0
    _body = b""

    def _on_http_head(self, head: bytes) -> None:
        first, headers = _parse_http(head)
        self._http_first_line = first
        shown: dict[str, str] = {}
        for name, value in headers:
            if name in ("date", "host"):
                continue
            if name == "sec-websocket-key":
                self._client_key = value
                value = "<24 chars>" if len(value) == 24 else f"<bad: {value}>"
            if name == "sec-websocket-accept":
                value = "<valid>" if value == accept_for(KEY) else f"<bad: {value}>"
            if name == "origin":
                # A browser's page is served on a port of its own.
                value = re.sub(r":\d+$", ":<port>", value)
            if name == "content-length":
                self._content_length = int(value)
            shown[name] = value if name not in shown else f"{shown[name]}, {value}"
        if self._peer_is_client:
            self.upgraded = first.split(" ")[1:2] == ["101"]
        kind = "http_response" if self._peer_is_client else "http_request"
        self._record(
            "impl", kind, {"line": first, "headers": dict(sorted(shown.items()))}
        )
        self._http_done.set()

    # -- handshake ----------------------------------------------------------

    async def handshake(self, port: int, timeout_s: float) -> None:
        """Run the opening handshake by hand (either side)."""
        assert self._writer is not None
        peer = self.scenario.peer
        extra = list(peer.get("headers", []))
        if self._peer_is_client:
            path = self.scenario.implementation.get("path", "/")
            lines = peer.get("request") or [
                f"GET {path} HTTP/1.1",
                "Host: {host}",
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Key: {key}",
                "Sec-WebSocket-Version: 13",
                *extra,
            ]
            text = "\r\n".join(lines).format(host=f"127.0.0.1:{port}", key=KEY)
            await self._write(
                text.encode("latin-1") + b"\r\n\r\n", "http_request", lines[0]
            )
            await asyncio.wait_for(self._http_done.wait(), timeout_s)
        else:
            await asyncio.wait_for(self._http_done.wait(), timeout_s)
            # The client's key is random: answer it properly.
            key = self._client_key or KEY
            lines = peer.get("response") or [
                "HTTP/1.1 101 Switching Protocols",
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Accept: {accept}",
                *extra,
            ]
            text = "\r\n".join(lines).format(accept=accept_for(key))
            self.upgraded = lines[0].split(" ")[1:2] == ["101"]
            await self._write(
                text.encode("latin-1") + b"\r\n\r\n", "http_response", lines[0]
            )

    _client_key: str | None = None

    # -- writing ------------------------------------------------------------

    async def _write(self, data: bytes, kind: str, detail: Any) -> None:
        assert self._writer is not None
        if self._local_closed:
            return
        self._record("peer", kind, detail)
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            self._record("peer", "write_failed", type(exc).__name__)

    # -- the script ---------------------------------------------------------

    async def run_script(self) -> None:
        """Run each step of the scenario's script in order."""
        for step in self.scenario.script:
            await self._step(step)

    async def _step(self, step: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        timeout_ms = float(step.get("timeout_ms", _DEFAULT_WAIT_MS))
        mask = self._peer_is_client
        if "send_frame" in step:
            data, frame = _frame_bytes(step["send_frame"], mask)
            await self._write(data, "frame", frame.describe())
        elif "send_frames" in step:
            chunks = [_frame_bytes(spec, mask) for spec in step["send_frames"]]
            detail = [frame.describe() for _, frame in chunks]
            await self._write(b"".join(d for d, _ in chunks), "frames", detail)
        elif "send_hex" in step:
            await self._write(bytes.fromhex(step["send_hex"]), "hex", step["send_hex"])
        elif "echo_ping" in step:
            # A pong carrying the payload of the latest ping the implementation
            # wrote (heartbeat pings carry payloads the scenario cannot know).
            pings = [
                e["detail"]
                for e in self.entries
                if e["who"] == "impl"
                and e["kind"] == "frame"
                and e["detail"]["opcode"] == "ping"
            ]
            payload = bytes.fromhex(pings[-1]["payload"]["b"]) if pings else b""
            data = build_frame(0xA, payload, mask=mask)
            frame = Frame(0xA, True, False, False, False, mask, payload)
            await self._write(data, "frame", frame.describe())
        elif "wait_ms" in step:
            await asyncio.sleep(float(step["wait_ms"]) / 1000.0)
        elif "wait_eof" in step:
            deadline = loop.time() + float(step["wait_eof"]) / 1000.0
            while not self.ended and not self._local_closed:
                if not await self._wait_change(deadline):
                    break
        elif "wait_frame" in step:
            wanted = step["wait_frame"]
            deadline = loop.time() + timeout_ms / 1000.0
            while not self._take_frame(wanted):
                if self.ended or not await self._wait_change(deadline):
                    self._record("peer", "wait_failed", f"frame {wanted}")
                    return
        elif "wait_event" in step:
            wanted = step["wait_event"]
            deadline = loop.time() + timeout_ms / 1000.0
            while not self._take_event(wanted):
                if not await self._wait_change(deadline):
                    self._record("peer", "wait_failed", f"event {wanted}")
                    return
        elif "half_close" in step:
            assert self._writer is not None
            if not self._local_closed:
                self._record("peer", "half_close")
                try:
                    self._writer.write_eof()
                except (ConnectionError, OSError) as exc:
                    self._record("peer", "write_failed", type(exc).__name__)
        elif "close" in step:
            assert self._writer is not None
            if not self._local_closed:
                self._record("peer", "close")
                self._local_closed = True
                self._writer.close()
        elif "reset" in step:
            assert self._writer is not None
            if not self._local_closed:
                self._record("peer", "reset")
                self._local_closed = True
                sock = self._writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                self._writer.transport.abort()

    def _take_frame(self, wanted: str) -> bool:
        frames = [
            e for e in self.entries if e["who"] == "impl" and e["kind"] == "frame"
        ]
        while self._frame_cursor < len(frames):
            entry = frames[self._frame_cursor]
            self._frame_cursor += 1
            if wanted in ("any", entry["detail"]["opcode"]):
                return True
        return False

    def _take_event(self, wanted: str) -> bool:
        while self._event_cursor < len(self.adapter_events):
            record = self.adapter_events[self._event_cursor]
            self._event_cursor += 1
            if record.get("event") == wanted:
                return True
        return False

    async def wait_end(self, adapter_done: asyncio.Event, deadline: float) -> None:
        """After the script: wait for the adapter to finish, then for our EOF.

        The adapter reports ``'close'`` only after its socket closed, so the
        FIN or RST is on its way; a short grace lets the peer record it.
        """
        loop = asyncio.get_running_loop()
        while not adapter_done.is_set():
            if self.ended and not self.upgraded:
                return  # a rejected handshake: no WebSocket, no 'close'
            if not await self._wait_change(deadline):
                if loop.time() >= deadline:
                    self._record("peer", "gave_up", "adapter did not finish")
                    return
        grace = loop.time() + 0.3
        while not self.ended and not self._local_closed:
            if not await self._wait_change(min(grace, deadline)):
                break
