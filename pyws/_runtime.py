"""Which event loop pyws objects live on, and Node-style process life.

Inside a running asyncio loop, objects attach to it. Created at the top level
of a script (no running loop), they attach to pyws's *default loop*, which
:func:`run` then runs until nothing is left open, as a Node process exits
when its last socket and server have closed.

Also :func:`once`, Node's ``events.once``: a future for an event's arguments.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["get_loop", "retain", "release", "run", "once"]

_default_loop: asyncio.AbstractEventLoop | None = None
# Objects that keep the process alive: loop -> set of objects.
_alive: dict[asyncio.AbstractEventLoop, set[object]] = {}
_idle: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}
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


def run(main: Any = None) -> Any:
    """Run pyws like a Node process; return when nothing is left open.

    Args:
        main: optional; a coroutine, an ``async def`` function or a plain
            function, run first on the loop. Its result is returned.

    Objects created before the call (at a script's top level) run on the
    default loop; ``run()`` runs it until every server and connection has
    closed. A uvicorn server that a ``WebSocketServer`` is attached to and
    that nothing started (``main`` included) is started here and runs until
    it shuts down.
    """
    global _default_loop
    loop = get_loop()
    if loop.is_running():
        raise RuntimeError("pyws.run() cannot be called from a running event loop")

    async def _main() -> Any:
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
            result = await task
        await wait_idle()
        return result

    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(_main())
    finally:
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
