"""RFC 6455 section 8.1: text must be well-formed UTF-8, exhaustively.

Every 1- and 2-byte string, and every 3- and 4-byte string over the lead
and second bytes (the only positions where the rules of RFC 3629 section 4
differ from "a continuation byte 80..BF") with valid and invalid later bytes,
sent to the sans-I/O core as a text message, as one split across two
fragments, and as a close reason. The verdict is compared with an
independent oracle written here from the ABNF of RFC 3629 section 4, not
with Python's codec (which pyws itself uses).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.rawpeer import build_frame

from pyws.protocol import Protocol


def _tail(data: bytes, i: int, n: int) -> bool:
    return i + n <= len(data) and all(0x80 <= b <= 0xBF for b in data[i : i + n])


def rfc3629_valid(data: bytes) -> bool:
    """The UTF8-octets rule of RFC 3629 section 4, transcribed."""
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b <= 0x7F:  # UTF8-1
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:  # UTF8-2 = %xC2-DF UTF8-tail
            if not _tail(data, i + 1, 1):
                return False
            i += 2
            continue
        if 0xE0 <= b <= 0xEF:  # UTF8-3
            if i + 1 >= n:
                return False
            c = data[i + 1]
            if b == 0xE0:
                ok = 0xA0 <= c <= 0xBF
            elif b == 0xED:
                ok = 0x80 <= c <= 0x9F
            else:
                ok = 0x80 <= c <= 0xBF
            if not ok or not _tail(data, i + 2, 1):
                return False
            i += 3
            continue
        if 0xF0 <= b <= 0xF4:  # UTF8-4
            if i + 1 >= n:
                return False
            c = data[i + 1]
            if b == 0xF0:
                ok = 0x90 <= c <= 0xBF
            elif b == 0xF4:
                ok = 0x80 <= c <= 0x8F
            else:
                ok = 0x80 <= c <= 0xBF
            if not ok or not _tail(data, i + 2, 2):
                return False
            i += 4
            continue
        return False  # 80..C1, F5..FF never start a sequence
    return True


def test_oracle_on_known_values() -> None:
    assert rfc3629_valid(b"") and rfc3629_valid("aé€😀".encode())
    assert rfc3629_valid(b"\xf4\x8f\xbf\xbf") and not rfc3629_valid(b"\xf4\x90\x80\x80")
    assert not rfc3629_valid(b"\xed\xa0\x80") and rfc3629_valid(b"\xed\x9f\xbf")
    assert not rfc3629_valid(b"\xc0\x80") and not rfc3629_valid(b"\xe0\x9f\xbf")
    assert not rfc3629_valid(b"\xe2\x82") and not rfc3629_valid(b"\xff")


def strings(group: str) -> Iterator[bytes]:
    if group == "1-byte":
        yield from (bytes([a]) for a in range(256))
    elif group == "2-byte":
        # Leads 00..7F make two 1-byte strings, covered above.
        yield from (bytes([a, b]) for a in range(0x80, 256) for b in range(256))
    elif group == "3-byte":
        for a in range(0xE0, 0x100):
            for b in range(256):
                for c in (0xBF, 0x7F, 0xC0):
                    yield bytes([a, b, c])
    else:
        for a in range(0xF0, 0x100):
            for b in range(256):
                for c, d in ((0x80, 0xBF), (0x80, 0x7F), (0xC0, 0x80)):
                    yield bytes([a, b, c, d])


class Verdicts:
    """Feeds strings through one client Protocol, renewing it after failures."""

    def __init__(self) -> None:
        self.p = Protocol(is_server=False)

    def verdict(self, frames: bytes) -> str:
        self.p.receive_data(frames)
        events = self.p.events_received()
        self.p.data_to_send()
        kinds = [e[0] for e in events]
        if kinds == ["error"]:
            assert events[0][1].code == "WS_ERR_INVALID_UTF8"
            self.p = Protocol(is_server=False)
            return "fail"
        assert kinds in (["message"], ["close_frame"]), events
        if kinds == ["close_frame"]:
            self.p = Protocol(is_server=False)
        return "ok"


@pytest.mark.parametrize("group", ["1-byte", "2-byte", "3-byte", "4-byte"])
@pytest.mark.parametrize("shape", ["text", "text split", "close reason"])
def test_exhaustive(group: str, shape: str) -> None:
    v = Verdicts()
    wrong = []
    for s in strings(group):
        if shape == "text":
            frames = build_frame(1, s)
        elif shape == "text split":
            cut = len(s) // 2 or 1
            frames = build_frame(1, s[:cut], fin=False) + build_frame(0, s[cut:])
        else:
            frames = build_frame(8, b"\x03\xe8" + s)
        want = "ok" if rfc3629_valid(s) else "fail"
        if v.verdict(frames) != want:
            wrong.append(s.hex())
    assert wrong == [], f"{len(wrong)} wrong verdicts, e.g. {wrong[:10]}"
