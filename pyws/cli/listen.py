"""``python -m pyws listen PORT``: an echo server you can type to.

Each connection, each message received and each close (with its code and
reason) is reported, and every message is sent back as it came (text as
text, binary as binary). Each line typed on standard input is sent, as a
text message, to every open client. Ctrl-C (SIGINT) or SIGTERM closes
every connection with 1001 and then the server.

With ``--broadcast`` every message received goes to every open client
(sender included) instead of back to its sender; ``--redis URL`` relays
through Redis pub/sub (:mod:`pyws.redis`), so that every ``listen`` given
the same URL and ``--channel`` is one room; ``--workers N`` runs N
processes on the port (:mod:`pyws.workers`), each one an :class:`EchoServer`
(they do not read standard input).

Standard input is optional here: at its end (``/dev/null``, a closed pipe)
the server goes on, and a terminal is not read while the process runs in
the background (``listen 8080 &``), which would stop it (SIGTTIN).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, cast

import pyws
from pyws.constants import CloseCode, ReadyState
from pyws.typing import ServerOptions

from .connect import CLOSE_GRACE_S, STDIN_HIGH_WATER, STDIN_LOW_WATER, heartbeat_options
from .output import (
    Console,
    Out,
    close_text,
    error_text,
    format_control,
    format_message,
)
from .signals import SignalRoute
from .stdin import StdinReader

__all__ = ["EchoServer", "run_listen", "format_host"]

EXIT_OK = 0
EXIT_ERROR = 1


def protocol_chooser(supported: Sequence[str]) -> Callable[[Any, Any], str | bool]:
    """A ``handleProtocols`` that picks our first protocol the client offers."""

    def handle_protocols(offered: Any, req: Any) -> str | bool:
        offered_set = set(offered)
        for name in supported:
            if name in offered_set:
                return name
        return False

    return handle_protocols


def format_host(host: str) -> str:
    """An address as it goes in a URL (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host else host


def _in_background() -> bool:
    """Whether standard input is a terminal this process may not read
    (another process group is in the foreground)."""
    try:
        fd = sys.stdin.fileno() if sys.stdin is not None else -1
        return fd >= 0 and os.isatty(fd) and os.tcgetpgrp(fd) != os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


class EchoServer:
    """One ``listen`` run: the server, its connections, stdin and shutdown."""

    def __init__(
        self,
        args: argparse.Namespace,
        console: Console,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.args = args
        self.console = console
        self.log = console.log
        self.loop = loop
        self.clients: set[Any] = set()
        self._count = 0
        self._stop = asyncio.Event()
        self._interrupts = 0
        self.stdin = StdinReader(
            loop, self._on_line, self._on_stdin_eof, on_prompt=console.set_redraw
        )
        self._pending = 0
        self._paused = False
        #: What a message received becomes: by default an echo to its
        #: sender; --broadcast and --redis put a relay in its place.
        self.on_message: Callable[[Any, object, bool], object] = self._echo
        self._relay_close: Callable[[], Any] | None = None
        #: --workers: called once the server listens.
        self.on_listening: Callable[[], None] | None = None

    async def run(self) -> int:
        # Handlers first: a Ctrl-C right after the 'listening on' line must
        # already mean "shut down cleanly".
        signals = SignalRoute(self.loop, self._on_interrupt)
        signals.install()
        try:
            return await self._serve()
        finally:
            signals.uninstall()
            self.stdin.close()

    def server_options(self) -> dict[str, Any]:
        """The :class:`pyws.WebSocketServer` options the flags ask for."""
        args = self.args
        options: dict[str, Any] = {
            "port": args.port,
            "host": args.host,
            "closeTimeout": args.close_timeout,
            "perMessageDeflate": args.deflate,
        }
        if args.path is not None:
            options["path"] = args.path
        if args.protocol:
            options["handleProtocols"] = protocol_chooser(args.protocol)
        if args.max_payload is not None:
            options["maxPayload"] = args.max_payload
        heartbeat_options(args, options)
        if getattr(args, "reuse_port", False):
            options["reusePort"] = True
        return options

    async def _serve(self) -> int:
        args = self.args
        listening: asyncio.Future[None] = self.loop.create_future()

        def on_listening(*_: object) -> None:
            if not listening.done():
                listening.set_result(None)

        def on_error(err: BaseException) -> None:
            if not listening.done():
                listening.set_exception(err)
            else:
                self.log(f"server error: {error_text(err)}")

        try:
            options = self.server_options()
            wss = pyws.WebSocketServer(cast(ServerOptions, options))
        except (ValueError, TypeError, OSError) as exc:
            self.log(f"error: {exc}")
            return EXIT_ERROR
        wss.on("listening", on_listening)
        wss.on("error", on_error)
        wss.on("connection", self._on_connection)
        if args.broadcast or args.redis:
            try:
                self.on_message, self._relay_close = make_relay(wss, args, self.log)
            except (ImportError, TypeError, ValueError) as exc:
                self.log(f"error: {exc}")
                return EXIT_ERROR
        try:
            await listening
        except Exception as exc:  # noqa: BLE001 - any listen failure ends the run
            self.log(f"error: {error_text(exc)}")
            return EXIT_ERROR

        address = wss.address()
        if address is None:  # closed between 'listening' and here
            self.log("error: the server closed before it could be used")
            return EXIT_ERROR
        host = format_host(str(address["address"]))
        self.log(f"listening on ws://{host}:{address['port']}{args.path or '/'}")
        if self.on_listening is not None:
            self.on_listening()
        if not args.no_stdin and not _in_background():
            await self.stdin.start()

        await self._stop.wait()
        self.stdin.close()
        self.log("shutting down")
        await self._shutdown(wss)
        if self._relay_close is not None:
            await self._relay_close()
        self.log("server closed")
        return EXIT_OK

    def _on_interrupt(self) -> None:
        self._interrupts += 1
        if self._interrupts == 1:
            self._stop.set()
        else:
            self.log("interrupted again, terminating connections")
            for ws in list(self.clients):
                ws.terminate()

    # -- connections

    def _on_connection(self, ws: Any, req: Any) -> None:
        self._count += 1
        tag = f"[{self._count}]"
        self.clients.add(ws)
        peer = getattr(getattr(req, "socket", None), "remoteAddress", None) or "?"
        port = getattr(getattr(req, "socket", None), "remotePort", None)
        if port is not None:
            peer = f"{format_host(str(peer))}:{port}"
        details = [f"path {req.url}"]
        if ws.protocol:
            details.append(f"protocol: {ws.protocol}")
        if ws.extensions:
            details.append(f"extensions: {ws.extensions}")
        self.log(f"{tag} connected from {peer} ({', '.join(details)})")
        hex_binary = self.args.hex

        def on_message(data: object, is_binary: bool) -> None:
            text = format_message(data, is_binary, hex_binary)
            self.console.received(f"{tag} {text}")
            self.on_message(ws, data, is_binary)

        def on_error(err: object) -> None:
            self.log(f"{tag} error: {error_text(err)}")

        def on_close(code: int, reason: object) -> None:
            self.clients.discard(ws)
            self.log(f"{tag} {close_text(code, reason)}")

        ws.on("message", on_message)
        ws.on("error", on_error)
        ws.on("close", on_close)
        if self.args.show_ping_pong:
            ws.on(
                "ping",
                lambda d: self.log(f"{tag} ping: {format_control(d, hex_binary)}"),
            )
            ws.on(
                "pong",
                lambda d: self.log(f"{tag} pong: {format_control(d, hex_binary)}"),
            )
        if self._stop.is_set():  # accepted while shutting down
            ws.close(CloseCode.GOING_AWAY, "server shutting down")

    def _echo(self, ws: Any, data: object, is_binary: bool) -> object:
        return ws.send(data, {"binary": is_binary})

    # -- standard input: typed lines go to every open client

    def _on_line(self, line: bytes) -> None:
        targets = [ws for ws in self.clients if ws.readyState == ReadyState.OPEN]
        if not targets:
            self.log("no open connection: not sent")
            return
        text = line.decode("utf-8", "replace")
        if self.stdin.mode != "readline":
            self.console.sent(text)
        size = len(line)
        self._pending += size * len(targets)

        def sent(err: object = None) -> None:
            self._pending -= size
            if self._paused and self._pending <= STDIN_LOW_WATER:
                self._paused = False
                self.stdin.resume()

        for ws in targets:
            ws.send(text, sent)
        self.log(f"sent to {len(targets)} client{'s' if len(targets) > 1 else ''}")
        if not self._paused and self._pending > STDIN_HIGH_WATER:
            self._paused = True
            self.stdin.pause()

    def _on_stdin_eof(self) -> None:
        # The server goes on: standard input was only a way to type.
        pass

    # -- shutdown

    async def _shutdown(self, wss: Any) -> None:
        """``wss.shutdown()``: every connection closed with 1001 after what
        was queued, then the server (a second Ctrl-C terminates)."""
        done = wss.shutdown(CloseCode.GOING_AWAY, "server shutting down")
        limit = self.args.close_timeout / 1000 + CLOSE_GRACE_S
        try:
            await asyncio.wait_for(asyncio.shield(done), limit)
        except asyncio.TimeoutError:
            self.log("connections did not close in time, terminating them")
            for ws in list(self.clients):
                ws.terminate()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done, CLOSE_GRACE_S)


async def run_listen(args: argparse.Namespace, console: Console) -> int:
    """Run ``listen``; the exit status."""
    return await EchoServer(args, console, asyncio.get_running_loop()).run()


# --------------------------------------------------------------------------
# --broadcast, --redis, --workers


def make_relay(
    wss: Any, args: argparse.Namespace, log: Out
) -> tuple[Callable[[Any, object, bool], object], Callable[[], Any] | None]:
    """``--broadcast``: every message goes to every open client (sender
    included), through Redis when ``--redis`` is given. Returns the
    ``on_message`` replacement and what closes the relay (or ``None``)."""
    if not args.redis:

        def local(ws: Any, data: object, is_binary: bool) -> object:
            return wss.broadcast(data, {"binary": is_binary})

        return local, None
    try:
        from pyws.redis import RedisFanout
    except ImportError as exc:
        raise ImportError(
            f"--redis needs redis-py: pip install 'pyws-node[redis]' ({exc})"
        ) from None
    fanout = RedisFanout(wss, args.redis, channel=args.channel)
    fanout.on("ready", lambda: log(f"redis: subscribed to {args.channel!r}"))
    fanout.on("error", lambda err: log(f"redis: {error_text(err)}"))

    def relay(ws: Any, data: object, is_binary: bool) -> object:
        return fanout.publish(data, {"binary": is_binary})

    return relay, fanout.close


def listen_worker(
    index: int, args: argparse.Namespace, ready: Callable[[], None]
) -> int:
    """One ``listen --workers N`` process (run by pyws.workers.Supervisor):
    an :class:`EchoServer` whose lines start with ``worker N:``."""
    console = Console(sys.stdout, sys.stderr)
    for output in (console.received, console.sent, console.log):
        output.prefix = f"worker {index}: {output.prefix}"

    async def main() -> int:
        server = EchoServer(args, console, asyncio.get_running_loop())
        server.on_listening = ready
        return await server.run()

    return asyncio.run(main())


def run_listen_workers(args: argparse.Namespace, console: Console) -> int:
    """``listen PORT --workers N``: N processes on one port (SO_REUSEPORT)."""
    import pyws.workers

    log = console.log
    try:
        reserved = pyws.workers.reserve_port(args.host, args.port)
    except OSError as exc:
        log(f"error: {error_text(exc)}")
        return EXIT_ERROR
    try:
        args.port = int(reserved.getsockname()[1])
        args.reuse_port = True
        args.no_stdin = True  # typing goes to one process: not with workers
        sup = pyws.workers.Supervisor(
            listen_worker,
            args,
            args.workers,
            stop_timeout=args.close_timeout / 1000 + 2 * CLOSE_GRACE_S,
            log=log,
        )
        host = format_host(str(args.host))
        sup.ready_text = (
            f"listening on ws://{host}:{args.port}{args.path or '/'} "
            f"({args.workers} workers)"
        )
        status = sup.run()
    finally:
        reserved.close()
    log("server closed")
    return status
