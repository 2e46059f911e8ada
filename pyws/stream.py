"""``createWebSocketStream``: a WebSocket as a byte stream (ws ``stream.js``).

ws returns a Node ``Duplex``; the Python counterpart is an object with the
methods of asyncio's ``StreamReader`` and ``StreamWriter``, so code written
for ``asyncio.open_connection`` can run over a WebSocket:

- reading: every message is appended to the stream, as bytes (as ``str``
  with the ``encoding`` option); when more than ``highWaterMark`` bytes
  wait unread, the WebSocket is paused, and resumed once they are read (ws
  pauses and resumes the same way); the WebSocket's ``'close'`` ends the
  stream (``read()`` returns ``b''``), its ``'error'`` is raised by the
  next read. With ``readableObjectMode``, ``read()`` returns one message at
  a time (text as ``str``, as ws pushes it; ``None`` at the end) and
  ``highWaterMark`` counts messages;
- writing: ``write()`` sends each chunk as a binary message (after
  ``'open'``: earlier chunks wait, as in ws); a ``str`` is encoded with
  ``defaultEncoding``, or sent as a text message with
  ``decodeStrings: False``; ``write()`` returns False once
  ``writableHighWaterMark`` bytes wait to be sent; ``drain()`` waits while
  the WebSocket is over its ``highWaterMark`` (send-side backpressure);
  ``write_eof()`` (ws ``end()``) starts the closing handshake; ``close()``
  (ws ``destroy()``) terminates.

The options are Node's Duplex options (``parse_options`` with
:data:`~pyws._options.STREAM_OPTIONS`): either spelling, an unknown one is
a ``TypeError``. The stream is also an EventEmitter: ``'end'`` once the
reader reached the end, ``'close'`` when the WebSocket closed, ``'error'``
(to listeners only; the next read raises it anyway).

Facade layer.
"""

from __future__ import annotations

import asyncio
import binascii
import codecs
import io
import sys
from collections import deque
from collections.abc import Mapping
from typing import Any

from ._emitter import NodeEventEmitter
from ._options import STREAM_OPTIONS, parse_options
from .errors import NotOpenError
from .websocket import WebSocket, loop_of

__all__ = ["createWebSocketStream", "create_websocket_stream", "WebSocketStream"]

_DEFAULT_HIGH_WATER_MARK = 65536
#: Node's default for an object-mode stream: 16 objects.
_DEFAULT_OBJECT_HIGH_WATER_MARK = 16

# Node's encoding names -> Python codecs ('hex' and 'base64' are handled
# apart: they are not text codecs in Python).
_CODECS = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "latin1": "latin-1",
    "binary": "latin-1",
    "ascii": "ascii",
    "utf16le": "utf-16-le",
    "utf-16le": "utf-16-le",
    "ucs2": "utf-16-le",
    "ucs-2": "utf-16-le",
    "hex": "hex",
    "base64": "base64",
}


def _node_encoding(name: str, option: str) -> str:
    codec = _CODECS.get(name.lower())
    if codec is None:
        raise ValueError(f"option {option!r}: unknown encoding {name!r}")
    return codec


class _Decoder:
    """Node's ``StringDecoder``: bytes to str across chunk boundaries."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self.tail = b""
        self.text = (
            codecs.getincrementaldecoder(codec)(errors="replace")
            if codec not in ("hex", "base64")
            else None
        )

    def decode(self, data: bytes, final: bool = False) -> str:
        if self.text is not None:
            return self.text.decode(data, final)
        if self.codec == "hex":
            return data.hex()
        data = self.tail + data  # base64 encodes whole 3-byte groups
        cut = len(data) if final else len(data) - len(data) % 3
        self.tail = data[cut:]
        return binascii.b2a_base64(data[:cut], newline=False).decode()


def _encode(text: str, codec: str) -> bytes:
    if codec == "hex":
        return bytes.fromhex(text)
    if codec == "base64":
        return binascii.a2b_base64(text)
    return text.encode(codec)


class _PauseTransport:
    """What asyncio.StreamReader needs to apply back-pressure: the
    WebSocket's pause()/resume()."""

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws

    def pause_reading(self) -> None:
        self._ws.pause()

    def resume_reading(self) -> None:
        self._ws.resume()


class WebSocketStream(NodeEventEmitter):
    """A duplex byte stream over a :class:`~pyws.WebSocket`."""

    def __init__(self, ws: WebSocket, options: Mapping[str, Any] | int) -> None:
        super().__init__()
        if not isinstance(options, Mapping):  # the former (ws, high_water_mark)
            options = {"highWaterMark": options}
        opts = {name: o.default for name, o in STREAM_OPTIONS.items()}
        opts.update(options)
        self.ws = ws
        self.object_mode: bool = opts["readableObjectMode"]
        shared = opts["highWaterMark"]
        readable_hwm = opts["readableHighWaterMark"]
        if readable_hwm is None:
            readable_hwm = shared
        if readable_hwm is None:
            readable_hwm = (
                _DEFAULT_OBJECT_HIGH_WATER_MARK
                if self.object_mode
                else _DEFAULT_HIGH_WATER_MARK
            )
        writable_hwm = opts["writableHighWaterMark"]
        if writable_hwm is None:
            writable_hwm = shared if shared is not None else _DEFAULT_HIGH_WATER_MARK
        self.high_water_mark: int = readable_hwm
        self.writable_high_water_mark: int = writable_hwm
        encoding = opts["encoding"]
        self.encoding: str | None = encoding
        self._decoder = (
            _Decoder(_node_encoding(encoding, "encoding"))
            if encoding is not None
            else None
        )
        self._decode_strings: bool = opts["decodeStrings"]
        self._default_codec = _node_encoding(opts["defaultEncoding"], "defaultEncoding")
        self._allow_half_open: bool = opts["allowHalfOpen"]
        self._write_ended = False
        self._end_emitted = False
        loop = loop_of(ws)
        self._loop = loop
        # Bytes mode: an asyncio StreamReader (it pauses its transport above
        # 2 * limit). Object mode: a queue of messages.
        self._reader = asyncio.StreamReader(limit=max(1, readable_hwm // 2), loop=loop)
        self._reader.set_transport(_PauseTransport(ws))  # type: ignore[arg-type]
        self._messages: deque[Any] = deque()
        self._message_waiter: asyncio.Future[None] | None = None
        self._ended = False
        self._exception: BaseException | None = None
        self._paused_by_us = False
        self._pending: list[Any] = []
        self._closed: asyncio.Future[None] = loop.create_future()
        self._pipes: set[asyncio.Task[None]] = set()
        ws.on("message", self._on_message)
        ws.on("close", self._on_close)
        ws.on("error", self._on_error)
        ws.once("open", self._flush_pending)

    # -- WebSocket events ------------------------------------------------------

    def _on_message(self, data: Any, is_binary: bool) -> None:
        if isinstance(data, list):  # binaryType 'fragments'
            data = b"".join(data)
        if self.object_mode:
            # ws pushes text as a string in object mode.
            self._messages.append(bytes(data) if is_binary else bytes(data).decode())
            if len(self._messages) >= self.high_water_mark and not self.ws.isPaused:
                self._paused_by_us = True
                self.ws.pause()
            self._wake()
            return
        self._reader.feed_data(bytes(data))

    def _on_close(self, code: int, reason: bytes) -> None:
        self._ended = True
        self._wake()
        if not self._reader.at_eof():
            self._reader.feed_eof()
        if not self._allow_half_open:
            self._write_ended = True  # Node ends the writable side too
        if not self._closed.done():
            self._closed.set_result(None)
        self._dispatch("close")

    def _on_error(self, err: BaseException) -> None:
        if isinstance(err, Exception):
            self._exception = err
            self._reader.set_exception(err)
            self._wake()
        if self._events.get("error"):
            self._dispatch("error", err)

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending, []
        for chunk in pending:
            self._send(chunk)

    def _wake(self) -> None:
        waiter = self._message_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- reading (asyncio.StreamReader) ----------------------------------------

    def _out(self, data: bytes) -> Any:
        """What a read returns: bytes, or str with ``encoding``; ``'end'``
        once the reader reached the end."""
        if not data and self._reader.at_eof():
            self._emit_end()
        if self._decoder is None:
            return data
        return self._decoder.decode(data, final=self._reader.at_eof())

    def _emit_end(self) -> None:
        if not self._end_emitted:
            self._end_emitted = True
            self._loop.call_soon(self._dispatch, "end")

    async def read(self, n: int = -1) -> Any:
        """Up to ``n`` bytes (all until the end for -1); ``b''`` at the end.

        In object mode: the next message, ``None`` at the end.
        """
        if self.object_mode:
            return await self._next_message()
        return self._out(await self._reader.read(n))

    async def readexactly(self, n: int) -> Any:
        """Exactly ``n`` bytes (``asyncio.IncompleteReadError`` at the end)."""
        self._bytes_only("readexactly")
        return self._out(await self._reader.readexactly(n))

    async def readline(self) -> Any:
        """One line, ``\\n`` included."""
        self._bytes_only("readline")
        return self._out(await self._reader.readline())

    async def readuntil(self, separator: bytes = b"\n") -> Any:
        """Bytes up to and including ``separator``."""
        self._bytes_only("readuntil")
        return self._out(await self._reader.readuntil(separator))

    def at_eof(self) -> bool:
        """Whether the WebSocket closed and everything was read."""
        if self.object_mode:
            return self._ended and not self._messages
        return self._reader.at_eof()

    def _bytes_only(self, name: str) -> None:
        if self.object_mode:
            raise TypeError(f"{name}() reads bytes; in object mode use read()")

    async def _next_message(self) -> Any:
        while not self._messages:
            if self._exception is not None:
                exc, self._exception = self._exception, None
                raise exc
            if self._ended:
                self._emit_end()
                return None
            self._message_waiter = self._loop.create_future()
            try:
                await self._message_waiter
            finally:
                self._message_waiter = None
        message = self._messages.popleft()
        if self._paused_by_us and len(self._messages) < self.high_water_mark:
            self._paused_by_us = False
            self.ws.resume()
        return message

    def __aiter__(self) -> WebSocketStream:
        return self

    async def __anext__(self) -> Any:
        """Messages in object mode, lines otherwise."""
        if self.object_mode:
            message = await self._next_message()
            if message is None:
                raise StopAsyncIteration
            return message
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line

    def pipe(self, destination: Any, options: Mapping[str, Any] | None = None) -> Any:
        """Node's ``readable.pipe(destination[, {end}])``; returns ``destination``.

        Everything read from the stream is written to ``destination``: a
        file object (``sys.stdout``: ``str`` chunks as text, bytes to its
        ``buffer``; flushed after each chunk, as Node's ``process.stdout``
        is unbuffered), another stream or an ``asyncio.StreamWriter``
        (``drain()`` is awaited when ``write()`` returns False). At the
        end, ``destination`` is ended (``end()``, ``write_eof()`` or
        ``close()``) unless ``{"end": False}``; ``sys.stdout`` and
        ``sys.stderr`` never are, as in Node. An error of the WebSocket
        stops the piping without ending ``destination`` (Node unpipes);
        the stream's ``'error'`` listeners get it as always.
        """
        end = True
        for name, value in (options or {}).items():
            if name != "end":
                raise TypeError(f"pipe(): unknown option {name!r}")
            end = bool(value)
        task = self._loop.create_task(self._pipe(destination, end))
        self._pipes.add(task)
        task.add_done_callback(self._pipes.discard)
        return destination

    async def _pipe(self, destination: Any, end: bool) -> None:
        text_file = isinstance(destination, io.TextIOBase)
        flush = getattr(destination, "flush", None)
        drain = getattr(destination, "drain", None)
        while True:
            try:
                chunk = await self.read(self.high_water_mark)
            except Exception:  # reported through the stream's 'error'
                return
            if chunk is None or (not chunk and self.at_eof()):
                break
            if not chunk:
                continue
            if text_file and not isinstance(chunk, str):
                destination.flush()
                destination.buffer.write(chunk)
                destination.buffer.flush()
                continue
            if destination.write(chunk) is False and drain is not None:
                await drain()
            elif flush is not None:
                flush()
        if not end or destination is sys.stdout or destination is sys.stderr:
            return
        for name in ("end", "write_eof", "close"):
            finish = getattr(destination, name, None)
            if finish is not None:
                finish()
                return

    # -- writing (asyncio.StreamWriter) ----------------------------------------

    def write(self, data: Any) -> bool:
        """Send ``data`` as one message (queued until ``'open'``).

        Bytes-like data is binary; a ``str`` is encoded with
        ``defaultEncoding`` and sent as binary, or sent as text with
        ``decodeStrings: False``. Returns False once more than
        ``writableHighWaterMark`` bytes wait to be sent (Node's
        ``write()``), True otherwise.
        """
        if self._write_ended:
            raise RuntimeError("write after end")
        if isinstance(data, str) and self._decode_strings:
            data = _encode(data, self._default_codec)
        elif not isinstance(data, str):
            data = bytes(data)
        if self.ws.readyState == WebSocket.CONNECTING:
            self._pending.append(data)
        else:
            self._send(data)
        waiting = self.ws.bufferedAmount + sum(len(c) for c in self._pending)
        return waiting < self.writable_high_water_mark

    def _send(self, data: Any) -> None:
        if isinstance(data, str):
            self.ws.send(data)  # decodeStrings: False, a text message
        else:
            self.ws.send(data, binary=True)

    def writelines(self, data: Any) -> None:
        for chunk in data:
            self.write(chunk)

    async def drain(self) -> None:
        """Wait while the WebSocket is over its ``highWaterMark`` (the
        WebSocket's option; the stream's own ``highWaterMark`` bounds unread
        input) until its ``'drain'``; return at once under it, as
        ``StreamWriter.drain`` does."""
        ws = self.ws
        if ws.readyState == WebSocket.CONNECTING:
            await ws.wait_open()
        if ws.readyState != WebSocket.OPEN:
            return
        try:
            await ws.drain()
        except NotOpenError:
            return  # closed meanwhile: 'close' ends the stream

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """End the writable side: the closing handshake (ws ``end()``)."""
        self._write_ended = True
        if self.ws.readyState == WebSocket.CONNECTING:
            self.ws.once("open", lambda: self.ws.close())
            return
        self.ws.close()

    end = write_eof

    def close(self) -> None:
        """Destroy the stream: terminate the WebSocket (ws ``destroy()``)."""
        self._write_ended = True
        self.ws.terminate()

    destroy = close

    def is_closing(self) -> bool:
        return self.ws.readyState >= WebSocket.CLOSING

    async def wait_closed(self) -> None:
        """Wait for the WebSocket's ``'close'``."""
        await asyncio.shield(self._closed)


def createWebSocketStream(  # noqa: N802 - ws spelling
    ws: WebSocket, options: Mapping[str, Any] | None = None, **kwargs: Any
) -> WebSocketStream:
    """Wrap ``ws`` in a duplex stream (ws ``createWebSocketStream``).

    Options, Node's Duplex options in either spelling (see the module
    docstring): ``encoding``, ``readableObjectMode``, ``highWaterMark``,
    ``readableHighWaterMark``, ``writableHighWaterMark``, ``decodeStrings``,
    ``defaultEncoding``, ``allowHalfOpen``; ``objectMode``,
    ``writableObjectMode``, ``autoDestroy`` and ``emitClose`` are accepted
    and forced off, as ws does. An unknown option raises ``TypeError``.
    """
    opts = parse_options(STREAM_OPTIONS, options, kwargs, "createWebSocketStream")
    # ws: {...options, autoDestroy: false, emitClose: false,
    # objectMode: false, writableObjectMode: false}
    for forced in ("objectMode", "writableObjectMode", "autoDestroy", "emitClose"):
        opts[forced] = False
    return WebSocketStream(ws, opts)


create_websocket_stream = createWebSocketStream
