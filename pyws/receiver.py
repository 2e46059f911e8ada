"""The frame parser: bytes in, message/ping/pong/close/error callbacks out.

A port of ws's ``lib/receiver.js``: the same checks in the same order, the
same ``WS_ERR_*`` codes and close statuses (docs/errors.md). It is
sans-I/O: :meth:`Receiver.feed` takes whatever the socket delivered and calls
the owner's callbacks synchronously for every complete frame it holds.

Hot path design (aiohttp's reader and ws's ``consume`` taught this):

- one pass over each chunk with an integer cursor; no coroutine, no task and
  no object per frame;
- when nothing is buffered the chunk is parsed where it lies and only an
  incomplete tail is copied into the ``bytearray`` buffer;
- sockets read into one buffer shared by every connection of the thread
  (it stays in the CPU's cache, and a busy connection holds no buffer of its
  own); an incomplete frame a read left is kept in the connection's buffer
  between reads and copied back in front of the next one; only a frame over
  ``_SHARED_FRAME`` is completed in the connection's buffer;
- the payload is copied once (sliced, or unmasked into new bytes); fragments
  are joined once, at FIN;
- the message size is checked against ``maxPayload`` from the header, before
  any of the payload is buffered.

After a close frame or an error the receiver is *done*: it ignores every
later byte (RFC 6455 section 7.1.7: stop processing input; the transport still
reads and discards so that the peer's FIN is seen).

Imports buffer_util, errors, validation; never asyncio, pyee or sockets.
"""

from __future__ import annotations

import codecs
import struct
import threading
from collections.abc import Callable
from typing import Any, Protocol

from .buffer_util import Buffer, apply_mask, deliver_frames
from .errors import ProtocolError, protocol_error
from .validation import is_valid_status_code, utf8_decoder

__all__ = ["Receiver", "Inflater"]

# The read buffer shared by the connections of a thread: what a socket with
# nothing pending reads into. Bigger than a few large frames in flight, so
# that a read seldom ends inside a frame.
_SHARED_SIZE = 524288
# An incomplete frame up to this size is completed in the shared buffer
# (copied back in front of the next read, which then has room for it and
# more); a bigger one in the connection's own buffer.
_SHARED_FRAME = _SHARED_SIZE // 2
_shared = threading.local()


def _shared_view() -> memoryview:
    """This thread's shared read buffer (allocated on first use)."""
    view: memoryview | None = getattr(_shared, "view", None)
    if view is None:
        view = _shared.view = memoryview(bytearray(_SHARED_SIZE))
    return view


def _take_spare(size: int) -> bytearray | None:
    """This thread's spare big buffer if it has ``size`` bytes and nothing
    still sees it (its old contents stay: only what a read puts there is
    ever parsed)."""
    spare: bytearray | None = getattr(_shared, "spare", None)
    if spare is None or len(spare) < size:
        return None
    _shared.spare = None
    try:
        # Fails while any memoryview of it lives (a bytearray with exports
        # cannot change size), such as the one asyncio read into, if this
        # is still the read that completed its last frame: such memory is
        # never handed out again. (No reallocation: the byte is put back
        # within the same allocation.)
        del spare[-1]
    except BufferError:
        return None
    spare.append(0)
    return spare


def _give_spare(buf: bytearray) -> None:
    """Keep ``buf`` as this thread's spare, unless it is too big or not
    bigger than the spare already kept."""
    if len(buf) > _SPARE_MAX:
        return
    spare: bytearray | None = getattr(_shared, "spare", None)
    if spare is None or len(spare) < len(buf):
        _shared.spare = buf


# A connection's own buffer (for what a read left incomplete, between reads,
# and for frames bigger than _SHARED_FRAME, which get room for all of them):
# its least size, and the least room it offers to a read.
_FIRST_SIZE = 16384
_MIN_READ = 65536
# A buffer grown past this for a big frame is freed once it empties.
_KEEP = 1048576
# One buffer of a big frame, at most this size, is kept per thread once its
# connection is done with it, for the next big frame of any connection of
# the thread: a fresh one costs a zero fill and the page faults of every
# page.
_SPARE_MAX = (16 << 20) + 65536
# Room made ahead for a frame whose header is known, at most: a peer that
# announces a huge frame and sends nothing gets no huge allocation.
_MAX_AHEAD = 1 << 20

_unpack_h = struct.Struct("!H").unpack_from
_unpack_ii = struct.Struct("!II").unpack_from

# Largest payload length ws accepts: 2^53 - 1 (upper word <= 2^21 - 1).
_MAX_UPPER = (1 << 21) - 1


class Inflater(Protocol):
    """What the receiver needs from permessage-deflate."""

    def decompress(self, data: Buffer, fin: bool) -> bytes: ...


class Receiver:
    """Parse frames and reassemble messages for one connection.

    Args:
        is_server: frames must be masked (server) or unmasked (client).
        max_payload: largest message in bytes, compressed and inflated;
            ``<= 0`` means no limit.
        max_fragments: most data frames in one message; ``<= 0``: no limit.
        max_buffered_chunks: most received chunks held unparsed; one more
            fails with ``WS_ERR_TOO_MANY_BUFFERED_PARTS``; ``<= 0``: no limit.
        skip_utf8_validation: do not check text messages and close reasons.
        binary_type: ``'nodebuffer'``/``'arraybuffer'`` (bytes) or
            ``'fragments'`` (a list of bytes). May be changed at any time;
            it applies from the next message.
        inflater: the negotiated permessage-deflate object, or ``None``
            (then RSV1 is a protocol error).
        allow_synchronous_events: when false, parsing stops after each
            message, ping or pong and :attr:`on_defer` is called; the owner
            calls :meth:`resume` on a later loop turn.
        on_message: ``(data, is_binary)``.
        on_ping / on_pong: ``(data)``.
        on_close: ``(code, reason)``; 1005 and ``b''`` for an empty close frame.
        on_error: ``(exc: ProtocolError)``; called at most once.
        speedups: hand whole, plain messages to the C fast path when
            ``pyws.speedups`` is built (the same events either way; tests
            and the fuzz targets compare the two).
    """

    __slots__ = (
        "_is_server",
        "max_payload",
        "max_fragments",
        "max_buffered_chunks",
        "_chunks",
        "_need",
        "skip_utf8_validation",
        "binary_type",
        "inflater",
        "_allow_sync",
        "_deliver",
        "on_message",
        "on_ping",
        "on_pong",
        "on_close",
        "on_error",
        "on_defer",
        "_rbuf",
        "_rview",
        "_sview",
        "_shared_read",
        "_shared_off",
        "_rpos",
        "_rlen",
        "_fragments",
        "_frag_opcode",
        "_frag_count",
        "_message_length",
        "_compressed",
        "_decoder",
        "_partial",
        "_partial_checked",
        "done",
        "_held",
        "fragmented_messages",
    )

    def __init__(
        self,
        *,
        is_server: bool,
        on_message: Callable[[Any, bool], object],
        on_ping: Callable[[bytes], object],
        on_pong: Callable[[bytes], object],
        on_close: Callable[[int, bytes], object],
        on_error: Callable[[ProtocolError], object],
        max_payload: int = 100 * 1024 * 1024,
        max_fragments: int = 16384,
        max_buffered_chunks: int = 262144,
        skip_utf8_validation: bool = False,
        binary_type: str = "nodebuffer",
        inflater: Inflater | None = None,
        allow_synchronous_events: bool = True,
        speedups: bool = True,
    ) -> None:
        self._is_server = is_server
        self.max_payload = max_payload
        self.max_fragments = max_fragments
        self.max_buffered_chunks = max_buffered_chunks
        # Received chunks still (partly) held unparsed.
        self._chunks = 0
        # Size of the incomplete frame at the front of the buffer, once its
        # header is known (so the buffer can be grown to hold it at once).
        self._need = 0
        self.skip_utf8_validation = skip_utf8_validation
        self.binary_type = binary_type
        self.inflater = inflater
        self._allow_sync = allow_synchronous_events
        # The C fast path for whole, plain messages (see buffer_util); it
        # delivers many per call, so it is off when every message must be
        # followed by a deferral (allow_synchronous_events false).
        self._deliver = (
            deliver_frames if speedups and allow_synchronous_events else None
        )
        self.on_message = on_message
        self.on_ping = on_ping
        self.on_pong = on_pong
        self.on_close = on_close
        self.on_error = on_error
        self.on_defer: Callable[[], object] | None = None
        # Unparsed input lives in _rbuf[_rpos:_rlen]; the space after _rlen
        # is where the socket reads into (get_buffer / buffer_updated).
        # Allocated on the first read (an idle connection holds none). The
        # buffer is never resized, only replaced, so one view of it serves
        # every read and parse.
        self._rbuf = bytearray()
        self._rview = memoryview(self._rbuf)
        self._rpos = 0
        self._rlen = 0
        # The thread's shared read buffer (see _shared_view), once used, and
        # whether the read in progress goes there.
        self._sview: memoryview | None = None
        self._shared_read = False
        self._shared_off = 0  # kept bytes copied in front of that read
        self._fragments: list[bytes] = []
        self._frag_opcode = 0  # opcode of the fragmented message in progress
        self._frag_count = 0
        self._message_length = 0
        self._compressed = False
        # Strict UTF-8 decoder of the fragmented text message in progress.
        self._decoder: codecs.IncrementalDecoder | None = None
        # Fail-fast check of a text frame still arriving (see _check_partial).
        self._partial: codecs.IncrementalDecoder | None = None
        self._partial_checked = 0
        #: True once a close frame was received or an error raised: every
        #: later byte is ignored.
        self.done = False
        self._held = False
        #: Fragmented messages begun so far (counted at their first frame,
        #: so a whole message in one frame costs nothing): tells the I/O
        #: layer's incompleteMessageTimeout that a new message started.
        self.fragmented_messages = 0

    # -- input ---------------------------------------------------------------

    def feed(self, data: Buffer) -> None:
        """Take bytes from the socket; parse every complete frame in them.

        When nothing is pending, ``data`` is parsed where it lies and only an
        incomplete tail is copied into the buffer.
        """
        if self.done:
            return
        if self._rlen == self._rpos and not self._held:
            view = memoryview(data)
            try:
                self._parse_keeping_tail(view, 0)
            finally:
                view.release()
            return
        if not self._count_chunk():
            return
        self._store(data)
        if not self._held:
            self._parse_buffer()

    def get_buffer(self) -> memoryview:
        """Where the next read should go (``asyncio.BufferedProtocol``).

        Reading straight into a parse buffer saves a copy of every chunk.
        That is the thread's shared buffer, after the incomplete frame this
        connection kept from its last read, if any (copied back in front);
        only for a frame too big for that (or while input is held back by a
        deferral) is it this connection's own buffer, where a frame whose
        header is known gets room for all of it, so a large message arrives
        in one contiguous block.
        """
        pending = self._rlen - self._rpos
        if not self._held and (not pending or self._need <= _SHARED_FRAME):
            view = self._sview
            if view is None:
                view = self._sview = _shared_view()
            self._shared_read = True
            self._shared_off = pending
            if not pending:
                self._rpos = self._rlen = 0
                return view  # the common case: everything was parsed
            # The kept bytes stay kept until buffer_updated: a read that
            # never completes (EAGAIN, EOF) loses nothing.
            view[:pending] = self._rview[self._rpos : self._rlen]
            return view[pending:]
        # (A read that never completed may have left the flag set.)
        self._shared_read = False
        missing = self._need - pending
        self._make_room(max(_MIN_READ, min(missing, _MAX_AHEAD)), self._need)
        return self._rview[self._rlen :]

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` were read into the buffer from :meth:`get_buffer`."""
        if self._shared_read:
            self._shared_read = False
            if self.done:
                self._rpos = self._rlen = 0
                return
            off = self._shared_off
            if off:
                # The kept incomplete frame is in front of the new bytes.
                self._rpos = self._rlen = 0
                if not self._count_chunk():
                    return
            assert self._sview is not None
            chunk = self._sview[: off + nbytes]
            try:
                self._parse_keeping_tail(chunk, off)
            finally:
                chunk.release()
            return
        if self.done:
            self._rpos = self._rlen = 0
            return
        pending = self._rlen > self._rpos
        self._rlen += nbytes
        if pending:
            if not self._count_chunk():
                return
        else:
            self._chunks = 1
        if not self._held:
            self._parse_buffer()

    def _parse_keeping_tail(self, chunk: memoryview, kept: int) -> None:
        """Parse ``chunk`` where it lies (nothing else is pending; its first
        ``kept`` bytes are what the last read left incomplete) and keep what
        is left of it: an incomplete frame, or input held back by a
        deferral, must be copied before anything else is read there."""
        consumed = self._parse(chunk)
        if consumed < len(chunk) and not self.done:
            self._rpos = self._rlen = 0
            self._store(chunk[consumed:])
            if consumed or not kept:
                self._chunks = 1
            # else: the same frame is still incomplete; ws counts every
            # chunk it holds for it (maxBufferedChunks).
        else:
            self._chunks = 0

    def _count_chunk(self) -> bool:
        # ws maxBufferedChunks: a chunk arriving while that many are held.
        if 0 < self.max_buffered_chunks <= self._chunks:
            self._fail("WS_ERR_TOO_MANY_BUFFERED_PARTS", "Too many buffered chunks")
            return False
        self._chunks += 1
        return True

    def _make_room(self, n: int, frame: int = 0) -> None:
        """Make at least ``n`` bytes free after ``_rlen``.

        The buffer doubles as it grows; for a frame whose size ``frame`` is
        known it grows fourfold (fewer steps, so fewer copies of what
        arrived: a 16 MiB frame is copied 5 MiB over, not 15), up to what
        has arrived times four and never past the frame itself unless
        ``n`` needs it (a 16 MiB frame gets a 16 MiB buffer, not 32).
        """
        rbuf = self._rbuf
        pos, end = self._rpos, self._rlen
        if pos == end:
            self._rpos = self._rlen = pos = end = 0
        if len(rbuf) - end >= n:
            return
        held = end - pos
        if pos and len(rbuf) - held >= n:
            # Move the unparsed tail to the front: through the view, one
            # memmove (a bytearray slice would be copied twice).
            view = self._rview
            view[:held] = view[pos:end]
        else:
            if frame:
                size = max(held + n, min(len(rbuf) * 4, held * 4, frame))
            else:
                size = max(len(rbuf) * 2, held + n, _FIRST_SIZE)
            new = _take_spare(size) if size > _KEEP else None
            if new is None:
                new = bytearray(size)
            new[:held] = self._rview[pos:end]
            self._rbuf = new
            self._rview = memoryview(new)
        self._rpos, self._rlen = 0, held

    def _store(self, data: Buffer) -> None:
        n = len(data)
        self._make_room(n)
        end = self._rlen
        self._rbuf[end : end + n] = data
        self._rlen = end + n

    def _parse_buffer(self) -> None:
        view = self._rview[self._rpos : self._rlen]
        try:
            consumed = self._parse(view)
        finally:
            view.release()
        if self.done:
            self._rpos = self._rlen = 0
            return
        self._rpos += consumed
        if self._rpos == self._rlen:
            self._rpos = self._rlen = 0
            self._chunks = 0
            if len(self._rbuf) > _KEEP:
                # Do not keep a big frame's room; the thread may.
                big = self._rbuf
                self._rbuf = bytearray()
                self._rview = memoryview(self._rbuf)
                _give_spare(big)
        elif consumed:
            self._chunks = 1  # what is left came with the latest chunk(s)

    def hold(self) -> None:
        """Stop parsing after the frame being handled (called from a
        callback) or before the next one; later input is kept, unparsed,
        until :meth:`resume`. A front end whose consumer fell behind uses
        this to bound what it queues."""
        self._held = True

    def resume(self) -> None:
        """Continue parsing after a deferral (``allowSynchronousEvents`` off)
        or a :meth:`hold`."""
        if not self._held:
            return
        self._held = False
        if self.done or self._rlen == self._rpos:
            return
        self._parse_buffer()

    def stop(self) -> None:
        """Ignore all further input (terminate, or a failure found elsewhere)."""
        self.done = True
        self._rpos = self._rlen = 0
        self._fragments = []

    @property
    def buffered(self) -> int:
        """Bytes received but not parsed yet."""
        return self._rlen - self._rpos

    @property
    def partial_frame_reads(self) -> int:
        """How many reads the incomplete frame at the front of the input
        has spanned: 1 when it began in the latest read, more when it is
        older; 0 when no frame is incomplete or input is held back (a
        deferral, not the peer, keeps it then)."""
        if self._rlen == self._rpos or self._held or self.done:
            return 0
        return self._chunks

    @property
    def in_fragmented_message(self) -> bool:
        """Whether a fragmented message has begun and not ended."""
        return bool(self._frag_opcode) and not self.done

    # -- the parse loop --------------------------------------------------------

    def _fail(self, code: str, message: str) -> None:
        self._fail_with(protocol_error(code, message))

    def _fail_with(self, exc: ProtocolError) -> None:
        self.stop()
        self.on_error(exc)

    def _parse(self, buf: Buffer) -> int:  # noqa: C901 - one loop on purpose
        """Parse complete frames from ``buf``; return how many bytes were used."""
        n = len(buf)
        pos = 0
        self._need = 0
        mv = memoryview(buf)
        fast = self._deliver
        try:
            while not self.done and not self._held:
                if fast is not None and not self._frag_opcode and self._partial is None:
                    # The common case (whole messages, nothing unusual) in
                    # C; it stops where this loop has something to do.
                    pos = fast(
                        mv,
                        pos,
                        self._is_server,
                        self.max_payload,
                        not self.skip_utf8_validation,
                        self.on_message,
                        self,
                    )
                    if self.done or self._held:
                        return pos
                if n - pos < 2:
                    return pos
                b0 = buf[pos]
                b1 = buf[pos + 1]

                # ws getInfo(): the first two bytes, checked in ws's order.
                if b0 & 0x30:
                    self._fail(
                        "WS_ERR_UNEXPECTED_RSV_2_3", "RSV2 and RSV3 must be clear"
                    )
                    return n
                rsv1 = b0 & 0x40
                if rsv1 and self.inflater is None:
                    self._fail("WS_ERR_UNEXPECTED_RSV_1", "RSV1 must be clear")
                    return n
                fin = b0 & 0x80
                opcode = b0 & 0x0F
                length = b1 & 0x7F
                if opcode == 0:
                    if rsv1:
                        self._fail("WS_ERR_UNEXPECTED_RSV_1", "RSV1 must be clear")
                        return n
                    if not self._frag_opcode:
                        self._fail("WS_ERR_INVALID_OPCODE", "invalid opcode 0")
                        return n
                elif opcode == 1 or opcode == 2:
                    if self._frag_opcode:
                        self._fail("WS_ERR_INVALID_OPCODE", f"invalid opcode {opcode}")
                        return n
                elif 0x08 <= opcode <= 0x0A:
                    if not fin:
                        self._fail("WS_ERR_EXPECTED_FIN", "FIN must be set")
                        return n
                    if rsv1:
                        self._fail("WS_ERR_UNEXPECTED_RSV_1", "RSV1 must be clear")
                        return n
                    if length > 125 or (opcode == 0x08 and length == 1):
                        self._fail(
                            "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
                            f"invalid payload length {length}",
                        )
                        return n
                else:
                    self._fail("WS_ERR_INVALID_OPCODE", f"invalid opcode {opcode}")
                    return n
                masked = b1 & 0x80
                if self._is_server:
                    if not masked:
                        self._fail("WS_ERR_EXPECTED_MASK", "MASK must be set")
                        return n
                elif masked:
                    self._fail("WS_ERR_UNEXPECTED_MASK", "MASK must be clear")
                    return n

                # Extended payload length (RFC 6455 section 5.2).
                hlen = 2
                if length == 126:
                    if n - pos < 4:
                        return pos
                    length = (buf[pos + 2] << 8) | buf[pos + 3]
                    hlen = 4
                elif length == 127:
                    if n - pos < 10:
                        return pos
                    upper, lower = _unpack_ii(buf, pos + 2)
                    if upper > _MAX_UPPER:
                        self._fail(
                            "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
                            "Unsupported WebSocket frame: payload length > 2^53 - 1",
                        )
                        return n
                    length = (upper << 32) | lower
                    hlen = 10

                # ws haveLength(): the message size, before buffering it.
                if length and opcode < 0x08:
                    total = self._message_length + length
                    if 0 < self.max_payload < total:
                        self._fail(
                            "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
                            "Max payload size exceeded",
                        )
                        return n

                start = pos + hlen + (4 if masked else 0)
                end = start + length
                if end > n:
                    self._need = end - pos
                    if (
                        n > start
                        and (
                            (opcode == 1 and not rsv1)
                            or (
                                opcode == 0
                                and self._frag_opcode == 1
                                and not self._compressed
                            )
                        )
                        and not self.skip_utf8_validation
                        and not self._check_partial(mv, start, n, masked)
                    ):
                        return n
                    return pos
                if self._partial is not None:
                    self._partial = None
                    self._partial_checked = 0
                if masked:
                    key = bytes(mv[start - 4 : start])
                    payload = apply_mask(mv[start:end], key)
                else:
                    payload = bytes(mv[start:end])
                pos = end

                if opcode >= 0x08:
                    self._control(opcode, payload)
                    if not self._allow_sync and not self.done:
                        self._defer()
                    continue

                # Data frame.
                if opcode:
                    self._compressed = bool(rsv1)
                    self._message_length = 0
                    if not fin:
                        self._frag_opcode = opcode
                        self._frag_count = 0
                        self.fragmented_messages += 1
                else:
                    opcode = self._frag_opcode
                self._message_length += length
                if self._frag_opcode:
                    # Counted before inflating, as ws does (getData).
                    self._frag_count += 1
                    if 0 < self.max_fragments < self._frag_count:
                        self._fail(
                            "WS_ERR_TOO_MANY_BUFFERED_PARTS",
                            "Too many message fragments",
                        )
                        return n
                if self._compressed:
                    assert self.inflater is not None
                    # The inflater enforces maxPayload on the inflated size
                    # while inflating (a bomb never fills memory).
                    try:
                        payload = self.inflater.decompress(payload, bool(fin))
                    except ProtocolError as exc:
                        self._fail_with(exc)
                        return n

                if fin and not self._frag_opcode:
                    # The common case: a whole message in one frame.
                    self._message_length = 0
                    if opcode == 1:
                        if not self.skip_utf8_validation:
                            try:
                                payload.decode()
                            except UnicodeDecodeError:
                                self._fail(
                                    "WS_ERR_INVALID_UTF8", "invalid UTF-8 sequence"
                                )
                                return n
                        self.on_message(payload, False)
                    elif self.binary_type == "fragments":
                        self.on_message([payload] if payload else [], True)
                    else:
                        self.on_message(payload, True)
                    if not self._allow_sync and not self.done:
                        self._defer()
                    continue

                # Fragmented message (RFC 6455 section 5.4).
                if opcode == 1 and not self.skip_utf8_validation:
                    # Fail at the fragment holding invalid UTF-8 (section 8.1).
                    decoder = self._decoder
                    if decoder is None:
                        decoder = self._decoder = utf8_decoder()
                    try:
                        decoder.decode(payload, bool(fin))
                    except UnicodeDecodeError:
                        self._fail("WS_ERR_INVALID_UTF8", "invalid UTF-8 sequence")
                        return n
                if payload:
                    self._fragments.append(payload)
                if not fin:
                    continue
                fragments = self._fragments
                self._fragments = []
                self._frag_opcode = 0
                self._message_length = 0
                self._decoder = None
                if opcode == 2 and self.binary_type == "fragments":
                    self.on_message(fragments, True)
                else:
                    data = b"".join(fragments) if len(fragments) != 1 else fragments[0]
                    self.on_message(data, opcode == 2)
                if not self._allow_sync and not self.done:
                    self._defer()
            return pos
        finally:
            mv.release()

    def _check_partial(self, mv: memoryview, start: int, n: int, masked: int) -> bool:
        """Validate the UTF-8 of a text frame whose end has not arrived yet.

        RFC 6455 section 8.1: fail as soon as the bytes cannot be UTF-8, not
        when the frame is complete (Autobahn 6.4.3/6.4.4 "fail fast"). Each
        byte is checked once: the decoder keeps its state between chunks.
        Returns False after failing the connection.
        """
        checked = self._partial_checked
        if n - start <= checked:
            return True
        chunk = mv[start + checked : n]
        if masked:
            key = bytes(mv[start - 4 : start])
            turn = checked & 3
            data = apply_mask(chunk, key[turn:] + key[:turn])
        else:
            data = bytes(chunk)
        decoder = self._partial
        if decoder is None:
            decoder = self._partial = utf8_decoder()
            if self._decoder is not None:  # continue the message's state
                decoder.setstate(self._decoder.getstate())
        try:
            decoder.decode(data, False)
        except UnicodeDecodeError:
            self._fail("WS_ERR_INVALID_UTF8", "invalid UTF-8 sequence")
            return False
        self._partial_checked = n - start
        return True

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == 0x08:
            if not payload:
                self.done = True
                self.on_close(1005, b"")
                return
            code = _unpack_h(payload)[0]
            if not is_valid_status_code(code):
                self._fail("WS_ERR_INVALID_CLOSE_CODE", f"invalid status code {code}")
                return
            reason = payload[2:]
            if not self.skip_utf8_validation:
                try:
                    reason.decode()
                except UnicodeDecodeError:
                    self._fail("WS_ERR_INVALID_UTF8", "invalid UTF-8 sequence")
                    return
            # ws L97: after a close frame, every later byte is ignored.
            self.done = True
            self._rpos = self._rlen = 0
            self.on_close(code, reason)
        elif opcode == 0x09:
            self.on_ping(payload)
        else:
            self.on_pong(payload)

    def _defer(self) -> None:
        self._held = True
        if self.on_defer is not None:
            self.on_defer()
