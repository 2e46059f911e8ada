"""Client role on ``aiohttp`` (ClientSession.ws_connect, library defaults)."""

from __future__ import annotations

import aiohttp
import common


async def main() -> None:
    data = common.payload(args.size)
    async with aiohttp.ClientSession() as session:
        if args.handshakes:

            async def one_handshake() -> None:
                async with session.ws_connect(args.url) as ws:
                    await ws.close()

            await common.handshakes(one_handshake, args)
            return
        async with session.ws_connect(args.url) as ws:
            window = common.Window(args.warmup, args.duration)
            window.arm()
            for _ in range(args.inflight):
                await ws.send_bytes(data)
            while not window.stopped:
                msg = await ws.receive()
                if msg.type is not aiohttp.WSMsgType.BINARY:
                    raise RuntimeError(f"unexpected message {msg.type!r}")
                window.received()
                await ws.send_bytes(data)
    common.report(window.result)


if __name__ == "__main__":
    args = common.parse_args(__doc__.splitlines()[0])
    common.run(main, args.loop)
