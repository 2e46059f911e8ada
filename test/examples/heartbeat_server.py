"""ws README "How to detect and close broken connections?", the server,
ported. ws's ``heartbeat`` uses ``this``; Python has none, so the listener
closes over ``ws``. INTERVAL (ms) shortens ws's 30000 for the tests."""

import os

import pyws
from pyws import WebSocketServer

wss = WebSocketServer({"port": int(os.environ.get("PORT", "8080"))})


def connection(ws):
    ws.isAlive = True
    ws.on("error", print)

    def heartbeat():
        ws.isAlive = True

    ws.on("pong", heartbeat)
    ws.on("close", lambda code: print("closed", code, flush=True))


wss.on("connection", connection)


def ping():
    for ws in wss.clients:
        if ws.isAlive is False:
            print("terminate", flush=True)
            ws.terminate()
            continue

        ws.isAlive = False
        ws.ping()


interval = pyws.setInterval(ping, int(os.environ.get("INTERVAL", "30000")))


def close():
    pyws.clearInterval(interval)


wss.on("close", close)

pyws.run()
