"""ws README "Use the Node.js streams API", ported.

``duplex.pipe(sys.stdout)`` ports as written; Python's ``sys.stdin`` has no
``pipe()``, so ``process.stdin.pipe(duplex)`` becomes a coroutine that
copies standard input into the stream, then ends it (as ``pipe`` does).
"""

import asyncio
import os
import sys

import pyws
from pyws import WebSocket, createWebSocketStream

ws = WebSocket(os.environ.get("URL", "wss://websocket-echo.com/"))

duplex = createWebSocketStream(ws, {"encoding": "utf8"})

duplex.on("error", print)

duplex.pipe(sys.stdout)


async def stdin_pipe(destination):  # process.stdin.pipe(duplex)
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    while chunk := await reader.read(65536):
        if destination.write(chunk) is False:
            await destination.drain()
    destination.end()


pyws.run(stdin_pipe(duplex))
