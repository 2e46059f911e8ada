"""ws README "Sending and receiving text data", ported."""

import os

import pyws
from pyws import WebSocket

ws = WebSocket(os.environ.get("URL", "ws://www.host.com/path"))

ws.on("error", print)


def open():
    ws.send("something")


ws.on("open", open)


def message(data):
    print(f"received: {data.decode()}")
    ws.close()  # not in ws's example, which runs until killed


ws.on("message", message)

pyws.run()
