"""Node's timers on pyws's loop: ``setTimeout``, ``setInterval``,
``setImmediate`` and their ``clear*`` twins.

A script ported from Node sets timers at its top level, before
:func:`pyws.run`: they are armed on the same loop pyws objects attach to
(the running loop, or pyws's default loop), and :func:`pyws.run` keeps
running while a referenced timer is pending, as a Node process does.

- Delays are in milliseconds; a delay that is not a number from 1 to
  2147483647 becomes 1, as in Node. Extra arguments are passed to the
  callback. A callback that returns a coroutine has it run as a task.
- The handles (:class:`Timeout`, :class:`Immediate`) have ``ref()``,
  ``unref()``, ``hasRef()`` (and PEP 8 twins); a :class:`Timeout` also has
  ``refresh()`` and ``close()``. An unreferenced timer does not keep
  :func:`pyws.run` going.
- ``clearTimeout(None)`` (and any value that is not a handle) does nothing,
  as ``clearTimeout(undefined)`` in Node; ``clearTimeout`` and
  ``clearInterval`` are interchangeable.
- An exception raised by a callback goes to the loop's exception handler,
  like one raised by a listener.

Facade layer.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from types import CoroutineType
from typing import Any

from . import _runtime
from ._emitter import report_exception, run_detached

__all__ = [
    "Immediate",
    "Timeout",
    "clearImmediate",
    "clearInterval",
    "clearTimeout",
    "clear_immediate",
    "clear_interval",
    "clear_timeout",
    "setImmediate",
    "setInterval",
    "setTimeout",
    "set_immediate",
    "set_interval",
    "set_timeout",
]

#: Tasks of ``async def`` timer callbacks still running (held so that they
#: are not garbage collected before they finish).
_tasks: set[asyncio.Task[Any]] = set()

#: Node's ``TIMEOUT_MAX``: the largest delay, in ms (2 ** 31 - 1).
TIMEOUT_MAX = 2**31 - 1


def _delay_ms(delay: Any) -> float:
    try:
        ms = float(delay) if delay is not None else 1.0
    except (TypeError, ValueError):
        return 1.0
    if math.isnan(ms) or not 1 <= ms <= TIMEOUT_MAX:
        return 1.0
    return ms


def _check_callback(callback: Any) -> None:
    if not callable(callback):
        raise TypeError(
            f'The "callback" argument must be callable, not {type(callback).__name__}'
        )


class _Handle:
    """What :class:`Timeout` and :class:`Immediate` share: the callback, the
    loop, and whether the handle keeps :func:`pyws.run` going."""

    def __init__(
        self, callback: Callable[..., Any], args: tuple[Any, ...], kind: str
    ) -> None:
        _check_callback(callback)
        self._callback = callback
        self._args = args
        self._kind = kind
        self._loop = _runtime.get_loop()
        self._ref = True
        self._pending = False

    def _arm(self) -> None:
        self._pending = True
        if self._ref:
            _runtime.retain(self, self._loop)

    def _disarm(self) -> None:
        self._pending = False
        _runtime.release(self)

    def _run(self) -> None:
        try:
            result = self._callback(*self._args)
        except Exception as exc:  # noqa: BLE001 - the user's bug
            report_exception(f"Exception in a {self._kind} callback", exc, self)
            return
        if result is not None and type(result) is CoroutineType:
            run_detached(
                result,
                self._loop,
                _tasks,
                f"Exception in an async {self._kind} callback",
                self,
            )

    def ref(self) -> Any:
        """Keep :func:`pyws.run` going while this is pending (the default)."""
        self._ref = True
        if self._pending:
            _runtime.retain(self, self._loop)
        return self

    def unref(self) -> Any:
        """Let :func:`pyws.run` end even while this is pending."""
        self._ref = False
        _runtime.release(self)
        return self

    def hasRef(self) -> bool:  # noqa: N802
        """Whether this keeps :func:`pyws.run` going."""
        return self._ref

    has_ref = hasRef

    def __repr__(self) -> str:
        state = "pending" if self._pending else "done"
        return f"<{type(self).__name__} {self._kind} {state}>"


class Timeout(_Handle):
    """The handle ``setTimeout`` and ``setInterval`` return."""

    def __init__(
        self,
        callback: Callable[..., Any],
        delay: Any,
        args: tuple[Any, ...],
        repeat: bool,
    ) -> None:
        super().__init__(callback, args, "setInterval" if repeat else "setTimeout")
        self._delay_s = _delay_ms(delay) / 1000
        self._repeat = repeat
        self._timer: asyncio.TimerHandle | None = None
        self._start()

    def _start(self) -> None:
        self._timer = self._loop.call_later(self._delay_s, self._fire)
        self._arm()

    def _fire(self) -> None:
        if self._repeat:
            self._timer = self._loop.call_later(self._delay_s, self._fire)
        else:
            self._timer = None
            # Released before the callback runs: a timer it sets keeps the
            # process going on its own.
            self._disarm()
        self._run()

    def _clear(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            self._disarm()

    def refresh(self) -> Timeout:
        """Restart the delay from now (re-arms a timeout that already fired)."""
        if self._loop.is_closed():
            return self
        if self._timer is not None:
            self._timer.cancel()
        self._start()
        return self

    def close(self) -> Timeout:
        """Cancel the timer (Node's ``timeout.close()``)."""
        self._clear()
        return self

    def when(self) -> float | None:
        """The loop time the timer fires at, or ``None`` when not armed."""
        return self._timer.when() if self._timer is not None else None


class Immediate(_Handle):
    """The handle ``setImmediate`` returns."""

    def __init__(self, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__(callback, args, "setImmediate")
        self._handle: asyncio.Handle | None = self._loop.call_soon(self._fire)
        self._arm()

    def _fire(self) -> None:
        self._handle = None
        self._disarm()
        self._run()

    def _clear(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._pending:
            self._disarm()


def setTimeout(  # noqa: N802
    callback: Callable[..., Any], delay: Any = 1, *args: Any
) -> Timeout:
    """Call ``callback(*args)`` once, after ``delay`` milliseconds."""
    return Timeout(callback, delay, args, repeat=False)


def setInterval(  # noqa: N802
    callback: Callable[..., Any], delay: Any = 1, *args: Any
) -> Timeout:
    """Call ``callback(*args)`` every ``delay`` milliseconds."""
    return Timeout(callback, delay, args, repeat=True)


def setImmediate(callback: Callable[..., Any], *args: Any) -> Immediate:  # noqa: N802
    """Call ``callback(*args)`` on the loop's next turn."""
    return Immediate(callback, args)


def clearTimeout(timeout: Any) -> None:  # noqa: N802
    """Cancel a :class:`Timeout`; anything else (``None``) is ignored."""
    if isinstance(timeout, Timeout):
        timeout._clear()


def clearImmediate(immediate: Any) -> None:  # noqa: N802
    """Cancel an :class:`Immediate`; anything else (``None``) is ignored."""
    if isinstance(immediate, Immediate):
        immediate._clear()


clearInterval = clearTimeout  # noqa: N816

set_timeout = setTimeout
set_interval = setInterval
set_immediate = setImmediate
clear_timeout = clearTimeout
clear_interval = clearInterval
clear_immediate = clearImmediate
