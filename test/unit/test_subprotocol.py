"""Unit tests for :mod:`pyws.subprotocol` (RFC 6455 section 4.1,
``Sec-WebSocket-Protocol``; ws 8.23 ``lib/subprotocol.js``).

No event loop. The ``interop`` test feeds the same random headers to ws's
own ``subprotocol.parse`` (test/interop/node_modules) and compares.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from pyws import subprotocol
from pyws.errors import WsSyntaxError

WS_LIB = Path(__file__).resolve().parents[1] / "interop" / "node_modules" / "ws" / "lib"
NODE_TIMEOUT = 60 * float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1"))


class TestIsToken:
    """RFC 7230 section 3.2.6 ``token = 1*tchar``."""

    @pytest.mark.parametrize("s", ["a", "chat", "v1.json", "!#$%&'*+-.^_`|~09AZaz"])
    def test_tokens(self, s: str) -> None:
        assert subprotocol.is_token(s)

    @pytest.mark.parametrize(
        "s", ["", " ", "a b", "a,b", "a;b", '"a"', "a/b", "é", "a\t", "(x)", "{x}"]
    )
    def test_not_tokens(self, s: str) -> None:
        assert not subprotocol.is_token(s)

    def test_every_ascii_character(self) -> None:
        separators = set('"(),/:;<=>?@[\\]{}')
        for code in range(128):
            ch = chr(code)
            expected = 0x20 < code < 0x7F and ch not in separators
            assert subprotocol.is_token(ch) is expected, repr(ch)


class TestParse:
    """ws ``subprotocol.parse``: a Set of tokens, separated by commas."""

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("a", ["a"]),
            ("a,b", ["a", "b"]),
            ("a, b", ["a", "b"]),
            ("a ,b", ["a", "b"]),
            ("a \t, \t b", ["a", "b"]),
            ("b,a,c", ["b", "a", "c"]),
            ("chat.v2,superchat", ["chat.v2", "superchat"]),
        ],
    )
    def test_valid(self, header: str, expected: list[str]) -> None:
        assert list(subprotocol.parse(header)) == expected

    def test_returns_an_ordered_set_like_view(self) -> None:
        protocols = subprotocol.parse("x, y")
        assert "x" in protocols and "z" not in protocols
        assert protocols & {"y", "z"} == {"y"}
        assert len(protocols) == 2

    @pytest.mark.parametrize(
        ("header", "message"),
        [
            ("", "Unexpected end of input"),
            ("a,", "Unexpected end of input"),
            ("a ", "Unexpected end of input"),
            ("a, ", "Unexpected end of input"),
            (" a", "Unexpected character at index 0"),
            (",a", "Unexpected character at index 0"),
            ("a,,b", "Unexpected character at index 2"),
            ("a b", "Unexpected character at index 2"),
            ("a;b", "Unexpected character at index 1"),
            ('a,"b"', "Unexpected character at index 2"),
            ("ab,cé", "Unexpected character at index 4"),
            ("a, ,b", "Unexpected character at index 3"),
            ("a,a", 'The "a" subprotocol is duplicated'),
            ("a, b ,a", 'The "a" subprotocol is duplicated'),
            ("a,b,b,c", 'The "b" subprotocol is duplicated'),
        ],
    )
    def test_invalid(self, header: str, message: str) -> None:
        with pytest.raises(WsSyntaxError) as exc_info:
            subprotocol.parse(header)
        assert str(exc_info.value) == message
        assert isinstance(exc_info.value, ValueError)

    def test_is_case_sensitive(self) -> None:
        assert list(subprotocol.parse("A,a")) == ["A", "a"]


def _node_problem() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (WS_LIB / "subprotocol.js").exists():
        return "ws is not installed: run npm ci in test/interop"
    return None


@pytest.mark.interop
@pytest.mark.skipif(_node_problem() is not None, reason=str(_node_problem()))
def test_random_headers_match_ws() -> None:
    """Random headers over the interesting alphabet parse as in ws."""
    rng = random.Random(6455)
    alphabet = ["a", "b", "é", ",", " ", "\t", ";", '"', "ab", "x-1"]
    headers = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        for _ in range(3000)
    ]
    script = (
        "const {parse} = require(process.argv[1]);"
        "const hs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(hs.map(h => {"
        "  try { return [...parse(h)]; } catch (e) { return 'ERR ' + e.message; }"
        "})));"
    )
    done = subprocess.run(
        ["node", "-e", script, str(WS_LIB / "subprotocol.js")],
        input=json.dumps(headers),
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=True,
    )
    expected = json.loads(done.stdout)

    def ours(header: str) -> list[str] | str:
        try:
            return list(subprotocol.parse(header))
        except WsSyntaxError as exc:
            return f"ERR {exc}"

    mismatches = [
        (h, ours(h), e) for h, e in zip(headers, expected, strict=True) if ours(h) != e
    ]
    assert mismatches == []
    # The sample must exercise both outcomes to mean anything.
    assert any(isinstance(e, list) for e in expected)
    assert any(isinstance(e, str) for e in expected)
