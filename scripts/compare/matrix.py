"""The matrix: one scenario library run on many implementations, side by side.

Owns what ``--matrix`` writes: per scenario, the distinguishing facts of
each implementation's trace (who sends FIN first, the close code sent and
the one reported, whether a failure sends a close frame, whether input after
a failure is still processed, the time to TCP close snapped to closeTimeout,
the HTTP status for a refused handshake), implementations grouped when they
behave alike, as Markdown (``matrix.md``) and as one self-contained HTML page
(``matrix.html``) with every trace drawn as a sequence diagram
(:mod:`.svg`). Works on recorded traces as well as live runs. Stdlib only;
must not import ``pyws``.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from . import report, svg

__all__ = [
    "CLOSING_SCENARIOS",
    "facts",
    "group",
    "load_traces",
    "markdown",
    "closing_table",
    "html_page",
    "signature",
    "write",
]

#: Close codes that mean "this side failed" (RFC 6455 7.4.1).
_FAILURE_CODES = (1002, 1003, 1007, 1008, 1009, 1010, 1011)
_PEER_ENDS = ("half_close", "close", "reset")
_INPUT_EVENTS = ("message", "ping", "pong")

#: The scenarios of the README's closing matrix, in its order.
CLOSING_SCENARIOS = (
    "client-close-by-peer",
    "client-close-by-impl",
    "client-close-timeout-silent-peer",
    "client-err-rsv2",
    "client-err-invalid-utf8",
    "client-err-then-frames-ignored",
    "client-peer-fin-no-close",
    "server-close-by-peer",
    "server-close-by-impl",
    "server-close-timeout-silent-peer",
    "server-err-rsv2",
    "server-err-invalid-utf8",
    "server-err-then-frames-ignored",
    "server-shutdown-open-client",
    "client-heartbeat-no-pong",
)

#: Column titles, in order, for the facts of :func:`facts`.
COLUMNS = (
    ("fin_first", "FIN first"),
    ("close_sent", "close sent"),
    ("close_reported", "close reported"),
    ("failure_close", "failure sends close"),
    ("input_after_failure", "input after failure"),
    ("tcp_close", "TCP close"),
    ("http", "HTTP"),
    ("wire", "implementation's wire"),
)


def _code(detail: dict[str, Any]) -> str:
    return str(detail["code"]) if "code" in detail else "empty"


def facts(trace: dict[str, Any]) -> dict[str, str]:
    """The distinguishing facts of one trace, as short strings.

    ``fin_first``: ``impl`` or ``peer`` (whoever ended TCP first; ``impl
    RST`` for a reset), ``none``. ``close_sent``: the code of the first
    close frame the implementation wrote (``empty``, or ``-``).
    ``close_reported``: the code its ``close`` event reported (``-``: no
    event, ``none``: the event carried no code).
    ``failure_close``/``input_after_failure``: ``yes``/``no`` when
    the implementation failed the connection (an ``error`` event, or a
    failure code in a close frame it sent first), else ``-``. ``tcp_close``:
    its FIN or RST, snapped to closeTimeout (``+0``, ``+T``...) from the
    peer's latest step, or ``never``. ``http``: the status the
    implementation sent (server) or got (client) when not 101, else ``-``.
    """
    if trace.get("not_applicable"):
        return {"not_applicable": str(trace["not_applicable"])}
    norm = report.normalise(trace)
    wire, events = norm["wire"], norm["events"]
    impl_end = next(
        (
            i
            for i, e in enumerate(wire)
            if e["who"] == "impl" and e["kind"] in ("fin", "rst")
        ),
        None,
    )
    peer_end = next(
        (
            i
            for i, e in enumerate(wire)
            if e["who"] == "peer" and e["kind"] in _PEER_ENDS
        ),
        None,
    )
    if impl_end is not None and (peer_end is None or impl_end < peer_end):
        fin_first = "impl" + (" RST" if wire[impl_end]["kind"] == "rst" else "")
    elif peer_end is not None:
        fin_first = "peer"
    else:
        fin_first = "none"
    closes = [
        (i, e)
        for i, e in enumerate(wire)
        if e["who"] == "impl"
        and e["kind"] == "frame"
        and isinstance(e["detail"], dict)
        and e["detail"].get("opcode") == "close"
    ]
    close_sent = _code(closes[0][1]["detail"]) if closes else "-"
    reported = [e["args"][0] for e in events if e["event"] == "close" and e["args"]]
    close_reported = "-" if not reported else str(reported[0])
    if close_reported == "None":  # picows: no close frame came
        close_reported = "none"
    # The moment the implementation failed: its 'error' event, or a close
    # frame with a failure code it sent before any close from the peer.
    peer_close = next(
        (
            i
            for i, e in enumerate(wire)
            if e["who"] == "peer"
            and e["kind"] in ("frame", "frames")
            and "close" in json.dumps(e["detail"])
        ),
        None,
    )
    fail_dt: float | None = None
    errors = [e for e in events if e["event"] == "error"]
    failed = bool(errors)
    if closes and (peer_close is None or closes[0][0] < peer_close):
        detail = closes[0][1]["detail"]
        if detail.get("code") in _FAILURE_CODES:
            failed = True
    raw_times = _raw_times(trace)
    if errors:
        fail_dt = raw_times["error"]
    elif failed:
        fail_dt = raw_times["close_frame"]
    failure_close = input_after = "-"
    if failed:
        failure_close = "yes" if closes else "no"
        later = [
            r
            for r in trace["events"]
            if r.get("kind") == "event"
            and r["event"] in _INPUT_EVENTS
            and fail_dt is not None
            and float(r["t"]) > fail_dt
        ]
        later_pongs = [
            e
            for e in trace["wire"]
            if e["who"] == "impl"
            and e["kind"] == "frame"
            and e["detail"].get("opcode") == "pong"
            and fail_dt is not None
            and float(e["t"]) > fail_dt
        ]
        input_after = "yes" if later or later_pongs else "no"
    tcp_close = "never" if impl_end is None else "+" + wire[impl_end]["when"]
    http = "-"
    for entry in wire:
        if entry["kind"] == "http_response" and isinstance(entry["detail"], dict):
            status = str(entry["detail"]["line"]).split(" ")[1:2]
            if status and status[0] != "101":
                http = status[0]
        elif entry["kind"] == "http_response" and isinstance(entry["detail"], str):
            status = entry["detail"].split(" ")[1:2]
            if status and status[0] != "101":
                http = status[0]
    return {
        "wire": wire_summary(wire),
        "fin_first": fin_first,
        "close_sent": close_sent,
        "close_reported": close_reported,
        "failure_close": failure_close,
        "input_after_failure": input_after,
        "tcp_close": tcp_close,
        "http": http,
    }


def _frame_short(detail: dict[str, Any]) -> str:
    text = str(detail.get("opcode"))
    if detail.get("rsv"):
        text += "+rsv" + str(detail["rsv"])
    if not detail.get("fin", True):
        text += "(fin=0)"
    if "code" in detail:
        text += f" {detail['code']}"
    return text


def wire_summary(wire: list[dict[str, Any]]) -> str:
    """The implementation's side of the wire in a few words.

    HTTP heads by status (a server's answer with its extension header),
    frames by opcode, reserved bits and close code, FIN/RST with their
    closeTimeout bucket; repeats are counted (``ping x2``).
    """
    words: list[str] = []
    for entry in wire:
        if entry["who"] != "impl":
            continue
        kind, detail = entry["kind"], entry["detail"]
        if kind in ("http_request", "http_response") and isinstance(detail, dict):
            word = (
                "GET" if kind == "http_request" else str(detail["line"]).split(" ")[1]
            )
            extension = detail.get("headers", {}).get("sec-websocket-extensions")
            if kind == "http_response" and extension:
                word += f" [{extension}]"
        elif kind == "frame" and isinstance(detail, dict):
            word = _frame_short(detail)
        elif kind in ("fin", "rst"):
            word = f"{kind.upper()} +{entry['when']}"
        elif kind == "http_body":
            continue
        else:
            word = kind
        if words and (words[-1] == word or words[-1].startswith(word + " x")):
            count = int(words[-1].split(" x")[-1]) + 1 if " x" in words[-1] else 2
            words[-1] = f"{word} x{count}"
        else:
            words.append(word)
    return ", ".join(words)


def _raw_times(trace: dict[str, Any]) -> dict[str, float | None]:
    error = next(
        (
            float(r["t"])
            for r in trace["events"]
            if r.get("kind") == "event" and r["event"] == "error"
        ),
        None,
    )
    close_frame = next(
        (
            float(e["t"])
            for e in trace["wire"]
            if e["who"] == "impl"
            and e["kind"] == "frame"
            and e["detail"].get("opcode") == "close"
        ),
        None,
    )
    return {"error": error, "close_frame": close_frame}


def signature(trace: dict[str, Any]) -> str:
    """What must match for two implementations to "behave alike".

    The facts, plus the implementation's side of the wire in order (frames
    by opcode, bits and payload; close frames by code, without the reason
    text; FIN and RST with their closeTimeout bucket; HTTP by status line).
    Events are not compared: each API reports in its own terms.
    """
    if trace.get("not_applicable"):
        return "n/a"
    out: list[Any] = [facts(trace)]
    for entry in report.normalise(trace)["wire"]:
        if entry["who"] != "impl":
            continue
        detail = entry["detail"]
        if entry["kind"] == "frame" and isinstance(detail, dict):
            detail = {k: v for k, v in detail.items() if k != "reason"}
        elif entry["kind"].startswith("http_") and isinstance(detail, dict):
            extension = None
            if entry["kind"] == "http_response":
                extension = detail.get("headers", {}).get("sec-websocket-extensions")
            detail = [str(detail.get("line", "")).split(" ")[1:2], extension]
        elif entry["kind"] == "http_body":
            detail = None
        out.append([entry["kind"], detail, entry["when"]])
    return json.dumps(out, sort_keys=True)


def group(traces: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Implementations of one scenario that behave alike, first seen first."""
    groups: dict[str, list[str]] = {}
    for name, trace in traces.items():
        groups.setdefault(signature(trace), []).append(name)
    return list(groups.values())


def load_traces(directory: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Read traces saved by ``--save`` (``<scenario>.<x>.<impl>.json``).

    Returns ``{scenario: {implementation: trace}}``.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.json")):
        trace = json.loads(path.read_text(encoding="utf-8"))
        out.setdefault(trace["scenario"], {})[trace["implementation"]] = trace
    return out


def _versions(
    results: dict[str, dict[str, dict[str, Any]]], impls: list[str]
) -> dict[str, str]:
    versions = {name: name for name in impls}
    for traces in results.values():
        for name, trace in traces.items():
            if trace.get("version") and trace["version"] != name:
                versions[name] = str(trace["version"])
    return versions


def _letters(groups: list[list[str]], traces: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    letter = 0
    for members in groups:
        if traces[members[0]].get("not_applicable"):
            for name in members:
                out[name] = "n/a"
            continue
        for name in members:
            out[name] = chr(ord("A") + letter)
        letter += 1
    return out


def _cell(fact: dict[str, str]) -> str:
    """A compact cell for the closing table."""
    if "not_applicable" in fact:
        return "n/a"
    parts = [fact["fin_first"], f"{fact['close_sent']}/{fact['close_reported']}"]
    parts.append(fact["tcp_close"])
    return " · ".join(parts)


def closing_table(
    results: dict[str, dict[str, dict[str, Any]]],
    impls: list[str],
    scenarios: tuple[str, ...] = CLOSING_SCENARIOS,
) -> str:
    """The README's closing matrix: one row per closing scenario.

    A cell reads ``<FIN first> · <close sent>/<close reported> · <TCP
    close>``.
    """
    versions = _versions(results, impls)
    lines = [
        "| scenario | " + " | ".join(versions[i] for i in impls) + " |",
        "|---|" + "---|" * len(impls),
    ]
    for name in scenarios:
        if name not in results:
            continue
        traces = results[name]
        cells = [_cell(facts(traces[i])) if i in traces else "" for i in impls]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown(
    results: dict[str, dict[str, dict[str, Any]]],
    impls: list[str],
    descriptions: dict[str, str],
) -> str:
    """The whole report as Markdown."""
    versions = _versions(results, impls)
    out = [
        "# WebSocket behaviour matrix",
        "",
        "Versions: " + ", ".join(versions[i] for i in impls) + ".",
        "",
        "Each scenario ran once per implementation against the compare tool's "
        "raw peer (`scripts/compare/README.md`). Letters group implementations "
        "that behave alike in a scenario (same facts, same frames, FIN/RST at "
        "the same closeTimeout multiple); `n/a`: the API cannot express the "
        "scenario. Times are snapped to the scenario's closeTimeout `T` and "
        "measured from the peer's latest step.",
        "",
        "## Closing matrix",
        "",
        "A cell: who ends TCP first · close code sent/reported · the "
        "implementation's FIN or RST time.",
        "",
        closing_table(results, impls),
        "## Groups per scenario",
        "",
        "| scenario | " + " | ".join(impls) + " |",
        "|---|" + "---|" * len(impls),
    ]
    for name, traces in results.items():
        letters = _letters(group(traces), traces)
        out.append(
            f"| [{name}](#{name}) | "
            + " | ".join(letters.get(i, "") for i in impls)
            + " |"
        )
    out.append("")
    for name, traces in results.items():
        out += [f"### {name}", "", descriptions.get(name, ""), ""]
        out.append(
            "| group | implementations | "
            + " | ".join(title for _, title in COLUMNS)
            + " |"
        )
        out.append("|---|---|" + "---|" * len(COLUMNS))
        letters = _letters(group(traces), traces)
        for members in group(traces):
            fact = facts(traces[members[0]])
            who = ", ".join(members)
            if "not_applicable" in fact:
                reasons = "; ".join(
                    sorted({str(traces[m]["not_applicable"]) for m in members})
                )
                out.append(f"| n/a | {who} | {reasons} |" + " |" * (len(COLUMNS) - 1))
                continue
            cells = " | ".join(fact[key] for key, _ in COLUMNS)
            out.append(f"| {letters[members[0]]} | {who} | {cells} |")
        out.append("")
    return "\n".join(out)


_CSS = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
    "th{background:#f4f4f8}code{font-size:13px}"
    ".diagrams{display:flex;flex-wrap:wrap;gap:12px}"
    ".diagrams figure{margin:0;border:1px solid #ddd;padding:4px}"
    "figcaption{font-weight:bold}.na{color:#888}"
    "section{border-top:2px solid #446;margin-top:1.5em}"
)


def html_page(
    results: dict[str, dict[str, dict[str, Any]]],
    impls: list[str],
    descriptions: dict[str, str],
) -> str:
    """The whole report as one self-contained HTML page with the diagrams."""
    versions = _versions(results, impls)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>WebSocket behaviour matrix</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>WebSocket behaviour matrix</h1>",
        "<p>Versions: "
        + escape(", ".join(versions[i] for i in impls))
        + ". Letters group implementations that behave alike in a scenario; "
        "each trace is drawn below its table (raw peer on the left, the "
        "implementation on the right, time going down; FIN dashed, RST red, "
        "events in green).</p>",
        "<h2>Groups per scenario</h2>",
        "<table><tr><th>scenario</th>"
        + "".join(f"<th>{escape(i)}</th>" for i in impls)
        + "</tr>",
    ]
    for name, traces in results.items():
        letters = _letters(group(traces), traces)
        parts.append(
            f'<tr><td><a href="#{escape(name)}">{escape(name)}</a></td>'
            + "".join(f"<td>{escape(letters.get(i, ''))}</td>" for i in impls)
            + "</tr>"
        )
    parts.append("</table>")
    for name, traces in results.items():
        parts.append(f'<section id="{escape(name)}"><h3>{escape(name)}</h3>')
        parts.append(f"<p>{escape(descriptions.get(name, ''))}</p>")
        parts.append(
            "<table><tr><th>group</th><th>implementations</th>"
            + "".join(f"<th>{escape(title)}</th>" for _, title in COLUMNS)
            + "</tr>"
        )
        groups = group(traces)
        letters = _letters(groups, traces)
        for members in groups:
            fact = facts(traces[members[0]])
            who = escape(", ".join(members))
            if "not_applicable" in fact:
                reasons = "; ".join(
                    sorted({str(traces[m]["not_applicable"]) for m in members})
                )
                parts.append(
                    f'<tr class="na"><td>n/a</td><td>{who}</td>'
                    f'<td colspan="{len(COLUMNS)}">{escape(reasons)}</td></tr>'
                )
                continue
            cells = "".join(f"<td>{escape(fact[key])}</td>" for key, _ in COLUMNS)
            parts.append(
                f"<tr><td>{letters[members[0]]}</td><td>{who}</td>{cells}</tr>"
            )
        parts.append('</table><div class="diagrams">')
        for impl in impls:
            trace = traces.get(impl)
            if trace is None or trace.get("not_applicable"):
                continue
            caption = f"{versions[impl]} (group {letters[impl]})"
            parts.append(
                f"<figure><figcaption>{escape(caption)}</figcaption>"
                + svg.diagram(trace)
                + "</figure>"
            )
        parts.append("</div></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write(
    results: dict[str, dict[str, dict[str, Any]]],
    impls: list[str],
    descriptions: dict[str, str],
    out_dir: Path,
) -> list[Path]:
    """Write ``matrix.md``, ``matrix.html`` and ``closing-matrix.md``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "matrix.md": markdown(results, impls, descriptions),
        "matrix.html": html_page(results, impls, descriptions),
        "closing-matrix.md": closing_table(results, impls),
    }
    paths = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
