"""A user program that mypy --strict must accept, mistakes included.

``.ci/run`` checks it with ``mypy --strict test/typing`` under
``warn_unused_ignores``: every line marked ``# type: ignore[code]`` below
is a mistake pyws's types must catch (if it were accepted, the ignore
would be unused and mypy would fail), and every other line must pass.
It is never run.
"""

from __future__ import annotations

import asyncio

import pyws
from pyws import WebSocket, WebSocketServer
from pyws.handshake import Request

# -- options: both spellings, values of the right type -------------------------

wss = WebSocketServer({"port": 8080, "maxPayload": 1024, "clientTracking": True})
wss2 = WebSocketServer(port=0, host="127.0.0.1", close_timeout=500)
ws = WebSocket("ws://127.0.0.1:8080/", ["chat"], {"closeTimeout": 5000})
ws2 = WebSocket("ws://127.0.0.1:8080/", close_timeout=5000, max_payload=10)

# -- the mistakes of the issue -----------------------------------------------------

WebSocket("ws://h/", close_timeout="5s")  # type: ignore[arg-type]
WebSocket("ws://h/", maxPayloda=10)  # type: ignore[call-arg]
WebSocket("ws://h/", {"closeTimeout": "5s"})  # type: ignore[arg-type]
WebSocketServer({"prot": 8080})  # type: ignore[arg-type]
WebSocketServer(port="8080")  # type: ignore[arg-type]
ws.send(b"x", compres=True)  # type: ignore[call-arg]
ws.send(b"x", {"binary": True, "compres": True})  # type: ignore[arg-type]
ws.send(object())  # type: ignore[arg-type]
ws.close("1000")  # type: ignore[arg-type]

# -- pyws.redis: the same for RedisFanout and publish() ---------------------------


async def fanout() -> None:
    from pyws.redis import RedisFanout

    room = RedisFanout(wss, "redis://127.0.0.1:6379/0", {"maxPending": 100})
    RedisFanout(wss, channel="room", reconnect_delay=50, filter=lambda ws: True)
    RedisFanout(wss, max_pending="100")  # type: ignore[arg-type]
    RedisFanout(wss, {"maxPendng": 100})  # type: ignore[arg-type]
    room.publish("x", {"binary": False})
    room.publish(b"x", binary=True)
    room.publish("x", compress=True)  # type: ignore[call-arg]


# -- sending ---------------------------------------------------------------------

ws.send("text")
ws.send(b"\x00\x01", {"binary": True})
ws.send(memoryview(b"abc"), binary=True, compress=False)
ws.send("x", lambda err: print(err))
ws.send("x", {"fin": True}, lambda: None)
ws.ping(b"p")
ws.ping(lambda err: None)
ws.close(1000, "bye")

# -- events: listeners typed per event name, Node arity ------------------------


@ws.on("message")
def on_message(data: bytes, is_binary: bool) -> None:
    print(data.decode(), is_binary)


@ws.on("message")  # type: ignore[type-var]
def on_message_wrong(data: str) -> None:
    print(data)


@ws.on("close")
def on_close(code: int) -> None:  # fewer arguments than the event passes
    print(code)


@ws.once("error")
def on_error(err: BaseException) -> None:
    print(err)


@wss.on("connection")
def on_connection(client: WebSocket, req: Request) -> None:
    client.on("message", lambda data, is_binary: client.send(data))


@wss.on("connection")  # type: ignore[type-var]
def on_connection_wrong(client: int) -> None:
    print(client)


ws.on("open", lambda: print("open")).on("pong", lambda: None)
ws.on("some-other-event", lambda *args: print(args))
wss.on("listening", lambda: None)
ws.on("drain", lambda: print("drained"))
wss.on("broadcastDrop", lambda client, reason: print(reason))


@ws.once("drain")  # type: ignore[type-var]
def on_drain_wrong(data: bytes) -> None:  # 'drain' passes nothing
    print(data)


@wss.on("broadcastDrop")
def on_drop(client: WebSocket, reason: str) -> None:
    print(client.readyState, reason)


# -- async ----------------------------------------------------------------------


async def main() -> None:
    async with WebSocket("ws://127.0.0.1:8080/") as client:
        message = await client.recv(timeout=1.5)
        if isinstance(message, str):
            print(message.upper())
        else:
            print(message.hex())
        async for item in client:
            reveal_type_ok: str | bytes = item
            print(reveal_type_ok)
    code, reason = await ws.wait_closed()
    print(code + 1, reason.decode())
    args = await pyws.once(wss, "connection")
    print(args)
    text: str = await ws.recv()  # type: ignore[assignment]
    print(text)


asyncio.run(main())
