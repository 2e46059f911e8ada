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
    return parser.parse_args()


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
