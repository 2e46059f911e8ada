"""The server's side of the opening handshake on asyncio.

- :class:`TransportSocket`: the Node ``net.Socket`` surface of an asyncio
  transport (``write``, ``end``, ``destroy``, ``remoteAddress``, ...) with
  hooks for what the transport reports (data, EOF, loss). The facade's
  :class:`pyws.NodeSocket` subclasses it as an EventEmitter; the code here
  makes sockets only through the factory it is handed.
- :class:`ServerHandshake`: an ``asyncio.Protocol`` for each accepted
  connection of a ``port``-mode server: it reads the HTTP request head
  (bounded in size by the parser and in time by ``HEADERS_TIMEOUT``),
  answers a plain HTTP request with 426 as ws's own HTTP server does, and
  hands an upgrade request to ``WebSocketServer.handleUpgrade``.
- :class:`HoldingProtocol`: keeps bytes that arrive while an upgrade is
  being decided (an async ``verifyClient``), so none are lost, and tells
  its socket about data (when the socket takes it), EOF and loss.

Transport layer: imports the core and asyncio, not pyee.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any, cast

from ._callbacks import fit
from .handshake import HTTPParseError, Request, RequestParser

__all__ = ["TransportSocket", "ServerHandshake", "HoldingProtocol", "HEADERS_TIMEOUT"]

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


class HoldingProtocol(asyncio.Protocol):
    """Collects bytes (reading paused) until the transport is taken over."""

    def __init__(self, socket: TransportSocket | None = None) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.on_lost: Callable[[], object] | None = None
        #: The user's socket object for this transport, once there is one.
        self.socket = socket

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        sock = self.socket
        if sock is not None and sock._takes_data():
            sock._on_data(data)  # a 'data' listener consumes it, as in Node
            return
        self.buffer += data

    def eof_received(self) -> bool:
        if self.socket is not None:
            self.socket._on_end()
        return True  # keep the transport open; the owner decides

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.on_lost is not None:
            self.on_lost()
        if self.socket is not None:
            self.socket._on_close(exc)


class TransportSocket:
    """A Node ``net.Socket``-like wrapper around an asyncio transport.

    The ``_on_*`` hooks receive what the transport's protocol sees; here
    they do nothing (the facade subclass emits events from them).
    """

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
            asyncio.get_running_loop().call_soon(fit(cb, 1), None)
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

    # -- what the transport reports (no-ops here) ------------------------

    def _takes_data(self) -> bool:
        """Whether received bytes go to the socket instead of being held."""
        return False

    def _on_data(self, data: bytes) -> None:
        pass

    def _on_end(self) -> None:
        pass

    def _on_close(self, exc: Exception | None) -> None:
        pass

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.remoteAddress}:{self.remotePort}>"


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
        on_upgrade: Callable[
            [Request, TransportSocket, bytes, ServerHandshake], object
        ],
        loop: asyncio.AbstractEventLoop,
        track: Callable[[asyncio.Transport, bool], object],
        make_socket: Callable[[asyncio.Transport], TransportSocket] = TransportSocket,
    ) -> None:
        super().__init__()
        self.make_socket = make_socket
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
            super().data_received(data)
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
        nsock = self.make_socket(transport)
        self.socket = nsock
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
