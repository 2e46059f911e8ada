"""A pyws app run in real processes by test_workers.py.

``worker_app.py run WORKERS``: pyws.workers.run on 127.0.0.1, port 0; each
connection is greeted with ``pid <pid>`` and its messages are echoed.
``worker_app.py crash``: a supervisor whose one worker always exits with 3
once it said it is ready.
``worker_app.py activation``: a server on the socket systemd-style
activation passed (``LISTEN_FDS``), printing ``ready`` once it listens.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pyws
import pyws.workers


def setup(wss: Any) -> None:
    def on_connection(ws: Any, req: Any) -> None:
        ws.send(f"pid {os.getpid()}")
        ws.on("message", lambda data, is_binary: ws.send(data, {"binary": is_binary}))

    wss.on("connection", on_connection)


def crash(index: int, args: Any, ready: Any) -> int:
    ready()
    return 3


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def activation() -> None:
    fds = pyws.workers.listen_fds()
    wss = pyws.WebSocketServer(fd=fds[0])
    setup(wss)
    listening = asyncio.get_running_loop().create_future()
    wss.once("listening", lambda: listening.set_result(None))
    await asyncio.wait_for(listening, 10)
    print(f"ready {fds} {os.environ.get('LISTEN_FDS')}", flush=True)
    await asyncio.Event().wait()  # until the test kills the process


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "run":
        sys.exit(
            pyws.workers.run(
                setup, workers=int(sys.argv[2]), port=0, host="127.0.0.1", log=log
            )
        )
    elif mode == "crash":
        sys.exit(pyws.workers.Supervisor(crash, None, 1, log=log).run())
    elif mode == "activation":
        asyncio.run(activation())
