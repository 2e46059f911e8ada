"""A raw TCP WebSocket peer for integration, interop and conformance tests.

It owns: a frame builder (:func:`build_frame`, :func:`close_payload`), a
lenient frame decoder (:func:`parse_frames`) and :class:`RawPeer`, an asyncio
peer that does the opening handshake by hand (as client or server), sends
arbitrary bytes, half-closes or resets, and records everything it receives
with timestamps: decoded frames, the time the peer's FIN arrived, and whether
the connection was reset.

The peer never judges what it receives: frames with reserved bits, unknown
opcodes or wrong masking are decoded and recorded as they are, so tests can
assert on exactly what pyws put on the wire.

It must not import pyws (it is the independent witness) and needs nothing
outside the standard library.

Example::

    server = await RawServer.start()            # listens on 127.0.0.1:0
    ...                                         # point a pyws client at server.port
    peer = await server.accept(timeout=5)       # handshake done, 101 sent
    peer.send_frame(1, b"hi", rsv2=True)
    frame = await peer.wait_frame(8, timeout=5)
    assert frame.close_code == 1002
    await peer.wait_eof(timeout=5)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "GUID",
    "TIMEOUT_FACTOR",
    "Frame",
    "HttpHead",
    "RawPeer",
    "RawServer",
    "accept_key",
    "build_frame",
    "close_payload",
    "parse_frames",
    "scaled",
]

#: RFC 6455 section 1.3.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#: Multiplies every default timeout (as websockets' tests do); CI may raise it.
TIMEOUT_FACTOR = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1") or "1")

#: Default time bound of every ``wait_*`` helper, in seconds, before scaling.
DEFAULT_TIMEOUT = 10.0

_OP_NAMES = {0: "CONT", 1: "TEXT", 2: "BINARY", 8: "CLOSE", 9: "PING", 10: "PONG"}


def scaled(seconds: float) -> float:
    """Return ``seconds`` multiplied by :data:`TIMEOUT_FACTOR`."""
    return seconds * TIMEOUT_FACTOR


def accept_key(key: str) -> str:
    """Return the ``Sec-WebSocket-Accept`` value for a ``Sec-WebSocket-Key``."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def _xor(data: bytes, mask: bytes) -> bytes:
    if not data or mask == b"\x00\x00\x00\x00":
        return bytes(data)
    n = len(data)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(data, "big") ^ key).to_bytes(n, "big")


def close_payload(code: int | None, reason: bytes | str = b"") -> bytes:
    """Build a close frame payload: a 2-byte status code then the reason.

    Args:
        code: the status code, or ``None`` for an empty payload.
        reason: the reason; a ``str`` is UTF-8 encoded. Not length-checked,
            so oversized reasons can be built on purpose.
    """
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


def build_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: bytes | bool | None = None,
    length: int | None = None,
    length_size: int | None = None,
) -> bytes:
    """Encode one frame, valid or not (RFC 6455 section 5.2).

    Args:
        opcode: 0 to 15; anything is accepted.
        payload: the unmasked payload.
        fin: the FIN bit.
        rsv1: RSV1 bit. rsv2, rsv3: likewise.
        mask: 4 bytes to mask with, ``True`` for a random mask, ``None`` or
            ``False`` to send unmasked.
        length: the length to announce instead of ``len(payload)`` (to build
            lying or oversized headers).
        length_size: force the length encoding: 0 (7-bit), 2 (16-bit) or
            8 (64-bit); by default the shortest one is used. Non-minimal
            encodings are legal in RFC 6455 and must be accepted.

    Returns:
        The frame's bytes.
    """
    n = len(payload) if length is None else length
    b0 = (
        (0x80 if fin else 0)
        | (0x40 if rsv1 else 0)
        | (0x20 if rsv2 else 0)
        | (0x10 if rsv3 else 0)
        | (opcode & 0x0F)
    )
    if length_size is None:
        length_size = 0 if n < 126 else 2 if n < 65536 else 8
    mask_bytes: bytes | None
    if mask is True:
        mask_bytes = os.urandom(4)
    elif mask is False or mask is None:
        mask_bytes = None
    else:
        if len(mask) != 4:
            raise ValueError("mask must be 4 bytes")
        mask_bytes = bytes(mask)
    mbit = 0x80 if mask_bytes is not None else 0
    if length_size == 0:
        if n > 125:
            raise ValueError("a 7-bit length must be at most 125")
        head = struct.pack("!BB", b0, mbit | n)
    elif length_size == 2:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    elif length_size == 8:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    else:
        raise ValueError("length_size must be 0, 2 or 8")
    if mask_bytes is None:
        return head + payload
    return head + mask_bytes + _xor(payload, mask_bytes)


@dataclass
class Frame:
    """One decoded frame, as it was on the wire (payload unmasked).

    Attributes:
        opcode: 0 to 15.
        fin: FIN bit. rsv1, rsv2, rsv3: the reserved bits.
        masked: whether the MASK bit was set; mask: the key or ``None``.
        payload: the unmasked payload.
        time: ``loop.time()`` when the frame was complete.
    """

    opcode: int
    payload: bytes
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    masked: bool = False
    mask: bytes | None = None
    time: float = 0.0

    @property
    def close_code(self) -> int | None:
        """The status code of a close frame, ``None`` if it has no payload."""
        if len(self.payload) < 2:
            return None
        code: int = struct.unpack("!H", self.payload[:2])[0]
        return code

    @property
    def close_reason(self) -> bytes:
        """The reason bytes of a close frame (may be invalid UTF-8)."""
        return self.payload[2:]

    @property
    def rsv(self) -> int:
        """The three reserved bits as a number 0 to 7 (RSV1 is 4)."""
        return (self.rsv1 << 2) | (self.rsv2 << 1) | int(self.rsv3)

    def __repr__(self) -> str:
        name = _OP_NAMES.get(self.opcode, str(self.opcode))
        extra = f" close={self.close_code}" if self.opcode == 8 else ""
        return (
            f"Frame({name} fin={int(self.fin)} rsv={self.rsv} "
            f"masked={int(self.masked)} len={len(self.payload)}{extra})"
        )


def parse_frames(buf: bytes | bytearray, time: float = 0.0) -> tuple[list[Frame], int]:
    """Decode every complete frame at the start of ``buf``.

    Nothing is validated: any opcode, reserved bit or masking is accepted.

    Args:
        buf: received bytes.
        time: the timestamp stored on each frame.

    Returns:
        The frames and the number of bytes they used; the rest of ``buf`` is
        an incomplete frame.
    """
    frames: list[Frame] = []
    pos = 0
    view = memoryview(buf)
    end = len(buf)
    while end - pos >= 2:
        b0, b1 = view[pos], view[pos + 1]
        n = b1 & 0x7F
        p = pos + 2
        if n == 126:
            if end - p < 2:
                break
            n = struct.unpack_from("!H", buf, p)[0]
            p += 2
        elif n == 127:
            if end - p < 8:
                break
            n = struct.unpack_from("!Q", buf, p)[0]
            p += 8
        masked = bool(b1 & 0x80)
        mask: bytes | None = None
        if masked:
            if end - p < 4:
                break
            mask = bytes(view[p : p + 4])
            p += 4
        if end - p < n:
            break
        data = bytes(view[p : p + n])
        if mask is not None:
            data = _xor(data, mask)
        frames.append(
            Frame(
                opcode=b0 & 0x0F,
                payload=data,
                fin=bool(b0 & 0x80),
                rsv1=bool(b0 & 0x40),
                rsv2=bool(b0 & 0x20),
                rsv3=bool(b0 & 0x10),
                masked=masked,
                mask=mask,
                time=time,
            )
        )
        pos = p + n
    return frames, pos


@dataclass
class HttpHead:
    """An HTTP request or response head read by the peer.

    Attributes:
        start_line: ``GET /path HTTP/1.1`` or ``HTTP/1.1 101 Switching ...``.
        headers: (name, value) pairs in order, names as received.
        raw: the bytes of the head, final CRLFCRLF included.
    """

    start_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes = b""

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of header ``name`` (case-insensitive)."""
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return default

    @property
    def status(self) -> int:
        """The status code of a response head (0 for a request)."""
        parts = self.start_line.split(" ", 2)
        if parts[0].startswith("HTTP/") and len(parts) > 1 and parts[1].isdigit():
            return int(parts[1])
        return 0

    @property
    def target(self) -> str:
        """The request target of a request head (``''`` for a response)."""
        parts = self.start_line.split(" ")
        return parts[1] if len(parts) == 3 and not parts[0].startswith("HTTP/") else ""


def _parse_head(raw: bytes) -> HttpHead:
    lines = raw.decode("latin-1").split("\r\n")
    head = HttpHead(start_line=lines[0], raw=raw)
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        head.headers.append((name.strip(), value.strip()))
    return head


class RawPeer(asyncio.Protocol):
    """One raw TCP connection to or from pyws, with a recording of input.

    Create it with :meth:`connect` (client role) or :meth:`RawServer.accept`
    (server role). By default the opening handshake is done; the client role
    masks frames it sends (``mask=True`` in :meth:`send_frame`) and the
    server role does not, unless told otherwise.

    Attributes:
        is_server: our role.
        frames: every frame received, in order.
        raw: every byte received after the opening handshake.
        head: the request (server role) or response (client role) head.
        eof_time: ``loop.time()`` when the peer's FIN arrived, or ``None``.
        lost_time: when the connection was lost (closed or reset), or None.
        reset: whether the connection was lost through an error such as a
            reset (``ECONNRESET``) rather than closed cleanly.
        lost_exc: the exception given to ``connection_lost``.
    """

    def __init__(
        self, *, is_server: bool, parse: bool = True, expect_head: bool = True
    ) -> None:
        self.is_server = is_server
        self.parse = parse
        self.frames: list[Frame] = []
        self.raw = bytearray()
        self.head: HttpHead | None = None
        self.eof_time: float | None = None
        self.lost_time: float | None = None
        self.reset = False
        self.lost_exc: BaseException | None = None
        self.connected_time: float | None = None
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._pending = bytearray()
        self._head_buf: bytearray | None = bytearray() if expect_head else None
        self._changed: asyncio.Future[None] = self._loop.create_future()
        self._consumed = 0  # index into frames for next_frame()

    # -- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.connected_time = self._loop.time()
        self._notify()

    def data_received(self, data: bytes) -> None:
        if self._head_buf is not None:
            self._head_buf += data
            idx = self._head_buf.find(b"\r\n\r\n")
            if idx < 0:
                self._notify()
                return
            raw_head = bytes(self._head_buf[: idx + 4])
            rest = bytes(self._head_buf[idx + 4 :])
            self._head_buf = None
            self.head = _parse_head(raw_head)
            data = rest
        self.raw += data
        if self.parse:
            self._pending += data
            frames, used = parse_frames(self._pending, self._loop.time())
            if used:
                del self._pending[:used]
            self.frames.extend(frames)
        self._notify()

    def eof_received(self) -> bool:
        self.eof_time = self._loop.time()
        self._notify()
        return True  # keep our write side open: the test decides

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost_time = self._loop.time()
        self.lost_exc = exc
        self.reset = exc is not None
        self._notify()

    # -- waiting ------------------------------------------------------------

    def _notify(self) -> None:
        if not self._changed.done():
            self._changed.set_result(None)
        self._changed = self._loop.create_future()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = DEFAULT_TIMEOUT,
        what: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` is true, re-checked on each input event.

        Raises:
            TimeoutError: after ``scaled(timeout)`` seconds, with what was
                received so far in the message.
        """
        deadline = self._loop.time() + scaled(timeout)
        while not predicate():
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out waiting for {what}; got {self!r}")
            try:
                await asyncio.wait_for(asyncio.shield(self._changed), remaining)
            except asyncio.TimeoutError:
                raise TimeoutError(
                    f"timed out waiting for {what}; got {self!r}"
                ) from None

    async def wait_head(self, timeout: float = DEFAULT_TIMEOUT) -> HttpHead:
        """Wait for the HTTP head (request or response) and return it."""
        await self.wait_for(lambda: self.head is not None, timeout, "HTTP head")
        assert self.head is not None
        return self.head

    async def wait_frame(
        self, opcode: int | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Frame:
        """Return the next unconsumed frame, skipping those of another opcode.

        Frames are consumed in order: each call moves past the frame it
        returns (and past the skipped ones). ``opcode=None`` takes any frame.
        """

        def found() -> bool:
            while self._consumed < len(self.frames):
                if opcode is None or self.frames[self._consumed].opcode == opcode:
                    return True
                self._consumed += 1
            return False

        name = "any frame" if opcode is None else f"opcode {opcode:#x}"
        await self.wait_for(found, timeout, name)
        frame = self.frames[self._consumed]
        self._consumed += 1
        return frame

    async def wait_message(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[int, bytes]:
        """Return the next complete data message as (opcode, joined payload).

        Control frames in between are skipped (they stay in :attr:`frames`).
        """
        opcode: int | None = None
        parts: list[bytes] = []
        while True:
            frame = await self.wait_frame(None, timeout)
            if frame.opcode >= 8:
                continue
            if opcode is None:
                opcode = frame.opcode
            parts.append(frame.payload)
            if frame.fin:
                return opcode, b"".join(parts)

    async def wait_eof(self, timeout: float = DEFAULT_TIMEOUT) -> float:
        """Wait for the peer's FIN (or the connection's loss); return its time."""
        await self.wait_for(
            lambda: self.eof_time is not None or self.lost_time is not None,
            timeout,
            "EOF",
        )
        t = self.eof_time if self.eof_time is not None else self.lost_time
        assert t is not None
        return t

    async def wait_lost(self, timeout: float = DEFAULT_TIMEOUT) -> float:
        """Wait until the connection is gone; return the time it went."""
        await self.wait_for(lambda: self.lost_time is not None, timeout, "loss")
        assert self.lost_time is not None
        return self.lost_time

    async def expect_no_eof(self, seconds: float) -> None:
        """Assert that no FIN/loss arrives for ``seconds`` (not scaled).

        Use it only to check that something does *not* happen within a bound.
        """
        try:
            await self.wait_for(
                lambda: self.eof_time is not None or self.lost_time is not None,
                seconds / TIMEOUT_FACTOR,
                "EOF",
            )
        except TimeoutError:
            return
        raise AssertionError(f"unexpected EOF after {seconds}s: {self!r}")

    # -- sending ------------------------------------------------------------

    @property
    def transport(self) -> asyncio.Transport:
        """The asyncio transport (raises if not connected)."""
        assert self._transport is not None, "not connected"
        return self._transport

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are."""
        self.transport.write(data)

    def send_frame(
        self,
        opcode: int,
        payload: bytes | str = b"",
        *,
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
        mask: bytes | bool | None = None,
        length: int | None = None,
        length_size: int | None = None,
    ) -> bytes:
        """Build a frame (see :func:`build_frame`) and write it.

        ``mask=None`` means "what the role requires": a random mask for a
        client, none for a server. Returns the bytes written.
        """
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if mask is None:
            mask = not self.is_server
        data = build_frame(
            opcode,
            payload,
            fin=fin,
            rsv1=rsv1,
            rsv2=rsv2,
            rsv3=rsv3,
            mask=mask,
            length=length,
            length_size=length_size,
        )
        self.send_raw(data)
        return data

    def send_text(
        self, text: str | bytes, *, fin: bool = True, mask: bytes | bool | None = None
    ) -> bytes:
        """Send a text frame (a ``str`` is UTF-8 encoded)."""
        return self.send_frame(1, text, fin=fin, mask=mask)

    def send_binary(
        self, data: bytes, *, fin: bool = True, mask: bytes | bool | None = None
    ) -> bytes:
        """Send a binary frame."""
        return self.send_frame(2, data, fin=fin, mask=mask)

    def send_close(
        self,
        code: int | None = 1000,
        reason: bytes | str = b"",
        *,
        mask: bytes | bool | None = None,
    ) -> bytes:
        """Send a close frame; ``code=None`` sends an empty one."""
        return self.send_frame(8, close_payload(code, reason), mask=mask)

    def send_ping(
        self, data: bytes = b"", *, mask: bytes | bool | None = None
    ) -> bytes:
        """Send a ping frame."""
        return self.send_frame(9, data, mask=mask)

    def send_pong(
        self, data: bytes = b"", *, mask: bytes | bool | None = None
    ) -> bytes:
        """Send a pong frame."""
        return self.send_frame(10, data, mask=mask)

    def write_eof(self) -> None:
        """Half-close: send our FIN, keep reading."""
        self.transport.write_eof()

    def close(self) -> None:
        """Close the socket (FIN if not sent yet); input is no longer read."""
        if self._transport is not None:
            self._transport.close()

    def reset_connection(self) -> None:
        """Reset the connection: SO_LINGER 0, then close (sends an RST)."""
        if self._transport is None:
            return
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        self._transport.abort()

    # -- client role --------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        path: str = "/",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        protocols: Iterable[str] = (),
        extensions: str | None = None,
        handshake: bool = True,
        expect_head: bool = True,
        check_accept: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RawPeer:
        """Connect as a client; by default send the upgrade and await the 101.

        Args:
            host: normally ``'127.0.0.1'``. port: the server's port.
            path: the request target.
            headers: extra request headers (added after the standard ones).
            protocols: offered subprotocols (``Sec-WebSocket-Protocol``).
            extensions: the ``Sec-WebSocket-Extensions`` value to offer.
            handshake: ``False`` to connect only (then call :meth:`send_raw`
                with a hand-made request and :meth:`wait_head`).
            expect_head: with ``handshake=False``, ``False`` means the
                other side sends no HTTP head: every byte is frames.
            check_accept: raise ``AssertionError`` unless the response is a
                101 with the right ``Sec-WebSocket-Accept``.
            timeout: bound of the connect and of the handshake (scaled).
        """
        loop = asyncio.get_running_loop()
        _, peer = await asyncio.wait_for(
            loop.create_connection(
                lambda: cls(is_server=False, expect_head=expect_head or handshake),
                host,
                port,
            ),
            scaled(timeout),
        )
        if not handshake:
            return peer
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        protos = list(protocols)
        if protos:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(protos))
        if extensions is not None:
            lines.append(f"Sec-WebSocket-Extensions: {extensions}")
        items = headers.items() if isinstance(headers, Mapping) else headers
        lines.extend(f"{k}: {v}" for k, v in items)
        peer.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = await peer.wait_head(timeout)
        if check_accept:
            assert head.status == 101, f"handshake refused: {head.raw!r}"
            got = head.get("Sec-WebSocket-Accept")
            assert got == accept_key(key), f"bad accept {got!r}"
        return peer

    # -- server role --------------------------------------------------------

    def respond(
        self,
        *,
        status: int = 101,
        headers: Iterable[tuple[str, str]] = (),
        protocol: str | None = None,
        extensions: str | None = None,
        accept: str | None = None,
    ) -> None:
        """Answer the request in :attr:`head` with a response head.

        A 101 gets Upgrade, Connection and the right Sec-WebSocket-Accept
        (unless ``accept`` overrides it); other statuses get only
        ``Content-Length: 0`` and ``Connection: close`` plus ``headers``.
        """
        assert self.head is not None, "no request yet"
        if status == 101:
            key = self.head.get("Sec-WebSocket-Key", "") or ""
            lines = [
                "HTTP/1.1 101 Switching Protocols",
                "Upgrade: websocket",
                "Connection: Upgrade",
                f"Sec-WebSocket-Accept: {accept or accept_key(key)}",
            ]
            if protocol is not None:
                lines.append(f"Sec-WebSocket-Protocol: {protocol}")
            if extensions is not None:
                lines.append(f"Sec-WebSocket-Extensions: {extensions}")
        else:
            lines = [
                f"HTTP/1.1 {status} Status",
                "Content-Length: 0",
                "Connection: close",
            ]
        lines.extend(f"{k}: {v}" for k, v in headers)
        self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    # -- summaries ----------------------------------------------------------

    def data_frames(self) -> list[Frame]:
        """Frames received with opcodes 0, 1 or 2."""
        return [f for f in self.frames if f.opcode < 8]

    def close_frames(self) -> list[Frame]:
        """Close frames received."""
        return [f for f in self.frames if f.opcode == 8]

    def __repr__(self) -> str:
        role = "server" if self.is_server else "client"
        return (
            f"<RawPeer {role} frames={self.frames!r} eof={self.eof_time is not None}"
            f" lost={self.lost_time is not None} reset={self.reset}"
            f" pending={len(self._pending)}B>"
        )


class RawServer:
    """A listening socket that hands out :class:`RawPeer` objects (server role).

    Attributes:
        port: the port chosen by the OS (we listen on port 0).
    """

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._peers: asyncio.Queue[RawPeer] = asyncio.Queue()
        self.port = 0
        self.all_peers: list[RawPeer] = []

    @classmethod
    async def start(cls, host: str = "127.0.0.1") -> RawServer:
        """Listen on ``host``, port 0."""
        self = cls()
        loop = asyncio.get_running_loop()

        def factory() -> RawPeer:
            peer = RawPeer(is_server=True)
            self.all_peers.append(peer)
            self._peers.put_nowait(peer)
            return peer

        self._server = await loop.create_server(factory, host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def accept(
        self,
        *,
        handshake: bool = True,
        protocol: str | None = None,
        extensions: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RawPeer:
        """Return the next connection; by default read the request, send 101.

        With ``handshake=False`` the peer is returned at once: await
        :meth:`RawPeer.wait_head` and call :meth:`RawPeer.respond` yourself.
        """
        peer = await asyncio.wait_for(self._peers.get(), scaled(timeout))
        if handshake:
            await peer.wait_head(timeout)
            peer.respond(protocol=protocol, extensions=extensions, headers=headers)
        return peer

    async def close(self) -> None:
        """Stop listening and abort every connection still open."""
        for peer in self.all_peers:
            if peer._transport is not None and peer.lost_time is None:
                peer._transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> RawServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
