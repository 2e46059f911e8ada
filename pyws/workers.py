"""Several processes on one port: a supervisor of ``SO_REUSEPORT`` workers.

One Python process runs one event loop on one core. To use more cores, run
several processes that each accept on the same port: the kernel's
``SO_REUSEPORT`` spreads new connections among their listening sockets
(Linux: by a hash of the addresses; each connection then stays with the
process that accepted it). :func:`run` does this for a ``WebSocketServer``::

    import pyws, pyws.workers

    def setup(wss):                     # runs in every worker
        wss.on("connection", on_connection)

    if __name__ == "__main__":
        pyws.workers.run(setup, workers=4, port=8080)

The parent process only supervises: it binds the port without listening
(so ``port=0`` picks one free port for all, and no other program takes it
between restarts), starts the workers, and:

- restarts a worker that dies, after a backoff that doubles from
  :data:`RESTART_DELAY` up to :data:`RESTART_DELAY_MAX` while workers keep
  dying within :data:`STABLE_AFTER` seconds of their start;
- on SIGTERM or SIGINT, sends SIGTERM to every worker, which shuts its
  server down gracefully (``wss.shutdown()``: every client closed with
  1001, then the server), and waits up to ``stop_timeout`` seconds before
  killing what is left; a second signal kills at once.

Workers run in their own process group (a terminal's Ctrl-C reaches only
the parent, which stops them in order) and, on Linux, get SIGTERM if the
parent dies. They are started with the ``spawn`` method by default:
``setup`` must then be importable (a module-level function); pass
``start_method='fork'`` to use closures.

systemd socket activation: :func:`listen_fds` returns the descriptors
systemd passed (``LISTEN_FDS``, from 3 on); give one to
``WebSocketServer(fd=...)``.

Facade layer: uses the public ``WebSocketServer`` and the stdlib.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection, wait
from typing import Any, cast

from ._options import SERVER_OPTIONS, parse_options
from .constants import CloseCode
from .typing import ServerOptions
from .websocket_server import WebSocketServer

__all__ = [
    "run",
    "Supervisor",
    "listen_fds",
    "shutdown",
    "RESTART_DELAY",
    "RESTART_DELAY_MAX",
    "STABLE_AFTER",
    "deaths_in_a_row",
    "restart_delay",
    "reserve_port",
]

#: Seconds before the first restart of a worker that died.
RESTART_DELAY = 0.1
#: The longest wait before a restart, in seconds.
RESTART_DELAY_MAX = 10.0
#: A worker that ran this many seconds resets the backoff.
STABLE_AFTER = 30.0
#: Seconds a worker has to start listening.
START_TIMEOUT = 30.0

#: systemd's first passed descriptor (``SD_LISTEN_FDS_START``).
SD_LISTEN_FDS_START = 3

Log = Callable[[str], None]


def listen_fds(unset_environment: bool = True) -> list[int]:
    """The listening sockets systemd passed to this process (socket
    activation): ``[3, 4, ...]``, or ``[]`` when ``LISTEN_PID`` is not this
    process. Like ``sd_listen_fds()``, unsets the variables unless told not
    to, so that child processes do not take the sockets for theirs."""
    try:
        pid = int(os.environ.get("LISTEN_PID", ""))
        count = int(os.environ.get("LISTEN_FDS", ""))
    except ValueError:
        return []
    if unset_environment:
        for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            os.environ.pop(name, None)
    if pid != os.getpid() or count <= 0:
        return []
    return list(range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count))


async def shutdown(wss: WebSocketServer, timeout: float) -> None:
    """Shut ``wss`` down gracefully (:meth:`WebSocketServer.shutdown`:
    every client closed with 1001, then the server) within ``timeout``
    seconds; ``closeTimeout`` destroys what does not answer."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(
            wss.shutdown(CloseCode.GOING_AWAY, "server shutting down"), timeout
        )


def reserve_port(host: str | None, port: int) -> socket.socket:
    """Bind ``SO_REUSEPORT`` on ``(host, port)`` without listening: the port
    is held for the workers (each binds and listens on it too) and never
    gets a connection itself. ``port=0`` picks a free port."""
    family = socket.AF_INET6 if host is None and socket.has_ipv6 else socket.AF_INET
    bind_host = "::" if family == socket.AF_INET6 else (host or "0.0.0.0")
    if host is not None:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        bind_host = str(infos[0][4][0])
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6 and host is None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((bind_host, port))
    except OSError:
        sock.close()
        raise
    return sock


def deaths_in_a_row(previous: int, lived: float) -> int:
    """How many times in a row a worker has died, counting this death: a
    worker that ran :data:`STABLE_AFTER` seconds starts a new row."""
    return 1 if lived >= STABLE_AFTER else previous + 1


def restart_delay(deaths: int) -> float:
    """Seconds before restarting a worker that died ``deaths`` times in a
    row: :data:`RESTART_DELAY`, doubling, at most :data:`RESTART_DELAY_MAX`."""
    return float(min(RESTART_DELAY * 2 ** max(deaths - 1, 0), RESTART_DELAY_MAX))


def _worker_entry(
    target: Callable[[int, Any, Callable[[], None]], Any],
    index: int,
    args: Any,
    conn: Connection,
) -> None:
    # Out of the terminal's process group: Ctrl-C is the parent's to handle.
    with contextlib.suppress(OSError):
        os.setpgrp()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            # PR_SET_PDEATHSIG: SIGTERM when the supervisor dies.
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def ready() -> None:
        with contextlib.suppress(OSError):
            conn.send(("ready", os.getpid()))

    status = target(index, args, ready)
    sys.exit(status if isinstance(status, int) else 0)


class _Worker:
    __slots__ = ("index", "process", "conn", "started", "failures", "restart_at")

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: Any = None
        self.conn: Connection | None = None
        self.started = 0.0
        self.failures = 0
        self.restart_at: float | None = None


class Supervisor:
    """Run ``target(index, args, ready)`` in ``workers`` processes.

    ``target`` runs in each worker; it calls ``ready()`` once it accepts
    connections and returns (an exit status) after SIGTERM. The supervisor
    restarts a worker that exits unexpectedly (backoff as described in the
    module docstring) and stops them all on SIGTERM/SIGINT.
    """

    def __init__(
        self,
        target: Callable[[int, Any, Callable[[], None]], Any],
        args: Any,
        workers: int,
        *,
        start_method: str = "spawn",
        stop_timeout: float = 35.0,
        log: Log | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.target = target
        self.args = args
        self.ctx: Any = multiprocessing.get_context(start_method)
        self.stop_timeout = stop_timeout
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.workers = [_Worker(i + 1) for i in range(workers)]
        #: The first words of the line logged once every worker listens.
        self.ready_text = f"{workers} workers listening"
        self._signals = 0
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    # -- signals -------------------------------------------------------------

    def _on_signal(self, signum: int, frame: object) -> None:
        self._signals += 1
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")
        if self._signals > 1:
            for w in self.workers:
                self._kill(w, signal.SIGKILL)

    def _kill(self, w: _Worker, sig: int) -> None:
        proc = w.process
        if proc is not None and proc.pid is not None and proc.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)

    # -- workers -------------------------------------------------------------

    def _start(self, w: _Worker) -> None:
        parent, child = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(
            target=_worker_entry,
            args=(self.target, w.index, self.args, child),
            name=f"pyws-worker-{w.index}",
        )
        proc.start()
        child.close()
        w.process = proc
        w.conn = parent
        w.started = time.monotonic()
        w.restart_at = None

    def _reap(self, w: _Worker) -> None:
        proc = w.process
        proc.join()
        code = proc.exitcode
        if w.conn is not None:
            w.conn.close()
            w.conn = None
        w.process = None
        w.failures = deaths_in_a_row(w.failures, time.monotonic() - w.started)
        delay = restart_delay(w.failures)
        w.restart_at = time.monotonic() + delay
        how = f"signal {-code}" if code is not None and code < 0 else f"status {code}"
        self.log(
            f"worker {w.index} (pid {proc.pid}) exited with {how}; "
            f"restarting in {delay:.1f} s"
        )

    def _wait_ready(self, w: _Worker, deadline: float) -> bool:
        conn = w.conn
        assert conn is not None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._signals:
                return False
            ready = wait([conn, w.process.sentinel, self._wake_r], remaining)
            if conn in ready:
                try:
                    msg = conn.recv()
                except EOFError:
                    return False
                if msg and msg[0] == "ready":
                    return True
            elif ready:
                return False

    # -- main loop -----------------------------------------------------------

    def run(self) -> int:
        """Start the workers, supervise them until a signal; exit status."""
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            return self._run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._wake_r.close()
            self._wake_w.close()

    def _run(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        for w in self.workers:
            self._start(w)
        for w in self.workers:
            if not self._wait_ready(w, deadline):
                if self._signals:
                    break
                self.log(f"worker {w.index} did not start listening")
                self._stop_all()
                return 1
        else:
            self.on_ready()
        while not self._signals:
            now = time.monotonic()
            timeout = None
            waits: list[Any] = [self._wake_r]
            for w in self.workers:
                if w.process is not None:
                    waits.append(w.process.sentinel)
                    if w.conn is not None:
                        waits.append(w.conn)
                elif w.restart_at is not None:
                    left = max(w.restart_at - now, 0.0)
                    timeout = left if timeout is None else min(timeout, left)
            wait(waits, timeout)
            if self._signals:
                break
            for w in self.workers:
                if w.conn is not None and w.conn.poll():
                    self._on_restarted_ready(w)
                if w.process is not None and w.process.exitcode is not None:
                    self._reap(w)
                elif (
                    w.process is None
                    and w.restart_at is not None
                    and w.restart_at <= time.monotonic()
                ):
                    self._start(w)
                    pid = w.process.pid if w.process is not None else None
                    self.log(f"worker {w.index} restarted (pid {pid})")
        self._stop_all()
        return 0

    def _on_restarted_ready(self, w: _Worker) -> None:
        conn = w.conn
        assert conn is not None
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            conn.close()  # it died: its sentinel tells the rest
            w.conn = None
            return
        if msg and msg[0] == "ready":
            self.log(f"worker {w.index} (pid {msg[1]}) listening")

    def on_ready(self) -> None:
        """Every worker is listening: log :attr:`ready_text` and the pids."""
        pids = ", ".join(str(w.process.pid) for w in self.workers)
        self.log(f"{self.ready_text} (pids {pids})")

    def _stop_all(self) -> None:
        for w in self.workers:
            self._kill(w, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for w in self.workers:
            proc = w.process
            if proc is None:
                continue
            proc.join(max(deadline - time.monotonic(), 0.0))
            if proc.exitcode is None:
                self.log(f"worker {w.index} did not stop in time: killing it")
                self._kill(w, signal.SIGKILL)
                proc.join(5.0)
            if w.conn is not None:
                w.conn.close()
                w.conn = None
            w.process = None


# -- run(): a WebSocketServer in every worker ------------------------------------


def _serve_worker(index: int, args: Any, ready: Callable[[], None]) -> int:
    setup, options, stop_timeout = args
    return asyncio.run(_serve(setup, options, stop_timeout, ready))


async def _serve(
    setup: Callable[[WebSocketServer], Any],
    options: Mapping[str, Any],
    stop_timeout: float,
    ready: Callable[[], None],
) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    listening: asyncio.Future[None] = loop.create_future()

    def on_listening(*_: object) -> None:
        if not listening.done():
            listening.set_result(None)

    def on_error(err: BaseException) -> None:
        if not listening.done():
            listening.set_exception(err)

    wss = WebSocketServer(cast(ServerOptions, dict(options)))
    wss.on("listening", on_listening)
    wss.on("error", on_error)
    result = setup(wss)
    if inspect.isawaitable(result):
        await result
    try:
        await asyncio.wait_for(listening, START_TIMEOUT)
    except (OSError, asyncio.TimeoutError) as exc:
        print(f"worker {os.getpid()}: cannot listen: {exc}", file=sys.stderr)
        return 1
    wss.remove_listener("error", on_error)
    ready()
    await stop.wait()
    await shutdown(wss, stop_timeout)
    return 0


def run(
    setup: Callable[[WebSocketServer], Any],
    *,
    workers: int,
    port: int,
    host: str | None = None,
    start_method: str = "spawn",
    stop_timeout: float = 35.0,
    log: Log | None = None,
    options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> int:
    """Run a ``WebSocketServer`` on ``port`` in ``workers`` processes.

    In every worker: ``WebSocketServer(port=port, host=host, reusePort=True,
    **options)``, then ``setup(wss)`` (a function or ``async def``) to add
    listeners. Blocks until SIGTERM or SIGINT, then shuts the workers down
    gracefully (at most ``stop_timeout`` seconds) and returns 0; returns 1
    if a worker cannot start listening. Server options may be given as a
    dict (``options``) and/or keywords, in either spelling.
    """
    merged = parse_options(SERVER_OPTIONS, options, kwargs, "pyws.workers.run")
    for name in ("port", "host", "noServer", "server", "socket", "fd", "reusePort"):
        if merged[name] != SERVER_OPTIONS[name].default:
            raise TypeError(f"pyws.workers.run: option {name!r} is not for workers")
    merged = {k: v for k, v in merged.items() if v != SERVER_OPTIONS[k].default}
    reserved = reserve_port(host, port)
    try:
        actual = int(reserved.getsockname()[1])
        merged.update(port=actual, host=host, reusePort=True)
        sup = Supervisor(
            _serve_worker,
            (setup, merged, stop_timeout),
            workers,
            start_method=start_method,
            stop_timeout=stop_timeout + 5.0,
            log=log,
        )
        shown = f"[{host}]" if host and ":" in host else (host or "*")
        sup.ready_text = f"{workers} workers listening on {shown}:{actual}"
        return sup.run()
    finally:
        reserved.close()
