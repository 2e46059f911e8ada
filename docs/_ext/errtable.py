"""The ``WS_ERR_*`` table of the docs, generated from the code.

The close status and exception class of each code come from
``pyws.errors.WS_ERRORS``; the messages from the calls that raise them in
``pyws/receiver.py``, ``pyws/permessage_deflate.py`` and
``pyws/_transport.py`` (read with ``ast``,
f-string fields shown as ``<name>``); only the "when" texts are written
here, and :func:`problems` reports a code on one side and not the other.

Standard library and pyws only; the docs build and the tests import it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pyws.errors import WS_ERRORS, FrameRangeError

ROOT = Path(__file__).resolve().parent.parent.parent

#: The modules that raise ``WS_ERR_*`` errors: the receiver, the inflater,
#: and the transport (pyws's opt-in limits).
SOURCES = ("receiver.py", "permessage_deflate.py", "_transport.py")

#: When the receiver raises each code: the user-facing half of the table.
WHEN: dict[str, str] = {
    "WS_ERR_UNEXPECTED_RSV_2_3": "RSV2 or RSV3 is set (checked first).",
    "WS_ERR_UNEXPECTED_RSV_1": "RSV1 is set without permessage-deflate, on a "
    "continuation frame, or on a control frame.",
    "WS_ERR_INVALID_OPCODE": "A continuation frame with no message in progress, a "
    "new text or binary frame inside a fragmented message, or a reserved opcode "
    "(3-7, 11-15).",
    "WS_ERR_EXPECTED_FIN": "A control frame (close, ping, pong) without FIN.",
    "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH": "A control frame longer than 125 bytes, "
    "or a close frame with a 1-byte payload.",
    "WS_ERR_EXPECTED_MASK": "A server received an unmasked frame.",
    "WS_ERR_UNEXPECTED_MASK": "A client received a masked frame.",
    "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH": "A 64-bit length of 2^53 or more "
    "(this covers the top bit being set: 1009, as in ws).",
    "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH": "A message over `maxPayload`: checked from "
    "the frame headers before the payload is read, and again while inflating.",
    "WS_ERR_TOO_MANY_BUFFERED_PARTS": "More than `maxFragments` data frames in one "
    "message (empty ones count), or more than `maxBufferedChunks` unparsed chunks.",
    "WS_ERR_INVALID_UTF8": "Invalid UTF-8 in a text message or a close reason. pyws "
    "fails as soon as the invalid bytes arrive, even mid-frame (ws: at the end "
    "of the message).",
    "WS_ERR_INVALID_CLOSE_CODE": "A close frame whose status code is not valid "
    "(valid: 1000-1003, 1007-1014, 3000-4999).",
    "WS_ERR_BUFFERED_AMOUNT_EXCEEDED": "**pyws only, opt-in**: more than "
    "`maxBufferedAmount` bytes of output are held for a peer that does not read. "
    "The socket is destroyed at once (the close frame cannot get through), so "
    "`'close'` reports 1006.",
    "WS_ERR_INCOMPLETE_MESSAGE_TIMEOUT": "**pyws only, opt-in**: a frame or a "
    "fragmented message stayed incomplete for longer than "
    "`incompleteMessageTimeout` ms (time while you paused reading does not "
    "count).",
}


def _field_name(node: ast.expr) -> str:
    """A short name for an f-string field: ``opcode``, ``limit``, ..."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute):
            return sub.attr.lstrip("_")
        if isinstance(sub, ast.Name) and sub.id != "self":
            return sub.id.lstrip("_")
    return "value"


def _message_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append(f"<{_field_name(value.value)}>")
        return "".join(parts)
    return None


def receiver_messages() -> dict[str, list[str]]:
    """code -> the messages pyws raises it with, read from the source."""
    found: dict[str, list[str]] = {}
    for name in SOURCES:
        tree = ast.parse((ROOT / "pyws" / name).read_text("utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and len(node.args) == 2):
                continue
            func = node.func
            fname = (
                func.attr
                if isinstance(func, ast.Attribute)
                else getattr(func, "id", "")
            )
            if fname not in ("_fail", "protocol_error"):
                continue
            code, message = node.args
            if not (isinstance(code, ast.Constant) and code.value in WS_ERRORS):
                continue
            text = _message_of(message)
            if text is not None and text not in found.setdefault(code.value, []):
                found[code.value].append(text)
    return found


def problems() -> list[str]:
    """What keeps the table from matching the code (empty when it does)."""
    messages = receiver_messages()
    found = []
    for code in WS_ERRORS:
        if code not in WHEN:
            found.append(f"{code} is in pyws.errors.WS_ERRORS but has no 'when' text")
        if code not in messages:
            found.append(f"no raise of {code} found in pyws/ ({', '.join(SOURCES)})")
    for code in WHEN:
        if code not in WS_ERRORS:
            found.append(f"{code} has a 'when' text but is not in WS_ERRORS")
    return found


def errors_markdown() -> str:
    """The ``WS_ERR_*`` summary table and one section per code (MyST)."""
    messages = receiver_messages()
    summary = ["| code | close status | exception |", "| --- | --- | --- |"]
    details: list[str] = []
    for code, (status, prefixed, cls) in WS_ERRORS.items():
        pfx = "Invalid WebSocket frame: " if prefixed else ""
        anchor = code.lower().replace("_", "-")
        kind = f"`{cls.__name__}`"
        if issubclass(cls, FrameRangeError):
            kind += " (a `RangeError`)"
        phrase = getattr(status, "name", "").replace("_", " ").lower()
        summary.append(f"| [`{code}`](#{anchor}) | {int(status)} | {kind} |")
        details += [
            f"({anchor})=",
            f"### `{code}`",
            "",
            f"Close status **{int(status)}** ({phrase}); exception {kind}.",
            "",
            "Message: "
            + ", ".join(f"`{pfx}{m}`" for m in messages.get(code, []))
            + ".",
            "",
            WHEN.get(code, ""),
            "",
        ]
    lines = summary + [""] + details
    return "\n".join(lines) + "\n"
