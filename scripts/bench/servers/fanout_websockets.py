"""Fan-out server on ``websockets``: ``broadcast(server.connections, message)``.

``--deflate`` keeps websockets' default ``compression="deflate"``; without
it the server runs with ``compression=None``.
"""

from __future__ import annotations

import argparse
from typing import Any

import common
from websockets.asyncio.server import broadcast, serve


async def main(deflate: bool) -> None:
    server: Any = None

    async def handler(ws: Any) -> None:
        async for message in ws:
            broadcast(server.connections, message)

    server = await serve(
        handler,
        "127.0.0.1",
        0,
        compression="deflate" if deflate else None,
        backlog=2048,
    )
    common.announce(server.sockets[0].getsockname()[1])
    await common.forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--deflate", action="store_true")
    args = parser.parse_args()
    common.run(lambda: main(args.deflate), args.loop)
