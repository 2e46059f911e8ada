"""ws examples/ssl.js, ported: a uvicorn server with TLS in place of
``https.createServer``, on a port the system picks; once it listens, a
client (``rejectUnauthorized: False``: the certificate is self-signed)
sends one message. CERT and KEY name the PEM files."""

import os

import uvicorn
from fastapi import FastAPI

import pyws
from pyws import WebSocket, WebSocketServer

server = uvicorn.Server(
    uvicorn.Config(
        FastAPI(),
        host="127.0.0.1",
        port=0,
        ssl_certfile=os.environ.get("CERT", "../test/fixtures/certificate.pem"),
        ssl_keyfile=os.environ.get("KEY", "../test/fixtures/key.pem"),
        log_level="warning",
    )
)

wss = WebSocketServer({"server": server})


def connection(ws):
    ws.on("error", print)

    def message(msg):
        print(msg.decode(), flush=True)

    ws.on("message", message)


wss.on("connection", connection)


def listening():
    # The server's certificate is not signed by a CA the client trusts, so
    # the client skips the check (rejectUnauthorized); otherwise the failed
    # check would end in an 'error' event.
    ws = WebSocket(
        f"wss://localhost:{wss.address()['port']}", {"rejectUnauthorized": False}
    )

    ws.on("error", print)

    def open():
        ws.send("All glory to WebSockets!")

    ws.on("open", open)


wss.on("listening", listening)

pyws.run()
