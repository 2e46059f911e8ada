"""ws README "Server broadcast": to every client, or (EXCLUDE_SELF=1) to
every other client, ported."""

import os

import pyws
from pyws import WebSocket, WebSocketServer

wss = WebSocketServer({"port": int(os.environ.get("PORT", "8080"))})
EXCLUDE_SELF = os.environ.get("EXCLUDE_SELF") == "1"


def connection(ws):
    ws.on("error", print)

    def message(data, isBinary):
        for client in wss.clients:
            if EXCLUDE_SELF and client is ws:
                continue
            if client.readyState == WebSocket.OPEN:
                client.send(data, {"binary": isBinary})

    ws.on("message", message)


wss.on("connection", connection)

pyws.run()
