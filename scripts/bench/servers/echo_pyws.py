"""Echo server on pyws, written as a ws user would write it.

``--deflate`` sets ``perMessageDeflate: True`` (ws's server default is off).
Imports pyws from the working tree (the driver sets PYTHONPATH).
"""

from __future__ import annotations

from typing import Any

import common

import pyws


async def main(deflate: bool) -> None:
    options: dict[str, Any] = {"port": 0, "host": "127.0.0.1"}
    if deflate:
        options["perMessageDeflate"] = True
    wss = pyws.WebSocketServer(options)

    def on_connection(ws: Any, req: Any) -> None:
        ws.on("message", lambda data, is_binary: ws.send(data, {"binary": is_binary}))
        ws.on("error", lambda err: None)

    wss.on("connection", on_connection)
    await pyws.once(wss, "listening")
    address = wss.address()
    assert address is not None  # listening, not closed
    common.announce(address["port"])
    await common.forever()


if __name__ == "__main__":
    args = common.parse_args(__doc__.splitlines()[0])
    common.run(lambda: main(args.deflate), args.loop)
