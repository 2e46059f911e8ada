"""Unit tests for :mod:`pyws.validation` (RFC 6455 sections 7.4 and 8.1).

Close status codes against ws's ``isValidStatusCode`` ranges
(docs/errors.md, Rules the receiver applies), and UTF-8 against a table of
RFC 3629 well-formed and ill-formed sequences. No event loop.
"""

from __future__ import annotations

import pytest

from pyws.constants import CloseCode
from pyws.validation import (
    incremental_utf8_decoder,
    is_valid_status_code,
    is_valid_utf8,
)


def _ws_valid(code: int) -> bool:
    # docs/errors.md, Rules the receiver applies: 1000-1003, 1007-1014, 3000-4999.
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


class TestStatusCode:
    """RFC 6455 section 7.4: which codes may appear in a close frame."""

    @pytest.mark.parametrize(
        ("code", "valid"),
        [
            (0, False),
            (999, False),
            (1000, True),
            (1001, True),
            (1002, True),
            (1003, True),
            (1004, False),
            (1005, False),
            (1006, False),
            (1007, True),
            (1011, True),
            (1014, True),
            (1015, False),
            (1016, False),
            (2000, False),
            (2999, False),
            (3000, True),
            (4000, True),
            (4999, True),
            (5000, False),
            (65535, False),
            (-1000, False),
        ],
    )
    def test_table(self, code: int, valid: bool) -> None:
        assert is_valid_status_code(code) is valid

    def test_every_16_bit_code(self) -> None:
        wrong = [c for c in range(65536) if is_valid_status_code(c) != _ws_valid(c)]
        assert wrong == []

    @pytest.mark.parametrize("code", list(CloseCode))
    def test_enum_members(self, code: CloseCode) -> None:
        assert is_valid_status_code(code) is _ws_valid(int(code))

    @pytest.mark.parametrize("value", ["1000", b"\x03\xe8", None, True, False, [1000]])
    def test_not_an_integer(self, value: object) -> None:
        assert is_valid_status_code(value) is False


# (bytes, what they are)
VALID_UTF8 = [
    (b"", "empty"),
    (b"hello", "ASCII"),
    (b"\x00", "NUL"),
    (b"\x7f", "DEL, largest 1-byte"),
    (b"\xc2\x80", "U+0080, smallest 2-byte"),
    (b"\xdf\xbf", "U+07FF, largest 2-byte"),
    (b"\xe0\xa0\x80", "U+0800, smallest 3-byte"),
    (b"\xed\x9f\xbf", "U+D7FF, just below the surrogates"),
    (b"\xee\x80\x80", "U+E000, just above the surrogates"),
    (b"\xef\xbb\xbf", "BOM"),
    (b"\xef\xbf\xbe", "U+FFFE, a noncharacter but well-formed"),
    (b"\xef\xbf\xbf", "U+FFFF, largest 3-byte"),
    (b"\xf0\x90\x80\x80", "U+10000, smallest 4-byte"),
    (b"\xf0\x9f\x98\x80", "U+1F600"),
    (b"\xf4\x8f\xbf\xbf", "U+10FFFF, largest code point"),
    ("κόσμε".encode(), "Greek"),
    ("a€b😀c".encode(), "mixed widths"),
]

INVALID_UTF8 = [
    (b"\x80", "lone continuation byte"),
    (b"\xbf", "lone last continuation byte"),
    (b"a\x80b", "continuation byte between ASCII"),
    (b"\xc0\x80", "overlong NUL (2 bytes)"),
    (b"\xc1\xbf", "overlong U+007F"),
    (b"\xe0\x80\x80", "overlong NUL (3 bytes)"),
    (b"\xe0\x9f\xbf", "overlong U+07FF"),
    (b"\xf0\x80\x80\x80", "overlong NUL (4 bytes)"),
    (b"\xf0\x8f\xbf\xbf", "overlong U+FFFF"),
    (b"\xed\xa0\x80", "U+D800, high surrogate"),
    (b"\xed\xad\xbf", "U+DB7F"),
    (b"\xed\xb0\x80", "U+DC00, low surrogate"),
    (b"\xed\xbf\xbf", "U+DFFF"),
    (b"\xed\xa0\x80\xed\xb0\x80", "surrogate pair (CESU-8)"),
    (b"\xf4\x90\x80\x80", "U+110000, above the last code point"),
    (b"\xf5\x80\x80\x80", "start byte F5"),
    (b"\xf7\xbf\xbf\xbf", "U+1FFFFF"),
    (b"\xf8\x88\x80\x80\x80", "5-byte form"),
    (b"\xfc\x84\x80\x80\x80\x80", "6-byte form"),
    (b"\xfe", "byte FE"),
    (b"\xff", "byte FF"),
    (b"\xc2", "truncated 2-byte"),
    (b"\xe0\xa0", "truncated 3-byte"),
    (b"\xf0\x90\x80", "truncated 4-byte"),
    (b"abc\xe2\x82", "truncated at the end"),
    (b"\xe2\x82A", "truncated before ASCII"),
    (b"\xc2\xc2\x80", "start byte where a continuation belongs"),
    (b"\xe2\x82\xac\x80", "valid sequence then a stray continuation"),
]


class TestUtf8:
    """RFC 3629 as RFC 6455 section 8.1 requires."""

    @pytest.mark.parametrize(
        ("data", "what"), VALID_UTF8, ids=[w for _, w in VALID_UTF8]
    )
    def test_valid(self, data: bytes, what: str) -> None:
        assert is_valid_utf8(data) is True
        assert is_valid_utf8(bytearray(data)) is True
        assert is_valid_utf8(memoryview(data)) is True

    @pytest.mark.parametrize(
        ("data", "what"), INVALID_UTF8, ids=[w for _, w in INVALID_UTF8]
    )
    def test_invalid(self, data: bytes, what: str) -> None:
        assert is_valid_utf8(data) is False
        assert is_valid_utf8(bytearray(data)) is False
        assert is_valid_utf8(memoryview(data)) is False

    def test_every_code_point_round_trips(self) -> None:
        # Every scalar value encodes to valid UTF-8; every surrogate is refused.
        for cp in range(0, 0x110000, 7):
            if 0xD800 <= cp <= 0xDFFF:
                raw = chr(cp).encode("utf-8", "surrogatepass")
                assert is_valid_utf8(raw) is False, hex(cp)
            else:
                assert is_valid_utf8(chr(cp).encode()) is True, hex(cp)


class TestIncrementalDecoder:
    """Section 8.1 for fragmented text: a sequence may span fragments."""

    def test_sequence_split_across_chunks(self) -> None:
        decode = incremental_utf8_decoder()
        raw = "€😀".encode()
        text = "".join(decode(raw[i : i + 1], False) for i in range(len(raw)))
        assert text + decode(b"", True) == "€😀"

    def test_invalid_byte_fails_on_its_chunk(self) -> None:
        decode = incremental_utf8_decoder()
        assert decode(b"ab", False) == "ab"
        with pytest.raises(UnicodeDecodeError):
            decode(b"\xff", False)

    def test_truncated_at_final_fails(self) -> None:
        decode = incremental_utf8_decoder()
        assert decode(b"\xe2\x82", False) == ""
        with pytest.raises(UnicodeDecodeError):
            decode(b"", True)

    def test_decoders_are_independent(self) -> None:
        first = incremental_utf8_decoder()
        second = incremental_utf8_decoder()
        assert first(b"\xe2", False) == ""
        assert second(b"a", True) == "a"
        assert first(b"\x82\xac", True) == "€"
