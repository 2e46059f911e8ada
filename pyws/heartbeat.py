"""Heartbeat decisions (``pingInterval`` / ``pingTimeout``), sans-I/O.

ws leaves keepalive to its users (its README shows a ``setInterval`` that
pings every client and terminates those that did not answer the previous
ping); websockets and aiohttp build it in. :class:`Heartbeat` is that logic
as a small state machine without a clock: the I/O layer keeps *one* timer
per connection, calls :meth:`Heartbeat.on_timer` with the time when it
fires, does what the answer says and re-arms the timer for the deadline the
answer carries.

The cycle: ``interval`` seconds after the start (or after the previous
ping), a ping with a fresh 4-byte payload is queued and the timer is re-armed
for ``timeout`` seconds later. When it fires again:

- if anything was read from the peer since the ping was queued (any frame,
  or any byte: a peer busy sending us a large message is alive), or the I/O
  layer sees unread bytes waiting in the kernel (the connection is paused,
  or a listener held the loop so the read has not run yet), the peer is
  alive and the next ping is due ``interval`` after the previous one;
- if the I/O layer cannot see the socket's input (reading paused on a TLS
  transport, whose plaintext may sit decrypted but unread), there is no
  verdict: it waits another ``timeout``;
- otherwise the peer is declared dead: the I/O layer terminates the
  connection (no close frame: see :data:`DEAD`).

A pong whose payload is the outstanding ping's gives the round-trip time
(:attr:`Heartbeat.latency_ms`).

Core layer: stdlib only, no clock, no I/O.
"""

from __future__ import annotations

__all__ = ["Heartbeat", "PING", "ALIVE", "WAIT", "DEAD"]

#: Queue a ping with :attr:`Heartbeat.payload`, re-arm for the deadline.
PING = "ping"
#: The peer answered (or spoke); re-arm for the deadline (the next ping).
ALIVE = "alive"
#: No verdict possible now (input not visible); re-arm for the deadline.
WAIT = "wait"
#: No sign of life within the timeout: terminate the connection without a
#: close frame. A close frame would queue behind whatever the peer has not
#: read, and the closing handshake would then wait ``closeTimeout`` for a
#: peer that already failed to answer for ``pingTimeout``; ws's README
#: heartbeat calls ``terminate()`` for the same reason. ``'close'`` reports
#: 1006.
DEAD = "dead"


class Heartbeat:
    """Ping every ``interval_ms``; a peer silent ``timeout_ms`` after a ping
    is dead.

    Args:
        interval_ms: time between pings (> 0).
        timeout_ms: how long after a ping the peer may stay silent (> 0).
    """

    __slots__ = (
        "interval",
        "timeout",
        "sent_at",
        "payload",
        "count",
        "latency_ms",
        "last_ping_at",
    )

    def __init__(self, interval_ms: float, timeout_ms: float) -> None:
        if interval_ms <= 0 or timeout_ms <= 0:
            raise ValueError("interval_ms and timeout_ms must be > 0")
        #: Seconds between pings.
        self.interval = interval_ms / 1000
        #: Seconds a peer may stay silent after a ping.
        self.timeout = timeout_ms / 1000
        #: When the outstanding ping was queued, or None.
        self.sent_at: float | None = None
        #: The outstanding (or last) ping's payload.
        self.payload = b""
        #: Pings sent so far.
        self.count = 0
        #: The last measured round-trip time in ms, None before the first.
        self.latency_ms: float | None = None
        self.last_ping_at: float | None = None

    def start(self, now: float) -> float:
        """The deadline of the first timer (the first ping)."""
        return now + self.interval

    def on_timer(
        self, now: float, heard: bool, visible: bool = True
    ) -> tuple[str, float]:
        """The timer fired at ``now``: what to do, and the next deadline.

        Args:
            now: the time, in seconds, on the I/O layer's clock.
            heard: whether anything arrived from the peer since the
                outstanding ping was queued (read, or waiting unread).
            visible: whether the I/O layer can see the peer's input at all;
                when False and nothing was heard, no verdict is given.
        """
        sent = self.sent_at
        if sent is None:
            return self._ping(now)
        if heard:
            self.sent_at = None
            due = sent + self.interval
            if due <= now:
                return self._ping(now)
            return ALIVE, due
        if not visible:
            return WAIT, now + self.timeout
        return DEAD, now

    def on_pong(self, data: bytes, now: float) -> bool:
        """A pong arrived at ``now``; True if it answers our last ping
        (then :attr:`latency_ms` is updated)."""
        at = self.last_ping_at
        if at is None or data != self.payload:
            return False
        self.latency_ms = max(0.0, (now - at) * 1000)
        self.last_ping_at = None
        return True

    def _ping(self, now: float) -> tuple[str, float]:
        self.count += 1
        self.payload = (self.count & 0xFFFFFFFF).to_bytes(4, "big")
        self.sent_at = now
        self.last_ping_at = now
        return PING, now + self.timeout
