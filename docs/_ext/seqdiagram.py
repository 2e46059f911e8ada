"""Draw a sequence diagram (SVG) from a trace saved by ``scripts/compare``.

A trace (``python -m scripts.compare --save DIR SCENARIO``) holds what the
scripted raw peer saw on the wire (frames, HTTP heads, FIN, half-close) and
what the implementation's adapter logged (events with ``readyState``). This
module draws it as two lifelines, the raw peer and the implementation, with
one row per step in time order, and the time of each step since the peer's
first frame on the left.

    python docs/_ext/seqdiagram.py TRACE.json > diagram.svg

Standard library only; the docs build calls :func:`trace_to_svg`.
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path
from typing import Any

ROW = 30
TOP = 58
WIDTH = 640
TIME_X = 8
PEER_X = 150
IMPL_X = 430
FONT = (
    "font-family='ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' "
    "font-size='12'"
)
INK = "#1f2328"
WIRE_IMPL = "#0a6ebd"
WIRE_PEER = "#5a5f66"
EVENT_FILL = "#fff4d6"
EVENT_STROKE = "#b08400"


def _bytes(field: Any) -> bytes:
    if isinstance(field, dict) and "b" in field:
        return bytes.fromhex(field["b"])
    return b""


def _short(data: bytes, limit: int = 12) -> str:
    text = repr(data[:limit])
    return text + ("..." if len(data) > limit else "")


def _frame_label(detail: dict[str, Any]) -> str:
    parts = [detail.get("opcode", "?")]
    if detail.get("opcode") == "close":
        if "code" in detail:
            parts.append(str(detail["code"]))
            reason = _bytes(detail.get("reason"))
            if reason:
                parts.append(_short(reason))
        else:
            parts.append("(empty)")
    elif "payload" in detail:
        parts.append(_short(_bytes(detail["payload"])))
    if detail.get("rsv"):
        parts.append(f"RSV{detail['rsv']}")
    if not detail.get("fin", True):
        parts.append("no FIN")
    if detail.get("masked"):
        parts.append("masked")
    return " ".join(parts)


def _wire_label(item: dict[str, Any]) -> str:
    kind = item["kind"]
    detail = item.get("detail")
    if kind == "frame":
        return _frame_label(detail or {})
    if kind in ("http_request", "http_response"):
        line = detail["line"] if isinstance(detail, dict) else str(detail)
        return line.replace("HTTP/1.1 ", "").replace(" HTTP/1.1", "")
    if kind in ("fin", "half_close"):
        return "TCP FIN"
    if kind == "close":
        return "TCP close"
    if kind == "reset":
        return "TCP RST"
    return str(kind).replace("_", " ")


def _event_label(item: dict[str, Any]) -> str:
    name = item["event"]
    args = item.get("args") or []
    if name == "close" and len(args) >= 2:
        reason = _bytes(args[1])
        text = f"'close' {args[0]}" + (f" {_short(reason)}" if reason else "")
    elif name == "error" and args and isinstance(args[0], dict):
        err = args[0]
        text = f"'error' {err.get('code') or err.get('message', '')}"
    elif name in ("message", "ping", "pong") and args:
        text = f"'{name}' {_short(_bytes(args[0]))}"
    else:
        text = f"'{name}'"
    if "readyState" in item:
        text += f"  rs={item['readyState']}"
    return text


def _text_width(label: str) -> float:
    return 7.3 * len(label) + 12


def rows_of(trace: dict[str, Any]) -> list[tuple[float, str, str]]:
    """The diagram's rows: (time ms, kind, label), kind 'peer'/'impl'/'event'."""
    rows: list[tuple[float, str, str]] = []
    for item in trace.get("wire", []):
        who = "peer" if item.get("who") == "peer" else "impl"
        rows.append((item["t"], who, _wire_label(item)))
    for item in trace.get("events", []):
        if item.get("kind") == "event":
            rows.append((item["t"], "event", _event_label(item)))
    rows.sort(key=lambda r: r[0])
    return rows


def _origin(trace: dict[str, Any]) -> float:
    """Time zero: the peer's first frame (the handshake measures start-up)."""
    for item in trace.get("wire", []):
        if item.get("kind") not in ("http_request", "http_response"):
            return float(item["t"])
    return float(trace.get("wire", [{"t": 0.0}])[0]["t"])


def trace_to_svg(trace: dict[str, Any], title: str | None = None) -> str:
    """Return a standalone SVG sequence diagram of one saved trace."""
    rows = rows_of(trace)
    t0 = _origin(trace)
    role = trace.get("role", "server")
    impl = trace.get("implementation", "impl")
    peer_role = "client" if role == "server" else "server"
    height = TOP + ROW * len(rows) + 20
    widest = max((_text_width(r[2]) for r in rows if r[1] == "event"), default=0)
    width = max(WIDTH, int(IMPL_X + 8 + widest + 12))
    title = title or f"{trace.get('scenario', '')}: {impl} as {role}"
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img'>",
        f"<title>{escape(title)}</title>",
        "<defs>"
        + "".join(
            f"<marker id='{name}' viewBox='0 0 10 10' refX='10' refY='5' "
            f"markerWidth='7' markerHeight='7' orient='auto'>"
            f"<path d='M0,0 L10,5 L0,10 z' fill='{color}'/></marker>"
            for name, color in (("to-impl", WIRE_PEER), ("to-peer", WIRE_IMPL))
        )
        + "</defs>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        f"<text x='{TIME_X}' y='18' {FONT} fill='{INK}' font-weight='bold'>"
        f"{escape(title)}</text>",
        f"<text x='{PEER_X}' y='42' {FONT} fill='{INK}' text-anchor='middle'>"
        f"raw peer ({peer_role})</text>",
        f"<text x='{IMPL_X}' y='42' {FONT} fill='{INK}' text-anchor='middle'>"
        f"{escape(impl)} {role}</text>",
    ]
    for x in (PEER_X, IMPL_X):
        out.append(
            f"<line x1='{x}' y1='{TOP - 8}' x2='{x}' y2='{height - 10}' "
            f"stroke='#8c959f' stroke-dasharray='4 3'/>"
        )
    for i, (t, kind, label) in enumerate(rows):
        y = TOP + ROW * i + ROW // 2
        ms = t - t0
        stamp = f"{ms:+.0f} ms" if abs(ms) >= 0.5 else "0 ms"
        if ms < -0.5:  # the opening handshake: its timing is process start-up
            stamp = ""
        out.append(
            f"<text x='{TIME_X}' y='{y + 4}' {FONT} fill='#57606a'>{stamp}</text>"
        )
        if kind == "event":
            w = _text_width(label)
            out.append(
                f"<rect x='{IMPL_X + 8}' y='{y - 10}' width='{w:.0f}' height='20' "
                f"rx='4' fill='{EVENT_FILL}' stroke='{EVENT_STROKE}'/>"
            )
            out.append(
                f"<text x='{IMPL_X + 14}' y='{y + 4}' {FONT} fill='{INK}'>"
                f"{escape(label)}</text>"
            )
            continue
        x1, x2, color, marker = (
            (PEER_X, IMPL_X, WIRE_PEER, "to-impl")
            if kind == "peer"
            else (IMPL_X, PEER_X, WIRE_IMPL, "to-peer")
        )
        dash = " stroke-dasharray='6 3'" if label.startswith("TCP") else ""
        out.append(
            f"<line x1='{x1}' y1='{y + 6}' x2='{x2}' y2='{y + 6}' stroke='{color}' "
            f"stroke-width='1.5' marker-end='url(#{marker})'{dash}/>"
        )
        out.append(
            f"<text x='{(PEER_X + IMPL_X) // 2}' y='{y}' {FONT} fill='{color}' "
            f"text-anchor='middle'>{escape(label)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print(
            "usage: python docs/_ext/seqdiagram.py TRACE.json > out.svg",
            file=sys.stderr,
        )
        return 2
    trace = json.loads(Path(argv[1]).read_text("utf-8"))
    sys.stdout.write(trace_to_svg(trace))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
