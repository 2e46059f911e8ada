"""ws README "How to connect via a proxy?", ported: ws passes an
``agent`` (https-proxy-agent, socks-proxy-agent); pyws takes the proxy's
URL as the ``proxy`` option (HTTP CONNECT or SOCKS)."""

import os

import pyws
from pyws import WebSocket

proxy = os.environ.get("PROXY", "http://127.0.0.1:3128")

ws = WebSocket(os.environ.get("URL", "wss://websocket-echo.com/"), {"proxy": proxy})

ws.on("error", print)


def open():
    ws.send("through the proxy")


ws.on("open", open)


def message(data):
    print(f"received: {data.decode()}")
    ws.close()


ws.on("message", message)

pyws.run()
