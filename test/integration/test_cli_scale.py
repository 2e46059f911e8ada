"""``python -m pyws listen`` past one process: ``--broadcast``,
``--workers N`` and ``--redis URL``, run as real processes.

Two ``listen`` processes on two ports with one real ``redis-server`` must
behave as one chat room; so must the workers of one ``listen --workers``.
Clients are in-process pyws clients on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
from typing import Any

import pytest
from test_cli import (
    Cli,
    event,
    open_client,
    run,
    start_listen,
    stop_listen,
    within,
)


def needs_redis() -> Any:
    pytest.importorskip("redis", reason="redis-py is not installed")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    from test_redis import RedisServer, free_port

    return RedisServer(free_port())


async def received(ws: Any, n: int) -> list[str]:
    """The next ``n`` messages ``ws`` receives, as text."""
    got: list[str] = []
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_message(data: Any, is_binary: bool) -> None:
        got.append(bytes(data).decode())
        if len(got) == n and not done.done():
            done.set_result(None)

    ws.on("message", on_message)
    try:
        await within(done, f"{n} messages (got {got})")
    finally:
        ws.remove_listener("message", on_message)
    return got


async def count_stderr(cli: Cli, pattern: str, n: int) -> list[re.Match[str]]:
    """Read stderr until ``n`` lines so far (read before too) match."""
    regex = re.compile(pattern)
    while True:
        found = [m for m in map(regex.search, cli.stderr_lines) if m]
        if len(found) >= n:
            return found
        await cli.expect_stderr(regex)


async def room(urls: list[str], per_url: int) -> list[Any]:
    return [await open_client(url) for url in urls for _ in range(per_url)]


def test_broadcast_relays_to_everyone() -> None:
    async def main() -> None:
        cli, port, _ = await start_listen("--broadcast")
        clients = await room([f"ws://127.0.0.1:{port}/"], 3)
        waits = [asyncio.ensure_future(received(c, 2)) for c in clients]
        clients[0].send("hello room")
        clients[2].send("second")
        for w in waits:
            assert sorted(await w) == ["hello room", "second"]
        assert await stop_listen(cli) == 0

    run(main())


def test_workers_broadcast_needs_redis() -> None:
    async def main() -> None:
        cli = await Cli.start("listen", "0", "--workers", "2", "--broadcast")
        assert await cli.finish() == 2
        assert "--broadcast with --workers needs --redis URL" in cli.stderr

    run(main())


def test_two_listen_processes_one_redis_are_one_room() -> None:
    redis = needs_redis()

    async def main() -> None:
        await redis.start()
        try:
            one, port1, _ = await start_listen("--redis", redis.url, "--channel", "r")
            two, port2, _ = await start_listen("--redis", redis.url, "--channel", "r")
            await one.expect_stderr("redis: subscribed to 'r'")
            await two.expect_stderr("redis: subscribed to 'r'")
            clients = await room(
                [f"ws://127.0.0.1:{port1}/", f"ws://127.0.0.1:{port2}/"], 2
            )
            waits = [asyncio.ensure_future(received(c, 2)) for c in clients]
            clients[0].send("from one")
            clients[3].send("from two")
            for w in waits:
                assert sorted(await w) == ["from one", "from two"]
            assert await stop_listen(one) == 0
            assert await stop_listen(two) == 0
        finally:
            await redis.stop()

    run(main())


def test_workers_with_redis_are_one_room_and_stop_on_sigterm() -> None:
    redis = needs_redis()

    async def main() -> None:
        await redis.start()
        try:
            cli, port, _ = await start_listen(
                "--workers", "2", "--redis", redis.url, "--channel", "w"
            )
            await cli.expect_stderr(r"\(2 workers\) \(pids \d+, \d+\)")
            await count_stderr(cli, r"worker \d: redis: subscribed to 'w'", 2)
            clients = await room([f"ws://127.0.0.1:{port}/"], 12)
            # Which worker took each client: from the workers' own logs.
            found = await count_stderr(cli, r"worker (\d): \[\d+\] connected", 12)
            assert {m.group(1) for m in found} == {"1", "2"}
            waits = [asyncio.ensure_future(received(c, 1)) for c in clients]
            clients[5].send("everyone")
            for w in waits:
                assert await w == ["everyone"]

            closes = [event(c, "close") for c in clients]
            cli.proc.send_signal(signal.SIGTERM)
            for c in closes:
                code, _ = await within(c, "close")
                assert code == 1001
            assert await cli.finish() == 0  # bounded by TIMEOUT
            assert "server closed" in cli.stderr
        finally:
            await redis.stop()

    run(main())
