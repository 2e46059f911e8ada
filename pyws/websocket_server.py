"""``WebSocketServer``: ws's server class.

Modes, as in ws (exactly one):

- ``port``: pyws listens (``host``, ``backlog``, ``reusePort``) and answers
  plain HTTP requests with 426, as ws's own HTTP server does;
- ``socket`` or ``fd`` (pyws extras): the same, on a listening socket made
  elsewhere (a process manager, systemd socket activation);
- ``server``: a ``uvicorn.Server``, which pyws attaches to as ws attaches to
  an ``http.Server``: the upgrade requests this server handles (``path``,
  ``shouldHandle``) become its WebSockets, on the same port as the ASGI
  app's routes; the others go on to the app (see :mod:`pyws.asgi`);
- ``noServer``: the application reads the upgrade request itself and calls
  :meth:`WebSocketServer.handleUpgrade` with the request, the socket (a
  ``socket.socket``, an asyncio transport, or a :class:`NodeSocket`) and the
  bytes that followed the head. :func:`pyws.read_upgrade_request` reads and
  parses such a request from a socket.

The checks of ``handleUpgrade`` run in ws's order with ws's responses
(docs/server.md, Refused upgrade requests), then ``verifyClient`` (sync,
2-argument callback, or ``async def``), then ``handleProtocols``, the
``'headers'`` event, the 101, and ``'connection'``.
"""

from __future__ import annotations

import asyncio
import inspect
import socket as socket_module
import ssl as ssl_module
import weakref
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, cast

from typing_extensions import Unpack

from . import _runtime
from ._callbacks import fit
from ._emitter import report_exception
from ._options import SERVER_OPTIONS, call_options, parse_options
from ._server import (
    HeadDeadlines,
    HoldingProtocol,
    Listener,
    ServerHandshake,
    adopt_listen_socket,
    listen_socket,
)
from ._server_events import WebSocketServerEvents
from .constants import CloseCode, ReadyState
from .handshake import (
    Request,
    RequestParser,
    ServerHandshakeRejection,
    check_request,
    rejection_response,
    response_lines,
    serialize_response,
)
from .log import INFO, server_logger
from .node_socket import NodeSocket
from .permessage_deflate import (
    NegotiationError,
    PerMessageDeflate,
    negotiate,
    normalize_option,
    response_header,
)
from .protocol import shared_frame
from .typing import ClientOptions, ServerOptions
from .websocket import (
    NOT_OPEN,
    QUEUED,
    QUEUED_MORE,
    SLOW,
    WebSocket,
    attach,
    close_reason,
    deflate_of,
    flush,
    in_message,
    queue_shared,
    to_bytes,
)

__all__ = ["WebSocketServer", "read_upgrade_request"]

RUNNING, CLOSING, CLOSED = 0, 1, 2
OPEN_STATE = ReadyState.OPEN

_WS_OPTION_NAMES = (
    "maxPayload",
    "maxFragments",
    "maxBufferedChunks",
    "maxPendingAutoPongs",
    "skipUTF8Validation",
    "allowSynchronousEvents",
    "autoPong",
    "closeTimeout",
    "maxQueue",
    "pingInterval",
    "pingTimeout",
    "highWaterMark",
    "maxBufferedAmount",
    "incompleteMessageTimeout",
)

#: broadcast() writes at the end of the loop turn, or as soon as the
#: messages broadcast in this turn add up to this many bytes.
BROADCAST_COALESCE = 65536

_BROADCAST_OPTIONS = frozenset(("binary", "compress", "filter", "clients"))

_PROTOCOL_MSG = "Invalid Sec-WebSocket-Protocol header"
_EXTENSIONS_MSG = "Invalid or unacceptable Sec-WebSocket-Extensions header"


def _is_transport(obj: object) -> bool:
    """An asyncio transport (uvloop's are not ``asyncio.Transport`` subclasses)."""
    return isinstance(obj, asyncio.Transport) or all(
        hasattr(obj, name) for name in ("set_protocol", "write", "pause_reading")
    )


class VerifyInfo(dict[str, Any]):
    """``verifyClient``'s ``info``: ``origin``, ``secure``, ``req`` (by key
    and by attribute)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(
        1
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        and p.default is p.empty
    )


class WebSocketServer(WebSocketServerEvents):
    """A WebSocket server: ``WebSocketServer(options[, callback])``.

    Events: ``'connection'(ws, req)``, ``'listening'``, ``'headers'(lines,
    req)``, ``'error'(err)``, ``'close'``, ``'wsClientError'(err, socket,
    req)``.

    Besides ws's :meth:`close`, :meth:`shutdown` (a pyws extra) closes every
    client (1001) and then the server: the graceful stop for deploys.
    """

    def __init__(
        self,
        options: ServerOptions | None = None,
        callback: Callable[[], object] | None = None,
        **kwargs: Unpack[ServerOptions],
    ) -> None:
        super().__init__()
        opts = parse_options(SERVER_OPTIONS, options, kwargs, "WebSocketServer")
        given = (opts["socket"] is not None) + (opts["fd"] is not None)
        modes = (
            (opts["port"] is not None)
            + (opts["server"] is not None)
            + bool(opts["noServer"])
            + given
        )
        if modes != 1:
            if given:
                raise TypeError(
                    'One and only one of the "port", "server", "noServer", '
                    '"socket" or "fd" options must be specified'
                )
            raise TypeError(
                'One and only one of the "port", "server", or "noServer" '
                "options must be specified"
            )
        if opts["socket"] is not None and not isinstance(
            opts["socket"], socket_module.socket
        ):
            raise TypeError(
                "option 'socket' must be a socket.socket, "
                f"not {type(opts['socket']).__name__}"
            )
        if opts["reusePort"] and opts["port"] is None:
            raise TypeError('The "reusePort" option needs the "port" option')
        server = opts["server"]
        if server is not None and not (
            hasattr(server, "config") and hasattr(server, "server_state")
        ):
            raise TypeError(
                'The "server" option must be a uvicorn.Server (pyws attaches '
                "to it as ws does to an http.Server), not "
                f'{type(server).__name__}; without uvicorn use "noServer" '
                "and handleUpgrade(), see pyws.read_upgrade_request()"
            )
        # Validate now (TypeError/ValueError naming the parameter).
        self._deflate_options = normalize_option(opts["perMessageDeflate"])
        if self._deflate_options is not None:
            PerMessageDeflate(self._deflate_options, True, opts["maxPayload"])
        self.options = opts
        self._state = RUNNING
        self._loop = _runtime.get_loop()
        self._server: asyncio.AbstractServer | Listener | None = None
        self._listening = False
        self._listen_error: OSError | None = None
        self._sock: socket_module.socket | None = None
        self._backlog = 511
        #: Clients broadcast() queued frames on, written by one call_soon.
        self._to_flush: list[WebSocket] | None = None
        self._unflushed = 0
        self._handshaking: set[asyncio.Transport] = set()
        #: Request-head timeouts of a ``port``-mode server (one timer).
        self._deadlines: HeadDeadlines | None = None
        self._connections: set[WebSocket] = set()
        self._shutdown_future: asyncio.Future[None] | None = None
        self.clients: set[WebSocket] | None = set() if opts["clientTracking"] else None
        # Shared, read-only, by every connection of this server.
        self._ws_options = MappingProxyType({k: opts[k] for k in _WS_OPTION_NAMES})
        self._uvicorn: _UvicornHook | None = None
        if opts["port"] is not None or given:
            if callback is not None:
                self.on("listening", callback)
            self._listen()
        elif server is not None:
            self._uvicorn = _UvicornHook.of(server, self._loop)
            self._uvicorn.add(self)

    # -- listening -------------------------------------------------------------

    def _listen(self) -> None:
        opts = self.options
        backlog = opts["backlog"] if opts["backlog"] is not None else 511
        self._backlog = backlog
        try:
            sock = self._listening_socket(backlog)
        except OSError as exc:
            # Node emits the listen error on the server, asynchronously.
            self._state = CLOSED
            self._listen_error = exc
            self._loop.call_soon(self._dispatch, "error", exc)
            return
        self._sock = sock
        _runtime.retain(self, self._loop)
        self._loop.create_task(self._serve(sock))

    def _listening_socket(self, backlog: int) -> socket_module.socket:
        """The socket to accept on: made here (``port``, ``host``,
        ``reusePort``) or given (``socket``, ``fd``)."""
        opts = self.options
        given = opts["socket"] if opts["socket"] is not None else opts["fd"]
        if given is not None:
            return adopt_listen_socket(given, backlog)
        return listen_socket(opts["host"], opts["port"], backlog, opts["reusePort"])

    async def _serve(self, sock: socket_module.socket) -> None:
        loop = self._loop
        deadlines = self._deadlines = HeadDeadlines(loop)

        def factory() -> ServerHandshake:
            return ServerHandshake(
                self._on_http_upgrade, loop, self._track, NodeSocket, deadlines
            )

        if self._state is not RUNNING:
            return  # closed before the loop ran: _maybe_closed closes sock
        listener = Listener(
            loop, sock, factory, self._admit, self.options["ssl"], self._accept_failed
        )
        try:
            listener.start()
            self._server = listener
            # One more turn of the loop, as create_server took: code that
            # awaits once(wss, 'listening') in a task registers first.
            await asyncio.sleep(0)
        except NotImplementedError:  # pragma: no cover - a loop without add_reader
            try:
                self._server = await loop.create_server(
                    factory, sock=sock, ssl=self.options["ssl"], backlog=self._backlog
                )
            except OSError as exc:  # bind/listen already passed
                self._dispatch("error", exc)
                return
        if self._state is RUNNING:
            address = self.address()
            if address is not None:
                server_logger.info(
                    "listening on %s port %s", address["address"], address["port"]
                )
            self._listening = True
            self._dispatch("listening")

    def _accept_failed(self, message: str, exc: Exception) -> None:
        # Once per streak of EMFILE/ENFILE (the listener backs off meanwhile).
        server_logger.warning("%s: %s", message, exc)

    def _admit(self) -> bool:
        """Whether the listener may set up one more accepted socket."""
        opts = self.options
        limit = opts["maxPendingHandshakes"]
        handshaking = len(self._handshaking)
        if isinstance(self._server, Listener):
            handshaking += self._server.tls_handshakes
        if limit is not None and handshaking >= limit:
            return False
        limit = opts["maxConnections"]
        return limit is None or handshaking + len(self._connections) < limit

    def _track(self, transport: asyncio.Transport, add: bool) -> None:
        if add:
            self._handshaking.add(transport)
        else:
            self._handshaking.discard(transport)
            self._maybe_closed()

    # -- async context manager (Python extra) ----------------------------------

    async def __aenter__(self) -> WebSocketServer:
        """``async with WebSocketServer(port=...) as wss``: wait until it
        listens, when it listens itself (``port``, ``socket``, ``fd``);
        raises the listen error, e.g. EADDRINUSE."""
        if self._listen_error is not None:
            # Raised here, so the 'error' still queued for emission counts
            # as handled.
            self.once("error", lambda err: None)
            raise self._listen_error
        if self._sock is not None and not self._listening and self._state is RUNNING:
            fut: asyncio.Future[None] = self._loop.create_future()

            def listening() -> None:
                if not fut.done():
                    fut.set_result(None)

            def error(err: BaseException) -> None:
                if not fut.done():
                    fut.set_exception(err)

            self.once("listening", listening)
            self.once("error", error)
            try:
                await fut
            finally:
                self.remove_listener("listening", listening)
                self.remove_listener("error", error)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Shut down gracefully (:meth:`shutdown`: every client closed with
        1001 after what was queued, then the listener); returns once
        ``'close'`` was emitted."""
        await self.shutdown()

    def address(self) -> dict[str, Any] | None:
        """``{'address', 'family', 'port'}`` of the listening socket; ``None``
        after close(); raises in ``noServer`` mode."""
        if self.options["noServer"]:
            raise RuntimeError('The server is operating in "noServer" mode')
        if self._uvicorn is not None:
            return None if self._state is CLOSED else self._uvicorn.address()
        sock = self._sock
        if sock is None or self._state is CLOSED:
            return None
        name = sock.getsockname()
        family = "IPv6" if sock.family == socket_module.AF_INET6 else "IPv4"
        return {"address": name[0], "family": family, "port": name[1]}

    # -- broadcast -----------------------------------------------------------

    def broadcast(
        self, data: Any, options: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> int:
        """Send one message to every open client; return how many took it.

        ``broadcast(data[, options])``: ``data`` as for ``send()`` (str is
        text, bytes-like is binary). Options (dict or keywords): ``binary``
        and ``compress`` as for ``send()``; ``filter``, a callable
        ``filter(ws) -> bool`` that keeps a client; ``clients``, an iterable
        of WebSockets to use instead of ``wss.clients`` (needed with
        ``clientTracking: false``).

        The frame is built once and the same bytes are queued on every
        client, after whatever that client already has queued; they are
        written at the end of the current loop turn (or by that client's
        next send, or at once past :data:`BROADCAST_COALESCE` bytes), so
        that the broadcasts of one turn cost one write per client. With
        permessage-deflate, the message is compressed once for all the
        clients whose agreed parameters make the output shareable
        (``server_no_context_takeover`` with the same window bits); the
        others get it compressed for them, as by ``send()``.

        A client is skipped, and ``'broadcastDrop'(ws, reason)`` emitted on
        the server, when it cannot take the message now: ``'slow'`` when its
        ``bufferedAmount`` is over the server's ``highWaterMark`` (the mark
        at which ``send()`` returns False: 64 KiB by default), so a slow
        client holds no one back and its buffer stays within the mark plus
        one message; ``'fragmented'`` when it is in the middle of a
        fragmented message of its own. ``maxBufferedAmount``, when set,
        still fails a client that gets past it, as for ``send()``. Clients
        not OPEN are passed over silently.
        """
        opts = _broadcast_options(options, kwargs)
        payload, is_text = to_bytes(data)
        binary_opt = opts.get("binary")
        binary = not is_text if binary_opt is None else bool(binary_opt)
        compress = bool(opts.get("compress", True))
        keep = opts.get("filter")
        if keep is not None and not callable(keep):
            raise TypeError("broadcast() option 'filter' must be callable")
        targets: Any = opts.get("clients")
        if targets is None:
            if self.clients is None:
                raise TypeError(
                    "broadcast() needs the 'clients' option when clientTracking "
                    "is false"
                )
            targets = self.clients
        limit = self._broadcast_limit()
        deflating = compress and self._deflate_options is not None
        plain = shared_frame(payload, binary)
        shared: dict[tuple[int, ...], list[Any]] = {}
        touched: list[WebSocket] = []
        count = 0
        for ws in tuple(targets):
            # queue_shared() passes over clients that are not OPEN; the
            # filter sees open clients only.
            if keep is not None and (ws.readyState is not OPEN_STATE or not keep(ws)):
                continue
            chunks = plain
            if deflating:
                ext = deflate_of(ws)
                if ext is not None:
                    key = ext.shared_output_key()
                    if key is None:
                        # Context takeover: this client's deflate stream is
                        # its own, so send() compresses for it.
                        if ws.readyState is not OPEN_STATE:
                            continue
                        if ws.bufferedAmount > limit:
                            self._drop(ws, "slow")
                        elif in_message(ws):
                            self._drop(ws, "fragmented")
                        else:
                            ws.send(payload, {"binary": binary})
                            count += 1
                        continue
                    group = shared.get(key)
                    if group is None:
                        if ext.threshold_applies(len(payload)):
                            group = plain
                        else:
                            deflated = ext.compress_message(payload)
                            group = shared_frame(deflated, binary, rsv1=True)
                        shared[key] = group
                    chunks = group
            status = queue_shared(ws, chunks, limit)
            if status is QUEUED:
                count += 1
                touched.append(ws)
            elif status is QUEUED_MORE:
                count += 1  # a flush is due already
            elif status is not NOT_OPEN:
                self._drop(ws, "slow" if status is SLOW else "fragmented")
        if touched:
            # Written once per loop turn: several broadcasts in one turn
            # (a burst read from the publisher) cost one write per client.
            # Up to BROADCAST_COALESCE bytes, then at once: what waits
            # unwritten stays small, and bufferedAmount is soon the kernel's
            # verdict on each client.
            pending = self._to_flush
            if pending is None:
                self._to_flush = touched
                self._loop.call_soon(self._flush_broadcast)
            else:
                pending += touched
        if self._to_flush is not None:
            self._unflushed += len(payload)
            if self._unflushed >= BROADCAST_COALESCE:
                self._flush_broadcast()
        return count

    def _flush_broadcast(self) -> None:
        pending = self._to_flush
        self._to_flush = None
        self._unflushed = 0
        if pending:
            for ws in pending:
                flush(ws)

    def _broadcast_limit(self) -> int:
        """The bufferedAmount over which broadcast() skips a client (checked
        by ``queue_shared``): ``highWaterMark``, the mark where ``send()``
        says "stop"."""
        return int(self.options["highWaterMark"])

    def _drop(self, ws: WebSocket, reason: str) -> None:
        if "broadcastDrop" in self._events:
            self._dispatch("broadcastDrop", ws, reason)

    # -- closing -----------------------------------------------------------

    def close(self, cb: Callable[..., Any] | None = None) -> None:
        """Stop accepting (ws 8: existing connections stay open); ``'close'``
        once the last connection has closed."""
        if cb is not None:
            if self._state is CLOSED:
                self._loop.call_soon(
                    fit(cb, 1), RuntimeError("The server is not running")
                )
                self._loop.call_soon(self._dispatch, "close")
                return
            self.once("close", cb)
        if self._state is CLOSED:
            self._loop.call_soon(self._dispatch, "close")
            return
        if self._state is CLOSING:
            return
        self._state = CLOSING
        if self._uvicorn is not None:
            # ws: detach from the server; it and open connections stay.
            self._uvicorn.remove(self)
        if self._server is not None:
            self._server.close()
        elif self._sock is not None and self.options["port"] is not None:
            # create_server has not run yet: close the socket ourselves.
            pass
        self._loop.call_soon(self._maybe_closed)

    def shutdown(
        self, code: Any = None, reason: Any = None, cb: Any = None
    ) -> asyncio.Future[None]:
        """Close every client, then the server: ``shutdown([code[, reason]][,
        cb])`` (a pyws extra; ws 8's :meth:`close` leaves clients open).

        In order: stop accepting (the listening socket is closed, so new
        connections are refused at once and a load balancer moves on;
        upgrades not completed yet, an async ``verifyClient`` pending
        included, are dropped); start the closing handshake (RFC 6455
        section 7.1.1) on every connection with ``code`` (default 1001,
        Going Away) and ``reason``, each close frame queued after the
        messages already sent, which go out first; wait until every TCP
        connection is closed (the client answered and closed, or
        ``closeTimeout`` destroyed the socket); then emit ``'close'``.
        Messages that arrive before a client's close frame are still
        delivered (``'message'``).

        ``cb()`` is called with the ``'close'`` event; the returned
        ``asyncio.Future`` resolves at the same time. Calling it again
        returns the same future. Raises ``TypeError`` / ``RangeError`` for
        an invalid code or reason, as ``WebSocket.close`` does.
        """
        if callable(code) and reason is None and cb is None:
            code, cb = None, code
        elif callable(reason) and cb is None:
            reason, cb = None, reason
        if code is None:
            code = CloseCode.GOING_AWAY
        reason = close_reason(code, reason)
        fut = self._shutdown_future
        if fut is None:
            fut = self._shutdown_future = self._loop.create_future()

            def closed(*_: Any) -> None:
                if not fut.done():
                    fut.set_result(None)

            if self._state is CLOSED:
                self._loop.call_soon(closed)
            else:
                self.once("close", closed)
        if cb is not None:
            if fut.done() or self._state is CLOSED:
                self._loop.call_soon(cb)
            else:
                self.once("close", cb)
        if self._state is CLOSED:
            return fut
        if self._state is RUNNING:
            self._state = CLOSING
            if self._uvicorn is not None:
                self._uvicorn.remove(self)
            if self._server is not None:
                self._server.close()
        for transport in list(self._handshaking):
            # No WebSocket yet: nothing to close gracefully.
            transport.close()
        for ws in list(self._connections):
            if ws.readyState == WebSocket.OPEN:
                ws.close(int(code), bytes(reason))
        self._loop.call_soon(self._maybe_closed)
        return fut

    def _on_stop_signal(self) -> None:
        """SIGTERM / SIGINT in :func:`pyws.run`: :meth:`shutdown`."""
        self.shutdown()

    def _maybe_closed(self) -> None:
        if self._state is not CLOSING:
            return
        if self._shutdown_future is not None:
            pending = bool(self._connections or self._handshaking)
        elif self.options["noServer"]:
            pending = bool(self.clients)
        else:
            pending = bool(self._connections or self._handshaking)
        if pending:
            return
        self._state = CLOSED
        if self._server is None and self._sock is not None:
            self._sock.close()
        if self._deadlines is not None:
            self._deadlines.close()
        _runtime.release(self)
        server_logger.info("server closed")
        self._dispatch("close")

    # -- upgrades ------------------------------------------------------------

    def shouldHandle(self, req: Any) -> bool:  # noqa: N802
        """ws ``shouldHandle``: the ``path`` test; override to customise."""
        path: str | None = self.options["path"]
        if path is not None:
            return _request_target(req.url).split("?", 1)[0] == path
        return True

    def should_handle(self, req: Request) -> bool:
        """PEP 8 twin of :meth:`shouldHandle` (which it calls)."""
        return self.shouldHandle(req)

    # The route a uvicorn server offers its upgrade requests to (pyws.asgi):
    # requests this server handles become pyws WebSockets; the others go on
    # to the ASGI app.

    def claims(self, req: Request) -> bool:
        """Whether this server takes ``req`` (running, and ``shouldHandle``)."""
        return self._state is RUNNING and self._should(req)

    def take(self, req: Request, transport: Any, head: bytes, tracker: Any) -> None:
        """Upgrade ``req`` on ``transport`` as for an ``http.Server``'s
        ``'upgrade'`` event; ``tracker`` stays in uvicorn's connection set
        until the socket is done (uvicorn's shutdown closes with 1001)."""
        holder, nsock = _take_over(transport)
        req.socket = nsock
        self._handshaking.add(transport)

        def lost() -> None:
            tracker.release()
            self._track(transport, False)

        holder.on_lost = lost
        tracker.on_shutdown = lambda: self._abort(nsock, 503)

        def on_connection(ws: WebSocket, request: Request) -> None:
            tracker.on_shutdown = lambda: ws.close(1001)
            ws.once("close", lambda *_: tracker.release())
            self._dispatch("connection", ws, request)

        self._upgrade(req, nsock, head, on_connection, holder, req)

    def _on_listening(self) -> None:
        if self._state is RUNNING:
            self._dispatch("listening")

    def _on_http_upgrade(
        self, req: Request, nsock: Any, head: bytes, holder: HoldingProtocol
    ) -> None:
        def on_connection(ws: WebSocket, request: Request) -> None:
            self._dispatch("connection", ws, request)

        self._upgrade(req, nsock, head, on_connection, holder, req)

    def handleUpgrade(  # noqa: N802
        self,
        request: Any,
        socket: Any,
        head: bytes,
        cb: Callable[[WebSocket, Any], Any],
    ) -> None:
        """Complete an upgrade (ws ``handleUpgrade``); ``cb(ws, request)``.

        ``request`` is a :class:`~pyws.Request` or any object with
        ``method``, ``url`` and ``headers`` (a dict with lower-case names as
        Node's ``req.headers``, a Mapping, a multidict or a list of
        ``(name, value)`` pairs); ``verifyClient``, ``handleProtocols``,
        ``'headers'`` and ``cb`` get that object back. ``socket`` may be a
        connected ``socket.socket`` (pyws takes it over on the running
        loop), an ``asyncio.Transport`` (its protocol is replaced), or a
        :class:`NodeSocket`.
        """
        checked = as_request(request)
        head = bytes(head or b"")
        cb = fit(cb, 2)
        if isinstance(socket, NodeSocket):
            if socket.upgraded:
                raise RuntimeError(
                    "server.handleUpgrade() was called more than once with the "
                    "same socket, possibly due to a misconfiguration"
                )
            transport = socket.transport
            previous = transport.get_protocol()
            if isinstance(previous, HoldingProtocol) and previous.buffer:
                # Bytes that arrived after the head, held for us.
                head += bytes(previous.buffer)
                previous.buffer.clear()
            holder, _ = _take_over(transport, socket)
            _set_socket(request, checked, socket)
            self._upgrade(request, socket, head, cb, holder, checked)
        elif _is_transport(socket):
            holder, nsock = _take_over(socket)
            _set_socket(request, checked, nsock)
            self._upgrade(request, nsock, head, cb, holder, checked)
        elif isinstance(socket, socket_module.socket):
            self._loop.create_task(
                self._adopt_socket(request, socket, head, cb, checked)
            )
        else:
            raise TypeError(
                "handleUpgrade() socket must be a socket.socket, an "
                f"asyncio.Transport or a NodeSocket, not {type(socket).__name__}"
            )

    handle_upgrade = handleUpgrade

    async def _adopt_socket(
        self,
        request: Any,
        sock: socket_module.socket,
        head: bytes,
        cb: Callable[[WebSocket, Any], Any],
        checked: Request,
    ) -> None:
        holder = HoldingProtocol()
        transport, _ = await self._loop.connect_accepted_socket(lambda: holder, sock)
        transport.pause_reading()
        nsock = NodeSocket(transport)
        holder.socket = nsock
        _set_socket(request, checked, nsock)
        self._upgrade(request, nsock, head, cb, holder, checked)

    def _reject(
        self, nsock: NodeSocket, req: Request, exc: ServerHandshakeRejection
    ) -> None:
        if exc.client_error and self.listener_count("wsClientError"):
            # ws writes nothing and leaves the socket to the listener.
            nsock.transport.resume_reading()
            self._dispatch("wsClientError", Exception(exc.message), nsock, req)
            return
        self._abort(nsock, exc.status, exc.message, exc.headers)

    def _abort(
        self,
        nsock: NodeSocket,
        status: int,
        message: str | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> None:
        transport = nsock.transport
        if server_logger.isEnabledFor(INFO):
            server_logger.info(
                "[%s:%s] handshake refused: %s %s",
                nsock.remoteAddress,
                nsock.remotePort,
                status,
                message or "",
                extra={"peer": f"{nsock.remoteAddress}:{nsock.remotePort}"},
            )
        if not transport.is_closing():
            transport.write(rejection_response(status, message, headers))
            transport.close()

    def _upgrade(
        self,
        req: Request,
        nsock: NodeSocket,
        head: bytes,
        cb: Callable[[WebSocket, Request], Any],
        holder: HoldingProtocol,
        checked: Request,
    ) -> None:
        # ``req`` is the caller's request object, handed back to user code;
        # ``checked`` is the same request as a pyws Request.
        nsock.upgraded = True
        opts = self.options
        pmd_opts = self._deflate_options
        try:
            offer = check_request(checked, deflate_enabled=pmd_opts is not None)
        except ServerHandshakeRejection as exc:
            if exc.message in (_PROTOCOL_MSG, _EXTENSIONS_MSG) and not self._should(
                req
            ):
                self._abort(nsock, 400)
                return
            self._reject(nsock, req, exc)
            return
        if not self._should(req):
            self._abort(nsock, 400)
            return
        try:
            deflate = negotiate(pmd_opts, offer.extensions, opts["maxPayload"])
        except NegotiationError:
            self._reject(
                nsock,
                req,
                ServerHandshakeRejection(400, _EXTENSIONS_MSG, client_error=True),
            )
            return
        verify = opts["verifyClient"]
        if verify is None:
            self._complete(req, nsock, head, cb, holder, offer, deflate)
            return
        info = VerifyInfo(origin=offer.origin, secure=nsock.encrypted, req=req)
        if _arity(verify) == 2:
            # The answer may come later: keep what arrives meanwhile (up to
            # HOLD_LIMIT) and watch for a FIN, as Node's socket does.
            holder.keep_reading()
            done = False

            def verified(
                result: Any,
                code: int | None = None,
                message: str | None = None,
                headers: Mapping[str, Any] | None = None,
            ) -> None:
                nonlocal done
                if done:
                    return
                done = True
                if not result:
                    self._abort(nsock, code or 401, message, headers)
                    return
                self._complete(req, nsock, head, cb, holder, offer, deflate)

            try:
                verify(info, verified)
            except Exception as exc:  # noqa: BLE001 - the user's bug
                report_exception("Exception in verifyClient", exc, self)
                if not done:
                    done = True
                    self._abort(nsock, 500)
            return
        try:
            result = fit(verify, 1)(info)
        except Exception as exc:  # noqa: BLE001 - the user's bug
            report_exception("Exception in verifyClient", exc, self)
            self._abort(nsock, 500)
            return
        if inspect.isawaitable(result):
            holder.keep_reading()
            self._loop.create_task(
                self._await_verify(result, req, nsock, head, cb, holder, offer, deflate)
            )
            return
        if not result:
            self._abort(nsock, 401)
            return
        self._complete(req, nsock, head, cb, holder, offer, deflate)

    async def _await_verify(self, result: Any, *args: Any) -> None:
        nsock = args[1]
        try:
            ok = await result
        except Exception as exc:  # noqa: BLE001 - the user's bug
            report_exception("Exception in verifyClient", exc, self)
            self._abort(nsock, 500)
            return
        if not ok:
            self._abort(nsock, 401)
            return
        self._complete(*args)

    def _should(self, req: Request) -> bool:
        try:
            return bool(self.shouldHandle(req))
        except Exception as exc:  # noqa: BLE001 - the user's bug
            report_exception("Exception in shouldHandle", exc, self)
            return False

    def _complete(
        self,
        req: Request,
        nsock: NodeSocket,
        head: bytes,
        cb: Callable[[WebSocket, Request], Any],
        holder: HoldingProtocol,
        offer: Any,
        deflate: PerMessageDeflate | None,
    ) -> None:
        transport = nsock.transport
        if holder.lost or transport.is_closing():
            transport.abort()
            return
        if self._state is not RUNNING:
            self._abort(nsock, 503)
            return
        protocol = ""
        if offer.protocols:
            hook = self.options["handleProtocols"]
            if hook is not None:
                try:
                    chosen = fit(hook, 2)(offer.protocols, req)
                except Exception as exc:  # noqa: BLE001 - the user's bug
                    report_exception("Exception in handleProtocols", exc, self)
                    self._abort(nsock, 500)
                    return
                protocol = chosen if chosen else ""
            else:
                protocol = next(iter(offer.protocols))
        ext_header = None
        if deflate is not None:
            ext_header = response_header(deflate)
        lines = response_lines(offer.key, protocol or None, ext_header)
        self._dispatch("headers", lines, req)
        transport.write(serialize_response(lines))
        head = head + bytes(holder.buffer)
        holder.buffer.clear()
        cls = self.options["WebSocket"] or WebSocket
        ws = cls(None, None, cast(ClientOptions, self._ws_options))
        self._handshaking.discard(transport)
        self._connections.add(ws)
        _runtime.retain(ws, self._loop)
        # 'on' as ws adds it (its 'close' is emitted once): no once-wrapper.
        ws.on("close", lambda *_: self._on_ws_close(ws, nsock))

        def before_head() -> None:
            if self.clients is not None:
                self.clients.add(ws)
            try:
                cb(ws, req)
            except Exception as exc:  # noqa: BLE001 - the user's bug
                report_exception("Exception in a handleUpgrade callback", exc, self)

        attach(
            ws,
            transport,
            self._loop,
            head=head,
            protocol=protocol,
            extension=deflate,
            before_head=before_head,
        )

    def _on_ws_close(self, ws: WebSocket, nsock: Any) -> None:
        nsock._on_close(None)  # the upgraded socket's 'close'
        if not nsock.transport.is_closing():
            # Lost without a close() (the peer closed first): mark it closed,
            # or Python 3.10's SSL transport warns that it was left open.
            nsock.transport.close()
        self._connections.discard(ws)
        if self.clients is not None:
            self.clients.discard(ws)
        self._maybe_closed()


def _take_over(
    transport: asyncio.Transport, nsock: NodeSocket | None = None
) -> tuple[HoldingProtocol, NodeSocket]:
    """Take ``transport`` over for an upgrade: reading paused, a
    :class:`HoldingProtocol` keeping what arrives meanwhile, and the
    :class:`NodeSocket` user code sees (``nsock`` if it has one already).

    Returns:
        The holder (now the transport's protocol) and the socket.
    """
    transport.pause_reading()
    holder = HoldingProtocol(nsock)
    holder.transport = transport
    transport.set_protocol(holder)
    if nsock is None:
        nsock = holder.socket = NodeSocket(transport)
    return holder, nsock


def _request_target(url: Any) -> str:
    """A request's target (path and query) from ``req.url``: a str as Node
    has it, or a URL object (yarl's, Starlette's) with a ``path``."""
    if isinstance(url, str):
        return url
    path = getattr(url, "path", None)
    if isinstance(path, str):
        query = getattr(url, "query_string", None)
        if not isinstance(query, str):
            query = getattr(url, "query", None)
        return f"{path}?{query}" if isinstance(query, str) and query else path
    raise TypeError(
        "handleUpgrade() request.url must be a str (the request target, as "
        f"Node's req.url) or a URL object with a path, not {type(url).__name__}"
    )


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")  # ASGI's header bytes
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"handleUpgrade() {what} must be a str, not {type(value).__name__}")


def _header_pairs(headers: Any) -> Any:
    if isinstance(headers, Mapping):
        multi_items = getattr(headers, "multi_items", None)  # Starlette
        # A multidict's items() yields every pair, duplicates included.
        return multi_items() if callable(multi_items) else headers.items()
    if isinstance(headers, (list, tuple)):
        return headers
    raise TypeError(
        "handleUpgrade() request.headers must be a dict (lower-case names, as "
        "Node's req.headers), a Mapping, a multidict or a list of (name, value) "
        f"pairs, not {type(headers).__name__}"
    )


def as_request(request: Any) -> Request:
    """``request`` as a pyws :class:`~pyws.Request` (itself if it is one).

    Any object with ``method``, ``url`` and ``headers`` will do (see
    :meth:`WebSocketServer.handleUpgrade`); anything else raises a
    ``TypeError`` naming what is missing or wrong.
    """
    if isinstance(request, Request):
        return request
    missing = [n for n in ("method", "url", "headers") if not hasattr(request, n)]
    if missing:
        raise TypeError(
            "handleUpgrade() request must have method, url and headers "
            f"attributes; {type(request).__name__} has no " + ", ".join(missing)
        )
    method = request.method
    if not isinstance(method, str):
        raise TypeError(
            f"handleUpgrade() request.method must be a str, not {type(method).__name__}"
        )
    raw: list[str] = []
    for pair in _header_pairs(request.headers):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(
                "handleUpgrade() request.headers must hold (name, value) pairs, "
                f"not {pair!r}"
            )
        name = _text(pair[0], "a header name")
        values = pair[1] if isinstance(pair[1], (list, tuple)) else (pair[1],)
        for value in values:  # Node gives set-cookie as a list
            raw += (name, _text(value, f"header {name!r}"))
    return Request(method, _request_target(request.url), raw_headers=raw)


def _set_socket(request: Any, checked: Request, nsock: NodeSocket) -> None:
    # Node's req.socket, where the request object has room for it.
    if checked.socket is None:
        checked.socket = nsock
    if request is not checked and getattr(request, "socket", None) is None:
        try:
            request.socket = nsock
        except (AttributeError, TypeError):
            pass


class _UvicornHook:
    """What pyws adds to one ``uvicorn.Server`` that WebSocketServers use.

    - its ``ws`` protocol becomes :class:`pyws.asgi.WebSocketProtocol`,
      which offers each upgrade request to the attached servers in order;
    - ``'listening'`` once uvicorn listens (its ``startup`` is wrapped);
    - :func:`pyws.run` starts the server if nothing else did, and keeps
      running while it serves (its ``serve`` is wrapped: a second call
      while it serves waits for the first instead of binding again). After
      a signal uvicorn raises it again once it has shut down: under
      :func:`pyws.run` that ends the run as any stop signal does; elsewhere
      a ``KeyboardInterrupt`` it raises is swallowed, as ``uvicorn.run()``
      swallows it.
    """

    _hooks: weakref.WeakKeyDictionary[Any, _UvicornHook] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, server: Any, loop: asyncio.AbstractEventLoop) -> _UvicornHook:
        hook = cls._hooks.get(server)
        if hook is None:
            hook = cls._hooks[server] = cls(server, loop)
        return hook

    def __init__(self, server: Any, loop: asyncio.AbstractEventLoop) -> None:
        from .asgi import WebSocketProtocol

        self.server = server
        self.loop = loop
        self.servers: list[WebSocketServer] = []
        self.serving: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None
        config = server.config
        config.ws = WebSocketProtocol
        if getattr(config, "loaded", False):
            config.ws_protocol_class = WebSocketProtocol
        serve = server.serve
        startup = server.startup

        async def serve_once(*args: Any, **kwargs: Any) -> None:
            if self.serving is not None:
                await asyncio.shield(self.serving)
                return
            running = asyncio.get_running_loop()
            if running is not self.loop:
                # server.run() (uvicorn's own loop), or a loop other than the
                # one current when the WebSocketServers were made: nothing
                # ran on that one yet, so they move to this one.
                self.loop = running
                for wss in self.servers:
                    wss._loop = running
            self.serving = done = running.create_future()
            _runtime.retain(server, running)
            try:
                await serve(*args, **kwargs)
            except KeyboardInterrupt:
                # uvicorn raises Ctrl+C again once it has shut down;
                # uvicorn.run() then returns, and so does this.
                pass
            finally:
                self.serving = None
                done.set_result(None)
                _runtime.release(server)

        async def startup_then_listening(*args: Any, **kwargs: Any) -> None:
            await startup(*args, **kwargs)
            if server.started:
                for wss in list(self.servers):
                    wss._on_listening()

        server.serve = serve_once
        server.startup = startup_then_listening
        if not loop.is_running():
            # A script's top level: pyws.run() will start it. (In async
            # code, the code that made the server serves it.)
            _runtime.add_starter(loop, self._start)

    def _start(self) -> None:
        if self.serving is None and not self.server.started and self.servers:
            _runtime.retain(self.server, self.loop)  # until serve() returns
            self.task = self.loop.create_task(self.server.serve())

    def add(self, wss: WebSocketServer) -> None:
        from .asgi import attach_route

        self.servers.append(wss)
        attach_route(self.server.server_state, wss)
        if self.server.started:
            self.loop.call_soon(wss._on_listening)

    def remove(self, wss: WebSocketServer) -> None:
        from .asgi import detach_route

        if wss in self.servers:
            self.servers.remove(wss)
        detach_route(self.server.server_state, wss)

    def address(self) -> dict[str, Any] | None:
        if not self.server.started:
            return None
        for srv in getattr(self.server, "servers", ()):
            for sock in srv.sockets or ():
                name = sock.getsockname()
                if sock.family == socket_module.AF_INET6:
                    return {"address": name[0], "family": "IPv6", "port": name[1]}
                if sock.family == socket_module.AF_INET:
                    return {"address": name[0], "family": "IPv4", "port": name[1]}
                return {"address": name, "family": "Unix", "port": None}
        return None


def _broadcast_options(
    options: Mapping[str, Any] | None, kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    if options is None and not kwargs:
        return {}
    return call_options("broadcast", _BROADCAST_OPTIONS, options, kwargs)


async def read_upgrade_request(
    sock: Any,
    timeout: float = 60.0,
    *,
    ssl: ssl_module.SSLContext | None = None,
) -> tuple[Request, NodeSocket, bytes]:
    """Read and parse one HTTP request head from a connection.

    For applications that run their own server in ``noServer`` mode: returns
    ``(request, socket, head)`` ready for :meth:`WebSocketServer.handleUpgrade`
    (``socket`` is a :class:`NodeSocket`; ``request.socket`` is it too).

    Args:
        sock: the ``(reader, writer)`` pair ``asyncio.start_server`` hands
            its callback (plain or TLS; pyws takes the writer's transport
            over), or a connected ``socket.socket``.
        timeout: seconds the whole head may take (``asyncio.TimeoutError``
            after that; the connection is dropped).
        ssl: with a ``socket.socket``, a server ``SSLContext``: pyws does
            the TLS handshake first.

    Raises :class:`~pyws.handshake.HTTPParseError` on a bad request,
    ``ConnectionError`` when the client closes first, ``TypeError`` for
    anything else than the above.
    """
    if isinstance(sock, (tuple, list)):
        if len(sock) == 2 and isinstance(sock[0], asyncio.StreamReader):
            if ssl is not None:
                raise TypeError(
                    "read_upgrade_request(): ssl= is for a socket.socket; "
                    "asyncio.start_server(ssl=...) already did TLS"
                )
            return await _read_from_stream(sock[0], sock[1], timeout)
    elif isinstance(sock, ssl_module.SSLSocket):
        raise TypeError(
            "read_upgrade_request() cannot take over an ssl.SSLSocket: pass "
            "the plain accepted socket and ssl=<server SSLContext>"
        )
    elif isinstance(sock, socket_module.socket):
        return await _read_from_socket(sock, timeout, ssl)
    raise TypeError(
        "read_upgrade_request() takes the (reader, writer) pair of "
        "asyncio.start_server or a connected socket.socket, not "
        f"{type(sock).__name__}"
    )


async def _read_from_socket(
    sock: socket_module.socket, timeout: float, ssl: ssl_module.SSLContext | None
) -> tuple[Request, NodeSocket, bytes]:
    loop = asyncio.get_running_loop()
    parser = RequestParser()
    done: asyncio.Future[Request] = loop.create_future()

    class _Reader(HoldingProtocol):
        def data_received(self, data: bytes) -> None:
            if done.done():
                self.buffer += data
                return
            try:
                req = parser.feed(data)
            except Exception as exc:  # noqa: BLE001 - handed to the caller
                done.set_exception(exc)
                return
            if req is not None:
                assert self.transport is not None
                self.transport.pause_reading()
                done.set_result(req)

        def connection_lost(self, exc: Exception | None) -> None:
            if not done.done():
                done.set_exception(exc or ConnectionError("connection closed"))
            super().connection_lost(exc)

    reader = _Reader()
    transport, _ = await asyncio.wait_for(
        loop.connect_accepted_socket(lambda: reader, sock, ssl=ssl), timeout
    )
    try:
        req = await asyncio.wait_for(done, timeout)
    except BaseException:
        transport.abort()
        raise
    nsock = NodeSocket(transport)
    reader.socket = nsock
    req.socket = nsock
    return req, nsock, parser.tail + bytes(reader.buffer)


async def _read_from_stream(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
) -> tuple[Request, NodeSocket, bytes]:
    transport = cast(asyncio.Transport, writer.transport)
    parser = RequestParser()

    async def read_head() -> Request:
        while True:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("connection closed before the request head")
            req = parser.feed(data)
            if req is not None:
                return req

    try:
        req = await asyncio.wait_for(read_head(), timeout)
    except BaseException:
        transport.abort()
        raise
    # Take the transport over from the StreamReaderProtocol: bytes the
    # reader already holds beyond the head belong to the WebSocket. The
    # reader has no public way to hand them out, so its buffer is read.
    transport.pause_reading()
    held: bytearray = getattr(reader, "_buffer", bytearray())
    head = parser.tail + bytes(held)
    held.clear()
    holder, nsock = _take_over(transport)
    # The StreamWriter closes its transport when collected (Python 3.12+):
    # the socket keeps it for as long as the connection lives.
    nsock._stream_writer = writer  # type: ignore[attr-defined]
    req.socket = nsock
    if getattr(reader, "_eof", False):
        # The FIN came before the takeover: the socket's 'end' once the
        # caller had this turn to add listeners.
        asyncio.get_running_loop().call_soon(holder.eof_received)
    return req, nsock, head
