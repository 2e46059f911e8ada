"""Operations against real Node ws 8.23: heartbeat and graceful shutdown.

- Heartbeat, both directions: Node ws answers pyws's pings (its autoPong),
  so the connection stays up and pyws measures the round trip; Node ws that
  does not answer (``autoPong: false``, or its socket paused so it reads
  nothing) is terminated by pyws: 1006 on both sides, no close frame.
- Shutdown: Node ws clients of a pyws server that calls ``shutdown()`` get
  every message queued before it, in order, then 1001; the server gets every
  message they sent before their close frame; pyws closes TCP first.

Needs ``node`` and ``npm ci --prefix test/interop``; see conftest.py.
"""

from __future__ import annotations

import asyncio

import pytest

import pyws

from .node_peer import NodePeer, digest, pattern, run_async
from .pyside import DIRECTIONS, Recorder, pair

both = pytest.mark.parametrize("direction", DIRECTIONS)

HEARTBEAT = {"pingInterval": 150, "pingTimeout": 150}


@both
def test_node_answers_pings_and_stays_connected(direction: str) -> None:
    async def main() -> None:
        async with pair(direction, py_options=HEARTBEAT) as p:
            for _ in range(3):
                ev = await p.node.expect("ping", 5)
                assert len(ev["data_b64"]) > 0  # a 4-byte payload
            # Three answered pings, and the verdict on the third.
            await p.node.expect("ping", 5)
            assert p.ws.readyState == pyws.OPEN
            assert p.ws.latency is not None and p.ws.latency >= 0
            assert p.node.seen("close") == []

    run_async(main)


@both
def test_node_without_auto_pong_is_terminated(direction: str) -> None:
    async def main() -> None:
        async with pair(
            direction, py_options=HEARTBEAT, node_options={"autoPong": False}
        ) as p:
            await p.node.expect("ping", 5)
            assert await p.rec.expect("close", 5) == (1006, b"")
            ev = await p.node.expect("close", 5)
            assert ev["code"] == 1006  # no close frame was sent
            assert p.node.seen("error") == []

    run_async(main)


@both
def test_node_with_paused_socket_is_terminated(direction: str) -> None:
    async def main() -> None:
        async with pair(direction, py_options=HEARTBEAT) as p:
            p.node.command("pause")  # ws.pause(): its socket reads nothing
            assert await p.rec.expect("close", 5) == (1006, b"")
            assert p.ws.was_clean is False

    run_async(main)


def test_shutdown_with_node_clients() -> None:
    async def main() -> None:
        async with pair("py-server") as p:
            server = p.server
            assert server is not None
            port = server.address()["port"]
            # Two more Node clients.
            others: list[NodePeer] = []
            connections = Recorder(server, ("connection",))
            try:
                for _ in range(2):
                    node = await NodePeer.start(
                        "client", {"url": f"ws://127.0.0.1:{port}/"}
                    )
                    others.append(node)
                    await node.expect("open", 20)
                    await connections.expect("connection", 20)
                nodes = [p.node, *others]
                sockets = list(server.clients)
                assert len(sockets) == 3
                received: list[bytes] = []
                for ws in sockets:
                    ws.on("message", lambda data, is_binary: received.append(data))
                # Node sends before it sees our close frame: all delivered.
                for i, node in enumerate(nodes):
                    node.send(f"from node {i}".encode())
                payloads = [pattern(n, seed) for seed, n in enumerate((10, 1 << 20, 0))]
                for ws in sockets:
                    for data in payloads:
                        ws.send(data)
                done = server.shutdown()
                for node in nodes:
                    for data in payloads:
                        ev = await node.expect("message", 10)
                        assert (ev["len"], ev["sha256"]) == (len(data), digest(data))
                    ev = await node.expect("close", 10)
                    assert ev["code"] == 1001
                    # pyws (the server) closed TCP first: ws saw our FIN.
                    await node.expect("socket_end", 10)
                await asyncio.wait_for(done, 10)
                assert sorted(received) == sorted(
                    f"from node {i}".encode() for i in range(3)
                )
                assert server.address() is None
            finally:
                for node in others:
                    await node.stop()

    run_async(main)
