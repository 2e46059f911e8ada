"""Make peer-supplied text safe to print on a terminal or write to a log.

A WebSocket peer chooses the text of its messages, close reasons, request
targets and headers. Printed raw, ``"\\x1b]0;title\\x07\\x1b[2J"`` retitles
and clears the user's terminal, and a CR or LF forges log lines. Every such
string pyws prints or logs goes through :func:`printable`:

- C0 controls, DEL and C1 controls become ``\\xNN`` (``\\t``, ``\\n``,
  ``\\r`` keep their short forms);
- the line and paragraph separators U+2028/U+2029 and the bidirectional
  controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, the
  "Trojan Source" characters) become ``\\uNNNN``;
- everything else, printable Unicode included (accents, CJK, emoji with
  their zero-width joiners), is kept as is.

Backslashes are not doubled: the output is for people, and a peer that
sends a literal ``\\x1b`` only shows those four characters.

Core module: stdlib only.
"""

from __future__ import annotations

__all__ = ["printable"]


def _table() -> dict[int, str]:
    table = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
    table.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
    for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)):
        table[c] = f"\\u{c:04x}"
    table[0x2028] = "\\u2028"
    table[0x2029] = "\\u2029"
    return table


_ESCAPES = _table()


def printable(text: str) -> str:
    """Return ``text`` with control characters escaped (see the module doc).

    Args:
        text: a string that came from a peer.

    Returns:
        ``text`` itself when it holds nothing to escape, else an escaped copy.
    """
    if text.isprintable():  # the common case: no copy
        return text
    return text.translate(_ESCAPES)
