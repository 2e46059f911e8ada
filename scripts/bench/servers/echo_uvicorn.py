"""Echo server: a Starlette app on uvicorn, with a chosen WebSocket protocol.

``--ws pyws`` uses ``pyws.asgi.WebSocketProtocol``; ``--ws websockets``,
``websockets-sansio`` and ``wsproto`` are uvicorn's own implementations. The
app is what a Starlette user writes (accept, then receive and send back each
message until the disconnect); uvicorn runs with its defaults (httptools,
``ws_per_message_deflate=True``, a 20 s keepalive ping) on the chosen loop,
its access log off as in production. ``--deflate`` changes nothing here:
uvicorn negotiates permessage-deflate whenever a client offers it.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

import common
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is not None:
            await websocket.send_text(text)
        else:
            await websocket.send_bytes(message["bytes"])


app = Starlette(routes=[WebSocketRoute("/", echo)])


async def main(ws: str) -> None:
    impl: Any = ws
    if ws == "pyws":
        from pyws.asgi import WebSocketProtocol

        impl = WebSocketProtocol
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    config = uvicorn.Config(
        app, ws=impl, lifespan="off", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    common.announce(sock.getsockname()[1])
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument(
        "--ws", choices=("pyws", "websockets", "websockets-sansio", "wsproto")
    )
    known, rest = pre.parse_known_args()
    sys.argv = [sys.argv[0], *rest]
    args = common.parse_args(__doc__.splitlines()[0])
    common.run(lambda: main(known.ws or "pyws"), args.loop)
