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
  kernel did not take is handed to the transport;
- the close timer (``closeTimeout``) is armed when the core leaves OPEN and
  aborts the socket when it fires; it is cancelled when the socket closes;
- half-close is ``write_eof()`` (``close()`` on TLS, which cannot half-close);
- write flow control: send callbacks fire once the data is accepted and the
  transport is not over its high-water mark; ``bufferedAmount`` is the
  transport's buffer plus anything not yet handed to it.

Transport layer: imports the core and asyncio, never pyee.
"""

from __future__ import annotations

import asyncio
import os
from asyncio import selector_events
from collections.abc import Callable
from typing import Any
from typing import Protocol as TypingProtocol

from .constants import ReadyState
from .permessage_deflate import (
    COMPRESS_ASYNC_THRESHOLD,
    DEFLATE_CLOSED_MESSAGE,
    zlib_limiter,
)
from .protocol import Protocol
from .sender import DeferredFrame

__all__ = ["Connection", "ConnectionOwner"]

OPEN = ReadyState.OPEN

# Output up to this size is joined into one write; above it, it is written
# by _write_large.
_JOIN_LIMIT = 65536

# Most buffers one writev() takes (POSIX IOV_MAX is at least 16; Linux,
# BSD and macOS allow 1024; sysconf gives -1 for "no limit").
_IOV_MAX = 16
if "SC_IOV_MAX" in getattr(os, "sysconf_names", {}):
    _IOV_MAX = os.sysconf("SC_IOV_MAX")
    _IOV_MAX = 1024 if _IOV_MAX <= 0 else min(_IOV_MAX, 1024)
_HAS_WRITEV = hasattr(os, "writev")

# The stdlib's plain TCP transport: its write() sends at once when its
# buffer is empty, so sending on its socket ourselves at that point keeps
# the byte order. Other transports (TLS, uvloop, pipes) are written through.
_SOCKET_TRANSPORT: type | None = getattr(
    selector_events, "_SelectorSocketTransport", None
)

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


def _gather_fd(transport: asyncio.BaseTransport) -> int:
    """The socket's file descriptor if large output may bypass the
    transport's buffer, else -1."""
    if (
        not _HAS_WRITEV
        or _SOCKET_TRANSPORT is None
        or type(transport) is not _SOCKET_TRANSPORT
        or os.environ.get("PYWS_NO_WRITEV")
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

    def __init__(
        self,
        owner: ConnectionOwner,
        proto: Protocol,
        transport: asyncio.Transport,
        loop: asyncio.AbstractEventLoop,
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
        transport.set_protocol(self)

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
        self.flush()

    def data_received(self, data: bytes) -> None:
        """Feed bytes read elsewhere (those that came with the HTTP head)."""
        self.receiving = True
        try:
            self.proto.receive_data(data)
        finally:
            self.receiving = False
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
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
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

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self.proto.pending_auto_pongs = 0
        if self._drain_watch:
            # The buffer is empty: every byte queued so far is in the kernel.
            self._drain_watch = False
            if not self.closed:
                self.transport.set_write_buffer_limits()
        self._fire_callbacks()

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
                if size <= _JOIN_LIMIT:
                    transport.write(b"".join(out))
                else:
                    self._write_large(out)
            if proto.pending_auto_pongs and not transport.get_write_buffer_size():
                proto.pending_auto_pongs = 0
        if self._callbacks and not self._write_paused and not proto.deferred:
            self._callbacks_when_written()
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
        # Join in groups: one huge join (what writelines does before CPython
        # 3.12) allocates past malloc's mmap threshold and page-faults on
        # every call.
        group: list[Any] = []
        size = 0
        for chunk in out:
            group.append(chunk)
            size += len(chunk)
            if size >= _JOIN_LIMIT:
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

    # -- closing ---------------------------------------------------------------

    def _closing(self) -> None:
        if self.closed:
            return
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
