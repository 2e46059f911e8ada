"""The ``python -m pyws`` command line: ``listen`` and ``connect``.

``listen PORT`` runs an echo server: each connection, each message received
and each close (with its code and reason) is reported, and every message is
sent back as it came (text as text, binary as binary). Ctrl-C (SIGINT) or
SIGTERM closes every connection with 1001 and then the server. With
``--broadcast`` every message goes to every open client (sender included)
instead; ``--redis URL`` does that through Redis pub/sub, so that every
``listen`` given the same URL and ``--channel`` is one room; ``--workers N``
runs N processes on the port (:mod:`pyws.workers`).

``connect URL`` is an interactive client in the spirit of wscat: each line
read from standard input is sent as a message, each message received is
printed on standard output, and the end of input (Ctrl-D) closes the
connection with 1000. The close code and reason are then reported as
``closed: <code> <reason>``.

Streams: log lines (timestamped) go to standard error; messages received go
to standard output, so ``connect`` can be piped. The exit status is 0 after a
clean close, 1 after an error (refused connection, failed handshake, protocol
error, abnormal close) and 2 for a usage error.

Standard input is read without blocking the event loop: through
``loop.connect_read_pipe`` for pipes, sockets and terminals, and through a
reader thread for anything else (a regular file, or a platform without pipe
transports).

This module sits on top of the facade: it uses only pyws's public API
(:class:`pyws.WebSocket`, :class:`pyws.WebSocketServer`, :mod:`pyws.workers`,
:mod:`pyws.redis`) and :mod:`pyws.constants`, and
:func:`pyws._printable.printable`, through which every line it writes passes
(peers choose message text, close reasons and paths: their control
characters are escaped). It must not import the core
(receiver, sender, protocol, ...) or transport modules, and nothing in pyws
may import it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import io
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TextIO, cast

import pyws
from pyws._printable import printable
from pyws.constants import CLOSE_TIMEOUT, CloseCode, ReadyState
from pyws.typing import ClientOptions, ServerOptions

__all__ = ["build_parser", "main", "format_message", "LineSplitter"]

#: Exit statuses.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: A ``connect`` session ending with one of these codes (and no ``'error'``)
#: exits with 0: the peer completed the closing handshake on purpose.
CLEAN_CLOSE_CODES = frozenset(
    {CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY, CloseCode.NO_STATUS_RCVD}
)

#: Stop reading standard input while this many bytes wait to be written...
STDIN_HIGH_WATER = 1 << 20
#: ...and read again once the backlog is down to this.
STDIN_LOW_WATER = 1 << 18

#: Read size of the standard input reader thread.
_READ_CHUNK = 1 << 16

#: Extra time, in seconds, granted past closeTimeout before the CLI stops
#: waiting for pyws's ``'close'`` and terminates the connection itself.
_CLOSE_GRACE_S = 2.0

Out = Callable[[str], None]


# --------------------------------------------------------------------------
# Output helpers


class _Output:
    """Line writer for one stream; stops quietly if the reader goes away."""

    def __init__(self, stream: TextIO | None, timestamps: bool) -> None:
        self._stream = stream
        self._timestamps = timestamps

    def __call__(self, text: str) -> None:
        stream = self._stream
        if stream is None:
            return
        if self._timestamps:
            stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
            text = f"{stamp} {text}"
        try:
            # Peers choose message text, reasons, paths: no raw controls.
            stream.write(printable(text) + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):
            # The reader is gone (``| head``) or the stream was closed.
            self._stream = None


def format_message(data: object, is_binary: bool, hex_binary: bool = False) -> str:
    """Render a received message as one printable string.

    Args:
        data: the ``'message'`` payload: ``bytes`` (or a list of ``bytes``
            when ``binaryType`` is ``'fragments'``).
        is_binary: the ``'message'`` event's second argument.
        hex_binary: print binary payloads as hex instead of a summary.

    Returns:
        Text messages as their text (invalid UTF-8 replaced by U+FFFD, which
        only happens with ``skipUTF8Validation``); binary messages as
        ``<binary N bytes>`` or, with ``hex_binary``, as lowercase hex.
    """
    payload = _as_bytes(data)
    if not is_binary:
        return payload.decode("utf-8", "replace")
    if hex_binary:
        return payload.hex()
    return f"<binary {len(payload)} bytes>"


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (list, tuple)):
        return b"".join(_as_bytes(part) for part in data)
    raise TypeError(f"unexpected message payload type: {type(data).__name__}")


def _format_reason(reason: object) -> str:
    return _as_bytes(reason).decode("utf-8", "replace") if reason else ""


def _format_close(code: int, reason: object) -> str:
    text = _format_reason(reason)
    return f"closed: {int(code)} {text}" if text else f"closed: {int(code)}"


def _error_text(err: object) -> str:
    """The message of an ``'error'`` argument, with its ws code if any."""
    message = str(err) or type(err).__name__
    code = getattr(err, "code", None)
    if isinstance(code, str) and code.startswith("WS_ERR_"):
        return f"{message} ({code})"
    return message


# --------------------------------------------------------------------------
# Standard input


class LineSplitter:
    """Cut a byte stream into lines (``\\n``, ``\\r\\n`` tolerated)."""

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add ``chunk``; return the lines it completed, without terminators."""
        data = self._tail + chunk
        *lines, self._tail = data.split(b"\n")
        return [line[:-1] if line.endswith(b"\r") else line for line in lines]

    def flush(self) -> bytes | None:
        """At end of input: the unterminated last line, or ``None``."""
        tail, self._tail = self._tail, b""
        if not tail:
            return None
        return tail[:-1] if tail.endswith(b"\r") else tail


class _StdinProtocol(asyncio.Protocol):
    def __init__(self, reader: _StdinReader) -> None:
        self._reader = reader

    def data_received(self, data: bytes) -> None:
        self._reader._on_data(data)

    def eof_received(self) -> bool | None:
        self._reader._on_eof()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._reader._on_eof()


class _StdinReader:
    """Deliver standard input line by line on the loop, never blocking it.

    ``on_line`` gets each line (bytes, no terminator), ``on_eof`` is called
    once at the end. ``pause()``/``resume()`` apply back-pressure.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_line: Callable[[bytes], None],
        on_eof: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._on_line = on_line
        self._on_eof_cb = on_eof
        self._splitter = LineSplitter()
        self._done = False
        self._transport: asyncio.ReadTransport | None = None
        self._fd: int | None = None
        self._was_blocking: bool | None = None
        self._thread: threading.Thread | None = None
        # Reader thread gate: cleared while paused and while a chunk is on
        # its way to the loop, so at most one chunk waits in the loop's queue
        # (a file reads faster than any socket drains).
        self._may_read = threading.Event()
        self._may_read.set()
        self._paused = False
        self.mode = "none"

    async def start(self) -> None:
        """Start reading: a pipe transport if possible, else a thread."""
        stdin = sys.stdin
        try:
            fd = stdin.fileno() if stdin is not None else -1
        except (OSError, ValueError, io.UnsupportedOperation):
            fd = -1
        if fd < 0:
            # No usable standard input: behave as an empty one.
            self._loop.call_soon(self._on_eof)
            return
        self._fd = fd
        if await self._start_pipe(fd):
            self.mode = "pipe"
            if self._done:  # closed while the transport was being set up
                self.close()
            return
        if self._done:
            return
        self.mode = "thread"
        self._thread = threading.Thread(
            target=self._thread_main, args=(fd,), name="pyws-stdin", daemon=True
        )
        self._thread.start()

    async def _start_pipe(self, fd: int) -> bool:
        try:
            was_blocking = os.get_blocking(fd)
        except OSError:
            return False
        # A duplicate, so closing the transport leaves fd 0 open.
        pipe = os.fdopen(os.dup(fd), "rb", buffering=0)
        try:
            transport, _ = await self._loop.connect_read_pipe(
                lambda: _StdinProtocol(self), pipe
            )
        except (ValueError, OSError, NotImplementedError):
            # A regular file (not a pipe, socket or tty), or no pipe support.
            pipe.close()
            with contextlib.suppress(OSError):
                os.set_blocking(fd, was_blocking)
            return False
        self._was_blocking = was_blocking
        self._transport = transport
        return True

    def _thread_main(self, fd: int) -> None:
        # os.read, not sys.stdin.buffer: a daemon thread blocked inside a
        # buffered reader would hold its lock at interpreter shutdown.
        while True:
            self._may_read.wait()
            if self._done:
                return
            try:
                chunk = os.read(fd, _READ_CHUNK)
            except OSError:
                chunk = b""
            try:
                if chunk:
                    self._may_read.clear()
                    self._loop.call_soon_threadsafe(self._on_thread_data, chunk)
                else:
                    self._loop.call_soon_threadsafe(self._on_eof)
                    return
            except RuntimeError:  # the loop is closed: nobody listens
                return

    def _on_thread_data(self, chunk: bytes) -> None:
        self._on_data(chunk)
        if not self._paused:
            self._may_read.set()

    def _on_data(self, chunk: bytes) -> None:
        if self._done:
            return
        for line in self._splitter.feed(chunk):
            if self._done:
                return
            self._on_line(line)

    def _on_eof(self) -> None:
        if self._done:
            return
        last = self._splitter.flush()
        if last is not None:
            self._on_line(last)
        if self._done:
            return
        self.close()
        self._on_eof_cb()

    def pause(self) -> None:
        """Stop reading until :meth:`resume`."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.pause_reading()
        self._paused = True
        self._may_read.clear()

    def resume(self) -> None:
        """Read again after :meth:`pause`."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()
        self._paused = False
        self._may_read.set()

    def close(self) -> None:
        """Stop reading for good and restore the descriptor's blocking mode."""
        self._done = True
        self._may_read.set()  # let a paused thread notice and exit
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        if self._fd is not None and self._was_blocking is not None:
            # connect_read_pipe made the (shared) file description
            # non-blocking; a terminal left so would upset the shell.
            with contextlib.suppress(OSError):
                os.set_blocking(self._fd, self._was_blocking)
            self._was_blocking = None


# --------------------------------------------------------------------------
# Signals


class _SignalRoute:
    """Route stop signals (SIGINT, SIGTERM) to a callback run on the loop.

    Uses ``loop.add_signal_handler`` where it exists (Unix). Elsewhere
    (Windows) a ``signal.signal`` handler forwards with
    ``call_soon_threadsafe``, so Ctrl-C still means a clean close rather
    than a ``KeyboardInterrupt`` through the loop.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, handler: Callable[[], None]
    ) -> None:
        self._loop = loop
        self._handler = handler
        self._via_loop: list[signal.Signals] = []
        self._previous: list[tuple[signal.Signals, Any]] = []

    def install(self) -> None:
        sigs = [signal.SIGINT]
        if hasattr(signal, "SIGTERM"):
            sigs.append(signal.SIGTERM)
        for sig in sigs:
            try:
                self._loop.add_signal_handler(sig, self._handler)
            except NotImplementedError:
                pass
            except (RuntimeError, ValueError):  # not the main thread
                continue
            else:
                self._via_loop.append(sig)
                continue
            try:
                previous = signal.signal(sig, self._forward)
            except (OSError, RuntimeError, ValueError):
                continue
            self._previous.append((sig, previous))

    def _forward(self, signum: int, frame: object) -> None:
        self._loop.call_soon_threadsafe(self._handler)

    def uninstall(self) -> None:
        for sig in self._via_loop:
            with contextlib.suppress(RuntimeError, ValueError):
                self._loop.remove_signal_handler(sig)
        for sig, previous in self._previous:
            with contextlib.suppress(OSError, RuntimeError, ValueError):
                signal.signal(sig, previous)
        self._via_loop.clear()
        self._previous.clear()


# --------------------------------------------------------------------------
# connect


class _ClientSession:
    """One ``connect`` run: wires the WebSocket, stdin and the terminal."""

    def __init__(
        self,
        ws: Any,
        args: argparse.Namespace,
        out: Out,
        log: Out,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.ws = ws
        self.args = args
        self.out = out
        self.log = log
        self.loop = loop
        self.error: object | None = None
        self.closed: asyncio.Future[tuple[int, object]] = loop.create_future()
        self.stdin = _StdinReader(loop, self._on_line, self._on_stdin_eof)
        self._pending = 0
        self._paused = False
        self._closing = False
        self._watchdog: asyncio.TimerHandle | None = None
        self._interrupts = 0
        # The loop keeps only weak references to tasks.
        self._stdin_task: asyncio.Task[None] | None = None

        ws.on("open", self._on_open)
        ws.on("message", self._on_message)
        ws.on("error", self._on_error)
        ws.on("close", self._on_close)
        if args.show_ping_pong:
            ws.on(
                "ping",
                lambda data: self.log(f"ping: {format_message(data, True, True)}"),
            )
            ws.on(
                "pong",
                lambda data: self.log(f"pong: {format_message(data, True, True)}"),
            )

    async def run(self) -> int:
        signals = _SignalRoute(self.loop, self._on_interrupt)
        signals.install()
        try:
            code, _reason = await self.closed
        finally:
            signals.uninstall()
            self.stdin.close()
            if self._watchdog is not None:
                self._watchdog.cancel()
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
        if sys.stdin is not None and sys.stdin.isatty():
            self.log("type a line to send it; Ctrl-D closes, Ctrl-C twice aborts")
        self._stdin_task = self.loop.create_task(self.stdin.start())

    def _on_message(self, data: object, is_binary: bool) -> None:
        self.out(format_message(data, is_binary, self.args.hex))

    def _on_error(self, err: object) -> None:
        if self.error is None:
            self.error = err
        self.log(f"error: {_error_text(err)}")

    def _on_close(self, code: int, reason: object) -> None:
        self.log(_format_close(code, reason))
        self.stdin.close()
        if not self.closed.done():
            self.closed.set_result((code, reason))

    # -- Standard input

    def _on_line(self, line: bytes) -> None:
        ws = self.ws
        if ws.readyState != ReadyState.OPEN:
            self.log(f"not sent, the connection is {ReadyState(ws.readyState).name}")
            return
        if self.args.slash and line.startswith(b"/"):
            self._command(line.decode("utf-8", "replace"))
            return
        payload: bytes | str = (
            line if self.args.binary else line.decode("utf-8", "replace")
        )
        size = len(line)
        self._pending += size

        def sent(err: object = None) -> None:
            self._pending -= size
            if self._paused and self._pending <= STDIN_LOW_WATER:
                self._paused = False
                self.stdin.resume()

        ws.send(payload, sent)
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
        self._closing = True
        self._arm_watchdog()

    def _arm_watchdog(self) -> None:
        # pyws bounds the closing handshake with closeTimeout; this is only a
        # backstop so the CLI can never hang on a close that went astray.
        if self._watchdog is None:
            delay = self.args.close_timeout / 1000 + _CLOSE_GRACE_S
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


def _heartbeat_options(args: argparse.Namespace, options: dict[str, Any]) -> None:
    if args.ping_interval is not None:
        options["pingInterval"] = args.ping_interval
    if args.ping_timeout is not None:
        options["pingTimeout"] = args.ping_timeout


async def _run_connect(args: argparse.Namespace, out: Out, log: Out) -> int:
    loop = asyncio.get_running_loop()
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
    _heartbeat_options(args, options)
    if args.handshake_timeout is not None:
        options["handshakeTimeout"] = args.handshake_timeout
    try:
        ws = pyws.WebSocket(args.url, list(args.protocol), cast(ClientOptions, options))
    except (ValueError, TypeError) as exc:
        # ws's synchronous throws: SyntaxError (bad URL or subprotocol),
        # RangeError, TypeError.
        log(f"error: {exc}")
        return EXIT_ERROR
    return await _ClientSession(ws, args, out, log, loop).run()


# --------------------------------------------------------------------------
# listen


def _protocol_chooser(supported: Sequence[str]) -> Callable[[Any, Any], str | bool]:
    """A ``handleProtocols`` that picks our first protocol the client offers."""

    def handle_protocols(offered: Any, req: Any) -> str | bool:
        offered_set = set(offered)
        for name in supported:
            if name in offered_set:
                return name
        return False

    return handle_protocols


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _EchoServer:
    """One ``listen`` run: the server, its connections and shutdown."""

    def __init__(
        self,
        args: argparse.Namespace,
        out: Out,
        log: Out,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.args = args
        self.out = out
        self.log = log
        self.loop = loop
        self.clients: set[Any] = set()
        self._count = 0
        self._stop = asyncio.Event()
        self._interrupts = 0
        #: --broadcast: relay(data, is_binary) sends to every client.
        self.relay: Callable[[object, bool], object] | None = None
        self._relay_close: Callable[[], Any] | None = None
        #: --workers: called once the server listens.
        self.on_listening: Callable[[], None] | None = None

    async def run(self) -> int:
        # Handlers first: a Ctrl-C right after the 'listening on' line must
        # already mean "shut down cleanly".
        signals = _SignalRoute(self.loop, self._on_interrupt)
        signals.install()
        try:
            return await self._serve()
        finally:
            signals.uninstall()

    async def _serve(self) -> int:
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
            options["handleProtocols"] = _protocol_chooser(args.protocol)
        if args.max_payload is not None:
            options["maxPayload"] = args.max_payload
        _heartbeat_options(args, options)
        if getattr(args, "reuse_port", False):
            options["reusePort"] = True

        listening: asyncio.Future[None] = self.loop.create_future()

        def on_listening(*_: object) -> None:
            if not listening.done():
                listening.set_result(None)

        def on_error(err: BaseException) -> None:
            if not listening.done():
                listening.set_exception(err)
            else:
                self.log(f"server error: {_error_text(err)}")

        try:
            wss = pyws.WebSocketServer(cast(ServerOptions, options))
        except (ValueError, TypeError, OSError) as exc:
            self.log(f"error: {exc}")
            return EXIT_ERROR
        wss.on("listening", on_listening)
        wss.on("error", on_error)
        wss.on("connection", self._on_connection)
        if args.broadcast or args.redis:
            try:
                self.relay, self._relay_close = _make_relay(wss, args, self.log)
            except (ImportError, TypeError, ValueError) as exc:
                self.log(f"error: {exc}")
                return EXIT_ERROR
        try:
            await listening
        except Exception as exc:  # noqa: BLE001 - any listen failure ends the run
            self.log(f"error: {_error_text(exc)}")
            return EXIT_ERROR

        address = wss.address()
        if address is None:  # closed between 'listening' and here
            self.log("error: the server closed before it could be used")
            return EXIT_ERROR
        host = _format_host(str(address["address"]))
        self.log(f"listening on ws://{host}:{address['port']}{args.path or '/'}")
        if self.on_listening is not None:
            self.on_listening()

        await self._stop.wait()
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

    def _on_connection(self, ws: Any, req: Any) -> None:
        self._count += 1
        tag = f"[{self._count}]"
        self.clients.add(ws)
        peer = getattr(getattr(req, "socket", None), "remoteAddress", None) or "?"
        port = getattr(getattr(req, "socket", None), "remotePort", None)
        if port is not None:
            peer = f"{_format_host(str(peer))}:{port}"
        details = [f"path {req.url}"]
        if ws.protocol:
            details.append(f"protocol: {ws.protocol}")
        if ws.extensions:
            details.append(f"extensions: {ws.extensions}")
        self.log(f"{tag} connected from {peer} ({', '.join(details)})")
        hex_binary = self.args.hex

        def on_message(data: object, is_binary: bool) -> None:
            self.out(f"{tag} {format_message(data, is_binary, hex_binary)}")
            if self.relay is not None:
                self.relay(data, is_binary)
            else:
                ws.send(data, {"binary": is_binary})

        def on_error(err: object) -> None:
            self.log(f"{tag} error: {_error_text(err)}")

        def on_close(code: int, reason: object) -> None:
            self.clients.discard(ws)
            self.log(f"{tag} {_format_close(code, reason)}")

        ws.on("message", on_message)
        ws.on("error", on_error)
        ws.on("close", on_close)
        if self.args.show_ping_pong:
            ws.on(
                "ping",
                lambda d: self.log(f"{tag} ping: {format_message(d, True, True)}"),
            )
            ws.on(
                "pong",
                lambda d: self.log(f"{tag} pong: {format_message(d, True, True)}"),
            )
        if self._stop.is_set():  # accepted while shutting down
            ws.close(CloseCode.GOING_AWAY, "server shutting down")

    async def _shutdown(self, wss: Any) -> None:
        """``wss.shutdown()``: every connection closed with 1001 after what
        was queued, then the server (a second Ctrl-C terminates)."""
        done = wss.shutdown(CloseCode.GOING_AWAY, "server shutting down")
        limit = self.args.close_timeout / 1000 + _CLOSE_GRACE_S
        try:
            await asyncio.wait_for(asyncio.shield(done), limit)
        except asyncio.TimeoutError:
            self.log("connections did not close in time, terminating them")
            for ws in list(self.clients):
                ws.terminate()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done, _CLOSE_GRACE_S)


async def _run_listen(args: argparse.Namespace, out: Out, log: Out) -> int:
    return await _EchoServer(args, out, log, asyncio.get_running_loop()).run()


# --------------------------------------------------------------------------
# listen --broadcast, --redis, --workers


def _make_relay(
    wss: Any, args: argparse.Namespace, log: Out
) -> tuple[Callable[[object, bool], object], Callable[[], Any] | None]:
    """``--broadcast``: every message goes to every open client (sender
    included), through Redis when ``--redis`` is given."""
    if not args.redis:

        def local(data: object, is_binary: bool) -> object:
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
    fanout.on("error", lambda err: log(f"redis: {_error_text(err)}"))

    def relay(data: object, is_binary: bool) -> object:
        return fanout.publish(data, {"binary": is_binary})

    return relay, fanout.close


def _listen_worker(
    index: int, args: argparse.Namespace, ready: Callable[[], None]
) -> int:
    """One ``listen --workers N`` process (run by pyws.workers.Supervisor)."""
    prefix = f"worker {index}: "
    base_log = _Output(sys.stderr, timestamps=True)
    base_out = _Output(sys.stdout, timestamps=False)

    def log(text: str) -> None:
        base_log(prefix + text)

    def out(text: str) -> None:
        base_out(prefix + text)

    async def main() -> int:
        server = _EchoServer(args, out, log, asyncio.get_running_loop())
        server.on_listening = ready
        return await server.run()

    return asyncio.run(main())


def _run_listen_workers(args: argparse.Namespace, log: Out) -> int:
    """``listen PORT --workers N``: N processes on one port (SO_REUSEPORT)."""
    import pyws.workers

    if args.broadcast and not args.redis:
        log(
            "error: --broadcast with --workers needs --redis URL: the workers "
            "share messages through Redis"
        )
        return EXIT_USAGE
    try:
        reserved = pyws.workers.reserve_port(args.host, args.port)
    except OSError as exc:
        log(f"error: {_error_text(exc)}")
        return EXIT_ERROR
    try:
        args.port = int(reserved.getsockname()[1])
        args.reuse_port = True
        sup = pyws.workers.Supervisor(
            _listen_worker,
            args,
            args.workers,
            stop_timeout=args.close_timeout / 1000 + 2 * _CLOSE_GRACE_S,
            log=log,
        )
        host = _format_host(str(args.host))
        sup.ready_text = (
            f"listening on ws://{host}:{args.port}{args.path or '/'} "
            f"({args.workers} workers)"
        )
        status = sup.run()
    finally:
        reserved.close()
    log("server closed")
    return status


# --------------------------------------------------------------------------
# Arguments


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {value}")
    return value


def _positive_ms(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid milliseconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(c in name for c in " \t\r\n"):
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    if "\r" in value or "\n" in value:
        raise argparse.ArgumentTypeError(f"line break in header value: {text!r}")
    return name, value.strip()


def _version() -> str:
    version = getattr(pyws, "__version__", None)
    if not isinstance(version, str):
        try:
            from importlib.metadata import PackageNotFoundError
            from importlib.metadata import version as dist_version

            version = dist_version("pyws-node")
        except PackageNotFoundError:
            version = "unknown"
    py = ".".join(str(n) for n in sys.version_info[:3])
    return f"pyws {version} (Python {py})"


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocol",
        "-s",
        action="append",
        default=[],
        metavar="P",
        help="subprotocol; repeat for several",
    )
    parser.add_argument(
        "--close-timeout",
        type=_positive_ms,
        default=CLOSE_TIMEOUT,
        metavar="MS",
        help="closeTimeout in milliseconds (default: %(default)s)",
    )
    parser.add_argument(
        "--max-payload",
        type=_int,
        metavar="N",
        help="maxPayload in bytes; 0 means no limit (default: 100 MiB)",
    )
    parser.add_argument(
        "--ping-interval",
        type=_positive_ms,
        metavar="MS",
        help="heartbeat: ping every MS milliseconds (pingInterval; default: off)",
    )
    parser.add_argument(
        "--ping-timeout",
        type=_positive_ms,
        metavar="MS",
        help="heartbeat: drop a peer silent MS ms after a ping "
        "(pingTimeout; default: the interval)",
    )
    parser.add_argument(
        "--hex",
        action="store_true",
        help="print binary messages as hex instead of <binary N bytes>",
    )
    parser.add_argument(
        "--show-ping-pong",
        "-P",
        action="store_true",
        help="log each ping and pong received",
    )


def _positive(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _add_scale_options(listen: argparse.ArgumentParser) -> None:
    listen.add_argument(
        "--broadcast",
        action="store_true",
        help="relay every message to every open client, sender included, "
        "instead of echoing it",
    )
    listen.add_argument(
        "--redis",
        metavar="URL",
        help="relay through Redis pub/sub (implies --broadcast): every listen "
        "given the same URL and --channel is one room",
    )
    listen.add_argument(
        "--channel",
        default="pyws",
        metavar="NAME",
        help="Redis channel for --redis (default: %(default)s)",
    )
    listen.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="run N processes on the port (SO_REUSEPORT); restarts a worker "
        "that dies; SIGTERM stops them all gracefully",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m pyws`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m pyws",
        description="WebSocket echo server and interactive client (pyws).",
        epilog="Logs go to stderr, received messages to stdout.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    listen = commands.add_parser(
        "listen",
        help="run an echo server",
        description=(
            "Run a WebSocket echo server. Logs the address it listens on "
            "('listening on ws://HOST:PORT/'), each connection and each close "
            "with its code on stderr; prints each message received on stdout, "
            "prefixed by its connection number, and sends it back. Ctrl-C "
            "closes the connections with 1001, then the server."
        ),
    )
    listen.add_argument(
        "port", type=_port, metavar="PORT", help="TCP port; 0 picks a free one"
    )
    listen.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    listen.add_argument("--path", metavar="P", help="accept only this request path")
    listen.add_argument(
        "--deflate",
        action="store_true",
        help="accept permessage-deflate (off by default, as in ws)",
    )
    _add_scale_options(listen)
    _add_common(listen)
    listen.set_defaults(func=_run_listen)

    connect = commands.add_parser(
        "connect",
        help="connect and exchange messages interactively",
        description=(
            "Connect to a WebSocket server. Each line read from stdin is sent "
            "as a text message (binary with --binary); each message received "
            "is printed on stdout. End of input (Ctrl-D) closes with 1000 and "
            "logs 'closed: CODE REASON'. Exit status: 0 after a clean close "
            "(1000, 1001 or 1005), 1 after an error."
        ),
    )
    connect.add_argument(
        "url", metavar="URL", help="ws://, wss://, http:// or https:// URL"
    )
    connect.add_argument(
        "--header",
        "-H",
        action="append",
        type=_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="extra request header; repeat for several",
    )
    connect.add_argument("--origin", "-o", metavar="O", help="Origin header")
    connect.add_argument(
        "--no-deflate",
        action="store_true",
        help="do not offer permessage-deflate (offered by default, as in ws)",
    )
    connect.add_argument(
        "--binary", "-b", action="store_true", help="send lines as binary messages"
    )
    connect.add_argument(
        "--handshake-timeout", type=_positive_ms, metavar="MS", help="handshakeTimeout"
    )
    connect.add_argument(
        "--slash",
        action="store_true",
        help="enable commands: /ping [DATA], /pong [DATA], /close [CODE [REASON]], "
        "/terminate",
    )
    _add_common(connect)
    connect.set_defaults(func=_run_connect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).
    """
    args = build_parser().parse_args(argv)
    log = _Output(sys.stderr, timestamps=True)
    out = _Output(sys.stdout, timestamps=False)
    if args.command == "listen" and args.workers > 1:
        return _run_listen_workers(args, log)
    runner: Callable[[argparse.Namespace, Out, Out], Any] = args.func
    try:
        status: int = asyncio.run(runner(args, out, log))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return status
