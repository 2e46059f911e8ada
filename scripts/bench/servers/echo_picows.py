"""Echo server on ``picows`` (frame-level API, library defaults).

picows hands over frames, not messages; the benchmark's messages are single
frames, so echoing each data frame is an echo of each message. picows has no
permessage-deflate, so it sits out the deflate scenario. One change:
``max_frame_size`` is 32 MiB (its 10 MiB default refuses the 16 MiB message
of the big-message scenario).
"""

from __future__ import annotations

import common
from picows import (
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_create_server,
)

BIG = 32 << 20


class EchoListener(WSListener):
    """Sends every data frame back; answers a close with a close."""

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
        elif frame.msg_type in (WSMsgType.BINARY, WSMsgType.TEXT):
            transport.send(frame.msg_type, frame.get_payload_as_memoryview())


def listener_factory(request: WSUpgradeRequest) -> WSListener:
    return EchoListener()


async def main() -> None:
    server = await ws_create_server(
        listener_factory, "127.0.0.1", 0, max_frame_size=BIG
    )
    common.announce(server.sockets[0].getsockname()[1])
    await server.serve_forever()


if __name__ == "__main__":
    common.run(main, common.parse_args(__doc__.splitlines()[0]).loop)
