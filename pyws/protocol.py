"""The sans-I/O WebSocket connection: readyState, closing and failing.

Theory of operation
-------------------

A :class:`Protocol` is one established connection (after the opening
handshake). It never touches a socket, a clock or an event loop:

- bytes come in through :meth:`Protocol.receive_data` and the peer's FIN
  through :meth:`Protocol.receive_eof`;
- bytes to write accumulate in an output queue drained by
  :meth:`Protocol.data_to_send`; an empty chunk (:data:`EOF`) means "half-close
  now" (TCP FIN after everything before it);
- what happened is reported to a *handler* (``on_message``, ``on_ping``,
  ``on_pong``, ``on_close_frame``, ``on_error``), called synchronously while
  the input is parsed, so a listener sees the connection exactly as the frame
  left it. Without a handler, events are collected for
  :meth:`Protocol.events_received`.

The I/O layer reads the rest from public attributes after each call (this
is the whole seam between the core and any I/O layer: the port-mode server,
the client and the uvicorn protocol drive it the same way):

- :attr:`Protocol.output`: the output queue. When
  :attr:`Protocol.deferred_in_output` is 0 the I/O layer may take the list
  whole (swap in a new empty one), which is what the hot path does; else
  :meth:`Protocol.data_to_send` hands out what is ready, in order;
- ``state`` (CLOSING means "arm the close timer"), :attr:`Protocol.should_close`
  (close the socket now), :attr:`Protocol.abort_requested` (destroy the
  socket), :attr:`Protocol.closing_phase` (a name for where the closing
  handshake stands, for logs and tests).

Every closing rule of RFC 6455 section 7 lives in this file:

- 7.1.2 / 7.1.3: :meth:`close` queues our close frame after any data already
  queued and moves to CLOSING; no data frame is framed after it.
- 7.1.5 / 7.1.6: the close code reported is that of the first close frame
  *received* (1005 if it was empty), 1006 if none was; the code we sent is
  never reported.
- 5.5.1: a close frame received while OPEN is echoed with the same code
  (and, as ws does, the same reason).
- 7.1.7: :meth:`fail` stops processing input at once (the receiver ignores
  every later byte), moves to CLOSING and queues a close frame with the
  failure's status *before* the handler hears of the error, so nothing a
  listener does can change what goes out.
- 7.1.1: the server closes TCP first. Once its close frame is queued and the
  peer's close frame was received (or the connection is failing), a server
  queues :data:`EOF` (half-close) and keeps reading until the peer's FIN. A
  client never half-closes first: it waits for the server's FIN (the I/O
  layer bounds every wait with ``closeTimeout``).

ws 8.x differs in one point only: its client half-closes like the server.

Imports only the core (receiver, sender, errors, constants).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .buffer_util import Buffer
from .constants import (
    CLOSE_TIMEOUT,
    MAX_FRAGMENTS,
    MAX_PAYLOAD,
    MAX_PENDING_AUTO_PONGS,
    ReadyState,
)
from .errors import ProtocolError
from .receiver import Inflater, Receiver
from .sender import DeferredFrame, Deflater, Sender, frame

__all__ = ["Protocol", "EOF", "Handler", "shared_frame"]

CONNECTING = ReadyState.CONNECTING
OPEN = ReadyState.OPEN
CLOSING = ReadyState.CLOSING
CLOSED = ReadyState.CLOSED

#: Marker in :meth:`Protocol.data_to_send`: half-close the connection here.
EOF = b""


def shared_frame(
    payload: Buffer, binary: bool, rsv1: bool = False
) -> list[bytes | Buffer]:
    """One unmasked, final data frame as chunks for :meth:`Protocol.send_frame`.

    Small frames come as one ``bytes`` (written with one ``write`` per
    connection, no join); big ones as ``[header, payload]`` so that the
    payload is never copied.
    """
    chunks = frame(2 if binary else 1, payload, rsv1=rsv1)
    if len(chunks) == 2 and len(payload) <= JOIN_LIMIT:
        return [b"".join(chunks)]
    return chunks


#: Output up to this size is joined into one buffer before it is written:
#: frames up to this payload size by :func:`shared_frame`, once for every
#: connection, and each write by the transport.
JOIN_LIMIT = 65536


class Handler:
    """Receives what a :class:`Protocol` parses. Override what you need.

    The default implementation records every call as a tuple so that the
    sans-I/O core can be driven and inspected without any I/O.
    """

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_message(self, data: Any, is_binary: bool) -> None:
        self.events.append(("message", data, is_binary))

    def on_ping(self, data: bytes) -> None:
        self.events.append(("ping", data))

    def on_pong(self, data: bytes) -> None:
        self.events.append(("pong", data))

    def on_close_frame(self, code: int, reason: bytes) -> None:
        self.events.append(("close_frame", code, reason))

    def on_error(self, exc: ProtocolError) -> None:
        self.events.append(("error", exc))


class Protocol:
    """One established WebSocket connection, as a state machine on bytes.

    Args:
        is_server: the role; decides masking and who closes TCP first.
        handler: receives events; a recording :class:`Handler` by default.
        max_payload, max_fragments, skip_utf8_validation, binary_type,
            allow_synchronous_events: passed to the
            :class:`~pyws.receiver.Receiver`.
        auto_pong: answer pings with pongs while OPEN.
        max_pending_auto_pongs: a ping arriving while this many auto-pongs
            are still unflushed requests an abort (ws 8.23); ``<= 0``: off.
        close_timeout_ms: how long the I/O layer may wait during closing.
        max_buffered_amount: bytes of output the I/O layer may hold for a
            peer that does not read before it fails the connection
            (``WS_ERR_BUFFERED_AMOUNT_EXCEEDED``); ``<= 0``: no limit.
        incomplete_message_timeout_ms: how long a frame or a fragmented
            message may stay incomplete before the I/O layer fails the
            connection (``WS_ERR_INCOMPLETE_MESSAGE_TIMEOUT``); ``<= 0``:
            no limit.
        generate_mask: ws's ``generateMask`` (tests pin masks with it).
        extension: the negotiated permessage-deflate object, or ``None``.
    """

    def __init__(
        self,
        *,
        is_server: bool,
        handler: Handler | None = None,
        max_payload: int = MAX_PAYLOAD,
        max_fragments: int = MAX_FRAGMENTS,
        max_buffered_chunks: int = 262144,
        skip_utf8_validation: bool = False,
        binary_type: str = "nodebuffer",
        allow_synchronous_events: bool = True,
        auto_pong: bool = True,
        max_pending_auto_pongs: int = MAX_PENDING_AUTO_PONGS,
        close_timeout_ms: int = CLOSE_TIMEOUT,
        max_buffered_amount: int = 0,
        incomplete_message_timeout_ms: float = 0,
        generate_mask: Callable[[bytearray], object] | None = None,
        extension: Any = None,
    ) -> None:
        self.is_server = is_server
        self.handler = handler if handler is not None else Handler()
        self.auto_pong = auto_pong
        self.max_pending_auto_pongs = max_pending_auto_pongs
        self.close_timeout_ms = close_timeout_ms
        self.max_buffered_amount = max_buffered_amount
        self.incomplete_message_timeout_ms = incomplete_message_timeout_ms
        self.extension = extension
        self.state = OPEN
        #: Close code and reason to report in ``'close'`` (section 7.1.5).
        self.close_code = 1006
        self.close_reason = b""
        self.close_sent = False
        self.close_rcvd = False
        self.failed = False
        self.eof_sent = False
        self.eof_rcvd = False
        #: The peer's FIN arrived, or terminate(): the I/O layer closes now.
        self.should_close = False
        #: Too many unflushed auto-pongs: the I/O layer destroys the socket.
        self.abort_requested = False
        #: Auto-pongs queued since the I/O layer last reported a full flush.
        self.pending_auto_pongs = 0
        #: Chunks to write, in order (:data:`EOF` = half-close here). The
        #: I/O layer takes the whole list when :attr:`deferred_in_output` is
        #: 0, else drains it with :meth:`data_to_send`.
        self.output: list[bytes | Buffer | DeferredFrame] = []
        #: Data frames of at least this many bytes that need compressing are
        #: queued as :class:`~pyws.sender.DeferredFrame` for the I/O layer
        #: (0: compress inline). Once one is queued, later ones queue too.
        self.defer_threshold = 0
        #: Unresolved deferred frames, in queue order.
        self.deferred: list[DeferredFrame] = []
        #: How many unresolved deferred frames sit in :attr:`output`.
        self.deferred_in_output = 0
        inflater: Inflater | None = extension
        deflater: Deflater | None = extension
        h = self.handler
        self.receiver = Receiver(
            is_server=is_server,
            on_message=h.on_message,
            on_ping=self._on_ping,
            on_pong=h.on_pong,
            on_close=self._on_close_frame,
            on_error=self.fail,
            max_payload=max_payload,
            max_fragments=max_fragments,
            max_buffered_chunks=max_buffered_chunks,
            skip_utf8_validation=skip_utf8_validation,
            binary_type=binary_type,
            inflater=inflater,
            allow_synchronous_events=allow_synchronous_events,
        )
        self.sender = Sender(
            is_server=is_server, generate_mask=generate_mask, deflater=deflater
        )

    # -- input -------------------------------------------------------------

    def receive_data(self, data: Buffer) -> None:
        """Feed bytes read from the socket (discarded once input stopped)."""
        self.receiver.feed(data)

    def get_buffer(self) -> memoryview:
        """Where the I/O layer should read the next bytes into (zero-copy
        alternative to :meth:`receive_data`; then call
        :meth:`buffer_updated`)."""
        return self.receiver.get_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` were read into :meth:`get_buffer`'s buffer."""
        self.receiver.buffer_updated(nbytes)

    def receive_eof(self) -> None:
        """The peer half-closed (TCP FIN): close our side too (section 7.1.1).

        Without a close frame this is an abnormal closure: no close frame is
        sent, and ``'close'`` will report 1006.
        """
        self.eof_rcvd = True
        self.receiver.stop()
        if self.state is OPEN:
            self.state = CLOSING
        self.should_close = True

    # -- output ------------------------------------------------------------

    def data_to_send(self) -> list[bytes | Buffer]:
        """Return and clear the queued chunks (:data:`EOF` = half-close).

        Stops before the first :class:`~pyws.sender.DeferredFrame` that is
        not resolved yet: nothing overtakes a message being compressed.
        """
        out = self.output
        if not out:
            return []
        if not self.deferred_in_output:
            self.output = []
            return out  # type: ignore[return-value]
        ready: list[bytes | Buffer] = []
        for i, chunk in enumerate(out):
            if isinstance(chunk, DeferredFrame):
                if chunk.chunks is None:
                    self.output = out[i:]
                    return ready
                self.deferred_in_output -= 1
                ready += chunk.chunks
            else:
                ready.append(chunk)
        self.output = []
        return ready

    def resolve_deferred(self, item: DeferredFrame, payload: bytes) -> None:
        """The I/O layer compressed the first deferred frame."""
        assert self.deferred and self.deferred[0] is item
        self.deferred.pop(0)
        item.resolve(payload)

    def pending_bytes(self) -> int:
        """Bytes queued here and not yet taken by :meth:`data_to_send`."""
        out = self.output
        if not out:
            return 0
        return sum(map(len, out))

    def events_received(self) -> list[tuple[Any, ...]]:
        """Return and clear the events a default :class:`Handler` recorded."""
        events = getattr(self.handler, "events", None)
        if events is None:
            raise TypeError("events_received() needs the default Handler")
        self.handler.events = []
        return list(events)

    # -- actions -----------------------------------------------------------

    def send(
        self,
        data: Buffer,
        binary: bool,
        fin: bool = True,
        compress: bool = True,
        mask: bool | None = None,
    ) -> None:
        """Queue a data frame. The caller checks that the state is OPEN."""
        sender = self.sender
        if fin and mask is None and sender.deflater is None and not sender.in_message:
            self.output += sender.whole(data, binary)
            return
        threshold = self.defer_threshold
        defer = bool(threshold) and (bool(self.deferred) or len(data) >= threshold)
        chunks = sender.send(
            data, binary=binary, fin=fin, compress=compress, mask=mask, defer=defer
        )
        if defer and chunks and isinstance(chunks[0], DeferredFrame):
            self.deferred.append(chunks[0])
            self.deferred_in_output += 1
        self.output += chunks

    def send_frame(self, chunks: list[bytes | Buffer]) -> bool:
        """Queue a whole data frame that was built elsewhere.

        For a server that writes the same frame to many connections (see
        :func:`shared_frame`): the frame goes into this connection's output
        after everything queued so far, so it keeps its place among the
        connection's own messages. Returns False, queueing nothing, when the
        frame may not be written here: the state is not OPEN, or a
        fragmented message of our own is in progress (section 5.4: its
        fragments must not be interleaved with another message).

        The frame must be unmasked (a server's) and complete (FIN set); with
        RSV1 set it must have been deflated for this connection's negotiated
        parameters (no context takeover: the receiver's window state does
        not depend on earlier messages).
        """
        if self.state is not OPEN or self.sender.in_message:
            return False
        if not self.is_server:
            raise ValueError("send_frame() writes unmasked frames: server role only")
        self.output += chunks
        return True

    def ping(self, data: Buffer = b"", mask: bool | None = None) -> None:
        """Queue a ping. The caller checks the state and the 125-byte limit."""
        self.output += self.sender.ping(data, mask)

    def pong(self, data: Buffer = b"", mask: bool | None = None) -> None:
        """Queue a pong. The caller checks the state and the 125-byte limit."""
        self.output += self.sender.pong(data, mask)

    def close(self, code: int | None = None, reason: bytes = b"") -> None:
        """Start the closing handshake (section 7.1.2).

        From OPEN: queue our close frame (empty when ``code`` is None) after
        everything already queued and move to CLOSING. In CLOSING or CLOSED
        nothing more is sent. The caller validates ``code`` and ``reason``.
        """
        if self.state is not OPEN:
            return
        self._send_close(code, reason)
        self.state = CLOSING
        self._maybe_half_close()

    def fail(self, exc: ProtocolError) -> None:
        """_Fail the WebSocket Connection_ (section 7.1.7).

        Stops input, moves to CLOSING, queues a close frame with
        ``exc.status_code`` unless one was sent, half-closes if we are the
        server, and only then tells the handler.
        """
        if self.failed:
            return
        self.failed = True
        self.receiver.stop()
        if self.state is OPEN:
            self.state = CLOSING
        if not self.close_sent and not self.eof_rcvd:
            self._send_close(exc.status_code, b"")
        self._maybe_half_close()
        self.handler.on_error(exc)

    def terminate(self) -> None:
        """Stop everything; the I/O layer destroys the socket (no close frame)."""
        self.receiver.stop()
        if self.state is OPEN:
            self.state = CLOSING
        self.output = []
        self.deferred = []
        self.deferred_in_output = 0
        self.should_close = True

    def connection_closed(self) -> None:
        """The socket is closed: readyState CLOSED."""
        self.receiver.stop()
        self.state = CLOSED

    @property
    def closing_phase(self) -> str:
        """Where the closing handshake stands: ``'open'``, ``'failing'``,
        ``'close-sent'``, ``'close-received'``, ``'close-exchanged'``,
        ``'terminated'`` (closing without any close frame: FIN or
        terminate()) or ``'closed'``."""
        if self.state is OPEN:
            return "open"
        if self.state is CLOSED:
            return "closed"
        if self.failed:
            return "failing"
        if self.close_sent and self.close_rcvd:
            return "close-exchanged"
        if self.close_sent:
            return "close-sent"
        if self.close_rcvd:
            return "close-received"
        return "terminated"

    @property
    def close_frame_exchanged(self) -> bool:
        """ws ``wasClean``: a close frame was both sent and received."""
        return self.close_sent and self.close_rcvd

    # -- internals -----------------------------------------------------------

    def _send_close(self, code: int | None, reason: bytes) -> None:
        self.output += self.sender.close(code, reason)
        self.close_sent = True

    def _maybe_half_close(self) -> None:
        # Section 7.1.1: the server closes TCP first, once its close frame
        # is out and the peer's close frame came (or we are failing).
        if (
            self.is_server
            and self.close_sent
            and (self.close_rcvd or self.failed)
            and not self.eof_sent
        ):
            self.output.append(EOF)
            self.eof_sent = True

    def _on_close_frame(self, code: int, reason: bytes) -> None:
        self.close_rcvd = True
        self.close_code = code
        self.close_reason = reason
        if self.state is OPEN:
            # Section 5.5.1: echo. ws echoes the code and the reason too.
            self._send_close(None if code == 1005 else code, reason)
            self.state = CLOSING
        self._maybe_half_close()
        self.handler.on_close_frame(code, reason)

    def _on_ping(self, data: bytes) -> None:
        if self.auto_pong and self.state is OPEN:
            limit = self.max_pending_auto_pongs
            if 0 < limit <= self.pending_auto_pongs:
                # ws 8.23 ping-flood guard: terminate, no error, 1006.
                self.abort_requested = True
                self.terminate()
            else:
                self.pending_auto_pongs += 1
                self.output += self.sender.pong(data)
        self.handler.on_ping(data)
