"""Fan-out server on pyws: every message goes to every client.

``--mode broadcast`` (default) uses ``wss.broadcast()`` (one frame for all,
one deflate per group of clients that can share it); ``--mode foreach``
does what a ws user writes, ``for c in wss.clients: c.send(data)``.
``--deflate`` accepts permessage-deflate with ``serverNoContextTakeover``
(so broadcast can share one compressed frame); ``--deflate-takeover``
keeps ws's default context takeover (compressed per client).
"""

from __future__ import annotations

import argparse
from typing import Any

import common

import pyws


async def main(args: argparse.Namespace) -> None:
    options: dict[str, Any] = {"port": 0, "host": "127.0.0.1", "backlog": 2048}
    if args.deflate:
        options["perMessageDeflate"] = {"serverNoContextTakeover": True}
    elif args.deflate_takeover:
        options["perMessageDeflate"] = True
    wss = pyws.WebSocketServer(options)
    clients = wss.clients
    assert clients is not None

    if args.mode == "broadcast":

        def relay(data: Any, is_binary: bool) -> None:
            wss.broadcast(data, {"binary": is_binary})

    else:

        def relay(data: Any, is_binary: bool) -> None:
            for c in clients:
                c.send(data, {"binary": is_binary})

    def on_connection(ws: Any, req: Any) -> None:
        ws.on("message", relay)
        ws.on("error", lambda err: None)

    wss.on("connection", on_connection)
    await pyws.once(wss, "listening")
    address = wss.address()
    assert address is not None
    common.announce(address["port"])
    await common.forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--mode", choices=("broadcast", "foreach"), default="broadcast")
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--deflate-takeover", action="store_true")
    args = parser.parse_args()
    common.run(lambda: main(args), args.loop)
