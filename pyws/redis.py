"""Fan-out across processes and hosts on Redis pub/sub (optional).

Install with ``pip install 'pyws-node[redis]'`` (redis-py's asyncio
client). :class:`RedisFanout` joins a :class:`~pyws.WebSocketServer` to a
Redis channel: :meth:`RedisFanout.publish` sends a message to the matching
clients of this server at once (through ``wss.broadcast``: framed once) and
publishes it on the channel; every other ``RedisFanout`` on the same
channel, in any process on any host, broadcasts it to its own clients::

    wss = pyws.WebSocketServer(port=8080)
    room = pyws.redis.RedisFanout(wss, "redis://127.0.0.1:6379/0", channel="room")
    wss.on("connection", lambda ws, req: ws.on(
        "message", lambda data, is_binary: room.publish(data, binary=is_binary)))

Order: each process sees its own messages first, then the others' in the
order Redis delivered them; two processes may interleave differently.

When Redis is unreachable or restarts
    Both connections (one subscribed, one publishing) reconnect by
    themselves, waiting ``reconnectDelay`` ms, then twice as long each
    time, up to ``reconnectDelayMax`` ms; a connection that works again
    resets the delay. Meanwhile:

    - local delivery goes on: clients of this server get this server's
      messages;
    - messages to publish wait in a queue, in order, and go out when Redis
      is back. The queue holds at most ``maxPending`` messages and
      ``maxPendingBytes`` bytes; past that the oldest are dropped and
      counted in :attr:`RedisFanout.dropped`;
    - messages other processes publish while this one is not subscribed
      are lost: Redis pub/sub keeps nothing for an absent subscriber.

    Each of these is reported with an ``'error'`` event, once per outage:
    :class:`FanoutDisconnected` when the subscription is lost (remote
    messages are being missed from then on), :class:`FanoutOverflow` when
    the queue first drops a message. ``'ready'`` is emitted each time the
    subscription is (re)established. Nothing is lost without one of these
    errors, and memory stays within the two bounds.

On the channel
    A message is ``0xff``, a flags byte (bit 0: binary), the 8-byte id of
    the publishing fanout, then the payload. Anything else published on
    the channel (``redis-cli publish room hello``) is delivered as text if
    it is UTF-8, else as binary.

Facade layer: pyee (through ``_emitter``), the public ``WebSocketServer``
API, and redis-py, imported when this module is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from typing_extensions import Unpack

from ._emitter import NodeEventEmitter
from ._options import REDIS_OPTIONS, call_options, parse_options
from .typing import PublishOptions, RedisFanoutOptions
from .websocket import to_bytes
from .websocket_server import WebSocketServer

__all__ = ["RedisFanout", "FanoutDisconnected", "FanoutOverflow"]

_MAGIC = 0xFF
_BINARY = 0x01
_HEADER = 10  # magic, flags, 8-byte origin

#: Defaults of the options (ws units: ms, bytes); the options themselves,
#: with their types and ranges, are ``pyws._options.REDIS_OPTIONS``.
DEFAULTS: dict[str, Any] = {name: o.default for name, o in REDIS_OPTIONS.items()}
#: What ``publish()`` takes, as a dict or keywords.
_PUBLISH_OPTIONS = frozenset(("binary",))
#: Most messages sent in one pipelined round trip.
_BATCH = 1000
#: How long a subscriber waits for a message before looking again.
_POLL_S = 1.0

#: Errors that mean "Redis is not there" (redis-py wraps most in RedisError).
_IO_ERRORS = (RedisError, OSError, asyncio.TimeoutError, EOFError)


class FanoutDisconnected(ConnectionError):
    """The subscription to Redis is lost: messages other processes publish
    are not received until ``'ready'``."""


class FanoutOverflow(BufferError):
    """The queue of messages waiting for Redis is full: the oldest are being
    dropped (see :attr:`RedisFanout.dropped`)."""


def _options(
    options: RedisFanoutOptions | None, kwargs: RedisFanoutOptions
) -> dict[str, Any]:
    merged = parse_options(REDIS_OPTIONS, options, kwargs, "RedisFanout")
    if merged["reconnectDelayMax"] < merged["reconnectDelay"]:
        raise ValueError("RedisFanout: reconnectDelayMax must be >= reconnectDelay")
    return merged


class _Backoff:
    def __init__(self, first_ms: float, max_ms: float) -> None:
        self.first = first_ms / 1000
        self.max = max_ms / 1000
        self.next = self.first

    def reset(self) -> None:
        self.next = self.first

    def take(self) -> float:
        delay = self.next
        self.next = min(self.next * 2, self.max)
        return delay


class RedisFanout(NodeEventEmitter):
    """Join ``wss`` to a Redis pub/sub ``channel`` (see the module docs).

    Args:
        wss: the server whose clients get the messages.
        url: a redis-py URL (``redis://host:port/db``, ``rediss://``,
            ``unix://``).
        options / keywords (camelCase names or PEP 8 twins, as for
            :class:`~pyws.WebSocketServer`: an unknown or doubled option or
            a value of the wrong type raises ``TypeError``, one out of range
            ``ValueError``): ``channel`` (default ``'pyws'``), ``filter``
            (``filter(ws) -> bool``: which clients get the channel's
            messages), ``maxPending`` (10,000 messages) and
            ``maxPendingBytes`` (16 MiB): the bounds of the queue while
            Redis is away, ``reconnectDelay`` (100 ms) and
            ``reconnectDelayMax`` (5,000 ms), ``connectTimeout`` (2,000 ms).

    Events: ``'ready'`` (subscribed, again after each reconnection),
    ``'error'(err)`` (see the module docs), ``'close'``.

    Create it on the running loop (in a coroutine or a listener): its two
    connections run as tasks there until :meth:`close`.
    """

    def __init__(
        self,
        wss: WebSocketServer,
        url: str = "redis://127.0.0.1:6379/0",
        options: RedisFanoutOptions | None = None,
        **kwargs: Unpack[RedisFanoutOptions],
    ) -> None:
        super().__init__()
        if not isinstance(url, str):
            raise TypeError(f"RedisFanout: url must be a str, not {type(url).__name__}")
        opts = _options(options, kwargs)
        self.wss = wss
        self.url = url
        self.channel: str = str(opts["channel"])
        self.options = opts
        self.origin = os.urandom(8)
        #: Messages dropped because the queue was full.
        self.dropped = 0
        self._filter: Callable[[Any], bool] | None = opts["filter"]
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._overflowing = False
        self._subscribed = False
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._tasks = [
            self._loop.create_task(self._subscriber()),
            self._loop.create_task(self._publisher()),
        ]

    # -- public --------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the subscription is up."""
        return self._subscribed

    @property
    def pending(self) -> int:
        """Messages waiting to be published."""
        return len(self._pending)

    def publish(
        self,
        data: Any,
        options: PublishOptions | None = None,
        **kwargs: Unpack[PublishOptions],
    ) -> int:
        """Broadcast ``data`` to this server's matching clients and publish
        it for every other fanout on the channel; return the number of local
        clients that took it. Options (dict or keywords, as for ``send()``:
        one given in both raises ``TypeError``): ``binary`` (default: str is
        text, bytes-like is binary)."""
        if self._closed:
            raise RuntimeError("RedisFanout is closed")
        opts: Mapping[str, Any] = {}
        if options is not None or kwargs:
            opts = call_options("publish", _PUBLISH_OPTIONS, options, kwargs)
        payload, is_text = to_bytes(data)
        binary = not is_text if opts.get("binary") is None else bool(opts["binary"])
        count = self._deliver(payload, binary)
        flags = _BINARY if binary else 0
        self._enqueue(bytes((_MAGIC, flags)) + self.origin + bytes(payload))
        return count

    async def close(self) -> None:
        """Stop: unsubscribe and disconnect. Messages still waiting are
        reported with an ``'error'`` (:class:`FanoutOverflow`), then
        ``'close'``."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._subscribed = False
        if self._pending:
            n = len(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            self.dropped += n
            self._dispatch(
                "error",
                FanoutOverflow(f"RedisFanout closed with {n} messages unpublished"),
            )
        self._dispatch("close")

    # -- delivery ------------------------------------------------------------

    def _deliver(self, payload: Any, binary: bool) -> int:
        keep = self._filter
        if keep is None:
            return self.wss.broadcast(payload, binary=binary)
        return self.wss.broadcast(payload, binary=binary, filter=keep)

    def _on_channel_message(self, raw: bytes) -> None:
        if len(raw) >= _HEADER and raw[0] == _MAGIC:
            if raw[2:_HEADER] == self.origin:
                return  # our own: delivered locally already
            self._deliver(memoryview(raw)[_HEADER:], bool(raw[1] & _BINARY))
            return
        try:
            raw.decode()  # valid UTF-8 goes out as text, as it came
        except UnicodeDecodeError:
            self._deliver(raw, True)
        else:
            self._deliver(raw, False)

    # -- the queue -----------------------------------------------------------

    def _enqueue(self, message: bytes) -> None:
        pending = self._pending
        pending.append(message)
        self._pending_bytes += len(message)
        max_n = self.options["maxPending"]
        max_bytes = self.options["maxPendingBytes"]
        dropped = 0
        while len(pending) > max_n or (
            self._pending_bytes > max_bytes and len(pending) > 1
        ):
            self._pending_bytes -= len(pending.popleft())
            dropped += 1
        if dropped:
            self.dropped += dropped
            if not self._overflowing:
                self._overflowing = True
                self._dispatch(
                    "error",
                    FanoutOverflow(
                        f"Redis at {self.url} is unreachable and {max_n} messages "
                        f"or {max_bytes} bytes wait for it: dropping the oldest"
                    ),
                )
        self._wake.set()

    # -- connections ---------------------------------------------------------

    def _client(self) -> Any:
        # redis-py's own retries would hide an outage: we retry ourselves.
        return aioredis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=self.options["connectTimeout"] / 1000,
        )

    async def _publisher(self) -> None:
        backoff = _Backoff(
            self.options["reconnectDelay"], self.options["reconnectDelayMax"]
        )
        pending = self._pending
        while True:
            await self._wake.wait()
            self._wake.clear()
            client = self._client()
            try:
                while pending:
                    batch = [pending[i] for i in range(min(len(pending), _BATCH))]
                    pipe = client.pipeline(transaction=False)
                    for message in batch:
                        pipe.publish(self.channel, message)
                    await pipe.execute()
                    for message in batch:
                        # The queue may have dropped some meanwhile.
                        if pending and pending[0] is message:
                            pending.popleft()
                            self._pending_bytes -= len(message)
                    backoff.reset()
                    self._overflowing = False
                    if not pending:
                        await self._wake.wait()
                        self._wake.clear()
            except _IO_ERRORS:
                self._wake.set()  # whatever is pending goes out later
                await asyncio.sleep(backoff.take())
            finally:
                with contextlib.suppress(*_IO_ERRORS):
                    await client.aclose()

    async def _subscriber(self) -> None:
        backoff = _Backoff(
            self.options["reconnectDelay"], self.options["reconnectDelayMax"]
        )
        reported = False
        while True:
            client = self._client()
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed = True
                reported = False
                backoff.reset()
                self._dispatch("ready")
                while True:
                    msg = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=_POLL_S
                    )
                    if msg is not None and msg.get("type") == "message":
                        self._on_channel_message(msg["data"])
            except _IO_ERRORS as exc:
                self._subscribed = False
                if not reported:
                    reported = True
                    err = FanoutDisconnected(
                        f"Redis at {self.url} is unreachable ({exc}): messages "
                        f"published on {self.channel!r} by other processes are "
                        "lost until it is back"
                    )
                    err.__cause__ = exc
                    self._dispatch("error", err)
                await asyncio.sleep(backoff.take())
            finally:
                with contextlib.suppress(*_IO_ERRORS):
                    await pubsub.aclose()
                with contextlib.suppress(*_IO_ERRORS):
                    await client.aclose()
