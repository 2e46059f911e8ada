"""The server under test of the fault suite: a pyws echo server.

    python scripts/fault/server.py [--nofile N] [--options JSON]

Listens on 127.0.0.1, port 0, prints the port on stdout, echoes every
message, and runs until its standard input ends. ``--nofile`` sets its soft
``RLIMIT_NOFILE`` (the EMFILE scenario uses 1024); ``--options`` adds
``WebSocketServer`` options. Everything pyws logs (WARNING and up) and
every report of the loop's exception handler goes to stderr, one line
each, so the suite can count them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pyws  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nofile", type=int, default=None)
    parser.add_argument("--options", default="{}")
    args = parser.parse_args()
    if args.nofile is not None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, hard))
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="LOG %(name)s %(message)s"
    )

    def report(loop: Any, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        print(f"REPORT {context.get('message')} {exc!r}", file=sys.stderr, flush=True)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(report)
        wss = pyws.WebSocketServer(
            {"port": 0, "host": "127.0.0.1", **json.loads(args.options)}
        )

        def on_connection(ws: Any, req: Any) -> None:
            ws.on("error", lambda err: None)  # counted through the log
            ws.on("message", lambda data, binary: ws.send(data, {"binary": binary}))

        wss.on("connection", on_connection)
        await pyws.once(wss, "listening")
        address = wss.address()
        assert address is not None
        print(address["port"], flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # until the suite ends
        wss.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
