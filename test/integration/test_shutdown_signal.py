"""SIGTERM / SIGINT to a real ``pyws.run()`` process while clients stream.

The server (a subprocess, the script below) echoes every message and counts,
per client, the messages it received and the echoes ``send()`` accepted
(callback without error); it prints the counts when ``pyws.run()`` returns.
Clients in the test process stream numbered messages as fast as the
backpressure lets them. After the signal, every client must see 1001 and
every echo the server accepted, in order; the server must have received
every message a client sent before it answered the close frame. Nothing
lost. Also: a second signal forces the exit, and SIGTERM ends a ``main``
that would run forever (its timers cleared, ``run()`` returning ``None``).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

import pytest
from conftest import HOST, TIMEOUT, next_event, within
from helpers.rawpeer import RawPeer

from pyws import NotOpenError, WebSocket

SERVER = r"""
import json, sys
import pyws

wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
stats = {}

def on_connection(ws, req):
    st = stats[req.url] = {"received": 0, "accepted": 0, "refused": 0}

    def sent(err):
        st["accepted" if err is None else "refused"] += 1

    def on_message(data, is_binary):
        st["received"] += 1
        ws.send(data, {"binary": is_binary}, sent)

    ws.on("message", on_message)

wss.on("connection", on_connection)
wss.on("listening", lambda: print(wss.address()["port"], flush=True))
try:
    pyws.run()  # returns after SIGTERM, raises SystemExit(130) after SIGINT
finally:
    print(json.dumps(stats), flush=True)
"""


#: Messages a client may have sent but not seen echoed (bounds the backlog
#: the server must still read after the signal, on a slow machine too).
WINDOW = 400

#: Echoes each client waits for before the signal.
ENOUGH = 2000


class Streamer:
    """A pyws client that sends numbered text messages while OPEN, at most
    :data:`WINDOW` ahead of the echoes."""

    def __init__(self, url: str) -> None:
        self.ws = WebSocket(url)
        self.sent = 0
        self.echoes = 0
        self.in_order = True
        self.enough = asyncio.get_running_loop().create_future()
        self.closed = next_event(self.ws, "close")
        self.ws.on("message", self._on_message)
        self.ws.on("close", lambda *_: self._wake())
        self.task: asyncio.Task[None] | None = None
        self._room: asyncio.Future[None] | None = None

    def _wake(self) -> None:
        if self._room is not None and not self._room.done():
            self._room.set_result(None)

    def _on_message(self, data: bytes, is_binary: bool) -> None:
        if int(data) != self.echoes:
            self.in_order = False
        self.echoes += 1
        if self.echoes >= ENOUGH and not self.enough.done():
            self.enough.set_result(None)
        if self.sent - self.echoes <= WINDOW // 2:
            self._wake()

    async def stream(self) -> None:
        ws = self.ws
        await ws.wait_open(TIMEOUT)
        try:
            while ws.readyState == WebSocket.OPEN:
                for _ in range(20):
                    if ws.readyState != WebSocket.OPEN:
                        return
                    accepted = ws.send(str(self.sent))
                    self.sent += 1
                    if not accepted:
                        await ws.drain(TIMEOUT)
                if self.sent - self.echoes > WINDOW:
                    # Resolved by the echoes (or 'close'): an event, bounded.
                    self._room = asyncio.get_running_loop().create_future()
                    await asyncio.wait_for(self._room, TIMEOUT)
                else:
                    # Let the loop read between bursts.
                    await asyncio.sleep(0)
        except NotOpenError:
            return


async def start_server() -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVER,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await within(proc.stdout.readline(), "the server's port")
    if not line:
        err = await proc.stderr.read() if proc.stderr else b""
        pytest.fail(f"server did not start: {err.decode(errors='replace')}")
    return proc, int(line)


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
    # Read the pipes to their end: the subprocess transport closes only then
    # (Python 3.10 otherwise leaves it open, and its __del__ warns).
    await within(proc.communicate(), "the child's exit")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_clients_stream_loses_nothing(arun: Any, sig: int) -> None:
    async def main() -> None:
        proc, port = await start_server()
        try:
            clients = [Streamer(f"ws://{HOST}:{port}/c{i}") for i in range(3)]
            for c in clients:
                c.task = asyncio.ensure_future(c.stream())
            for c in clients:
                await within(c.enough, f"{ENOUGH} echoes")
            proc.send_signal(sig)
            for c in clients:
                code, _reason = await within(c.closed, "the client's 'close'")
                assert code == 1001
                assert c.task is not None
                await within(c.task, "the streaming task")
            assert proc.stdout is not None
            out = await within(proc.stdout.read(), "the server's report")
            status = await within(proc.wait(), "the server's exit")
            # Node's exit status after Ctrl-C; a SIGTERM stop is a clean exit.
            assert status == (130 if sig == signal.SIGINT else 0)
            stats = json.loads(out)
            for i, c in enumerate(clients):
                st = stats[f"/c{i}"]
                # The server saw every message sent before the close frame.
                assert st["received"] == c.sent
                # Every echo the server accepted reached the client, in order.
                assert c.echoes == st["accepted"]
                assert c.in_order
                assert st["accepted"] + st["refused"] == st["received"]
                assert c.ws.was_clean
        finally:
            await stop_process(proc)

    arun(main(), timeout=4 * TIMEOUT)


def test_second_signal_forces(arun: Any) -> None:
    async def main() -> None:
        proc, port = await start_server()
        try:
            # A raw client that never answers the close frame: the first
            # signal would wait closeTimeout (30 s) for it.
            peer = await RawPeer.connect(HOST, port)
            proc.send_signal(signal.SIGTERM)
            frame = await peer.wait_frame(0x8, timeout=5)
            assert frame.close_code == 1001
            assert proc.returncode is None
            proc.send_signal(signal.SIGTERM)
            await peer.wait_eof(timeout=5)
            status = await within(proc.wait(), "the server's exit")
            assert status == 0
            peer.close()
        finally:
            await stop_process(proc)

    arun(main(), timeout=4 * TIMEOUT)


MAIN_FOREVER = r"""
import asyncio
import pyws

async def main():
    wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
    await pyws.once(wss, "listening")
    wss.on("close", lambda: print("server closed", flush=True))
    pyws.setInterval(lambda: None, 1000)  # cleared by the graceful stop
    print(wss.address()["port"], flush=True)
    await asyncio.get_running_loop().create_future()  # forever
    return "unreachable"

print("run returned", pyws.run(main), flush=True)
"""


def test_sigterm_ends_a_main_that_runs_forever(arun: Any) -> None:
    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            MAIN_FOREVER,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None and proc.stderr is not None
            port = int(await within(proc.stdout.readline(), "the port"))
            ws = WebSocket(f"ws://{HOST}:{port}/")
            await ws.wait_open(TIMEOUT)
            closed = next_event(ws, "close")
            proc.send_signal(signal.SIGTERM)
            assert (await within(closed, "'close'"))[0] == 1001
            out = await within(proc.stdout.read(), "the script's output")
            err = await within(proc.stderr.read(), "the script's errors")
            assert await within(proc.wait(), "the exit") == 0
            assert out.decode().splitlines() == ["server closed", "run returned None"]
            assert err == b""
        finally:
            await stop_process(proc)

    arun(main(), timeout=4 * TIMEOUT)
