"""Which event loop pyws objects live on, and Node-style process life.

Inside a running asyncio loop, objects attach to it. Created at the top level
of a script (no running loop), they attach to pyws's *default loop*, which
:func:`run` then runs until nothing is left open, as a Node process exits
when its last socket, server and referenced timer are gone. The default
loop is also the thread's current event loop, so top-level asyncio code
(``asyncio.get_event_loop()``) sees the same loop.

While :func:`run` drives a loop, it is the process:

- an ``'error'`` event nobody listens to (:func:`uncaught`) ends it: what
  is open is closed and :func:`run` raises the error, so the script fails
  with its text on stderr and exit status 1, as Node does;
- SIGTERM and SIGINT (Ctrl-C) stop it gracefully: every server shuts down
  (``wss.shutdown()``: its clients get 1001 after what was already queued),
  every other connection closes with 1001, timers are cleared; once all of
  it has closed (each closing handshake bounded by ``closeTimeout``),
  :func:`run` returns after SIGTERM and raises ``SystemExit(130)``, a Node
  process's status after SIGINT, with no traceback, after SIGINT. A second
  signal ends it at once: what is open is terminated. Signal handling lives
  in :class:`_StopSignals`, and nowhere else.

Also :func:`once`, Node's ``events.once``: a future for an event's arguments.
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import signal
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["get_loop", "retain", "release", "run", "once", "uncaught"]

_default_loop: asyncio.AbstractEventLoop | None = None
# Objects that keep the process alive: loop -> set of objects.
_alive: dict[asyncio.AbstractEventLoop, set[object]] = {}
_idle: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}
# While run() drives a loop: the future an uncaught error or a stop signal
# completes.
_ending: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}

#: How long :func:`run` lets what it closed on the way out finish, in seconds.
SHUTDOWN_TIMEOUT = 2.0

#: Exit status after SIGINT (128 + 2), as a shell reports a Node process.
SIGINT_STATUS = 130

# What run() starts once the main callable had its first turn: servers that
# user code created but did not start (a uvicorn server a WebSocketServer is
# attached to). Each starter does nothing if its server already runs.
_starters: dict[asyncio.AbstractEventLoop, list[Callable[[], object]]] = {}


def add_starter(loop: asyncio.AbstractEventLoop, start: Callable[[], object]) -> None:
    """Have :func:`run` call ``start()`` on ``loop`` (see ``_starters``)."""
    _starters.setdefault(loop, []).append(start)


def get_loop() -> asyncio.AbstractEventLoop:
    """The running loop, or pyws's default loop when none is running."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    global _default_loop
    if _default_loop is None or _default_loop.is_closed():
        _default_loop = _current_or_new_loop()
    return _default_loop


def _current_or_new_loop() -> asyncio.AbstractEventLoop:
    # Adopt the thread's current loop when top-level code already made one
    # (asyncio.get_event_loop() before the first pyws object); otherwise
    # make one and make it current, so later top-level asyncio code gets it.
    policy = asyncio.get_event_loop_policy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            loop = policy.get_event_loop()
        if not loop.is_closed() and not loop.is_running():
            return loop
    except RuntimeError:
        pass
    loop = asyncio.new_event_loop()
    policy.set_event_loop(loop)
    return loop


@atexit.register
def _at_exit() -> None:
    """A script that ends without :func:`run` (an exception at its top
    level, say) leaves the default loop unrun: close what is open on it and
    cancel its tasks, so Python does not print "Task was destroyed but it
    is pending!" or ResourceWarnings on the way out."""
    loop = _default_loop
    if loop is None or loop.is_closed() or loop.is_running():
        return
    try:
        _shutdown(loop)
        _cancel_tasks(loop)
    finally:
        _alive.pop(loop, None)
        loop.close()


def retain(obj: object, loop: asyncio.AbstractEventLoop) -> None:
    """``obj`` is open on ``loop``: :func:`run` keeps running for it."""
    _alive.setdefault(loop, set()).add(obj)


def release(obj: object) -> None:
    """``obj`` has closed."""
    for loop, objs in list(_alive.items()):
        if obj in objs:
            objs.discard(obj)
            if not objs:
                del _alive[loop]
                fut = _idle.pop(loop, None)
                if fut is not None and not fut.done():
                    fut.set_result(None)


def alive(loop: asyncio.AbstractEventLoop) -> int:
    """How many pyws objects are open on ``loop``."""
    return len(_alive.get(loop, ()))


async def wait_idle() -> None:
    """Return once no pyws object is open on the running loop."""
    loop = asyncio.get_running_loop()
    while _alive.get(loop):
        fut = _idle.get(loop)
        if fut is None or fut.done():
            fut = _idle[loop] = loop.create_future()
        await fut


def uncaught(err: Any) -> bool:
    """An ``'error'`` nobody listens to: end :func:`run` with it.

    Returns False when :func:`run` is not driving the current loop (the
    application runs its own loop): the caller then reports the error to
    the loop's exception handler.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    ending = _ending.get(loop)
    if ending is None:
        return False
    if not ending.done():
        if not isinstance(err, BaseException):
            err = RuntimeError(f"Unhandled error. ({err!r})")
        ending.set_exception(err)
    return True


class _StopSignals:
    """SIGINT and SIGTERM while :func:`run` drives the loop (the one place
    pyws handles signals).

    The first signal stops gracefully (:func:`_stop_gracefully`) and calls
    ``on_graceful(signum)``; the second calls ``on_stop(signum)``, which
    ends :func:`run` at once. Uses ``loop.add_signal_handler`` (Unix, main
    thread); where that is not available, :func:`run` catches
    ``KeyboardInterrupt`` instead.
    """

    SIGNALS = tuple(
        getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name)
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_graceful: Callable[[int], Any],
        on_stop: Callable[[int], Any],
    ) -> None:
        self.loop = loop
        self.on_graceful = on_graceful
        self.on_stop = on_stop
        #: The first signal received, or None.
        self.first: int | None = None
        self.installed: list[signal.Signals] = []
        for sig in self.SIGNALS:
            try:
                loop.add_signal_handler(sig, self._received, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            self.installed.append(sig)

    def _received(self, sig: int) -> None:
        if self.first is None:
            self.first = sig
            _stop_gracefully(self.loop)
            self.on_graceful(sig)
        else:
            self.on_stop(sig)

    def remove(self) -> None:
        for sig in self.installed:
            self.loop.remove_signal_handler(sig)
        self.installed.clear()


class _Interrupted(Exception):
    """Completes the ending future on a stop signal."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_gracefully(loop: asyncio.AbstractEventLoop) -> None:
    """Stop what is open on ``loop`` gracefully: each object's
    ``_on_stop_signal()`` (a server runs ``shutdown()``, a connection
    closes with 1001), servers first so that their connections get the
    server's code; timers are cleared."""
    objs = sorted(_alive.get(loop, ()), key=lambda o: not hasattr(o, "shutdown"))
    for obj in objs:
        try:
            stop = getattr(obj, "_on_stop_signal", None)
            if stop is not None:
                stop()
            else:
                clear = getattr(obj, "_clear", None)  # a timer
                if clear is not None:
                    clear()
        except Exception:  # noqa: BLE001 - stopping on the way out
            pass


def _close_everything(loop: asyncio.AbstractEventLoop) -> None:
    """Close what is open on ``loop``: connections are terminated, servers
    stop listening and drop handshakes in progress, timers are cleared."""
    for obj in list(_alive.get(loop, ())):
        try:
            for transport in list(getattr(obj, "_handshaking", ())):
                transport.abort()
            stop = (
                getattr(obj, "_clear", None)  # a timer
                or getattr(obj, "terminate", None)  # a WebSocket
                or getattr(obj, "close", None)  # a server
            )
            if stop is not None:
                stop()
        except Exception:  # noqa: BLE001 - closing on the way out
            pass


def run(main: Any = None) -> Any:
    """Run pyws like a Node process; return when nothing is left open.

    Args:
        main: optional; a coroutine, an ``async def`` function or a plain
            function, run first on the loop. Its result is returned.

    Objects created before the call (at a script's top level) run on the
    default loop; ``run()`` runs it until every server, connection and
    referenced timer is gone. An ``'error'`` event with no listener is
    raised from here, after everything open was closed. SIGTERM and SIGINT
    stop everything gracefully (see :class:`_StopSignals`), then cancel
    ``main`` if it still runs: after SIGTERM ``run()`` returns (``main``'s
    result if it had finished, else ``None``), after SIGINT (Ctrl-C) it
    raises ``SystemExit(130)``. A second signal terminates what is open
    at once. A uvicorn server that a
    ``WebSocketServer`` is attached to and that nothing started (``main``
    included) is started here and runs until it shuts down.
    """
    global _default_loop
    loop = get_loop()
    if loop.is_running():
        raise RuntimeError("pyws.run() cannot be called from a running event loop")

    main_done = False

    async def _main() -> Any:
        nonlocal main_done
        ending = _ending[loop]
        result = None
        task: asyncio.Future[Any] | None = None
        if main is not None:
            value = main() if callable(main) else main
            if inspect.isawaitable(value):
                task = asyncio.ensure_future(value)
            else:
                result = value
        if _starters.get(loop):
            # One loop turn for main, so that a server it starts itself
            # (``await server.serve()``) is not started twice.
            await asyncio.sleep(0)
            for start in _starters.pop(loop, []):
                start()
        if task is not None:
            await asyncio.wait({task, ending}, return_when=asyncio.FIRST_COMPLETED)
            if ending.done():
                task.cancel()
                ending.result()
            result = task.result()
        main_done = True
        idle = loop.create_task(wait_idle())
        try:
            await asyncio.wait({idle, ending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()
        if ending.done():
            ending.result()
        return result

    def end(signum: int) -> None:
        ending = _ending.get(loop)
        if ending is not None and not ending.done():
            ending.set_exception(_Interrupted(signum))

    async def end_when_idle(signum: int) -> None:
        # The graceful stop is done once nothing is open; main, if it still
        # runs, is then cancelled (if it is done, run() ends on its own).
        await wait_idle()
        if not main_done:
            end(signum)

    def on_graceful(signum: int) -> None:
        loop.create_task(end_when_idle(signum))

    asyncio.set_event_loop(loop)
    _ending[loop] = loop.create_future()
    signals = _StopSignals(loop, on_graceful, end)
    stopped_by: int | None = None
    result: Any = None
    try:
        try:
            result = loop.run_until_complete(_main())
        except _Interrupted as exc:
            stopped_by = exc.signum
        except KeyboardInterrupt:
            stopped_by = signal.SIGINT
        except BaseException:
            _shutdown(loop)
            raise
        _shutdown(loop)
    finally:
        signals.remove()
        _ending.pop(loop, None)
        try:
            _cancel_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            _alive.pop(loop, None)
            _idle.pop(loop, None)
            asyncio.set_event_loop(None)
            loop.close()
            if _default_loop is loop:
                _default_loop = None
    if stopped_by is None:
        stopped_by = signals.first
    if stopped_by == signal.SIGINT:
        raise SystemExit(SIGINT_STATUS)
    return result


def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    """Close what is open and let the closing finish, bounded in time."""
    if loop.is_closed() or not _alive.get(loop):
        return
    _close_everything(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(wait_idle(), SHUTDOWN_TIMEOUT))
    except (asyncio.TimeoutError, KeyboardInterrupt):
        pass


def _cancel_tasks(loop: asyncio.AbstractEventLoop) -> None:
    # As asyncio.run() does: no "Task was destroyed but it is pending!".
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


async def once(emitter: Any, event: str, timeout: float | None = None) -> list[Any]:
    """Wait for ``event`` on ``emitter``; return its arguments as a list.

    Node's ``events.once``: raises the error if ``'error'`` is emitted first
    (unless ``event`` is ``'error'``). ``timeout`` is in seconds; on expiry
    ``asyncio.TimeoutError`` is raised.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[list[Any]] = loop.create_future()

    def on_event(*args: Any) -> None:
        if not fut.done():
            fut.set_result(list(args))

    def on_error(err: Any = None) -> None:
        if not fut.done():
            fut.set_exception(
                err if isinstance(err, BaseException) else RuntimeError(err)
            )

    # Plain listeners, removed below: the first call settles the future.
    emitter.on(event, on_event)
    if event != "error":
        emitter.on("error", on_error)
    timer = None
    if timeout is not None:
        # One timer on the future itself (asyncio.wait_for adds a waiter
        # future and callbacks: this runs once per connection in clients).
        def expire() -> None:
            if not fut.done():
                fut.set_exception(asyncio.TimeoutError())

        timer = loop.call_later(timeout, expire)
    try:
        if timeout is not None and timeout <= 0:
            raise asyncio.TimeoutError()  # as asyncio.wait_for(fut, 0)
        return await fut
    finally:
        if timer is not None:
            timer.cancel()
        emitter.remove_listener(event, on_event)
        if event != "error":
            emitter.remove_listener("error", on_error)
