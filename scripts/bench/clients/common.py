"""Shared parts of the benchmark's client-role programs.

Owns argument parsing, the measured window (warm-up, then a timed window
whose message count and process CPU time are recorded) and the JSON result
line. Imports only the standard library (uvloop on demand).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any


def parse_args(description: str) -> argparse.Namespace:
    """Parses the options every client takes.

    Args:
        description: The client's one-line description for ``--help``.

    Returns:
        The options: ``url``, ``size``, ``inflight``, ``warmup``, ``duration``
        (seconds), ``loop`` and ``handshakes`` (K > 0: measure handshakes,
        K at a time, instead of messages).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--inflight", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=1.5)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument(
        "--handshakes",
        type=int,
        default=0,
        metavar="K",
        help="K connections at a time: open, close handshake, repeat",
    )
    return parser.parse_args()


async def handshakes(
    one: Callable[[], Coroutine[Any, Any, None]], args: argparse.Namespace
) -> None:
    """Runs ``one()`` (connect, opening and closing handshakes, the socket
    closed) over and over in ``args.handshakes`` workers; reports how many
    completed in the window and the CPU they took."""
    window = Window(args.warmup, args.duration)
    window.arm()

    async def worker() -> None:
        while not window.stopped:
            await asyncio.wait_for(one(), 10)
            window.received()

    await asyncio.gather(*(worker() for _ in range(args.handshakes)))
    report(window.result)


def payload(size: int) -> bytes:
    """The binary message every client sends (the same bytes as loadgen's)."""
    return bytes((i * 31 + 7) & 0xFF for i in range(size))


class Window:
    """Counts echoed messages and CPU time inside the measured window.

    Call :meth:`arm` once connected; call :meth:`received` for each echo.
    ``measuring`` is true inside the window, ``stopped`` after it, and
    ``done`` resolves once the window has closed.
    """

    def __init__(self, warmup: float, duration: float) -> None:
        self.count = 0
        self.measuring = False
        self.stopped = False
        self._warmup = warmup
        self._duration = duration
        self._start = (0.0, 0.0)
        self.result: dict[str, float] = {}
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def arm(self) -> None:
        """Schedules the start and the end of the window."""
        loop = asyncio.get_running_loop()
        loop.call_later(self._warmup, self._begin)
        loop.call_later(self._warmup + self._duration, self._end)

    def received(self) -> None:
        """Records one echoed message."""
        if self.measuring:
            self.count += 1

    def _begin(self) -> None:
        self.measuring = True
        self._start = (time.perf_counter(), time.process_time())

    def _end(self) -> None:
        t, cpu = time.perf_counter(), time.process_time()
        self.measuring = False
        self.stopped = True
        self.result = {
            "count": self.count,
            "elapsed_s": t - self._start[0],
            "cpu_s": cpu - self._start[1],
        }
        if not self.done.done():
            self.done.set_result(None)


def report(result: dict[str, float]) -> None:
    """Prints the result line the driver parses."""
    sys.stdout.write(json.dumps({"event": "result", **result}) + "\n")
    sys.stdout.flush()


def run(main: Callable[[], Coroutine[Any, Any, None]], loop: str) -> None:
    """Runs ``main()`` on the default asyncio loop or on uvloop."""
    if loop == "uvloop":
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())
