"""A Node-style EventEmitter on top of ``pyee.EventEmitter``.

pyee gives the listener table and the ``'error'`` semantics; this adds what
ws users call on an emitter (``on`` returning the emitter, ``off``,
``prependListener``, ``listenerCount``, ``setMaxListeners``, ...), PEP 8
twins, ``async def`` listeners, and a lock-free ``emit`` for the hot path
(pyee takes a lock per emit; pyws emits from one event loop thread).

It relies on pyee's private layout (``_events``: event -> OrderedDict keyed
by the original listener; ``_lock``; the ``_emit_run`` and
``_add_event_handler`` hooks). ``test/unit/test_emitter.py`` pins that layout
so a pyee upgrade that changes it fails loudly.

Facade layer: imports pyee and asyncio; nothing in the core imports this.
"""

from __future__ import annotations

import asyncio
import warnings
from collections import OrderedDict
from collections.abc import Callable
from types import CoroutineType
from typing import Any, ClassVar, TypeVar

import pyee

from . import _runtime
from ._callbacks import fit

__all__ = [
    "NodeEventEmitter",
    "MaxListenersExceededWarning",
    "NO_LISTENER",
    "report_exception",
    "run_detached",
]

F = TypeVar("F", bound=Callable[..., Any])

_NO_LISTENER: Any = object()
#: ``on(event)`` / ``once(event)`` without a listener: the decorator form.
NO_LISTENER = _NO_LISTENER

#: Node's ``EventEmitter.defaultMaxListeners``.
DEFAULT_MAX_LISTENERS = 10


class MaxListenersExceededWarning(RuntimeWarning):
    """More listeners than ``getMaxListeners()`` were added for one event."""


def report_exception(message: str, exc: BaseException, source: object) -> None:
    """Hand an exception no one can catch to the loop's exception handler.

    This is asyncio's counterpart of Node's uncaught exception: a listener
    that raises inside a pyws callback must not tear down the connection's
    transport (see docs/closing.md: a user's error is the user's).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    loop.call_exception_handler(
        {"message": message, "exception": exc, "source": source}
    )


def run_detached(
    coro: Any,
    loop: asyncio.AbstractEventLoop,
    tasks: set[asyncio.Task[Any]],
    message: str,
    source: object,
) -> None:
    """Run the coroutine an ``async def`` callback returned as a task, not
    awaited: ``tasks`` holds it while it runs (so it is not garbage
    collected), and its exception goes to the loop's exception handler."""
    task = loop.create_task(coro)
    tasks.add(task)

    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            exc = task.exception()
            if exc is not None:
                report_exception(message, exc, source)

    task.add_done_callback(done)


def _check_listener(listener: Any) -> None:
    if not callable(listener):
        raise TypeError(
            f'The "listener" argument must be callable, not {type(listener).__name__}'
        )


class NodeEventEmitter(pyee.EventEmitter):
    """``pyee.EventEmitter`` with Node's method names and a fast ``emit``.

    A listener is called with as many leading arguments as it accepts
    (Node's convention: ``ws.on('pong', lambda: ...)`` works); this is
    decided when it is added (see :mod:`pyws._callbacks`). A listener that
    has ``*args``, or takes every argument of a hot event (``_event_args``),
    is stored and called as is.

    Differences from Node, by pyee's design: adding the same listener twice
    registers it once; there is no ``'removeListener'`` event.
    """

    #: Events only pyws emits, on a hot path, with how many arguments: a
    #: listener taking at least that many is stored as is. Any other event
    #: may be emitted by user code with extra arguments (ws's README emits
    #: ``'connection'`` with three), so every listener with a fixed number
    #: of parameters gets the adapter there.
    _event_args: ClassVar[dict[str, int]] = {}

    #: Events warned about (MaxListenersExceededWarning), made on the first.
    _warned: frozenset[Any] | set[Any] = frozenset()
    #: Tasks of ``async def`` listeners still running, made on the first.
    _listener_tasks: set[asyncio.Task[Any]] | None = None

    def __init__(self) -> None:
        super().__init__()
        self._max_listeners = DEFAULT_MAX_LISTENERS

    # -- emitting ------------------------------------------------------------

    def emit(self, event: Any, *args: Any, **kwargs: Any) -> bool:
        """Call every listener of ``event``; True if there was one.

        An ``'error'`` with no listener raises the error (as Node throws it).
        """
        table = self._events.get(event)
        if not table:
            if event == "error":
                self._emit_handle_potential_error(event, args[0] if args else None)
            return False
        for f in tuple(table.values()):
            self._emit_run(f, args, kwargs)
        return True

    def _dispatch(self, event: str, *args: Any) -> None:
        """Emit an event pyws raises on its own (from socket callbacks and
        timers); a listener's exception goes to the loop's exception handler
        instead of escaping. An ``'error'`` nobody listens to ends
        :func:`pyws.run` with that error (see ``_runtime.uncaught``), or,
        when pyws.run() is not driving the loop, goes to the handler too."""
        try:
            if event == "error" and not self._events.get("error"):
                # Node throws it: under pyws.run() the process ends with it.
                if _runtime.uncaught(args[0] if args else None):
                    return
                report_exception(
                    f"Unhandled 'error' event on a pyws {type(self).__name__}",
                    args[0],
                    self,
                )
                return
            self.emit(event, *args)
        except Exception as exc:  # noqa: BLE001 - a listener's bug
            report_exception(f"Exception in a pyws {event!r} listener", exc, self)

    def _emit_run(
        self, f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        result = f(*args, **kwargs)
        if result is not None and type(result) is CoroutineType:
            self._run_listener_task(result)

    def _run_listener_task(self, coro: Any) -> None:
        # An ``async def`` listener: run it as a task, not awaited.
        tasks = self._listener_tasks
        if tasks is None:
            tasks = self._listener_tasks = set()
        run_detached(
            coro,
            asyncio.get_running_loop(),
            tasks,
            "Exception in an async pyws listener",
            self,
        )

    def _add_event_handler(
        self, event: Any, k: Callable[..., Any], v: Callable[..., Any]
    ) -> None:
        # pyee's on(), add_listener() and decorator pass the listener twice;
        # fit it to the event's arguments once, here.
        if v is k:
            v = fit(k, self._event_args.get(event))
        events = self._events
        if "newListener" in events:
            self.emit("newListener", event, k)
        # pyee's own _add_event_handler, inlined (this runs for every
        # listener of every connection): its 'new_listener' first, if
        # anyone listens, then the table entry.
        if "new_listener" in events:
            self.emit("new_listener", event, k)
        with self._lock:
            table = events.get(event)
            if table is None:
                table = events[event] = OrderedDict()
            table[k] = v
            count = len(table)
        limit = self._max_listeners
        if 0 < limit < count and event not in self._warned:
            self._warned = {*self._warned, event}
            warnings.warn(
                f"Possible EventEmitter memory leak detected. {count} {event} "
                f"listeners added to {type(self).__name__}. "
                "Use emitter.setMaxListeners() to increase limit",
                MaxListenersExceededWarning,
                stacklevel=4,
            )

    # -- Node's names ----------------------------------------------------------

    def on(self, event: Any, listener: Any = _NO_LISTENER) -> Any:
        """Add ``listener``; return the emitter (Node). Without a listener,
        return a decorator (pyee)."""
        if listener is _NO_LISTENER:
            return self.listens_to(event)
        _check_listener(listener)
        self._add_event_handler(event, listener, listener)  # pyee's add_listener
        return self

    def addListener(self, event: Any, listener: Callable[..., Any]) -> Any:  # noqa: N802
        """Node ``addListener``: same as :meth:`on`."""
        return self.on(event, listener)

    def once(self, event: Any, listener: Any = _NO_LISTENER) -> Any:
        """Add a one-time ``listener``; return the emitter (Node). Without a
        listener, return a decorator (pyee)."""
        if listener is _NO_LISTENER:

            def decorator(f: F) -> F:
                self._add_once(event, f)
                return f

            return decorator
        _check_listener(listener)
        self._add_once(event, listener)
        return self

    def _add_once(self, event: Any, f: Callable[..., Any]) -> None:
        call = fit(f, self._event_args.get(event))

        def once_wrapper(*args: Any, **kwargs: Any) -> Any:
            # Removed before it runs (Node); a no-op if removed meanwhile.
            with self._lock:
                table = self._events.get(event)
                if table is None or table.get(f) is not once_wrapper:
                    return None
                del table[f]
                if not table:
                    del self._events[event]
            return call(*args, **kwargs)

        once_wrapper.listener = f  # type: ignore[attr-defined]  # Node's rawListeners
        self._add_event_handler(event, f, once_wrapper)

    def prepend_listener(self, event: Any, listener: Callable[..., Any]) -> Any:
        """Add ``listener`` before the others; return the emitter."""
        self.on(event, listener)
        self._move_first(event, listener)
        return self

    def prepend_once_listener(self, event: Any, listener: Callable[..., Any]) -> Any:
        """Add a one-time ``listener`` before the others; return the emitter."""
        self.once(event, listener)
        self._move_first(event, listener)
        return self

    def _move_first(self, event: Any, listener: Callable[..., Any]) -> None:
        with self._lock:
            table = self._events.get(event)
            if table is not None and listener in table:
                table.move_to_end(listener, last=False)

    def remove_listener(self, event: Any, f: Callable[..., Any]) -> None:
        """Remove ``f`` from ``event``; a no-op when it is not there."""
        with self._lock:
            table = self._events.get(event)
            if table is not None and f in table:
                del table[f]
                if not table:
                    del self._events[event]

    def off(self, event: Any, listener: Callable[..., Any]) -> Any:
        """Node ``off``/``removeListener``; returns the emitter."""
        self.remove_listener(event, listener)
        return self

    def remove_all_listeners(self, event: Any = None) -> None:
        """Remove every listener of ``event``, or of every event."""
        with self._lock:
            if event is None:
                self._events = {}
            else:
                self._events.pop(event, None)

    def removeAllListeners(self, event: Any = None) -> Any:  # noqa: N802
        """Node ``removeAllListeners``; returns the emitter."""
        self.remove_all_listeners(event)
        return self

    def listener_count(
        self, event: Any, listener: Callable[..., Any] | None = None
    ) -> int:
        """How many listeners ``event`` has (or whether ``listener`` is one)."""
        table = self._events.get(event)
        if not table:
            return 0
        if listener is not None:
            return 1 if listener in table else 0
        return len(table)

    def raw_listeners(self, event: Any) -> list[Callable[..., Any]]:
        """The listeners, with once-wrappers (``.listener`` is the original)
        in place of ``once`` listeners, as Node's ``rawListeners``; an
        argument-fitting adapter is an internal detail and not shown."""
        table = self._events.get(event, OrderedDict())
        return [v if getattr(v, "listener", None) is k else k for k, v in table.items()]

    def event_names(self) -> list[Any]:  # type: ignore[override]
        """Events with listeners, in insertion order (Node returns an array)."""
        return [e for e, table in self._events.items() if table]

    def set_max_listeners(self, n: int) -> Any:
        """Warn when an event gets more than ``n`` listeners (0: never)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(
                f'The value of "n" is out of range. It must be a non-negative '
                f"number. Received {n!r}"
            )
        self._max_listeners = n
        return self

    def get_max_listeners(self) -> int:
        """The current limit (default 10)."""
        return self._max_listeners

    removeListener = off  # noqa: N815
    prependListener = prepend_listener  # noqa: N815
    prependOnceListener = prepend_once_listener  # noqa: N815
    listenerCount = listener_count  # noqa: N815
    rawListeners = raw_listeners  # noqa: N815
    eventNames = event_names  # noqa: N815
    setMaxListeners = set_max_listeners  # noqa: N815
    getMaxListeners = get_max_listeners  # noqa: N815
