"""Run one scenario against one adapter and return its raw trace.

Owns the adapter processes: it starts the adapter for an implementation
(``ws``, ``pyws``, ``websockets``, ``aiohttp``, ``picows``, ``chromium``)
with the scenario's implementation part as its JSON argument, reads one JSON
line per event from its stdout, feeds those events to the raw peer (for
``wait_event`` steps) and bounds every wait by a budget derived from the
scenario's closeTimeout. Stdlib and asyncio only; must not import ``pyws``
(the pyws adapter runs in its own process).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from .rawpeer import RawPeer, now_ms
from .scenario import Scenario

__all__ = [
    "ADAPTERS",
    "ADAPTER_DIR",
    "REPO_ROOT",
    "adapter_command",
    "run_scenario",
    "unavailable",
]

ADAPTER_DIR = Path(__file__).resolve().parent / "adapters"
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Implementations the tool knows, by the name used on the command line.
ADAPTERS = ("ws", "pyws", "websockets", "aiohttp", "picows", "chromium")

#: Python implementations: the module each adapter imports.
_PY_MODULES = {
    "pyws": "pyws",
    "websockets": "websockets",
    "aiohttp": "aiohttp",
    "picows": "picows",
}

WS_MODULE = REPO_ROOT / "test" / "interop" / "node_modules" / "ws"


def chromium_binary() -> str | None:
    """Chromium's path: ``PYWS_COMPARE_CHROMIUM``, else from ``PATH``."""
    override = os.environ.get("PYWS_COMPARE_CHROMIUM")
    if override:
        return override
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable(name: str) -> str | None:
    """Why ``name`` cannot run here (not installed), or None when it can."""
    if name not in ADAPTERS:
        return f"unknown implementation {name!r}"
    if name == "ws":
        node = os.environ.get("PYWS_COMPARE_NODE", "node")
        if shutil.which(node) is None:
            return f"{node} not found"
        module = Path(os.environ.get("PYWS_COMPARE_WS_MODULE", WS_MODULE))
        if not module.is_dir():
            return f"{module} missing: npm ci --prefix test/interop"
        return None
    if name == "chromium":
        if chromium_binary() is None:
            return "chromium not found: apt-get install -y chromium"
        return None
    if importlib.util.find_spec(_PY_MODULES[name]) is None:
        return (
            f"Python package {_PY_MODULES[name]} not installed: "
            "pip install -r scripts/compare/requirements.txt"
        )
    return None


def adapter_command(name: str) -> list[str]:
    """The command line (without the config argument) for an adapter."""
    if name == "ws":
        return [
            os.environ.get("PYWS_COMPARE_NODE", "node"),
            str(ADAPTER_DIR / "ws_adapter.js"),
        ]
    if name in ADAPTERS:
        return [sys.executable, str(ADAPTER_DIR / f"{name}_adapter.py")]
    raise ValueError(f"unknown implementation {name!r} (known: {', '.join(ADAPTERS)})")


#: Extra start-up time an adapter may take before it connects or listens.
_STARTUP_S = {"chromium": 20.0}


class _NotApplicable(Exception):
    """The adapter said the scenario cannot be expressed with its API."""


def _budget_s(scenario: Scenario, factor: float) -> float:
    """The most one run may take: generous, but bounded."""
    total = 4 * scenario.close_timeout_ms + sum(scenario.delays_ms()) + 3000
    return total / 1000.0 * factor


async def run_scenario(
    scenario: Scenario, implementation: str, factor: float = 1.0
) -> dict[str, Any]:
    """Run ``scenario`` against ``implementation``; return the raw trace.

    Args:
        scenario: The scenario to run.
        implementation: One of :data:`ADAPTERS`.
        factor: Multiplies every bound (slow machines, CI).

    Returns:
        A JSON-ready trace: ``events`` (adapter lines), ``wire`` (raw peer
        entries), ``problems`` (runner-level failures), ``exit_code``,
        ``version`` (what the adapter reported) and ``not_applicable`` (the
        adapter's reason when the scenario cannot be expressed with its API,
        else None).
    """
    loop = asyncio.get_running_loop()
    start = now_ms()
    startup_s = _STARTUP_S.get(implementation, 0.0) * factor
    deadline = loop.time() + _budget_s(scenario, factor) + startup_s
    step_s = 5.0 * factor
    peer = RawPeer(scenario)
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    listening: asyncio.Future[int] = loop.create_future()
    not_applicable: asyncio.Future[str] = loop.create_future()
    version: list[str] = []
    adapter_done = asyncio.Event()
    config = scenario.adapter_config()
    port = 0
    if scenario.role == "client":
        port = await peer.listen()
        config["port"] = port
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
    )
    proc = await asyncio.create_subprocess_exec(
        *adapter_command(implementation),
        json.dumps(config),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO_ROOT),
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdin is not None
    stdout, stderr = proc.stdout, proc.stderr

    async def read_stdout() -> None:
        async for raw in stdout:
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                problems.append(f"adapter printed a non-JSON line: {raw[:200]!r}")
                continue
            events.append(record)
            peer.notify_adapter_event(record)
            name = record.get("event")
            if name == "version" and record.get("args"):
                version.append(str(record["args"][0]))
            if name == "not_applicable" and not not_applicable.done():
                args = record.get("args") or ["not applicable"]
                not_applicable.set_result(str(args[0]))
            if name == "listening" and not listening.done():
                listening.set_result(int(record["args"][0]))
            if (record.get("kind") == "event" and name == "close") or name == "exit":
                adapter_done.set()
                peer.notify()
        adapter_done.set()
        peer.notify()
        if not not_applicable.done():
            not_applicable.set_result("")
        if not listening.done() and scenario.role == "server":
            listening.set_exception(RuntimeError("adapter exited before listening"))

    async def unless_not_applicable(aw: Any) -> Any:
        """Await ``aw`` unless the adapter says not applicable first."""
        task = asyncio.ensure_future(aw)
        await asyncio.wait({task, not_applicable}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and not_applicable.done() and not_applicable.result():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise _NotApplicable(not_applicable.result())
        return await task

    stdout_task = loop.create_task(read_stdout())
    stderr_task = loop.create_task(stderr.read())
    reason: str | None = None
    try:
        if scenario.role == "server":
            port = await unless_not_applicable(asyncio.wait_for(listening, step_s))
            await peer.connect(port)
        else:
            await unless_not_applicable(peer.wait_connected(step_s + startup_s))
        await peer.handshake(port, step_s)
        remaining = deadline - loop.time()
        await asyncio.wait_for(peer.run_script(), max(remaining, 0.001))
        await peer.wait_end(adapter_done, deadline)
    except _NotApplicable as exc:
        reason = str(exc)
    except asyncio.TimeoutError:
        problems.append("timed out")
    except (OSError, RuntimeError) as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        await peer.close()
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), step_s)
        except asyncio.TimeoutError:
            problems.append("adapter did not exit; killed")
            proc.kill()
            await proc.wait()
        await stdout_task
        err_text = (await stderr_task).decode("utf-8", "replace")
    if proc.returncode != 0:
        problems.append(f"adapter exit code {proc.returncode}")
    return {
        "scenario": scenario.name,
        "implementation": implementation,
        "version": version[0] if version else implementation,
        "not_applicable": reason,
        "role": scenario.role,
        "close_timeout_ms": scenario.close_timeout_ms,
        "any_payload": scenario.any_payload,
        "delays_ms": scenario.delays_ms(),
        "start": start,
        "events": events,
        "wire": peer.entries,
        "problems": problems,
        "exit_code": proc.returncode,
        "stderr": err_text[-2000:],
    }
