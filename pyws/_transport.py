"""The asyncio side of an established connection.

:class:`Connection` is an ``asyncio.Protocol`` around a sans-I/O
:class:`~pyws.protocol.Protocol`. It decides *how* and *when* what the core
decided happens:

- a ``BufferedProtocol``: the socket reads straight into the receiver's
  buffer, and each read is parsed in one pass; events reach listeners
  synchronously while the chunk is parsed; whatever listeners send meanwhile
  is written once, when the chunk is done (one syscall per chunk, not one
  per message);
- small output is joined into one ``write``; large output on a plain TCP
  socket goes to the kernel in one gather write (``os.writev``) while the
  transport's buffer is empty, so a big payload is not copied and a burst
  of frames costs one syscall (and one wake-up of the peer); only what the
  kernel did not take is handed to the transport; on uvloop, whose
  ``writelines`` is such a gather write (libuv keeps what the kernel did
  not take, by reference), large output goes to ``writelines``;
- the close timer (``closeTimeout``) is armed when the core leaves OPEN and
  aborts the socket when it fires; it is cancelled when the socket closes;
- half-close is ``write_eof()`` (``close()`` on TLS, which cannot half-close);
- write flow control: send callbacks fire once the data is accepted and the
  transport is not over its high-water mark; ``bufferedAmount`` is the
  transport's buffer plus anything not yet handed to it;
- backpressure (``highWaterMark``): the transport's own flow control is set
  to the mark, so crossing it costs nothing per message (asyncio checks its
  buffer on every write anyway): ``pause_writing`` sets :attr:`over_mark`,
  ``resume_writing`` (at a quarter of the mark) clears it and tells the
  owner (``'drain'``). :meth:`Connection.check_buffered` is the one place
  that compares ``bufferedAmount`` with its bounds: the mark when the
  transport cannot tell (output not handed over yet, send callbacks
  pending), and the opt-in hard limit ``maxBufferedAmount``;
- the heartbeat (``pingInterval`` / ``pingTimeout``): one timer per
  connection, driven by the sans-I/O :class:`~pyws.heartbeat.Heartbeat`;
  while it is on, each read sets a flag (nothing per read when off);
- the opt-in ``incompleteMessageTimeout``: after each read the receiver
  says whether a frame or a fragmented message is incomplete and since
  which read; one timer per connection fails it when that lasts too long.

Transport layer: imports the core and asyncio, never pyee.
"""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio import selector_events
from collections.abc import Callable
from typing import Any
from typing import Protocol as TypingProtocol

from .constants import ReadyState
from .errors import protocol_error
from .heartbeat import DEAD, PING, Heartbeat
from .permessage_deflate import (
    COMPRESS_ASYNC_THRESHOLD,
    DEFLATE_CLOSED_MESSAGE,
    zlib_limiter,
)
from .protocol import JOIN_LIMIT, Protocol
from .sender import DeferredFrame

__all__ = ["Connection", "ConnectionOwner"]

OPEN = ReadyState.OPEN

# Output up to JOIN_LIMIT is joined into one write; above it, it is written
# by _write_large.
# A chunk this big is never joined with others (_write_large).
_NO_JOIN = 1 << 20

# Most buffers one writev() takes (POSIX IOV_MAX is at least 16; Linux,
# BSD and macOS allow 1024; sysconf gives -1 for "no limit").
_IOV_MAX = 16
if "SC_IOV_MAX" in getattr(os, "sysconf_names", {}):
    _IOV_MAX = os.sysconf("SC_IOV_MAX")
    _IOV_MAX = 1024 if _IOV_MAX <= 0 else min(_IOV_MAX, 1024)
_HAS_WRITEV = hasattr(os, "writev")
# PYWS_NO_WRITEV=1 (read once, at import, as PYWS_NO_SPEEDUPS): large output
# goes through the transport, joined in groups.
_NO_WRITEV = bool(os.environ.get("PYWS_NO_WRITEV"))

try:  # FIONREAD: bytes waiting unread in the kernel (Unix)
    import fcntl
    import termios

    _FIONREAD: int | None = termios.FIONREAD
except ImportError:  # pragma: no cover - Windows
    _FIONREAD = None

# The stdlib's plain TCP transport: its write() sends at once when its
# buffer is empty, so sending on its socket ourselves at that point keeps
# the byte order. Other transports (TLS, uvloop, pipes) are written through.
_SOCKET_TRANSPORT: type | None = getattr(
    selector_events, "_SelectorSocketTransport", None
)

# uvloop's transports whose writelines() is a gather write (its TLS one
# joins, as do the stdlib's before CPython 3.12).
_UV_GATHER = frozenset(("TCPTransport", "UnixTransport"))

SendCallback = Callable[[BaseException | None], object]


class ConnectionOwner(TypingProtocol):
    """What a :class:`Connection` reports to, besides the core's events.

    The core's events (messages, pings, close frames, protocol errors) go to
    the :class:`~pyws.protocol.Handler` given to the
    :class:`~pyws.protocol.Protocol`; the connection itself tells its owner
    only that the socket is gone. ``WebSocket`` implements this (through its
    seam object in :mod:`pyws.websocket`), and so does any other I/O front
    end that drives the core (the uvicorn protocol, for one).
    """

    def connection_closed(self) -> None:
        """The socket is closed; the core is CLOSED. Called once."""

    # Optional (looked up with getattr when needed, so other owners need not
    # implement them):
    #
    # def connection_closing(self) -> None:
    #     """The connection decided on its own to close (the heartbeat's
    #     verdict): the core left OPEN; the socket closes next."""
    #
    # def connection_drained(self) -> None:
    #     """bufferedAmount fell back under the high-water mark after
    #     having reached it (``'drain'``)."""


def _unread_bytes(transport: asyncio.BaseTransport) -> int:
    """Bytes the kernel holds unread on the transport's socket, -1 if
    unknown."""
    if _FIONREAD is None:  # pragma: no cover - Windows
        return -1
    sock = transport.get_extra_info("socket")
    if sock is None:
        return -1
    try:
        raw = fcntl.ioctl(sock.fileno(), _FIONREAD, b"\0\0\0\0")
    except (OSError, ValueError):
        return -1
    return int.from_bytes(raw, sys.byteorder)


def _gathers(transport: asyncio.BaseTransport) -> bool:
    """True if the transport's ``writelines`` hands its buffers to the
    kernel in one gather write without joining them (uvloop's stream
    transports: libuv's ``uv_try_write`` is a ``writev``)."""
    cls = type(transport)
    return (
        cls.__module__ == "uvloop.loop"
        and cls.__name__ in _UV_GATHER
        and not _NO_WRITEV
    )


def _gather_fd(transport: asyncio.BaseTransport) -> int:
    """The socket's file descriptor if large output may bypass the
    transport's buffer, else -1."""
    if (
        not _HAS_WRITEV
        or _SOCKET_TRANSPORT is None
        or type(transport) is not _SOCKET_TRANSPORT
        or _NO_WRITEV
    ):
        return -1
    sock = transport.get_extra_info("socket")
    if sock is None:  # pragma: no cover - a socket transport has one
        return -1
    try:
        return int(sock.fileno())
    except OSError:  # pragma: no cover - already closed
        return -1


class Connection(asyncio.BufferedProtocol):
    """Drive a :class:`Protocol` over an asyncio transport.

    Created by the handshake code once the upgrade succeeded; it takes the
    transport over with ``transport.set_protocol`` and feeds the bytes that
    arrived after the HTTP head.
    """

    # Defaults on the class: an instance gets its own only when it uses the
    # feature (no memory per idle connection).
    #: ``highWaterMark`` in bytes (0: no mark; asyncio's defaults).
    high_water_mark = 0
    #: bufferedAmount reached the mark and has not fallen back under.
    over_mark = False
    #: The heartbeat, when ``pingInterval`` is set (:meth:`start_heartbeat`).
    heartbeat: Heartbeat | None = None
    heartbeat_timer: asyncio.TimerHandle | None = None
    _heard = False

    def __init__(
        self,
        owner: ConnectionOwner,
        proto: Protocol,
        transport: asyncio.Transport,
        loop: asyncio.AbstractEventLoop,
        high_water_mark: int = 0,
    ) -> None:
        self.owner = owner
        self.proto = proto
        self.transport = transport
        self.loop = loop
        self.closed = False
        self.reading_paused = False
        #: True while the core parses input: output queued by listeners is
        #: flushed once, after the read, not per send().
        self.receiving = False
        self._write_paused = False
        self._eof_written = False
        self._eof_due = False
        self._timer: asyncio.TimerHandle | None = None
        self._callbacks: list[SendCallback] = []
        self._compressing = False
        self._drain_watch = False
        if proto.extension is not None:
            # Big messages are compressed in a worker thread (zlib releases
            # the GIL), queued in order behind each other.
            proto.defer_threshold = COMPRESS_ASYNC_THRESHOLD
        proto.receiver.on_defer = self._defer_receiver
        # Per-read hot path: bound once (Protocol.get_buffer/buffer_updated
        # only forward to these).
        self._read_buffer = proto.receiver.get_buffer
        self._read_done = proto.receiver.buffer_updated
        self._fd = _gather_fd(transport)
        #: The transport's writelines() is a gather write (uvloop).
        self._writelines = self._fd < 0 and _gathers(transport)
        #: maxBufferedAmount (0: off), checked after each write.
        self._max_buffered = max(0, int(proto.max_buffered_amount))
        #: incompleteMessageTimeout in seconds (0: off), checked per read.
        self._incomplete_s = max(0.0, proto.incomplete_message_timeout_ms / 1000)
        self._incomplete_timer: asyncio.TimerHandle | None = None
        self._frame_since: float | None = None  # read that began the frame
        self._message_since: float | None = None  # ... the fragmented message
        self._messages_seen = 0
        transport.set_protocol(self)
        if high_water_mark:
            self.high_water_mark = high_water_mark
            self._set_limits()

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The transport was made by the handshake protocol; nothing to do.
        pass  # pragma: no cover

    def get_buffer(self, sizehint: int) -> memoryview:
        # The socket reads straight into the receiver's buffer: no copy of
        # each chunk, no allocation per read.
        return self._read_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        self.receiving = True
        try:
            self._read_done(nbytes)
        finally:
            self.receiving = False
        if self._incomplete_s:
            self._check_incomplete()
        self.flush()

    def data_received(self, data: bytes) -> None:
        """Feed bytes read elsewhere (those that came with the HTTP head)."""
        self.receiving = True
        try:
            self.proto.receive_data(data)
        finally:
            self.receiving = False
        if self._incomplete_s:
            self._check_incomplete()
        self.flush()

    def eof_received(self) -> bool:
        # Section 7.1.1: the peer's FIN. The server has usually half-closed
        # already and now closes; a client that waited for the server's FIN
        # closes now. Returning False makes asyncio close the transport once
        # our buffered output (an echoed close frame, say) is written.
        self.proto.receive_eof()
        self.receiving = True  # flush but do not close: asyncio does it
        try:
            self.flush()
        finally:
            self.receiving = False
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.transport.is_closing():
            # Python 3.10's TLS transport is left open when the peer closed
            # first (its __del__ then warns); closing it now is a no-op
            # everywhere else.
            self.transport.close()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._stop_heartbeat()
        self._cancel_incomplete_timer()
        proto = self.proto
        compressing = bool(proto.deferred)
        proto.connection_closed()
        if proto.extension is not None:
            proto.extension.cleanup()
        callbacks = self._callbacks
        if callbacks:
            self._callbacks = []
            err = ConnectionError(
                DEFLATE_CLOSED_MESSAGE
                if compressing
                else "The socket was closed before the data was written"
            )
            for cb in callbacks:
                self.loop.call_soon(cb, err)
        self.owner.connection_closed()

    @property
    def write_paused(self) -> bool:
        """Whether the transport is over its high-water mark (a front end
        that awaits its sends waits for :meth:`add_callback` then)."""
        return self._write_paused

    @property
    def close_timer(self) -> asyncio.TimerHandle | None:
        """The armed ``closeTimeout`` timer, or ``None``."""
        return self._timer

    def pause_writing(self) -> None:
        self._write_paused = True
        if self._drain_watch:
            # The limits are at 0 for send callbacks: measure.
            self.check_buffered()
        elif self.high_water_mark:
            self.over_mark = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self.proto.pending_auto_pongs = 0
        if self._drain_watch:
            # The buffer is empty: every byte queued so far is in the kernel.
            self._drain_watch = False
            if not self.closed:
                self._set_limits()
        self._fire_callbacks()
        if self.over_mark:
            self.check_buffered()

    def _set_limits(self) -> None:
        mark = self.high_water_mark
        if mark:
            # asyncio pauses above ``high`` and resumes at or below ``low``.
            self.transport.set_write_buffer_limits(high=mark - 1, low=mark // 4)
        else:
            self.transport.set_write_buffer_limits()

    def check_buffered(self) -> None:
        """Compare ``bufferedAmount`` with its bounds: the one place where
        output held for the peer meets a limit.

        - ``maxBufferedAmount`` (opt-in hard limit), after each flush while
          it is set: past it the peer is not reading; what is queued cannot
          reach it, so the connection is failed (``'error'`` with
          ``WS_ERR_BUFFERED_AMOUNT_EXCEEDED``, status 1008 queued for the
          record) and the socket destroyed at once, which frees the queue;
          ``'close'`` then reports 1006.
        - ``highWaterMark``: its fast path is the transport's flow control
          (``pause_writing`` / ``resume_writing``); this measures when the
          transport cannot tell: output not handed over yet (messages being
          compressed), send callbacks pending (the transport's limits are at
          0 then), or already over the mark (back at a quarter of it:
          ``'drain'``).
        """
        if self.closed:
            return
        amount = self.buffered_amount()
        limit = self._max_buffered
        if limit and amount > limit and not self.proto.failed:
            self.proto.fail(
                protocol_error(
                    "WS_ERR_BUFFERED_AMOUNT_EXCEEDED",
                    f"Max buffered amount exceeded: {amount} bytes queued for a "
                    f"peer that does not read (maxBufferedAmount {limit})",
                )
            )
            self.abort()
            return
        mark = self.high_water_mark
        if not mark:
            return
        if not self.over_mark:
            if amount >= mark:
                self.over_mark = True
        elif not self._write_paused and amount <= mark // 4:
            self.over_mark = False
            drained = getattr(self.owner, "connection_drained", None)
            if drained is not None:
                drained()

    # -- output ----------------------------------------------------------------

    def flush(self) -> None:
        """Write what the core queued; act on its closing decisions."""
        proto = self.proto
        out: list[Any] = proto.output
        if out and not self.closed:
            if proto.deferred_in_output:
                out = proto.data_to_send()
                if proto.deferred and not self._compressing:
                    self._compress_next()
                    out += proto.data_to_send()
            else:
                proto.output = []
            transport = self.transport
            if not out:
                pass
            elif len(out) == 1:
                if out[0]:
                    transport.write(out[0])
                else:
                    self._eof_due = True
            else:
                if not out[-1]:
                    self._eof_due = True  # the core's EOF marker is last
                size = 0
                for chunk in out:
                    size += len(chunk)
                if size <= JOIN_LIMIT:
                    transport.write(b"".join(out))
                else:
                    self._write_large(out)
            if proto.pending_auto_pongs and not transport.get_write_buffer_size():
                proto.pending_auto_pongs = 0
        if self._callbacks and not self._write_paused and not proto.deferred:
            self._callbacks_when_written()
        if self._max_buffered or self.over_mark or self._drain_watch or proto.deferred:
            self.check_buffered()
        if proto.state is not OPEN:
            self._closing()

    def _write_large(self, out: list[Any]) -> None:
        transport = self.transport
        fd = self._fd
        if (
            fd >= 0
            and not transport.get_write_buffer_size()
            and not transport.is_closing()
        ):
            if not out[-1]:
                out.pop()  # the EOF marker (already noted by flush)
            while out:
                batch = out if len(out) <= _IOV_MAX else out[:_IOV_MAX]
                try:
                    sent = os.writev(fd, batch)
                except OSError:
                    # EAGAIN: the transport buffers the rest. Anything else:
                    # the transport's own write meets the same error and
                    # fails the connection the way it always does.
                    break
                i = 0
                for chunk in batch:
                    n = len(chunk)
                    if sent < n:
                        break
                    sent -= n
                    i += 1
                if i < len(batch):
                    if sent:
                        out[i] = memoryview(out[i])[sent:]
                    del out[:i]
                    break  # the kernel's buffer is full
                del out[:i]
            if not out:
                return
        elif self._writelines and not transport.is_closing():
            if not out[-1]:
                out.pop()  # the EOF marker (already noted by flush)
            transport.writelines(out)
            return
        # Join in groups: one huge join (what writelines does before CPython
        # 3.12) allocates past malloc's mmap threshold and page-faults on
        # every call. A chunk of _NO_JOIN or more is written as it is: a
        # copy of it costs more than the write call saved by joining.
        group: list[Any] = []
        size = 0
        for chunk in out:
            n = len(chunk)
            if n >= _NO_JOIN:
                if size:
                    transport.write(b"".join(group))
                    group = []
                    size = 0
                transport.write(chunk)
                continue
            group.append(chunk)
            size += n
            if size >= JOIN_LIMIT:
                transport.write(b"".join(group))
                group = []
                size = 0
        if size:
            transport.write(b"".join(group))

    def _compress_next(self) -> None:
        """Compress queued deferred frames: small ones inline, the next big
        one in a worker thread (through the process-wide zlib limiter)."""
        proto = self.proto
        deflater = proto.extension
        while proto.deferred and not self._compressing:
            item = proto.deferred[0]
            if len(item.data) < COMPRESS_ASYNC_THRESHOLD:
                proto.resolve_deferred(item, deflater.compress(item.data, item.fin))
                continue
            self._compressing = True

            def job(done: Callable[[], None], item: DeferredFrame = item) -> None:
                if self.closed:
                    done()
                    return
                fut = self.loop.run_in_executor(
                    None, deflater.compress, item.data, item.fin
                )
                fut.add_done_callback(lambda f: self._compressed(item, f, done))

            zlib_limiter().add(job)

    def _compressed(
        self, item: DeferredFrame, fut: asyncio.Future[bytes], done: Callable[[], None]
    ) -> None:
        done()
        self._compressing = False
        if self.closed or fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:  # pragma: no cover - zlib does not fail on deflate
            self.loop.call_exception_handler(
                {"message": "permessage-deflate compression failed", "exception": exc}
            )
            self.abort()
            return
        self.proto.resolve_deferred(item, fut.result())
        self.flush()

    def add_callback(self, cb: SendCallback) -> None:
        """Call ``cb(None)`` once what was queued so far is handed over."""
        self._callbacks.append(cb)

    def _callbacks_when_written(self) -> None:
        # ws calls a send callback once the socket has written the data. An
        # asyncio transport tells only when its buffer falls below the low
        # water mark after having been paused; with the high-water mark at 0
        # it pauses at once and resumes exactly when the buffer is empty.
        if self.closed or not self.transport.get_write_buffer_size():
            self._fire_callbacks()
        elif not self._drain_watch:
            self._drain_watch = True
            self.transport.set_write_buffer_limits(high=0)

    def _fire_callbacks(self) -> None:
        callbacks = self._callbacks
        if callbacks:
            self._callbacks = []
            for cb in callbacks:
                self.loop.call_soon(cb, None)

    def buffered_amount(self) -> int:
        """Bytes accepted by ``send`` and not yet handed to the kernel."""
        n = self.proto.pending_bytes()
        if not self.closed:
            n += self.transport.get_write_buffer_size()
        return n

    # -- incompleteMessageTimeout ----------------------------------------------

    def _check_incomplete(self) -> None:
        """After a read: note since when a frame or a fragmented message has
        been incomplete, and arm the timer if it is not armed."""
        receiver = self.proto.receiver
        reads = receiver.partial_frame_reads
        fragmented = receiver.in_fragmented_message
        if not reads and not fragmented:
            self._frame_since = self._message_since = None
            self._cancel_incomplete_timer()
            return
        now = self.loop.time()
        if not reads:
            self._frame_since = None
        elif reads == 1 or self._frame_since is None:
            self._frame_since = now  # this frame began in this read
        if not fragmented:
            self._message_since = None
        elif (
            self._message_since is None
            or receiver.fragmented_messages != self._messages_seen
        ):
            self._message_since = now
            self._messages_seen = receiver.fragmented_messages
        if self._incomplete_timer is None:
            self._incomplete_timer = self.loop.call_at(
                now + self._incomplete_s, self._on_incomplete_timeout
            )

    def _cancel_incomplete_timer(self) -> None:
        if self._incomplete_timer is not None:
            self._incomplete_timer.cancel()
            self._incomplete_timer = None

    def _on_incomplete_timeout(self) -> None:
        self._incomplete_timer = None
        if self.closed or self.proto.receiver.done:
            return
        since = [t for t in (self._frame_since, self._message_since) if t is not None]
        if not since:
            return
        now = self.loop.time()
        deadline = min(since) + self._incomplete_s
        if self.reading_paused:
            # The application paused reading: not the peer's delay.
            deadline = now + self._incomplete_s
            self._frame_since = self._message_since = now
        if deadline > now:
            self._incomplete_timer = self.loop.call_at(
                deadline, self._on_incomplete_timeout
            )
            return
        what = "A frame" if self._frame_since is not None else "A message"
        self.proto.fail(
            protocol_error(
                "WS_ERR_INCOMPLETE_MESSAGE_TIMEOUT",
                f"{what} stayed incomplete for more than "
                f"{self._incomplete_s * 1000:g} ms (incompleteMessageTimeout)",
            )
        )
        self.flush()

    # -- closing ---------------------------------------------------------------

    def _closing(self) -> None:
        if self.closed:
            return
        if self.heartbeat_timer is not None:
            self._stop_heartbeat()
        proto = self.proto
        if proto.abort_requested:
            self.abort()
            return
        if self._timer is None:
            # closeTimeout bounds the whole closing sequence, counted from
            # the moment the core left OPEN (close(), echo, or failure).
            self._timer = self.loop.call_later(
                proto.close_timeout_ms / 1000, self._on_close_timeout
            )
        if self._eof_due and not self._eof_written:
            self._eof_written = True
            transport = self.transport
            if transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()
        if proto.should_close and not self.receiving:
            self.transport.close()
        elif self.reading_paused and proto.receiver.done:
            # Input is discarded from here on (close frame received, or
            # failing): read on so that the peer's FIN is seen (section
            # 7.1.7; ws resumes the socket the same way).
            self.reading_paused = False
            self.transport.resume_reading()

    # -- heartbeat ---------------------------------------------------------

    def start_heartbeat(self, interval_ms: float, timeout_ms: float) -> None:
        """Ping every ``interval_ms``; terminate if the peer stays silent
        ``timeout_ms`` after a ping (see :mod:`pyws.heartbeat`)."""
        if self.closed or self.heartbeat is not None:
            return
        hb = Heartbeat(interval_ms, timeout_ms)
        self.heartbeat = hb
        # Only now does each read cost something: one flag. uvloop keeps
        # the protocol's buffer_updated from set_protocol(), so hand the
        # protocol over again for it to see the new method.
        self.buffer_updated = self._buffer_updated_heard  # type: ignore[method-assign]
        self.transport.set_protocol(self)
        receiver = self.proto.receiver
        on_pong = receiver.on_pong
        loop = self.loop

        def pong(data: bytes) -> None:
            hb.on_pong(data, loop.time())
            on_pong(data)

        receiver.on_pong = pong
        self.heartbeat_timer = loop.call_at(hb.start(loop.time()), self._on_heartbeat)

    def _buffer_updated_heard(self, nbytes: int) -> None:
        self._heard = True
        Connection.buffer_updated(self, nbytes)

    def _stop_heartbeat(self) -> None:
        if self.heartbeat_timer is not None:
            self.heartbeat_timer.cancel()
            self.heartbeat_timer = None

    def _on_heartbeat(self) -> None:
        self.heartbeat_timer = None
        proto = self.proto
        hb = self.heartbeat
        if self.closed or hb is None or proto.state is not OPEN:
            return
        heard = self._heard
        visible = True
        if not heard:
            # A paused connection, or a listener that held the loop, may
            # leave the peer's answer unread in the kernel: count it.
            unread = _unread_bytes(self.transport)
            if unread > 0:
                heard = True
            elif self.reading_paused and (
                unread < 0 or self.transport.get_extra_info("sslcontext") is not None
            ):
                # Paused TLS may hold decrypted input we cannot see.
                visible = False
        action, deadline = hb.on_timer(self.loop.time(), heard, visible)
        if action is DEAD:
            proto.terminate()
            closing = getattr(self.owner, "connection_closing", None)
            if closing is not None:
                closing()
            self.abort()
            return
        if action is PING:
            self._heard = False
            proto.ping(hb.payload)
            self.flush()
        self.heartbeat_timer = self.loop.call_at(deadline, self._on_heartbeat)

    def _on_close_timeout(self) -> None:
        self._timer = None
        self.abort()

    def abort(self) -> None:
        """Destroy the socket at once (ws ``socket.destroy()``)."""
        if not self.closed:
            self.transport.abort()

    # -- reading -----------------------------------------------------------

    def pause_reading(self) -> None:
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and not self.closed:
            self.reading_paused = False
            self.transport.resume_reading()

    def _defer_receiver(self) -> None:
        # allowSynchronousEvents=false: one event per loop turn.
        self.loop.call_soon(self._resume_receiver)

    def _resume_receiver(self) -> None:
        if self.closed:
            return
        self.receiving = True
        try:
            self.proto.receiver.resume()
        finally:
            self.receiving = False
        self.flush()
