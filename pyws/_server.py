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
- :class:`HeadDeadlines`: the ``HEADERS_TIMEOUT`` of every request head
  being read, on one timer per server instead of one per connection.
- :class:`HoldingProtocol`: keeps bytes that arrive while an upgrade is
  being decided (an async ``verifyClient``), so none are lost; a FIN from
  the peer meanwhile destroys the socket, as ws does, unless the user's
  code listens for the socket's ``'end'``. It tells its socket about data
  (when the socket takes it), EOF and loss.
- :class:`Listener`: the accept loop of a ``port``-mode server. It refuses
  sockets beyond ``maxConnections`` / ``maxPendingHandshakes`` and, when
  ``accept()`` runs out of descriptors (EMFILE, ENFILE), stops accepting
  for :data:`ACCEPT_BACKOFF` seconds instead of spinning, reporting the
  condition once per streak.

Transport layer: imports the core and asyncio, not pyee.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl as ssl_module
import threading
from asyncio import selector_events
from collections.abc import Callable
from typing import Any, cast

from ._callbacks import fit
from .handshake import HTTPParseError, Request, RequestParser, is_upgrade

__all__ = [
    "ACCEPT_BACKOFF",
    "HEADERS_TIMEOUT",
    "HOLD_LIMIT",
    "HeadDeadlines",
    "HoldingProtocol",
    "Listener",
    "ServerHandshake",
    "TransportSocket",
    "listen_socket",
    "adopt_listen_socket",
]

#: Seconds a client has to send its whole request head (Node's
#: ``server.headersTimeout`` default is 60 s).
HEADERS_TIMEOUT = 60.0

#: Bytes kept from a peer while an upgrade is being decided; reading pauses
#: beyond it (Node's socket reads on up to its 16 KiB high-water mark).
HOLD_LIMIT = 64 * 1024

#: Size of the buffer request heads are read into (one per thread).
_HEAD_READ = 16384
_heads = threading.local()

#: Seconds the accept loop rests after ``accept()`` failed for lack of file
#: descriptors or memory (asyncio retries at once, up to 100 times a pass).
ACCEPT_BACKOFF = 0.25

#: ``accept()`` calls per readiness event, as asyncio's loop (its backlog).
_ACCEPTS_PER_EVENT = 100

#: The errors that mean "no resources for a new socket right now".
_RESOURCE_ERRNOS = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM))

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
        if len(self.buffer) >= HOLD_LIMIT and self.transport is not None:
            self.transport.pause_reading()

    def keep_reading(self) -> None:
        """Read on while the upgrade is decided, so a FIN is seen (up to
        :data:`HOLD_LIMIT` bytes are kept; reading pauses beyond)."""
        transport = self.transport
        if (
            transport is not None
            and not transport.is_closing()
            and len(self.buffer) < HOLD_LIMIT
        ):
            transport.resume_reading()

    def eof_received(self) -> bool:
        # The peer ended before the upgrade completed: ws destroys such a
        # socket (its completeUpgrade finds it no longer readable) and emits
        # no 'connection'; the owner sees ``lost`` when it decides. A socket
        # the user's code handles itself (an 'end' listener, no upgrade)
        # stays half-open, as a Node socket does.
        sock = self.socket
        if sock is not None and not sock.upgraded and sock._on_end():
            return True
        if self.transport is not None:
            self.transport.abort()
        return True

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
        # An AF_INET6 address is (host, port, flowinfo, scope_id), an
        # AF_INET one (host, port): no socket object needed to tell.
        self.remoteFamily = (
            "IPv6" if isinstance(peer, tuple) and len(peer) == 4 else "IPv4"
        )
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

    def _on_end(self) -> bool:
        """The peer half-closed; True if the user's code took the news."""
        return False

    def _on_close(self, exc: Exception | None) -> None:
        pass

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.remoteAddress}:{self.remotePort}>"


def _read_view() -> memoryview:
    """This thread's buffer for reading request heads (made on first use)."""
    view: memoryview | None = getattr(_heads, "view", None)
    if view is None:
        view = _heads.view = memoryview(bytearray(_HEAD_READ))
    return view


class HeadDeadlines:
    """When each request head being read is due, on one timer.

    Every head gets the same :data:`HEADERS_TIMEOUT`, so deadlines come in
    the order connections were added: a dict keeps them in that order and
    one timer waits for the oldest. Adding and removing a connection is a
    dict operation; the timer is armed when there is none and re-armed only
    when it fires, for the oldest head then being read (a head that arrived
    does not cancel it: under load that would re-arm it per connection).
    Node's HTTP server also checks ``headersTimeout`` from one periodic
    timer. A handshake whose deadline passed gets ``on_timeout()``.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, timeout: float | None = None
    ) -> None:
        self.loop = loop
        #: Seconds each head has (:data:`HEADERS_TIMEOUT` unless given).
        self.timeout = HEADERS_TIMEOUT if timeout is None else timeout
        self._due: dict[ServerHandshake, float] = {}
        self.timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._due)

    def add(self, handshake: ServerHandshake) -> None:
        """Start ``handshake``'s clock."""
        due = self.loop.time() + self.timeout
        self._due[handshake] = due
        if self.timer is None:
            self.timer = self.loop.call_at(due, self._expire)

    def remove(self, handshake: ServerHandshake) -> None:
        """Stop ``handshake``'s clock (its head arrived, or it is gone)."""
        self._due.pop(handshake, None)

    def close(self) -> None:
        """Cancel the timer (the server closed); clocks stop."""
        self._due.clear()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def due(self, handshake: ServerHandshake) -> float | None:
        """The loop time ``handshake`` times out at, if its clock runs."""
        return self._due.get(handshake)

    def _expire(self) -> None:
        self.timer = None
        now = self.loop.time()
        due = self._due
        expired = []
        for handshake, when in due.items():
            if when > now:
                break
            expired.append(handshake)
        for handshake in expired:
            del due[handshake]
        if due:
            self.timer = self.loop.call_at(next(iter(due.values())), self._expire)
        for handshake in expired:
            handshake.on_timeout()


class ServerHandshake(HoldingProtocol, asyncio.BufferedProtocol):
    """Reads one HTTP request head and dispatches it (``port`` mode).

    A ``BufferedProtocol``: the head is read into a small buffer shared by
    the thread's handshakes, then copied out at its size; a plain
    ``Protocol`` would have asyncio allocate (and the kernel map) 256 KiB
    for each connection's first read.
    """

    def __init__(
        self,
        on_upgrade: Callable[
            [Request, TransportSocket, bytes, ServerHandshake], object
        ],
        loop: asyncio.AbstractEventLoop,
        track: Callable[[asyncio.Transport, bool], object],
        make_socket: Callable[[asyncio.Transport], TransportSocket] = TransportSocket,
        deadlines: HeadDeadlines | None = None,
    ) -> None:
        super().__init__()
        self.make_socket = make_socket
        self.on_upgrade = on_upgrade
        self.loop = loop
        self.track = track
        self.parser: RequestParser | None = RequestParser()
        #: The server's clocks for request heads (one of its own if none).
        self.deadlines = deadlines if deadlines is not None else HeadDeadlines(loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.track(self.transport, True)
        self.deadlines.add(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return _read_view()

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(_read_view()[:nbytes]))

    def on_timeout(self) -> None:
        """The head did not arrive within :data:`HEADERS_TIMEOUT`."""
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
        if not is_upgrade(req):
            transport.write(_UPGRADE_REQUIRED)
            transport.close()
            return
        self.on_upgrade(req, nsock, parser.tail, self)

    def eof_received(self) -> bool:
        if self.parser is not None:
            # The peer ended before a complete head: close at once (Node
            # does), not after HEADERS_TIMEOUT in CLOSE-WAIT.
            self._stop_timer()
            self.parser = None
            return False  # asyncio closes the transport
        return super().eof_received()

    def _stop_timer(self) -> None:
        self.deadlines.remove(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        if self.transport is not None:
            self.track(self.transport, False)
        super().connection_lost(exc)


class Listener:
    """The accept loop of a ``port``-mode server, on the loop's selector.

    asyncio's own loop (``create_server``) reports every failed ``accept()``
    and, on EMFILE, schedules a retry for each of up to 100 attempts per
    readiness event: a server out of descriptors spins and floods its log.
    This one stops watching the socket for :data:`ACCEPT_BACKOFF` seconds,
    reports the condition once per streak of failures (``report``, else the
    loop's exception handler), and resumes. New sockets are refused (closed
    at once, as Node does beyond ``server.maxConnections``) while
    ``admit()`` says no.

    Args:
        loop: the running loop (it must support ``add_reader``).
        sock: the bound, listening, non-blocking socket.
        factory: makes the protocol of each accepted connection.
        admit: called before each accepted socket is set up; ``False``
            refuses it.
        ssl: an ``SSLContext`` for ``wss://``, else ``None``.
        report: called with a message and the exception when ``accept()``
            fails (once per streak of resource errors) or a connection
            cannot be set up.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        factory: Callable[[], asyncio.Protocol],
        admit: Callable[[], bool],
        ssl: ssl_module.SSLContext | None = None,
        report: Callable[[str, Exception], object] | None = None,
    ) -> None:
        self.loop = loop
        self.report = report or self._report
        self.sock = sock
        self.factory = factory
        self.admit = admit
        self.ssl = ssl
        #: Set-ups in progress (``connect_accepted_socket``).
        self.pending: set[asyncio.Task[Any]] = set()
        #: Sockets refused by ``admit``, and ``accept()`` resource failures.
        self.refused = 0
        self.resource_errors = 0
        self._serving = False
        self._closed = False
        self._backoff: asyncio.TimerHandle | None = None
        self._in_streak = False
        # What socket.accept() asks the listening socket for on every call
        # (each family/type read makes an enum): read once.
        self._kind = (sock.family, sock.type, sock.proto)
        #: The selector loop's own transport factory (what its
        #: ``connect_accepted_socket`` uses), when the loop is one.
        self._make_transport: Callable[..., object] | None = (
            getattr(loop, "_make_socket_transport", None)
            if isinstance(loop, selector_events.BaseSelectorEventLoop)
            else None
        )

    @property
    def tls_handshakes(self) -> int:
        """Sockets still in their TLS handshake: accepted, and not yet seen
        by their protocol (a plain TCP socket reaches it at once)."""
        return len(self.pending) if self.ssl is not None else 0

    def start(self) -> None:
        """Watch the socket (``NotImplementedError`` without ``add_reader``)."""
        self.loop.add_reader(self.sock.fileno(), self._on_readable)
        self._serving = True

    def close(self) -> None:
        """Stop accepting and close the listening socket."""
        if self._closed:
            return
        self._closed = True
        if self._backoff is not None:
            self._backoff.cancel()
            self._backoff = None
        if self._serving:
            self.loop.remove_reader(self.sock.fileno())
            self._serving = False
        self.sock.close()

    def _on_readable(self) -> None:
        for _ in range(_ACCEPTS_PER_EVENT):
            try:
                # socket.accept(), without its per-call family/type lookups.
                fd, _addr = self.sock._accept()  # type: ignore[attr-defined]
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno in _RESOURCE_ERRNOS:
                    self._rest(exc)
                else:
                    self.report("accept() failed", exc)
                return
            conn = socket.socket(*self._kind, fileno=fd)
            if self._in_streak:
                self._in_streak = False
            if not self.admit():
                self.refused += 1
                conn.close()
                continue
            conn.setblocking(False)
            self._start(conn)

    def _start(self, conn: socket.socket) -> None:
        if self.ssl is None and self._make_transport is not None:
            # Plain TCP on the stdlib's selector loop: the transport is made
            # here and calls connection_made on the next turn, as
            # connect_accepted_socket does, without its task, coroutine and
            # waiter per connection.
            try:
                self._make_transport(conn, self.factory())
            except OSError:  # pragma: no cover - the peer is gone already
                conn.close()
            return
        if self.ssl is None:
            # Plain TCP on another loop (uvloop): its connect_accepted_socket
            # does all its work before it awaits the waiter it resolves on
            # the next turn. Run it here and resume it from that waiter,
            # instead of a task (and its extra turns) per connection.
            self._step(self.loop.connect_accepted_socket(self.factory, conn), conn)
            return
        task = self.loop.create_task(self._connect(conn))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    def _step(self, coro: Any, conn: socket.socket) -> None:
        """Run ``coro`` (a ``connect_accepted_socket``) until it waits, and
        again when what it waits for is done: a task's work, without the
        task. Its failures are handled as :meth:`_connect` handles them."""
        try:
            awaited = coro.send(None)
        except StopIteration:
            return
        except (OSError, asyncio.TimeoutError, asyncio.CancelledError):
            # A peer gone first (or its waiter cancelled): nothing to serve.
            conn.close()
            return
        except Exception as exc:  # noqa: BLE001 - reported, not raised in a callback
            conn.close()
            self.report("setting up an accepted connection failed", exc)
            return
        if awaited is None:  # a bare yield: a turn of the loop
            self.loop.call_soon(self._step, coro, conn)
            return
        # An asyncio future (the one yielded by ``await``): as a task does.
        awaited._asyncio_future_blocking = False
        awaited.add_done_callback(lambda _: self._step(coro, conn))

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self.factory, conn, ssl=self.ssl)
        except (OSError, ssl_module.SSLError, asyncio.TimeoutError):
            # A failed TLS handshake or a peer gone first: nothing to serve.
            conn.close()
        except Exception as exc:  # noqa: BLE001 - reported, not raised in a task
            conn.close()
            self.report("setting up an accepted connection failed", exc)

    def _rest(self, exc: OSError) -> None:
        self.resource_errors += 1
        self.loop.remove_reader(self.sock.fileno())
        self._serving = False
        if not self._in_streak:
            self._in_streak = True
            self.report(
                f"accept() failed ({errno.errorcode.get(exc.errno or 0)}): "
                f"not accepting for {ACCEPT_BACKOFF * 1000:.0f} ms at a time "
                "until it succeeds",
                exc,
            )
        self._backoff = self.loop.call_later(ACCEPT_BACKOFF, self._resume)

    def _report(self, message: str, exc: Exception) -> None:
        self.loop.call_exception_handler({"message": message, "exception": exc})

    def _resume(self) -> None:
        self._backoff = None
        if not self._closed and not self._serving:
            self.start()
