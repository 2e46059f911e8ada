"""Client role on pyws, written as a ws user would write it."""

from __future__ import annotations

import common

import pyws


async def one_handshake() -> None:
    ws = pyws.WebSocket(args.url)
    await pyws.once(ws, "open", timeout=10)
    closed = pyws.once(ws, "close", timeout=10)
    ws.close()
    await closed


async def main() -> None:
    if args.handshakes:
        await common.handshakes(one_handshake, args)
        return
    data = common.payload(args.size)
    ws = pyws.WebSocket(args.url)
    await pyws.once(ws, "open", timeout=10)
    window = common.Window(args.warmup, args.duration)

    def on_message(message: bytes, is_binary: bool) -> None:
        window.received()
        if not window.stopped:
            ws.send(data)

    ws.on("message", on_message)
    window.arm()
    for _ in range(args.inflight):
        ws.send(data)
    await window.done
    ws.terminate()
    common.report(window.result)


if __name__ == "__main__":
    args = common.parse_args(__doc__.splitlines()[0])
    common.run(main, args.loop)
