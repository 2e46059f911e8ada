"""What the command line prints, and how.

Every line written passes through :func:`pyws._printable.printable`: peers
choose message text, close reasons, paths and ping payloads, and their
control characters must not reach the terminal or forge log lines.

Streams: log lines (timestamped) go to standard error; messages go to
standard output, so ``connect`` can be piped. When standard output is a
terminal, messages are marked as wscat marks them, ``< `` received and
``> `` sent, in colour unless ``NO_COLOR`` is set; piped output stays the
bare messages, one per line.

While a line is being edited (readline, see :mod:`pyws.cli.stdin`), a line
printed by the event loop first erases the prompt and the text typed so
far, which are then drawn again below it.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from typing import TextIO

from pyws._printable import printable

__all__ = [
    "Console",
    "Output",
    "Out",
    "close_text",
    "error_text",
    "format_message",
    "format_control",
]

Out = Callable[[str], None]

#: ANSI colours of the ``<``/``>`` marks (wscat's: blue in, green out).
_RECEIVED_COLOUR = "\x1b[34m"
_SENT_COLOUR = "\x1b[32m"
_LOG_COLOUR = "\x1b[2m"
_RESET = "\x1b[0m"
#: Back to column 0 and erase the line: makes room above a readline prompt.
_ERASE_LINE = "\r\x1b[K"


class Output:
    """Line writer for one stream; stops quietly if the reader goes away.

    ``redraw`` (set by the readline reader while it owns the terminal) is
    called after each line, and each line is preceded by an erase of the
    prompt, so output never lands in the middle of a line being typed.
    """

    def __init__(
        self,
        stream: TextIO | None,
        timestamps: bool,
        *,
        prefix: str = "",
        colour: str = "",
    ) -> None:
        self._stream = stream
        self._timestamps = timestamps
        self.prefix = prefix
        self.colour = colour
        self.redraw: Callable[[], None] | None = None

    def __call__(self, text: str) -> None:
        stream = self._stream
        if stream is None:
            return
        # Peers choose message text, reasons, paths: no raw controls.
        text = self.prefix + printable(text)
        if self._timestamps:
            stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
            text = f"{stamp} {text}"
        if self.colour:
            text = f"{self.colour}{text}{_RESET}"
        redraw = self.redraw
        try:
            if redraw is not None:
                stream.write(_ERASE_LINE)
            stream.write(text + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):
            # The reader is gone (``| head``) or the stream was closed.
            self._stream = None
            return
        if redraw is not None:
            redraw()


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False


class Console:
    """The three outputs of a run: ``received``, ``sent`` and ``log``.

    Args:
        stdout: where messages go.
        stderr: where log lines go.
        marks: ``None`` marks (``<``/``>``, colour) when ``stdout`` is a
            terminal; ``True``/``False`` forces them on or off.
    """

    def __init__(
        self, stdout: TextIO | None, stderr: TextIO | None, marks: bool | None = None
    ) -> None:
        tty = _isatty(stdout)
        self.marks = tty if marks is None else marks
        colour = self.marks and tty and not os.environ.get("NO_COLOR")
        self.received = Output(
            stdout,
            timestamps=False,
            prefix="< " if self.marks else "",
            colour=_RECEIVED_COLOUR if colour else "",
        )
        #: Sent lines: printed only with marks (a piped run prints what it
        #: received, nothing else, on stdout).
        self.sent = Output(
            stdout if self.marks else None,
            timestamps=False,
            prefix="> ",
            colour=_SENT_COLOUR if colour else "",
        )
        self.log = Output(
            stderr,
            timestamps=True,
            colour=_LOG_COLOUR if colour and _isatty(stderr) else "",
        )

    def set_redraw(self, redraw: Callable[[], None] | None) -> None:
        """Redraw the prompt after each line (``None``: stop)."""
        for output in (self.received, self.sent, self.log):
            output.redraw = redraw


def format_message(data: object, is_binary: bool, hex_binary: bool = False) -> str:
    """Render a received message as one string (not yet escaped).

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
    payload = as_bytes(data)
    if not is_binary:
        return payload.decode("utf-8", "replace")
    if hex_binary:
        return payload.hex()
    return f"<binary {len(payload)} bytes>"


def format_control(data: object, hex_binary: bool = False) -> str:
    """A ping or pong payload: its text if it is UTF-8, else hex.

    ``hex_binary`` always gives hex. An empty payload is ``(empty)``.
    """
    payload = as_bytes(data)
    if not payload:
        return "(empty)"
    if not hex_binary:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return payload.hex()


def as_bytes(data: object) -> bytes:
    """A message payload (bytes-like, str or list of parts) as bytes."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (list, tuple)):
        return b"".join(as_bytes(part) for part in data)
    raise TypeError(f"unexpected message payload type: {type(data).__name__}")


def close_text(code: int, reason: object) -> str:
    """``closed: CODE REASON`` (no reason: ``closed: CODE``)."""
    text = as_bytes(reason).decode("utf-8", "replace") if reason else ""
    return f"closed: {int(code)} {text}" if text else f"closed: {int(code)}"


def error_text(err: object) -> str:
    """The message of an ``'error'`` argument, with its ws code if any."""
    message = str(err) or type(err).__name__
    code = getattr(err, "code", None)
    if isinstance(code, str) and code.startswith("WS_ERR_"):
        return f"{message} ({code})"
    return message
