"""Compare-tool adapter for ``aiohttp`` (its WebSocket client and server).

Usage: ``python aiohttp_adapter.py '<json config>'`` (see
``scripts/compare/README.md``, "Adapters"). Maps the scenario's ws options to
aiohttp arguments: closeTimeout -> the close timeout (``ClientWSTimeout``
``ws_close`` for the client, ``timeout`` for ``WebSocketResponse``), maxPayload
-> ``max_msg_size``, perMessageDeflate -> ``compress`` (aiohttp's default
when unset), autoPong -> ``autoping``
and the scenario's heartbeat -> ``heartbeat`` (its interval; aiohttp waits
half of it for the pong, so the scenario's ping timeout has no counterpart).
The server is an ``aiohttp.web`` application on 127.0.0.1, port 0; its
graceful shutdown is aiohttp's documented one: an ``on_shutdown`` handler that
closes every open WebSocket, then ``AppRunner.cleanup()``.

Logs what ``receive()`` hands the application: ``message(data, isBinary)``,
``ping``/``pong`` (only with autoping off), ``error`` (an ERROR message; the
close code aiohttp sent as ``statusCode``), ``close(code, reason)`` once the
loop ends as ``async for`` does and the close() under way is done (reason
``None`` when the application's own close() ended it: aiohttp keeps none).
aiohttp exposes no readyState. It cannot send fragments, terminate, pause
or resume: those scenarios are not applicable.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import _common as c
import aiohttp
from aiohttp import WSMsgType, web

NAME = "aiohttp"
#: How long an action waits for close() before the next action runs: close()
#: resolves only after the closing handshake, ws's close() returns at once.
CLOSE_STEP_S = 0.05


def _extra(config: dict[str, Any]) -> str | None:
    auto_pong = config.get("options", {}).get("autoPong", True)
    for action in config.get("actions", []):
        if action["on"] in ("ping", "pong") and auto_pong:
            return f"{NAME} surfaces '{action['on']}' only with autoping=False"
    return None


class Adapter:
    """Runs one scenario's implementation part on aiohttp."""

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the config; nothing starts until :meth:`main`."""
        self.config = config
        self.options: dict[str, Any] = config.get("options", {})
        self.closed = False
        self.exiting = False
        self.done: asyncio.Future[None] | None = None
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse | None = None
        self.runner: web.AppRunner | None = None
        self.session: aiohttp.ClientSession | None = None
        self.triggers = c.Triggers(config, self.queue.put_nowait)
        self.triggers.on_idle = self.maybe_exit
        self.tasks: set[asyncio.Task[Any]] = set()
        self.close_task: asyncio.Task[Any] | None = None
        self.cleanup_task: asyncio.Task[Any] | None = None

    @property
    def close_timeout(self) -> float:
        """The scenario's closeTimeout in seconds."""
        return float(self.options.get("closeTimeout", 30000)) / 1000.0

    def common_kwargs(self) -> dict[str, Any]:
        """Arguments shared by ws_connect() and WebSocketResponse()."""
        out: dict[str, Any] = {
            "autoclose": True,
            "autoping": bool(self.options.get("autoPong", True)),
        }
        if "maxPayload" in self.options:
            out["max_msg_size"] = self.options["maxPayload"]
        heartbeat = self.config.get("heartbeat")
        if heartbeat:
            out["heartbeat"] = heartbeat["interval_ms"] / 1000.0
        if "protocols" in self.config:
            out["protocols"] = self.config["protocols"]
        return out

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
                c.log("event", "throw", [c.enc_error(err)], None)
            self.maybe_exit()

    async def run(self, action: dict[str, Any]) -> None:
        """Do one action on the connection."""
        ws = self.ws
        assert ws is not None
        what = action["do"]
        if what == "send":
            data = c.payload(action)
            data = "" if data is None else data
            if action.get("options", {}).get("binary") and isinstance(data, str):
                data = data.encode("utf-8")
            try:
                if isinstance(data, str):
                    await ws.send_str(data)
                else:
                    await ws.send_bytes(data)
            except Exception as err:  # noqa: BLE001
                c.log("event", "send_cb", [c.enc_error(err)], None)
            else:
                c.log("event", "send_cb", [None], None)
        elif what == "ping":
            await ws.ping(_as_bytes(c.payload(action)))
        elif what == "pong":
            await ws.pong(_as_bytes(c.payload(action)))
        elif what == "close":
            kwargs: dict[str, Any] = {}
            if "code" in action:
                kwargs["code"] = action["code"]
            if "reason" in action:
                kwargs["message"] = str(action["reason"]).encode("utf-8")
            task = self.spawn(ws.close(**kwargs))
            if self.close_task is None:
                self.close_task = task
            await asyncio.wait({task}, timeout=CLOSE_STEP_S)
            if task.done() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        elif what == "log_state":
            extensions = "permessage-deflate" if ws.compress else ""
            c.log("event", "state", [None, ws.protocol or "", extensions], None)
        elif what == "shutdown":
            assert self.runner is not None
            self.shutdown_code = action.get("code", 1001)
            self.shutdown_reason = str(action.get("reason", "")).encode("utf-8")
            self.cleanup_task = self.spawn(self.runner.cleanup())
        else:
            raise ValueError(f"unknown action {what}")

    shutdown_code = 1001
    shutdown_reason = b""

    async def receive_all(self) -> None:
        """Log what receive() returns, as ``async for`` would, then ``close``.

        Like ``async for msg in ws``, the loop stops at CLOSE (the peer
        closed; aiohttp has answered it), CLOSING (our own close() is under
        way) or CLOSED; ``close`` is logged once that close() is done.
        """
        ws = self.ws
        assert ws is not None
        reason: bytes | None = None  # aiohttp keeps no reason for our close
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                if msg.type == WSMsgType.CLOSE:
                    reason = (msg.extra or "").encode("utf-8")
                break
            if msg.type == WSMsgType.TEXT:
                c.log("event", "message", [msg.data.encode("utf-8"), False], None)
                self.triggers("message")
            elif msg.type == WSMsgType.BINARY:
                c.log("event", "message", [msg.data, True], None)
                self.triggers("message")
            elif msg.type == WSMsgType.PING:
                c.log("event", "ping", [msg.data], None)
                self.triggers("ping")
            elif msg.type == WSMsgType.PONG:
                c.log("event", "pong", [msg.data], None)
                self.triggers("pong")
            elif msg.type == WSMsgType.ERROR:
                c.log("event", "error", [c.enc_error(msg.data, ws.close_code)], None)
                self.triggers("error")
        if self.close_task is not None:
            await asyncio.wait({self.close_task}, timeout=self.close_timeout + 1.0)
        c.log("event", "close", [ws.close_code, reason], None)
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
        self.spawn(self.finish())

    async def finish(self) -> None:
        """Close the server or the session, then end."""
        if self.runner is not None:
            if self.cleanup_task is None:  # else the shutdown action's
                self.cleanup_task = self.spawn(self.runner.cleanup())
            await asyncio.wait({self.cleanup_task}, timeout=self.close_timeout + 5.0)
            c.log("meta", "server_close", [], None)
        if self.session is not None:
            await self.session.close()
        if self.done is not None and not self.done.done():
            self.done.set_result(None)

    async def main(self) -> None:
        """Run until the connection (and the server) closed."""
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        self.spawn(self.run_actions())
        if self.config["role"] == "server":
            await self.serve(loop)
        else:
            await self.connect()
        await self.done
        c.log("meta", "exit", [], None)

    async def serve(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the application and log ``listening``."""
        open_sockets: list[web.WebSocketResponse] = []

        async def handler(request: web.Request) -> web.StreamResponse:
            kwargs = self.common_kwargs()
            if "perMessageDeflate" in self.options:  # else aiohttp's default
                kwargs["compress"] = bool(self.options["perMessageDeflate"])
            ws = web.WebSocketResponse(timeout=self.close_timeout, **kwargs)
            await ws.prepare(request)
            self.ws = ws
            open_sockets.append(ws)
            c.log("event", "connection", [request.path_qs], None)
            self.triggers("open")
            await self.receive_all()
            return ws

        async def on_shutdown(_: web.Application) -> None:
            for ws in list(open_sockets):
                task = self.spawn(
                    ws.close(code=self.shutdown_code, message=self.shutdown_reason)
                )
                self.close_task = self.close_task or task
                await task

        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        app.on_shutdown.append(on_shutdown)
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        c.log("meta", "listening", [port], None)

        def stdin_end() -> None:
            self.closed = True
            self.maybe_exit()

        c.watch_stdin_end(loop, stdin_end)

    async def connect(self) -> None:
        """Connect as a client and log ``open``."""
        url = f"ws://127.0.0.1:{self.config['port']}{self.config.get('path', '/')}"
        self.session = aiohttp.ClientSession()
        try:
            kwargs = self.common_kwargs()
            if "perMessageDeflate" in self.options:  # else aiohttp's default
                kwargs["compress"] = 15 if self.options["perMessageDeflate"] else 0
            ws = await self.session.ws_connect(
                url,
                timeout=aiohttp.ClientWSTimeout(ws_close=self.close_timeout),
                **kwargs,
            )
        except Exception as err:  # noqa: BLE001 - the handshake failed
            c.log(
                "event", "error", [c.enc_error(err, getattr(err, "status", None))], None
            )
            self.closed = True
            self.maybe_exit()
            return
        self.ws = ws
        c.log("event", "open", [], None)
        self.triggers("open")
        self.spawn(self.receive_all())


def _as_bytes(data: str | bytes | None) -> bytes:
    if data is None:
        return b""
    return data.encode("utf-8") if isinstance(data, str) else data


def main() -> None:
    """Check the scenario, then run it."""
    config = c.heartbeat_from_options(json.loads(sys.argv[1]))
    c.version(f"aiohttp {aiohttp.__version__}")
    c.check(
        config,
        name=NAME,
        options=("closeTimeout", "maxPayload", "perMessageDeflate", "autoPong"),
        actions=("send", "ping", "pong", "close", "log_state", "shutdown"),
        triggers=("open", "message", "error", "close", "ping", "pong"),
        extra=_extra,
    )
    asyncio.run(Adapter(config).main())


if __name__ == "__main__":
    main()
