"""Fan-out through Redis on pyws: every message received is published with
``RedisFanout.publish`` (local clients at once, other processes through
Redis). ``--redis URL`` (required), ``--channel NAME``. Prints its port on
stdout once listening and subscribed.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import common

import pyws
from pyws.redis import RedisFanout


async def main(args: argparse.Namespace) -> None:
    wss = pyws.WebSocketServer(port=0, host="127.0.0.1", backlog=2048)
    fanout = RedisFanout(wss, args.redis, channel=args.channel)
    ready = asyncio.get_running_loop().create_future()
    fanout.once("ready", lambda: ready.done() or ready.set_result(None))

    def on_connection(ws: Any, req: Any) -> None:
        ws.on("message", lambda data, is_binary: fanout.publish(data, binary=is_binary))
        ws.on("error", lambda err: None)

    wss.on("connection", on_connection)
    await pyws.once(wss, "listening")
    await ready
    address = wss.address()
    assert address is not None
    common.announce(address["port"])
    await common.forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--redis", required=True)
    parser.add_argument("--channel", default="bench")
    args = parser.parse_args()
    common.run(lambda: main(args), args.loop)
