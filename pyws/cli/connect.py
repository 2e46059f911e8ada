"""``python -m pyws connect URL``: an interactive client, like wscat.

Each line read from standard input is sent as a message (text, or binary
with ``--binary``), each message received is printed on standard output,
and the end of input (Ctrl-D) closes the connection with 1000; the close
code and reason are then logged as ``closed: <code> <reason>``. With
``-x/--execute`` the given messages are sent instead of standard input,
and the connection closes ``-w/--wait`` seconds after they were written.

The flags map onto :class:`pyws.WebSocket`'s options (see
:func:`client_options`): ``--auth`` is ``auth``, ``--ca``/``--cert``/
``--key``/``--passphrase`` are the TLS options of the same names,
``-n/--no-check`` is ``rejectUnauthorized: false``, ``--proxy`` is
``proxy`` (a pyws extra), ``-L/--location`` is ``followRedirects``,
``-o`` is ``origin``, ``-H`` fills ``headers``, ``-s`` the subprotocols.

Exit status: 0 after a clean close (1000, 1001 or 1005), 1 after an error.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any, cast

import pyws
from pyws.constants import CloseCode, ReadyState
from pyws.typing import ClientOptions

from .output import Console, close_text, error_text, format_control, format_message
from .signals import SignalRoute
from .stdin import StdinReader

__all__ = ["client_options", "run_connect", "CLEAN_CLOSE_CODES"]

EXIT_OK = 0
EXIT_ERROR = 1

#: A session ending with one of these codes (and no ``'error'``) exits
#: with 0: the peer completed the closing handshake on purpose.
CLEAN_CLOSE_CODES = frozenset(
    {CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY, CloseCode.NO_STATUS_RCVD}
)

#: Stop reading standard input while this many bytes wait to be written...
STDIN_HIGH_WATER = 1 << 20
#: ...and read again once the backlog is down to this.
STDIN_LOW_WATER = 1 << 18

#: Extra time, in seconds, granted past closeTimeout before the CLI stops
#: waiting for pyws's ``'close'`` and terminates the connection itself.
CLOSE_GRACE_S = 2.0

#: ``--passphrase`` without a value: ask on the terminal.
ASK = "\0ask"


def heartbeat_options(args: argparse.Namespace, options: dict[str, Any]) -> None:
    """``--ping-interval``/``--ping-timeout`` (both commands)."""
    if args.ping_interval is not None:
        options["pingInterval"] = args.ping_interval
    if args.ping_timeout is not None:
        options["pingTimeout"] = args.ping_timeout


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`pyws.WebSocket` options the ``connect`` flags ask for."""
    options: dict[str, Any] = {
        "closeTimeout": args.close_timeout,
        "perMessageDeflate": not args.no_deflate,
    }
    if args.header:
        options["headers"] = dict(args.header)
    if args.origin is not None:
        options["origin"] = args.origin
    if args.max_payload is not None:
        options["maxPayload"] = args.max_payload
    heartbeat_options(args, options)
    if args.handshake_timeout is not None:
        options["handshakeTimeout"] = args.handshake_timeout
    if args.auth is not None:
        options["auth"] = args.auth
    if args.proxy is not None:
        options["proxy"] = args.proxy
    if args.location:
        options["followRedirects"] = True
    if args.no_check:
        options["rejectUnauthorized"] = False
    for name in ("ca", "cert", "key"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    if args.passphrase is not None:
        passphrase = args.passphrase
        if passphrase == ASK:
            passphrase = getpass.getpass("passphrase for the --key: ")
        options["passphrase"] = passphrase
    return options


class ClientSession:
    """One ``connect`` run: wires the WebSocket, stdin and the terminal."""

    def __init__(
        self,
        ws: Any,
        args: argparse.Namespace,
        console: Console,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.ws = ws
        self.args = args
        self.console = console
        self.log = console.log
        self.loop = loop
        self.error: object | None = None
        self.closed: asyncio.Future[tuple[int, object]] = loop.create_future()
        self.stdin = StdinReader(
            loop, self._on_line, self._on_stdin_eof, on_prompt=console.set_redraw
        )
        self._pending = 0
        self._paused = False
        self._watchdog: asyncio.TimerHandle | None = None
        self._wait_timer: asyncio.TimerHandle | None = None
        self._interrupts = 0
        # The loop keeps only weak references to tasks.
        self._stdin_task: asyncio.Task[None] | None = None

        ws.on("open", self._on_open)
        ws.on("message", self._on_message)
        ws.on("error", self._on_error)
        ws.on("close", self._on_close)
        if args.show_ping_pong:
            ws.on("ping", lambda data: self.log(f"ping: {self._control(data)}"))
            ws.on("pong", lambda data: self.log(f"pong: {self._control(data)}"))

    def _control(self, data: object) -> str:
        return format_control(data, self.args.hex)

    async def run(self) -> int:
        signals = SignalRoute(self.loop, self._on_interrupt)
        signals.install()
        try:
            code, _reason = await self.closed
        finally:
            signals.uninstall()
            self.stdin.close()
            for timer in (self._watchdog, self._wait_timer):
                if timer is not None:
                    timer.cancel()
        if self.error is not None:
            return EXIT_ERROR
        return EXIT_OK if code in CLEAN_CLOSE_CODES else EXIT_ERROR

    # -- WebSocket events

    def _on_open(self) -> None:
        ws = self.ws
        details = []
        if ws.protocol:
            details.append(f"protocol: {ws.protocol}")
        if ws.extensions:
            details.append(f"extensions: {ws.extensions}")
        suffix = f" ({', '.join(details)})" if details else ""
        self.log(f"connected to {ws.url}{suffix}")
        if self.args.execute:
            self._execute()
            return
        if sys.stdin is not None and sys.stdin.isatty():
            self.log("type a line to send it; Ctrl-D closes, Ctrl-C twice aborts")
        self._stdin_task = self.loop.create_task(self.stdin.start())

    def _on_message(self, data: object, is_binary: bool) -> None:
        self.console.received(format_message(data, is_binary, self.args.hex))

    def _on_error(self, err: object) -> None:
        if self.error is None:
            self.error = err
        self.log(f"error: {error_text(err)}")

    def _on_close(self, code: int, reason: object) -> None:
        self.log(close_text(code, reason))
        self.stdin.close()
        if not self.closed.done():
            self.closed.set_result((code, reason))

    # -- -x/--execute

    def _execute(self) -> None:
        """Send each ``-x`` message; close ``--wait`` seconds after the last
        one was written."""
        commands: list[str] = self.args.execute
        left = len(commands)

        def sent(err: object = None) -> None:
            nonlocal left
            left -= 1
            if left == 0 and self.ws.readyState == ReadyState.OPEN:
                self._wait_timer = self.loop.call_later(self.args.wait, self._done)

        for text in commands:
            self._send(text.encode("utf-8", "surrogateescape"), sent)

    def _done(self) -> None:
        if self.ws.readyState == ReadyState.OPEN:
            self._close(CloseCode.NORMAL_CLOSURE, "")

    # -- Standard input

    def _send(self, line: bytes, cb: Any) -> None:
        payload: bytes | str = (
            line if self.args.binary else line.decode("utf-8", "replace")
        )
        if self.stdin.mode != "readline":  # readline shows what was typed
            self.console.sent(format_message(line, self.args.binary, self.args.hex))
        self.ws.send(payload, cb)

    def _on_line(self, line: bytes) -> None:
        ws = self.ws
        if ws.readyState != ReadyState.OPEN:
            self.log(f"not sent, the connection is {ReadyState(ws.readyState).name}")
            return
        if self.args.slash and line.startswith(b"/"):
            self._command(line.decode("utf-8", "replace"))
            return
        size = len(line)
        self._pending += size

        def sent(err: object = None) -> None:
            self._pending -= size
            if self._paused and self._pending <= STDIN_LOW_WATER:
                self._paused = False
                self.stdin.resume()

        self._send(line, sent)
        if not self._paused and self._pending > STDIN_HIGH_WATER:
            self._paused = True
            self.stdin.pause()

    def _on_stdin_eof(self) -> None:
        if self.ws.readyState == ReadyState.OPEN:
            self._close(CloseCode.NORMAL_CLOSURE, "")

    def _command(self, text: str) -> None:
        name, _, rest = text.strip().partition(" ")
        ws = self.ws
        try:
            if name == "/ping":
                ws.ping(rest.encode())
            elif name == "/pong":
                ws.pong(rest.encode())
            elif name == "/close":
                code_text, _, reason = rest.strip().partition(" ")
                code = int(code_text) if code_text else int(CloseCode.NORMAL_CLOSURE)
                self._close(code, reason)
            elif name == "/terminate":
                ws.terminate()
            else:
                self.log(f"unknown command {name!r} (/ping, /pong, /close, /terminate)")
        except (ValueError, TypeError) as exc:
            self.log(f"{name}: {exc}")

    # -- Closing

    def _close(self, code: int, reason: str) -> None:
        self.ws.close(code, reason)
        # pyws bounds the closing handshake with closeTimeout; this is only
        # a backstop so the CLI can never hang on a close that went astray.
        if self._watchdog is None:
            delay = self.args.close_timeout / 1000 + CLOSE_GRACE_S
            self._watchdog = self.loop.call_later(delay, self.ws.terminate)

    def _on_interrupt(self) -> None:
        self._interrupts += 1
        ws = self.ws
        if self._interrupts == 1 and ws.readyState == ReadyState.OPEN:
            self.log("interrupted, closing (Ctrl-C again to abort)")
            self.stdin.close()
            self._close(CloseCode.NORMAL_CLOSURE, "")
        else:
            self.log("interrupted, terminating")
            ws.terminate()


async def run_connect(args: argparse.Namespace, console: Console) -> int:
    """Run ``connect``; the exit status."""
    loop = asyncio.get_running_loop()
    try:
        options = client_options(args)
        ws = pyws.WebSocket(args.url, list(args.protocol), cast(ClientOptions, options))
    except (ValueError, TypeError, OSError, EOFError) as exc:
        # ws's synchronous throws: SyntaxError (bad URL or subprotocol),
        # RangeError, TypeError; an unreadable --ca/--cert/--key.
        console.log(f"error: {exc}")
        return EXIT_ERROR
    return await ClientSession(ws, args, console, loop).run()
