"""``WebSocket``: ws's client and server-side connection class.

The facade: ws's names, arguments, events, defaults and units, on a
Node-style :class:`~pyws._emitter.NodeEventEmitter`. The protocol work is
done by :mod:`pyws.protocol` (sans-I/O) and :mod:`pyws._transport`
(asyncio); this module translates between them and the ws API:

- state changes happen first, then events are emitted (a listener always
  sees the state the event describes);
- events pyws emits on its own (from socket callbacks and timers) go
  through :meth:`WebSocket._dispatch`, which hands a listener's exception to
  the loop's exception handler instead of letting it escape into the
  transport: a user's bug never leaves a connection half-closed;
- ``'error'`` is emitted at most once for protocol errors, always before
  ``'close'``; ``'close'`` exactly once, after the socket closed.

The seam: the lower layers never touch a WebSocket's attributes. Each
WebSocket has one :class:`_Seam` object, which is at once the core's
:class:`~pyws.protocol.Handler`, the :class:`~pyws._transport.Connection`'s
:class:`~pyws._transport.ConnectionOwner` and, for a client, the
:class:`~pyws._client.ClientHandshake`'s :class:`~pyws._client.ClientOwner`.
Sibling facade modules use the functions :func:`attach` (a server-side
WebSocket becomes OPEN on an upgraded transport), :func:`loop_of`,
:func:`when_flushed`, and for the server's broadcast :func:`send_frame`
(or :func:`queue_frame` then :func:`flush`), :func:`deflate_of` and
:func:`in_message`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from types import CoroutineType, MappingProxyType
from typing import Any, ClassVar, NamedTuple

from typing_extensions import Unpack

from . import _runtime
from ._callbacks import fit
from ._client import ClientHandshake, ClientRequest, start_client
from ._emitter import report_exception
from ._options import CLIENT_OPTIONS, call_options, parse_options
from ._transport import Connection, SendCallback
from ._ws_events import WebSocketEvents
from .buffer_util import Buffer
from .constants import (
    BINARY_TYPES,
    EMPTY_BUFFER,
    HIGH_WATER_MARK,
    MAX_CLOSE_REASON,
    ReadyState,
)
from .errors import (
    ConnectionClosedOK,
    HandshakeError,
    NotOpenError,
    ProtocolError,
    RangeError,
)
from .event_target import attribute_handler_property
from .handshake import Response
from .inbox import Inbox, Message
from .log import DEBUG, INFO, WARNING, ConnectionLog, frames_enabled
from .permessage_deflate import PerMessageDeflate
from .protocol import Protocol
from .typing import ClientOptions, Data, SendOptions
from .typing import SendCallback as UserSendCallback
from .validation import is_valid_status_code

__all__ = [
    "WebSocket",
    "attach",
    "close_reason",
    "loop_of",
    "when_flushed",
    "send_frame",
    "queue_frame",
    "queue_shared",
    "QUEUED",
    "QUEUED_MORE",
    "NOT_OPEN",
    "SLOW",
    "FRAGMENTED",
    "flush",
    "deflate_of",
    "in_message",
]

CONNECTING = ReadyState.CONNECTING
OPEN = ReadyState.OPEN
CLOSING = ReadyState.CLOSING
CLOSED = ReadyState.CLOSED

_STATE_NAMES = ("CONNECTING", "OPEN", "CLOSING", "CLOSED")


def to_bytes(data: Any, what: str = "data") -> tuple[Buffer, bool]:
    """Convert ``send`` data as ws's ``toBuffer`` does; return (data, is_text).

    str is UTF-8 text; bytes-like objects are binary (a memoryview of any
    item size is sent as its bytes); ``None`` is an empty message; a number
    becomes its string, as in ws.
    """
    if isinstance(data, str):
        return data.encode(), True
    if isinstance(data, bytes):
        return data, False
    if isinstance(data, bytearray):
        return bytes(data), False
    if isinstance(data, memoryview):
        return data.cast("B") if data.format != "B" or data.ndim != 1 else data, False
    if data is None:
        return b"", False
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return str(data).encode(), True
    try:
        return memoryview(data).cast("B"), False
    except TypeError:
        raise TypeError(
            f"The {what} argument must be str, bytes-like or None, "
            f"not {type(data).__name__}"
        ) from None


class _Seam:
    """The one object through which the lower layers talk to a WebSocket.

    - the core's :class:`~pyws.protocol.Handler`: ``on_message`` and the
      other event methods are the WebSocket's own bound methods, so the
      per-message path costs no extra call;
    - the :class:`~pyws._transport.Connection`'s owner
      (:meth:`connection_closed`);
    - a client handshake's owner (:class:`~pyws._client.ClientOwner`).
    """

    __slots__ = (
        "ws",
        "on_message",
        "on_ping",
        "on_pong",
        "on_close_frame",
        "on_error",
    )

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.on_message = ws._on_message
        self.on_ping = ws._on_ping
        self.on_pong = ws._on_pong
        self.on_close_frame = ws._on_close_frame
        self.on_error = ws._on_protocol_error

    # -- ConnectionOwner ---------------------------------------------------

    def connection_closed(self) -> None:
        self.ws._on_connection_closed()

    def connection_closing(self) -> None:
        # The heartbeat's verdict: no answer within pingTimeout.
        ws = self.ws
        ws._log.log(
            WARNING,
            "no answer to a ping within pingTimeout (%s ms): terminated",
            ws._options.get("pingTimeout") or ws._options.get("pingInterval"),
        )
        if ws._proto is not None and ws._ready_state is OPEN:
            ws._ready_state = ws._proto.state

    def connection_drained(self) -> None:
        self.ws._on_drain()

    # -- ClientOwner -------------------------------------------------------

    @property
    def websocket(self) -> WebSocket:
        return self.ws

    def listener_count(self, event: str) -> int:
        return self.ws.listener_count(event)

    def handshake_upgrade(self, res: Response) -> bool:
        ws = self.ws
        ws._dispatch("upgrade", res)
        return ws._ready_state is CONNECTING

    def handshake_unexpected_response(self, req: ClientRequest, res: Response) -> None:
        self.ws._dispatch("unexpected-response", req, res)

    def handshake_redirect(self, url: str, nxt: ClientHandshake) -> bool:
        ws = self.ws
        ws._url = url
        ws._handshake = nxt
        ws._dispatch("redirect", url, nxt.request)
        return ws._ready_state is CONNECTING

    def handshake_opened(
        self,
        transport: asyncio.Transport,
        loop: asyncio.AbstractEventLoop,
        head: bytes,
        protocol: str,
        extension: PerMessageDeflate | None,
        extensions_header: str,
    ) -> None:
        ws = self.ws
        ws._handshake = None
        ws._open(
            transport,
            loop,
            is_server=False,
            head=head,
            protocol=protocol,
            extension=extension,
            extensions_header=extensions_header,
        )

    def handshake_failed(self, err: BaseException) -> None:
        self.ws._fail_handshake(err)

    def handshake_dropped(self) -> None:
        ws = self.ws
        ws._ready_state = CLOSING
        ws._get_loop().call_soon(ws._emit_close)

    def handshake_idle(self) -> None:
        # Still CONNECTING, but nothing is open: pyws.run() may return, as
        # a Node process would exit.
        _runtime.release(self.ws)


class WebSocket(WebSocketEvents):
    """A WebSocket connection: ``WebSocket(address, protocols, options)``.

    As a client, pass the URL (``ws://``, ``wss://``, ``http://``,
    ``https://`` or ``ws+unix:``), optional subprotocols and options (a dict
    with ws's names, and/or keyword arguments in either spelling). The
    connection starts on the running asyncio loop, or on pyws's default loop
    run by :func:`pyws.run`.

    Server-side instances are made by :class:`~pyws.WebSocketServer`.

    Events: ``'open'``, ``'message'(data, isBinary)``, ``'ping'(data)``,
    ``'pong'(data)``, ``'close'(code, reason)``, ``'error'(err)``,
    ``'upgrade'(res)``, ``'unexpected-response'(req, res)``,
    ``'redirect'(url, req)``, and the pyws extra ``'drain'`` (see
    :meth:`send`).
    """

    CONNECTING = CONNECTING
    OPEN = OPEN
    CLOSING = CLOSING
    CLOSED = CLOSED

    # 'message' listeners taking (data, isBinary) run without an adapter.
    _event_args: ClassVar[dict[str, int]] = {"message": 2}

    # WHATWG attribute handlers (ws's EventTarget): get the handler or None;
    # assigning replaces the previous one.
    onopen = attribute_handler_property("open")
    onmessage = attribute_handler_property("message")
    onclose = attribute_handler_property("close")
    onerror = attribute_handler_property("error")

    def __init__(
        self,
        address: str | None,
        protocols: str | Sequence[str] | ClientOptions | None = None,
        options: ClientOptions | None = None,
        **kwargs: Unpack[ClientOptions],
    ) -> None:
        super().__init__()
        self._ready_state = CONNECTING
        self._binary_type = "nodebuffer"
        self._protocol = ""
        self._extensions = ""
        self._url: str | None = None
        self._is_server = address is None
        self._conn: Connection | None = None
        self._proto: Protocol | None = None
        self._seam = _Seam(self)
        self._after_close_amount = 0
        self._error_emitted = False
        self._close_emitted = False
        self._close_code = 1006
        self._close_reason = EMPTY_BUFFER
        self._was_clean = False
        self._paused = False
        # Made on the first drain() that has to wait (saves a list per idle
        # connection).
        self._drain_waiters: list[asyncio.Future[None]] | None = None
        self._held = False  # reading held by the Inbox (backpressure)
        self._inbox: Inbox | None = None
        self._handshake: ClientHandshake | None = None  # client, in progress
        self._loop: asyncio.AbstractEventLoop | None = None
        if isinstance(protocols, Mapping) and options is None:
            protocols, options = None, protocols
        if address is None:
            # Server side: WebSocketServer attaches the socket (ws
            # ``new WebSocket(null, undefined, options)``). A server passes
            # one read-only mapping that all its connections share.
            self._options: Mapping[str, Any] = (
                options
                if isinstance(options, MappingProxyType)
                else dict(options or {})
            )
            self._log = ConnectionLog("server")
            return
        self._options = parse_options(CLIENT_OPTIONS, options, kwargs, "WebSocket")
        loop = self._get_loop()
        handshake = start_client(self._seam, self._options, address, protocols, loop)
        self._handshake = handshake
        self._url = handshake.target.href
        target = handshake.target
        self._log = ConnectionLog("client", (target.host, target.port or ""))
        self._log.log(DEBUG, "connecting to %r", self._url)
        _runtime.retain(self, loop)

    # -- properties ------------------------------------------------------------

    @property
    def readyState(self) -> ReadyState:  # noqa: N802
        """0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED."""
        return self._ready_state

    ready_state = readyState

    @property
    def binaryType(self) -> str:  # noqa: N802
        """``'nodebuffer'`` (bytes, the default), ``'arraybuffer'`` (bytes)
        or ``'fragments'`` (a list of bytes). Other values are ignored, as in
        ws."""
        return self._binary_type

    @binaryType.setter
    def binaryType(self, value: str) -> None:  # noqa: N802
        if value in BINARY_TYPES:
            self._binary_type = value
            if self._proto is not None:
                self._proto.receiver.binary_type = value

    binary_type = binaryType

    @property
    def bufferedAmount(self) -> int:  # noqa: N802
        """Bytes accepted by send() and not yet handed to the kernel."""
        n = self._after_close_amount
        if self._conn is not None:
            n += self._conn.buffered_amount()
        return n

    buffered_amount = bufferedAmount

    @property
    def protocol(self) -> str:
        """The subprotocol the server selected, or ``''``."""
        return self._protocol

    @property
    def extensions(self) -> str:
        """The agreed extensions as a string (``'permessage-deflate'`` or
        ``''``), as ws's code returns it."""
        return self._extensions

    @property
    def url(self) -> str | None:
        """The URL (client); ``None`` for server-side connections."""
        return self._url

    @property
    def was_clean(self) -> bool:
        """Whether a close frame was both sent and received (the
        ``wasClean`` of the WHATWG ``CloseEvent``); a pyws extra."""
        return self._was_clean

    @property
    def isPaused(self) -> bool:  # noqa: N802
        """Whether reading is paused by :meth:`pause`."""
        return self._paused

    is_paused = isPaused

    @property
    def closeTimeout(self) -> int:  # noqa: N802
        """The ``closeTimeout`` option, in milliseconds."""
        return int(self._options.get("closeTimeout", 30000))

    @property
    def latency(self) -> float | None:
        """The last round-trip time the heartbeat measured, in ms (from
        queuing a ping to reading its pong, so a busy loop adds to it);
        ``None`` without ``pingInterval`` or before the first answer. A pyws
        extra."""
        conn = self._conn
        if conn is None or conn.heartbeat is None:
            return None
        return conn.heartbeat.latency_ms

    @property
    def highWaterMark(self) -> int:  # noqa: N802
        """The ``highWaterMark`` option in bytes (a pyws extra)."""
        return int(self._options.get("highWaterMark", HIGH_WATER_MARK))

    high_water_mark = highWaterMark

    # -- sending ---------------------------------------------------------------

    def send(
        self,
        data: Data = None,
        options: SendOptions | bool | UserSendCallback | None = None,
        cb: UserSendCallback | None = None,
        **kwargs: Unpack[SendOptions],
    ) -> bool:
        """Send a message: ``send(data[, options][, cb])`` as in ws.

        ``str`` goes out as text, bytes-like as binary (unless ``binary`` says
        otherwise). Options: ``binary``, ``compress``, ``fin``, ``mask``
        (dict or keywords). ``cb(err)`` runs once the data was handed over.

        Returns (a pyws extra: ws returns ``undefined``) ``True`` while
        ``bufferedAmount`` is under ``highWaterMark``, ``False`` once it
        reached it (the message is queued all the same, as with Node's
        ``writable.write()``); ``'drain'`` follows when it fell back to a
        quarter of the mark (``await ws.drain()`` waits for that). Also
        ``False`` when the connection is not OPEN (nothing was queued).
        Messages sent by listeners while pyws dispatches one read are
        counted when that read is done.
        """
        # The echo hot path: keep this short (no copies, few calls).
        options_: Any = options  # the checks below narrow it by hand
        if options_ is not None and type(options_) is not dict:
            if callable(options_) and cb is None:
                options_, cb = None, options_
            elif isinstance(options_, bool):
                # ws.on('message', ws.send) passes isBinary here; ws spreads
                # it into its options object, where it adds nothing.
                options_ = None
            elif not isinstance(options_, Mapping):
                raise TypeError(
                    f"send() options must be a dict, not {type(options_).__name__}"
                )
        state = self._ready_state
        if state is CONNECTING:
            raise NotOpenError("WebSocket is not open: readyState 0 (CONNECTING)")
        # send(data, {binary: isBinary}), the usual echo, takes a short way.
        binary_only = False
        if kwargs:
            options_ = _send_options(options_, kwargs)
        elif options_:
            if len(options_) == 1 and "binary" in options_:
                binary_only = True
            elif not options_.keys() <= _SEND_OPTIONS:
                options_ = _send_options(options_, kwargs)
        t = type(data)
        if t is bytes:
            payload: Buffer = data  # type: ignore[assignment]
            is_text = False
        elif t is str:
            payload = data.encode()  # type: ignore[union-attr]
            is_text = True
        else:
            payload, is_text = to_bytes(data)
        if state is not OPEN:
            self._send_after_close(payload, cb)
            return False
        conn = self._conn
        proto = self._proto
        assert conn is not None and proto is not None
        if binary_only:
            binary = options_["binary"]
            proto.send(payload, not is_text if binary is None else bool(binary))
        elif options_:
            # ws: {binary: typeof data !== 'string', fin: true, compress: true,
            # mask: !isServer, ...options}, each read for its truthiness.
            binary = options_.get("binary")
            mask = options_.get("mask")
            proto.send(
                payload,
                not is_text if binary is None else bool(binary),
                bool(options_.get("fin", True)),
                bool(options_.get("compress", True)),
                None if mask is None else bool(mask),
            )
        else:
            proto.send(payload, not is_text)
        if cb is not None:
            conn.add_callback(fit(cb, 1))
        if not conn.receiving:
            conn.flush()
        return not conn.over_mark

    def ping(
        self,
        data: Data | UserSendCallback = None,
        mask: bool | UserSendCallback | None = None,
        cb: UserSendCallback | None = None,
    ) -> None:
        """Send a ping: ``ping([data[, mask]][, cb])``."""
        self._control("ping", data, mask, cb)

    def pong(
        self,
        data: Data | UserSendCallback = None,
        mask: bool | UserSendCallback | None = None,
        cb: UserSendCallback | None = None,
    ) -> None:
        """Send a pong: ``pong([data[, mask]][, cb])``."""
        self._control("pong", data, mask, cb)

    def _control(self, kind: str, data: Any, mask: Any, cb: Any) -> None:
        if callable(data) and mask is None and cb is None:
            data, cb = None, data
        elif callable(mask) and cb is None:
            mask, cb = None, mask
        state = self._ready_state
        if state is CONNECTING:
            raise NotOpenError("WebSocket is not open: readyState 0 (CONNECTING)")
        payload, _ = to_bytes(data)
        if state is not OPEN:
            self._send_after_close(payload, cb)
            return
        if len(payload) > 125:
            raise RangeError("The data size must not be greater than 125 bytes")
        conn = self._conn
        proto = self._proto
        assert conn is not None and proto is not None
        m = None if mask is None else bool(mask)
        if kind == "ping":
            proto.ping(payload, m)
        else:
            proto.pong(payload, m)
        if cb is not None:
            conn.add_callback(fit(cb, 1))
        if not conn.receiving:
            conn.flush()

    def _send_after_close(self, payload: Buffer, cb: Any) -> None:
        # ws sendAfterClose: counted in bufferedAmount, cb gets an error on
        # the next tick, nothing is thrown or emitted.
        self._after_close_amount += len(payload)
        if cb is not None:
            state = self._ready_state
            name = _STATE_NAMES[state]
            err = NotOpenError(
                f"WebSocket is not open: readyState {int(state)} ({name})"
            )
            self._get_loop().call_soon(fit(cb, 1), err)

    # -- closing ---------------------------------------------------------------

    def close(
        self, code: int | None = None, reason: str | bytes | bytearray | None = None
    ) -> None:
        """Start the closing handshake: ``close([code[, reason]])``.

        Raises ``TypeError`` for an invalid code or reason type and
        ``RangeError`` for a reason over 123 bytes, as ws does (readyState
        stays OPEN). In CONNECTING it aborts the handshake.
        """
        state = self._ready_state
        if state is CLOSED:
            return
        if state is CONNECTING:
            self._abort_handshake(
                "WebSocket was closed before the connection was established"
            )
            return
        reason_bytes = b"" if code is None else close_reason(code, reason)
        proto = self._proto
        conn = self._conn
        if proto is None or conn is None:
            return
        if state is OPEN:
            proto.close(None if code is None else int(code), reason_bytes)
            self._ready_state = proto.state
        if not conn.receiving:
            conn.flush()

    def terminate(self) -> None:
        """Destroy the connection at once; no close frame (ws ``terminate``)."""
        state = self._ready_state
        if state is CLOSED:
            return
        if state is CONNECTING:
            self._abort_handshake(
                "WebSocket was closed before the connection was established"
            )
            return
        self._ready_state = CLOSING
        if self._proto is not None:
            self._proto.terminate()
        if self._conn is not None:
            self._conn.abort()

    def pause(self) -> None:
        """Stop reading from the socket (no-op in CONNECTING and CLOSED)."""
        if self._ready_state in (CONNECTING, CLOSED):
            return
        self._paused = True
        if self._conn is not None:
            self._conn.pause_reading()

    def resume(self) -> None:
        """Restart reading from the socket (no-op in CONNECTING and CLOSED)."""
        if self._ready_state in (CONNECTING, CLOSED):
            return
        self._paused = False
        if self._conn is not None and not self._held:
            self._conn.resume_reading()

    def _on_stop_signal(self) -> None:
        """SIGTERM / SIGINT in :func:`pyws.run`: close with 1001 (a server's
        own connections are closed by its shutdown, first)."""
        state = self._ready_state
        if state is CONNECTING:
            self.terminate()
        elif state is OPEN:
            self.close(1001)

    def _hold_reading(self, held: bool) -> None:
        # The Inbox's backpressure, apart from the user's pause()/resume().
        self._held = held
        conn = self._conn
        if conn is None:
            return
        if held:
            conn.pause_reading()
        elif not self._paused:
            conn.resume_reading()

    # -- async helpers (Python extras) ----------------------------------------

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until ``bufferedAmount`` is back under ``highWaterMark``
        (after :meth:`send` returned ``False``); return at once when it is
        under. Raises :class:`~pyws.NotOpenError` if the connection closes
        first (or is closed), ``asyncio.TimeoutError`` after ``timeout``
        seconds."""
        conn = self._conn
        if self._ready_state is CONNECTING or conn is None:
            raise NotOpenError("WebSocket is not open: readyState 0 (CONNECTING)")
        if conn.closed or self._ready_state is CLOSED:
            raise NotOpenError("WebSocket is not open: readyState 3 (CLOSED)")
        if not conn.over_mark:
            return
        fut: asyncio.Future[None] = self._get_loop().create_future()
        if self._drain_waiters is None:
            self._drain_waiters = []
        self._drain_waiters.append(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        finally:
            if self._drain_waiters and fut in self._drain_waiters:
                self._drain_waiters.remove(fut)

    def _settle_drain_waiters(self, exc: BaseException | None = None) -> None:
        """Resolve every ``drain()`` waiting (or fail them with ``exc``)."""
        waiters = self._drain_waiters
        if waiters:
            self._drain_waiters = None
            for fut in waiters:
                if not fut.done():
                    if exc is None:
                        fut.set_result(None)
                    else:
                        fut.set_exception(exc)

    def _on_drain(self) -> None:
        self._settle_drain_waiters()
        if "drain" in self._events:
            self._dispatch("drain")

    async def wait_open(self, timeout: float | None = None) -> None:
        """Wait for ``'open'`` (raises the handshake error if it failed)."""
        if self._ready_state is OPEN:
            return
        if self._ready_state is not CONNECTING:
            raise NotOpenError(
                f"WebSocket is not open: readyState {int(self._ready_state)} "
                f"({_STATE_NAMES[self._ready_state]})"
            )
        loop = self._get_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def on_open() -> None:
            if not fut.done():
                fut.set_result(None)

        def on_error(err: BaseException) -> None:
            if not fut.done():
                fut.set_exception(err)

        def on_close(code: int, reason: bytes) -> None:
            if not fut.done():
                fut.set_exception(NotOpenError(f"WebSocket closed ({code})"))

        self.once("open", on_open)
        self.once("error", on_error)
        self.once("close", on_close)
        try:
            await asyncio.wait_for(fut, timeout)
        finally:
            self.remove_listener("open", on_open)
            self.remove_listener("error", on_error)
            self.remove_listener("close", on_close)

    # -- async iteration and context manager (Python extras) --------------------

    def _get_inbox(self) -> Inbox:
        inbox = self._inbox
        if inbox is None:
            max_queue = int(self._options.get("maxQueue", 16))
            inbox = self._inbox = Inbox(
                self, self._get_loop(), max_queue, self._hold_reading
            )
        return inbox

    async def recv(self, timeout: float | None = None) -> Message:
        """Wait for the next message: ``str`` for text, ``bytes`` for binary.

        The first call starts queueing messages for ``recv()`` (see
        :mod:`pyws.inbox`); call it, or enter ``async with``, before the
        connection opens to see every message. ``timeout`` is in seconds,
        as in asyncio (``asyncio.TimeoutError``; the message stays queued).
        Raises :class:`~pyws.ConnectionClosedOK` after a normal close and
        :class:`~pyws.ConnectionClosedError` after any other, once every
        queued message was read.
        """
        return await self._get_inbox().get(timeout)

    def __aiter__(self) -> WebSocket:
        """``async for message in ws``: every message until a normal close
        (then the loop ends); raises :class:`~pyws.ConnectionClosedError`
        after an abnormal one."""
        self._get_inbox()
        return self

    async def __anext__(self) -> Message:
        try:
            return await self._get_inbox().get()
        except ConnectionClosedOK:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> WebSocket:
        """``async with WebSocket(url) as ws``: queue messages for
        ``recv()``/``async for`` from the start, wait for ``'open'`` (raises
        the handshake error)."""
        self._get_inbox()
        await self.wait_open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close with 1000 (unless closing already) and wait for
        ``'close'``; closeTimeout bounds the wait."""
        if self._ready_state is OPEN:
            self.close(1000)
        elif self._ready_state is CONNECTING:
            self.terminate()
        await self.wait_closed()

    async def wait_closed(self, timeout: float | None = None) -> tuple[int, bytes]:
        """Wait for ``'close'``; return ``(code, reason)``."""
        if self._close_emitted:
            return self._close_code, self._close_reason
        fut: asyncio.Future[tuple[int, bytes]] = self._get_loop().create_future()

        def on_close(code: int, reason: bytes) -> None:
            if not fut.done():
                fut.set_result((code, reason))

        self.once("close", on_close)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.remove_listener("close", on_close)

    # -- EventTarget-style attributes -------------------------------------------

    def addEventListener(  # noqa: N802
        self, type: str, listener: Any, options: Any = None
    ) -> None:
        """WHATWG ``addEventListener`` (``open``/``message``/``close``/``error``)."""
        from .event_target import add_event_listener

        add_event_listener(self, type, listener, options)

    def removeEventListener(  # noqa: N802
        self, type: str, listener: Any, options: Any = None
    ) -> None:
        """WHATWG ``removeEventListener``."""
        from .event_target import remove_event_listener

        remove_event_listener(self, type, listener)

    add_event_listener = addEventListener
    remove_event_listener = removeEventListener

    # -- internals: attach, events ---------------------------------------------

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = _runtime.get_loop()
        return self._loop

    def _open(
        self,
        transport: asyncio.Transport,
        loop: asyncio.AbstractEventLoop,
        *,
        is_server: bool,
        head: bytes,
        protocol: str,
        extension: PerMessageDeflate | None,
        extensions_header: str,
        before_head: Callable[[], None] | None = None,
    ) -> None:
        """Become OPEN on ``transport`` (ws ``setSocket``) and emit
        ``'open'``; then ``before_head()``, then feed ``head``."""
        opts = self._options
        self._loop = loop
        self._protocol = protocol or ""
        self._extensions = extensions_header
        log = self._log
        log.set_peer(transport.get_extra_info("peername"))
        # The frame trace is decided once, here: off, it costs nothing.
        trace = frames_enabled()
        handler: Any = log.frame_handler(self._seam) if trace else self._seam
        settings = _connection_settings(opts)
        proto = Protocol(
            is_server=is_server,
            handler=handler,
            binary_type=self._binary_type,
            extension=extension,
            **settings.protocol,
        )
        if trace:
            log.trace_output(proto)
        self._proto = proto
        conn = Connection(
            self._seam,
            proto,
            transport,
            loop,
            high_water_mark=settings.high_water_mark,
        )
        self._conn = conn
        if settings.ping_interval > 0:
            conn.start_heartbeat(settings.ping_interval, settings.ping_timeout)
        self._ready_state = OPEN
        log.log(INFO, "open")
        if protocol or extensions_header:
            log.log(
                DEBUG,
                "subprotocol %r, extensions %r",
                protocol or None,
                extensions_header or None,
            )
        self._dispatch("open")
        if before_head is not None:
            before_head()
        if head and not self._conn.closed:
            self._conn.data_received(head)

    def _on_message(self, data: Any, is_binary: bool) -> None:
        # emit('message', data, isBinary), inlined: this runs per message.
        table = self._events.get("message")
        if table:
            try:
                for f in tuple(table.values()):
                    result = f(data, is_binary)
                    if result is not None and type(result) is CoroutineType:
                        self._run_listener_task(result)
            except Exception as exc:  # noqa: BLE001 - a listener's bug
                report_exception("Exception in a pyws 'message' listener", exc, self)

    def _on_ping(self, data: bytes) -> None:
        if "ping" in self._events:
            self._dispatch("ping", data)

    def _on_pong(self, data: bytes) -> None:
        if "pong" in self._events:
            self._dispatch("pong", data)

    def _on_close_frame(self, code: int, reason: bytes) -> None:
        # The state moved to CLOSING and the echo is queued (section 5.5.1).
        proto = self._proto
        assert proto is not None
        self._ready_state = proto.state

    def _on_protocol_error(self, exc: ProtocolError) -> None:
        # Section 7.1.7: the core stopped input, queued the close frame and
        # moved to CLOSING before this runs.
        proto = self._proto
        assert proto is not None
        self._ready_state = proto.state
        self._log.log(
            WARNING,
            "failing the connection: %s (%s, close %s sent)",
            exc,
            exc.code,
            exc.status_code,
        )
        if not self._error_emitted:
            self._error_emitted = True
            self._dispatch("error", exc)

    def _on_connection_closed(self) -> None:
        if self._drain_waiters:
            self._settle_drain_waiters(
                NotOpenError("WebSocket was closed before the buffer drained")
            )
        proto = self._proto
        if proto is not None:
            self._close_code = proto.close_code
            self._close_reason = proto.close_reason
            self._was_clean = proto.close_frame_exchanged
        self._emit_close()

    def _emit_close(self) -> None:
        if self._close_emitted:
            return
        self._close_emitted = True
        self._ready_state = CLOSED
        log = self._log
        if log.enabled(INFO):
            log.log(
                INFO,
                "closed %s %r%s",
                self._close_code,
                bytes(self._close_reason).decode(errors="replace"),
                " (clean)" if self._was_clean else "",
            )
        self._dispatch("close", self._close_code, self._close_reason)
        _runtime.release(self)

    def _fail_handshake(self, err: BaseException) -> None:
        """Client handshake failed: ``'error'`` then ``'close'`` 1006."""
        if self._ready_state is CLOSED:
            return
        self._ready_state = CLOSING
        self._log.log(WARNING, "opening handshake failed: %s", err)
        if not self._error_emitted:
            self._error_emitted = True
            self._dispatch("error", err)
        self._emit_close()

    def _abort_handshake(self, message: str) -> None:
        handshake = self._handshake
        self._ready_state = CLOSING
        if handshake is not None:
            handshake.abort()
        err = HandshakeError(message)
        self._get_loop().call_soon(self._fail_handshake, err)

    def __repr__(self) -> str:
        state = _STATE_NAMES[self._ready_state]
        where = self._url or "server-side"
        return f"<{type(self).__name__} {where} {state}>"

    def __reduce__(self) -> Any:
        raise TypeError("a WebSocket is bound to a socket and cannot be pickled")

    def __copy__(self) -> Any:
        raise TypeError("a WebSocket is bound to a socket and cannot be copied")

    def __deepcopy__(self, memo: Any) -> Any:
        raise TypeError("a WebSocket is bound to a socket and cannot be copied")


class _Settings(NamedTuple):
    """A connection's settings read from its options (see
    :func:`_connection_settings`)."""

    protocol: dict[str, Any]  # Protocol's keyword arguments
    high_water_mark: int
    ping_interval: float
    ping_timeout: float


#: The options of the last server whose connections opened, with their
#: settings: a server's connections share one read-only mapping, so its
#: settings are read once, not per connection.
_last_settings: tuple[Mapping[str, Any], _Settings] | None = None


def _connection_settings(opts: Mapping[str, Any]) -> _Settings:
    """The Protocol and Connection settings of ``opts``, with ws's
    defaults (cached for a server's shared read-only options)."""
    global _last_settings
    last = _last_settings
    if last is not None and last[0] is opts:
        return last[1]
    interval = opts.get("pingInterval") or 0
    settings = _Settings(
        protocol={
            "max_payload": int(opts.get("maxPayload", 104857600)),
            "max_fragments": int(opts.get("maxFragments", 16384)),
            "max_buffered_chunks": int(opts.get("maxBufferedChunks", 262144)),
            "skip_utf8_validation": bool(opts.get("skipUTF8Validation", False)),
            "allow_synchronous_events": bool(opts.get("allowSynchronousEvents", True)),
            "auto_pong": bool(opts.get("autoPong", True)),
            "max_pending_auto_pongs": int(opts.get("maxPendingAutoPongs", 60)),
            "close_timeout_ms": opts.get("closeTimeout", 30000),
            "max_buffered_amount": int(opts.get("maxBufferedAmount", 0)),
            "incomplete_message_timeout_ms": opts.get("incompleteMessageTimeout", 0),
            "generate_mask": opts.get("generateMask"),
        },
        high_water_mark=int(opts.get("highWaterMark", HIGH_WATER_MARK)),
        ping_interval=interval,
        ping_timeout=(opts.get("pingTimeout") or interval) if interval > 0 else 0,
    )
    if isinstance(opts, MappingProxyType):  # read-only: safe to keep
        _last_settings = (opts, settings)
    return settings


_SEND_OPTIONS = frozenset(("binary", "compress", "fin", "mask"))


def _send_options(options: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Merge and check send()'s options (the slow path)."""
    return call_options("send", _SEND_OPTIONS, options, kwargs)


def close_reason(code: Any, reason: Any) -> bytes:
    """Check ``close(code, reason)``'s arguments as ws does; return the
    reason as bytes. ``TypeError`` for an invalid code or a reason that is
    neither text nor bytes, ``RangeError`` for a reason over 123 bytes."""
    if not is_valid_status_code(code):
        raise TypeError("First argument must be a valid error code number")
    if reason is None:
        return b""
    if isinstance(reason, str):
        reason_bytes = reason.encode()
    elif isinstance(reason, (bytes, bytearray, memoryview)):
        reason_bytes = bytes(reason)
    else:
        raise TypeError("Second argument must be a string or a Uint8Array")
    if len(reason_bytes) > MAX_CLOSE_REASON:
        raise RangeError("The message must not be greater than 123 bytes")
    return reason_bytes


# -- the seam for sibling facade modules ----------------------------------------


def attach(
    ws: WebSocket,
    transport: asyncio.Transport,
    loop: asyncio.AbstractEventLoop,
    *,
    head: bytes,
    protocol: str,
    extension: PerMessageDeflate | None,
    before_head: Callable[[], None] | None = None,
) -> None:
    """Make a server-side ``ws`` OPEN on an upgraded ``transport``.

    Emits ``'open'``, runs ``before_head()`` (where the server adds the
    client and runs the upgrade callback), feeds ``head`` (bytes that came
    after the request head), then resumes reading unless a listener paused.
    """
    ws._open(
        transport,
        loop,
        is_server=True,
        head=head,
        protocol=protocol,
        extension=extension,
        extensions_header="permessage-deflate" if extension is not None else "",
        before_head=before_head,
    )
    conn = ws._conn
    if conn is not None and not (ws._paused or ws._held) and not conn.closed:
        transport.resume_reading()


def loop_of(ws: WebSocket) -> asyncio.AbstractEventLoop:
    """The loop ``ws`` lives on."""
    return ws._get_loop()


def when_flushed(ws: WebSocket, cb: SendCallback) -> bool:
    """Call ``cb(None)`` once everything ``ws`` has queued is handed to the
    kernel (``cb(err)`` if the socket closes first). Returns False, without
    calling ``cb``, when nothing is buffered or ``ws`` is not open."""
    conn = ws._conn
    if conn is None or conn.closed or not ws.bufferedAmount:
        return False
    conn.add_callback(cb)
    if not conn.receiving:
        conn.flush()
    return True


def queue_frame(ws: WebSocket, chunks: list[Any]) -> bool:
    """Queue a frame built once for many connections (see
    :meth:`pyws.protocol.Protocol.send_frame`), in order with ``ws``'s own
    messages, without writing it yet: :func:`flush` (or ``ws``'s next send)
    writes it. Returns False, queueing nothing, if ``ws`` is not OPEN or is
    in the middle of a fragmented message."""
    proto = ws._proto
    if proto is None or ws._ready_state is not OPEN:
        return False
    return proto.send_frame(chunks)


#: What :func:`queue_shared` did.
QUEUED, QUEUED_MORE = "queued", "queued behind others"
NOT_OPEN, SLOW, FRAGMENTED = "not open", "slow", "fragmented"


def queue_shared(ws: WebSocket, chunks: list[Any], limit: int) -> str:
    """:func:`queue_frame` behind the broadcast's one buffer check.

    Returns :data:`QUEUED` (``ws`` had nothing queued: the caller must
    :func:`flush` it), :data:`QUEUED_MORE` (behind output already queued,
    which a flush already due will write), or why not: :data:`NOT_OPEN`,
    :data:`SLOW` (``bufferedAmount`` is over ``limit`` bytes),
    :data:`FRAGMENTED` (a fragmented message of ``ws``'s own is in
    progress)."""
    proto = ws._proto
    conn = ws._conn
    if proto is None or conn is None or ws._ready_state is not OPEN:
        return NOT_OPEN
    # bufferedAmount, inlined: this runs once per client per broadcast.
    idle = not proto.output
    buffered = conn.transport.get_write_buffer_size()
    if not idle:
        buffered += proto.pending_bytes()
    if buffered > limit:
        return SLOW
    if proto.send_frame(chunks):
        return QUEUED if idle else QUEUED_MORE
    return FRAGMENTED if proto.sender.in_message else NOT_OPEN


def flush(ws: WebSocket) -> None:
    """Write what ``ws`` has queued (unless it is reading: then it writes
    once the read is handled)."""
    conn = ws._conn
    if conn is not None and not conn.receiving:
        conn.flush()


def send_frame(ws: WebSocket, chunks: list[Any]) -> bool:
    """:func:`queue_frame`, then write at once."""
    if not queue_frame(ws, chunks):
        return False
    flush(ws)
    return True


def deflate_of(ws: WebSocket) -> PerMessageDeflate | None:
    """The permessage-deflate agreed on ``ws``, or ``None``."""
    proto = ws._proto
    return None if proto is None else proto.extension


def in_message(ws: WebSocket) -> bool:
    """Whether ``ws`` is sending a fragmented message (``fin: false`` so
    far): another message may not start before its last fragment."""
    proto = ws._proto
    return proto is not None and proto.sender.in_message
