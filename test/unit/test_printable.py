"""pyws._printable: peer text made safe for terminals and logs (issue 9)."""

from __future__ import annotations

import unicodedata

import pytest

from pyws._printable import printable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("plain ascii", "plain ascii"),
        ("caf\u00e9 \u4e2d\u6587 \U0001f642", "caf\u00e9 \u4e2d\u6587 \U0001f642"),
        # Emoji sequences keep their zero-width joiner.
        ("\U0001f468\u200d\U0001f469", "\U0001f468\u200d\U0001f469"),
        ("\x1b]0;pwned\x07\x1b[2J", "\\x1b]0;pwned\\x07\\x1b[2J"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x00\x7f\x80\x9b\x9f\xa0", "\\x00\\x7f\\x80\\x9b\\x9f\xa0"),
        ("\u2028\u2029", "\\u2028\\u2029"),
        ("x\u202ey\u2066z\u200f", "x\\u202ey\\u2066z\\u200f"),
        ("back\\slash", "back\\slash"),
    ],
)
def test_printable(text: str, expected: str) -> None:
    assert printable(text) == expected


def test_no_control_character_survives() -> None:
    every = "".join(chr(c) for c in range(0x100)) + "\u2028\u2029\u202a\u2069"
    out = printable(every)
    assert [ch for ch in out if unicodedata.category(ch) in ("Cc", "Zl", "Zp")] == []
    assert not set(out) & {"\u202a", "\u2069"}


def test_printable_text_is_returned_as_is() -> None:
    text = "nothing to escape " * 10
    assert printable(text) is text
