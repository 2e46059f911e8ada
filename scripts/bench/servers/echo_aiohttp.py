"""Echo server on ``aiohttp.web`` (library defaults, access log off).

aiohttp's ``WebSocketResponse`` accepts permessage-deflate by default
(``compress=True``), so ``--deflate`` changes nothing here. One change:
``max_msg_size`` is 32 MiB (its 4 MiB default refuses the 16 MiB message of
the big-message scenario).
"""

from __future__ import annotations

import common
from aiohttp import WSMsgType, web

BIG = 32 << 20


async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=BIG)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type is WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
        elif msg.type is WSMsgType.TEXT:
            await ws.send_str(msg.data)
    return ws


async def main() -> None:
    app = web.Application()
    app.router.add_get("/", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    common.announce(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    await common.forever()


if __name__ == "__main__":
    common.run(main, common.parse_args(__doc__.splitlines()[0]).loop)
