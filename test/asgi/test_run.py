"""``pyws.run()`` with a uvicorn server, and uvicorn's ``--ws`` option.

Each test starts a real Python process (the README's way of running the
example: a script that ends in ``pyws.run()``), reads the port it prints on
``'listening'``, talks to it, then sends SIGINT and expects the process to
finish its shutdown and exit as a pyws program does on Ctrl+C (status 130,
no traceback).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

from helpers.rawpeer import scaled

import pyws

T = 15.0

APP = """
    import uvicorn
    from fastapi import FastAPI

    import pyws
    from pyws import WebSocketServer

    app = FastAPI()


    @app.get("/")
    def index():
        return {"hello": "world"}


    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0))
    wss = WebSocketServer({"server": server})


    @wss.on("connection")
    def connection(ws, req):
        ws.on("error", print)
        ws.on("message", lambda data, is_binary: ws.send(data, {"binary": is_binary}))
        ws.send("something")


    wss.on("listening", lambda: print("port", wss.address()["port"], flush=True))
"""


async def start(script: str, tmp_path: Path, *args: str) -> asyncio.subprocess.Process:
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(script))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *(args or (str(path),)),
        cwd=str(tmp_path),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_port(proc: asyncio.subprocess.Process, pattern: str) -> int:
    """The port the process reports (on stdout, or stderr for uvicorn)."""
    stream = proc.stdout if pattern.startswith("^port") else proc.stderr
    assert stream is not None
    seen = []
    while True:
        line = await asyncio.wait_for(stream.readline(), scaled(T))
        if not line:
            _, err = await asyncio.wait_for(proc.communicate(), scaled(T))
            raise AssertionError(f"no port in {seen!r}; stderr: {err.decode()}")
        seen.append(line)
        match = re.search(pattern, line.decode())
        if match:
            return int(match.group(1))


async def echo_once(port: int, path: str = "/") -> list[Any]:
    ws = pyws.WebSocket(f"ws://127.0.0.1:{port}{path}")
    got: asyncio.Queue[Any] = asyncio.Queue()
    ws.on("message", lambda data, _: got.put_nowait(bytes(data)))
    await ws.wait_open(scaled(T))
    first = await asyncio.wait_for(got.get(), scaled(T))
    ws.send("hello")
    second = await asyncio.wait_for(got.get(), scaled(T))
    ws.close(1000)
    closed = await ws.wait_closed(scaled(T))
    return [first, second, closed]


async def interrupt(proc: asyncio.subprocess.Process) -> tuple[int, bytes]:
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    _, err = await asyncio.wait_for(proc.communicate(), scaled(T))
    assert proc.returncode is not None
    return proc.returncode, err


def run(coro: Any) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro, scaled(60))

    asyncio.run(main())


def readme_example() -> str:
    """The README's port of ws's ``server`` example, on port 0, printing
    its port once listening."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("**ws's `server` option.**", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert "port=8080" in code and code.rstrip().endswith("pyws.run()")
    code = code.replace("port=8080", 'host="127.0.0.1", port=0')
    listening = 'wss.on("listening", lambda: print("port", wss.address()["port"]))\n'
    return code.replace("pyws.run()", listening + "pyws.run()")


def test_readme_example_runs_with_pyws_run(tmp_path: Path) -> None:
    async def main() -> None:
        proc = await start(readme_example(), tmp_path, "-u", "app.py")
        try:
            port = await read_port(proc, r"^port (\d+)")
            ws = pyws.WebSocket(f"ws://127.0.0.1:{port}/")
            first = await pyws.once(ws, "message", scaled(T))
            assert first == [b"something", False]
            ws.send("hello")
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), scaled(T))
            assert line == b"received: hello\n"
            ws.close(1000)
            assert await ws.wait_closed(scaled(T)) == (1000, b"")
            code, err = await interrupt(proc)
            # uvicorn shut down on Ctrl+C, then pyws.run() ended as it does
            # on Ctrl+C: status 130, as a shell reports a Node process.
            assert code == 130, err.decode()
            assert b"Traceback" not in err
            assert b"Finished server process" in err
            assert err.count(b"Uvicorn running on") == 1
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(main())


def test_pyws_run_of_server_serve_starts_it_once(tmp_path: Path) -> None:
    async def main() -> None:
        script = APP + "\n    pyws.run(server.serve())\n"
        proc = await start(script, tmp_path)
        try:
            port = await read_port(proc, r"^port (\d+)")
            assert await echo_once(port) == [b"something", b"hello", (1000, b"")]
            code, err = await interrupt(proc)
            # One server (a second would fail to bind or log its start), and
            # Ctrl+C ends pyws.run() with status 130, as above.
            assert code == 130, err.decode()
            assert b"Traceback" not in err
            assert err.count(b"Uvicorn running on") == 1
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(main())


def test_uvicorns_own_server_run_works_too(tmp_path: Path) -> None:
    """``server.run()`` makes a loop of its own: the WebSocketServer follows."""

    async def main() -> None:
        proc = await start(APP + "\n    server.run()\n", tmp_path)
        try:
            port = await read_port(proc, r"^port (\d+)")
            assert await echo_once(port) == [b"something", b"hello", (1000, b"")]
            # server.run() then ends as uvicorn makes it end on Ctrl+C (its
            # asyncio.Runner raises KeyboardInterrupt after the shutdown).
            _, err = await interrupt(proc)
            assert b"Finished server process" in err
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(main())


def test_uvicorn_command_line_takes_the_class(tmp_path: Path) -> None:
    script = """
        async def app(scope, receive, send):
            assert scope["type"] == "websocket"
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": "something"})
            message = await receive()
            await send({"type": "websocket.send", "bytes": message["text"].encode()})
            await receive()
    """

    async def main() -> None:
        proc = await start(
            script,
            tmp_path,
            "-m",
            "uvicorn",
            "app:app",
            "--ws",
            "pyws.asgi:WebSocketProtocol",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--lifespan",
            "off",
        )
        try:
            port = await read_port(proc, r"running on http://127\.0\.0\.1:(\d+)")
            got = await echo_once(port)
            assert got == [b"something", b"hello", (1000, b"")]
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), scaled(T))
            assert proc.returncode == 0, err.decode()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(main())
