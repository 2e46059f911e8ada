"""Stop signals (SIGINT, SIGTERM) routed to a callback on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Any

__all__ = ["SignalRoute"]


class SignalRoute:
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
