"""Compare-tool adapter for the Python ``websockets`` library (asyncio API).

Usage: ``python websockets_adapter.py '<json config>'`` (see
``scripts/compare/README.md``, "Adapters"). Maps the scenario's ws options to
``websockets.asyncio`` arguments (closeTimeout -> ``close_timeout`` in s,
maxPayload -> ``max_size``, perMessageDeflate -> ``compression`` (left
at websockets' default when the scenario does not set it), the
scenario's heartbeat -> ``ping_interval``/``ping_timeout``; keepalive pings are
off otherwise) and logs what the application sees: ``open``/``connection``,
``message(data, isBinary)``, ``error`` (the cause of a failure, with the close
code it sent as ``statusCode``), ``close(code, reason)`` once the connection is
closed, ``throw`` for an action that raises, ``send_cb(error)`` when an
awaited send returns. websockets answers pings itself and does not surface
them, so a scenario acting on ``ping``/``pong`` events is not applicable, nor
are ``terminate``, ``pause``, fragments and ws-only limits.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import _common as c
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

NAME = "websockets"
#: How long an action waits for close() before the next action runs: close()
#: resolves only after the closing handshake, ws's close() returns at once.
CLOSE_STEP_S = 0.05


class Adapter:
    """Runs one scenario's implementation part on websockets."""

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the config; nothing starts until :meth:`main`."""
        self.config = config
        self.server: Server | None = None
        self.closed = False
        self.exiting = False
        self.done: asyncio.Future[None] | None = None
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.ws: ClientConnection | ServerConnection | None = None
        self.triggers = c.Triggers(config, self.queue.put_nowait)
        self.triggers.on_idle = self.maybe_exit
        self.tasks: set[asyncio.Task[Any]] = set()

    def kwargs(self) -> dict[str, Any]:
        """websockets arguments for the scenario's options."""
        options = self.config.get("options", {})
        out: dict[str, Any] = {
            "close_timeout": options.get("closeTimeout", 30000) / 1000.0,
            "ping_interval": None,
            "ping_timeout": None,
        }
        if "perMessageDeflate" in options:  # else websockets' default
            out["compression"] = "deflate" if options["perMessageDeflate"] else None
        if "maxPayload" in options:
            out["max_size"] = options["maxPayload"]
        heartbeat = self.config.get("heartbeat")
        if heartbeat:
            out["ping_interval"] = heartbeat["interval_ms"] / 1000.0
            out["ping_timeout"] = heartbeat["timeout_ms"] / 1000.0
        return out

    def state(self) -> int | None:
        """readyState: websockets' State has ws's numbering (0-3)."""
        return None if self.ws is None else int(self.ws.state)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Keep a reference to a background task."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def run_actions(self) -> None:
        """Run queued actions one at a time, in order."""
        while True:
            action = await self.queue.get()
            try:
                await self.run(action)
            except Exception as err:  # noqa: BLE001 - reported like ws's throw
                c.log("event", "throw", [c.enc_error(err)], self.state())
            self.maybe_exit()

    async def run(self, action: dict[str, Any]) -> None:
        """Do one action on the connection."""
        ws = self.ws
        assert ws is not None
        what = action["do"]
        if what == "send":
            data = c.payload(action)
            data = "" if data is None else data
            binary = action.get("options", {}).get("binary")
            if binary and isinstance(data, str):
                data = data.encode("utf-8")
            try:
                await ws.send(data)
            except Exception as err:  # noqa: BLE001
                c.log("event", "send_cb", [c.enc_error(err)], self.state())
            else:
                c.log("event", "send_cb", [None], self.state())
        elif what == "ping":
            await ws.ping(c.payload(action))
        elif what == "pong":
            await ws.pong(c.payload(action) or b"")
        elif what == "close":
            args: list[Any] = []
            if "code" in action:
                args.append(action["code"])
                if "reason" in action:
                    args.append(action["reason"])
            task = self.spawn(ws.close(*args))
            await asyncio.wait({task}, timeout=CLOSE_STEP_S)
            if task.done() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        elif what == "log_state":
            extensions = ", ".join(e.name for e in ws.protocol.extensions)
            c.log(
                "event", "state", [None, ws.subprotocol or "", extensions], self.state()
            )
        elif what == "shutdown":
            assert self.server is not None
            self.server.close(
                close_connections=True,
                code=action.get("code", 1001),
                reason=action.get("reason", ""),
            )
        else:
            raise ValueError(f"unknown action {what}")

    async def serve_connection(self, ws: ClientConnection | ServerConnection) -> None:
        """Log messages until the connection closes, then ``close``."""
        self.ws = ws
        cause: BaseException | None = None
        try:
            async for message in ws:
                if isinstance(message, str):
                    c.log("event", "message", [message.encode(), False], self.state())
                else:
                    c.log("event", "message", [message, True], self.state())
                self.triggers("message")
        except ConnectionClosed as exc:
            cause = exc.__cause__
        await ws.wait_closed()
        if cause is not None:
            sent = ws.protocol.close_sent
            code = None if sent is None else int(sent.code)
            c.log("event", "error", [c.enc_error(cause, code)], self.state())
            self.triggers("error")
        reason = (ws.close_reason or "").encode("utf-8")
        c.log("event", "close", [ws.close_code, reason], self.state())
        self.triggers("close")
        self.closed = True
        self.maybe_exit()

    def maybe_exit(self) -> None:
        """Finish once the connection closed and no delayed action is left."""
        if not self.closed or self.triggers.pending > 0 or self.exiting:
            return
        if self.queue.qsize():
            return
        self.exiting = True
        if self.server is not None:
            self.spawn(self.close_server())
        elif self.done is not None and not self.done.done():
            self.done.set_result(None)

    async def close_server(self) -> None:
        """Close the listener, then finish."""
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        c.log("meta", "server_close", [], None)
        if self.done is not None and not self.done.done():
            self.done.set_result(None)

    async def main(self) -> None:
        """Run until the connection (and the server) closed."""
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        self.spawn(self.run_actions())
        kwargs = self.kwargs()
        if self.config["role"] == "server":

            async def handler(ws: ServerConnection) -> None:
                self.ws = ws
                path = ws.request.path if ws.request is not None else "/"
                c.log("event", "connection", [path], self.state())
                self.triggers("open")
                await self.serve_connection(ws)

            self.server = await serve(handler, "127.0.0.1", 0, **kwargs)
            port = next(iter(self.server.sockets)).getsockname()[1]
            c.log("meta", "listening", [port], None)

            def stdin_end() -> None:
                self.closed = True
                self.maybe_exit()

            c.watch_stdin_end(loop, stdin_end)
        else:
            url = f"ws://127.0.0.1:{self.config['port']}{self.config.get('path', '/')}"
            if "protocols" in self.config:
                kwargs["subprotocols"] = self.config["protocols"]
            try:
                ws = await connect(url, open_timeout=5, **kwargs)
            except Exception as err:  # noqa: BLE001 - the handshake failed
                c.log("event", "error", [c.enc_error(err)], None)
                self.closed = True
                self.maybe_exit()
            else:
                self.ws = ws
                # No readyState: connect() returning is not an event at a
                # fixed point, a frame the peer sent at once may already
                # have moved the state on.
                c.log("event", "open", [], None)
                self.triggers("open")
                self.spawn(self.serve_connection(ws))
        await self.done
        c.log("meta", "exit", [], None)


def main() -> None:
    """Check the scenario, then run it."""
    config = c.heartbeat_from_options(json.loads(sys.argv[1]))
    c.version(f"websockets {websockets.__version__}")
    c.check(
        config,
        name=NAME,
        options=("closeTimeout", "maxPayload", "perMessageDeflate"),
        actions=("send", "ping", "pong", "close", "log_state", "shutdown"),
    )
    asyncio.run(Adapter(config).main())


if __name__ == "__main__":
    main()
