"""pyws's logging: standard :mod:`logging` loggers, and a frame trace.

Loggers (pyws adds no handler: configure them as any other):

- ``pyws.server``: a server's life (listening, closed), handshakes it
  refused (status and reason), and its connections;
- ``pyws.client``: client connections, from connecting to closed;
- ``pyws.frames``: every frame received and sent, at DEBUG, only for
  connections opened while :func:`log_frames` is on (or
  ``PYWS_LOG_FRAMES=1`` was set at import). With it off, nothing is done
  per frame or per message: the switch is read once, when a connection
  opens.

What is logged, per connection (``pyws.server`` or ``pyws.client``):

=========  ===============================================================
DEBUG      connecting (client), the subprotocol and extensions agreed
INFO       opened, closed (code, reason, whether clean)
WARNING    the connection failed: a protocol error (with its ``WS_ERR_*``
           code and the close status sent), or the client's handshake
           failed
=========  ===============================================================

Every record of a connection carries ``ws_id`` (a number unique in the
process), ``peer`` (``"host:port"``) and ``role`` (``"server"`` or
``"client"``) as attributes, and starts with ``[#ws_id peer]`` so that a
plain format shows them. Strings that come from the peer (reasons,
subprotocols, URLs) are logged with :func:`repr`, so a control character
cannot forge a log line.

Facade layer: stdlib only.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable
from logging import DEBUG, INFO, WARNING
from typing import Any

__all__ = [
    "DEBUG",
    "INFO",
    "WARNING",
    "server_logger",
    "client_logger",
    "frames_logger",
    "log_frames",
    "frames_enabled",
    "ConnectionLog",
]

server_logger = logging.getLogger("pyws.server")
client_logger = logging.getLogger("pyws.client")
frames_logger = logging.getLogger("pyws.frames")

_ids = itertools.count(1)
_frames = os.environ.get("PYWS_LOG_FRAMES", "") not in ("", "0")

_OPCODES = {0: "CONT", 1: "TEXT", 2: "BINARY", 8: "CLOSE", 9: "PING", 10: "PONG"}


def log_frames(enabled: bool = True) -> None:
    """Turn the ``pyws.frames`` trace on or off for connections opened from
    now on (it costs a call per frame while on)."""
    global _frames
    _frames = bool(enabled)


def frames_enabled() -> bool:
    """Whether connections opened now get the frame trace."""
    return _frames


def _peer_text(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return str(peer) if peer else "-"


def _preview(data: Any, limit: int = 32) -> str:
    if isinstance(data, list):
        data = b"".join(data)
    raw = bytes(data[:limit])
    more = "..." if len(data) > limit else ""
    return f"{raw!r}{more}"


class ConnectionLog:
    """The log of one connection: a logger and the connection's identity.

    Args:
        role: ``"server"`` or ``"client"`` (which logger is used).
        peer: the peer's address (a ``(host, port, ...)`` tuple or a str).
    """

    __slots__ = ("logger", "ws_id", "role", "_peer", "_text")

    def __init__(self, role: str, peer: Any = None) -> None:
        self.logger = server_logger if role == "server" else client_logger
        self.ws_id = next(_ids)
        self.role = role
        self._peer = peer
        # (peer text, the records' extra attributes, the message prefix),
        # made on the first record: most connections log nothing.
        self._text: tuple[str, dict[str, Any], str] | None = None

    def set_peer(self, peer: Any) -> None:
        """Record the peer's address (known once the socket connects)."""
        self._peer = peer
        self._text = None

    def _texts(self) -> tuple[str, dict[str, Any], str]:
        text = self._text
        if text is None:
            peer = _peer_text(self._peer)
            extra = {"ws_id": self.ws_id, "peer": peer, "role": self.role}
            text = self._text = (peer, extra, f"[#{self.ws_id} {peer}] ")
        return text

    @property
    def peer(self) -> str:
        """The peer's address as logged (``host:port``, ``-`` if unknown)."""
        return self._texts()[0]

    @property
    def _extra(self) -> dict[str, Any]:
        return self._texts()[1]

    @property
    def _prefix(self) -> str:
        return self._texts()[2]

    def enabled(self, level: int) -> bool:
        return self.logger.isEnabledFor(level)

    def log(self, level: int, msg: str, *args: Any) -> None:
        """Log ``msg % args`` with the connection's prefix and attributes."""
        if self.logger.isEnabledFor(level):
            _peer, extra, prefix = self._texts()
            self.logger.log(level, prefix + msg, *args, extra=extra)

    # -- the frame trace -------------------------------------------------------

    def frame_handler(self, handler: Any) -> Any:
        """A core handler that logs each event, then passes it to ``handler``."""
        return _FrameTrace(self, handler)

    def trace_output(self, proto: Any) -> None:
        """Log what ``proto`` (a :class:`~pyws.protocol.Protocol`) is asked
        to send: its ``send``/``ping``/``pong``/``close`` of this one
        instance are wrapped; other connections are untouched."""
        prefix, extra = self._prefix, self._extra

        def wrap(name: str, describe: Callable[..., str]) -> None:
            original = getattr(proto, name)

            def traced(*args: Any, **kwargs: Any) -> Any:
                if frames_logger.isEnabledFor(logging.DEBUG):
                    frames_logger.debug(
                        prefix + "> " + describe(*args, **kwargs), extra=extra
                    )
                return original(*args, **kwargs)

            setattr(proto, name, traced)

        wrap(
            "send",
            lambda data, binary, fin=True, *a, **k: (
                f"{'BINARY' if binary else 'TEXT'} {_preview(data)}"
                f" [{len(data)} bytes{'' if fin else ', fin=0'}]"
            ),
        )
        wrap("ping", lambda data=b"", *a, **k: f"PING {_preview(data)}")
        wrap("pong", lambda data=b"", *a, **k: f"PONG {_preview(data)}")
        wrap(
            "close",
            lambda code=None, reason=b"", *a, **k: f"CLOSE {code} {bytes(reason)!r}",
        )


class _FrameTrace:
    """Logs the core's events (``pyws.frames``, DEBUG), then forwards them."""

    __slots__ = ("_log", "_handler", "_prefix")

    def __init__(self, log: ConnectionLog, handler: Any) -> None:
        self._log = log
        self._handler = handler
        self._prefix = log._prefix + "< "

    def _trace(self, text: str) -> None:
        frames_logger.debug(self._prefix + text, extra=self._log._extra)

    # Each event's text is built only when pyws.frames logs at DEBUG.

    def on_message(self, data: Any, is_binary: bool) -> None:
        if frames_logger.isEnabledFor(logging.DEBUG):
            size = sum(map(len, data)) if isinstance(data, list) else len(data)
            kind = "BINARY" if is_binary else "TEXT"
            self._trace(f"{kind} {_preview(data)} [{size} bytes]")
        self._handler.on_message(data, is_binary)

    def on_ping(self, data: bytes) -> None:
        if frames_logger.isEnabledFor(logging.DEBUG):
            self._trace(f"PING {_preview(data)}")
        self._handler.on_ping(data)

    def on_pong(self, data: bytes) -> None:
        if frames_logger.isEnabledFor(logging.DEBUG):
            self._trace(f"PONG {_preview(data)}")
        self._handler.on_pong(data)

    def on_close_frame(self, code: int, reason: bytes) -> None:
        if frames_logger.isEnabledFor(logging.DEBUG):
            self._trace(f"CLOSE {code} {bytes(reason)!r}")
        self._handler.on_close_frame(code, reason)

    def on_error(self, exc: Any) -> None:
        if frames_logger.isEnabledFor(logging.DEBUG):
            self._trace(f"protocol error {getattr(exc, 'code', None)}: {exc}")
        self._handler.on_error(exc)
