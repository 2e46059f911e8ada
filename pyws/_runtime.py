"""Which event loop pyws objects live on, and Node-style process life.

Inside a running asyncio loop, objects attach to it. Created at the top level
of a script (no running loop), they attach to pyws's *default loop*, which
:func:`run` then runs until nothing is left open, as a Node process exits
when its last socket and server have closed.

While :func:`run` runs, SIGTERM and SIGINT stop what is open gracefully
(:func:`stop_on_signals`): servers shut down (every client closed with
1001), client connections close with 1001; a second signal terminates them.

Also :func:`once`, Node's ``events.once``: a future for an event's arguments.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["get_loop", "retain", "release", "run", "once"]

_default_loop: asyncio.AbstractEventLoop | None = None
# Objects that keep the process alive: loop -> set of objects.
_alive: dict[asyncio.AbstractEventLoop, set[object]] = {}
_idle: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}


def get_loop() -> asyncio.AbstractEventLoop:
    """The running loop, or pyws's default loop when none is running."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    global _default_loop
    if _default_loop is None or _default_loop.is_closed():
        _default_loop = asyncio.new_event_loop()
    return _default_loop


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


def stop_on_signals(
    loop: asyncio.AbstractEventLoop,
    on_stop: Callable[[bool], object] | None = None,
) -> Callable[[], None]:
    """On SIGTERM or SIGINT, stop every pyws object open on ``loop``.

    The first signal is graceful: each object's ``_on_stop_signal(False)``
    (a server runs ``shutdown()``: clients get 1001 after what was queued;
    a connection closes with 1001). A second signal forces:
    ``_on_stop_signal(True)`` terminates. Then ``on_stop(forced)``. Returns the
    function that removes the handlers. Does nothing outside the main
    thread or where the loop has no signal support (Windows).
    """
    signals = [signal.SIGINT]
    if hasattr(signal, "SIGTERM"):
        signals.append(signal.SIGTERM)
    count = 0

    def on_signal() -> None:
        nonlocal count
        count += 1
        forced = count > 1
        # Servers first: their shutdown closes their own connections with
        # the server's code.
        objs = sorted(_alive.get(loop, ()), key=lambda o: not hasattr(o, "shutdown"))
        for obj in objs:
            stop = getattr(obj, "_on_stop_signal", None)
            if stop is not None:
                stop(forced)
        if on_stop is not None:
            on_stop(forced)

    installed: list[signal.Signals] = []
    if threading.current_thread() is threading.main_thread():
        for sig in signals:
            try:
                loop.add_signal_handler(sig, on_signal)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            installed.append(sig)

    def uninstall() -> None:
        for sig in installed:
            try:
                loop.remove_signal_handler(sig)
            except (RuntimeError, ValueError):  # pragma: no cover - loop closed
                pass

    return uninstall


def run(main: Any = None) -> Any:
    """Run pyws like a Node process; return when nothing is left open.

    Args:
        main: optional; a coroutine, an ``async def`` function or a plain
            function, run first on the loop. Its result is returned.

    Objects created before the call (at a script's top level) run on the
    default loop; ``run()`` runs it until every server and connection has
    closed. SIGTERM and SIGINT shut everything down gracefully (see
    :func:`stop_on_signals`) and then cancel ``main`` if it is still
    running (``run()`` returns ``None``); a second signal terminates
    everything and cancels ``main`` at once.
    """
    global _default_loop
    loop = get_loop()
    if loop.is_running():
        raise RuntimeError("pyws.run() cannot be called from a running event loop")

    main_task: asyncio.Future[Any] | None = None
    forced = False

    async def _main() -> Any:
        nonlocal main_task
        result = None
        if main is not None:
            value = main() if callable(main) else main
            if inspect.isawaitable(value):
                main_task = asyncio.ensure_future(value)
                try:
                    result = await main_task
                except asyncio.CancelledError:
                    if not forced:
                        raise
            else:
                result = value
        await wait_idle()
        return result

    def cancel_main() -> None:
        nonlocal forced
        forced = True
        if main_task is not None and not main_task.done():
            main_task.cancel()

    async def cancel_main_when_idle() -> None:
        await wait_idle()
        cancel_main()

    stopper: list[asyncio.Future[None]] = []

    def on_stop(force: bool) -> None:
        # A signal stops main too: at once on the second one, else once
        # everything open has closed gracefully.
        if force:
            cancel_main()
        elif not stopper:
            stopper.append(loop.create_task(cancel_main_when_idle()))

    uninstall = stop_on_signals(loop, on_stop)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(_main())
    finally:
        uninstall()
        for fut in stopper:
            if not fut.done():
                fut.cancel()
                loop.run_until_complete(asyncio.gather(fut, return_exceptions=True))
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
            if _default_loop is loop:
                _default_loop = None


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

    emitter.once(event, on_event)
    if event != "error":
        emitter.once("error", on_error)
    try:
        return await asyncio.wait_for(fut, timeout)
    finally:
        emitter.remove_listener(event, on_event)
        if event != "error":
            emitter.remove_listener("error", on_error)
