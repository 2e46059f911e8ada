"""ws README "Client authentication", ported: an asyncio server in place of
``http.createServer``, ``noServer`` and ``handleUpgrade``. ``authenticate``
is the application's: here a token in the query string."""

import asyncio
import os
from urllib.parse import parse_qs, urlsplit

import pyws
from pyws import WebSocketServer


def onSocketError(err):
    print(err)


def authenticate(request, next):
    token = parse_qs(urlsplit(request.url).query).get("token", [""])[0]
    if token == "secret":
        next(None, "alice")
    else:
        next(ValueError("bad token"), None)


wss = WebSocketServer({"noServer": True})


def connection(ws, request, client):
    ws.on("error", print)

    def message(data):
        print(f"Received message {data.decode()} from user {client}", flush=True)

    ws.on("message", message)


wss.on("connection", connection)


async def upgrade(reader, writer):
    request, socket, head = await pyws.read_upgrade_request((reader, writer))
    socket.on("error", onSocketError)

    def next(err, client):
        if err or not client:
            socket.write("HTTP/1.1 401 Unauthorized\r\n\r\n")
            socket.destroy()
            return

        socket.removeListener("error", onSocketError)

        def done(ws):
            wss.emit("connection", ws, request, client)

        wss.handleUpgrade(request, socket, head, done)

    authenticate(request, next)


async def main():
    server = await asyncio.start_server(
        upgrade, "127.0.0.1", int(os.environ.get("PORT", "8080"))
    )
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


pyws.run(main())
