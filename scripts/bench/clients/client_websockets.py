"""Client role on ``websockets`` (asyncio API, library defaults)."""

from __future__ import annotations

import common
from websockets.asyncio.client import connect


async def one_handshake() -> None:
    async with connect(args.url):
        pass  # leaving closes: close handshake, then the TCP close


async def main() -> None:
    if args.handshakes:
        await common.handshakes(one_handshake, args)
        return
    data = common.payload(args.size)
    async with connect(args.url) as ws:
        window = common.Window(args.warmup, args.duration)
        window.arm()
        for _ in range(args.inflight):
            await ws.send(data)
        while not window.stopped:
            await ws.recv()
            window.received()
            await ws.send(data)
    common.report(window.result)


if __name__ == "__main__":
    args = common.parse_args(__doc__.splitlines()[0])
    common.run(main, args.loop)
