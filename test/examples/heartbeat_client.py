"""ws README "How to detect and close broken connections?", the client,
ported. INTERVAL (ms) shortens ws's 30000 for the tests."""

import os

import pyws
from pyws import WebSocket

INTERVAL = int(os.environ.get("INTERVAL", "30000"))
pingTimeout = None


def heartbeat():
    global pingTimeout
    pyws.clearTimeout(pingTimeout)

    # terminate(), not close(): a dead link would keep close() waiting for
    # closeTimeout. Wait one ping interval of the server plus some margin.
    pingTimeout = pyws.setTimeout(client.terminate, INTERVAL + 1000)


client = WebSocket(os.environ.get("URL", "wss://websocket-echo.com/"))

client.on("error", print)
client.on("open", heartbeat)
client.on("ping", heartbeat)


def clear(code):
    print("closed", code, flush=True)
    pyws.clearTimeout(pingTimeout)


client.on("close", clear)

pyws.run()
