"""Normalise two traces, diff them, classify the difference, render it.

Owns what counts as "the same behaviour": each timing is measured from the
raw peer's latest step and snapped to a multiple of closeTimeout ``T``
(promptly, after ``T``, ...), error class names are ignored (JS and Python
class trees differ by nature), and the single intended difference is
recognised here (see :func:`classify`). Stdlib only; must not import ``pyws``.
"""

from __future__ import annotations

import difflib
from typing import Any

__all__ = [
    "NOT_APPLICABLE",
    "SAME",
    "INTENDED",
    "DIFFERENT",
    "DOCUMENTED",
    "apply_decision",
    "apply_departure",
    "bucket",
    "normalise",
    "classify",
    "compare",
    "frame_text",
    "render",
    "show",
]

SAME = "same"
INTENDED = "intended"
DIFFERENT = "different"
#: A difference the scenario names as a documented pyws decision (its
#: ``"decision"`` text, also in the README's "Departures from ws").
DOCUMENTED = "documented"
#: The scenario cannot be expressed with one implementation's API (its
#: adapter said why); nothing is compared.
NOT_APPLICABLE = "not applicable"


def apply_decision(result: dict[str, Any], decision: str | None) -> dict[str, Any]:
    """Mark a difference as documented when the scenario records a decision.

    Only a difference in *timing* of the same events qualifies: the events
    and the wire must match once timings are set aside, so a decision can
    never hide a different close code, error or frame.
    """
    if not decision or result["status"] != DIFFERENT:
        return result
    if not result.get("same_without_timing"):
        result["reasons"].append("a decision is recorded, but more than timing differs")
        return result
    result["status"] = DOCUMENTED
    result["reasons"] = [f"documented decision: {decision}"]
    return result


def apply_departure(
    result: dict[str, Any], departure: str | None, pair: tuple[str, str]
) -> dict[str, Any]:
    """Mark a difference as documented in a scenario written to show one of
    pyws's departures from ws.

    A ``"departure"`` names an entry of the README's "Departures from ws"
    (pyws answers differently on purpose, e.g. 400 to an HTTP/1.0 upgrade).
    It applies only when ws is compared with pyws, and it marks the whole
    scenario, behaviour included: such a scenario exists to show that
    difference, and the trace still shows it side by side.
    """
    if not departure or result["status"] != DIFFERENT or set(pair) != {"ws", "pyws"}:
        return result
    result["status"] = DOCUMENTED
    result["reasons"] = [f"documented departure: {departure}"]
    return result


#: Peer steps that end the peer's sending side (or the whole socket).
_PEER_ENDS = ("half_close", "close", "reset")
#: What the implementation can do to end its side of TCP.
_IMPL_ENDS = ("fin", "rst")


def bucket(dt: float, close_timeout: float) -> str:
    """Snap a delay (ms) to a multiple of closeTimeout ``T``.

    ``"0"`` means "promptly" (under ``T/2``), ``"T"`` "after about
    closeTimeout" (``T/2`` to ``3T/2``), then ``"2T"``, ``"3T"`` and so on.
    Scripted delays are peer steps, so they never need a bucket of their
    own; noise of a few hundred ms under load never shows as a difference
    while "at once" and "after closeTimeout" stay apart.
    """
    n = int(dt / close_timeout + 0.5) if close_timeout > 0 else 0
    return "0" if n <= 0 else ("T" if n == 1 else f"{n}T")


#: Handshake entries: their timing is process start-up, not behaviour.
_UNTIMED_EVENTS = ("connection", "open", "upgrade")


def _value(value: Any) -> Any:
    """Drop what is not compared: error class names."""
    if isinstance(value, dict):
        if "message" in value and "code" in value:
            return {k: _value(v) for k, v in value.items() if k != "name"}
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def normalise(trace: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Turn a raw trace into comparable entries.

    Every entry gets ``dt``, the ms since the raw peer's latest step (the
    stimulus the implementation reacts to), ``when``, its bucket (``"-"``
    for untimed entries: the peer's own steps and the opening handshake),
    and a ``key``: what must match between implementations.
    """
    close_timeout = float(trace["close_timeout_ms"])
    any_payload = set(trace.get("any_payload", []))
    merged: list[tuple[float, str, dict[str, Any]]] = []
    for record in trace["events"]:
        if record.get("kind") == "meta":
            continue
        merged.append((float(record["t"]), "events", record))
    for entry in trace["wire"]:
        merged.append((float(entry["t"]), "wire", entry))
    merged.sort(key=lambda item: item[0])
    out: dict[str, list[dict[str, Any]]] = {"events": [], "wire": []}
    stimulus: float | None = None
    for t, section, record in merged:
        dt = 0.0 if stimulus is None else max(0.0, t - stimulus)
        when = bucket(dt, close_timeout)
        kind = record.get("kind", "")
        if stimulus is None or record.get("event") in _UNTIMED_EVENTS:
            when = "-"
        if section == "wire" and (kind.startswith("http") or record["who"] == "peer"):
            when = "-"
        if section == "wire" and record["who"] == "peer":
            stimulus = t
        if section == "events":
            args = _value(record.get("args", []))
            if record["event"] in any_payload:
                args = ["*"]
            entry = {
                "event": record["event"],
                "args": args,
                "readyState": record.get("readyState"),
                "dt": round(dt, 1),
                "when": when,
            }
            entry["key"] = [entry["event"], args, entry["readyState"], when]
        else:
            detail = record.get("detail")
            if (
                record["kind"] == "frame"
                and isinstance(detail, dict)
                and detail.get("opcode") in any_payload
            ):
                detail = {**detail, "payload": "*"}
            entry = {
                "who": record["who"],
                "kind": record["kind"],
                "detail": detail,
                "dt": round(dt, 1),
                "when": when,
            }
            if record["who"] == "impl":
                entry["key"] = ["impl", record["kind"], entry["detail"], when]
            else:
                entry["key"] = ["peer", record["kind"], entry["detail"]]
        out[section].append(entry)
    return out


def _first(
    entries: list[dict[str, Any]], who: str, kinds: tuple[str, ...]
) -> int | None:
    for i, entry in enumerate(entries):
        if entry["who"] == who and entry["kind"] in kinds:
            return i
    return None


def _keys(entries: list[dict[str, Any]]) -> list[Any]:
    return [entry["key"] for entry in entries]


def _untimed(norm: dict[str, list[dict[str, Any]]]) -> list[Any]:
    """What happened, with every timing and interleaving set aside: the
    events in order, the implementation's wire entries in order, and the
    peer's steps in order."""
    events = [entry["key"][:3] for entry in norm["events"]]
    impl = [entry["key"][:3] for entry in norm["wire"] if entry["who"] == "impl"]
    peer = [entry["key"] for entry in norm["wire"] if entry["who"] != "impl"]
    return [events, impl, peer]


def _is_intended(
    role: str, a_norm: dict[str, Any], b_norm: dict[str, Any], a_events: list[Any]
) -> tuple[bool, str]:
    """Is the wire difference exactly "ws client FINs first, pyws waits"?

    The one intended difference (docs/closing.md, "Who closes TCP first"): the
    implementation is the client; after a close handshake or a failure, the
    baseline (ws, trace A) half-closes before the server's FIN, while the
    candidate (pyws, trace B) half-closes only after the server's FIN or
    after closeTimeout. Everything else on the wire and every event must
    match once the implementation's own FIN/RST entries are set aside.
    """
    if role != "client":
        return False, "the implementation is a server"
    a_wire, b_wire = a_norm["wire"], b_norm["wire"]

    def strip(wire: list[dict[str, Any]]) -> list[Any]:
        return [
            e["key"]
            for e in wire
            if not (e["who"] == "impl" and e["kind"] in _IMPL_ENDS)
        ]

    if strip(a_wire) != strip(b_wire):
        return False, "the wire differs beyond the client's FIN"
    a_fin = _first(a_wire, "impl", _IMPL_ENDS)
    a_peer = _first(a_wire, "peer", _PEER_ENDS)
    if a_fin is None or (a_peer is not None and a_fin > a_peer):
        return False, "A (baseline) did not half-close before the server"
    closed_first = any(
        e["who"] == "impl"
        and e["kind"] == "frame"
        and e["detail"].get("opcode") == "close"
        for e in a_wire[:a_fin]
    )
    failed = any(e[0] == "error" for e in a_events)
    if not (closed_first or failed):
        return False, "A half-closed without a close handshake or a failure"
    b_fin = _first(b_wire, "impl", _IMPL_ENDS)
    b_peer = _first(b_wire, "peer", _PEER_ENDS)
    if b_fin is None:
        return True, "B never closed TCP itself (the server did)"
    if b_peer is not None and b_fin > b_peer:
        return True, "B waited for the server's FIN"
    if b_wire[b_fin]["when"] not in ("0", "-"):
        return True, "B waited closeTimeout for the server's FIN"
    return False, "B half-closed before the server without waiting"


def classify(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, list[str]]:
    """Compare two raw traces of one scenario.

    Returns:
        ``(status, reasons)``: ``SAME``, ``INTENDED`` (only the client-FIN
        difference) or ``DIFFERENT``.
    """
    skipped = [
        f"{t['implementation']}: {t['not_applicable']}"
        for t in (a, b)
        if t.get("not_applicable")
    ]
    if skipped:
        return NOT_APPLICABLE, list(dict.fromkeys(skipped))
    a_norm, b_norm = normalise(a), normalise(b)
    reasons: list[str] = []
    if sorted(a.get("problems", [])) != sorted(b.get("problems", [])):
        reasons.append("runner problems differ")
    if a.get("exit_code") != b.get("exit_code"):
        reasons.append("adapter exit codes differ")
    a_events, b_events = _keys(a_norm["events"]), _keys(b_norm["events"])
    if a_events != b_events:
        reasons.append("events differ")
    if reasons:
        return DIFFERENT, reasons
    if _keys(a_norm["wire"]) == _keys(b_norm["wire"]):
        return SAME, []
    ok, why = _is_intended(a["role"], a_norm, b_norm, a_events)
    if ok:
        return INTENDED, [why]
    return DIFFERENT, ["wire differs: " + why]


def _show(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"len", "sha1"}:
        return f"<{value['len']} bytes sha1 {value['sha1'][:8]}>"
    if isinstance(value, dict) and set(value) == {"b"}:
        raw = bytes.fromhex(value["b"])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if text.isprintable() or not raw:
            shown = repr(raw)[:30]
        else:
            shown = "x" + value["b"][:28]
        return shown + ("..." if len(raw) > 24 else "")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _frame_text(frame: dict[str, Any]) -> str:
    text = frame["opcode"]
    if not frame.get("fin", True):
        text += " fin=0"
    if frame.get("rsv"):
        text += " rsv" + frame["rsv"]
    if frame.get("masked"):
        text += " masked"
    if "code" in frame:
        return f"{text} {frame['code']} {_show(frame['reason'])}"
    return f"{text} {_show(frame.get('payload'))}"


def show(value: Any) -> str:
    """A short human form of a logged value (bytes, errors, lists)."""
    return _show(value)


def frame_text(frame: dict[str, Any]) -> str:
    """A short human form of a frame description (opcode, bits, payload)."""
    return _frame_text(frame)


def _line(entry: dict[str, Any] | None, section: str) -> str:
    if entry is None:
        return ""
    if section == "events":
        args = ", ".join(_show(a) for a in entry["args"])
        when = "" if entry["when"] == "-" else f"+{entry['when']}"
        return f"{when:<8} {entry['event']}({args}) rs={entry['readyState']}"
    detail = entry["detail"]
    if entry["kind"] in ("frame", "frames"):
        frames = detail if isinstance(detail, list) else [detail]
        text = " + ".join(_frame_text(f) for f in frames)
    elif entry["kind"].startswith("http_") and isinstance(detail, dict):
        headers = detail.get("headers", {})
        text = detail["line"] + "".join(f"; {k}: {v}" for k, v in headers.items())
    else:
        text = "" if detail is None else _show(detail)
    when = "peer" if entry["who"] == "peer" else f"+{entry['when']}"
    if when == "+-":
        when = ""
    return f"{when:<8} {entry['kind']} {text}".rstrip()


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Classify and align two traces; the JSON-ready result of one scenario."""
    status, reasons = classify(a, b)
    if status == NOT_APPLICABLE:
        return {
            "scenario": a["scenario"],
            "role": a["role"],
            "a": a["implementation"],
            "b": b["implementation"],
            "status": status,
            "reasons": reasons,
            "same_without_timing": False,
            "rows": [],
            "a_trace": None,
            "b_trace": None,
        }
    a_norm, b_norm = normalise(a), normalise(b)
    same_without_timing = _untimed(a_norm) == _untimed(b_norm)
    rows: list[dict[str, Any]] = []
    for section in ("events", "wire"):
        left, right = a_norm[section], b_norm[section]
        matcher = difflib.SequenceMatcher(
            None,
            [repr(k) for k in _keys(left)],
            [repr(k) for k in _keys(right)],
            autojunk=False,
        )
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            mark = {"equal": " ", "replace": "!", "delete": "<", "insert": ">"}[op]
            for k in range(max(i2 - i1, j2 - j1)):
                le = left[i1 + k] if i1 + k < i2 else None
                ri = right[j1 + k] if j1 + k < j2 else None
                rows.append(
                    {
                        "section": section,
                        "mark": mark,
                        "a": _line(le, section),
                        "b": _line(ri, section),
                    }
                )
    for label, value_a, value_b in (
        ("problems", a.get("problems", []), b.get("problems", [])),
        ("exit code", a.get("exit_code"), b.get("exit_code")),
    ):
        rows.append(
            {
                "section": "runner",
                "mark": " " if value_a == value_b else "!",
                "a": f"{label}: {value_a}",
                "b": f"{label}: {value_b}",
            }
        )
    return {
        "scenario": a["scenario"],
        "role": a["role"],
        "a": a["implementation"],
        "b": b["implementation"],
        "status": status,
        "reasons": reasons,
        "same_without_timing": same_without_timing,
        "rows": rows,
        "a_trace": a_norm,
        "b_trace": b_norm,
    }


def render(result: dict[str, Any], width: int = 60, only_diffs: bool = False) -> str:
    """Render one comparison as two columns with a mark column between.

    Marks: ``!`` the rows differ, ``<`` only in A, ``>`` only in B, ``~``
    a row of the intended difference (client FIN order).
    """
    head = (
        f"== {result['scenario']} (implementation as {result['role']}): "
        f"{result['status'].upper()}"
    )
    if result["reasons"]:
        head += " - " + "; ".join(result["reasons"])
    intended = result["status"] == INTENDED
    lines = [head, f"   {result['a']:<{width}} | {result['b']}"]
    section = ""
    for row in result["rows"]:
        if only_diffs and row["mark"] == " ":
            continue
        if row["section"] != section:
            section = row["section"]
            lines.append(f"-- {section}")
        left = row["a"][:width]
        mark = "~" if intended and row["mark"] != " " else row["mark"]
        lines.append(f" {mark} {left:<{width}} | {row['b']}")
    return "\n".join(lines)
