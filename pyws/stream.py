"""``createWebSocketStream``: a WebSocket as a byte stream (ws ``stream.js``).

ws returns a Node ``Duplex``; the Python counterpart is an object with the
methods of asyncio's ``StreamReader`` and ``StreamWriter``, so code written
for ``asyncio.open_connection`` can run over a WebSocket:

- reading: every message is appended to the stream, as bytes; when more than
  ``highWaterMark`` bytes wait unread, the WebSocket is paused, and resumed
  once they are read (ws pauses and resumes the same way); the WebSocket's
  ``'close'`` ends the stream (``read()`` returns ``b''``), its ``'error'``
  is raised by the next read;
- writing: ``write()`` sends each chunk as a binary message (after
  ``'open'``: earlier chunks wait, as in ws); ``drain()`` waits while the
  WebSocket is over its ``highWaterMark`` (send-side backpressure);
  ``write_eof()`` (ws ``end()``) starts the closing handshake; ``close()``
  (ws ``destroy()``) terminates.

Facade layer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from .errors import NotOpenError
from .websocket import WebSocket, loop_of

__all__ = ["createWebSocketStream", "create_websocket_stream", "WebSocketStream"]

_DEFAULT_HIGH_WATER_MARK = 65536


class _PauseTransport:
    """What asyncio.StreamReader needs to apply back-pressure: the
    WebSocket's pause()/resume()."""

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws

    def pause_reading(self) -> None:
        self._ws.pause()

    def resume_reading(self) -> None:
        self._ws.resume()


class WebSocketStream:
    """A duplex byte stream over a :class:`~pyws.WebSocket`."""

    def __init__(self, ws: WebSocket, high_water_mark: int) -> None:
        self.ws = ws
        self.high_water_mark = high_water_mark
        loop = loop_of(ws)
        # StreamReader pauses its transport above 2 * limit.
        self._reader = asyncio.StreamReader(
            limit=max(1, high_water_mark // 2), loop=loop
        )
        self._reader.set_transport(_PauseTransport(ws))  # type: ignore[arg-type]
        self._pending: list[bytes] = []
        self._closed: asyncio.Future[None] = loop.create_future()
        ws.on("message", self._on_message)
        ws.on("close", self._on_close)
        ws.on("error", self._on_error)
        ws.once("open", self._flush_pending)

    # -- WebSocket events ------------------------------------------------------

    def _on_message(self, data: Any, is_binary: bool) -> None:
        if isinstance(data, list):  # binaryType 'fragments'
            data = b"".join(data)
        self._reader.feed_data(bytes(data))

    def _on_close(self, code: int, reason: bytes) -> None:
        if not self._reader.at_eof():
            self._reader.feed_eof()
        if not self._closed.done():
            self._closed.set_result(None)

    def _on_error(self, err: BaseException) -> None:
        if isinstance(err, Exception):
            self._reader.set_exception(err)

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending, []
        for chunk in pending:
            self.ws.send(chunk, binary=True)

    # -- reading (asyncio.StreamReader) ----------------------------------------

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all until the end for -1); ``b''`` at the end."""
        return await self._reader.read(n)

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes (``asyncio.IncompleteReadError`` at the end)."""
        return await self._reader.readexactly(n)

    async def readline(self) -> bytes:
        """One line, ``\\n`` included."""
        return await self._reader.readline()

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        """Bytes up to and including ``separator``."""
        return await self._reader.readuntil(separator)

    def at_eof(self) -> bool:
        """Whether the WebSocket closed and everything was read."""
        return self._reader.at_eof()

    # -- writing (asyncio.StreamWriter) ----------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` as one binary message (queued until ``'open'``)."""
        if self.ws.readyState == WebSocket.CONNECTING:
            self._pending.append(bytes(data))
            return
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
        if self.ws.readyState == WebSocket.CONNECTING:
            self.ws.once("open", lambda: self.ws.close())
            return
        self.ws.close()

    end = write_eof

    def close(self) -> None:
        """Destroy the stream: terminate the WebSocket (ws ``destroy()``)."""
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
    """Wrap ``ws`` in a duplex byte stream (ws ``createWebSocketStream``).

    Options: ``highWaterMark`` / ``high_water_mark`` (bytes of unread
    messages before the WebSocket is paused; default 65536).
    """
    merged = dict(options or {})
    merged.update(kwargs)
    hwm = _DEFAULT_HIGH_WATER_MARK
    for key, value in merged.items():
        if key not in ("highWaterMark", "high_water_mark"):
            raise TypeError(f"createWebSocketStream: unknown option {key!r}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"option {key!r} must be a positive int, not {value!r}")
        hwm = value
    return WebSocketStream(ws, hwm)


create_websocket_stream = createWebSocketStream
