"""pyws as uvicorn's WebSocket implementation.

``uvicorn.run(app, ws=pyws.asgi.WebSocketProtocol)`` (or ``--ws
pyws.asgi:WebSocketProtocol``) serves every WebSocket of an ASGI app
(FastAPI, Starlette, ...) on pyws's core: the frame parser and writer, RFC
6455 section 7 closing, permessage-deflate, and the asyncio
:class:`~pyws._transport.Connection` that drives them.

How uvicorn hands a connection over: its HTTP protocol sees an upgrade
request, makes a :class:`WebSocketProtocol` with ``(config=,
server_state=, app_state=)``, calls its ``connection_made(transport)``,
switches the transport to it and feeds it the request head again as bytes.
From there this module:

- parses and checks the head (:mod:`pyws.handshake`, bounded in size),
  answering a bad one with 400 (431 for an oversized head);
- gives the head to a ws-style ``WebSocketServer`` attached to the same
  uvicorn server if one claims it (its ``path``/``shouldHandle``; see
  :func:`attach_route`), otherwise runs the ASGI app with a ``websocket``
  scope and ``websocket.connect``;
- answers the app's first message: ``websocket.accept`` (subprotocol,
  headers) is the 101 and the switch to framing; ``websocket.close`` before
  it is a 403; ``websocket.http.response.start``/``body`` (the Denial
  Response extension) is an HTTP response of the app's own;
- then turns ``websocket.send``/``websocket.close`` into frames and
  received messages into ``websocket.receive``, the closing handshake into
  ``websocket.disconnect`` with the close code and reason.

uvicorn's settings: ``ws_max_size`` (``maxPayload``),
``ws_per_message_deflate``, ``ws_ping_interval``/``ws_ping_timeout`` (a
keepalive ping; no pong in time fails the connection with 1011),
``ws_max_queue`` (received messages the app has not taken: reading stops
while any are queued, and parsing stops at this many). Logs go to
``uvicorn.error`` as uvicorn's own implementations write them; connections
and app tasks are registered in uvicorn's server state, and ``shutdown()``
closes a connection with 1012.

Nothing here imports uvicorn: the config and server state are read by
attribute name, so ``import pyws.asgi`` works without it.

Transport layer: imports the core, ``_transport`` and asyncio; never pyee.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import re
import weakref
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote

from ._transport import Connection
from .constants import MAX_CLOSE_REASON, ReadyState
from .errors import ProtocolError
from .handshake import (
    HTTPParseError,
    Request,
    RequestParser,
    ServerHandshakeRejection,
    check_request,
    response_lines,
    serialize_response,
    status_text,
)
from .permessage_deflate import (
    NegotiationError,
    PerMessageDeflate,
    negotiate,
    response_header,
)
from .protocol import Protocol
from .validation import is_valid_status_code

__all__ = ["WebSocketProtocol", "ClientDisconnected", "attach_route", "detach_route"]

OPEN = ReadyState.OPEN

#: uvicorn's ``TRACE_LOG_LEVEL``.
TRACE = 5

# Where the opening handshake stands.
_HEAD = 0  # reading the request head
_CONNECTING = 1  # the app has the scope; waiting for accept/close/response
_DENYING = 2  # the app started an HTTP response (Denial Response extension)
_OPEN = 3  # accepted: framing
_DONE = 4  # rejected or denied: nothing more goes out

#: App sends of one loop turn are written together, up to this many bytes.
_FLUSH_AT = 262144

#: uvicorn's implementations wait this long for the peer's close frame.
CLOSE_TIMEOUT = 10.0

_TOKEN_RE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE_RE = re.compile(rb"[\x00\r\n]")

_ERROR_500 = (
    b"HTTP/1.1 500 Internal Server Error\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: 21\r\n"
    b"\r\n"
    b"Internal Server Error"
)


class ClientDisconnected(OSError):
    """``send()`` after the client went away (ASGI apps expect an
    ``OSError``, as uvicorn raises)."""


class _KeepalivePingTimeout(ProtocolError):
    def __init__(self) -> None:
        super().__init__("keepalive ping timeout", "WS_ERR_PING_TIMEOUT", 1011)


# -- ws-style servers attached to a uvicorn server ------------------------------

_routes: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def attach_route(server_state: Any, route: Any) -> None:
    """Offer the upgrade requests of a uvicorn server to ``route`` first.

    ``route.claims(request)`` says whether it takes a request (a
    :class:`~pyws.handshake.Request`); ``route.take(request, transport,
    head, tracker)`` then owns the transport. ``tracker`` stays in uvicorn's
    connection set until ``tracker.release()``; uvicorn's shutdown calls
    ``tracker.on_shutdown()`` if set. Routes are asked in attach order.
    """
    _routes.setdefault(server_state, []).append(route)


def detach_route(server_state: Any, route: Any) -> None:
    """Stop offering requests to ``route``."""
    routes = _routes.get(server_state)
    if routes is not None and route in routes:
        routes.remove(route)


class _MinimalTransport:
    """Completes a transport that only writes, closes and pauses (test
    doubles, exotic servers) with what :class:`Connection` also calls."""

    def __init__(self, transport: Any) -> None:
        self._t = transport

    def __getattr__(self, name: str) -> Any:
        return getattr(self._t, name)

    def set_protocol(self, protocol: Any) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: Any = None, low: Any = None) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False

    def abort(self) -> None:
        self._t.close()


def _address(transport: Any, name: str) -> tuple[str, int] | None:
    info = transport.get_extra_info(name)
    if isinstance(info, (tuple, list)) and len(info) >= 2:
        return (str(info[0]), int(info[1]))
    return None  # a Unix socket, or unknown


def _header_lines(headers: Iterable[Any], where: str) -> list[str]:
    """ASGI ``(name, value)`` byte pairs as response lines; refuses what
    would break the head (header injection)."""
    lines = []
    for name, value in headers:
        name = bytes(name)
        value = bytes(value)
        if not _TOKEN_RE.fullmatch(name) or _BAD_VALUE_RE.search(value):
            raise RuntimeError(f"Invalid header in {where}: {name!r}: {value!r}")
        lines.append(f"{name.decode('latin-1')}: {value.decode('latin-1')}")
    return lines


class _Handler:
    """Routes the core's events to the protocol (bound methods: no extra
    call per message)."""

    __slots__ = ("on_message", "on_ping", "on_pong", "on_close_frame", "on_error")

    def __init__(self, owner: WebSocketProtocol) -> None:
        self.on_message = owner._on_message
        self.on_ping = owner._on_ping
        self.on_pong = owner._on_pong
        self.on_close_frame = owner._on_close_frame
        self.on_error = owner._on_error


class WebSocketProtocol(asyncio.Protocol):
    """uvicorn's ``ws`` protocol class on pyws (see the module docstring).

    Attributes uvicorn's tooling and tests read: ``transport``, ``scope``,
    ``close_timeout`` (seconds to wait for the peer's close frame; 10),
    ``close_timer`` (armed while that wait lasts), ``ping_timer``,
    ``ping_sent_at``.
    """

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not getattr(config, "loaded", True):
            config.load()
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.logger = logging.getLogger("uvicorn.error")
        self.root_path: str = config.root_path or ""
        self.asgi_version: str = config.asgi_version
        self.app_state = app_state
        self.server_state = server_state
        self.connections: set[Any] = server_state.connections
        self.tasks: set[asyncio.Task[None]] = server_state.tasks
        self.default_headers: list[tuple[bytes, bytes]] = server_state.default_headers

        self.transport: Any = None
        self.server: tuple[str, int] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme = "ws"
        self.scope: dict[str, Any] = {}
        self.close_timeout = CLOSE_TIMEOUT

        self.max_size: int = config.ws_max_size
        self.max_queue: int = max(1, int(config.ws_max_queue or 1))
        self.ping_interval: float | None = config.ws_ping_interval
        self.ping_timeout: float | None = config.ws_ping_timeout
        self.ping_timer: asyncio.TimerHandle | None = None
        self.pong_timer: asyncio.TimerHandle | None = None
        self.ping_sent_at = 0.0
        self.last_ping_rtt = 0.0
        self._ping_payload: bytes | None = None

        self._state = _HEAD
        self._parser: RequestParser | None = RequestParser()
        self._early = bytearray()  # bytes after the head, before the 101
        self._key = ""
        self._deflate: PerMessageDeflate | None = None
        self._conn: Connection | None = None
        self._proto: Protocol | None = None
        #: The app sent websocket.close (or we failed): no more frames from it.
        self.close_sent = False
        self.disconnected = False
        self._disconnect_queued = False
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._waiter: asyncio.Future[dict[str, Any]] | None = None
        self._input_paused = False
        self._held = False
        self._flush_due = False
        self._unflushed = 0
        # Denial Response: status and header lines; head written yet;
        # chunked body.
        self._denial: tuple[int, list[str]] | None = None
        self._denial_sent = False
        self._chunked = False
        # A ws-style WebSocketServer took the transport (see attach_route).
        self.on_shutdown: Callable[[], object] | None = None
        self._handed_over = False

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.connections.add(self)
        self.transport = transport
        self.server = _address(transport, "sockname")
        self.client = _address(transport, "peername")
        self.scheme = "wss" if transport.get_extra_info("sslcontext") else "ws"
        if self.logger.isEnabledFor(TRACE):
            self.logger.log(TRACE, "%sWebSocket connection made", self._prefix())

    def data_received(self, data: bytes) -> None:
        conn = self._conn
        if conn is not None:
            conn.data_received(data)
            return
        if self._state is not _HEAD:
            # Before the 101 the client should wait; keep what it sent
            # (reading is paused, so at most a read's worth).
            if self._state is _CONNECTING:
                self._early += data
            return
        parser = self._parser
        assert parser is not None
        try:
            req = parser.feed(data)
        except HTTPParseError as exc:
            self._parser = None
            self._state = _DONE
            reason = status_text(exc.status)
            self._write_close(
                self._plain_response(exc.status, f"{reason}: {exc}\n".encode())
            )
            return
        if req is None:
            return
        self._parser = None
        self._on_request(req, parser.tail)

    def eof_received(self) -> bool | None:
        conn = self._conn
        if conn is not None:
            return conn.eof_received()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        conn = self._conn
        if conn is not None:
            conn.connection_lost(exc)  # calls connection_closed()
        else:
            self.connection_closed()

    def pause_writing(self) -> None:
        if self._conn is not None:
            self._conn.pause_writing()

    def resume_writing(self) -> None:
        if self._conn is not None:
            self._conn.resume_writing()

    # -- ConnectionOwner -------------------------------------------------------

    def connection_closed(self) -> None:
        """The socket is gone (``Connection`` reports it, or before the
        switch to framing, asyncio does)."""
        if self.disconnected:
            return
        self.disconnected = True
        self._stop_keepalive()
        self.connections.discard(self)
        self._disconnect(1006)
        if self.logger.isEnabledFor(TRACE):
            self.logger.log(TRACE, "%sWebSocket connection lost", self._prefix())

    def release(self) -> None:
        """A route that took the transport is done with it."""
        self.on_shutdown = None
        self.connections.discard(self)

    # -- uvicorn ---------------------------------------------------------------

    @property
    def close_timer(self) -> asyncio.TimerHandle | None:
        """The close timer while we wait for the peer's close frame."""
        conn = self._conn
        proto = self._proto
        if (
            conn is None
            or proto is None
            or conn.closed
            or not proto.close_sent
            or proto.close_rcvd
            or self.transport.is_closing()
        ):
            return None
        return conn.close_timer

    def shutdown(self) -> None:
        """Server shutdown: close with 1012 (Service Restart) and finish the
        closing handshake; stop waiting if it is already under way."""
        self._stop_keepalive()
        if self.on_shutdown is not None:
            self.on_shutdown()
            return
        if self._handed_over:
            return
        state = self._state
        conn = self._conn
        proto = self._proto
        if state is _OPEN and conn is not None and proto is not None:
            if proto.state is OPEN and not self.close_sent:
                self.close_sent = True
                self._disconnect(1012)
                proto.close(1012)
                self._resume_input()
                conn.flush()
            else:
                self.transport.close()
            return
        if state is _CONNECTING:
            self._state = _DONE
            self._write_close(_ERROR_500)
        elif not self.transport.is_closing():
            self.transport.close()

    # -- the request -----------------------------------------------------------

    def _on_request(self, req: Request, tail: bytes) -> None:
        routes = _routes.get(self.server_state)
        if routes:
            for route in list(routes):
                if route.claims(req):
                    self._handed_over = True
                    self._state = _DONE
                    route.take(req, self.transport, tail, self)
                    return
        try:
            offer = check_request(
                req, deflate_enabled=bool(self.config.ws_per_message_deflate)
            )
        except ServerHandshakeRejection as exc:
            self._reject(exc, req)
            return
        try:
            # uvicorn's ws_per_message_deflate: ws's defaults, or off (then
            # check_request left the offers unparsed).
            deflate = negotiate({}, offer.extensions, self.max_size)
        except NegotiationError:
            self._reject(
                ServerHandshakeRejection(
                    400, "Invalid or unacceptable Sec-WebSocket-Extensions header"
                ),
                req,
            )
            return
        self._key = offer.key
        self._deflate = deflate
        self._early += tail
        # The client waits for our answer; anything it sends meanwhile
        # stays in the socket.
        self.transport.pause_reading()
        self._input_paused = True
        self._state = _CONNECTING
        self.scope = self._make_scope(req, list(offer.protocols))
        self._queue.append({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    def _reject(self, exc: ServerHandshakeRejection, req: Request) -> None:
        message = exc.message
        if message.startswith("Missing or invalid "):
            name = message.split()[3]
            if req.headers.get_str(name.lower()) is None:
                message = f"Missing {name} header"
            else:
                message = f"Invalid {name} header"
        self._state = _DONE
        body = f"Failed to open a WebSocket connection: {message}.\n".encode()
        self._write_close(self._plain_response(exc.status, body, exc.headers))

    def _make_scope(self, req: Request, subprotocols: list[str]) -> dict[str, Any]:
        raw = req.rawHeaders
        headers = [
            (raw[i].lower().encode("latin-1"), raw[i + 1].encode("latin-1"))
            for i in range(0, len(raw) - 1, 2)
        ]
        raw_path, _, query = req.url.partition("?")
        root = self.root_path
        return {
            "type": "websocket",
            "asgi": {"version": self.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": root,
            "path": root + unquote(raw_path),
            "raw_path": (root + raw_path).encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "headers": headers,
            "subprotocols": subprotocols,
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }

    def _plain_response(
        self, status: int, body: bytes, extra: dict[str, str] | None = None
    ) -> bytes:
        lines = [f"HTTP/1.1 {status} {status_text(status)}"]
        lines += _header_lines(self.default_headers, "the server's default headers")
        for name, value in (extra or {}).items():
            lines.append(f"{name}: {value}")
        lines += [
            "content-type: text/plain; charset=utf-8",
            "connection: close",
            f"content-length: {len(body)}",
        ]
        return serialize_response(lines, "latin-1") + body

    def _write_close(self, data: bytes) -> None:
        transport = self.transport
        if not transport.is_closing():
            transport.write(data)
            transport.close()

    # -- the app ---------------------------------------------------------------

    async def run_asgi(self) -> None:
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except asyncio.CancelledError:
            self._app_done()
            raise
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
        else:
            if self._state is _CONNECTING:
                self.logger.error(
                    "ASGI callable returned without completing handshake."
                )
            elif result is not None:
                self.logger.error(
                    "ASGI callable should return None, but returned '%s'.", result
                )
        self._app_done()

    def _app_done(self) -> None:
        state = self._state
        if state is _CONNECTING:
            self._state = _DONE
            self._write_close(_ERROR_500)
        elif state is _DENYING:
            # The app stopped inside its response: what was announced goes
            # out as it stands.
            self._state = _DONE
            if not self._denial_sent:
                self._write_denial_head(b"", final=True)
            self.transport.close()
        elif state is _OPEN:
            conn = self._conn
            if conn is not None and not conn.closed and conn.proto.state is OPEN:
                # Returned without websocket.close: close TCP after what was
                # sent, as uvicorn's implementations do (the peer sees 1006).
                # A closing handshake under way finishes on its own, bounded
                # by the close timer.
                self.transport.close()

    def _prefix(self) -> str:
        client = self.client
        return f"{client[0]}:{client[1]} - " if client else ""

    def _log_status(self, what: Any) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        scope = self.scope
        client = scope.get("client")
        where = f"{client[0]}:{client[1]}" if client else ""
        path = quote(scope.get("path", ""))
        query = scope.get("query_string", b"")
        if query:
            path = f"{path}?{query.decode('ascii', 'replace')}"
        self.logger.info('%s - "WebSocket %s" %s', where, path, what)

    # -- receive ---------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        """The ASGI ``receive`` callable."""
        queue = self._queue
        if queue:
            message = queue.popleft()
            if not queue and self._input_paused and self._state is _OPEN:
                self._resume_input()
            return message
        if self._waiter is not None and not self._waiter.done():
            raise RuntimeError("receive() is already being awaited")
        waiter = self._waiter = self.loop.create_future()
        try:
            return await waiter  # type: ignore[no-any-return]
        finally:
            if self._waiter is waiter:
                self._waiter = None

    def _put(self, message: dict[str, Any]) -> bool:
        """Hand ``message`` to a waiting receive(), else queue it; return
        whether it was queued."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._waiter = None
            waiter.set_result(message)
            return False
        self._queue.append(message)
        return True

    def _disconnect(self, code: int, reason: str | None = None) -> None:
        if self._disconnect_queued:
            return
        self._disconnect_queued = True
        message: dict[str, Any] = {"type": "websocket.disconnect", "code": code}
        if reason is not None:
            message["reason"] = reason
        self._put(message)

    def _pause_input(self) -> None:
        if not self._input_paused:
            self._input_paused = True
            self.transport.pause_reading()

    def _resume_input(self) -> None:
        if self._input_paused:
            self._input_paused = False
            if not self.transport.is_closing():
                self.transport.resume_reading()
        if self._held:
            self._held = False
            conn = self._conn
            if conn is not None and not conn.closed:
                conn.receiving = True
                try:
                    conn.proto.receiver.resume()
                finally:
                    conn.receiving = False
                conn.flush()

    # -- the core's events -----------------------------------------------------

    def _on_message(self, data: Any, is_binary: bool) -> None:
        if self.close_sent:
            return  # past websocket.close: read on, for the peer's close
        if is_binary:
            queued = self._put({"type": "websocket.receive", "bytes": data})
        else:
            queued = self._put(
                {"type": "websocket.receive", "text": bytes(data).decode()}
            )
        if queued:
            # The app is behind: stop reading until it caught up, and stop
            # parsing what was read at ws_max_queue messages.
            self._pause_input()
            if len(self._queue) >= self.max_queue and not self._held:
                self._held = True
                assert self._proto is not None
                self._proto.receiver.hold()

    def _on_ping(self, data: bytes) -> None:
        pass  # the core answers

    def _on_pong(self, data: bytes) -> None:
        if self._ping_payload is None or data != self._ping_payload:
            return
        self._ping_payload = None
        self.last_ping_rtt = self.loop.time() - self.ping_sent_at
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None
            self._schedule_ping()

    def _on_close_frame(self, code: int, reason: bytes) -> None:
        # Section 5.5.1: the core queued the echo (when we had not closed).
        self._stop_keepalive()
        self._disconnect(code, reason.decode("utf-8", "replace"))

    def _on_error(self, exc: ProtocolError) -> None:
        # Section 7.1.7: the core stopped reading and queued the close frame.
        self._stop_keepalive()
        if self.logger.isEnabledFor(TRACE):
            self.logger.log(TRACE, "%sWebSocket failed: %s", self._prefix(), exc)
        self.close_sent = True
        self._disconnect(exc.status_code or 1006, "")

    # -- send ------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        """The ASGI ``send`` callable."""
        kind = message["type"]
        if self._state is _OPEN:
            conn = self._conn
            assert conn is not None
            if conn.write_paused and not conn.closed:
                await self._writable(conn)
            if self.disconnected or conn.closed:
                raise ClientDisconnected()
            if self.close_sent:
                raise RuntimeError(
                    f"Unexpected ASGI message '{kind}', "
                    "after sending 'websocket.close'."
                )
            proto = conn.proto
            if proto.state is not OPEN:
                raise ClientDisconnected()  # the peer closed
            if kind == "websocket.send":
                data = message.get("bytes")
                if data is not None:
                    proto.send(data, True)
                else:
                    text = message.get("text")
                    if text is None:
                        raise RuntimeError(
                            "websocket.send needs 'bytes' or 'text', got neither"
                        )
                    data = text.encode()
                    proto.send(data, False)
                if not conn.receiving:
                    # Sends of one loop turn go out in one write (an app
                    # answering a burst of messages sends without
                    # suspending); past _FLUSH_AT bytes, at once, so that
                    # what waits here stays bounded and write flow control
                    # sees it.
                    self._unflushed += len(data)
                    if self._unflushed >= _FLUSH_AT:
                        self._flush()
                    elif not self._flush_due:
                        self._flush_due = True
                        self.loop.call_soon(self._flush)
                return
            if kind == "websocket.close":
                self._app_close(conn, message)
                return
            raise RuntimeError(
                "Expected ASGI message 'websocket.send' or 'websocket.close', "
                f"but got '{kind}'."
            )
        if self.disconnected:
            raise ClientDisconnected()
        state = self._state
        if state is _CONNECTING:
            if kind == "websocket.accept":
                self._accept(message)
            elif kind == "websocket.close":
                self._state = _DONE
                self._disconnect(1006)
                self._log_status(403)
                self._write_close(self._plain_response(403, b""))
            elif kind == "websocket.http.response.start":
                self._start_denial(message)
            else:
                raise RuntimeError(
                    "Expected ASGI message 'websocket.accept', 'websocket.close' "
                    f"or 'websocket.http.response.start' but got '{kind}'."
                )
        elif state is _DENYING:
            if kind != "websocket.http.response.body":
                raise RuntimeError(
                    "Expected ASGI message 'websocket.http.response.body' "
                    f"but got '{kind}'."
                )
            self._denial_body(message)
        else:
            raise RuntimeError(f"Unexpected ASGI message '{kind}' in this state.")

    def _flush(self) -> None:
        self._flush_due = False
        self._unflushed = 0
        conn = self._conn
        if conn is not None and not conn.closed:
            conn.flush()

    async def _writable(self, conn: Connection) -> None:
        fut: asyncio.Future[BaseException | None] = self.loop.create_future()

        def done(err: BaseException | None) -> None:
            if not fut.done():
                fut.set_result(err)

        conn.add_callback(done)
        err = await fut
        if err is not None:
            raise ClientDisconnected(str(err)) from err

    def _app_close(self, conn: Connection, message: dict[str, Any]) -> None:
        code: int = message.get("code") or 1000
        reason = message.get("reason") or ""
        if not is_valid_status_code(code):
            raise ValueError(f"Invalid close code {code!r}")
        reason_bytes = reason.encode()
        if len(reason_bytes) > MAX_CLOSE_REASON:
            raise ValueError("The close reason must not be greater than 123 bytes")
        self.close_sent = True
        self._stop_keepalive()
        self._disconnect(code, reason)
        conn.proto.close(code, reason_bytes)
        # Read on: the peer's close frame must be seen (section 7.1.1).
        self._resume_input()
        if not conn.receiving:
            conn.flush()

    def _accept(self, message: dict[str, Any]) -> None:
        transport = self.transport
        if transport.is_closing():
            raise ClientDisconnected()
        deflate = self._deflate
        ext_header = None
        if deflate is not None:
            ext_header = response_header(deflate)
        subprotocol = message.get("subprotocol")
        if subprotocol is not None and (
            not isinstance(subprotocol, str)
            or not _TOKEN_RE.fullmatch(subprotocol.encode("latin-1", "replace"))
        ):
            raise RuntimeError(f"Invalid subprotocol {subprotocol!r}")
        lines = response_lines(self._key, subprotocol or None, ext_header)
        lines += _header_lines(self.default_headers, "the server's default headers")
        lines += _header_lines(message.get("headers") or (), "websocket.accept")
        self._log_status("[accepted]")
        transport.write(serialize_response(lines, "latin-1"))
        self._state = _OPEN
        proto = Protocol(
            is_server=True,
            handler=_Handler(self),  # type: ignore[arg-type]
            max_payload=self.max_size or 0,
            close_timeout_ms=int(self.close_timeout * 1000),
            extension=deflate,
        )
        self._proto = proto
        if not hasattr(transport, "set_protocol"):
            transport = _MinimalTransport(transport)
        conn = self._conn = Connection(self, proto, transport, self.loop)
        early = bytes(self._early)
        self._early.clear()
        if early:
            conn.data_received(early)
        if not self._queue:
            self._resume_input()
        self._start_keepalive()

    # -- Denial Response -------------------------------------------------------

    def _start_denial(self, message: dict[str, Any]) -> None:
        status = message["status"]
        if not isinstance(status, int) or not 100 <= status < 600:
            raise RuntimeError(f"Invalid HTTP status code '{status}' in response.")
        lines = _header_lines(message.get("headers") or (), "the response")
        self._log_status(status)
        self._denial = (status, lines)
        self._state = _DENYING

    def _write_denial_head(self, body: bytes, *, final: bool) -> None:
        assert self._denial is not None
        status, app_lines = self._denial
        names = {line.split(":", 1)[0].lower() for line in app_lines}
        lines = [f"HTTP/1.1 {status} {status_text(status)}"]
        for line in _header_lines(self.default_headers, "default headers"):
            if line.split(":", 1)[0].lower() not in names:
                lines.append(line)
        lines += app_lines
        if "connection" not in names:
            lines.append("connection: close")
        if "content-type" not in names:
            lines.append("content-type: text/plain; charset=utf-8")
        if "content-length" not in names and "transfer-encoding" not in names:
            if final:
                lines.append(f"content-length: {len(body)}")
            else:
                lines.append("transfer-encoding: chunked")
                self._chunked = True
        self._denial_sent = True
        head = serialize_response(lines, "latin-1")
        self.transport.write(head + self._chunk(body, final))

    def _chunk(self, body: bytes, final: bool) -> bytes:
        if not self._chunked:
            return body
        out = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
        return out + (b"0\r\n\r\n" if final else b"")

    def _denial_body(self, message: dict[str, Any]) -> None:
        body = bytes(message.get("body", b""))
        final = not message.get("more_body", False)
        if not self._denial_sent:
            self._write_denial_head(body, final=final)
        elif body or final:
            self.transport.write(self._chunk(body, final))
        if final:
            self._state = _DONE
            self._disconnect(1006)
            self.transport.close()

    # -- keepalive -------------------------------------------------------------

    def _start_keepalive(self) -> None:
        if self.ping_interval is not None and self.ping_interval > 0:
            self._schedule_ping()

    def _stop_keepalive(self) -> None:
        if self.ping_timer is not None:
            self.ping_timer.cancel()
            self.ping_timer = None
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None
        self._ping_payload = None

    def _schedule_ping(self) -> None:
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self.ping_timer = self.loop.call_later(delay, self._send_ping)

    def _send_ping(self) -> None:
        self.ping_timer = None
        conn = self._conn
        if conn is None or conn.closed or conn.proto.state is not OPEN:
            return
        self._ping_payload = payload = os.urandom(4)
        self.ping_sent_at = self.loop.time()
        conn.proto.ping(payload)
        conn.flush()
        if self.ping_timeout is not None:
            self.pong_timer = self.loop.call_later(
                self.ping_timeout, self._on_ping_timeout
            )
        else:
            self._schedule_ping()

    def _on_ping_timeout(self) -> None:
        self.pong_timer = None
        self._ping_payload = None
        conn = self._conn
        if conn is None or conn.closed or conn.proto.state is not OPEN:
            return
        if self.logger.isEnabledFor(TRACE):
            self.logger.log(TRACE, "%sWebSocket keepalive ping timeout", self._prefix())
        # Fail the connection (section 7.1.7) with 1011 and a reason: the
        # close frame, then the server's half-close.
        proto = conn.proto
        proto.close(1011, b"keepalive ping timeout")
        proto.fail(_KeepalivePingTimeout())
        conn.flush()
