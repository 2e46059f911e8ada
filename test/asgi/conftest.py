"""Fixtures for pyws on uvicorn (``pyws.asgi`` and the ``server`` option).

- ``serve(app, **config)``: ``async with serve(app) as (server, port)`` runs
  a real ``uvicorn.Server`` on 127.0.0.1 with pyws's WebSocket protocol. The
  listening socket is bound (port 0) and listening before uvicorn starts, so
  clients may connect at once: nothing waits for uvicorn's startup by
  polling. On exit the server shuts down, bounded.
- ``asgi_echo``: an ASGI app that accepts every WebSocket, echoes its
  messages and records each connection's messages in ``asgi_echo.log``.

Every test here needs uvicorn, which needs Python 3.11+: on 3.10 they are
skipped, saying so (the ``asgi`` extra cannot be installed there).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"

try:
    import uvicorn
except ImportError:  # pragma: no cover - Python 3.10
    uvicorn = None  # type: ignore[assignment]


# Without uvicorn (Python 3.10) the modules that import it cannot even be
# collected: they are left out, and test_uvicorn_installed.py says why.
collect_ignore: list[str] = []
if uvicorn is None:  # pragma: no cover - Python 3.10
    collect_ignore = [
        p.name for p in HERE.glob("test_*.py") if p.name != "test_uvicorn_installed.py"
    ]


def listening_socket() -> socket.socket:
    """A TCP socket on 127.0.0.1, port 0, already listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(128)
    return sock


def tracked_protocol() -> Any:
    """A :class:`~pyws.asgi.WebSocketProtocol` subclass whose instances
    are listed in ``made`` and resolve their ``lost`` future once their
    socket is closed (what a test awaits instead of polling)."""
    from pyws.asgi import WebSocketProtocol

    class Tracked(WebSocketProtocol):
        made: list[Tracked] = []

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.lost: asyncio.Future[None] = self.loop.create_future()
            Tracked.made.append(self)

        def connection_closed(self) -> None:
            super().connection_closed()
            if not self.lost.done():
                self.lost.set_result(None)

    return Tracked


@asynccontextmanager
async def serve(
    app: Any, timeout: float = 10.0, **options: Any
) -> AsyncIterator[tuple[Any, int]]:
    """Run ``app`` on uvicorn with pyws's protocol; yield (server, port)."""
    options.setdefault("ws", tracked_protocol())
    options.setdefault("lifespan", "off")
    options.setdefault("log_level", "warning")
    server = options.pop("server", None)
    if server is None:
        server = uvicorn.Server(uvicorn.Config(app, **options))
    sock = listening_socket()
    port = sock.getsockname()[1]
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        yield server, port
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout)
        finally:
            sock.close()


class EchoApp:
    """Accepts, echoes text and bytes, records what it received."""

    def __init__(self) -> None:
        self.log: list[list[dict[str, Any]]] = []
        self.done: asyncio.Future[list[dict[str, Any]]] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await send({"type": "http.response.start", "status": 200})
            await send({"type": "http.response.body", "body": b"plain http"})
            return
        if self.done is None or self.done.done():
            self.done = asyncio.get_running_loop().create_future()
        done = self.done
        messages: list[dict[str, Any]] = []
        self.log.append(messages)
        while True:
            message = await receive()
            messages.append(message)
            kind = message["type"]
            if kind == "websocket.connect":
                await send({"type": "websocket.accept"})
            elif kind == "websocket.receive":
                if message.get("text") == "close-me":
                    await send(
                        {"type": "websocket.close", "code": 4001, "reason": "asked"}
                    )
                else:
                    await send(
                        {
                            "type": "websocket.send",
                            **{
                                k: v
                                for k, v in message.items()
                                if k in ("text", "bytes")
                            },
                        }
                    )
            else:
                break
        if not done.done():
            done.set_result(messages)


@pytest.fixture
def asgi_echo() -> EchoApp:
    return EchoApp()
