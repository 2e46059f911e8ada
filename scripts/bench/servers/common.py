"""Shared start-up for the benchmark's Python echo servers.

Owns argument parsing (``--loop``, ``--deflate``) and running a coroutine on
the chosen event loop. Imports only the standard library (uvloop on demand).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any


def parse_args(description: str) -> argparse.Namespace:
    """Parses the options every echo server takes.

    Args:
        description: The server's one-line description for ``--help``.

    Returns:
        The parsed options: ``loop`` ("asyncio" or "uvloop") and ``deflate``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument(
        "--profile", metavar="PATH", help="run under cProfile, dump stats on SIGTERM"
    )
    args = parser.parse_args()
    if args.profile:
        start_profile(args.profile)
    return args


def start_profile(path: str) -> None:
    """Profiles the whole process; SIGTERM writes the stats to ``path`` and exits.

    Args:
        path: Where ``pstats`` data goes.
    """
    import cProfile
    import os
    import signal
    from types import FrameType

    profiler = cProfile.Profile()

    def dump(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(path)
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    profiler.enable()


def announce(port: int) -> None:
    """Prints the listening port, the line the driver waits for."""
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()


def run(main: Callable[[], Coroutine[Any, Any, None]], loop: str) -> None:
    """Runs ``main()`` on the default asyncio loop or on uvloop.

    Args:
        main: The coroutine function to run until it returns.
        loop: "asyncio" or "uvloop".
    """
    if loop == "uvloop":
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())


async def forever() -> None:
    """Waits until the process is killed."""
    await asyncio.get_running_loop().create_future()
