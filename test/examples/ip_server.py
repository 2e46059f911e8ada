"""ws README "How to get the IP address of the client?", ported; with
BEHIND_PROXY=1 the proxy variant (``X-Forwarded-For``)."""

import os

import pyws
from pyws import WebSocketServer

wss = WebSocketServer({"port": int(os.environ.get("PORT", "8080"))})


def connection(ws, req):
    if os.environ.get("BEHIND_PROXY") == "1":
        ip = req.headers["x-forwarded-for"].split(",")[0].strip()
    else:
        ip = req.socket.remoteAddress
    ws.on("error", print)
    print("ip", ip, flush=True)
    ws.send(ip)


wss.on("connection", connection)

pyws.run()
