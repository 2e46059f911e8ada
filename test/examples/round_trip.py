"""ws README "Round-trip time", ported (Date.now(): pyws.Date.now()? no:
time in ms). ROUNDS bounds the run (ws's example runs until killed)."""

import os
import time

import pyws
from pyws import WebSocket

ws = WebSocket(os.environ.get("URL", "wss://websocket-echo.com/"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
rounds = 0


def now():
    return int(time.time() * 1000)


ws.on("error", print)


def open():
    print("connected")
    ws.send(now())


ws.on("open", open)


def close():
    print("disconnected")


ws.on("close", close)


def message(data):
    global rounds
    print(f"Round-trip time: {now() - int(data)} ms")
    rounds += 1
    if rounds == ROUNDS:
        ws.close()
        return

    def timeout():
        ws.send(now())

    pyws.setTimeout(timeout, 500)


ws.on("message", message)

pyws.run()
