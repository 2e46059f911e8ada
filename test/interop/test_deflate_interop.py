"""permessage-deflate between pyws and real Node ws 8.x, both directions.

A small Node script (below, run with ``node -e``) starts a ws echo server or
an echo client with the given ``perMessageDeflate`` options and reports, as
JSON lines on stdout, its port, the negotiated parameters, each message and
the close code. pyws plays the other side over 127.0.0.1, port 0. Every wait
is bounded by ``TIMEOUT``; the Node process is always killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pyws.websocket import WebSocket
from pyws.websocket_server import WebSocketServer

WS_DIR = Path(__file__).resolve().parent / "node_modules" / "ws"
FACTOR = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1") or "1")
TIMEOUT = 15.0 * FACTOR
HOST = "127.0.0.1"
T = TypeVar("T")


def _skip_reason() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed: `node` is not on PATH"
    if not (WS_DIR / "package.json").is_file():
        return "Node ws is missing: run `npm ci --prefix test/interop`"
    return None


pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason())),
]

NODE_SCRIPT = r"""
'use strict';
const WebSocket = require(process.argv[1]);
const [mode, target, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson);
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
function attach(ws) {
  const pmd = ws._extensions['permessage-deflate'];
  say({ event: 'open', params: pmd ? pmd.params : null });
  ws.on('message', (data, isBinary) => {
    say({ event: 'message', size: data.length, binary: isBinary });
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', (err) => say({ event: 'error', message: err.message,
                                code: err.code || null }));
  ws.on('close', (code) => { say({ event: 'close', code }); });
}
if (mode === 'server') {
  const wss = new WebSocket.Server({ port: 0, host: '127.0.0.1', ...options });
  wss.on('listening', () => say({ event: 'listening',
                                  port: wss.address().port }));
  wss.on('headers', (lines) => say({ event: 'headers', lines }));
  wss.on('connection', attach);
} else {
  const ws = new WebSocket(target, options);
  ws.on('upgrade', (res) => say({ event: 'headers',
    lines: [res.headers['sec-websocket-extensions'] || null] }));
  ws.on('open', () => attach(ws));
  ws.on('error', (err) => say({ event: 'error', message: err.message }));
}
"""


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def within(aw: Awaitable[T], what: str = "event") -> T:
    try:
        return await asyncio.wait_for(aw, TIMEOUT)
    except asyncio.TimeoutError:
        pytest.fail(f"timed out after {TIMEOUT}s waiting for {what}")


class NodeSide:
    """A running Node ws process and its JSON-lines output."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def next(self, event: str) -> dict[str, Any]:
        """The next line whose ``event`` is ``event`` (others are skipped)."""
        assert self.proc.stdout is not None
        while True:
            line = await within(self.proc.stdout.readline(), f"node {event!r}")
            if not line:
                pytest.fail(f"node exited before {event!r}")
            record: dict[str, Any] = json.loads(line)
            if record["event"] == event:
                return record


@asynccontextmanager
async def node(
    mode: str, target: str, options: dict[str, Any]
) -> AsyncIterator[NodeSide]:
    proc = await asyncio.create_subprocess_exec(
        "node",
        "-e",
        NODE_SCRIPT,
        str(WS_DIR),
        mode,
        target,
        json.dumps(options),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield NodeSide(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
        await within(proc.wait(), "node to exit")


def payloads() -> list[Any]:
    unit = b"".join(b"%05d ws and pyws " % i for i in range(300))
    big = (unit * 200)[: 1024 * 1024]
    rnd = os.urandom(4000)
    return [b"", "x", unit[:1023], unit[:1024].decode(), rnd, big[:70000], big] * 2


async def echo_through(ws: WebSocket, items: list[Any]) -> None:
    """Send ``items`` on ``ws`` and check the echoes, in order."""
    got: list[tuple[Any, bool]] = []
    done = asyncio.get_running_loop().create_future()

    def on_message(data: Any, is_binary: bool) -> None:
        got.append((data, is_binary))
        if len(got) == len(items) and not done.done():
            done.set_result(None)

    ws.on("message", on_message)
    for item in items:
        ws.send(item)
    await within(done, f"{len(items)} echoes")
    ws.remove_listener("message", on_message)
    assert [d for d, _ in got] == [
        i.encode() if isinstance(i, str) else i for i in items
    ]
    assert [b for _, b in got] == [not isinstance(i, str) for i in items]


OPTION_PAIRS = [
    pytest.param(True, True, id="defaults"),
    pytest.param(
        {"serverNoContextTakeover": True, "clientNoContextTakeover": True},
        {"serverNoContextTakeover": True, "clientNoContextTakeover": True},
        id="no_context_takeover",
    ),
    pytest.param(
        {"serverMaxWindowBits": 8, "clientMaxWindowBits": 8},
        {"clientMaxWindowBits": 8, "serverMaxWindowBits": 8},
        id="window_8",
    ),
    pytest.param(
        {"serverMaxWindowBits": 10, "threshold": 0},
        {"clientMaxWindowBits": 12, "clientNoContextTakeover": True},
        id="mixed",
    ),
    pytest.param(True, False, id="client_off"),
]


@pytest.mark.parametrize(("server_options", "client_options"), OPTION_PAIRS)
def test_pyws_client_node_server(server_options: Any, client_options: Any) -> None:
    async def main() -> None:
        opts = {"perMessageDeflate": server_options}
        async with node("server", "", opts) as peer:
            port = (await peer.next("listening"))["port"]
            ws = WebSocket(
                f"ws://{HOST}:{port}/", {"perMessageDeflate": client_options}
            )
            await within(ws.wait_open(), "'open'")
            node_params = (await peer.next("open"))["params"]
            if client_options is False:
                assert node_params is None and ws.extensions == ""
            else:
                assert node_params is not None
                assert ws.extensions == "permessage-deflate"
            await echo_through(ws, payloads())
            ws.close(4000, "done")
            assert (await peer.next("close"))["code"] == 4000
            assert (await within(ws.wait_closed()))[0] == 4000

    run(main())


@pytest.mark.parametrize(("server_options", "client_options"), OPTION_PAIRS)
def test_node_client_pyws_server(server_options: Any, client_options: Any) -> None:
    async def main() -> None:
        wss = WebSocketServer(port=0, host=HOST, perMessageDeflate=server_options)
        listening = asyncio.get_running_loop().create_future()
        wss.once("listening", lambda: listening.set_result(None))
        await within(listening, "'listening'")
        conns: asyncio.Queue[WebSocket] = asyncio.Queue()
        wss.on("connection", lambda ws, req: conns.put_nowait(ws))
        port = wss.address()["port"]  # type: ignore[index]
        try:
            opts = {"perMessageDeflate": client_options}
            async with node("client", f"ws://{HOST}:{port}/", opts) as peer:
                ws = await within(conns.get(), "'connection'")
                node_params = (await peer.next("open"))["params"]
                if client_options is False:
                    assert node_params is None and ws.extensions == ""
                else:
                    assert node_params is not None
                    assert ws.extensions == "permessage-deflate"
                # The Node client echoes what the pyws server sends.
                await echo_through(ws, payloads())
                ws.close(4001, "bye")
                assert (await peer.next("close"))["code"] == 4001
                assert (await within(ws.wait_closed()))[0] == 4001
        finally:
            closed = asyncio.get_running_loop().create_future()
            wss.close(lambda *a: closed.set_result(None))
            await within(closed, "server close")

    run(main())


def test_same_response_header_as_ws() -> None:
    # The same client offers reach a pyws and a ws server with the same
    # options: both must answer with the same Sec-WebSocket-Extensions.
    server_options = {"serverMaxWindowBits": 11, "clientNoContextTakeover": True}
    client_options = {"clientMaxWindowBits": 13, "serverNoContextTakeover": True}

    async def main() -> None:
        async with node("server", "", {"perMessageDeflate": server_options}) as peer:
            port = (await peer.next("listening"))["port"]
            ws = WebSocket(
                f"ws://{HOST}:{port}/", {"perMessageDeflate": client_options}
            )
            await within(ws.wait_open(), "'open'")
            node_lines = (await peer.next("headers"))["lines"]
            ws.terminate()
        wss = WebSocketServer(port=0, host=HOST, perMessageDeflate=server_options)
        listening = asyncio.get_running_loop().create_future()
        wss.once("listening", lambda: listening.set_result(None))
        await within(listening, "'listening'")
        headers = asyncio.get_running_loop().create_future()
        wss.once("headers", lambda lines, req: headers.set_result(lines))
        ws = WebSocket(
            f"ws://{HOST}:{wss.address()['port']}/",  # type: ignore[index]
            {"perMessageDeflate": client_options},
        )
        await within(ws.wait_open(), "'open'")
        pyws_lines = await within(headers)
        ws.terminate()
        closed = asyncio.get_running_loop().create_future()
        wss.close(lambda *a: closed.set_result(None))
        await within(closed, "server close")
        want = [
            line for line in node_lines if line.startswith("Sec-WebSocket-Extensions")
        ]
        got = [
            line for line in pyws_lines if line.startswith("Sec-WebSocket-Extensions")
        ]
        assert want == got
        assert want == [
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
            "client_max_window_bits=13; client_no_context_takeover; "
            "server_max_window_bits=11"
        ]

    run(main())


def test_node_client_inflated_size_refused_with_1009() -> None:
    async def main() -> None:
        wss = WebSocketServer(
            port=0, host=HOST, perMessageDeflate=True, maxPayload=10000
        )
        listening = asyncio.get_running_loop().create_future()
        wss.once("listening", lambda: listening.set_result(None))
        await within(listening, "'listening'")
        conns: asyncio.Queue[WebSocket] = asyncio.Queue()
        wss.on("connection", lambda ws, req: conns.put_nowait(ws))
        port = wss.address()["port"]  # type: ignore[index]
        try:
            async with node("client", f"ws://{HOST}:{port}/", {}) as peer:
                ws = await within(conns.get(), "'connection'")
                errors: asyncio.Queue[BaseException] = asyncio.Queue()
                ws.on("error", errors.put_nowait)
                await peer.next("open")
                # Ask the Node client to echo a 1 MB message of zeros: a few
                # KB compressed, far past maxPayload inflated.
                ws.send(bytes(10000))  # at the limit: echoed back fine
                echoed = asyncio.get_running_loop().create_future()
                ws.once("message", lambda d, b: echoed.set_result(d))
                assert await within(echoed) == bytes(10000)
                assert (await peer.next("message"))["size"] == 10000
                ws.send(bytes(1_000_000))
                err = await within(errors.get(), "'error'")
                assert getattr(err, "code", None) == "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
                assert (await peer.next("close"))["code"] == 1009
        finally:
            closed = asyncio.get_running_loop().create_future()
            wss.close(lambda *a: closed.set_result(None))
            await within(closed, "server close")

    run(main())
