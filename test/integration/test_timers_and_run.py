"""Node's timers on pyws's loop and ``pyws.run()`` as a Node process (issue
10 items 2 and 3).

Timers are checked on a running loop through the armed ``TimerHandle``'s
``when()`` (never by sleeping); ``pyws.run()`` is checked in subprocesses:
top-level timers keep it going and top-level asyncio code sees the same
loop; an ``'error'`` with no listener (EADDRINUSE, a refused connection)
makes the script fail with status 1 and the error's text on stderr;
SIGINT stops it gracefully and ends it with status 130, no traceback and no
ResourceWarning.
"""

from __future__ import annotations

import asyncio
import math
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import pyws
from pyws import _runtime

ROOT = Path(__file__).resolve().parents[2]


# -- timers on a running loop ---------------------------------------------------


def test_set_timeout_arms_a_timer_in_ms_and_passes_arguments(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fired = loop.create_future()
        before = loop.time()
        t = pyws.setTimeout(lambda a, b: fired.set_result((a, b)), 50, "x", 2)
        when = t.when()
        assert when is not None
        assert before + 0.050 <= when <= loop.time() + 0.050
        assert await arun.within(fired) == ("x", 2)
        assert t.when() is None
        assert _runtime.alive(loop) == 0

    arun(main())


@pytest.mark.parametrize("delay", [0, -5, None, "abc", math.nan, 2**31, math.inf])
def test_out_of_range_delays_become_one_ms(arun: Any, delay: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = pyws.setTimeout(lambda: None, delay)
        when = t.when()
        assert when is not None
        assert when <= loop.time() + 0.001
        pyws.clearTimeout(t)

    arun(main())


def test_numeric_string_delay_is_converted_as_in_node(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        before = loop.time()
        t = pyws.setTimeout(lambda: None, "250")
        when = t.when()
        assert when is not None and when >= before + 0.250
        pyws.clearTimeout(t)

    arun(main())


def test_set_interval_repeats_until_cleared(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ticks: list[int] = []
        done = loop.create_future()

        def tick(step: int) -> None:
            ticks.append(step)
            if len(ticks) == 3:
                pyws.clearInterval(interval)
                done.set_result(None)

        interval = pyws.setInterval(tick, 2, 7)
        await arun.within(done)
        assert ticks == [7, 7, 7]
        assert interval.when() is None
        assert _runtime.alive(loop) == 0

    arun(main())


def test_clear_functions_ignore_none_and_other_values(arun: Any) -> None:
    async def main() -> None:
        for clear in (pyws.clearTimeout, pyws.clearInterval, pyws.clearImmediate):
            clear(None)
            clear(42)
            clear("id")
        t = pyws.setTimeout(lambda: None, 1000)
        pyws.clearImmediate(t)  # not an Immediate: Node leaves it armed
        assert t.when() is not None
        pyws.clear_timeout(t)
        assert t.when() is None

    arun(main())


def test_refresh_restarts_the_delay_and_rearms_a_fired_timeout(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fired: list[str] = []
        first = loop.create_future()
        t = pyws.setTimeout(lambda: (fired.append("f"), first.set_result(None)), 5)
        await arun.within(first)
        assert t.when() is None and _runtime.alive(loop) == 0
        second = loop.create_future()
        t._callback = lambda: second.set_result(None)
        before = loop.time()
        assert t.refresh() is t
        when = t.when()
        assert when is not None and when >= before + 0.005
        assert _runtime.alive(loop) == 1
        await arun.within(second)
        # Refreshing a pending timer moves its deadline.
        t2 = pyws.setTimeout(lambda: None, 200)
        old = t2.when()
        assert old is not None
        t2.refresh()
        new = t2.when()
        assert new is not None and new >= old
        t2.close()
        assert t2.when() is None and _runtime.alive(loop) == 0

    arun(main())


def test_ref_unref_has_ref(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = pyws.setTimeout(lambda: None, 1000)
        assert t.hasRef() and _runtime.alive(loop) == 1
        assert t.unref() is t
        assert not t.has_ref() and _runtime.alive(loop) == 0
        assert t.ref() is t
        assert t.hasRef() and _runtime.alive(loop) == 1
        pyws.clearTimeout(t)
        assert _runtime.alive(loop) == 0
        t.ref()  # not pending: nothing to keep alive
        assert _runtime.alive(loop) == 0

    arun(main())


def test_set_immediate_and_clear_immediate(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        got: list[Any] = []
        done = loop.create_future()
        cancelled = pyws.setImmediate(got.append, "cancelled")
        pyws.clearImmediate(cancelled)
        im = pyws.setImmediate(lambda *a: (got.append(a), done.set_result(None)), 1, 2)
        assert im.hasRef() and _runtime.alive(loop) == 1
        await arun.within(done)
        assert got == [(1, 2)]
        assert _runtime.alive(loop) == 0

    arun(main())


def test_callback_errors_and_async_callbacks(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ran = loop.create_future()

        async def later(value: str) -> None:
            ran.set_result(value)

        pyws.setTimeout(later, 1, "async")
        assert await arun.within(ran) == "async"
        failed = loop.create_future()

        def bad() -> None:
            loop.call_soon(failed.set_result, None)
            raise ZeroDivisionError

        pyws.setImmediate(bad)
        await arun.within(failed)
        assert [type(e) for e in arun.exceptions()] == [ZeroDivisionError]
        with pytest.raises(TypeError, match='"callback" argument must be callable'):
            pyws.setTimeout("not callable", 10)  # type: ignore[arg-type]

    arun(main())


def test_unhandled_error_outside_run_goes_to_the_loop_handler(arun: Any) -> None:
    """When the application runs its own loop (not pyws.run()), an 'error'
    nobody listens to is reported to the loop's exception handler."""

    async def main() -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        ws = pyws.WebSocket(f"ws://127.0.0.1:{port}/")
        await arun.within(arun.event(ws, "close"))
        reports = [c for c in arun.errors if "Unhandled 'error'" in c["message"]]
        assert [type(c["exception"]) for c in reports] == [ConnectionRefusedError]
        arun.errors.clear()

    arun(main())


# -- pyws.run() as a Node process ------------------------------------------------


def run_script(
    tmp_path: Path, source: str, *flags: str
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-X", "dev", *flags, str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_top_level_timers_keep_run_going(tmp_path: Path) -> None:
    proc = run_script(
        tmp_path,
        """
        import asyncio
        import pyws

        log = []
        pyws.setTimeout(lambda a: log.append(a), 30, "timeout")
        loop = asyncio.get_event_loop()   # top-level asyncio code
        pyws.setTimeout(lambda: log.append("never"), 60000).unref()
        pyws.setImmediate(log.append, "immediate")
        loop.call_soon(log.append, "call_soon")
        result = pyws.run()
        print(log, result, loop.is_closed())
        """,
        "-W",
        "error",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['immediate', 'call_soon', 'timeout'] None True"
    assert proc.stderr == ""


def test_a_loop_set_before_pyws_is_adopted(tmp_path: Path) -> None:
    proc = run_script(
        tmp_path,
        """
        import asyncio
        import pyws

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.call_later(0.02, print, "asyncio timer")
        pyws.setTimeout(print, 40, "pyws timer")
        pyws.run()
        print(loop.is_closed())
        """,
        "-W",
        "error",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["asyncio timer", "pyws timer", "True"]
    assert proc.stderr == ""


def test_unhandled_listen_error_fails_the_script(tmp_path: Path) -> None:
    proc = run_script(
        tmp_path,
        """
        import pyws

        first = pyws.WebSocketServer(port=0, host="127.0.0.1")

        def listen_again():
            port = first.address()["port"]
            pyws.WebSocketServer(port=port, host="127.0.0.1")  # no 'error' listener

        first.on("listening", listen_again)
        pyws.run()
        print("not reached")
        """,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "OSError: [Errno 98] Address already in use" in proc.stderr
    assert "ResourceWarning" not in proc.stderr


def test_unhandled_connection_refused_fails_the_script(tmp_path: Path) -> None:
    proc = run_script(
        tmp_path,
        """
        import socket
        import pyws

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()   # nothing listens there now
        ws = pyws.WebSocket(f"ws://127.0.0.1:{port}/")
        pyws.run()
        print("not reached")
        """,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "ConnectionRefusedError" in proc.stderr
    assert "ResourceWarning" not in proc.stderr


def test_handled_error_does_not_fail_the_script(tmp_path: Path) -> None:
    proc = run_script(
        tmp_path,
        """
        import socket
        import pyws

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        ws = pyws.WebSocket(f"ws://127.0.0.1:{port}/")
        ws.on("error", lambda err: print("error:", type(err).__name__))
        ws.on("close", lambda code: print("close:", code))
        pyws.run()
        print("done")
        """,
        "-W",
        "error",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "error: ConnectionRefusedError",
        "close: 1006",
        "done",
    ]


def test_sigint_closes_everything_gracefully_and_exits_130(tmp_path: Path) -> None:
    proc = run_script(
        tmp_path,
        """
        import os
        import signal
        import pyws

        wss = pyws.WebSocketServer(port=0, host="127.0.0.1")
        wss.on("connection", lambda ws: print("server side open"))
        pyws.setInterval(lambda: None, 1000)

        def on_listening():
            port = wss.address()["port"]
            client = pyws.WebSocket(f"ws://127.0.0.1:{port}/")
            client.on("open", lambda: os.kill(os.getpid(), signal.SIGINT))
            client.on("close", lambda code: print("client closed", code))

        wss.on("listening", on_listening)
        wss.on("close", lambda: print("server closed"))
        try:
            pyws.run()
        finally:
            print("finally")
        """,
    )
    assert proc.returncode == 130, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "server side open"
    # The graceful stop: the server's shutdown and the client's close(1001).
    assert "client closed 1001" in lines and "server closed" in lines
    assert lines[-1] == "finally"
    assert "Traceback" not in proc.stderr
    assert "ResourceWarning" not in proc.stderr
    assert proc.stderr == ""
