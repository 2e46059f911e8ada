"""pyws echo client for the Autobahn fuzzingserver (``wstest -m fuzzingserver``).

Owns only the client side of the suite's protocol: ask ``/getCaseCount``,
run each case with ``/runCase?case=N&agent=AGENT`` echoing every message with
its type, then ask ``/updateReports?agent=AGENT``. One line per case on
stdout. ``scripts/autobahn/run.py`` starts it; 127.0.0.1 only.

Uses only pyws's public API (``pyws.WebSocket``); imports nothing else of the
project.

Usage: python3 scripts/autobahn/pyws_client.py ws://127.0.0.1:PORT AGENT
       [--deflate] [--case-timeout SECONDS] [--max-fragments N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

# Run from a checkout without installing: the repository root holds pyws/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

import pyws  # noqa: E402

OnMessage = Callable[[Any, bytes, bool], None]
#: maxFragments for every connection; None keeps pyws's default.
MAX_FRAGMENTS: int | None = None


async def session(
    url: str, on_message: OnMessage, deflate: bool, timeout_s: float
) -> int:
    """Open url, hand each message to on_message, return the close code.

    Raises:
        TimeoutError: the connection was still open after timeout_s; it is
            terminated first.
    """
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[int] = loop.create_future()
    options: dict[str, Any] = {"perMessageDeflate": deflate}
    if MAX_FRAGMENTS is not None:
        options["maxFragments"] = MAX_FRAGMENTS
    ws = pyws.WebSocket(url, options)

    def on_close(code: int, reason: bytes) -> None:
        if not closed.done():
            closed.set_result(code)

    def on_error(err: Exception) -> None:
        # Autobahn sends broken frames on purpose; 'close' follows.
        pass

    ws.on("message", lambda data, is_binary: on_message(ws, data, is_binary))
    ws.on("error", on_error)
    ws.on("close", on_close)
    try:
        return await asyncio.wait_for(closed, timeout_s)
    except asyncio.TimeoutError:
        ws.terminate()
        raise TimeoutError(f"{url} still open after {timeout_s} s") from None


def echo(ws: Any, data: bytes, is_binary: bool) -> None:
    """Send a message back with the same type."""
    ws.send(data, {"binary": is_binary})


async def run(base: str, agent: str, deflate: bool, case_timeout_s: float) -> int:
    """Run every case; return 0, or 1 if some case timed out."""
    count: list[int] = []

    def on_count(ws: Any, data: bytes, is_binary: bool) -> None:
        count.append(int(data))

    await session(f"{base}/getCaseCount", on_count, deflate, 30)
    total = count[0]
    print(f"cases: {total}", flush=True)
    status = 0
    for i in range(1, total + 1):
        url = f"{base}/runCase?case={i}&agent={quote(agent)}"
        try:
            code = await session(url, echo, deflate, case_timeout_s)
            print(f"case {i}/{total} closed {code}", flush=True)
        except TimeoutError as exc:
            print(f"case {i}/{total} timed out: {exc}", flush=True)
            status = 1
    await session(f"{base}/updateReports?agent={quote(agent)}", echo, deflate, 120)
    print("reports updated", flush=True)
    return status


def main() -> None:
    """Parse the command line and run the cases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="ws://127.0.0.1:PORT of the fuzzingserver")
    parser.add_argument("agent", help="name the reports use")
    parser.add_argument(
        "--deflate", action="store_true", help="offer permessage-deflate"
    )
    parser.add_argument("--case-timeout", type=float, default=300)
    parser.add_argument(
        "--max-fragments", type=int, help="maxFragments (default: pyws's)"
    )
    args = parser.parse_args()
    global MAX_FRAGMENTS
    MAX_FRAGMENTS = args.max_fragments
    sys.exit(asyncio.run(run(args.base, args.agent, args.deflate, args.case_timeout)))


if __name__ == "__main__":
    main()
