"""``pyws.once``: Node's ``events.once`` on an emitter, with a timeout."""

from __future__ import annotations

import asyncio

import pytest
from pyee import EventEmitter

import pyws


def test_resolves_with_the_arguments_and_leaves_no_listener() -> None:
    async def main() -> None:
        ee = EventEmitter()
        waiting = asyncio.ensure_future(pyws.once(ee, "data", timeout=5))
        await asyncio.sleep(0)
        assert len(ee.listeners("data")) == 1
        assert len(ee.listeners("error")) == 1
        ee.emit("data", 1, "two")
        ee.emit("data", 3)  # a second emission changes nothing
        assert await waiting == [1, "two"]
        assert ee.listeners("data") == [] and ee.listeners("error") == []

    asyncio.run(main())


def test_error_first_rejects() -> None:
    async def main() -> None:
        ee = EventEmitter()
        waiting = asyncio.ensure_future(pyws.once(ee, "data"))
        await asyncio.sleep(0)
        ee.emit("error", ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            await waiting
        assert ee.listeners("data") == [] and ee.listeners("error") == []

    asyncio.run(main())


def test_timeout_raises_and_cleans_up() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ee = EventEmitter()
        started = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await pyws.once(ee, "data", timeout=0.05)
        assert loop.time() - started >= 0.05
        assert ee.listeners("data") == [] and ee.listeners("error") == []
        # no timer left armed for the loop to run
        assert not [h for h in loop._scheduled if not h.cancelled()]  # noqa: SLF001

    asyncio.run(main())


def test_zero_timeout_raises_at_once() -> None:
    async def main() -> None:
        ee = EventEmitter()
        with pytest.raises(asyncio.TimeoutError):
            await pyws.once(ee, "data", timeout=0)
        assert ee.listeners("data") == []

    asyncio.run(main())


def test_an_event_before_the_timeout_cancels_its_timer() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ee = EventEmitter()
        waiting = asyncio.ensure_future(pyws.once(ee, "data", timeout=60))
        await asyncio.sleep(0)
        armed = [h for h in loop._scheduled if not h.cancelled()]  # noqa: SLF001
        assert len(armed) == 1 and armed[0].when() - loop.time() > 50
        ee.emit("data")
        assert await waiting == []
        assert armed[0].cancelled()

    asyncio.run(main())


def test_cancelling_the_waiter_cleans_up() -> None:
    async def main() -> None:
        ee = EventEmitter()
        waiting = asyncio.ensure_future(pyws.once(ee, "data", timeout=60))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert ee.listeners("data") == [] and ee.listeners("error") == []

    asyncio.run(main())
