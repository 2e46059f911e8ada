"""ws examples/server-stats, ported: a Starlette app serving the page in
``server_stats_public/`` (express.static) and a WebSocketServer on the same
uvicorn server, sending the process's memory figures every 100 ms."""

import json
import os
import resource
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

import pyws
from pyws import WebSocketServer

app = Starlette()
app.mount(
    "/", StaticFiles(directory=Path(__file__).parent / "server_stats_public", html=True)
)

PORT = int(os.environ.get("PORT", "8080"))
server = uvicorn.Server(
    uvicorn.Config(app, host="127.0.0.1", port=PORT, log_level="warning")
)
wss = WebSocketServer({"server": server})


def memoryUsage():  # process.memoryUsage(): what Python can tell
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/self/statm") as statm:
        rss = int(statm.read().split()[1]) * resource.getpagesize()
    return {"rss": rss, "maxRss": usage.ru_maxrss * 1024}


def connection(ws):
    def send_stats():
        def ignore(err):
            pass  # a failed send is not worth reporting here

        ws.send(json.dumps(memoryUsage()), ignore)

    id = pyws.setInterval(send_stats, 100)
    print("started client interval", flush=True)

    ws.on("error", print)

    def close():
        print("stopping client interval", flush=True)
        pyws.clearInterval(id)

    ws.on("close", close)


wss.on("connection", connection)
wss.on("listening", lambda: print(f"Listening on http://localhost:{PORT}", flush=True))

pyws.run()
