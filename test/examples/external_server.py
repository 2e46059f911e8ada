"""ws README "External HTTP/S server", ported: a uvicorn server with TLS in
place of ``https.createServer``; the WebSocketServer takes its upgrade
requests through the ``server`` option. CERT and KEY name the PEM files."""

import os

import uvicorn
from fastapi import FastAPI

import pyws
from pyws import WebSocketServer

app = FastAPI()
server = uvicorn.Server(
    uvicorn.Config(
        app,
        host="127.0.0.1",
        port=int(os.environ.get("PORT", "8080")),
        ssl_certfile=os.environ.get("CERT", "/path/to/cert.pem"),
        ssl_keyfile=os.environ.get("KEY", "/path/to/key.pem"),
        log_level="warning",
    )
)
wss = WebSocketServer({"server": server})


def connection(ws):
    ws.on("error", print)

    def message(data):
        print(f"received: {data.decode()}", flush=True)

    ws.on("message", message)

    ws.send("something")


wss.on("connection", connection)


@app.get("/")
def index():
    return {"app": "also here"}


pyws.run()
