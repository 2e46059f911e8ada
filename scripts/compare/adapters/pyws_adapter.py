"""Compare-tool adapter for pyws: the twin of ``ws_adapter.js``.

Owns nothing but the translation between a scenario's implementation part
and the pyws public API. Usage: ``python pyws_adapter.py '<json config>'``
(the runner sets PYTHONPATH to the repository root). It prints one JSON
object per line, exactly as the ws adapter does::

    {"t": <epoch ms>, "kind": "event"|"meta", "event": <name>,
     "args": [...], "readyState": <n>}

Byte strings are written as ``{"b": "<hex>"}``. It exits once the connection
has closed (and, as a server, once the server has closed). Imports ``pyws``
(its public API only), never the compare tool or ``test/``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from typing import Any

import pyws


def now() -> float:
    """Wall-clock milliseconds, as ``performance.timeOrigin + now()``."""
    return time.time() * 1000.0


def enc(value: Any) -> Any:
    """JSON-ready value: bytes become ``{"b": hex}``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) > 1024:  # as the raw peer logs large payloads
            return {"len": len(raw), "sha1": hashlib.sha1(raw).hexdigest()}
        return {"b": raw.hex()}
    if isinstance(value, (list, tuple)):
        return [enc(v) for v in value]
    return value


def enc_error(err: BaseException | None) -> dict[str, Any] | None:
    """Describe an error with the fields ws errors carry."""
    if err is None:
        return None
    message = getattr(err, "message", None)
    if not isinstance(message, str):
        message = str(err.args[0]) if err.args else str(err)
    code = getattr(err, "code", None)
    return {
        "name": type(err).__name__,
        "code": code if isinstance(code, str) else None,
        "message": message,
        "statusCode": getattr(err, "statusCode", None),
    }


def log(kind: str, event: str, args: list[Any], ws: Any = None) -> None:
    """Print one JSON line."""
    record: dict[str, Any] = {
        "t": now(),
        "kind": kind,
        "event": event,
        "args": [enc(a) for a in args],
    }
    if ws is not None:
        record["readyState"] = int(ws.readyState)
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def not_applicable(reason: str) -> None:
    """Say the scenario cannot be expressed with this pyws, then exit."""
    log("meta", "not_applicable", [reason])
    log("meta", "exit", [])
    sys.exit(0)


def unsupported_heartbeat(err: TypeError, heartbeat: Any) -> None:
    """A pyws without pingInterval/pingTimeout: the heartbeat scenario is n/a."""
    if heartbeat and ("pingInterval" in str(err) or "pingTimeout" in str(err)):
        not_applicable(f"this pyws has no heartbeat option ({err})")


class Adapter:
    """Runs one scenario's implementation part on pyws."""

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the config; nothing starts until :meth:`main`."""
        self.config = config
        self.pending = 0
        self.closed = False
        self.server: Any = None
        self.server_closing = False
        self.done: asyncio.Future[None] | None = None

    def maybe_exit(self) -> None:
        """Finish once the connection closed and no delayed action is left."""
        if not self.closed or self.pending > 0:
            return
        if self.server is not None:
            self.close_server()
            return
        if self.done is not None and not self.done.done():
            self.done.set_result(None)

    def close_server(self) -> None:
        """Close the server once; finish on its callback."""
        if self.server_closing:
            return
        self.server_closing = True

        def on_closed(*_: Any) -> None:
            log("meta", "server_close", [])
            self.server = None
            self.maybe_exit()

        self.server.close(on_closed)

    @staticmethod
    def payload(action: dict[str, Any]) -> Any:
        """The action's data: text, bytes, or None."""
        if "data_hex" in action:
            return bytes.fromhex(action["data_hex"])
        if "data_size" in action:
            block = bytes(range(256))
            return (block * (action["data_size"] // 256 + 1))[: action["data_size"]]
        return action.get("data")

    def run(self, ws: Any, action: dict[str, Any]) -> None:
        """Do one action; a synchronous throw is logged as ``throw``."""

        def cb(name: str) -> Any:
            def callback(err: BaseException | None = None) -> None:
                log("event", name, [enc_error(err), ws.bufferedAmount], ws)

            return callback

        what = action["do"]
        try:
            if what == "send":
                data = self.payload(action)
                ws.send(
                    "" if data is None else data,
                    action.get("options", {}),
                    cb("send_cb"),
                )
            elif what == "ping":
                ws.ping(self.payload(action), action.get("mask"), cb("ping_cb"))
            elif what == "pong":
                ws.pong(self.payload(action), action.get("mask"), cb("pong_cb"))
            elif what == "close":
                if "code" not in action:
                    ws.close()
                elif "reason" not in action:
                    ws.close(action["code"])
                else:
                    ws.close(action["code"], action["reason"])
            elif what == "terminate":
                ws.terminate()
            elif what == "pause":
                ws.pause()
            elif what == "resume":
                ws.resume()
            elif what == "shutdown":
                # The server's graceful stop (pyws extra): 1001 to every client.
                args = [action[k] for k in ("code", "reason") if k in action]
                self.server.shutdown(*args)
            elif what == "log_state":
                log(
                    "event",
                    "state",
                    [ws.bufferedAmount, ws.protocol, ws.extensions],
                    ws,
                )
            else:
                raise ValueError(f"unknown action {what}")
        except Exception as err:  # noqa: BLE001 - reported, as the ws adapter does
            log("event", "throw", [enc_error(err)], ws)

    def attach(self, ws: Any) -> Any:
        """Log every event of ``ws``; return the action trigger."""
        counts: dict[str, int] = {}
        loop = asyncio.get_running_loop()

        def trigger(name: str) -> None:
            counts[name] = counts.get(name, 0) + 1
            for action in self.config.get("actions", []):
                if action["on"] != name or action.get("nth", 1) != counts[name]:
                    continue
                if action.get("after_ms"):
                    self.pending += 1

                    def later(action: dict[str, Any] = action) -> None:
                        self.pending -= 1
                        self.run(ws, action)
                        self.maybe_exit()

                    loop.call_later(action["after_ms"] / 1000.0, later)
                else:
                    self.run(ws, action)

        def on_message(data: Any, is_binary: bool) -> None:
            log("event", "message", [data, is_binary], ws)
            trigger("message")

        def on_ping(data: Any) -> None:
            log("event", "ping", [data], ws)
            trigger("ping")

        def on_pong(data: Any) -> None:
            log("event", "pong", [data], ws)
            trigger("pong")

        def on_error(err: BaseException) -> None:
            log("event", "error", [enc_error(err)], ws)
            trigger("error")

        def on_close(code: int, reason: bytes) -> None:
            log("event", "close", [code, reason], ws)
            trigger("close")
            self.closed = True
            self.maybe_exit()

        ws.on("message", on_message)
        ws.on("ping", on_ping)
        ws.on("pong", on_pong)
        ws.on("error", on_error)
        ws.on("close", on_close)
        return trigger

    async def main(self) -> None:
        """Run until the connection (and server) closed."""
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        options = dict(self.config.get("options", {}))
        heartbeat = self.config.get("heartbeat")
        if heartbeat:
            options["pingInterval"] = heartbeat["interval_ms"]
            options["pingTimeout"] = heartbeat["timeout_ms"]
        actions = [a["do"] for a in self.config.get("actions", [])]
        if "shutdown" in actions and not hasattr(pyws.WebSocketServer, "shutdown"):
            not_applicable("this pyws has no WebSocketServer.shutdown()")
        if self.config["role"] == "server":
            options.update(port=0, host="127.0.0.1")
            try:
                server = pyws.WebSocketServer(options)
            except TypeError as err:
                unsupported_heartbeat(err, heartbeat)
                raise
            self.server = server

            def on_listening(*_: Any) -> None:
                address = server.address()
                assert address is not None  # listening, so bound
                log("meta", "listening", [address["port"]])

            def on_connection(ws: Any, req: Any) -> None:
                log("event", "connection", [req.url], ws)
                self.attach(ws)("open")

            def on_server_error(err: BaseException) -> None:
                log("event", "server_error", [enc_error(err)])

            server.on("listening", on_listening)
            server.on("connection", on_connection)
            server.on("error", on_server_error)

            def stdin_end() -> None:
                self.closed = True
                self.maybe_exit()

            stdin_fd = sys.stdin.fileno()

            def on_stdin() -> None:
                if not os.read(stdin_fd, 4096):
                    loop.remove_reader(stdin_fd)
                    stdin_end()

            loop.add_reader(stdin_fd, on_stdin)
        else:
            url = f"ws://127.0.0.1:{self.config['port']}{self.config.get('path', '/')}"
            try:
                if "protocols" in self.config:
                    ws = pyws.WebSocket(url, self.config["protocols"], options)
                else:
                    ws = pyws.WebSocket(url, options)
            except TypeError as err:
                unsupported_heartbeat(err, heartbeat)
                raise
            ws.on("upgrade", lambda *_: log("event", "upgrade", [], ws))
            trigger = self.attach(ws)

            def on_open() -> None:
                log("event", "open", [], ws)
                trigger("open")

            ws.on("open", on_open)
        await self.done
        if self.config["role"] == "server":
            loop.remove_reader(sys.stdin.fileno())
        log("meta", "exit", [])


if __name__ == "__main__":
    log("meta", "version", [f"pyws {getattr(pyws, '__version__', '')}".strip()])
    asyncio.run(Adapter(json.loads(sys.argv[1])).main())
