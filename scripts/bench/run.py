#!/usr/bin/env python3
"""pyws benchmark driver: every implementation side by side, ratios in one run.

Starts an echo server per implementation (each its own process, printing its
port), drives it with the compiled load generator ``loadgen.c`` (built here
with ``cc -O2``), reads the server's CPU time (``/proc/<pid>/stat`` utime +
stime) and RSS around each measurement, repeats the whole round ``--runs``
times, and prints medians with ratios of pyws to every other implementation,
then the issue's targets with PASS/FAIL. The client role is measured with
pyws, websockets and aiohttp clients against Node ws (with bufferutil).
``--python-ft PATH`` adds a ``pyws-ft`` row: the pyws echo server under a
free-threaded CPython (3.13t or later) at PATH.

Setup: ``pip install -r scripts/bench/requirements.txt`` and
``npm ci --prefix scripts/bench``. When a module or ``node_modules`` is
missing, this script runs those two commands itself (``--no-install`` to
skip). Benchmark-only dependencies; pyws itself never imports them.

Imports only the standard library; it never imports pyws (the servers and
clients do, from the working tree, via PYTHONPATH).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: Where the servers and clients import pyws from: the working tree, or a
#: snapshot of one commit (``--pyws-rev``) under build/.
PYWS_PATH = ROOT
BUILD = HERE / "build"
RESULTS = HERE / "results"
LOADGEN = BUILD / "loadgen"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PY = sys.executable

Json = dict[str, Any]


# ---- implementations -------------------------------------------------------


@dataclass(frozen=True)
class Impl:
    """An echo server under test.

    Attributes:
        name: Row label.
        cmd: The command that starts it (prints its port on stdout).
        raw: A plain TCP echo: loadgen runs with ``--raw``, WebSocket-only
            scenarios are skipped.
        deflate: Takes part in the permessage-deflate scenario.
        needs: Python modules (or "node") it needs.
    """

    name: str
    cmd: tuple[str, ...]
    raw: bool = False
    deflate: bool = True
    needs: tuple[str, ...] = ()


def _py(script: str, *extra: str) -> tuple[str, ...]:
    return (PY, str(HERE / "servers" / script), *extra)


IMPLS: tuple[Impl, ...] = (
    Impl("pyws", _py("echo_pyws.py"), needs=("pyws",)),
    Impl(
        "pyws-uvloop", _py("echo_pyws.py", "--loop", "uvloop"), needs=("pyws", "uvloop")
    ),
    Impl("ws", ("node", str(HERE / "servers" / "echo_ws.js")), needs=("node",)),
    Impl("websockets", _py("echo_websockets.py"), needs=("websockets",)),
    Impl("aiohttp", _py("echo_aiohttp.py"), needs=("aiohttp",)),
    Impl("picows", _py("echo_picows.py"), deflate=False, needs=("picows",)),
    Impl(
        "picows-uvloop",
        _py("echo_picows.py", "--loop", "uvloop"),
        deflate=False,
        needs=("picows", "uvloop"),
    ),
    Impl("plain", _py("echo_plain.py"), raw=True, deflate=False),
    # A Starlette echo on uvicorn: pyws's ASGI protocol beside uvicorn's own.
    Impl(
        "uvicorn-pyws",
        _py("echo_uvicorn.py", "--ws", "pyws"),
        needs=("pyws", "uvicorn", "starlette"),
    ),
    Impl(
        "uvicorn-websockets",
        _py("echo_uvicorn.py", "--ws", "websockets-sansio"),
        needs=("uvicorn", "starlette", "websockets"),
    ),
    Impl(
        "uvicorn-wsproto",
        _py("echo_uvicorn.py", "--ws", "wsproto"),
        needs=("uvicorn", "starlette", "wsproto"),
    ),
    Impl(
        "plain-uvloop",
        _py("echo_plain.py", "--loop", "uvloop"),
        raw=True,
        deflate=False,
        needs=("uvloop",),
    ),
)

CLIENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pyws", "client_pyws.py", ()),
    ("pyws-uvloop", "client_pyws.py", ("--loop", "uvloop")),
    ("websockets", "client_websockets.py", ()),
    ("aiohttp", "client_aiohttp.py", ()),
)


#: What the ``--python-ft`` interpreter says about itself once pyws and its
#: C speedups are imported: a JSON line.
FT_PROBE = (
    "import json, sys, sysconfig, platform; import pyws, pyws.buffer_util as b; "
    "gil = getattr(sys, '_is_gil_enabled', lambda: True)(); "
    "print(json.dumps({'python': platform.python_version(), "
    "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), "
    "'gil_enabled': gil, 'speedups': b.SPEEDUPS}))"
)


def free_threaded_impl(python: str | None) -> tuple[Impl | None, Json]:
    """The ``pyws-ft`` row: pyws's echo server under a free-threaded CPython.

    Args:
        python: The interpreter (``--python-ft``), or None.

    Returns:
        The row (None when it is skipped) and what the interpreter reported,
        or ``{"skipped": reason}``.
    """
    if not python:
        return None, {
            "skipped": "no free-threaded interpreter given (--python-ft PATH; "
            "scripts/bench/README.md says how to build one)"
        }
    exe = shutil.which(python)
    if exe is None:
        return None, {"skipped": f"{python}: no such interpreter"}
    env = dict(os.environ, PYTHONPATH=str(PYWS_PATH))
    env.pop("PYTHON_GIL", None)  # report what the modules themselves do
    try:
        probe = subprocess.run(
            [exe, "-c", FT_PROBE],
            capture_output=True,
            text=True,
            env=env,
            cwd=HERE,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, {"skipped": f"{exe} did not run: {exc}"}
    try:
        info: Json = json.loads(probe.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = " | ".join(probe.stderr.strip().splitlines()[-3:])
        return None, {"skipped": f"{exe} cannot import pyws: {tail}"}
    info["path"] = exe
    if not info["free_threaded"]:
        info["skipped"] = f"{exe} is not a free-threaded build (Py_GIL_DISABLED unset)"
        return None, info
    return Impl("pyws-ft", (exe, str(HERE / "servers" / "echo_pyws.py"))), info


# ---- scenarios -------------------------------------------------------------

#: Client-role scenarios against the Node ws server: (key, client options).
CLIENT_SCENARIOS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("client role 1 KiB", ()),
    ("client handshakes", ("--handshakes", "8")),
)


@dataclass(frozen=True)
class Scenario:
    """One measurement against a running echo server.

    Attributes:
        key: JSON key and table title.
        kind: "throughput", "latency", "handshakes", "idle", "deflate" or
            "big" (one connection, one message in flight, run on a fresh
            server: its peak RSS is the memory one big message costs).
        args: Extra loadgen arguments.
        ws_only: Skipped for the plain TCP echo.
    """

    key: str
    kind: str
    args: tuple[str, ...] = ()
    ws_only: bool = False


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "echo 16 B", "throughput", ("--size", "16", "--conns", "8", "--inflight", "16")
    ),
    Scenario(
        "echo 1 KiB",
        "throughput",
        ("--size", "1024", "--conns", "8", "--inflight", "16"),
    ),
    Scenario(
        "echo 64 KiB",
        "throughput",
        ("--size", "65536", "--conns", "8", "--inflight", "4"),
    ),
    Scenario(
        "echo 1 KiB text",
        "throughput",
        ("--size", "1024", "--conns", "8", "--inflight", "16", "--text"),
    ),
    Scenario("latency 16 B", "latency", ("--size", "16")),
    Scenario("handshakes", "handshakes", ("--conns", "8"), ws_only=True),
    Scenario("idle memory", "idle", (), ws_only=True),
    Scenario(
        "echo 1 MiB", "big", ("--size", str(1 << 20), "--conns", "1", "--inflight", "1")
    ),
    Scenario(
        "echo 16 MiB",
        "big",
        ("--size", str(16 << 20), "--conns", "1", "--inflight", "1"),
    ),
)
DEFLATE = Scenario(
    "deflate 1 KiB",
    "deflate",
    ("--size", "1024", "--conns", "8", "--inflight", "16", "--deflate"),
    ws_only=True,
)
THROUGHPUT_KEYS = ("echo 16 B", "echo 1 KiB", "echo 64 KiB", "echo 1 KiB text")


@dataclass
class Config:
    """Timings of one run, from the command line."""

    runs: int
    duration_ms: int
    warmup_ms: int
    idle_conns: int
    only: set[str] | None
    profile: bool
    scenarios: set[str] | None = None
    client_duration: float = field(default=1.5)
    quick: bool = False


# ---- processes -------------------------------------------------------------


class Proc:
    """A child process whose stdout is read line by line with timeouts."""

    def __init__(self, cmd: tuple[str, ...], stdin: bool = False) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PYWS_PATH), *filter(None, [env.get("PYTHONPATH")])]
        )
        env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        self.cmd = cmd
        self.popen = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=HERE,
            start_new_session=True,
        )
        self._buf = b""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def readline(self, timeout: float) -> str:
        """Returns the next stdout line, or raises TimeoutError / EOFError."""
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no output from {self.cmd[1]} in {timeout} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise EOFError(f"{Path(self.cmd[1]).name} exited: {self.stderr()}")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode()

    def event(self, timeout: float) -> Json:
        """Reads the next JSON line; a loadgen "error" event raises."""
        msg: Json = json.loads(self.readline(timeout))
        if msg.get("event") == "error":
            raise RuntimeError(msg.get("message", "loadgen error"))
        return msg

    def stderr(self) -> str:
        """The last lines of stderr, once the process has exited."""
        if self.popen.poll() is None or self.popen.stderr is None:
            return ""
        text = self.popen.stderr.read().decode(errors="replace").strip()
        return " | ".join(text.splitlines()[-3:])

    def send_line(self) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(b"go\n")
        self.popen.stdin.flush()

    def stop(self, timeout: float = 5.0) -> None:
        """Terminates the process group, then kills it if it lingers."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout)
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (every thread), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid: int, field_name: str = "VmRSS") -> int:
    """VmRSS (or another /proc status field) of the process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field_name}")


def hwm_kib(pid: int) -> int:
    """Peak RSS of the process so far (VmHWM), in KiB."""
    return rss_kib(pid, "VmHWM")


@contextmanager
def server(impl: Impl, deflate: bool = False) -> Iterator[tuple[Proc, int]]:
    """Starts an echo server, yields it with its port, always stops it."""
    proc = Proc(impl.cmd + (("--deflate",) if deflate else ()))
    try:
        port = int(proc.readline(20.0))
        yield proc, port
    finally:
        proc.stop()


# ---- measurements ----------------------------------------------------------


def loadgen(mode: str, port: int, impl: Impl, cfg: Config, *args: str) -> Proc:
    cmd = [str(LOADGEN), mode, "--port", str(port)]
    cmd += ["--duration-ms", str(cfg.duration_ms), "--warmup-ms", str(cfg.warmup_ms)]
    if impl.raw:
        cmd.append("--raw")
    return Proc((*cmd, *args), stdin=mode == "idle")


def measure(srv: Proc, port: int, impl: Impl, sc: Scenario, cfg: Config) -> Json:
    """Runs one scenario against a running server; returns its figures."""
    if sc.kind == "idle":
        return measure_idle(srv, port, impl, cfg)
    mode = "throughput" if sc.kind in ("deflate", "big") else sc.kind
    rss0 = rss_kib(srv.pid)
    gen = loadgen(mode, port, impl, cfg, *sc.args)
    try:
        limit = 30.0 + cfg.duration_ms / 1000
        while gen.event(limit)["event"] != "start":
            pass
        cpu0 = cpu_seconds(srv.pid)
        res = gen.event(limit)
        cpu1 = cpu_seconds(srv.pid)
        gen.popen.wait(15)
    finally:
        gen.stop()
    if res.get("errors"):
        raise RuntimeError(f"{res['errors']} errors: {res.get('first_error')}")
    if not res.get("count"):
        raise RuntimeError("no message was echoed")
    cpu = cpu1 - cpu0
    out: Json = {
        "rate": res["rate"],
        "count": res["count"],
        "server_cpu_s": cpu,
        "cpu_us": cpu / res["count"] * 1e6,
        "server_util": cpu / res["elapsed_s"],
        "gen_util": res["gen_cpu_s"] / res["elapsed_s"],
    }
    for key in ("p50_us", "p99_us", "mean_us"):
        if key in res:
            out[key] = res[key]
    if sc.kind == "big":
        # One message in flight: its round trip is the time per message.
        # The peak RSS over the start-up RSS, in units of the message, is
        # how many copies of it were alive at once (the receive buffer, the
        # message handed to the listener, what is queued to send...).
        size = int(sc.args[sc.args.index("--size") + 1])
        peak = hwm_kib(srv.pid) - rss0
        out["ms_per_msg"] = res["elapsed_s"] / res["count"] * 1e3
        out["peak_mib"] = peak / 1024
        out["copies"] = peak * 1024 / size
    return out


def measure_idle(srv: Proc, port: int, impl: Impl, cfg: Config) -> Json:
    """Memory per idle open connection: RSS before and after opening them."""
    before = rss_kib(srv.pid)
    gen = loadgen("idle", port, impl, cfg, "--conns", str(cfg.idle_conns))
    try:
        gen.event(60.0)  # "ready": every connection is open
        after = rss_kib(srv.pid)
        gen.send_line()
        res = gen.event(30.0)
        gen.popen.wait(15)
    finally:
        gen.stop()
    if res.get("lost"):
        raise RuntimeError(f"{res['lost']} connections lost while idle")
    return {"kib_per_conn": (after - before) / cfg.idle_conns, "rss_kib": after}


def measure_client(
    name: str,
    script: str,
    extra: tuple[str, ...],
    port: int,
    srv: Proc,
    cfg: Config,
    mode: tuple[str, ...] = (),
) -> Json:
    """One client-role run against the Node ws echo server (``mode``:
    ``("--handshakes", "8")`` counts handshakes instead of messages)."""
    cmd = (
        PY,
        str(HERE / "clients" / script),
        "--url",
        f"ws://127.0.0.1:{port}/",
        "--size",
        "1024",
        "--inflight",
        "16",
        "--warmup",
        str(cfg.warmup_ms / 1000),
        "--duration",
        str(cfg.client_duration),
        *extra,
        *mode,
    )
    proc = Proc(cmd)
    try:
        srv0 = cpu_seconds(srv.pid)
        res = proc.event(30.0 + cfg.client_duration)
        srv1 = cpu_seconds(srv.pid)
    finally:
        proc.stop()
    if not res.get("count"):
        raise RuntimeError("no message was echoed")
    return {
        "rate": res["count"] / res["elapsed_s"],
        "count": res["count"],
        "cpu_us": res["cpu_s"] / res["count"] * 1e6,
        "client_util": res["cpu_s"] / res["elapsed_s"],
        "server_cpu_s": srv1 - srv0,
    }


# ---- the run ---------------------------------------------------------------


def available(impl_needs: tuple[str, ...]) -> str | None:
    """None when every requirement is present, else what is missing."""
    for need in impl_needs:
        if need == "node":
            if not shutil.which("node") or not (HERE / "node_modules" / "ws").is_dir():
                return "node or scripts/bench/node_modules missing"
        elif importlib.util.find_spec(need) is None:
            return f"Python module {need} missing"
    return None


def one_round(cfg: Config, round_no: int, log: Callable[[str], None]) -> Json:
    """Measures every selected implementation once.

    Returns:
        ``{scenario: {impl: figures}}``.
    """
    out: Json = {}

    def record(key: str, name: str, fn: Callable[..., Json], *args: Any) -> None:
        try:
            out.setdefault(key, {})[name] = fn(*args)
        except Exception as exc:  # a failing scenario becomes an error row
            out.setdefault(key, {})[name] = {"error": f"{type(exc).__name__}: {exc}"}
        fig = out[key][name]
        log(f"  run {round_no} {key:16} {name:13} {short(fig)}")

    for impl in IMPLS:
        if cfg.only and impl.name not in cfg.only:
            continue
        scenarios = [
            s
            for s in SCENARIOS
            if not (impl.raw and s.ws_only)
            and (cfg.scenarios is None or s.key in cfg.scenarios)
        ]
        missing = available(impl.needs)
        if missing:
            for sc in scenarios + ([DEFLATE] if impl.deflate else []):
                out.setdefault(sc.key, {})[impl.name] = {"error": missing}
            continue
        # Full runs: the plain scenarios on a server with library defaults,
        # idle memory on a fresh one (so RSS is not skewed by buffers and
        # garbage left by the throughput runs), deflate on one started with
        # --deflate. --quick runs everything on one --deflate server (clients
        # that offer no extension are not affected) to save start-ups.
        if impl.deflate and (cfg.scenarios is None or DEFLATE.key in cfg.scenarios):
            scenarios.append(DEFLATE)
        if cfg.quick:
            groups = [(scenarios, impl.deflate)]
        else:
            groups = [
                (
                    [s for s in scenarios if s.kind not in ("idle", "deflate", "big")],
                    False,
                ),
                ([s for s in scenarios if s.kind == "idle"], False),
                ([s for s in scenarios if s.kind == "deflate"], True),
            ]
            # each big message on a fresh server: its peak RSS is its own
            groups += [([s], False) for s in scenarios if s.kind == "big"]
        for group, deflate in groups:
            if not group:
                continue
            try:
                with server(impl, deflate) as (srv, port):
                    for sc in group:
                        record(sc.key, impl.name, measure, srv, port, impl, sc, cfg)
            except Exception as exc:
                for sc in group:
                    out.setdefault(sc.key, {}).setdefault(
                        impl.name, {"error": f"server: {type(exc).__name__}: {exc}"}
                    )

    ws_impl = next(i for i in IMPLS if i.name == "ws")
    for key, mode in CLIENT_SCENARIOS:
        if available(ws_impl.needs) is not None or (
            cfg.scenarios is not None and key not in cfg.scenarios
        ):
            continue
        with server(ws_impl) as (srv, port):
            for name, script, extra in CLIENTS:
                if (
                    cfg.only
                    and name not in cfg.only
                    and name.split("-")[0] not in cfg.only
                ):
                    continue
                missing = available(("uvloop",) if "uvloop" in extra else ())
                if missing:
                    out.setdefault(key, {})[name] = {"error": missing}
                    continue
                record(
                    key,
                    name,
                    measure_client,
                    name,
                    script,
                    extra,
                    port,
                    srv,
                    cfg,
                    mode,
                )
    return out


def saturation_check(fastest: str, cfg: Config, log: Callable[[str], None]) -> Json:
    """Drives the fastest 1 KiB server with 8x16 and then 16x32 in flight."""
    impl = next(i for i in IMPLS if i.name == fastest)
    out: Json = {"impl": fastest}
    with server(impl) as (srv, port):
        for label, conns, infl in (("8x16", "8", "16"), ("16x32", "16", "32")):
            sc = Scenario(
                "sat",
                "throughput",
                ("--size", "1024", "--conns", conns, "--inflight", infl),
            )
            out[label] = measure(srv, port, impl, sc, cfg)
    out["gain"] = out["16x32"]["rate"] / out["8x16"]["rate"]
    log(
        f"  saturation on {fastest}: 8x16 {out['8x16']['rate']:.0f}/s, 16x32 "
        f"{out['16x32']['rate']:.0f}/s (x{out['gain']:.2f}); loadgen CPU "
        f"{out['8x16']['gen_util']:.0%} of a core, "
        f"server {out['8x16']['server_util']:.0%}"
    )
    return out


#: The fan-out scenario of ``fanout.py``: one publisher, this many
#: subscribers, no deflate; its rows in the report, and which of them.
FANOUT_SUBSCRIBERS = 1000
FANOUT_SIZES = (16, 1024)
FANOUT_ROWS = ("pyws", "pyws foreach", "ws", "websockets")


def fanout_key(size: int) -> str:
    return f"fan-out {size} B"


def run_fanout(cfg: Config, log: Callable[[str], None]) -> Json:
    """``fanout.py``'s scenario (1,000 subscribers) for the same report.

    Each size runs every row on a fresh server, ``cfg.runs`` windows each
    (median): server CPU per delivered message and deliveries per second.
    Quick runs: 200 subscribers, 16 B only.
    """
    import fanout  # the same directory; imports this module (Proc)

    sizes = [
        s
        for s in (FANOUT_SIZES[:1] if cfg.quick else FANOUT_SIZES)
        if cfg.scenarios is None or fanout_key(s) in cfg.scenarios
    ]
    args = argparse.Namespace(
        subscribers=200 if cfg.quick else FANOUT_SUBSCRIBERS,
        messages=200,
        window=8,
        runs=cfg.runs,
    )
    med: Json = {}
    for size in sizes:
        row: Json = {}
        for name in FANOUT_ROWS:
            if cfg.only is not None and name.split()[0] not in cfg.only:
                continue
            why = fanout.available(name)
            if why:
                log(f"  {fanout_key(size)}: {name} skipped: {why}")
                continue
            log(f"  {fanout_key(size)}: {name}")
            try:
                fig = fanout.one(name, size, False, args)
            except Exception as exc:
                fig = {"error": str(exc)}
            if fig is not None:
                row[name] = fig
        if row:
            med[fanout_key(size)] = row
    return med


def profile_pyws(cfg: Config, out: Callable[[str], None]) -> None:
    """Profiles the pyws server (cProfile) under the 1 KiB and 64 KiB echoes,
    or the scenarios ``--scenarios`` names.

    Prints the top functions by own time for each.
    """
    import pstats

    # --only with one pyws-based implementation (uvicorn-pyws, pyws-uvloop)
    # profiles that one instead.
    name = next(iter(cfg.only)) if cfg.only and len(cfg.only) == 1 else "pyws"
    impl = next(i for i in IMPLS if i.name == name)
    BUILD.mkdir(parents=True, exist_ok=True)
    keys = sorted(cfg.scenarios) if cfg.scenarios else ["echo 1 KiB", "echo 64 KiB"]
    for key in keys:
        path = BUILD / f"pyws-{''.join(key.split()).lower()}.pstats"
        sc = next(s for s in SCENARIOS if s.key == key)
        prof = Impl(impl.name, impl.cmd + ("--profile", str(path)))
        with server(prof) as (srv, port):
            fig = measure(srv, port, prof, sc, cfg)
            os.kill(srv.pid, signal.SIGTERM)
            srv.popen.wait(30)
        stats = pstats.Stats(str(path))
        table = stats.stats  # type: ignore[attr-defined]
        total = sum(v[2] for v in table.values())
        out("")
        out(
            f"== cProfile of the {impl.name} server, {key} ({fig['count']} in the "
            f"window, {total:.2f} s own time in the whole run) =="
        )
        out(f"{'own s':>8} {'own %':>6} {'calls':>10} {'us/call':>8}  function")
        rows = sorted(table.items(), key=lambda kv: -kv[1][2])
        for (file, line, func), (_cc, ncalls, tottime, _ct, _callers) in rows[:25]:
            where = f"{Path(file).name}:{line}" if line else file
            out(
                f"{tottime:8.3f} {tottime / total:6.1%} {ncalls:10d} "
                f"{tottime / max(ncalls, 1) * 1e6:8.2f}  {func} ({where})"
            )
        out(f"(stats in {path}; the profiler inflates Python-level costs)")


def short(fig: Json) -> str:
    if "error" in fig:
        return "ERROR " + str(fig["error"])[:90]
    if "kib_per_conn" in fig:
        return f"{fig['kib_per_conn']:.1f} KiB/conn"
    if "ms_per_msg" in fig:
        return (
            f"{fig['ms_per_msg']:8.2f} ms/msg {fig['cpu_us'] / 1e3:7.2f} ms CPU/msg "
            f"peak +{fig['peak_mib']:.1f} MiB ({fig['copies']:.1f} copies)"
        )
    text = f"{fig['rate']:>10.0f}/s {fig['cpu_us']:7.2f} us/msg"
    if "p50_us" in fig:
        text += f" p50 {fig['p50_us']:.1f} us p99 {fig['p99_us']:.1f} us"
    return text


def median_of(rounds: list[Json]) -> Json:
    """Per scenario and implementation, the median of each figure over the runs."""
    med: Json = {}
    for rnd in rounds:
        for key, impls in rnd.items():
            for name, fig in impls.items():
                med.setdefault(key, {}).setdefault(name, []).append(fig)
    for impls in med.values():
        for name, figs in impls.items():
            good = [f for f in figs if "error" not in f]
            if not good:
                impls[name] = {"error": figs[0]["error"], "runs": 0}
                continue
            merged: Json = {"runs": len(good)}
            for field_name in good[0]:
                values = [f[field_name] for f in good if field_name in f]
                merged[field_name] = statistics.median(values)
            if len(good) < len(figs):
                merged["failed_runs"] = len(figs) - len(good)
            impls[name] = merged
    return med


# ---- zlib share ------------------------------------------------------------


def compressible_messages(size: int, count: int = 64) -> list[bytes]:
    """The same compressible texts loadgen.c builds (LCG over a vocabulary)."""
    words = [
        b"alpha",
        b"beta",
        b"gamma",
        b"delta",
        b"echo",
        b"socket",
        b"frame",
        b"message",
        b"close",
        b"open",
        b'{"id":',
        b'"value":',
        b"true,",
        b"null,",
        b"1234,",
        b'"name":',
        b'"items":[',
        b"],",
        b"},",
        b"pyws",
    ]
    msgs = []
    for seed in range(1, count + 1):
        x = (2463534242 ^ (seed * 2654435761)) & 0xFFFFFFFF
        buf = bytearray()
        while len(buf) < size:
            x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
            buf += words[(x >> 16) % 20]
            buf += b" "
        msgs.append(bytes(buf[:size]))
    return msgs


def zlib_cost_us(size: int = 1024, rounds: int = 20, level: int = -1) -> float:
    """CPU µs per echoed message spent in zlib alone on the server side.

    One inflate of a client message (compressed without context takeover)
    plus one deflate of the reply with context takeover and Z_SYNC_FLUSH, as a
    permessage-deflate server with library defaults does.

    Args:
        size: Message size.
        rounds: Passes over the 64 messages.
        level: zlib level of the reply's deflate: -1 is zlib's default (6,
            ws and pyws), 1 is aiohttp's ``Z_BEST_SPEED``.
    """
    msgs = compressible_messages(size)
    wire = []
    for m in msgs:
        c = zlib.compressobj(wbits=-15)
        wire.append(c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH))
    inflater = zlib.decompressobj(wbits=-15)
    deflater = zlib.compressobj(level, wbits=-15)
    t0 = time.process_time()
    for _ in range(rounds):
        for w in wire:
            data = inflater.decompress(w)
            deflater.compress(data)
            deflater.flush(zlib.Z_SYNC_FLUSH)
    return (time.process_time() - t0) / (rounds * len(wire)) * 1e6


# ---- report ----------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def fig_of(med: Json, key: str, name: str, field_name: str) -> float | None:
    fig = med.get(key, {}).get(name, {})
    value = fig.get(field_name)
    return float(value) if value is not None else None


def print_tables(med: Json, out: Callable[[str], None]) -> None:
    for key, impls in med.items():
        out("")
        out(f"== {key} ==")
        is_idle = key == "idle memory"
        is_lat = key.startswith("latency")
        is_client = key.startswith("client")
        is_big = any(s.key == key and s.kind == "big" for s in SCENARIOS)
        if key.startswith("fan-out"):
            out(
                f"{'impl':14} {'deliveries/s':>12} {'CPU us/delivery':>15} "
                f"{'subscribers':>11} {'pyws/this CPU':>14}"
            )
            base = impls.get("pyws", {})
            for name, fig in impls.items():
                if "error" in fig:
                    out(f"{name:14} ERROR: {fig['error']}")
                    continue
                dropped = (
                    f"  ({fig['missing']} deliveries dropped by the server)"
                    if fig.get("missing")
                    else ""
                )
                out(
                    f"{name:14} {fig['rate']:12.0f} {fig['cpu_us']:15.3f} "
                    f"{fig['connections']:11} "
                    f"{ratio(base.get('cpu_us'), fig['cpu_us']):>14}{dropped}"
                )
            continue
        if is_big:
            out(
                f"{'impl':14} {'ms/msg':>9} {'CPU ms/msg':>10} {'peak MiB':>9} "
                f"{'copies':>7} {'pyws/this time':>15}"
            )
            base = impls.get("pyws", {})
            for name, fig in impls.items():
                if "error" in fig:
                    out(f"{name:14} ERROR: {fig['error']}")
                    continue
                out(
                    f"{name:14} {fig['ms_per_msg']:9.2f} {fig['cpu_us'] / 1e3:10.2f} "
                    f"{fig['peak_mib']:9.1f} {fig['copies']:7.1f} "
                    f"{ratio(base.get('ms_per_msg'), fig['ms_per_msg']):>15}"
                )
            continue
        if is_idle:
            out(f"{'impl':14} {'KiB/conn':>10} {'RSS MiB':>9} {'pyws/this':>10}")
        else:
            extra = "   p50 us   p99 us" if is_lat else ""
            who = "client" if is_client else "srv"
            out(
                f"{'impl':14} {'msgs/s':>10} {'CPU us/msg':>10} {who + ' CPU':>8} "
                f"{'gen CPU':>8}{extra} {'pyws/this rate':>15} {'pyws/this CPU':>14}"
            )
        base = impls.get("pyws", {})
        for name, fig in impls.items():
            if "error" in fig:
                out(f"{name:14} ERROR: {fig['error']}")
                continue
            if is_idle:
                out(
                    f"{name:14} {fig['kib_per_conn']:10.2f} "
                    f"{fig['rss_kib'] / 1024:9.1f} "
                    f"{ratio(base.get('kib_per_conn'), fig['kib_per_conn']):>10}"
                )
                continue
            util = fig.get("client_util" if is_client else "server_util", 0.0)
            gen = "-" if is_client else f"{fig.get('gen_util', 0.0):.0%}"
            lat = f" {fig['p50_us']:8.1f} {fig['p99_us']:8.1f}" if is_lat else ""
            # a load generator near a full core may be what limits the rate
            bound = "  (loadgen-bound?)" if fig.get("gen_util", 0.0) >= 0.9 else ""
            out(
                f"{name:14} {fig['rate']:10.0f} {fig['cpu_us']:10.2f} {util:8.0%} "
                f"{gen:>8}{lat} {ratio(base.get('rate'), fig['rate']):>15} "
                f"{ratio(base.get('cpu_us'), fig['cpu_us']):>14}{bound}"
            )


def targets(med: Json) -> list[Json]:
    """The issue's targets, each with the measured ratio and PASS/FAIL."""
    rows: list[Json] = []

    def add(
        what: str, a: float | None, b: float | None, op: str, limit: float | None
    ) -> None:
        if a is None or b is None or b == 0:
            rows.append({"target": what, "ratio": None, "result": "N/A"})
            return
        r = a / b
        ok = None if limit is None else (r <= limit if op == "<=" else r >= limit)
        rows.append(
            {
                "target": what,
                "ratio": r,
                "limit": f"{op} {limit}" if limit is not None else "report",
                "result": "INFO" if ok is None else ("PASS" if ok else "FAIL"),
            }
        )

    for key in THROUGHPUT_KEYS:

        def cpu(name: str, key: str = key) -> float | None:
            return fig_of(med, key, name, "cpu_us")

        def rate(name: str, key: str = key) -> float | None:
            return fig_of(med, key, name, "rate")

        add(f"{key}: CPU/msg vs websockets", cpu("pyws"), cpu("websockets"), "<=", 0.5)
        add(f"{key}: CPU/msg vs aiohttp", cpu("pyws"), cpu("aiohttp"), "<=", 0.8)
        # issue 15: half of Node ws's CPU, but for 64 KiB (memcpy-bound)
        ws_limit = 1.0 if key == "echo 64 KiB" else 0.5
        add(f"{key}: CPU/msg vs ws", cpu("pyws"), cpu("ws"), "<=", ws_limit)
        add(f"{key}: CPU/msg vs picows", cpu("pyws"), cpu("picows"), "", None)
        add(f"{key}: msgs/s vs websockets", rate("pyws"), rate("websockets"), ">=", 2.0)
        add(f"{key}: msgs/s vs aiohttp", rate("pyws"), rate("aiohttp"), ">=", 1.2)
    add(
        "echo 16 B: CPU/msg vs bare asyncio echo",
        fig_of(med, "echo 16 B", "pyws", "cpu_us"),
        fig_of(med, "echo 16 B", "plain", "cpu_us"),
        "<=",
        1.5,
    )
    lat = "latency 16 B"
    for mine, bare in (("pyws", "plain"), ("pyws-uvloop", "plain-uvloop")):
        add(
            f"latency p50: {mine} vs {bare} (bare TCP echo)",
            fig_of(med, lat, mine, "p50_us"),
            fig_of(med, lat, bare, "p50_us"),
            "<=",
            1.1,
        )
    add(
        "latency p50 vs aiohttp",
        fig_of(med, lat, "pyws", "p50_us"),
        fig_of(med, lat, "aiohttp", "p50_us"),
        "<=",
        1.0,
    )
    hs = "handshakes"
    add(
        "handshakes/s vs websockets",
        fig_of(med, hs, "pyws", "rate"),
        fig_of(med, hs, "websockets", "rate"),
        ">=",
        1.0,
    )
    add(
        "CPU/handshake vs websockets",
        fig_of(med, hs, "pyws", "cpu_us"),
        fig_of(med, hs, "websockets", "cpu_us"),
        "<=",
        1.0,
    )
    for mine, peer in (("pyws", "picows"), ("pyws-uvloop", "picows-uvloop")):
        add(
            f"CPU/handshake: {mine} vs {peer}",
            fig_of(med, hs, mine, "cpu_us"),
            fig_of(med, hs, peer, "cpu_us"),
            "<=",
            1.0,
        )
    # every pyws-on-uvloop figure at most pyws on the default loop
    uv: list[tuple[str, str]] = [(k, "cpu_us") for k in THROUGHPUT_KEYS]
    uv += [(lat, "p50_us"), (hs, "cpu_us"), ("idle memory", "kib_per_conn")]
    uv += [(s.key, "ms_per_msg") for s in SCENARIOS if s.kind == "big"]
    for key, field_name in uv:
        add(
            f"uvloop vs default loop: {key} {field_name}",
            fig_of(med, key, "pyws-uvloop", field_name),
            fig_of(med, key, "pyws", field_name),
            "<=",
            1.0,
        )
    for sc in SCENARIOS:
        if sc.kind != "big":
            continue
        add(
            f"{sc.key}: time/msg vs websockets",
            fig_of(med, sc.key, "pyws", "ms_per_msg"),
            fig_of(med, sc.key, "websockets", "ms_per_msg"),
            "<=",
            1.0,
        )
        add(
            f"{sc.key}: peak memory vs websockets",
            fig_of(med, sc.key, "pyws", "peak_mib"),
            fig_of(med, sc.key, "websockets", "peak_mib"),
            "",
            None,
        )
    add(
        "memory/idle conn vs websockets",
        fig_of(med, "idle memory", "pyws", "kib_per_conn"),
        fig_of(med, "idle memory", "websockets", "kib_per_conn"),
        "<=",
        1.0,
    )
    cl = "client role 1 KiB"
    add(
        "client CPU/msg vs websockets client",
        fig_of(med, cl, "pyws", "cpu_us"),
        fig_of(med, cl, "websockets", "cpu_us"),
        "<=",
        0.5,
    )
    add(
        "client CPU/msg vs aiohttp client",
        fig_of(med, cl, "pyws", "cpu_us"),
        fig_of(med, cl, "aiohttp", "cpu_us"),
        "",
        None,
    )
    ch = "client handshakes"
    for peer in ("websockets", "aiohttp"):
        add(
            f"client CPU/handshake vs {peer} client",
            fig_of(med, ch, "pyws", "cpu_us"),
            fig_of(med, ch, peer, "cpu_us"),
            "<=",
            1.0,
        )
    add(
        "deflate CPU/msg vs aiohttp",
        fig_of(med, DEFLATE.key, "pyws", "cpu_us"),
        fig_of(med, DEFLATE.key, "aiohttp", "cpu_us"),
        "<=",
        1.0,
    )
    # fan-out (fanout.py's scenario): one message to 1,000 subscribers.
    for size in FANOUT_SIZES:
        key = fanout_key(size)
        add(
            f"{key}: CPU/delivery vs Node ws",
            fig_of(med, key, "pyws", "cpu_us"),
            fig_of(med, key, "ws", "cpu_us"),
            "<=",
            0.5,
        )
    # uvicorn + Starlette: pyws's protocol must cost the server the least.
    for key in (*THROUGHPUT_KEYS, hs):
        for other in ("uvicorn-websockets", "uvicorn-wsproto"):
            add(
                f"{key}: uvicorn CPU/msg, pyws vs {other.split('-', 1)[1]}",
                fig_of(med, key, "uvicorn-pyws", "cpu_us"),
                fig_of(med, key, other, "cpu_us"),
                "<=",
                1.0,
            )
    return rows


def print_targets(rows: list[Json], out: Callable[[str], None]) -> None:
    out("")
    out("== targets (pyws on the default asyncio loop; ratio = pyws / other) ==")
    for row in rows:
        r = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        out(f"{row['result']:5} {row['target']:52} {r:>8}  {row.get('limit', '')}")


# ---- setup -----------------------------------------------------------------


def ensure_setup(install: bool, log: Callable[[str], None]) -> None:
    """Builds loadgen; installs the benchmark dependencies when missing."""
    if install:
        mods = ("websockets", "aiohttp", "picows", "uvloop")
        if any(importlib.util.find_spec(m) is None for m in mods):
            log("installing Python benchmark dependencies")
            subprocess.run(
                [
                    PY,
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "-r",
                    str(HERE / "requirements.txt"),
                ],
                check=False,
            )
        if not (HERE / "node_modules" / "ws").is_dir() and shutil.which("npm"):
            log("installing Node ws and bufferutil (npm ci)")
            subprocess.run(["npm", "ci", "--prefix", str(HERE)], check=False)
    src = HERE / "loadgen.c"
    if not LOADGEN.exists() or LOADGEN.stat().st_mtime < src.stat().st_mtime:
        BUILD.mkdir(parents=True, exist_ok=True)
        log("building loadgen (cc -O2)")
        subprocess.run(["cc", "-O2", "-o", str(LOADGEN), str(src), "-lz"], check=True)


def snapshot_pyws(rev: str) -> Path:
    """Extracts pyws at ``rev`` into build/, so edits under way do not leak in.

    The compiled ``pyws.speedups`` (git-ignored) is copied from the working
    tree only when ``speedups.c`` there is the same as at ``rev``.

    Args:
        rev: A git revision of /work/main (anything ``git archive`` takes).

    Returns:
        The directory to put on PYTHONPATH.
    """
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run(
        [*git, "rev-parse", "--short", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    dest = BUILD / f"pyws-{commit}"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = subprocess.run(
        [*git, "archive", "--format=tar", commit, "pyws"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    src_c = ROOT / "pyws" / "speedups.c"
    snap_c = dest / "pyws" / "speedups.c"
    if src_c.exists() and snap_c.exists() and src_c.read_bytes() == snap_c.read_bytes():
        for so in (ROOT / "pyws").glob("speedups*.so"):
            shutil.copy2(so, dest / "pyws" / so.name)
    (dest / "COMMIT").write_text(commit + "\n")
    return dest


def pyws_state() -> Json:
    """The pyws tree the servers import: commit, local changes, C speedups."""
    info: Json = {"path": str(PYWS_PATH)}
    commit_file = PYWS_PATH / "COMMIT"
    if commit_file.exists():
        info["commit"] = commit_file.read_text().strip()
        info["dirty"] = False
    else:
        try:
            git = ["git", "-C", str(ROOT)]
            info["commit"] = subprocess.run(
                [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
            ).stdout.strip()
            info["dirty"] = bool(
                subprocess.run(
                    [*git, "status", "--porcelain", "--", "pyws"],
                    capture_output=True,
                    text=True,
                ).stdout.strip()
            )
        except OSError:
            pass
    probe = subprocess.run(
        [PY, "-c", "import pyws.speedups"],
        cwd=PYWS_PATH,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(PYWS_PATH)},
    )
    info["speedups"] = probe.returncode == 0 and not os.environ.get("PYWS_NO_SPEEDUPS")
    return info


def versions() -> Json:
    info: Json = {
        "pyws": pyws_state(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
    }
    for mod in ("websockets", "aiohttp", "picows", "uvloop"):
        try:
            from importlib.metadata import version

            info[mod] = version(mod)
        except Exception:
            info[mod] = None
    try:
        info["node"] = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        pkg = json.loads((HERE / "node_modules" / "ws" / "package.json").read_text())
        info["ws"] = pkg["version"]
        info["bufferutil"] = (HERE / "node_modules" / "bufferutil").is_dir()
    except Exception:
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    global IMPLS, PYWS_PATH
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="Setup: pip install -r scripts/bench/requirements.txt; npm ci --prefix "
        "scripts/bench. Missing ones are installed by this script unless --no-install. "
        "Implementations: " + ", ".join(i.name for i in IMPLS) + ".",
    )
    parser.add_argument(
        "--quick", action="store_true", help="short smoke run (< 1 min)"
    )
    parser.add_argument("--runs", type=int, help="rounds, median reported (default 3)")
    parser.add_argument("--only", help="comma-separated implementations, e.g. pyws,ws")
    parser.add_argument(
        "--scenarios",
        help="comma-separated scenario names, e.g. 'echo 64 KiB,latency 16 B'",
    )
    parser.add_argument(
        "--json",
        type=Path,
        help="write results here (default scripts/bench/results/bench-<time>.json)",
    )
    parser.add_argument("--duration-ms", type=int, help="measured window per scenario")
    parser.add_argument(
        "--no-install", action="store_true", help="never run pip or npm"
    )
    parser.add_argument(
        "--pyws-rev",
        metavar="REV",
        help="benchmark pyws as committed at REV (e.g. HEAD), not the working tree",
    )
    parser.add_argument(
        "--python-ft",
        metavar="PATH",
        help="also run pyws's echo server under this free-threaded CPython "
        "(3.13t or later): the pyws-ft row",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only profile the pyws server (cProfile): 1 KiB and 64 KiB echoes, "
        "or the --scenarios given",
    )
    parser.add_argument(
        "--no-fanout",
        action="store_true",
        help="skip the fan-out scenario (fanout.py's, 1,000 subscribers; "
        "--scenarios 'fan-out 16 B' runs only it)",
    )
    parser.add_argument(
        "--no-saturation",
        action="store_true",
        help="skip the load generator headroom check",
    )
    args = parser.parse_args(argv)

    quick = args.quick
    cfg = Config(
        runs=args.runs or (1 if quick else 3),
        duration_ms=args.duration_ms or (400 if quick else 1500),
        warmup_ms=150 if quick else 400,
        idle_conns=200 if quick else 1000,
        only=set(args.only.split(",")) if args.only else None,
        profile=False,
        scenarios=set(args.scenarios.split(",")) if args.scenarios else None,
        client_duration=(args.duration_ms or (400 if quick else 1500)) / 1000,
        quick=quick,
    )

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, 8192):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    ensure_setup(not args.no_install, log)
    if args.pyws_rev:
        PYWS_PATH = snapshot_pyws(args.pyws_rev)
    ft_impl, ft_info = free_threaded_impl(args.python_ft)
    if ft_impl is not None:
        IMPLS = (*IMPLS, ft_impl)
        log(
            f"pyws-ft: {ft_info['path']}, Python {ft_info['python']} free-threaded, "
            f"GIL {'ON' if ft_info['gil_enabled'] else 'off'} after importing pyws"
        )
    elif cfg.only is None or "pyws-ft" in cfg.only:
        log(f"pyws-ft row skipped: {ft_info['skipped']}")
    if args.profile:
        profile_pyws(cfg, print)
        return 0
    t0 = time.monotonic()
    env = versions()
    env["pyws-ft"] = ft_info
    log(f"pyws {env['pyws']}; load average {os.getloadavg()[0]:.1f}")
    rounds = []
    for n in range(1, cfg.runs + 1):
        log(f"round {n}/{cfg.runs}")
        rounds.append(one_round(cfg, n, log))
    med = median_of(rounds)
    if not args.no_fanout:
        log("fan-out")
        med.update(run_fanout(cfg, log))

    saturation: Json = {}
    if not args.no_saturation and not quick:
        # the fastest WebSocket server: a raw byte echo batches differently
        raw = {i.name for i in IMPLS if i.raw}
        rates = {
            n: f["rate"]
            for n, f in med.get("echo 1 KiB", {}).items()
            if "rate" in f and n not in raw
        }
        if rates:
            try:
                saturation = saturation_check(
                    max(rates, key=lambda n: rates[n]), cfg, log
                )
            except Exception as exc:
                saturation = {"error": str(exc)}

    zlib_us = zlib_cost_us()
    zlib_fast_us = zlib_cost_us(level=1)
    print_tables(med, print)
    rows = targets(med)
    print_targets(rows, print)
    pyws_deflate = fig_of(med, DEFLATE.key, "pyws", "cpu_us")
    print("")
    print(
        f"zlib alone (inflate + deflate of one 1 KiB message): {zlib_us:.2f} us/msg "
        f"at the default level (6), {zlib_fast_us:.2f} us/msg at level 1 (aiohttp's "
        "Z_BEST_SPEED, pyws's default)"
    )
    if pyws_deflate:
        print(
            f"zlib share of pyws's deflate CPU/msg ({pyws_deflate:.2f} us): "
            f"{zlib_fast_us / pyws_deflate:.0%} if pyws deflates at level 1, "
            f"{zlib_us / pyws_deflate:.0%} if at level 6"
        )
    if saturation and "gain" in saturation:
        print(
            f"loadgen headroom: on {saturation['impl']}, doubling connections and "
            f"in-flight gave x{saturation['gain']:.2f} msgs/s; loadgen used "
            f"{saturation['8x16']['gen_util']:.0%} of a core while the server used "
            f"{saturation['8x16']['server_util']:.0%} (2 CPUs; the generator is the "
            f"bottleneck only if it nears 100%; a gain from doubling means the server "
            f"batches more per system call, not that the generator was short)"
        )
    if ft_impl is not None:
        print(
            f"pyws-ft: Python {ft_info['python']} free-threaded ({ft_info['path']}), "
            f"C speedups {'on' if ft_info['speedups'] else 'off'}, GIL "
            f"{'re-enabled' if ft_info['gil_enabled'] else 'off'} with pyws imported"
        )
    elapsed = time.monotonic() - t0
    load = os.getloadavg()[0]
    # the benchmark itself keeps about 2 runnable (server and load generator)
    if load > (os.cpu_count() or 1) + 2:
        print(
            f"WARNING: load average {load:.1f} on {os.cpu_count()} CPUs: other "
            "processes competed for the CPUs, so msgs/s, latency and handshakes/s "
            "are unreliable; CPU per message is the figure to trust"
        )
    print(
        f"{cfg.runs} run(s), medians; {elapsed:.0f} s in all; pyws {env['pyws']}; "
        f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )

    path = args.json or RESULTS / time.strftime("bench-%Y%m%d-%H%M%S.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "config": {
                    "runs": cfg.runs,
                    "duration_ms": cfg.duration_ms,
                    "warmup_ms": cfg.warmup_ms,
                    "idle_conns": cfg.idle_conns,
                    "quick": quick,
                },
                "versions": env,
                "loadavg_end": os.getloadavg(),
                "median": med,
                "runs": rounds,
                "targets": rows,
                "zlib_us_per_msg": zlib_us,
                "zlib_level1_us_per_msg": zlib_fast_us,
                "saturation": saturation,
                "elapsed_s": elapsed,
            },
            indent=2,
        )
    )
    print(f"JSON written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
