"""Draw one raw trace as an SVG sequence diagram.

Owns the picture of a trace: two lifelines (the raw peer on the left, the
implementation on the right), time going down, every frame, HTTP head, FIN
and RST as an arrow between them (FIN dashed, RST red), the peer's own notes
(a failed wait, a failed write) beside its lifeline, and the
implementation's events on its side. Rows are evenly spaced; a pause longer
than half the scenario's closeTimeout shows as a break marked with its
length. The output is deterministic (same trace, same bytes), so a golden
file can pin it. Stdlib only; must not import ``pyws``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from . import report

__all__ = ["diagram"]

_PEER_X = 90
_IMPL_X = 330
_TOP = 58
_ROW = 22
_GAP = 20
_WIDTH = 700
_LABEL = 44  # characters on an arrow
_EVENT_LABEL = 46  # characters beside the implementation's lifeline
#: Peer entries that are notes, not something sent to the implementation.
_PEER_NOTES = ("wait_failed", "write_failed", "gave_up")


def _text(x: float, y: float, text: str, cls: str, anchor: str = "start") -> str:
    return (
        f'<text x="{x:g}" y="{y:g}" class="{cls}" text-anchor="{anchor}">'
        f"{escape(text)}</text>"
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _arrow_label(entry: dict[str, Any]) -> str:
    """The arrow's text: what went over the wire, without timing."""
    kind, detail = entry["kind"], entry.get("detail")
    if kind in ("frame", "frames"):
        frames = detail if isinstance(detail, list) else [detail]
        if len(frames) > 3:
            return f"{len(frames)} frames: {report.frame_text(frames[0])} \u2026"
        return " + ".join(report.frame_text(f) for f in frames)
    if kind.startswith("http_") and isinstance(detail, dict):
        return str(detail.get("line", kind))
    if kind in ("http_request", "http_response") and isinstance(detail, str):
        return detail
    if kind == "fin":
        return "FIN"
    if kind == "rst":
        return "RST"
    if kind == "half_close":
        return "FIN (half-close)"
    if kind == "close":
        return "close socket (FIN)"
    if kind == "reset":
        return "RST (abort)"
    if kind == "hex":
        return f"raw bytes {str(detail)[:24]}"
    return kind if detail is None else f"{kind} {report.show(detail)}"


def _timeline(trace: dict[str, Any]) -> list[tuple[float, str, dict[str, Any]]]:
    rows: list[tuple[float, str, dict[str, Any]]] = []
    for record in trace.get("events", []):
        if record.get("kind") == "event":
            rows.append((float(record["t"]), "event", record))
    for entry in trace.get("wire", []):
        rows.append((float(entry["t"]), "wire", entry))
    rows.sort(key=lambda row: row[0])
    return rows


def diagram(trace: dict[str, Any], title: str | None = None) -> str:
    """Return an ``<svg>`` element (a string) drawing ``trace``.

    Args:
        trace: A raw trace as the runner returns it (``events``, ``wire``,
            ``close_timeout_ms``, ``implementation``, ``version``).
        title: The implementation's lifeline label; default: its version.
    """
    close_timeout = float(trace.get("close_timeout_ms", 500))
    any_payload = set(trace.get("any_payload", []))
    label = title or str(trace.get("version") or trace["implementation"])
    body: list[str] = []
    y = _TOP
    start: float | None = None
    last: float | None = None
    for t, section, record in _timeline(trace):
        if start is None:
            start = t
        if last is not None and t - last > close_timeout / 2:
            body.append(
                f'<line x1="20" y1="{y - 6}" x2="{_WIDTH - 20}" y2="{y - 6}" '
                'class="gap"/>'
            )
            body.append(_text(24, y + 6, f"\u2026 {t - last:.0f} ms", "gapt"))
            y += _GAP
        last = t
        stamp = _text(6, y + 4, f"{t - start:.0f} ms", "time")
        if section == "event":
            args = ", ".join(report.show(a) for a in record.get("args", []))
            if record["event"] in any_payload:
                args = "\u2026"
            rs = record.get("readyState")
            text = f"{record['event']}({args})" + ("" if rs is None else f" rs={rs}")
            body.append(stamp)
            body.append(f'<circle cx="{_IMPL_X}" cy="{y}" r="4" class="ev"/>')
            body.append(_text(_IMPL_X + 10, y + 4, _clip(text, _EVENT_LABEL), "evt"))
            y += _ROW
            continue
        who, kind = record["who"], record["kind"]
        if who == "peer" and kind in _PEER_NOTES:
            body.append(stamp)
            note = f"{kind} {report.show(record.get('detail'))}"
            body.append(_text(_PEER_X - 8, y + 4, _clip(note, 14), "note", "end"))
            y += _ROW
            continue
        cls = "msg"
        if kind in ("fin", "half_close", "close"):
            cls = "fin"
        elif kind in ("rst", "reset"):
            cls = "rst"
        x1, x2 = (_PEER_X, _IMPL_X) if who == "peer" else (_IMPL_X, _PEER_X)
        head = x2 - 8 if x2 > x1 else x2 + 8
        body.append(stamp)
        body.append(f'<line x1="{x1}" y1="{y}" x2="{head}" y2="{y}" class="{cls}"/>')
        body.append(
            f'<polygon points="{x2},{y} {head},{y - 4} {head},{y + 4}" class="{cls}h"/>'
        )
        text = _clip(_arrow_label(record), _LABEL)
        body.append(_text((x1 + x2) / 2, y - 4, text, f"{cls}t", "middle"))
        y += _ROW
    height = y + 10
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_WIDTH} {height}" class="seq">',
        "<style>"
        ".seq text{font:11px monospace}"
        ".seq .life{stroke:#999;stroke-width:1}"
        ".seq .box{fill:#eef;stroke:#446}"
        ".seq .msg{stroke:#246;stroke-width:1.2}.seq .msgh{fill:#246}"
        ".seq .fin{stroke:#a60;stroke-width:1.2;stroke-dasharray:5 3}"
        ".seq .finh{fill:#a60}.seq .fint{fill:#a60}"
        ".seq .rst{stroke:#c00;stroke-width:1.6}.seq .rsth{fill:#c00}"
        ".seq .rstt{fill:#c00;font-weight:bold}"
        ".seq .ev{fill:#383}.seq .evt{fill:#383}"
        ".seq .time{fill:#888;font-size:10px}.seq .note{fill:#777;font-style:italic}"
        ".seq .gap{stroke:#bbb;stroke-dasharray:2 4}.seq .gapt{fill:#999}"
        "</style>",
        f'<line x1="{_PEER_X}" y1="38" x2="{_PEER_X}" y2="{height - 4}" class="life"/>',
        f'<line x1="{_IMPL_X}" y1="38" x2="{_IMPL_X}" y2="{height - 4}" class="life"/>',
        f'<rect x="{_PEER_X - 45}" y="8" width="90" height="24" rx="3" class="box"/>',
        _text(_PEER_X, 24, "raw peer", "lbl", "middle"),
        f'<rect x="{_IMPL_X - 80}" y="8" width="160" height="24" rx="3" class="box"/>',
        _text(_IMPL_X, 24, _clip(label, 24), "lbl", "middle"),
    ]
    return "\n".join([*head, *body, "</svg>"]) + "\n"
