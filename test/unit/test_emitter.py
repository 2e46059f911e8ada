"""The Node-style emitter (``pyws._emitter``) and the pyee layout it uses.

Part 1 pins pyee's private layout pyws relies on (pyee-notes.md section 4),
so a pyee upgrade that changes it fails here first: ``_events`` is a dict of
``OrderedDict`` keyed by the original listener, ``_lock`` exists, and the
``_emit_run`` / ``_add_event_handler`` hooks keep their signatures.

Part 2 checks the Node methods pyws adds: ``on`` returning the emitter (and
its decorator form), ``once``, ``off``, ``prependListener``, ``listenerCount``,
``eventNames`` order, ``setMaxListeners`` and MaxListenersExceededWarning,
``'error'`` with no listener, and ``async def`` listeners run as tasks.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import warnings
from collections import OrderedDict
from typing import Any

import pyee
import pytest

from pyws._emitter import MaxListenersExceededWarning, NodeEventEmitter


def noop(*args: Any) -> None:
    pass


# -- part 1: pyee's private layout -------------------------------------------


@pytest.mark.parametrize("cls", [pyee.EventEmitter, NodeEventEmitter])
def test_events_table_layout(cls: type[pyee.EventEmitter]) -> None:
    ee = cls()

    # *args listeners: NodeEventEmitter stores them unadapted, as pyee does.
    def a(*args: Any) -> None:
        pass

    def b(*args: Any) -> None:
        pass

    ee.on("x", a)
    ee.once("x", b)
    assert isinstance(ee._events, dict)
    table = ee._events["x"]
    assert type(table) is OrderedDict
    assert list(table) == [a, b]  # keyed by the original listener
    assert table[a] is a
    assert table[b] is not b and callable(table[b])  # the once-wrapper


def test_lock_exists() -> None:
    ee = NodeEventEmitter()
    lock_type = type(threading.Lock())
    assert isinstance(ee._lock, lock_type)


def test_hook_signatures() -> None:
    run = inspect.signature(pyee.EventEmitter._emit_run)
    assert list(run.parameters) == ["self", "f", "args", "kwargs"]
    add = inspect.signature(pyee.EventEmitter._add_event_handler)
    assert list(add.parameters) == ["self", "event", "k", "v"]
    # pyws overrides both with the same shape.
    assert list(inspect.signature(NodeEventEmitter._emit_run).parameters) == [
        "self",
        "f",
        "args",
        "kwargs",
    ]
    assert list(inspect.signature(NodeEventEmitter._add_event_handler).parameters) == [
        "self",
        "event",
        "k",
        "v",
    ]


def test_pyee_once_wrapper_calls_add_event_handler_with_original_key() -> None:
    seen: list[tuple[Any, Any, Any]] = []

    class Spy(pyee.EventEmitter):
        def _add_event_handler(self, event: Any, k: Any, v: Any) -> None:
            seen.append((event, k, v))
            super()._add_event_handler(event, k, v)

    ee = Spy()
    ee.once("e", noop)
    assert seen[0][0] == "e" and seen[0][1] is noop and seen[0][2] is not noop


# -- part 2: Node methods -------------------------------------------------------


def test_on_returns_the_emitter_and_chains() -> None:
    ee = NodeEventEmitter()
    calls: list[str] = []
    assert (
        ee.on("a", lambda: calls.append("a")).on("b", lambda: calls.append("b")) is ee
    )
    assert ee.addListener("a", lambda: calls.append("a2")) is ee
    ee.emit("a")
    ee.emit("b")
    assert calls == ["a", "a2", "b"]


def test_on_decorator_form() -> None:
    ee = NodeEventEmitter()
    got: list[int] = []

    @ee.on("n")  # type: ignore[untyped-decorator]  # Node's on() returns Any
    def listener(n: int) -> None:
        got.append(n)

    assert callable(listener)
    ee.emit("n", 5)
    assert got == [5]


def test_on_rejects_non_callable() -> None:
    ee = NodeEventEmitter()
    with pytest.raises(TypeError, match="listener"):
        ee.on("x", 42)
    with pytest.raises(TypeError, match="listener"):
        ee.once("x", "nope")


def test_once() -> None:
    ee = NodeEventEmitter()
    got: list[int] = []
    assert ee.once("x", got.append) is ee
    assert ee.emit("x", 1) is True
    assert ee.emit("x", 2) is False
    assert got == [1]
    assert ee.listenerCount("x") == 0


def test_once_decorator_form() -> None:
    ee = NodeEventEmitter()
    got: list[int] = []

    @ee.once("x")  # type: ignore[untyped-decorator]  # as on()
    def listener(n: int) -> None:
        got.append(n)

    ee.emit("x", 1)
    ee.emit("x", 2)
    assert got == [1]


def test_off_and_remove_listener() -> None:
    ee = NodeEventEmitter()
    got: list[int] = []
    ee.on("x", got.append)
    assert ee.off("x", got.append) is ee
    ee.emit("x", 1)
    assert got == []
    # Removing something not registered is a no-op (Node), even when the
    # event has other listeners (pyee 13 raises KeyError there).
    ee.on("x", noop)
    ee.off("x", got.append)
    ee.removeListener("y", noop)
    assert ee.listenerCount("x") == 1


def test_off_removes_a_once_listener_by_the_original() -> None:
    ee = NodeEventEmitter()
    got: list[int] = []
    ee.once("x", got.append)
    ee.off("x", got.append)
    ee.emit("x", 1)
    assert got == []


def test_remove_all_listeners() -> None:
    ee = NodeEventEmitter()
    ee.on("a", noop).on("b", noop)
    assert ee.removeAllListeners("a") is ee
    assert ee.eventNames() == ["b"]
    ee.removeAllListeners()
    assert ee.eventNames() == []


def test_prepend_listener_order() -> None:
    ee = NodeEventEmitter()
    order: list[str] = []
    ee.on("x", lambda: order.append("first-added"))
    assert ee.prependListener("x", lambda: order.append("prepended")) is ee
    ee.prependOnceListener("x", lambda: order.append("prepended-once"))
    ee.emit("x")
    ee.emit("x")
    assert order == [
        "prepended-once",
        "prepended",
        "first-added",
        "prepended",
        "first-added",
    ]


def test_listener_count() -> None:
    ee = NodeEventEmitter()
    assert ee.listenerCount("x") == 0
    ee.on("x", noop)
    ee.once("x", print)
    assert ee.listenerCount("x") == 2
    assert ee.listener_count("x", noop) == 1
    assert ee.listener_count("x", len) == 0
    assert ee.listeners("x") == [noop, print]
    assert len(ee.rawListeners("x")) == 2


def test_event_names_in_insertion_order() -> None:
    ee = NodeEventEmitter()
    for name in ("zeta", "alpha", "mid"):
        ee.on(name, noop)
    assert ee.eventNames() == ["zeta", "alpha", "mid"]
    assert ee.event_names() == ["zeta", "alpha", "mid"]


def test_new_listener_event_fires_before_adding() -> None:
    ee = NodeEventEmitter()
    seen: list[tuple[str, int]] = []
    ee.on("newListener", lambda ev, fn: seen.append((ev, ee.listenerCount(ev))))
    ee.on("data", noop)
    assert seen == [("data", 0)]


def test_set_max_listeners_warns_once_per_event() -> None:
    ee = NodeEventEmitter()
    assert ee.getMaxListeners() == 10
    assert ee.setMaxListeners(2) is ee
    ee.on("x", lambda: None)
    ee.on("x", lambda: None)
    with pytest.warns(MaxListenersExceededWarning, match="3 x listeners"):
        ee.on("x", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ee.on("x", lambda: None)  # warned already for 'x'


def test_default_limit_is_ten() -> None:
    ee = NodeEventEmitter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(10):
            ee.on("x", lambda: None)
    with pytest.warns(MaxListenersExceededWarning):
        ee.on("x", lambda: None)


def test_set_max_listeners_zero_means_unlimited_and_rejects_negative() -> None:
    ee = NodeEventEmitter()
    ee.setMaxListeners(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(50):
            ee.on("x", lambda: None)
    with pytest.raises(ValueError):
        ee.setMaxListeners(-1)


def test_error_without_listener_raises_the_error() -> None:
    ee = NodeEventEmitter()
    err = ValueError("boom")
    with pytest.raises(ValueError, match="boom") as info:
        ee.emit("error", err)
    assert info.value is err


def test_error_with_listener_is_delivered() -> None:
    ee = NodeEventEmitter()
    got: list[BaseException] = []
    ee.on("error", got.append)
    err = RuntimeError("x")
    assert ee.emit("error", err) is True
    assert got == [err]


def test_emit_return_value_and_args() -> None:
    ee = NodeEventEmitter()
    assert ee.emit("nothing") is False
    got: list[tuple[Any, ...]] = []
    ee.on("x", lambda *a: got.append(a))
    assert ee.emit("x", 1, b"2", None) is True
    assert got == [(1, b"2", None)]


def test_listener_added_during_emit_waits_for_next_emit() -> None:
    ee = NodeEventEmitter()
    calls: list[str] = []

    def first() -> None:
        calls.append("first")
        ee.on("x", lambda: calls.append("late"))

    ee.on("x", first)
    ee.emit("x")
    assert calls == ["first"]


def test_async_listeners_run_as_tasks() -> None:
    async def main() -> list[str]:
        ee = NodeEventEmitter()
        order: list[str] = []
        done = asyncio.get_running_loop().create_future()

        async def listener(value: int) -> None:
            order.append(f"async start {value}")
            await asyncio.sleep(0)  # yield once: the task really is a task
            order.append("async end")
            done.set_result(None)

        ee.on("x", listener)
        ee.on("x", lambda value: order.append("sync"))
        assert ee.emit("x", 7) is True
        order.append("after emit")
        await asyncio.wait_for(done, 5)
        return order

    assert asyncio.run(main()) == [
        "sync",
        "after emit",
        "async start 7",
        "async end",
    ]


def test_async_listener_exception_goes_to_the_loop_handler() -> None:
    async def main() -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        reports: list[dict[str, Any]] = []
        reported = loop.create_future()

        def handler(_: asyncio.AbstractEventLoop, ctx: dict[str, Any]) -> None:
            reports.append(ctx)
            if not reported.done():
                reported.set_result(None)

        loop.set_exception_handler(handler)
        ee = NodeEventEmitter()

        async def bad() -> None:
            raise KeyError("in listener")

        ee.on("x", bad)
        ee.emit("x")
        await asyncio.wait_for(reported, 5)
        return reports

    reports = asyncio.run(main())
    assert len(reports) == 1
    assert isinstance(reports[0]["exception"], KeyError)


# -- part 3: listener arity (Node's call convention) --------------------------


def test_listeners_get_as_many_leading_arguments_as_they_take() -> None:
    ee = NodeEventEmitter()
    got: list[tuple[Any, ...]] = []
    ee.on("e", lambda: got.append(()))
    ee.on("e", lambda a: got.append((a,)))
    ee.on("e", lambda a, b, c=None: got.append((a, b, c)))
    ee.on("e", lambda *args: got.append(args))
    assert ee.emit("e", 1, 2, 3, 4)
    assert got == [(), (1,), (1, 2, 3), (1, 2, 3, 4)]


@pytest.mark.parametrize(
    "add", ["on", "once", "prependListener", "prependOnceListener", "addListener"]
)
def test_every_way_of_adding_fits_the_listener(add: str) -> None:
    ee = NodeEventEmitter()
    got: list[str] = []

    def heartbeat() -> None:
        got.append("beat")

    getattr(ee, add)("pong", heartbeat)
    ee.emit("pong", b"data")
    assert got == ["beat"]
    # Removal by the original function still works.
    getattr(ee, add)("pong", heartbeat)
    ee.off("pong", heartbeat)
    assert ee.listenerCount("pong") == 0
    ee.emit("pong", b"data")
    assert got == ["beat"]


def test_decorator_forms_fit_the_listener() -> None:
    ee = NodeEventEmitter()
    got: list[Any] = []

    @ee.on("x")
    def first(a: Any) -> None:
        got.append(("on", a))

    @ee.once("x")
    def second() -> None:
        got.append("once")

    ee.emit("x", 1, 2)
    ee.emit("x", 3, 4)
    assert got == [("on", 1), "once", ("on", 3)]
    assert ee.listeners("x") == [first]  # the originals, as added


def test_once_wrapper_removes_itself_before_running() -> None:
    ee = NodeEventEmitter()
    counts: list[int] = []

    def listener() -> None:
        counts.append(ee.listenerCount("x"))
        ee.emit("x", "again")  # does not run the listener twice

    ee.once("x", listener)
    ee.emit("x", "first")
    assert counts == [0]
    raw = ee.rawListeners("x")
    assert raw == []


def test_listener_taking_every_argument_is_stored_as_is() -> None:
    class Hot(NodeEventEmitter):
        _event_args = {"message": 2}

    ee = Hot()

    def two(data: Any, is_binary: bool) -> None:
        pass

    def one(data: Any) -> None:
        pass

    ee.on("message", two)
    ee.on("message", one)
    ee.on("other", noop)
    assert ee._events["message"][two] is two  # no adapter on the hot path
    assert ee._events["message"][one] is not one
    assert ee._events["other"][noop] is noop  # *args: no adapter


def test_user_emit_with_extra_arguments_reaches_fixed_listeners() -> None:
    # ws's README: wss.emit('connection', ws, request, client) while other
    # listeners take (ws, request).
    ee = NodeEventEmitter()
    got: list[Any] = []
    ee.on("connection", lambda ws, req: got.append((ws, req)))
    ee.emit("connection", "ws", "req", "client")
    assert got == [("ws", "req")]


def test_async_listener_with_fewer_parameters_runs() -> None:
    async def main() -> list[str]:
        ee = NodeEventEmitter()
        got: list[str] = []
        done = asyncio.get_running_loop().create_future()

        async def listener() -> None:
            got.append("ran")
            done.set_result(None)

        ee.on("x", listener)
        ee.emit("x", 1, 2)
        await asyncio.wait_for(done, 5)
        return got

    assert asyncio.run(main()) == ["ran"]


def test_raw_listeners_show_originals_and_once_wrappers() -> None:
    ee = NodeEventEmitter()

    def fixed() -> None:
        pass

    def once_fixed(a: Any) -> None:
        pass

    ee.on("x", fixed)
    ee.once("x", once_fixed)
    first, second = ee.rawListeners("x")
    assert first is fixed  # the adapter is not shown
    assert second is not once_fixed and second.listener is once_fixed
