"""Messages kept for ``await ws.recv()`` and ``async for message in ws``.

The events stay the primary API; an :class:`Inbox` is made the first time
a program asks for messages the Python way (``recv()``, ``async for``,
``async with``, ``wait_open()``), and from then on it listens to
``'message'``, ``'error'`` and ``'close'`` like any other listener, so both
styles work on the same WebSocket. A WebSocket that is only used through
events never has one, and pays nothing for it.

What a message is: text messages come as ``str``, binary ones as ``bytes``
(``binaryType = 'fragments'`` is joined into one ``bytes``), so
``isinstance(message, str)`` tells them apart, as in websockets.

Backpressure (websockets' ``max_queue``): when ``maxQueue`` messages are
waiting unread, reading from the socket is held until the queue is down to
a quarter of that; ``maxQueue = 0`` never holds (the queue is then bounded
only by what the peer sends).

How it ends: once ``'close'`` was emitted and the queue is empty,
``recv()`` raises :class:`~pyws.errors.ConnectionClosedOK` for 1000, 1001
and 1005 (``async for`` stops) and
:class:`~pyws.errors.ConnectionClosedError` for any other code, with the
``'error'`` that failed the connection as its ``__cause__``.

Facade layer: asyncio only; it reaches the WebSocket through the events
and the ``hold`` callback it is given.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from .errors import (
    NORMAL_CLOSE_CODES,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
)

__all__ = ["Inbox", "Message"]

#: What ``recv()`` returns: ``str`` for text, ``bytes`` for binary.
Message = str | bytes


class Inbox:
    """A bounded queue of received messages for one WebSocket.

    Args:
        emitter: the WebSocket (its events are listened to).
        loop: the loop futures are made on.
        max_queue: unread messages that hold reading (0: never hold).
        hold: ``hold(True)`` stops reading from the socket, ``hold(False)``
            restarts it (unless the user paused the WebSocket).
    """

    def __init__(
        self,
        emitter: Any,
        loop: asyncio.AbstractEventLoop,
        max_queue: int,
        hold: Callable[[bool], None],
    ) -> None:
        self._loop = loop
        self._queue: deque[Message] = deque()
        self._high = max_queue
        self._low = max_queue // 4
        self._hold = hold
        self._held = False
        self._waiter: asyncio.Future[None] | None = None
        self._closed: ConnectionClosed | None = None
        self._error: BaseException | None = None
        emitter.on("message", self._on_message)
        emitter.on("error", self._on_error)
        emitter.on("close", self._on_close)

    def __len__(self) -> int:
        return len(self._queue)

    # -- listeners -------------------------------------------------------------

    def _on_message(self, data: Any, is_binary: bool) -> None:
        if isinstance(data, list):  # binaryType 'fragments'
            data = b"".join(data)
        self._queue.append(bytes(data) if is_binary else bytes(data).decode())
        self._wake()
        if self._high and not self._held and len(self._queue) >= self._high:
            self._held = True
            self._hold(True)

    def _on_error(self, err: BaseException) -> None:
        if self._error is None:
            self._error = err

    def _on_close(self, code: int, reason: bytes) -> None:
        text = bytes(reason).decode(errors="replace")
        if code in NORMAL_CLOSE_CODES and self._error is None:
            self._closed = ConnectionClosedOK(code, text)
        else:
            self._closed = ConnectionClosedError(code, text)
            self._closed.__cause__ = self._error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- reading ---------------------------------------------------------------

    def get_nowait(self) -> Message | None:
        """The next message, or None if none is waiting; raises
        :class:`~pyws.errors.ConnectionClosed` once closed and empty."""
        queue = self._queue
        if queue:
            message = queue.popleft()
            if self._held and len(queue) <= self._low:
                self._held = False
                self._hold(False)
            return message
        if self._closed is not None:
            raise self._closed
        return None

    async def get(self, timeout: float | None = None) -> Message:
        """Wait for the next message (``timeout`` in seconds, like asyncio;
        ``asyncio.TimeoutError`` on expiry, the message stays queued)."""
        message = self.get_nowait()
        if message is not None:
            return message
        deadline = None if timeout is None else self._loop.time() + timeout
        while True:
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = self._loop.create_future()
            remaining = None if deadline is None else deadline - self._loop.time()
            if remaining is not None and remaining <= 0:
                raise asyncio.TimeoutError
            # shield: a timed-out or cancelled reader leaves the shared
            # waiter for the next one.
            await asyncio.wait_for(asyncio.shield(waiter), remaining)
            message = self.get_nowait()
            if message is not None:
                return message
