"""ws README "Multiple servers sharing a single HTTP/S server", ported: an
asyncio server in place of ``http.createServer``."""

import asyncio
import os
from urllib.parse import urlsplit

import pyws
from pyws import WebSocketServer

wss1 = WebSocketServer({"noServer": True})
wss2 = WebSocketServer({"noServer": True})


def connection1(ws):
    ws.on("error", print)
    ws.send("wss1")  # ... in ws's example


def connection2(ws):
    ws.on("error", print)
    ws.send("wss2")  # ... in ws's example


wss1.on("connection", connection1)
wss2.on("connection", connection2)


async def upgrade(reader, writer):
    request, socket, head = await pyws.read_upgrade_request((reader, writer))
    pathname = urlsplit(request.url).path

    if pathname == "/foo":
        wss1.handleUpgrade(
            request, socket, head, lambda ws: wss1.emit("connection", ws, request)
        )
    elif pathname == "/bar":
        wss2.handleUpgrade(
            request, socket, head, lambda ws: wss2.emit("connection", ws, request)
        )
    else:
        socket.destroy()


async def main():
    server = await asyncio.start_server(
        upgrade, "127.0.0.1", int(os.environ.get("PORT", "8080"))
    )
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


pyws.run(main())
