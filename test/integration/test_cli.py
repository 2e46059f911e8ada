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
    async def start(
        cls,
        *args: str,
        stdin: Any = asyncio.subprocess.PIPE,
        stdout: Any = asyncio.subprocess.PIPE,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> Cli:
        """``python -m pyws ARGS``; ``stdout`` may be a terminal (a pty's
        slave end), ``env`` adds variables, ``preexec_fn`` runs in the
        child (to close its fd 0, say)."""
        environ = dict(os.environ)
        environ.pop("NO_COLOR", None)
        environ.update(env or {})
        environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), environ.get("PYTHONPATH", "")) if p
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pyws",
            *args,
            stdin=stdin,
            stdout=stdout,
            stderr=asyncio.subprocess.PIPE,
            env=environ,
            cwd=str(REPO),
            preexec_fn=preexec_fn,
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
            if stream is None:  # stdout on a terminal: read by the test
                return
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
            await cli.expect_stderr(r"pong: abc$")
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


# --------------------------------------------------------------------------
# Usage errors: each command reports with its own usage line


class TestUsageErrors:
    @pytest.mark.parametrize(
        ("args", "usage", "complaint"),
        [
            (("connect", "--bogus", "ws://h/"), "connect", "--bogus"),
            (("connect", "ws://h/", "-w", "1"), "connect", "-w/--wait goes with"),
            (("connect", "ws://h/", "--auth", "nocolon"), "connect", "user:password"),
            (("connect", "ws://h/", "-x", "a", "-w", "soon"), "connect", "seconds"),
            (("listen", "0", "--bogus"), "listen", "--bogus"),
            (("listen", "0", "-x", "a"), "listen", "-x"),
        ],
    )
    def test_bad_flag(self, args: tuple[str, ...], usage: str, complaint: str) -> None:
        async def main() -> None:
            cli = await Cli.start(*args, stdin=asyncio.subprocess.DEVNULL)
            assert await cli.finish() == 2
            assert cli.stderr_lines[0].startswith(f"usage: python -m pyws {usage} ")
            assert f"python -m pyws {usage}: error:" in cli.stderr
            assert complaint in cli.stderr_lines[-1]

        run(main())


# --------------------------------------------------------------------------
# connect: standard input that is not a pipe or a terminal


def _close_fd0() -> None:
    os.close(0)


class TestStdinKinds:
    @pytest.mark.parametrize("kind", ["devnull", "closed pipe", "no fd 0"])
    def test_empty_stdin_closes_with_1000(self, kind: str) -> None:
        """/dev/null used to be handed to the loop's selector, which refuses
        it (EPERM) inside a callback: no end of input, a hang."""

        async def main() -> None:
            server_close: asyncio.Future[tuple[Any, ...]] = (
                asyncio.get_running_loop().create_future()
            )

            def on_connection(ws: Any, req: Any) -> None:
                ws.on("close", resolver(server_close))

            wss, port = await start_server(on_connection)
            url = f"ws://127.0.0.1:{port}/"
            if kind == "devnull":
                cli = await Cli.start("connect", url, stdin=asyncio.subprocess.DEVNULL)
            elif kind == "closed pipe":
                cli = await Cli.start("connect", url)
                cli.close_stdin()
            else:
                cli = await Cli.start("connect", url, preexec_fn=_close_fd0)
            assert await cli.finish() == 0
            code, _ = await within(server_close, "server-side close")
            assert code == 1000
            assert re.search(r"closed: 1000$", cli.stderr, re.M)
            assert "Traceback" not in cli.stderr
            assert "Exception" not in cli.stderr
            await close_server(wss)

        run(main())


# --------------------------------------------------------------------------
# connect: -x/--execute, -w/--wait


class TestExecute:
    def test_execute_sends_then_closes_without_reading_stdin(self) -> None:
        async def main() -> None:
            received: list[bytes] = []
            server_close: asyncio.Future[tuple[Any, ...]] = (
                asyncio.get_running_loop().create_future()
            )

            def on_connection(ws: Any, req: Any) -> None:
                ws.on("message", lambda data, _: received.append(bytes(data)))
                ws.on("close", resolver(server_close))

            wss, port = await start_server(on_connection)
            # stdin stays open: -x alone must end the session.
            cli = await Cli.start(
                "connect", "-x", "one", "--execute", "twö", f"ws://127.0.0.1:{port}/"
            )
            assert await cli.finish() == 0
            code, _ = await within(server_close, "server-side close")
            assert code == 1000
            assert received == [b"one", "twö".encode()]
            assert cli.stdout_lines == []  # piped: only what was received
            await close_server(wss)

        run(main())

    def test_wait_prints_what_arrives_before_closing(self) -> None:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            times: dict[str, float] = {}
            server_close: asyncio.Future[tuple[Any, ...]] = loop.create_future()

            def on_connection(ws: Any, req: Any) -> None:
                def on_message(data: Any, is_binary: bool) -> None:
                    times["message"] = loop.time()
                    ws.send("reply to " + bytes(data).decode())

                def on_close(*args: Any) -> None:
                    times["close"] = loop.time()
                    server_close.set_result(args)

                ws.on("message", on_message)
                ws.on("close", on_close)

            wss, port = await start_server(on_connection)
            cli = await Cli.start(
                "connect", "-x", "hi", "-w", "0.5", f"ws://127.0.0.1:{port}/"
            )
            assert await cli.finish() == 0
            assert cli.stdout_lines == ["reply to hi"]
            code, _ = await within(server_close, "server-side close")
            assert code == 1000
            # The close came no earlier than the wait after the send.
            assert times["close"] - times["message"] >= 0.45
            await close_server(wss)

        run(main())


# --------------------------------------------------------------------------
# connect: -P/--show-ping-pong, -s/--subprotocol, --auth, -L/--location


class TestConnectFlags:
    def test_show_ping_pong_with_text_payloads(self) -> None:
        async def main() -> None:
            pongs: list[bytes] = []
            got_pongs: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def on_connection(ws: Any, req: Any) -> None:
                def on_pong(data: Any) -> None:
                    pongs.append(bytes(data))
                    if len(pongs) == 3 and not got_pongs.done():
                        got_pongs.set_result(None)

                ws.on("pong", on_pong)
                ws.ping("héllo".encode())
                ws.ping(b"\xff\x00")
                ws.ping(b"\x1b[2J")

            wss, port = await start_server(on_connection)
            cli = await Cli.start("connect", "-P", f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr(r"ping: héllo$")
            await cli.expect_stderr(r"ping: ff00$")  # not UTF-8: hex
            await cli.expect_stderr(r"ping: \\x1b\[2J$")  # escaped
            await within(got_pongs, "the automatic pongs")
            assert pongs == ["héllo".encode(), b"\xff\x00", b"\x1b[2J"]
            cli.close_stdin()
            assert await cli.finish() == 0
            assert "\x1b" not in cli.stderr
            await close_server(wss)

        run(main())

    def test_listen_show_ping_pong(self) -> None:
        async def main() -> None:
            cli, port, _ = await start_listen("-P")
            ws = await open_client(f"ws://127.0.0.1:{port}/")
            pong = event(ws, "pong")
            ws.ping(b"are you there")
            await within(pong, "pong")
            await cli.expect_stderr(r"\[1\] ping: are you there$")
            ws.close()
            assert await stop_listen(cli) == 0

        run(main())

    def test_subprotocol_long_name(self) -> None:
        async def main() -> None:
            wss, port = await start_server(handleProtocols=lambda offered, req: "b")
            cli = await Cli.start(
                "connect", "--subprotocol", "a", "-s", "b", f"ws://127.0.0.1:{port}/"
            )
            await cli.expect_stderr(r"connected to .*\(protocol: b\)")
            cli.close_stdin()
            assert await cli.finish() == 0
            await close_server(wss)

        run(main())

    def test_auth(self) -> None:
        async def main() -> None:
            import base64

            expected = "Basic " + base64.b64encode(b"ann:s3 cr:et").decode()
            seen: list[str | None] = []

            def verify(info: Any) -> bool:
                value = info["req"].headers.get("authorization")
                seen.append(value)
                return bool(value == expected)

            wss, port = await start_server(verifyClient=verify)
            url = f"ws://127.0.0.1:{port}/"
            cli = await Cli.start("connect", "--auth", "ann:s3 cr:et", url)
            await cli.expect_stderr("connected to")
            cli.close_stdin()
            assert await cli.finish() == 0
            cli = await Cli.start("connect", "--auth", "ann:wrong", url)
            assert await cli.finish() == 1
            assert "Unexpected server response: 401" in cli.stderr
            assert seen[0] == expected and seen[1] != expected
            await close_server(wss)

        run(main())

    def test_location_follows_redirects(self) -> None:
        async def main() -> None:
            paths: list[str] = []
            wss, port = await start_server(lambda ws, req: paths.append(req.url))

            async def redirect(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter
            ) -> None:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(
                    b"HTTP/1.1 302 Found\r\n"
                    + f"Location: ws://127.0.0.1:{port}/target\r\n".encode()
                    + b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                await writer.drain()
                writer.close()

            hop = await asyncio.start_server(redirect, "127.0.0.1", 0)
            hop_port = hop.sockets[0].getsockname()[1]
            url = f"ws://127.0.0.1:{hop_port}/start"
            try:
                cli = await Cli.start("connect", url, stdin=asyncio.subprocess.DEVNULL)
                assert await cli.finish() == 1
                assert "Unexpected server response: 302" in cli.stderr
                cli = await Cli.start(
                    "connect", "-L", url, stdin=asyncio.subprocess.DEVNULL
                )
                assert await cli.finish() == 0
                assert re.search(
                    rf"connected to ws://127\.0\.0\.1:{port}/target$", cli.stderr, re.M
                )
                assert paths == ["/target"]
            finally:
                hop.close()
                await within(hop.wait_closed(), "redirect server close")
            await close_server(wss)

        run(main())


# --------------------------------------------------------------------------
# connect: TLS flags against a wss:// server (certificates from trustme)


class TestTls:
    PASSPHRASE = "correct horse"

    @pytest.fixture
    def pki(self, tmp_path: Path) -> dict[str, Any]:
        trustme = pytest.importorskip("trustme")
        from cryptography.hazmat.primitives import serialization

        ca = trustme.CA()
        server = ca.issue_cert("127.0.0.1")
        client = ca.issue_cert("client.test")
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
        key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
        (tmp_path / "client.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(self.PASSPHRASE.encode()),
            )
        )
        return {"ca": ca, "server": server, "dir": tmp_path}

    def _server_ssl(self, pki: dict[str, Any], client_auth: bool) -> Any:
        import ssl

        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        pki["server"].configure_cert(ctx)
        if client_auth:
            pki["ca"].configure_trust(ctx)
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def test_ca_and_no_check(self, pki: dict[str, Any]) -> None:
        async def main() -> None:
            wss, port = await start_server(ssl=self._server_ssl(pki, False))
            url = f"wss://127.0.0.1:{port}/"
            ca = str(pki["dir"] / "ca.pem")
            cli = await Cli.start("connect", url, stdin=asyncio.subprocess.DEVNULL)
            assert await cli.finish() == 1  # not a CA the system trusts
            assert re.search(r"error: .*CERTIFICATE_VERIFY_FAILED", cli.stderr)
            for extra in (("--ca", ca), ("-n",), ("--no-check",)):
                cli = await Cli.start(
                    "connect", *extra, "-x", "over tls", "-w", "0.2", url
                )
                assert await cli.finish() == 0, cli.stderr
                assert cli.stdout_lines == ["over tls"]
            await close_server(wss)

        run(main())

    def test_client_certificate_with_passphrase(self, pki: dict[str, Any]) -> None:
        async def main() -> None:
            wss, port = await start_server(ssl=self._server_ssl(pki, True))
            d = pki["dir"]
            base = (
                "connect",
                f"wss://127.0.0.1:{port}/",
                "--ca",
                str(d / "ca.pem"),
                "-x",
                "hello",
                "-w",
                "0.2",
            )
            cert = ("--cert", str(d / "client.pem"), "--key", str(d / "client.key"))
            cli = await Cli.start(*base, *cert, "--passphrase", self.PASSPHRASE)
            assert await cli.finish() == 0, cli.stderr
            assert cli.stdout_lines == ["hello"]
            cli = await Cli.start(*base, *cert, "--passphrase", "wrong")
            assert await cli.finish() == 1
            assert "error:" in cli.stderr
            cli = await Cli.start(*base)  # no client certificate at all
            assert await cli.finish() == 1
            await close_server(wss)

        run(main())

    @pytest.mark.skipif(not POSIX, reason="needs a pseudo-terminal")
    def test_passphrase_asked_on_the_terminal(self, pki: dict[str, Any]) -> None:
        """``--passphrase`` without a value: asked on the controlling
        terminal (a pty made the child's), not echoed."""
        import fcntl
        import termios

        async def main() -> None:
            wss, port = await start_server(ssl=self._server_ssl(pki, True))
            d = pki["dir"]
            term = Terminal()

            def own_terminal() -> None:
                os.setsid()
                fcntl.ioctl(term.slave, termios.TIOCSCTTY, 0)

            try:
                cli = await Cli.start(
                    "connect",
                    f"wss://127.0.0.1:{port}/",
                    "--ca",
                    str(d / "ca.pem"),
                    "--cert",
                    str(d / "client.pem"),
                    "--key",
                    str(d / "client.key"),
                    "--passphrase",
                    "-x",
                    "asked",
                    "-w",
                    "0.2",
                    stdin=asyncio.subprocess.DEVNULL,
                    preexec_fn=own_terminal,
                )
                await term.expect(b"passphrase for the --key: ")
                term.type(self.PASSPHRASE.encode() + b"\r")
                assert await cli.finish() == 0, cli.stderr
                assert cli.stdout_lines == ["asked"]
                assert self.PASSPHRASE.encode() not in term.screen
            finally:
                term.close()
            await close_server(wss)

        run(main())

    def test_wss_through_a_proxy(self, pki: dict[str, Any]) -> None:
        """TLS runs inside the CONNECT tunnel, checked against --ca."""
        proxy = start_proxy()

        async def main() -> None:
            wss, port = await start_server(ssl=self._server_ssl(pki, False))
            cli = await Cli.start(
                "connect",
                "--proxy",
                f"http://127.0.0.1:{proxy.open_port}",
                "--ca",
                str(pki["dir"] / "ca.pem"),
                "-x",
                "secret",
                "-w",
                "0.2",
                f"wss://127.0.0.1:{port}/",
            )
            assert await cli.finish() == 0, cli.stderr
            assert cli.stdout_lines == ["secret"]
            assert f"-> 127.0.0.1:{port}" in await proxy.tunnel()
            await close_server(wss)

        try:
            run(main())
        finally:
            proxy.stop()


# --------------------------------------------------------------------------
# listen: lines typed on stdin go to every open client


class TestListenTyping:
    def test_lines_go_to_every_open_client(self) -> None:
        async def main() -> None:
            cli, port, _ = await start_listen()
            await cli.write(b"nobody there\n")
            await cli.expect_stderr(r"no open connection: not sent$")
            first = await open_client(f"ws://127.0.0.1:{port}/")
            second = await open_client(f"ws://127.0.0.1:{port}/")
            await cli.expect_stderr(r"\[2\] connected")
            got = [event(first, "message"), event(second, "message")]
            await cli.write("hello, ällé\n".encode())
            for fut in got:
                data, is_binary = await within(fut, "typed line at a client")
                assert (bytes(data), is_binary) == ("hello, ällé".encode(), False)
            await cli.expect_stderr(r"sent to 2 clients$")
            # The end of stdin does not stop the server.
            cli.close_stdin()
            got = [event(first, "message")]
            first.send("still echoing")
            assert bytes((await within(got[0], "echo"))[0]) == b"still echoing"
            first.close()
            second.close()
            assert await stop_listen(cli) == 0
            assert cli.stdout_lines == ["[1] still echoing"]

        run(main())

    def test_devnull_stdin_and_no_stdin(self) -> None:
        async def main() -> None:
            for extra, stdin in (
                ((), asyncio.subprocess.DEVNULL),
                (("--no-stdin",), asyncio.subprocess.PIPE),
            ):
                cli = await Cli.start("listen", "0", *extra, stdin=stdin)
                match = await cli.expect_stderr(LISTENING_RE)
                ws = await open_client(f"ws://127.0.0.1:{match.group(1)}/")
                got = event(ws, "message")
                ws.send("x")
                await within(got, "echo")
                ws.close()
                assert await stop_listen(cli) == 0
                assert "Traceback" not in cli.stderr

        run(main())


# --------------------------------------------------------------------------
# A terminal: marks, colour, readline (a pseudo-terminal as stdin/stdout)


class Terminal:
    """The master side of a pty whose slave is a child's stdin and stdout."""

    def __init__(self) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.screen = b""
        self._changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        os.set_blocking(self.master, False)
        self._loop.add_reader(self.master, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        if not data:
            self._loop.remove_reader(self.master)
        self.screen += data
        self._changed.set()

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    async def expect(self, needle: bytes) -> None:
        """Wait until ``needle`` has been written to the terminal."""

        async def scan() -> None:
            while needle not in self.screen:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(scan(), TIMEOUT)
        except asyncio.TimeoutError:
            pytest.fail(f"{needle!r} not on the terminal: {self.screen!r}")

    def close(self) -> None:
        self._loop.remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)


BLUE = b"\x1b[34m"
GREEN = b"\x1b[32m"
RESET = b"\x1b[0m"


@pytest.mark.skipif(not POSIX, reason="needs a pseudo-terminal")
class TestTerminal:
    def test_readline_editing_history_and_marks(self) -> None:
        import termios

        async def main() -> None:
            received: list[bytes] = []
            peers: list[Any] = []
            three: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            five: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def on_connection(ws: Any, req: Any) -> None:
                peers.append(ws)

                def on_message(data: Any, is_binary: bool) -> None:
                    received.append(bytes(data))
                    if len(received) == 5:
                        five.set_result(None)
                    if bytes(data) == b"hostile":
                        ws.send(HOSTILE)
                    else:
                        ws.send(data, {"binary": is_binary})
                    if len(received) == 4 and not three.done():
                        three.set_result(None)

                ws.on("message", on_message)

            wss, port = await start_server(on_connection)
            term = Terminal()
            before = termios.tcgetattr(term.slave)
            try:
                cli = await Cli.start(
                    "connect",
                    f"ws://127.0.0.1:{port}/",
                    stdin=term.slave,
                    stdout=term.slave,
                    env={"TERM": "xterm"},
                )
                await cli.expect_stderr("connected to")
                await term.expect(b"> ")
                term.type(b"first\r")
                await term.expect(BLUE + b"< first" + RESET)
                # The prompt comes back below the line printed.
                await term.expect(BLUE + b"< first" + RESET + b"\r\n> ")
                term.type(b"\x1b[A\r")  # up arrow: the history's last line
                term.type(b"abd\x1b[Dc\r")  # left arrow, insert: abcd
                term.type(b"hostile\r")
                await within(three, "four lines at the server")
                assert received == [b"first", b"first", b"abcd", b"hostile"]
                await term.expect(BLUE + b"< " + ESCAPED.encode() + RESET)
                assert b"\x1b]0;pwned" not in term.screen
                # A message arriving mid-line: the prompt and the text typed
                # so far come back below it, and the line goes on.
                await term.expect(b"\r\n> ")
                term.type(b"par")
                await term.expect(b"> par")
                peers[0].send("unsolicited")
                await term.expect(BLUE + b"< unsolicited" + RESET + b"\r\n> par")
                term.type(b"t\r")
                await within(five, "the fifth line")
                assert received[4] == b"part"
                await term.expect(BLUE + b"< part" + RESET + b"\r\n> ")
                term.type(b"\x04")  # Ctrl-D on an empty line: end of input
                assert await cli.finish() == 0, term.screen
                assert re.search(r"closed: 1000$", cli.stderr, re.M)
                # readline's terminal mode is undone.
                assert termios.tcgetattr(term.slave)[3] == before[3]
            finally:
                term.close()
            await close_server(wss)

        run(main())

    @pytest.mark.parametrize("no_color", [False, True])
    def test_marks_for_sent_and_received_lines(self, no_color: bool) -> None:
        async def main() -> None:
            wss, port = await start_server()
            term = Terminal()
            try:
                cli = await Cli.start(
                    "connect",
                    "-x",
                    "hi there",
                    "-w",
                    "0.3",
                    f"ws://127.0.0.1:{port}/",
                    stdout=term.slave,
                    env={"NO_COLOR": "1"} if no_color else {},
                )
                assert await cli.finish() == 0
                if no_color:
                    await term.expect(b"> hi there\r\n< hi there\r\n")
                    assert b"\x1b[" not in term.screen
                else:
                    await term.expect(GREEN + b"> hi there" + RESET)
                    await term.expect(BLUE + b"< hi there" + RESET)
            finally:
                term.close()
            await close_server(wss)

        run(main())


# --------------------------------------------------------------------------
# connect --proxy: through a real proxy (pproxy, as test_proxy.py runs it)


def start_proxy() -> Any:
    """pproxy with an open listener and one that wants credentials."""
    pytest.importorskip("pproxy", reason="pproxy is in the test extra")
    from test_proxy import ProxyProcess

    return ProxyProcess()


def test_connect_through_a_proxy() -> None:
    from test_proxy import PASSWORD, USER

    proxy = start_proxy()

    async def main() -> None:
        wss, port = await start_server()
        url = f"ws://127.0.0.1:{port}/"
        # No credentials: the proxy refuses the tunnel.
        cli = await Cli.start(
            "connect", "--proxy", f"http://127.0.0.1:{proxy.auth_port}", "-x", "a", url
        )
        assert await cli.finish() == 1
        assert re.search(
            rf"error: Proxy http://127\.0\.0\.1:{proxy.auth_port} "
            "refused",
            cli.stderr,
        )
        for proxy_url in (
            f"http://{USER}:{PASSWORD}@127.0.0.1:{proxy.auth_port}",
            f"socks5://127.0.0.1:{proxy.open_port}",
        ):
            cli = await Cli.start(
                "connect", "--proxy", proxy_url, "-x", "tunnelled", "-w", "0.2", url
            )
            assert await cli.finish() == 0, cli.stderr
            assert cli.stdout_lines == ["tunnelled"]
            assert f"-> 127.0.0.1:{port}" in await proxy.tunnel()
            assert PASSWORD not in cli.stderr
        await close_server(wss)

    try:
        run(main())
    finally:
        proxy.stop()
