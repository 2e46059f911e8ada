"""Standard input, line by line, on the event loop and never blocking it.

:class:`StdinReader` picks one of four ways to read, by what fd 0 is:

- ``"readline"``: standard input and output are both terminals. A thread
  calls :func:`input` with the prompt ``> ``: the standard library's
  :mod:`readline` gives line editing and history (up/down arrows). Lines
  printed meanwhile erase the prompt, which is drawn again below them with
  the text typed so far (see :class:`pyws.cli.output.Console`); the
  terminal's settings are restored when reading stops, even mid-line.
- ``"pipe"``: a pipe, socket or terminal the loop can poll, through
  ``loop.connect_read_pipe``.
- ``"thread"``: anything the loop cannot poll: a regular file, and
  ``/dev/null`` (a character device that epoll refuses with EPERM; handing
  it to ``connect_read_pipe`` fails only later, inside the loop, and the
  end of input never comes). A thread reads it with :func:`os.read`.
- ``"none"``: no standard input at all (fd 0 closed): the end of input at
  once.

The end of input always arrives, once, in every mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import selectors
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LineSplitter", "StdinReader", "PROMPT"]

#: The readline prompt (wscat's).
PROMPT = "> "

#: Read size of the standard input reader thread.
_READ_CHUNK = 1 << 16


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


def pollable(fd: int) -> bool:
    """Whether the loop's selector can watch ``fd`` (epoll refuses regular
    files and ``/dev/null`` with EPERM)."""
    with selectors.DefaultSelector() as probe:
        try:
            probe.register(fd, selectors.EVENT_READ)
        except (OSError, ValueError):
            return False
    return True


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and bool(stream.isatty())
    except (ValueError, OSError):
        return False


class _StdinProtocol(asyncio.Protocol):
    def __init__(self, reader: StdinReader) -> None:
        self._reader = reader

    def data_received(self, data: bytes) -> None:
        self._reader._on_data(data)

    def eof_received(self) -> bool | None:
        self._reader._on_eof()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._reader._on_eof()


class StdinReader:
    """Deliver standard input line by line on the loop, never blocking it.

    Args:
        loop: the running loop; callbacks run on it.
        on_line: gets each line (bytes, no terminator).
        on_eof: called once, at the end of input.
        use_readline: read through :mod:`readline` when standard input and
            output are terminals (see the module doc).
        on_prompt: with readline, called with a redraw function when the
            prompt is up and with ``None`` when reading stops.

    ``pause()``/``resume()`` apply back-pressure; ``close()`` stops reading.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_line: Callable[[bytes], None],
        on_eof: Callable[[], None],
        *,
        use_readline: bool = True,
        on_prompt: Callable[[Callable[[], None] | None], None] | None = None,
    ) -> None:
        self._loop = loop
        self._on_line = on_line
        self._on_eof_cb = on_eof
        self._use_readline = use_readline
        self._on_prompt = on_prompt
        self._splitter = LineSplitter()
        self._done = False
        self._transport: asyncio.ReadTransport | None = None
        self._fd: int | None = None
        self._was_blocking: bool | None = None
        self._termios: list[Any] | None = None
        self._thread: threading.Thread | None = None
        # Reader thread gate: cleared while paused and while a chunk is on
        # its way to the loop, so at most one chunk waits in the loop's queue
        # (a file reads faster than any socket drains).
        self._may_read = threading.Event()
        self._may_read.set()
        self._paused = False
        #: The readline thread is inside input() (its prompt is up).
        self._in_input = False
        self.mode = "none"

    async def start(self) -> None:
        """Start reading, in the mode standard input calls for."""
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
        if self._use_readline and _isatty(stdin) and _isatty(sys.stdout):
            self.mode = "readline"
            self._start_thread(self._readline_main)
            return
        if pollable(fd) and await self._start_pipe(fd):
            self.mode = "pipe"
            if self._done:  # closed while the transport was being set up
                self.close()
            return
        if self._done:
            return
        self.mode = "thread"
        self._start_thread(self._thread_main)

    def _start_thread(self, target: Callable[[int], None]) -> None:
        assert self._fd is not None
        self._thread = threading.Thread(
            target=target, args=(self._fd,), name="pyws-stdin", daemon=True
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
            # Not a pipe, socket or tty, or no pipe support.
            pipe.close()
            with contextlib.suppress(OSError):
                os.set_blocking(fd, was_blocking)
            return False
        self._was_blocking = was_blocking
        self._transport = transport
        return True

    # -- threads

    def _post(self, callback: Callable[..., None], *args: object) -> bool:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody listens
            return False
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
            if chunk:
                self._may_read.clear()
                if not self._post(self._on_thread_data, chunk):
                    return
            else:
                self._post(self._on_eof)
                return

    def _readline_main(self, fd: int) -> None:
        import readline  # noqa: F401 - importing it gives input() line editing

        try:
            import termios

            self._termios = termios.tcgetattr(fd)
        except (ImportError, OSError):
            self._termios = None
        self._post(self._prompt_up)
        while True:
            self._may_read.wait()
            if self._done:
                return
            self._in_input = True
            try:
                line = input(PROMPT)
            except (EOFError, OSError, ValueError):
                self._post(self._on_eof)
                return
            finally:
                self._in_input = False
            if self._done:
                return
            self._may_read.clear()
            if not self._post(self._on_thread_line, line):
                return

    def _prompt_up(self) -> None:
        if self._on_prompt is not None and not self._done:
            self._on_prompt(self._redraw)

    def _redraw(self) -> None:
        """Draw the prompt and the text typed so far again, on the line
        below what was just printed. (``readline.redisplay()`` would not:
        readline only redraws what it thinks has changed, and nothing has.)
        """
        if not self._in_input or self._done:
            return  # input() has not drawn its prompt yet: it will
        import readline

        with contextlib.suppress(OSError, ValueError):
            sys.stdout.write(PROMPT + readline.get_line_buffer())
            sys.stdout.flush()

    def _on_thread_line(self, line: str) -> None:
        self._deliver(line.encode("utf-8", "surrogateescape"))
        if not self._paused:
            self._may_read.set()

    def _on_thread_data(self, chunk: bytes) -> None:
        self._on_data(chunk)
        if not self._paused:
            self._may_read.set()

    # -- lines and the end

    def _deliver(self, line: bytes) -> None:
        if not self._done:
            self._on_line(line)

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
        """Stop reading for good; restore the terminal and blocking mode."""
        if self._done:
            return
        self._done = True
        self._may_read.set()  # let a paused thread notice and exit
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        if self.mode == "readline":
            self._end_readline()
        if self._fd is not None and self._was_blocking is not None:
            # connect_read_pipe made the (shared) file description
            # non-blocking; a terminal left so would upset the shell.
            with contextlib.suppress(OSError):
                os.set_blocking(self._fd, self._was_blocking)
            self._was_blocking = None

    def _end_readline(self) -> None:
        # The thread may still sit in input(), with the terminal in
        # readline's mode (no echo, no line discipline): put it back, and
        # end the half-drawn prompt line.
        if self._on_prompt is not None:
            self._on_prompt(None)
        if self._termios is not None and self._fd is not None:
            import termios

            with contextlib.suppress(OSError):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._termios)
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.write("\r\x1b[K")
            sys.stdout.flush()
