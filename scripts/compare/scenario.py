"""The scenario file format: load, validate, and list the library.

Owns the schema described in ``scripts/compare/README.md``: one JSON file per
scenario under ``scenarios/``. JSON (not TOML) so that Python 3.10, which has
no ``tomllib``, reads it with the stdlib. Stdlib only; must not import
``pyws``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SCENARIO_DIR",
    "ScenarioError",
    "Scenario",
    "load",
    "load_all",
    "find",
]

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

_ROLES = ("server", "client")
_TRIGGERS = ("open", "message", "ping", "pong", "error", "close")
_ACTIONS = (
    "send",
    "ping",
    "pong",
    "close",
    "terminate",
    "pause",
    "resume",
    "log_state",
    "shutdown",
)
_STEPS = (
    "send_frame",
    "send_frames",
    "send_hex",
    "wait_frame",
    "wait_event",
    "wait_ms",
    "wait_eof",
    "half_close",
    "close",
    "reset",
    "echo_ping",
)
_FRAME_KEYS = {
    "opcode",
    "payload",
    "payload_hex",
    "fin",
    "rsv1",
    "rsv2",
    "rsv3",
    "mask",
    "close_code",
    "close_reason",
    "close_reason_hex",
    "payload_size",
}
_IMPL_KEYS = {"options", "actions", "path", "protocols", "heartbeat"}
_OPCODES = ("cont", "text", "binary", "close", "ping", "pong")


class ScenarioError(ValueError):
    """A scenario file does not follow the format."""


@dataclass
class Scenario:
    """One parsed scenario file."""

    name: str
    path: Path
    description: str
    role: str
    rules: list[str]
    implementation: dict[str, Any]
    peer: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @property
    def any_payload(self) -> list[str]:
        """Opcodes whose payloads are not compared (random heartbeat pings)."""
        opcodes: list[str] = self.raw.get("any_payload", [])
        return opcodes

    @property
    def close_timeout_ms(self) -> float:
        """The implementation's closeTimeout (ws default 30000 ms)."""
        options = self.implementation.get("options", {})
        return float(options.get("closeTimeout", 30000))

    @property
    def script(self) -> list[dict[str, Any]]:
        """The raw peer's steps."""
        steps: list[dict[str, Any]] = self.peer.get("script", [])
        return steps

    def delays_ms(self) -> list[float]:
        """Every fixed delay the scenario itself introduces (for timing buckets)."""
        out: list[float] = []
        for step in self.script:
            for key in ("wait_ms", "wait_eof"):
                if key in step:
                    out.append(float(step[key]))
        for action in self.implementation.get("actions", []):
            if action.get("after_ms"):
                out.append(float(action["after_ms"]))
        heartbeat = self.implementation.get("heartbeat")
        if heartbeat:
            out.append(2.0 * (heartbeat["interval_ms"] + heartbeat["timeout_ms"]))
        return out

    def adapter_config(self) -> dict[str, Any]:
        """The part handed to an adapter (port is added by the runner)."""
        config = dict(self.implementation)
        config["role"] = self.role
        return config


def _fail(path: Path, message: str) -> ScenarioError:
    return ScenarioError(f"{path.name}: {message}")


def _check_frame(path: Path, frame: Any) -> None:
    if not isinstance(frame, dict):
        raise _fail(path, "a frame must be an object")
    unknown = set(frame) - _FRAME_KEYS
    if unknown:
        raise _fail(path, f"unknown frame keys {sorted(unknown)}")
    if "opcode" not in frame:
        raise _fail(path, "a frame needs an opcode")


def _check_step(path: Path, step: Any) -> None:
    if not isinstance(step, dict):
        raise _fail(path, "each script step must be an object")
    kinds = [key for key in step if key in _STEPS]
    if len(kinds) != 1:
        raise _fail(path, f"step {step!r} must have exactly one of {_STEPS}")
    extra = set(step) - {kinds[0], "timeout_ms"}
    if extra:
        raise _fail(path, f"step {step!r} has unknown keys {sorted(extra)}")
    kind = kinds[0]
    if kind == "send_frame":
        _check_frame(path, step[kind])
    elif kind == "send_frames":
        if not isinstance(step[kind], list) or not step[kind]:
            raise _fail(path, "send_frames takes a non-empty list")
        for frame in step[kind]:
            _check_frame(path, frame)
    elif kind == "send_hex":
        try:
            bytes.fromhex(step[kind])
        except (TypeError, ValueError) as exc:
            raise _fail(path, f"send_hex: {exc}") from None


def _check_action(path: Path, action: Any) -> None:
    if not isinstance(action, dict):
        raise _fail(path, "each action must be an object")
    if action.get("on") not in _TRIGGERS:
        raise _fail(path, f"action {action!r}: 'on' must be one of {_TRIGGERS}")
    if action.get("do") not in _ACTIONS:
        raise _fail(path, f"action {action!r}: 'do' must be one of {_ACTIONS}")
    if "data_size" in action and not isinstance(action["data_size"], int):
        raise _fail(path, f"action {action!r}: data_size must be an integer")


def _check_heartbeat(path: Path, heartbeat: Any) -> None:
    if not isinstance(heartbeat, dict) or set(heartbeat) != {
        "interval_ms",
        "timeout_ms",
    }:
        raise _fail(path, "heartbeat must be {interval_ms, timeout_ms}")
    if not all(isinstance(v, (int, float)) and v > 0 for v in heartbeat.values()):
        raise _fail(path, "heartbeat times must be positive numbers")


def load(path: Path) -> Scenario:
    """Read and validate one scenario file.

    Raises:
        ScenarioError: The file is not valid JSON or breaks the format.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _fail(path, f"invalid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise _fail(path, "the top level must be an object")
    for key in ("description", "role", "implementation", "peer"):
        if key not in raw:
            raise _fail(path, f"missing {key!r}")
    known = {
        "description",
        "role",
        "rules",
        "decision",
        "departure",
        "implementation",
        "peer",
        "any_payload",
    }
    unknown = set(raw) - known
    if unknown:
        raise _fail(path, f"unknown keys {sorted(unknown)}")
    if raw["role"] not in _ROLES:
        raise _fail(path, f"role must be one of {_ROLES}")
    impl = raw["implementation"]
    peer = raw["peer"]
    if not isinstance(impl, dict) or not isinstance(peer, dict):
        raise _fail(path, "implementation and peer must be objects")
    unknown = set(impl) - _IMPL_KEYS
    if unknown:
        raise _fail(path, f"unknown implementation keys {sorted(unknown)}")
    for action in impl.get("actions", []):
        _check_action(path, action)
    if "heartbeat" in impl:
        _check_heartbeat(path, impl["heartbeat"])
    any_payload = raw.get("any_payload", [])
    if not isinstance(any_payload, list) or set(any_payload) - set(_OPCODES):
        raise _fail(path, f"any_payload must list opcodes from {_OPCODES}")
    script = peer.get("script", [])
    if not isinstance(script, list):
        raise _fail(path, "peer.script must be a list")
    for step in script:
        _check_step(path, step)
    for key in ("decision", "departure"):
        text = raw.get(key)
        if text is not None and not (isinstance(text, str) and text):
            raise _fail(path, f"{key} must be a non-empty string")
    rules = raw.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise _fail(path, "rules must be a list of strings")
    return Scenario(
        name=path.stem,
        path=path,
        description=str(raw["description"]),
        role=raw["role"],
        rules=rules,
        implementation=impl,
        peer=peer,
        raw=raw,
    )


def load_all(directory: Path = SCENARIO_DIR) -> list[Scenario]:
    """Load every ``*.json`` scenario in ``directory``, sorted by name."""
    return [load(path) for path in sorted(directory.glob("*.json"))]


def find(name_or_path: str, directory: Path = SCENARIO_DIR) -> Scenario:
    """Load a scenario by file path or by name in the library."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        return load(path)
    candidate = directory / f"{name_or_path}.json"
    if candidate.exists():
        return load(candidate)
    raise ScenarioError(f"no scenario named {name_or_path!r}")
