"""Plain asyncio TCP echo: the ceiling for any asyncio server on this machine.

It returns the bytes it gets, so the load generator runs in ``--raw`` mode and
accepts its own masked frames back. No WebSocket library is imported.
"""

from __future__ import annotations

import asyncio
from typing import cast

import common


class Echo(asyncio.Protocol):
    """Writes back every chunk it receives."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def eof_received(self) -> bool | None:
        self.transport.close()
        return None


async def main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0)
    common.announce(server.sockets[0].getsockname()[1])
    await common.forever()


if __name__ == "__main__":
    common.run(main, common.parse_args(__doc__.splitlines()[0]).loop)
