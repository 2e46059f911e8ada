"""Echo server on ``websockets`` (its asyncio API, library defaults).

Defaults kept: ``compression="deflate"`` is websockets' default, so the
server accepts permessage-deflate whenever a client offers it; the plain
scenarios' client does not offer it. ``--deflate`` changes nothing here.
One change: ``max_size`` is 32 MiB (its default, 1 MiB, refuses the 16 MiB
message of the big-message scenario; ws's default is 100 MiB).
"""

from __future__ import annotations

import common
from websockets.asyncio.server import ServerConnection, serve

BIG = 32 << 20


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def main() -> None:
    async with serve(echo, "127.0.0.1", 0, max_size=BIG) as server:
        common.announce(server.sockets[0].getsockname()[1])
        await server.serve_forever()


if __name__ == "__main__":
    common.run(main, common.parse_args(__doc__.splitlines()[0]).loop)
