"""The ``proxy`` option through a real proxy server on 127.0.0.1.

The proxy is pproxy (PyPI, in the test extra), started by the tests as a
process with two listeners on port 0: one open (HTTP CONNECT, SOCKS4,
SOCKS5) and one that wants a user name and password (HTTP CONNECT and
SOCKS5). With ``-v`` pproxy prints one line per tunnel, ``<protocol>
<client> -> <target>``: the tests read those lines to see that the
connection really went through the proxy, with the protocol and the target
they expect (a name for ``socks5h``, where the proxy resolves it).
"""

from __future__ import annotations

import asyncio
import queue
import re
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.rawpeer import scaled

import pyws

pytest.importorskip("pproxy", reason="pproxy is in the test extra")

HOST = "127.0.0.1"
TIMEOUT = scaled(5)
USER, PASSWORD = "user", "s3cret"


#: Runs pproxy's command line without uvloop: pproxy installs uvloop when
#: it can import it (the test extra brings it, for uvicorn), and pproxy 2.7
#: then fails on recent uvloop releases (no current event loop).
LAUNCHER = (
    "import runpy, sys; sys.modules['uvloop'] = None; "
    "sys.argv = ['pproxy', *sys.argv[1:]]; "
    "runpy.run_module('pproxy', run_name='__main__')"
)


class ProxyProcess:
    """pproxy as a child process; its verbose lines in a queue."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable, "-u", "-c", LAUNCHER, "-v", "--auth", "0",
                "-l", f"http+socks4+socks5://{HOST}:0/",
                "-l", f"http+socks5://{HOST}:0/#{USER}:{PASSWORD}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.printed: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        try:
            ports = []
            while len(ports) < 2:
                line = self.next_line(TIMEOUT)
                match = re.search(r"Serving on .*?:(\d+) by", line)
                if match:
                    ports.append(int(match.group(1)))
            self.open_port, self.auth_port = ports
        except BaseException:
            self.stop()
            raise

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # pproxy's output ended: it exited

    def next_line(self, timeout: float) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"pproxy printed nothing for {timeout}s: {self.printed}")
        if line is None:
            pytest.fail(f"pproxy exited: {self.printed}")
        self.printed.append(line)
        return line

    async def tunnel(self) -> str:
        """The next tunnel line (skipping others), bounded."""
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, self.next_line, TIMEOUT)
            if " -> " in line:
                return line

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def proxy() -> Iterator[ProxyProcess]:
    p = ProxyProcess()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ws_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


async def echo_once(ws: pyws.WebSocket) -> None:
    await ws.wait_open(TIMEOUT)
    ws.send("through")
    data, is_binary = await pyws.once(ws, "message", TIMEOUT)
    assert (data, is_binary) == (b"through", False)
    ws.close(1000)
    assert (await ws.wait_closed(TIMEOUT))[0] == 1000


@pytest.mark.parametrize(
    ("scheme", "host", "logged_as", "target"),
    [
        ("http", HOST, "http", HOST),
        ("socks4", HOST, "socks4", HOST),
        ("socks5", HOST, "socks5", HOST),
        # The client resolves 'localhost' itself for socks5 ...
        ("socks5", "localhost", "socks5", HOST),
        # ... and lets the proxy resolve it for socks5h and HTTP CONNECT.
        ("socks5h", "localhost", "socks5", "localhost"),
        ("http", "localhost", "http", "localhost"),
    ],
)
def test_through_the_proxy(
    arun: Any,
    echo_server: Any,
    proxy: ProxyProcess,
    scheme: str,
    host: str,
    logged_as: str,
    target: str,
) -> None:
    async def main() -> None:
        async with echo_server() as (wss, url):
            port = wss.address()["port"]
            ws = pyws.WebSocket(
                f"ws://{host}:{port}/", proxy=f"{scheme}://{HOST}:{proxy.open_port}"
            )
            await echo_once(ws)
            line = await proxy.tunnel()
            assert line.startswith(f"{logged_as} ")
            assert line.endswith(f" -> {target}:{port}")

    arun(main())


@pytest.mark.parametrize("scheme", ["http", "socks5"])
def test_credentials_in_the_url(
    arun: Any, echo_server: Any, proxy: ProxyProcess, scheme: str
) -> None:
    async def main() -> None:
        async with echo_server() as (wss, url):
            port = wss.address()["port"]
            good = f"{scheme}://{USER}:{PASSWORD}@{HOST}:{proxy.auth_port}"
            await echo_once(pyws.WebSocket(url, proxy=good))
            assert (await proxy.tunnel()).endswith(f" -> {HOST}:{port}")
            bad = f"{scheme}://{USER}:wrong@{HOST}:{proxy.auth_port}"
            ws = pyws.WebSocket(url, proxy=bad)
            errors: list[BaseException] = []
            ws.on("error", errors.append)
            code, _ = await ws.wait_closed(TIMEOUT)
            assert code == 1006
            assert len(errors) == 1 and ws.readyState == ws.CLOSED
            (err,) = errors
            assert isinstance(err, pyws.WebSocketError)
            assert str(err).startswith(
                f"Proxy {scheme}://{HOST}:{proxy.auth_port} refused: "
            )
            assert "wrong" not in str(err)  # no credentials in the message

    arun(main())


def test_unreachable_proxy(arun: Any, echo_server: Any) -> None:
    async def main() -> None:
        async with echo_server() as (wss, url):
            # A port nothing listens on: the server's, once closed.
            probe = await asyncio.get_running_loop().create_server(
                asyncio.Protocol, HOST, 0
            )
            dead = probe.sockets[0].getsockname()[1]
            probe.close()
            await probe.wait_closed()
            ws = pyws.WebSocket(url, proxy=f"http://{HOST}:{dead}")
            errors: list[BaseException] = []
            ws.on("error", errors.append)
            assert (await ws.wait_closed(TIMEOUT))[0] == 1006
            assert isinstance(errors[0], OSError)
            assert getattr(errors[0], "code", None) == "ECONNREFUSED"
            assert f"{HOST}:{dead}" in str(errors[0])

    arun(main())


def test_wss_through_an_http_proxy(
    arun: Any, proxy: ProxyProcess, tmp_path: Any
) -> None:
    """TLS runs inside the tunnel, with the target's name checked."""
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(crt), "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip

    async def main() -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        wss = pyws.WebSocketServer(port=0, host=HOST, ssl=ctx)
        await pyws.once(wss, "listening", TIMEOUT)
        wss.on("connection", lambda ws, req: ws.on("message", ws.send))
        port = wss.address()["port"]  # type: ignore[index]
        ws = pyws.WebSocket(
            f"wss://localhost:{port}/",
            ca=crt.read_text(),
            proxy=f"http://{HOST}:{proxy.open_port}",
        )
        await ws.wait_open(TIMEOUT)
        ws.send(b"secret")
        assert (await pyws.once(ws, "message", TIMEOUT))[0] == b"secret"
        ws.close()
        await ws.wait_closed(TIMEOUT)
        assert (await proxy.tunnel()).endswith(f" -> localhost:{port}")
        closed = asyncio.get_running_loop().create_future()
        wss.close(lambda *a: closed.set_result(None))
        await asyncio.wait_for(closed, TIMEOUT)

    arun(main())


def test_environment(
    arun: Any, echo_server: Any, proxy: ProxyProcess, clean_env: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY / ALL_PROXY are used by default; NO_PROXY and
    proxy=False go direct. A direct connection leaves no tunnel line: the
    next line is the one of the connection after it."""

    async def main() -> None:
        async with echo_server() as (wss, url):
            port = wss.address()["port"]
            clean_env.setenv("HTTP_PROXY", f"http://{HOST}:{proxy.open_port}")
            await echo_once(pyws.WebSocket(url))
            assert (await proxy.tunnel()).startswith("http ")
            await echo_once(pyws.WebSocket(url, proxy=False))  # direct
            clean_env.setenv("NO_PROXY", HOST)
            await echo_once(pyws.WebSocket(url))  # direct
            clean_env.delenv("NO_PROXY")
            clean_env.delenv("HTTP_PROXY")
            clean_env.setenv("ALL_PROXY", f"socks5://{HOST}:{proxy.open_port}")
            await echo_once(pyws.WebSocket(f"ws://localhost:{port}/"))
            # The next tunnel is this one: the two direct ones left none.
            line = await proxy.tunnel()
            assert line.startswith("socks5 ") and line.endswith(f" -> {HOST}:{port}")

    arun(main())


def test_agent_points_to_proxy() -> None:
    with pytest.raises(TypeError, match="proxy="):
        pyws.WebSocket("ws://127.0.0.1:1/", agent=object())
