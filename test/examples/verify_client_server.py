"""ws README "Simple server" with a ``verifyClient`` (ws.md: the function
gets ``info`` with ``origin``, ``req`` and ``secure``; the two-parameter
form answers through ``callback(result, code, name, headers)``)."""

import os

import pyws
from pyws import WebSocketServer


def verifyClient(info, callback):
    if info.req.headers.get("authorization") != "Bearer secret":
        callback(False, 401, "Unauthorized", {"WWW-Authenticate": "Bearer"})
        return
    print("origin:", info.origin, "secure:", info.secure, flush=True)
    callback(True)


wss = WebSocketServer(
    {"port": int(os.environ.get("PORT", "8080")), "verifyClient": verifyClient}
)


def connection(ws):
    ws.on("error", print)

    def message(data):
        print(f"received: {data.decode()}", flush=True)

    ws.on("message", message)

    ws.send("something")


wss.on("connection", connection)

pyws.run()
