"""ws README "Sending binary data", ported (Float32Array: array.array("f"))."""

import array
import os

import pyws
from pyws import WebSocket

ws = WebSocket(os.environ.get("URL", "ws://www.host.com/path"))

ws.on("error", print)


def open():
    array_ = array.array("f", [0.0] * 5)

    for i in range(len(array_)):
        array_[i] = i / 2

    ws.send(array_)


ws.on("open", open)


def message(data, isBinary):
    print("received:", isBinary, array.array("f", data).tolist())
    ws.close()


ws.on("message", message)

pyws.run()
