"""The server's side of the opening handshake on asyncio.

- :class:`NodeSocket`: the small Node-like socket handed to user code
  (``request.socket``, ``'wsClientError'``'s socket, ``handleUpgrade``):
  ``write``, ``end``, ``destroy``, ``remoteAddress``, ``remotePort``.
- :class:`ServerHandshake`: an ``asyncio.Protocol`` for each accepted
  connection of a ``port``-mode server: it reads the HTTP request head
  (bounded in size by the parser and in time by ``HEADERS_TIMEOUT``),
  answers a plain HTTP request with 426 as ws's own HTTP server does, and
  hands an upgrade request to ``WebSocketServer.handleUpgrade``.
- :class:`HoldingProtocol`: keeps bytes that arrive while an upgrade is
  being decided (an async ``verifyClient``), so none are lost.

Transport layer: imports the core and asyncio, not pyee.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any, cast

from .handshake import HTTPParseError, Request, RequestParser

__all__ = [
    "NodeSocket",
    "ServerHandshake",
    "HoldingProtocol",
    "HEADERS_TIMEOUT",
    "listen_socket",
    "adopt_listen_socket",
]

#: Seconds a client has to send its whole request head (Node's
#: ``server.headersTimeout`` default is 60 s).
HEADERS_TIMEOUT = 60.0

_UPGRADE_REQUIRED = (
    b"HTTP/1.1 426 Upgrade Required\r\n"
    b"Content-Length: 16\r\n"
    b"Content-Type: text/plain\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"Upgrade Required"
)


def listen_socket(
    host: str | None, port: int, backlog: int, reuse_port: bool = False
) -> socket.socket:
    """Bind and listen, as Node's ``server.listen({host, port, backlog,
    reusePort})`` does; return the non-blocking listening socket.

    Without a ``host``, listen on every address, IPv6 and IPv4 on one
    socket when the system has IPv6. ``reuse_port`` sets ``SO_REUSEPORT``
    before binding, so that several processes (or sockets) may listen on
    the same port and the kernel spreads new connections among them.

    Raises:
        OSError: the address is in use, cannot be resolved, or
            ``SO_REUSEPORT`` does not exist here.
    """
    if host is None and socket.has_ipv6:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        except OSError:
            sock.close()
            raise
        bind_host = "::"
    else:
        bind_host = host or "0.0.0.0"
        infos = socket.getaddrinfo(
            bind_host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        sock = socket.socket(infos[0][0], socket.SOCK_STREAM, socket.IPPROTO_TCP)
        bind_host = str(infos[0][4][0])
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            option = getattr(socket, "SO_REUSEPORT", None)
            if option is None:
                raise OSError("SO_REUSEPORT is not supported on this platform")
            sock.setsockopt(socket.SOL_SOCKET, option, 1)
        sock.bind((bind_host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def adopt_listen_socket(
    given: socket.socket | int, backlog: int, listen: bool = True
) -> socket.socket:
    """Take over a socket bound elsewhere: a ``socket.socket`` or a file
    descriptor (a process manager's, or systemd's socket activation, whose
    first descriptor is 3). It must be a TCP or Unix stream socket; if it is
    not listening yet it is made to (``backlog``). The server owns it from
    then on and closes it on ``close()``.

    Raises:
        OSError: not a socket, or not bound.
        TypeError: not a stream socket.
    """
    if isinstance(given, socket.socket):
        sock = given
    else:
        sock = socket.socket(fileno=given)
    if sock.type != socket.SOCK_STREAM:
        kind = sock.type
        sock.detach()  # not ours to close: leave the descriptor alone
        raise TypeError(f"a listening socket must be SOCK_STREAM, not {kind!r}")
    accepting = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    if not accepting and listen:
        sock.listen(backlog)
    sock.setblocking(False)
    return sock


class HoldingProtocol(asyncio.Protocol):
    """Collects bytes (reading paused) until the transport is taken over."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.on_lost: Callable[[], object] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data

    def eof_received(self) -> bool:
        return True  # keep the transport open; the owner decides

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.on_lost is not None:
            self.on_lost()


class NodeSocket:
    """A Node ``net.Socket``-like wrapper around an asyncio transport."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.upgraded = False
        peer = transport.get_extra_info("peername") or ("", 0)
        local = transport.get_extra_info("sockname") or ("", 0)
        if isinstance(peer, tuple):
            self.remoteAddress: str | None = str(peer[0])
            self.remotePort: int | None = int(peer[1])
        else:  # a Unix socket
            self.remoteAddress, self.remotePort = None, None
        if isinstance(local, tuple):
            self.localAddress: str | None = str(local[0])
            self.localPort: int | None = int(local[1])
        else:
            self.localAddress, self.localPort = None, None
        sock = transport.get_extra_info("socket")
        family = getattr(sock, "family", None)
        self.remoteFamily = "IPv6" if family == socket.AF_INET6 else "IPv4"
        self.encrypted = transport.get_extra_info("sslcontext") is not None
        self.authorized = False
        self._ended = False

    # PEP 8 twins.
    @property
    def remote_address(self) -> str | None:
        return self.remoteAddress

    @property
    def remote_port(self) -> int | None:
        return self.remotePort

    @property
    def destroyed(self) -> bool:
        """Whether the socket is closed or closing."""
        return self.transport.is_closing()

    @property
    def readable(self) -> bool:
        return not self.transport.is_closing()

    @property
    def writable(self) -> bool:
        return not self.transport.is_closing() and not self._ended

    def write(self, data: str | bytes, cb: Callable[..., object] | None = None) -> bool:
        """Write ``data`` (str is UTF-8); ``cb()`` once it was handed over."""
        if self.transport.is_closing():
            return False
        self.transport.write(data.encode() if isinstance(data, str) else bytes(data))
        if cb is not None:
            asyncio.get_running_loop().call_soon(cb)
        return True

    def end(self, data: str | bytes | None = None) -> None:
        """Write ``data`` if any, then close once it is flushed."""
        if data:
            self.write(data)
        self._ended = True
        self.transport.close()

    def destroy(self, err: BaseException | None = None) -> None:
        """Close at once, dropping unwritten data."""
        self.transport.abort()

    def pause(self) -> None:
        self.transport.pause_reading()

    def resume(self) -> None:
        self.transport.resume_reading()

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __repr__(self) -> str:
        return f"<NodeSocket {self.remoteAddress}:{self.remotePort}>"


def is_upgrade_request(req: Request) -> bool:
    """Whether Node's HTTP server would emit ``'upgrade'`` for ``req``."""
    upgrade = req.headers.get("upgrade")
    connection = req.headers.get("connection")
    if not upgrade or not isinstance(connection, str):
        return False
    return "upgrade" in (t.strip().lower() for t in connection.split(","))


class ServerHandshake(HoldingProtocol):
    """Reads one HTTP request head and dispatches it (``port`` mode)."""

    def __init__(
        self,
        on_upgrade: Callable[[Request, NodeSocket, bytes, ServerHandshake], object],
        loop: asyncio.AbstractEventLoop,
        track: Callable[[asyncio.Transport, bool], object],
    ) -> None:
        super().__init__()
        self.on_upgrade = on_upgrade
        self.loop = loop
        self.track = track
        self.parser: RequestParser | None = RequestParser()
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.track(self.transport, True)
        self.timer = self.loop.call_later(HEADERS_TIMEOUT, self._on_timeout)

    def _on_timeout(self) -> None:
        self.timer = None
        if self.parser is not None and self.transport is not None:
            # Node answers 408 when the head did not arrive in time.
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
            )
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:
            self.buffer += data
            return
        transport = self.transport
        assert transport is not None
        try:
            req = parser.feed(data)
        except HTTPParseError as exc:
            self._stop_timer()
            self.parser = None
            reason = (
                "Request Header Fields Too Large"
                if exc.status == 431
                else "Bad Request"
            )
            transport.write(
                f"HTTP/1.1 {exc.status} {reason}\r\nConnection: close\r\n\r\n".encode()
            )
            transport.close()
            return
        if req is None:
            return
        self._stop_timer()
        self.parser = None
        nsock = NodeSocket(transport)
        req.socket = nsock
        if not is_upgrade_request(req):
            transport.write(_UPGRADE_REQUIRED)
            transport.close()
            return
        self.on_upgrade(req, nsock, parser.tail, self)

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        if self.transport is not None:
            self.track(self.transport, False)
        super().connection_lost(exc)
