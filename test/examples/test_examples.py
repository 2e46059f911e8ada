"""Run each ported ws README example as a program, against real peers.

Every program runs in a subprocess on 127.0.0.1 and a free port; the peers
are pyws clients or servers in this process. Every wait is bounded by
``TIMEOUT`` (scaled by ``PYWS_TEST_TIMEOUT_FACTOR``).
"""

from __future__ import annotations

import array
import asyncio
import json
import os
import queue
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import pyws
from pyws import WebSocket, WebSocketServer

HERE = Path(__file__).parent
FACTOR = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1") or "1")
TIMEOUT = 10.0 * FACTOR


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Program:
    """A running example; a thread collects its output lines."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put("")  # the end of the output

    def expect(self, text: str) -> str:
        """Wait for an output line containing ``text`` (bounded)."""
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if not line:
                break
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in the output: {self.lines!r}")

    def wait(self) -> int:
        return self.proc.wait(TIMEOUT)


@contextmanager
def program(name: str, **env: str) -> Iterator[Program]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / name)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
    )
    prog = Program(proc)
    try:
        yield prog
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        prog.reader.join(TIMEOUT)  # it reads to the end of the output
        assert proc.stdout is not None
        proc.stdout.close()


async def connect(url: str, **options: Any) -> WebSocket:
    """Connect once the program listens (it says nothing: ws's don't)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        ws = WebSocket(url, **options)
        ws.on("error", lambda err: None)
        # a message may come in the same read as the handshake's response
        ws.received = queue = asyncio.Queue()
        ws.on(
            "message", lambda data, is_binary, q=queue: q.put_nowait((data, is_binary))
        )
        opened = asyncio.ensure_future(pyws.once(ws, "open"))
        closed = asyncio.ensure_future(pyws.once(ws, "close"))
        done, _ = await asyncio.wait(
            {opened, closed}, timeout=TIMEOUT, return_when="FIRST_COMPLETED"
        )
        if opened in done and opened.exception() is None:
            closed.cancel()
            return ws
        if opened.done():
            opened.exception()  # retrieved: a refused connection, retried
        opened.cancel()
        closed.cancel()
        if time.monotonic() > deadline:
            raise AssertionError(f"cannot connect to {url}")
        await asyncio.sleep(0.05)  # the program is still starting: retry


def arun(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


async def message(ws: WebSocket) -> tuple[bytes, bool]:
    data, is_binary = await asyncio.wait_for(ws.received.get(), TIMEOUT)
    return data, is_binary


def test_simple_server() -> None:
    port = free_port()
    with program("simple_server.py", PORT=str(port)) as prog:

        async def main() -> None:
            ws = await connect(f"ws://127.0.0.1:{port}/")
            ws.send("hello")
            assert await message(ws) == (b"something", False)
            ws.close()
            await asyncio.wait_for(pyws.once(ws, "close"), TIMEOUT)

        arun(main())
        prog.expect("received: hello")


def test_text_and_binary_clients() -> None:
    port = free_port()
    with program("echo_server.py", PORT=str(port)) as echo:
        echo.expect("listening")
        url = f"ws://127.0.0.1:{port}/"
        with program("text_client.py", URL=url) as prog:
            prog.expect("received: something")
            assert prog.wait() == 0
        with program("binary_client.py", URL=url) as prog:
            prog.expect("received: True [0.0, 0.5, 1.0, 1.5, 2.0]")
            assert prog.wait() == 0


def test_binary_data_is_float32_on_the_wire() -> None:
    async def main() -> None:
        wss = WebSocketServer(port=0, host="127.0.0.1")
        await pyws.once(wss, "listening")
        got: asyncio.Future[tuple[bytes, bool]] = (
            asyncio.get_running_loop().create_future()
        )
        wss.on(
            "connection",
            lambda ws: ws.on("message", lambda d, b: got.set_result((d, b))),
        )
        port = wss.address()["port"]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "binary_client.py"),
            env={**os.environ, "URL": f"ws://127.0.0.1:{port}/"},
            stdout=subprocess.DEVNULL,
        )
        try:
            data, is_binary = await asyncio.wait_for(got, TIMEOUT)
            assert is_binary and data == array.array("f", [0, 0.5, 1, 1.5, 2]).tobytes()
        finally:
            proc.kill()
            await proc.wait()
            wss.close()

    arun(main())


def test_round_trip_time() -> None:
    port = free_port()
    with program("echo_server.py", PORT=str(port)) as echo:
        echo.expect("listening")
        with program(
            "round_trip.py", URL=f"ws://127.0.0.1:{port}/", ROUNDS="2"
        ) as prog:
            prog.expect("connected")
            prog.expect("Round-trip time: ")
            prog.expect("Round-trip time: ")
            prog.expect("disconnected")
            assert prog.wait() == 0


def test_broadcast() -> None:
    for exclude in ("0", "1"):
        port = free_port()
        with program("broadcast_server.py", PORT=str(port), EXCLUDE_SELF=exclude):

            async def main(port: int = port, exclude: str = exclude) -> None:
                a = await connect(f"ws://127.0.0.1:{port}/")
                b = await connect(f"ws://127.0.0.1:{port}/")
                a.send(b"\x01\x02")
                assert await message(b) == (b"\x01\x02", True)
                if exclude == "1":
                    b.send("from b")  # a gets this one, not its own
                    assert await message(a) == (b"from b", False)
                else:
                    assert await message(a) == (b"\x01\x02", True)
                a.close()
                b.close()
                await asyncio.wait_for(pyws.once(b, "close"), TIMEOUT)

            arun(main())


def test_ip_address() -> None:
    for proxy in ("0", "1"):
        port = free_port()
        with program("ip_server.py", PORT=str(port), BEHIND_PROXY=proxy) as prog:

            async def main(port: int = port) -> bytes:
                ws = await connect(
                    f"ws://127.0.0.1:{port}/",
                    headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"},
                )
                data, _ = await message(ws)
                ws.close()
                return data

            got = arun(main()).decode()
            if proxy == "1":
                assert got == "203.0.113.7"
            else:  # as Node: the server listens on "::", so IPv4 is mapped
                assert got in ("::ffff:127.0.0.1", "127.0.0.1")
            prog.expect(f"ip {got}")


def test_heartbeat_server_terminates_a_silent_client() -> None:
    port = free_port()
    with program("heartbeat_server.py", PORT=str(port), INTERVAL="100") as prog:

        async def main() -> None:
            alive = await connect(f"ws://127.0.0.1:{port}/")
            silent = await connect(f"ws://127.0.0.1:{port}/", autoPong=False)
            code, _ = await asyncio.wait_for(pyws.once(silent, "close"), TIMEOUT)
            assert code == 1006
            assert alive.readyState == WebSocket.OPEN
            alive.close()
            await asyncio.wait_for(pyws.once(alive, "close"), TIMEOUT)

        arun(main())
        prog.expect("terminate")


def test_heartbeat_client_terminates_when_pings_stop() -> None:
    async def main() -> None:
        wss = WebSocketServer(port=0, host="127.0.0.1")
        await pyws.once(wss, "listening")
        port = wss.address()["port"]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "heartbeat_client.py"),
            env={**os.environ, "URL": f"ws://127.0.0.1:{port}/", "INTERVAL": "100"},
            stdout=subprocess.PIPE,
        )
        try:
            ws, _ = await asyncio.wait_for(pyws.once(wss, "connection"), TIMEOUT)
            for _ in range(3):  # pings keep it open past INTERVAL + 1000 ms
                ws.ping()
                await asyncio.wait_for(pyws.once(ws, "pong"), TIMEOUT)
                await asyncio.sleep(0.5)  # the interval between pings
            assert ws.readyState == WebSocket.OPEN
            started = time.monotonic()
            code, _ = await asyncio.wait_for(pyws.once(ws, "close"), TIMEOUT)
            assert code == 1006 and time.monotonic() - started < TIMEOUT
            assert proc.stdout is not None
            out = await asyncio.wait_for(proc.stdout.read(), TIMEOUT)
            assert b"closed 1006" in out
            assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            wss.close()

    arun(main())


def test_client_authentication() -> None:
    port = free_port()
    with program("client_auth.py", PORT=str(port)) as prog:
        prog.expect("listening")

        async def main() -> int:
            ws = await connect(f"ws://127.0.0.1:{port}/?token=secret")
            ws.send("hi")
            ws.close()
            await asyncio.wait_for(pyws.once(ws, "close"), TIMEOUT)
            bad = WebSocket(f"ws://127.0.0.1:{port}/?token=nope")
            bad.on("error", lambda err: None)
            _, res = await asyncio.wait_for(
                pyws.once(bad, "unexpected-response"), TIMEOUT
            )
            return int(res.statusCode)

        assert arun(main()) == 401
        prog.expect("Received message hi from user alice")


def test_multiple_servers() -> None:
    port = free_port()
    with program("multiple_servers.py", PORT=str(port)) as prog:
        prog.expect("listening")

        async def main() -> None:
            for path in ("foo", "bar"):
                ws = await connect(f"ws://127.0.0.1:{port}/{path}")
                assert await message(ws) == (
                    {"foo": b"wss1", "bar": b"wss2"}[path],
                    False,
                )
                ws.close()
            other = WebSocket(f"ws://127.0.0.1:{port}/baz")
            (err,) = await asyncio.wait_for(pyws.once(other, "error"), TIMEOUT)
            assert "socket hang up" in str(err)

        arun(main())


def test_streams_api() -> None:
    port = free_port()
    with program("echo_server.py", PORT=str(port)) as echo:
        echo.expect("listening")
        done = subprocess.run(
            [sys.executable, str(HERE / "streams.py")],
            input="hello\nwörld\n",
            capture_output=True,
            text=True,
            env={**os.environ, "URL": f"ws://127.0.0.1:{port}/"},
            timeout=TIMEOUT,
        )
        assert (done.returncode, done.stdout) == (0, "hello\nwörld\n")


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, str]:
    """A CA and a certificate for localhost and 127.0.0.1 (trustme)."""
    trustme = pytest.importorskip("trustme")
    pytest.importorskip("uvicorn", reason="uvicorn 0.55 needs Python 3.11+")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    paths = {
        "CA": tmp_path / "ca.pem",
        "CERT": tmp_path / "c.pem",
        "KEY": tmp_path / "k.pem",
    }
    ca.cert_pem.write_to_path(str(paths["CA"]))
    cert.cert_chain_pems[0].write_to_path(str(paths["CERT"]))
    cert.private_key_pem.write_to_path(str(paths["KEY"]))
    return {name: str(path) for name, path in paths.items()}


def test_external_https_server(certs: dict[str, str]) -> None:
    port = free_port()
    with program(
        "external_server.py", PORT=str(port), CERT=certs["CERT"], KEY=certs["KEY"]
    ) as prog:

        async def main() -> None:
            ws = await connect(f"wss://127.0.0.1:{port}/", ca=certs["CA"])
            assert await message(ws) == (b"something", False)
            ws.send("hello")
            # the app's own routes share the port
            ctx = ssl.create_default_context(cafile=certs["CA"])
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=ctx, server_hostname="127.0.0.1"
            )
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            response = await asyncio.wait_for(reader.read(), TIMEOUT)
            writer.close()
            assert response.startswith(b"HTTP/1.1 200")
            assert response.endswith(b'{"app":"also here"}')
            ws.close()
            await asyncio.wait_for(pyws.once(ws, "close"), TIMEOUT)

        arun(main())
        prog.expect("received: hello")


def test_ssl_server(certs: dict[str, str]) -> None:
    with program("ssl_server.py", CERT=certs["CERT"], KEY=certs["KEY"]) as prog:
        prog.expect("All glory to WebSockets!")


def test_server_stats() -> None:
    pytest.importorskip("uvicorn", reason="uvicorn 0.55 needs Python 3.11+")
    port = free_port()
    with program("server_stats.py", PORT=str(port)) as prog:
        prog.expect(f"Listening on http://localhost:{port}")

        async def main() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            page = await asyncio.wait_for(reader.read(), TIMEOUT)
            writer.close()
            assert page.startswith(b"HTTP/1.1 200") and b"new WebSocket" in page
            ws = await connect(f"ws://127.0.0.1:{port}/")
            first, is_binary = await message(ws)
            second, _ = await message(ws)
            assert not is_binary
            for data in (first, second):
                assert json.loads(data)["rss"] > 0
            ws.close()
            await asyncio.wait_for(pyws.once(ws, "close"), TIMEOUT)

        arun(main())
        prog.expect("started client interval")
        prog.expect("stopping client interval")


async def http(port: int, method: str, path: str, cookie: str = "") -> bytes:
    """One HTTP/1.1 request to 127.0.0.1; the whole response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        f"Connection: close\r\n{extra}\r\n".encode()
    )
    response = await asyncio.wait_for(reader.read(), TIMEOUT)
    writer.close()
    await writer.wait_closed()
    return response


def test_express_session_parse() -> None:
    pytest.importorskip("uvicorn", reason="uvicorn 0.55 needs Python 3.11+")
    port = free_port()
    with program("express_session_parse.py", PORT=str(port)) as prog:
        prog.expect(f"Listening on http://localhost:{port}")

        async def main() -> None:
            anonymous = WebSocket(f"ws://127.0.0.1:{port}/")
            anonymous.on("error", lambda err: None)
            _, res = await asyncio.wait_for(
                pyws.once(anonymous, "unexpected-response"), TIMEOUT
            )
            assert res.statusCode == 401
            head, _, body = (await http(port, "POST", "/login")).partition(b"\r\n\r\n")
            assert json.loads(body) == {"result": "OK", "message": "Session updated"}
            (cookie,) = [
                line.split(":", 1)[1].split(";")[0].strip()
                for line in head.decode().split("\r\n")
                if line.lower().startswith("set-cookie:")
            ]
            ws = await connect(f"ws://127.0.0.1:{port}/", headers={"Cookie": cookie})
            closed = asyncio.ensure_future(pyws.once(ws, "close"))
            ws.send("hello")
            prog.expect("Received message hello from user ")
            body = (await http(port, "DELETE", "/logout", cookie)).partition(
                b"\r\n\r\n"
            )[2]
            assert json.loads(body)["message"] == "Session destroyed"
            code, _ = await asyncio.wait_for(closed, TIMEOUT)
            assert code == 1005  # ws.close() with no code
            again = WebSocket(f"ws://127.0.0.1:{port}/", headers={"Cookie": cookie})
            again.on("error", lambda err: None)
            _, res = await asyncio.wait_for(
                pyws.once(again, "unexpected-response"), TIMEOUT
            )
            assert res.statusCode == 401  # the session is gone

        arun(main())
        prog.expect("Destroying session")


def test_proxy_client() -> None:
    pytest.importorskip("pproxy", reason="pproxy is in the test extra")
    port, proxy_port = free_port(), free_port()
    argv = ["pproxy", "-v", "-l", f"http+socks5://127.0.0.1:{proxy_port}/"]
    # pproxy on asyncio's own loop (uvloop 0.21+ refuses its get_event_loop())
    launcher = (
        "import runpy, sys; sys.modules['uvloop'] = None; "
        f"sys.argv = {argv!r}; runpy.run_module('pproxy', run_name='__main__')"
    )
    proxy_proc = subprocess.Popen(
        [sys.executable, "-u", "-c", launcher],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    proxy = Program(proxy_proc)
    try:
        proxy.expect("Serving on")
        with program("echo_server.py", PORT=str(port)) as echo:
            echo.expect("listening")
            for scheme in ("http", "socks5"):
                with program(
                    "proxy_client.py",
                    URL=f"ws://127.0.0.1:{port}/",
                    PROXY=f"{scheme}://127.0.0.1:{proxy_port}",
                ) as prog:
                    prog.expect("received: through the proxy")
                    assert prog.wait() == 0
                assert f"127.0.0.1:{port}" in proxy.expect(" -> ")
    finally:
        proxy_proc.terminate()
        proxy_proc.wait(TIMEOUT)
        proxy.reader.join(TIMEOUT)
        assert proxy_proc.stdout is not None
        proxy_proc.stdout.close()


def test_simple_server_with_verify_client() -> None:
    port = free_port()
    with program("verify_client_server.py", PORT=str(port)) as prog:

        async def main() -> None:
            ws = await connect(
                f"ws://127.0.0.1:{port}/",
                headers={"Authorization": "Bearer secret"},
                origin="http://example.test",
            )
            assert await message(ws) == (b"something", False)
            ws.send("hello")
            ws.close()
            await asyncio.wait_for(pyws.once(ws, "close"), TIMEOUT)
            refused = WebSocket(f"ws://127.0.0.1:{port}/")
            refused.on("error", lambda err: None)
            _, res = await asyncio.wait_for(
                pyws.once(refused, "unexpected-response"), TIMEOUT
            )
            assert (res.statusCode, res.headers["www-authenticate"]) == (401, "Bearer")

        arun(main())
        prog.expect("origin: http://example.test secure: False")
        prog.expect("received: hello")


NODE_WS = HERE.parent / "interop" / "node_modules" / "ws"

# ws's "Sending and receiving text data" client, in Node, against a port.
NODE_TEXT_CLIENT = """
const WebSocket = require(process.argv[1]);
const ws = new WebSocket(process.argv[2]);
ws.on('error', console.error);
ws.on('open', function open() { ws.send('from node'); });
ws.on('message', function message(data, isBinary) {
  console.log('received: %s %s', data, isBinary);
  ws.close();
});
"""


@pytest.mark.interop
def test_node_ws_client_against_ported_servers() -> None:
    if shutil.which("node") is None or not NODE_WS.is_dir():
        pytest.skip("needs node and npm ci --prefix test/interop")
    for name in ("simple_server.py", "broadcast_server.py"):
        port = free_port()
        with program(name, PORT=str(port)) as prog:
            deadline = time.monotonic() + TIMEOUT
            while True:  # the program says nothing when it listens: retry
                done = subprocess.run(
                    [
                        "node",
                        "-e",
                        NODE_TEXT_CLIENT,
                        str(NODE_WS),
                        f"ws://127.0.0.1:{port}/",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT,
                )
                if "ECONNREFUSED" not in done.stderr or time.monotonic() > deadline:
                    break
            want = "something" if name == "simple_server.py" else "from node"
            assert (done.returncode, done.stdout) == (0, f"received: {want} false\n")
            if name == "simple_server.py":
                prog.expect("received: from node")
