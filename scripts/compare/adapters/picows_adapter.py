"""Compare-tool adapter for ``picows`` (a frame-level WebSocket library).

Usage: ``python picows_adapter.py '<json config>'`` (see
``scripts/compare/README.md``, "Adapters"). picows hands the application
frames, not messages, and leaves the closing handshake to it; the adapter
does what picows's documentation shows: a received CLOSE is answered with
``send_close(code, message)`` then ``disconnect()``, and the ``close`` action
is ``send_close(code, reason)`` then ``disconnect()`` (so closeTimeout has no
counterpart); fragments are joined into a message and text is decoded with
``get_payload_as_utf8_text()`` as an application would. Options: maxPayload
-> ``max_frame_size`` (a per-frame limit), autoPong -> ``enable_auto_pong``,
the scenario's heartbeat -> ``enable_auto_ping`` with
``auto_ping_idle_timeout``/``auto_ping_reply_timeout`` and
``PING_PERIODICALLY``. ``terminate`` is ``disconnect(graceful=False)``.
picows has no permessage-deflate and no server method that closes open
connections: the ``shutdown`` action closes each open connection with the
action's code, then the listener, as its ws counterpart does.

Logs ``open``/``connection``, ``message(data, isBinary)``, ``ping``/``pong``
(pings only with auto-pong off), ``error`` (the exception
``wait_disconnected()`` re-raises for a local failure, with the close code
picows sent as ``statusCode``), and ``close(code, reason)`` from
``close_handshake.recv`` (``None`` when no close frame came).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import sys
from typing import Any

import _common as c
from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
    ws_create_server,
)

NAME = "picows"


def _extra(config: dict[str, Any]) -> str | None:
    options = config.get("options", {})
    if options.get("perMessageDeflate"):
        return f"{NAME} has no permessage-deflate"
    auto_pong = options.get("autoPong", True)
    for action in config.get("actions", []):
        if action["on"] == "ping" and auto_pong:
            return f"{NAME} surfaces 'ping' only with enable_auto_pong=False"
    return None


class Adapter:
    """Runs one scenario's implementation part on picows."""

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the config; nothing starts until :meth:`main`."""
        self.config = config
        self.options: dict[str, Any] = config.get("options", {})
        self.transport: WSTransport | None = None
        self.transports: list[WSTransport] = []
        self.server: asyncio.Server | None = None
        self.closed = False
        self.exiting = False
        self.done: asyncio.Future[None] | None = None
        self.triggers = c.Triggers(config, self.run)
        self.triggers.on_idle = self.maybe_exit
        self.fragments: list[bytes] = []
        self.fragment_type: WSMsgType | None = None
        self.sending_fragments = False
        self.tasks: set[asyncio.Task[Any]] = set()
        self.logged_error: BaseException | None = None

    def kwargs(self) -> dict[str, Any]:
        """picows arguments for the scenario's options."""
        out: dict[str, Any] = {
            "enable_auto_pong": bool(self.options.get("autoPong", True)),
            "websocket_handshake_timeout": 5,
        }
        if "maxPayload" in self.options:
            out["max_frame_size"] = self.options["maxPayload"]
        heartbeat = self.config.get("heartbeat")
        if heartbeat:
            out.update(
                enable_auto_ping=True,
                auto_ping_idle_timeout=heartbeat["interval_ms"] / 1000.0,
                auto_ping_reply_timeout=heartbeat["timeout_ms"] / 1000.0,
                auto_ping_strategy=WSAutoPingStrategy.PING_PERIODICALLY,
            )
        return out

    def state(self) -> int | None:
        """readyState as far as picows tells: open, close sent, disconnected."""
        transport = self.transport
        if transport is None:
            return None
        if transport.is_disconnected:
            return 3
        return 2 if transport.is_close_frame_sent else 1

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Keep a reference to a background task."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def run(self, action: dict[str, Any]) -> None:
        """Do one action; an exception is logged as ``throw``."""
        transport = self.transport
        assert transport is not None
        what = action["do"]
        try:
            if what == "send":
                data = c.payload(action)
                data = "" if data is None else data
                options = action.get("options", {})
                binary = options.get("binary", isinstance(data, bytes))
                if isinstance(data, str):
                    data = data.encode("utf-8")
                kind = WSMsgType.BINARY if binary else WSMsgType.TEXT
                if self.sending_fragments:
                    kind = WSMsgType.CONTINUATION
                fin = bool(options.get("fin", True))
                self.sending_fragments = not fin
                transport.send(kind, data, fin=fin)
            elif what == "ping":
                transport.send_ping(_as_bytes(c.payload(action)))
            elif what == "pong":
                transport.send_pong(_as_bytes(c.payload(action)))
            elif what == "close":
                if "code" in action:
                    reason = _as_bytes(action.get("reason", ""))
                    transport.send_close(WSCloseCode(action["code"]), reason)
                else:
                    transport.send_close()
                transport.disconnect()
            elif what == "terminate":
                transport.disconnect(graceful=False)
            elif what == "log_state":
                c.log("event", "state", [None, None, None], self.state())
            elif what == "shutdown":
                reason = _as_bytes(action.get("reason", ""))
                for each in list(self.transports):
                    each.send_close(WSCloseCode(action.get("code", 1001)), reason)
                    each.disconnect()
                assert self.server is not None
                self.server.close()
            else:
                raise ValueError(f"unknown action {what}")
        except Exception as err:  # noqa: BLE001 - reported like ws's throw
            c.log("event", "throw", [c.enc_error(err)], self.state())

    def listener(self) -> WSListener:
        """A listener that logs frames as the application sees them."""
        adapter = self

        class Listener(WSListener):
            def on_ws_connected(self, transport: WSTransport) -> None:
                adapter.transport = transport
                adapter.transports.append(transport)
                if transport.is_client_side:
                    c.log("event", "open", [], adapter.state())
                else:
                    path = transport.request.path.decode("latin-1")
                    c.log("event", "connection", [path], adapter.state())
                adapter.spawn(adapter.watch(transport))
                adapter.triggers("open")

            def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
                try:
                    adapter.on_frame(transport, frame)
                except Exception as err:
                    # picows then fails the connection (disconnect_on_exception).
                    adapter.logged_error = err
                    c.log("event", "error", [c.enc_error(err)], adapter.state())
                    adapter.triggers("error")
                    raise

        return Listener()

    def on_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """Handle one frame the way picows's documentation shows."""
        kind = frame.msg_type
        if kind == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
            return
        if kind == WSMsgType.PING:
            c.log("event", "ping", [frame.get_payload_as_bytes()], self.state())
            self.triggers("ping")
            return
        if kind == WSMsgType.PONG:
            c.log("event", "pong", [frame.get_payload_as_bytes()], self.state())
            self.triggers("pong")
            return
        if kind != WSMsgType.CONTINUATION:
            self.fragment_type = kind
            self.fragments = []
        self.fragments.append(frame.get_payload_as_bytes())
        if not frame.fin:
            return
        data = b"".join(self.fragments)
        self.fragments = []
        if self.fragment_type == WSMsgType.TEXT:
            text = data.decode("utf-8")  # raises on invalid UTF-8, as an app's would
            c.log("event", "message", [text.encode("utf-8"), False], self.state())
        else:
            c.log("event", "message", [data, True], self.state())
        self.triggers("message")

    async def watch(self, transport: WSTransport) -> None:
        """Wait for the disconnect; log ``error`` (local failure), ``close``."""
        err: BaseException | None = None
        try:
            await transport.wait_disconnected()
        except Exception as exc:  # noqa: BLE001 - a local failure
            err = None if exc is self.logged_error else exc
        if err is not None:
            handshake = transport.close_handshake
            sent = None if handshake is None else handshake.sent
            code = None if sent is None else int(sent.code)
            c.log("event", "error", [c.enc_error(err, code)], self.state())
            self.triggers("error")
        handshake = transport.close_handshake
        recv = None if handshake is None else handshake.recv
        code = None if recv is None else int(recv.code)
        reason = b"" if recv is None else (recv.reason or "").encode("utf-8")
        c.log("event", "close", [code, reason], self.state())
        self.triggers("close")
        self.closed = True
        self.maybe_exit()

    def maybe_exit(self) -> None:
        """Finish once the connection closed and no delayed action is left."""
        if not self.closed or self.triggers.pending > 0 or self.exiting:
            return
        self.exiting = True
        self.spawn(self.finish())

    async def finish(self) -> None:
        """Close the server, then end."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            c.log("meta", "server_close", [], None)
        if self.done is not None and not self.done.done():
            self.done.set_result(None)

    async def main(self) -> None:
        """Run until the connection (and the server) closed."""
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        if self.config["role"] == "server":
            self.server = await ws_create_server(
                lambda _request: self.listener(), "127.0.0.1", 0, **self.kwargs()
            )
            port = self.server.sockets[0].getsockname()[1]
            c.log("meta", "listening", [port], None)

            def stdin_end() -> None:
                self.closed = True
                self.maybe_exit()

            c.watch_stdin_end(loop, stdin_end)
        else:
            url = f"ws://127.0.0.1:{self.config['port']}{self.config.get('path', '/')}"
            try:
                await ws_connect(self.listener, url, **self.kwargs())
            except Exception as err:  # noqa: BLE001 - the handshake failed
                c.log("event", "error", [c.enc_error(err)], None)
                self.closed = True
                self.maybe_exit()
        await self.done
        c.log("meta", "exit", [], None)


def _as_bytes(data: str | bytes | None) -> bytes:
    if data is None:
        return b""
    return data.encode("utf-8") if isinstance(data, str) else data


def main() -> None:
    """Check the scenario, then run it."""
    config = c.heartbeat_from_options(json.loads(sys.argv[1]))
    c.version(f"picows {importlib.metadata.version('picows')}")
    c.check(
        config,
        name=NAME,
        options=("closeTimeout", "maxPayload", "autoPong", "perMessageDeflate"),
        actions=(
            "send",
            "ping",
            "pong",
            "close",
            "terminate",
            "log_state",
            "shutdown",
        ),
        triggers=("open", "message", "error", "close", "ping", "pong"),
        send_options=("binary", "fin"),
        extra=_extra,
    )
    if "protocols" in config:
        c.not_applicable(f"{NAME} has no subprotocol negotiation option")
    asyncio.run(Adapter(config).main())


if __name__ == "__main__":
    main()
