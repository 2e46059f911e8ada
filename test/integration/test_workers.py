"""Several processes on one port: ``reusePort``, ``socket``/``fd``,
systemd-style socket activation and the ``pyws.workers`` supervisor.

The supervisor tests run ``apps/worker_app.py`` in real processes (spawned
workers, real signals) and talk to them over 127.0.0.1; every wait is
bounded and nothing sleeps to wait.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import HOST, TIMEOUT, next_event, within

import pyws
import pyws.workers
from pyws import WebSocketServer

APP = Path(__file__).parent / "apps" / "worker_app.py"
#: Spawned workers import pyws: allow for a slow machine.
START = 4 * TIMEOUT


async def listening(wss: WebSocketServer) -> int:
    await within(next_event(wss, "listening"), "'listening'")
    address = wss.address()
    assert address is not None
    return int(address["port"])


async def close(wss: WebSocketServer) -> None:
    closed = next_event(wss, "close")
    for ws in list(wss.clients or ()):
        ws.terminate()
    wss.close()
    await within(closed, "'close'")


async def greeting(port: int) -> str:
    """Connect, return the first message (the worker's ``pid N``), close."""
    ws = pyws.WebSocket(f"ws://{HOST}:{port}/")
    first = next_event(ws, "message")
    await ws.wait_open(TIMEOUT)
    data, _ = await within(first, "the greeting")
    ws.close()
    await ws.wait_closed(TIMEOUT)
    return bytes(data).decode()


# -- server options ------------------------------------------------------------


def test_reuse_port_lets_two_servers_share_a_port(arun: Any) -> None:
    async def main() -> None:
        first = WebSocketServer(port=0, host=HOST, reusePort=True)
        port = await listening(first)
        second = WebSocketServer(port=port, host=HOST, reuse_port=True)
        assert await listening(second) == port
        plain = WebSocketServer(port=port, host=HOST)
        (err,) = await within(next_event(plain, "error"), "EADDRINUSE")
        assert isinstance(err, OSError)
        for server in (first, second):
            server.on("connection", lambda ws, req, s=server: ws.send(str(id(s))))
        seen = {await greeting(port) for _ in range(24)}
        assert seen == {str(id(first)), str(id(second))}
        await close(first)
        await close(second)

    arun(main())


def test_listen_options_are_checked() -> None:
    with pytest.raises(TypeError, match='"reusePort" option needs the "port"'):
        WebSocketServer(noServer=True, reusePort=True)
    with pytest.raises(TypeError, match='"socket" or "fd" options'):
        WebSocketServer(port=0, fd=3)
    with pytest.raises(TypeError, match="option 'socket' must be a socket.socket"):
        WebSocketServer(socket=3)
    with pytest.raises(ValueError, match="option 'fd' must be >= 0"):
        WebSocketServer(fd=-1)


def test_backlog_reaches_listen(arun: Any) -> None:
    """``ss`` shows a listening socket's backlog as its Send-Q."""
    try:
        subprocess.run(["ss", "-V"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("ss (iproute2) is not installed")

    async def main() -> None:
        wss = WebSocketServer(port=0, host=HOST, backlog=7)
        port = await listening(wss)
        out = subprocess.run(
            ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True
        ).stdout.split()
        assert out[0] == "LISTEN" and out[2] == "7", out
        await close(wss)

    arun(main())


@pytest.mark.parametrize("how", ["socket", "fd", "bound-only"])
def test_given_listening_socket(arun: Any, how: str) -> None:
    async def main() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((HOST, 0))
        if how != "bound-only":
            sock.listen(5)
        port = sock.getsockname()[1]
        if how == "fd":
            wss = WebSocketServer(fd=sock.fileno())
        else:
            wss = WebSocketServer(socket=sock)
        assert await listening(wss) == port
        wss.on("connection", lambda ws, req: ws.send("hi"))
        assert await greeting(port) == "hi"
        await close(wss)
        assert sock.fileno() == -1 or how == "fd"  # the server closed it
        if how == "fd":
            with pytest.raises(OSError):
                os.fstat(sock.detach())

    arun(main())


def test_given_socket_must_be_a_stream() -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(TypeError, match="must be SOCK_STREAM"):
            WebSocketServer(fd=udp.fileno())
        os.fstat(udp.fileno())  # still open: not ours to close
    finally:
        udp.close()


def test_listen_fds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTEN_PID", str(os.getpid()))
    monkeypatch.setenv("LISTEN_FDS", "2")
    assert pyws.workers.listen_fds(unset_environment=False) == [3, 4]
    assert pyws.workers.listen_fds() == [3, 4]
    assert "LISTEN_FDS" not in os.environ  # unset, as sd_listen_fds(1) does
    monkeypatch.setenv("LISTEN_PID", str(os.getpid() + 1))
    monkeypatch.setenv("LISTEN_FDS", "1")
    assert pyws.workers.listen_fds() == []  # meant for another process


def test_socket_activation_in_a_real_process(arun: Any) -> None:
    """As systemd does it: the socket at fd 3, LISTEN_PID is the server's
    own pid (bash ``exec`` keeps it), LISTEN_FDS=1."""

    async def main() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((HOST, 0))
        sock.listen(16)
        port = sock.getsockname()[1]
        fd = sock.fileno()
        script = f'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$0" "$1" activation 3<&{fd}'
        proc = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            script,
            sys.executable,
            str(APP),
            pass_fds=(fd,),
            stdout=asyncio.subprocess.PIPE,
        )
        sock.close()
        try:
            assert proc.stdout is not None
            line = await within(proc.stdout.readline(), "ready", START)
            assert line.decode().split() == ["ready", "[3]", "None"]
            assert (await greeting(port)).startswith(f"pid {proc.pid}")
        finally:
            proc.kill()
            # communicate() reads the pipe to its end: the transport closes
            # only then (Python 3.10 otherwise leaves it for __del__).
            await within(proc.communicate(), "the exit", START)

    arun(main(), timeout=2 * START)


# -- the supervisor --------------------------------------------------------------


class App:
    """``worker_app.py`` in a subprocess, its stderr read line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    @classmethod
    async def start(cls, *args: str) -> App:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(APP), *args, stderr=asyncio.subprocess.PIPE
        )
        return cls(proc)

    async def expect(self, pattern: str, timeout: float = START) -> re.Match[str]:
        regex = re.compile(pattern)

        async def scan() -> re.Match[str]:
            assert self.proc.stderr is not None
            while True:
                raw = await self.proc.stderr.readline()
                if not raw:
                    raise AssertionError(f"no {pattern!r} in {self.lines!r}")
                line = raw.decode().rstrip("\n")
                self.lines.append(line)
                found = regex.search(line)
                if found:
                    return found

        return await within(scan(), repr(pattern), timeout)

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        # communicate() waits and reads stderr to its end: the transport
        # closes only then (Python 3.10 otherwise leaves it for __del__).
        await within(self.proc.communicate(), "the supervisor's exit", START)
        assert self.proc.returncode is not None
        return self.proc.returncode

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await within(self.proc.communicate(), "the supervisor's exit", START)


def test_workers_share_the_port_restart_and_stop(arun: Any) -> None:
    async def main() -> None:
        app = await App.start("run", "2")
        try:
            found = await app.expect(
                r"2 workers listening on 127\.0\.0\.1:(\d+) \(pids (\d+), (\d+)\)"
            )
            port = int(found.group(1))
            pids = {found.group(2), found.group(3)}
            seen = {(await greeting(port)).split()[1] for _ in range(24)}
            assert seen == pids  # the kernel spread the connections

            # A worker that dies is replaced after the first backoff step.
            victim = found.group(2)
            os.kill(int(victim), signal.SIGKILL)
            await app.expect(
                rf"worker 1 \(pid {victim}\) exited with signal 9; "
                r"restarting in 0\.1 s"
            )
            new = (await app.expect(r"worker 1 restarted \(pid (\d+)\)")).group(1)
            assert new not in pids
            await app.expect(rf"worker 1 \(pid {new}\) listening")
            seen = set()
            for _ in range(40):
                seen.add((await greeting(port)).split()[1])
                if new in seen:
                    break
            assert new in seen and victim not in seen

            # SIGTERM: every client is closed with 1001, then all exit.
            client = pyws.WebSocket(f"ws://{HOST}:{port}/")
            await client.wait_open(TIMEOUT)
            closed = asyncio.ensure_future(client.wait_closed(START))
            assert await app.stop() == 0
            code, reason = await within(closed, "the client's close")
            assert (code, reason) == (1001, b"server shutting down")
            with pytest.raises(OSError):
                socket.create_connection((HOST, port), timeout=TIMEOUT).close()
        finally:
            await app.kill()

    arun(main(), timeout=6 * START)


def test_restart_backoff_doubles(arun: Any) -> None:
    async def main() -> None:
        app = await App.start("crash")
        try:
            delays = []
            for _ in range(3):
                found = await app.expect(
                    r"worker 1 \(pid \d+\) exited with status 3; "
                    r"restarting in ([\d.]+) s"
                )
                delays.append(float(found.group(1)))
            assert delays == [0.1, 0.2, 0.4]
            assert await app.stop() == 0
        finally:
            await app.kill()

    arun(main(), timeout=6 * START)
