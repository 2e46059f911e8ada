"""pyws echo server for the Autobahn fuzzingclient (``wstest -m fuzzingclient``).

Owns only the echo endpoint: binds 127.0.0.1 (port 0 unless ``--port``),
prints the bound port on stdout, echoes every message with its type, and
stops on SIGTERM or SIGINT. ``scripts/autobahn/run.py`` starts it.

Uses only pyws's public API (``pyws.WebSocketServer``, ``pyws.once``); imports
nothing else of the project.

Usage: python3 scripts/autobahn/pyws_server.py [--port N] [--deflate]
       [--max-fragments N]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

# Run from a checkout without installing: the repository root holds pyws/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

import pyws  # noqa: E402


def on_connection(ws: Any, req: Any) -> None:
    """Echo each message back with the same type; ignore expected errors."""

    def on_message(data: bytes, is_binary: bool) -> None:
        ws.send(data, {"binary": is_binary})

    def on_error(err: Exception) -> None:
        # Autobahn sends broken frames on purpose; the close code the error
        # leads to is what the suite checks.
        pass

    ws.on("message", on_message)
    ws.on("error", on_error)


async def serve(port: int, deflate: bool, max_fragments: int | None) -> None:
    """Serve until SIGTERM or SIGINT, then close the server."""
    loop = asyncio.get_running_loop()
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "perMessageDeflate": deflate,
    }
    if max_fragments is not None:
        options["maxFragments"] = max_fragments
    wss = pyws.WebSocketServer(options)
    wss.on("connection", on_connection)
    await pyws.once(wss, "listening", timeout=30)
    address = wss.address()
    assert address is not None, "listening without an address"
    print(address["port"], flush=True)

    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()

    closed: asyncio.Future[None] = loop.create_future()

    def on_closed(err: Exception | None = None) -> None:
        if not closed.done():
            closed.set_result(None)

    for client in list(getattr(wss, "clients", ()) or ()):
        client.terminate()
    wss.close(on_closed)
    await asyncio.wait_for(closed, 10)


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--deflate", action="store_true", help="enable permessage-deflate"
    )
    parser.add_argument(
        "--max-fragments", type=int, help="maxFragments (default: pyws's)"
    )
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.deflate, args.max_fragments))


if __name__ == "__main__":
    main()
