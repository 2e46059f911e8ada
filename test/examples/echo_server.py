"""An echo server the client examples talk to (ws's websocket-echo.com)."""

import os

import pyws
from pyws import WebSocketServer

wss = WebSocketServer(
    {"port": int(os.environ.get("PORT", "8080")), "host": "127.0.0.1"}
)


def connection(ws):
    ws.on("error", print)
    ws.on("message", lambda data, isBinary: ws.send(data, {"binary": isBinary}))


wss.on("connection", connection)
wss.on("listening", lambda: print("listening", wss.address()["port"], flush=True))

pyws.run()
