"""Shared pieces of the Python adapters (websockets, aiohttp, picows, chromium).

Owns the adapter output format of ``scripts/compare/README.md`` ("Adapters"):
one JSON object per line, wall-clock ms, bytes as ``{"b": hex}`` (or
``{"len", "sha1"}`` past 1 KiB, like the raw peer's frames), errors as
``{"name", "code", "message", "statusCode"}``; the ``version`` and
``not_applicable`` meta lines; and the check that turns a scenario an
implementation cannot express into "not applicable" before anything
connects. Stdlib only; imports neither ``pyws`` nor the compare tool.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

#: Longer payloads are logged as length and SHA-1 (scripts/compare/frames.py).
LARGE = 1024


def now() -> float:
    """Wall-clock milliseconds (the raw peer's clock)."""
    return time.time() * 1000.0


def enc(value: Any) -> Any:
    """JSON-ready value: bytes become ``{"b": hex}`` (or length and SHA-1)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) > LARGE:
            return {"len": len(raw), "sha1": hashlib.sha1(raw).hexdigest()}
        return {"b": raw.hex()}
    if isinstance(value, (list, tuple)):
        return [enc(v) for v in value]
    return value


def enc_error(
    err: BaseException | None, status_code: int | None = None
) -> dict[str, Any] | None:
    """Describe an error; ``code`` is the library's own error code, if any."""
    if err is None:
        return None
    code = getattr(err, "code", None)
    # aiohttp's handshake errors keep the bare text in .message (str() adds
    # the URL, whose port changes every run).
    message = getattr(err, "message", None)
    return {
        "name": type(err).__name__,
        "code": code if isinstance(code, str) else None,
        "message": message if isinstance(message, str) else str(err),
        "statusCode": status_code,
    }


def log(kind: str, event: str, args: Iterable[Any], ready_state: int | None) -> None:
    """Print one JSON line (``readyState`` only when the API exposes one)."""
    record: dict[str, Any] = {
        "t": now(),
        "kind": kind,
        "event": event,
        "args": [enc(a) for a in args],
    }
    if ready_state is not None:
        record["readyState"] = ready_state
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def version(text: str) -> None:
    """Report the implementation and its version (``--matrix`` shows it)."""
    log("meta", "version", [text], None)


def not_applicable(reason: str) -> None:
    """Say the scenario cannot be expressed with this API, then exit."""
    log("meta", "not_applicable", [reason], None)
    log("meta", "exit", [], None)
    sys.exit(0)


def payload(action: dict[str, Any]) -> str | bytes | None:
    """The action's data: text, bytes (``data_hex``, ``data_size``) or None."""
    if "data_hex" in action:
        return bytes.fromhex(action["data_hex"])
    if "data_size" in action:
        block = bytes(range(256))
        size = int(action["data_size"])
        return (block * (size // 256 + 1))[:size]
    data = action.get("data")
    return None if data is None else str(data)


def heartbeat_from_options(config: dict[str, Any]) -> dict[str, Any]:
    """Read pyws's ``pingInterval``/``pingTimeout`` options (ms) as the
    scenario-level ``heartbeat``, so either spelling maps to the native one."""
    options = dict(config.get("options", {}))
    interval = options.pop("pingInterval", None)
    timeout = options.pop("pingTimeout", None)
    if interval:
        config = {**config, "options": options}
        config["heartbeat"] = {
            "interval_ms": interval,
            "timeout_ms": timeout or interval,
        }
    return config


def check(
    config: dict[str, Any],
    *,
    name: str,
    options: Iterable[str],
    actions: Iterable[str],
    triggers: Iterable[str] = ("open", "message", "error", "close"),
    send_options: Iterable[str] = ("binary",),
    roles: Iterable[str] = ("client", "server"),
    heartbeat: bool = True,
    extra: Callable[[dict[str, Any]], str | None] | None = None,
) -> None:
    """Exit with "not applicable" when ``config`` needs what ``name`` lacks.

    Args:
        config: The scenario's implementation part plus ``role``.
        name: The implementation, for the reason text.
        options: The scenario options (ws names) the adapter can map.
        actions: The actions the API can express.
        triggers: The events the API surfaces to the application.
        send_options: The ``send`` options it can express.
        roles: ``client`` and/or ``server``.
        heartbeat: Whether it has a native heartbeat (ping/timeout) option.
        extra: A last check of the adapter's own; returns a reason or None.
    """
    reason: str | None = None
    if config["role"] not in set(roles):
        reason = f"{name} has no {config['role']} role here"
    for option, value in config.get("options", {}).items():
        if reason is None and option not in set(options):
            reason = f"{name} has no option for {option}={json.dumps(value)}"
    for action in config.get("actions", []):
        if reason is not None:
            break
        if action["do"] not in set(actions):
            reason = f"{name} cannot {action['do']}()"
        elif action["on"] not in set(triggers):
            reason = f"{name} does not surface '{action['on']}' to the application"
        else:
            for key, value in action.get("options", {}).items():
                if key not in set(send_options):
                    reason = f"{name} cannot send with {key}={json.dumps(value)}"
    if reason is None and "heartbeat" in config and not heartbeat:
        reason = f"{name} has no heartbeat option"
    if reason is None and extra is not None:
        reason = extra(config)
    if reason is not None:
        not_applicable(reason)


def watch_stdin_end(
    loop: asyncio.AbstractEventLoop, callback: Callable[[], None]
) -> None:
    """Call ``callback`` once stdin ends (the runner's "stop now")."""
    fd = sys.stdin.fileno()

    def on_readable() -> None:
        if not os.read(fd, 4096):
            loop.remove_reader(fd)
            callback()

    loop.add_reader(fd, on_readable)


class Triggers:
    """Runs a scenario's actions on the ``nth`` occurrence of each event.

    ``do`` is called with each action in file order; ``after_ms`` actions are
    delayed with the loop's timer. ``pending`` counts delayed actions not yet
    run (an adapter exits only when it is zero).
    """

    def __init__(
        self, config: dict[str, Any], do: Callable[[dict[str, Any]], None]
    ) -> None:
        """Keep the actions and the function that runs one."""
        self.actions: list[dict[str, Any]] = list(config.get("actions", []))
        self.do = do
        self.counts: dict[str, int] = {}
        self.pending = 0
        self.on_idle: Callable[[], None] = lambda: None

    def __call__(self, event: str) -> None:
        """``event`` happened: run the actions bound to this occurrence."""
        self.counts[event] = self.counts.get(event, 0) + 1
        loop = asyncio.get_running_loop()
        for action in self.actions:
            if action["on"] != event or action.get("nth", 1) != self.counts[event]:
                continue
            if action.get("after_ms"):
                self.pending += 1

                def later(action: dict[str, Any] = action) -> None:
                    self.pending -= 1
                    self.do(action)
                    self.on_idle()

                loop.call_later(action["after_ms"] / 1000.0, later)
            else:
                self.do(action)
