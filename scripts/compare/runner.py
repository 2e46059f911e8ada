"""Run one scenario against one adapter and return its raw trace.

Owns the adapter processes: it starts the adapter for an implementation
(``ws`` or ``pyws``) with the scenario's implementation part as its JSON
argument, reads one JSON line per event from its stdout, feeds those events
to the raw peer (for ``wait_event`` steps) and bounds every wait by a budget
derived from the scenario's closeTimeout. Stdlib and asyncio only; must not
import ``pyws`` (the pyws adapter runs in its own process).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from .rawpeer import RawPeer, now_ms
from .scenario import Scenario

__all__ = ["ADAPTERS", "ADAPTER_DIR", "REPO_ROOT", "adapter_command", "run_scenario"]

ADAPTER_DIR = Path(__file__).resolve().parent / "adapters"
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Implementations the tool knows, by the name used on the command line.
ADAPTERS = ("ws", "pyws")


def adapter_command(name: str) -> list[str]:
    """The command line (without the config argument) for an adapter."""
    if name == "ws":
        return [
            os.environ.get("PYWS_COMPARE_NODE", "node"),
            str(ADAPTER_DIR / "ws_adapter.js"),
        ]
    if name == "pyws":
        return [sys.executable, str(ADAPTER_DIR / "pyws_adapter.py")]
    raise ValueError(f"unknown implementation {name!r} (known: {', '.join(ADAPTERS)})")


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
        implementation: ``"ws"`` or ``"pyws"``.
        factor: Multiplies every bound (slow machines, CI).

    Returns:
        A JSON-ready trace: ``events`` (adapter lines), ``wire`` (raw peer
        entries), ``problems`` (runner-level failures), ``exit_code``.
    """
    loop = asyncio.get_running_loop()
    start = now_ms()
    deadline = loop.time() + _budget_s(scenario, factor)
    step_s = 5.0 * factor
    peer = RawPeer(scenario)
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    listening: asyncio.Future[int] = loop.create_future()
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
            if name == "listening" and not listening.done():
                listening.set_result(int(record["args"][0]))
            if (record.get("kind") == "event" and name == "close") or name == "exit":
                adapter_done.set()
                peer.notify()
        adapter_done.set()
        peer.notify()
        if not listening.done() and scenario.role == "server":
            listening.set_exception(RuntimeError("adapter exited before listening"))

    stdout_task = loop.create_task(read_stdout())
    stderr_task = loop.create_task(stderr.read())
    try:
        if scenario.role == "server":
            port = await asyncio.wait_for(listening, step_s)
            await peer.connect(port)
        else:
            await peer.wait_connected(step_s)
        await peer.handshake(port, step_s)
        remaining = deadline - loop.time()
        await asyncio.wait_for(peer.run_script(), max(remaining, 0.001))
        await peer.wait_end(adapter_done, deadline)
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
        "role": scenario.role,
        "close_timeout_ms": scenario.close_timeout_ms,
        "delays_ms": scenario.delays_ms(),
        "start": start,
        "events": events,
        "wire": peer.entries,
        "problems": problems,
        "exit_code": proc.returncode,
        "stderr": err_text[-2000:],
    }
