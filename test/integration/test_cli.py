"""``python -m pyws`` (pyws/cli.py, pyws/__main__.py), run as a subprocess.

``listen`` is driven by an in-process pyws client, ``connect`` talks to an
in-process pyws server; both over 127.0.0.1 with port 0. Every wait is
bounded by ``TIMEOUT`` (scaled by ``PYWS_TEST_TIMEOUT_FACTOR``); a subprocess
that outlives its bound is killed and the test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from helpers.rawpeer import RawPeer, RawServer

import pyws
from pyws.cli import LineSplitter, build_parser, format_message

REPO = Path(__file__).resolve().parents[2]
FACTOR = float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1"))
#: Bound on any single wait, in seconds.
TIMEOUT = 10.0 * FACTOR
#: closeTimeout handed to the CLI and to test peers, in milliseconds.
CLOSE_TIMEOUT_MS = 2000

POSIX = os.name == "posix"
T = TypeVar("T")

LISTENING_RE = re.compile(r"listening on ws://127\.0\.0\.1:(\d+)(/\S*)")


#: CLI processes started by the running test; killed when it ends.
_LIVE: list[Cli] = []


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one test coroutine on a fresh loop; no CLI process outlives it,
    even when the test fails halfway."""

    async def guarded() -> T:
        try:
            return await coro
        finally:
            while _LIVE:
                await _LIVE.pop().kill()

    return asyncio.run(guarded())


async def within(aw: Awaitable[T], what: str) -> T:
    """Await ``aw`` for at most TIMEOUT, failing with ``what`` otherwise."""
    try:
        return await asyncio.wait_for(aw, TIMEOUT)
    except asyncio.TimeoutError:
        pytest.fail(f"timed out after {TIMEOUT}s waiting for {what}")


def resolver(fut: asyncio.Future[Any]) -> Callable[..., None]:
    """A listener resolving ``fut`` with its arguments (a tuple), once."""

    def listener(*args: Any) -> None:
        if not fut.done():
            fut.set_result(args)

    return listener


def event(emitter: Any, name: str) -> asyncio.Future[tuple[Any, ...]]:
    """A future resolved with the arguments of ``emitter``'s next ``name``."""
    fut: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def listener(*args: Any) -> None:
        if not fut.done():
            fut.set_result(args)

    emitter.once(name, listener)
    return fut


class Cli:
    """A ``python -m pyws`` subprocess with line-wise access to its output."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []

    @classmethod
    async def start(cls, *args: str, stdin: Any = asyncio.subprocess.PIPE) -> Cli:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), env.get("PYTHONPATH", "")) if p
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pyws",
            *args,
            stdin=stdin,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=str(REPO),
        )
        cli = cls(proc)
        _LIVE.append(cli)
        return cli

    async def _readline(self, stream: asyncio.StreamReader, into: list[str]) -> str:
        raw = await stream.readline()
        if not raw:
            raise EOFError
        line = raw.decode("utf-8", "replace").rstrip("\n")
        into.append(line)
        return line

    async def expect_stderr(self, pattern: str | re.Pattern[str]) -> re.Match[str]:
        """Read stderr lines until one matches ``pattern``."""
        return await self._expect(self.proc.stderr, self.stderr_lines, pattern)

    async def expect_stdout(self, pattern: str | re.Pattern[str]) -> re.Match[str]:
        """Read stdout lines until one matches ``pattern``."""
        return await self._expect(self.proc.stdout, self.stdout_lines, pattern)

    async def _expect(
        self,
        stream: asyncio.StreamReader | None,
        into: list[str],
        pattern: str | re.Pattern[str],
    ) -> re.Match[str]:
        assert stream is not None
        regex = re.compile(pattern)

        async def scan() -> re.Match[str]:
            while True:
                try:
                    line = await self._readline(stream, into)
                except EOFError:
                    pytest.fail(
                        f"output ended before {regex.pattern!r}; "
                        f"stdout={self.stdout_lines} stderr={self.stderr_lines}"
                    )
                match = regex.search(line)
                if match:
                    return match

        try:
            return await asyncio.wait_for(scan(), TIMEOUT)
        except asyncio.TimeoutError:
            await self.kill()
            pytest.fail(
                f"no line matching {regex.pattern!r} within {TIMEOUT}s; "
                f"stdout={self.stdout_lines} stderr={self.stderr_lines}"
            )

    async def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        await within(self.proc.stdin.drain(), "stdin drain")

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    async def finish(self) -> int:
        """Wait for exit, collecting the rest of both streams; the status."""

        async def drain(stream: asyncio.StreamReader | None, into: list[str]) -> None:
            assert stream is not None
            while True:
                try:
                    await self._readline(stream, into)
                except EOFError:
                    return

        try:
            await asyncio.wait_for(
                asyncio.gather(
                    drain(self.proc.stdout, self.stdout_lines),
                    drain(self.proc.stderr, self.stderr_lines),
                    self.proc.wait(),
                ),
                TIMEOUT,
            )
        except asyncio.TimeoutError:
            await self.kill()
            pytest.fail(
                f"the CLI did not exit within {TIMEOUT}s; "
                f"stdout={self.stdout_lines} stderr={self.stderr_lines}"
            )
        assert self.proc.returncode is not None
        return self.proc.returncode

    async def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # exited, not reaped
                self.proc.kill()
            await asyncio.wait_for(self.proc.wait(), TIMEOUT)

    @property
    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)


async def start_listen(*extra: str) -> tuple[Cli, int, str]:
    """``listen 0 ...``: the process, its bound port and the logged path."""
    cli = await Cli.start(
        "listen", "0", "--close-timeout", str(CLOSE_TIMEOUT_MS), *extra
    )
    match = await cli.expect_stderr(LISTENING_RE)
    return cli, int(match.group(1)), match.group(2)


async def stop_listen(cli: Cli) -> int:
    """SIGINT (Ctrl-C) the listen process; its exit status."""
    if POSIX:
        cli.proc.send_signal(signal.SIGINT)
    else:  # pragma: no cover - no clean Ctrl-C for a child on Windows
        cli.proc.terminate()
    return await cli.finish()


async def open_client(url: str, *args: Any) -> Any:
    ws = pyws.WebSocket(url, *args)
    opened = event(ws, "open")
    failed = event(ws, "error")
    done, _ = await within(
        asyncio.wait({opened, failed}, return_when=asyncio.FIRST_COMPLETED),
        f"open of {url}",
    )
    if failed in done:
        pytest.fail(f"client error: {failed.result()[0]!r}")
    return ws


async def start_server(
    on_connection: Callable[[Any, Any], None] | None = None, **options: Any
) -> tuple[Any, int]:
    """An in-process pyws server on 127.0.0.1 port 0 (echo by default)."""

    def echo(ws: Any, req: Any) -> None:
        ws.on("message", lambda data, is_binary: ws.send(data, {"binary": is_binary}))

    options.setdefault("closeTimeout", CLOSE_TIMEOUT_MS)
    wss = pyws.WebSocketServer({"port": 0, "host": "127.0.0.1", **options})
    wss.on("connection", on_connection or echo)
    await within(pyws.once(wss, "listening"), "server listening")
    address = wss.address()
    assert address is not None
    return wss, int(address["port"])


async def close_server(wss: Any) -> None:
    for ws in list(getattr(wss, "clients", ())):
        ws.terminate()
    closed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    wss.close(resolver(closed))
    await within(closed, "server close")


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------
# Pure helpers (no process, no loop)


class TestHelpers:
    def test_line_splitter_keeps_partial_lines_until_complete(self) -> None:
        splitter = LineSplitter()
        assert splitter.feed(b"ab") == []
        assert splitter.feed(b"c\r\nde\n\nf") == [b"abc", b"de", b""]
        assert splitter.flush() == b"f"
        assert splitter.flush() is None

    def test_format_message(self) -> None:
        assert format_message(b"h\xc3\xa9", False) == "hé"
        assert format_message(b"\x00\xff", True) == "<binary 2 bytes>"
        assert format_message(b"\x00\xff", True, hex_binary=True) == "00ff"
        assert format_message([b"\x01", b"\x02"], True, True) == "0102"

    def test_header_option_parsing(self) -> None:
        parser = build_parser()
        args = parser.parse_args(["connect", "ws://h/", "-H", "X-A: 1: 2", "-H", "B:c"])
        assert args.header == [("X-A", "1: 2"), ("B", "c")]
        with pytest.raises(SystemExit):
            parser.parse_args(["connect", "ws://h/", "-H", "no colon"])
        with pytest.raises(SystemExit):
            parser.parse_args(["listen", "70000"])


# --------------------------------------------------------------------------
# --help and --version


class TestUsage:
    @pytest.mark.parametrize(
        ("args", "needle"),
        [
            ((), "listen"),
            (("listen",), "PORT"),
            (("connect",), "URL"),
        ],
    )
    def test_help(self, args: tuple[str, ...], needle: str) -> None:
        async def main() -> None:
            cli = await Cli.start(*args, "--help")
            assert await cli.finish() == 0
            text = "\n".join(cli.stdout_lines)
            assert text.startswith("usage: python -m pyws")
            assert needle in text

        run(main())

    def test_version(self) -> None:
        async def main() -> None:
            cli = await Cli.start("--version")
            assert await cli.finish() == 0
            assert re.fullmatch(r"pyws \S+ \(Python 3\.\d+\.\d+\)", cli.stdout_lines[0])

        run(main())

    def test_missing_command_is_a_usage_error(self) -> None:
        async def main() -> None:
            cli = await Cli.start()
            assert await cli.finish() == 2
            assert "usage:" in cli.stderr

        run(main())


# --------------------------------------------------------------------------
# listen


class TestListen:
    def test_echo_and_logs(self) -> None:
        async def main() -> None:
            cli, port, path = await start_listen()
            assert path == "/"
            ws = await open_client(f"ws://127.0.0.1:{port}/x?y=1")
            await cli.expect_stderr(r"\[1\] connected from 127\.0\.0\.1.*path /x\?y=1")

            got = event(ws, "message")
            ws.send("héllo")
            data, is_binary = await within(got, "text echo")
            assert (bytes(data), is_binary) == ("héllo".encode(), False)
            await cli.expect_stdout(r"^\[1\] héllo$")

            got = event(ws, "message")
            ws.send(b"\x00\x01\x02")
            data, is_binary = await within(got, "binary echo")
            assert (bytes(data), is_binary) == (b"\x00\x01\x02", True)
            await cli.expect_stdout(r"^\[1\] <binary 3 bytes>$")

            closed = event(ws, "close")
            ws.close(1000, "bye")
            code, reason = await within(closed, "client close")
            assert (code, bytes(reason)) == (1000, b"bye")
            await cli.expect_stderr(r"\[1\] closed: 1000 bye$")

            assert await stop_listen(cli) == 0
            assert "shutting down" in cli.stderr
            assert "server closed" in cli.stderr

        run(main())

    def test_timestamps_on_log_lines(self) -> None:
        async def main() -> None:
            cli, _, _ = await start_listen()
            line = cli.stderr_lines[-1]
            assert re.match(r"\d\d:\d\d:\d\d\.\d{3} listening on ", line), line
            assert await stop_listen(cli) == 0

        run(main())

    def test_hex_option_and_connection_numbers(self) -> None:
        async def main() -> None:
            cli, port, _ = await start_listen("--hex")
            first = await open_client(f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr(r"\[1\] connected")
            second = await open_client(f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr(r"\[2\] connected")
            got = event(second, "message")
            second.send(b"\xab\xcd")
            await within(got, "echo")
            await cli.expect_stdout(r"^\[2\] abcd$")
            for ws in (first, second):
                ws.close()
            await cli.expect_stderr(r"closed: 1005")
            await cli.expect_stderr(r"closed: 1005")
            assert await stop_listen(cli) == 0

        run(main())

    @pytest.mark.skipif(not POSIX, reason="SIGINT to a child needs POSIX")
    def test_ctrl_c_closes_open_connections_with_1001(self) -> None:
        async def main() -> None:
            cli, port, _ = await start_listen()
            ws = await open_client(f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr(r"\[1\] connected")
            closed = event(ws, "close")
            cli.proc.send_signal(signal.SIGINT)
            code, reason = await within(closed, "close from the server")
            assert (code, bytes(reason)) == (1001, b"server shutting down")
            assert await cli.finish() == 0
            assert "[1] closed: 1001 server shutting down" in cli.stderr
            assert "server closed" in cli.stderr

        run(main())

    def test_protocol_selection(self) -> None:
        async def main() -> None:
            cli, port, _ = await start_listen("--protocol", "chat", "--protocol", "b")
            ws = await open_client(f"ws://127.0.0.1:{port}/", ["x", "chat"])
            assert ws.protocol == "chat"
            await cli.expect_stderr(r"\[1\] connected .*protocol: chat")
            ws.close()

            # No protocol in common: the server answers without one, and the
            # client fails the handshake.
            bad = pyws.WebSocket(f"ws://127.0.0.1:{port}/", ["x"])
            failed = event(bad, "error")
            closed = event(bad, "close")
            (err,) = await within(failed, "handshake error")
            assert str(err) == "Server sent no subprotocol"
            assert (await within(closed, "close"))[0] == 1006
            assert await stop_listen(cli) == 0

        run(main())

    def test_path_option_rejects_other_paths(self) -> None:
        async def main() -> None:
            cli, port, path = await start_listen("--path", "/echo")
            assert path == "/echo"
            ws = pyws.WebSocket(f"ws://127.0.0.1:{port}/other")
            failed = event(ws, "error")
            (err,) = await within(failed, "handshake error")
            assert str(err) == "Unexpected server response: 400"
            ok = await open_client(f"ws://127.0.0.1:{port}/echo")
            ok.close()
            assert await stop_listen(cli) == 0

        run(main())

    def test_max_payload_option(self) -> None:
        async def main() -> None:
            cli, port, _ = await start_listen("--max-payload", "10")
            ws = await open_client(f"ws://127.0.0.1:{port}/")
            closed = event(ws, "close")
            ws.send(b"x" * 11)
            code, _ = await within(closed, "close after an oversized message")
            assert code == 1009
            await cli.expect_stderr(r"\[1\] error: Max payload size exceeded")
            await cli.expect_stderr(r"\[1\] closed: \d+")
            assert await stop_listen(cli) == 0

        run(main())

    def test_port_in_use_exits_1(self) -> None:
        async def main() -> None:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                sock.listen()
                port = sock.getsockname()[1]
                cli = await Cli.start("listen", str(port))
                assert await cli.finish() == 1
            assert re.search(
                r"error: .*(address already in use|Errno)", cli.stderr, re.I
            )
            assert "listening on" not in cli.stderr

        run(main())


# --------------------------------------------------------------------------
# connect


class TestConnect:
    def test_lines_sent_echoes_printed_close_on_eof(self) -> None:
        async def main() -> None:
            received: list[tuple[bytes, bool]] = []
            server_close: asyncio.Future[tuple[Any, ...]] = (
                asyncio.get_running_loop().create_future()
            )

            def on_connection(ws: Any, req: Any) -> None:
                def on_message(data: Any, is_binary: bool) -> None:
                    received.append((bytes(data), is_binary))
                    ws.send(data, {"binary": is_binary})

                ws.on("message", on_message)
                ws.on(
                    "close",
                    resolver(server_close),
                )

            wss, port = await start_server(on_connection)
            cli = await Cli.start("connect", f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr(rf"connected to ws://127\.0\.0\.1:{port}/")
            await cli.write("hello\nwörld\r\n".encode())
            await cli.expect_stdout(r"^hello$")
            await cli.expect_stdout(r"^wörld$")
            await cli.write(b"last line without newline")
            cli.close_stdin()
            assert await cli.finish() == 0
            assert cli.stdout_lines == ["hello", "wörld", "last line without newline"]
            assert re.search(r"closed: 1000$", cli.stderr, re.M)
            assert received == [
                (b"hello", False),
                ("wörld".encode(), False),
                (b"last line without newline", False),
            ]
            code, _ = await within(server_close, "server-side close")
            assert code == 1000
            await close_server(wss)

        run(main())

    def test_server_close_ends_session_while_stdin_open(self) -> None:
        async def main() -> None:
            def on_connection(ws: Any, req: Any) -> None:
                ws.on(
                    "message", lambda data, _: ws.close(4001, b"done: " + bytes(data))
                )

            wss, port = await start_server(on_connection)
            cli = await Cli.start("connect", f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr("connected to")
            await cli.write(b"stop\n")
            # stdin stays open: the peer's close alone must end the process.
            await cli.expect_stderr(r"closed: 4001 done: stop$")
            assert await cli.finish() == 1  # 4001 is not a clean close code
            await close_server(wss)

        run(main())

    def test_going_away_is_a_clean_exit(self) -> None:
        async def main() -> None:
            wss, port = await start_server(lambda ws, req: ws.close(1001, "bye"))
            cli = await Cli.start("connect", f"ws://127.0.0.1:{port}/")
            assert await cli.finish() == 0
            assert re.search(r"closed: 1001 bye$", cli.stderr, re.M)
            await close_server(wss)

        run(main())

    def test_binary_and_hex(self) -> None:
        async def main() -> None:
            kinds: list[bool] = []

            def on_connection(ws: Any, req: Any) -> None:
                def on_message(data: Any, is_binary: bool) -> None:
                    kinds.append(is_binary)
                    ws.send(data, {"binary": is_binary})

                ws.on("message", on_message)

            wss, port = await start_server(on_connection)
            for extra, shown in (((), "<binary 2 bytes>"), (("--hex",), "6869")):
                cli = await Cli.start(
                    "connect", "--binary", *extra, f"ws://127.0.0.1:{port}/"
                )
                await cli.write(b"hi\n")
                await cli.expect_stdout(rf"^{shown}$")
                cli.close_stdin()
                assert await cli.finish() == 0
            assert kinds == [True, True]
            await close_server(wss)

        run(main())

    def test_headers_origin_protocol_and_deflate(self) -> None:
        async def main() -> None:
            seen: list[Any] = []

            def on_connection(ws: Any, req: Any) -> None:
                seen.append((req.headers, ws.protocol))

            wss, port = await start_server(on_connection, perMessageDeflate=True)
            cli = await Cli.start(
                "connect",
                f"ws://127.0.0.1:{port}/",
                "-H",
                "X-Token: abc",
                "--origin",
                "http://example.test",
                "--protocol",
                "chat",
                "--protocol",
                "superchat",
            )
            await cli.expect_stderr(
                r"connected to .* \(protocol: chat, extensions: permessage-deflate\)"
            )
            cli.close_stdin()
            assert await cli.finish() == 0
            headers, protocol = seen[0]
            assert headers["x-token"] == "abc"
            assert headers["origin"] == "http://example.test"
            assert headers["sec-websocket-protocol"] == "chat,superchat"
            assert "permessage-deflate" in headers["sec-websocket-extensions"]
            assert protocol == "chat"

            cli = await Cli.start("connect", "--no-deflate", f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr(r"connected to ws://\S+$")
            cli.close_stdin()
            assert await cli.finish() == 0
            assert "sec-websocket-extensions" not in seen[1][0]
            await close_server(wss)

        run(main())

    #: 1.5 MB: many read chunks (64 KiB from a file, up to 256 KiB from a
    #: pipe) pass the reader's one-chunk gate and the 1 MiB send backlog
    #: check; order and completeness are checked line by line.
    BIG_INPUT = [f"{i:06d} " + "x" * 93 for i in range(15000)]

    def test_big_stdin_from_a_regular_file(self, tmp_path: Path) -> None:
        """A regular file cannot use a pipe transport: the reader thread."""

        async def main() -> None:
            wss, port = await start_server()
            source = tmp_path / "input.txt"
            source.write_text("\n".join(self.BIG_INPUT) + "\n", encoding="utf-8")
            with source.open("rb") as stdin:
                cli = await Cli.start("connect", f"ws://127.0.0.1:{port}/", stdin=stdin)
                assert await cli.finish() == 0
            assert cli.stdout_lines == self.BIG_INPUT
            assert re.search(r"closed: 1000$", cli.stderr, re.M)
            await close_server(wss)

        run(main())

    def test_big_stdin_from_a_pipe(self) -> None:
        async def main() -> None:
            wss, port = await start_server()
            cli = await Cli.start("connect", f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr("connected to")
            # Collect output while writing, or both pipes fill up.
            finished = asyncio.ensure_future(cli.finish())
            await cli.write("".join(line + "\n" for line in self.BIG_INPUT).encode())
            cli.close_stdin()
            assert await finished == 0
            assert cli.stdout_lines == self.BIG_INPUT
            assert re.search(r"closed: 1000$", cli.stderr, re.M)
            await close_server(wss)

        run(main())

    @pytest.mark.skipif(not POSIX, reason="needs a pseudo-terminal")
    def test_terminal_stdin_and_blocking_mode_restored(self) -> None:
        """A tty goes through the pipe transport, which makes the shared file
        description non-blocking; the CLI must restore it for the shell."""
        import pty

        async def main() -> None:
            wss, port = await start_server()
            master, slave = pty.openpty()
            try:
                assert os.get_blocking(slave)
                cli = await Cli.start("connect", f"ws://127.0.0.1:{port}/", stdin=slave)
                await cli.expect_stderr("connected to")
                await cli.expect_stderr("Ctrl-D closes")
                os.write(master, b"typed line\n")
                await cli.expect_stdout(r"^typed line$")
                os.write(master, b"\x04")  # Ctrl-D: end of input in canonical mode
                assert await cli.finish() == 0
                assert re.search(r"closed: 1000$", cli.stderr, re.M)
                assert os.get_blocking(slave)
            finally:
                os.close(master)
                os.close(slave)
            await close_server(wss)

        run(main())

    def test_slash_commands(self) -> None:
        async def main() -> None:
            pings: asyncio.Future[tuple[Any, ...]] = (
                asyncio.get_running_loop().create_future()
            )
            server_close: asyncio.Future[tuple[Any, ...]] = (
                asyncio.get_running_loop().create_future()
            )

            def on_connection(ws: Any, req: Any) -> None:
                ws.on("ping", resolver(pings))
                ws.on(
                    "close",
                    resolver(server_close),
                )

            wss, port = await start_server(on_connection)
            cli = await Cli.start("connect", "--slash", "-P", f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr("connected to")
            await cli.write(b"/ping abc\n")
            (data,) = await within(pings, "ping at the server")
            assert bytes(data) == b"abc"
            await cli.expect_stderr(r"pong: 616263$")
            await cli.write(b"/bogus\n")
            await cli.expect_stderr(r"unknown command '/bogus'")
            await cli.write(b"/close 4000 see you\n")
            code, reason = await within(server_close, "server-side close")
            assert (code, bytes(reason)) == (4000, b"see you")
            assert await cli.finish() == 1  # the server echoed 4000
            assert re.search(r"closed: 4000 see you$", cli.stderr, re.M)
            await close_server(wss)

        run(main())

    @pytest.mark.skipif(not POSIX, reason="SIGINT to a child needs POSIX")
    def test_ctrl_c_closes_with_1000(self) -> None:
        async def main() -> None:
            server_close: asyncio.Future[tuple[Any, ...]] = (
                asyncio.get_running_loop().create_future()
            )

            def on_connection(ws: Any, req: Any) -> None:
                ws.on(
                    "close",
                    resolver(server_close),
                )

            wss, port = await start_server(on_connection)
            cli = await Cli.start("connect", f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr("connected to")
            cli.proc.send_signal(signal.SIGINT)
            code, _ = await within(server_close, "server-side close")
            assert code == 1000
            assert await cli.finish() == 0
            assert "interrupted, closing" in cli.stderr
            await close_server(wss)

        run(main())

    def test_connection_refused_exits_1(self) -> None:
        async def main() -> None:
            port = free_port()
            cli = await Cli.start("connect", f"ws://127.0.0.1:{port}/")
            assert await cli.finish() == 1
            assert re.search(
                r"error: .*(refused|Connect call failed)", cli.stderr, re.I
            )
            assert re.search(r"closed: 1006$", cli.stderr, re.M)
            assert cli.stdout_lines == []

        run(main())

    def test_handshake_failure_exits_1(self) -> None:
        async def main() -> None:
            wss, port = await start_server(verifyClient=lambda info: False)
            cli = await Cli.start("connect", f"ws://127.0.0.1:{port}/")
            assert await cli.finish() == 1
            assert re.search(
                r"error: Unexpected server response: 401$", cli.stderr, re.M
            )
            await close_server(wss)

        run(main())

    def test_invalid_url_exits_1(self) -> None:
        async def main() -> None:
            cli = await Cli.start("connect", "ftp://127.0.0.1/")
            assert await cli.finish() == 1
            assert "error: The URL's protocol must be one of" in cli.stderr

        run(main())


# --------------------------------------------------------------------------
# Both ends


def test_connect_to_listen() -> None:
    async def main() -> None:
        server, port, _ = await start_listen("--deflate")
        client = await Cli.start("connect", f"ws://127.0.0.1:{port}/")
        await client.expect_stderr("connected to .*extensions: permessage-deflate")
        await client.write(b"ping pong\n")
        await client.expect_stdout(r"^ping pong$")
        await server.expect_stdout(r"^\[1\] ping pong$")
        client.close_stdin()
        assert await client.finish() == 0
        await server.expect_stderr(r"\[1\] closed: 1000$")
        assert await stop_listen(server) == 0

    run(main())


# --------------------------------------------------------------------------
# Peers' control characters (issue 9): escaped, printable Unicode kept

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\r\nFAKE: line \u202eévil 🙂"
ESCAPED = r"\x1b]0;pwned\x07\x1b[2J\r\nFAKE: line \u202eévil 🙂"


def test_connect_escapes_the_server_s_control_characters() -> None:
    async def main() -> None:
        def on_connection(ws: Any, req: Any) -> None:
            ws.send(HOSTILE)
            ws.close(4000, "bye\x1b[2J\nnext")

        wss, port = await start_server(on_connection)
        cli = await Cli.start("connect", f"ws://127.0.0.1:{port}/")
        assert await cli.finish() == 1  # 4000 is not a clean close code
        assert cli.stdout_lines == [ESCAPED]
        assert re.search(r"closed: 4000 bye\\x1b\[2J\\nnext$", cli.stderr, re.M)
        assert "\x1b" not in cli.stderr and "\x1b" not in "".join(cli.stdout_lines)
        await close_server(wss)

    run(main())


def test_listen_escapes_the_client_s_control_characters() -> None:
    async def main() -> None:
        server, port, _ = await start_listen()
        ws = await open_client(f"ws://127.0.0.1:{port}/")
        ws.send(HOSTILE)
        await server.expect_stdout(r"^\[1\] " + re.escape(ESCAPED) + "$")
        closed = event(ws, "close")
        ws.close(4000, "x\r\n12:00:00.000 [2] connected from forged")
        await within(closed, "client close")
        await server.expect_stderr(r"\[1\] closed: 4000 x\\r\\n12:00:00\.000 \[2\]")
        assert await stop_listen(server) == 0
        assert not any(
            "forged" in line and "[1]" not in line for line in server.stderr_lines
        )

    run(main())


# --------------------------------------------------------------------------
# Heartbeat options (--ping-interval, --ping-timeout)


class TestHeartbeatOptions:
    def test_listen_drops_a_client_that_never_answers(self) -> None:
        async def main() -> None:
            cli, port, _ = await start_listen(
                "--ping-interval", "150", "--ping-timeout", "150"
            )
            peer = await RawPeer.connect("127.0.0.1", port)
            ping = await peer.wait_frame(0x9, timeout=TIMEOUT)
            assert len(ping.payload) == 4
            await cli.expect_stderr(r"\[1\] closed: 1006")
            await peer.wait_eof(timeout=TIMEOUT)
            assert peer.close_frames() == []
            peer.close()
            assert await stop_listen(cli) == 0

        run(main())

    def test_connect_drops_a_server_that_never_answers(self) -> None:
        async def main() -> None:
            async with await RawServer.start() as raw:
                cli = await Cli.start(
                    "connect",
                    "--ping-interval",
                    "150",
                    f"ws://127.0.0.1:{raw.port}/",
                )
                peer = await raw.accept(timeout=TIMEOUT)
                ping = await peer.wait_frame(0x9, timeout=TIMEOUT)
                assert ping.masked
                # The timeout defaults to the interval: 1006, exit status 1.
                assert await cli.finish() == 1
                assert re.search(r"closed: 1006", cli.stderr)

        run(main())

    @pytest.mark.parametrize("value", ["0", "-5", "soon"])
    def test_non_positive_or_bad_values_are_usage_errors(self, value: str) -> None:
        with pytest.raises(SystemExit) as info:
            build_parser().parse_args(["listen", "0", "--ping-interval", value])
        assert info.value.code == 2

    def test_values_reach_the_options(self) -> None:
        args = build_parser().parse_args(
            ["connect", "--ping-interval", "1000", "--ping-timeout", "250", "ws://x/"]
        )
        assert (args.ping_interval, args.ping_timeout) == (1000, 250)
        args = build_parser().parse_args(["listen", "0"])
        assert (args.ping_interval, args.ping_timeout) == (None, None)
