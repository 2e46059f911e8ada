"""ws README "Simple server", ported."""

import os

import pyws
from pyws import WebSocketServer

wss = WebSocketServer({"port": int(os.environ.get("PORT", "8080"))})


def connection(ws):
    ws.on("error", print)

    def message(data):
        print(f"received: {data.decode()}")

    ws.on("message", message)

    ws.send("something")


wss.on("connection", connection)

pyws.run()
