"""Unit tests for :mod:`pyws.extension` (RFC 6455 section 9.1,
``Sec-WebSocket-Extensions``; ws 8.23 ``lib/extension.js``).

No event loop. The ``interop`` test feeds the same random headers to ws's
own ``extension.parse`` (test/interop/node_modules) and compares, and checks
``format`` on a few values against ws's ``format``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyws import extension
from pyws.errors import WsSyntaxError

WS_LIB = Path(__file__).resolve().parents[1] / "interop" / "node_modules" / "ws" / "lib"
NODE_TIMEOUT = 60 * float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1"))


class TestParse:
    """ws ``extension.parse``: offers per name, values per parameter."""

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("foo", {"foo": [{}]}),
            ("foo;bar", {"foo": [{"bar": [True]}]}),
            ("foo; bar", {"foo": [{"bar": [True]}]}),
            ("foo ;bar ", None),  # trailing whitespace: see test_invalid
            ("foo;bar=1", {"foo": [{"bar": ["1"]}]}),
            ("foo; bar=1 ;baz", {"foo": [{"bar": ["1"], "baz": [True]}]}),
            (
                "foo; bar; baz=1; bar=2",
                {"foo": [{"bar": [True, "2"], "baz": ["1"]}]},
            ),
            ("foo, bar", {"foo": [{}], "bar": [{}]}),
            ("foo,bar", {"foo": [{}], "bar": [{}]}),
            ("foo; a=1, foo; a=2", {"foo": [{"a": ["1"]}, {"a": ["2"]}]}),
            (
                "foo; a, bar; b, foo",
                {"foo": [{"a": [True]}, {}], "bar": [{"b": [True]}]},
            ),
            ('foo; bar="hi"', {"foo": [{"bar": ["hi"]}]}),
            ('foo; bar="\\hi"', {"foo": [{"bar": ["hi"]}]}),
            ('foo; bar="h\\i"', {"foo": [{"bar": ["hi"]}]}),
            ('foo; bar="\\h\\i\\"', None),
            ('foo; bar="1"; baz=2', {"foo": [{"bar": ["1"], "baz": ["2"]}]}),
            ('foo; bar="1" , baz', {"foo": [{"bar": ["1"]}], "baz": [{}]}),
            (
                "permessage-deflate; client_max_window_bits, permessage-deflate",
                {"permessage-deflate": [{"client_max_window_bits": [True]}, {}]},
            ),
            (
                "permessage-deflate; server_no_context_takeover;"
                " server_max_window_bits=10",
                {
                    "permessage-deflate": [
                        {
                            "server_no_context_takeover": [True],
                            "server_max_window_bits": ["10"],
                        }
                    ]
                },
            ),
            ("foo\t;\tbar\t=1", None),
        ],
    )
    def test_valid(self, header: str, expected: dict[str, Any] | None) -> None:
        if expected is None:
            with pytest.raises(WsSyntaxError):
                extension.parse(header)
        else:
            assert extension.parse(header) == expected

    def test_keeps_offer_order(self) -> None:
        parsed = extension.parse("b; y, a; x, b; z")
        assert list(parsed) == ["b", "a"]
        assert parsed["b"] == [{"y": [True]}, {"z": [True]}]

    def test_parameter_whitespace_before_separator(self) -> None:
        assert extension.parse("foo; bar=1 \t; baz \t, q") == {
            "foo": [{"bar": ["1"], "baz": [True]}],
            "q": [{}],
        }

    @pytest.mark.parametrize(
        ("header", "message"),
        [
            ("", "Unexpected end of input"),
            ("foo ", "Unexpected end of input"),
            ("foo;", "Unexpected end of input"),
            ("foo,", "Unexpected end of input"),
            ("foo; bar=", "Unexpected end of input"),
            ('foo; bar="', "Unexpected end of input"),
            ('foo; bar="baz', "Unexpected end of input"),
            ('foo; bar="baz\\', "Unexpected end of input"),
            ("foo; bar ", "Unexpected end of input"),
            ("foo; bar=1\t", "Unexpected end of input"),
            (" foo", "Unexpected character at index 0"),
            (",foo", "Unexpected character at index 0"),
            (";foo", "Unexpected character at index 0"),
            ("foo bar", "Unexpected character at index 4"),
            ("foo@bar", "Unexpected character at index 3"),
            ("foo;;bar", "Unexpected character at index 4"),
            ("foo,,bar", "Unexpected character at index 4"),
            ("foo; b ar", "Unexpected character at index 7"),
            ("foo; bar =1", "Unexpected character at index 9"),
            ("foo; =1", "Unexpected character at index 5"),
            ("foo; bar= 1", "Unexpected character at index 9"),
            ("foo; bar=1 2", "Unexpected character at index 11"),
            ("foo; bar==1", "Unexpected character at index 9"),
            ('foo; bar=a"b"', "Unexpected character at index 10"),
            ('foo; bar=""', "Unexpected character at index 10"),
            ('foo; bar="a b"', "Unexpected character at index 11"),
            ('foo; bar="a"b', "Unexpected character at index 12"),
            ('foo; bar="a""', "Unexpected character at index 12"),
            ('foo; bar="\\ "', "Unexpected character at index 11"),
            ('foo; bar="a\\"b"', "Unexpected character at index 12"),
            ("foo; bar=é", "Unexpected character at index 9"),
            ("foé", "Unexpected character at index 2"),
        ],
    )
    def test_invalid(self, header: str, message: str) -> None:
        with pytest.raises(WsSyntaxError) as exc_info:
            extension.parse(header)
        assert str(exc_info.value) == message


class TestFormat:
    """ws ``extension.format``."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ({"foo": {}}, "foo"),
            ({"foo": [{}]}, "foo"),
            ({"foo": [{}, {}]}, "foo, foo"),
            ({"foo": {}, "bar": {}}, "foo, bar"),
            ({"foo": {"bar": True}}, "foo; bar"),
            ({"foo": {"bar": [True]}}, "foo; bar"),
            ({"foo": {"bar": 10}}, "foo; bar=10"),
            ({"foo": {"bar": "baz", "q": True}}, "foo; bar=baz; q"),
            ({"foo": {"bar": [True, 1, "x"]}}, "foo; bar; bar=1; bar=x"),
            ({"foo": {"bar": False}}, "foo; bar=false"),
            ({"foo": {"bar": 10.0}}, "foo; bar=10"),
            (
                {
                    "permessage-deflate": [
                        {"client_max_window_bits": True},
                        {"server_max_window_bits": 10, "client_max_window_bits": 12},
                    ],
                    "x": {"y": "z"},
                },
                "permessage-deflate; client_max_window_bits, "
                "permessage-deflate; server_max_window_bits=10; "
                "client_max_window_bits=12, x; y=z",
            ),
        ],
    )
    def test_format(self, value: dict[str, Any], expected: str) -> None:
        assert extension.format(value) == expected

    @pytest.mark.parametrize(
        "header",
        [
            "foo",
            "foo; bar",
            "foo; bar=1; bar=2; baz",
            "a, a; e, b; c=d",
            "permessage-deflate; client_max_window_bits",
        ],
    )
    def test_round_trip(self, header: str) -> None:
        assert extension.format(extension.parse(header)) == header

    def test_offers_of_one_name_come_out_together(self) -> None:
        parsed = extension.parse("a, b; c=d, a; e")
        assert extension.format(parsed) == "a, a; e, b; c=d"


def _node_problem() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (WS_LIB / "extension.js").exists():
        return "ws is not installed: run npm ci in test/interop"
    return None


_NODE_SCRIPT = """
const {parse, format} = require(process.argv[1]);
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const parsed = input.headers.map(h => {
  try { return JSON.parse(JSON.stringify(parse(h))); }
  catch (e) { return 'ERR ' + e.constructor.name + ' ' + e.message; }
});
console.log(JSON.stringify({parsed, formatted: input.values.map(format)}));
"""


@pytest.mark.interop
@pytest.mark.skipif(_node_problem() is not None, reason=str(_node_problem()))
def test_random_headers_match_ws() -> None:
    """Random headers parse (or fail, at the same index) as in ws."""
    rng = random.Random(7692)
    alphabet = ["a", "b", "=", ";", ",", " ", "\t", '"', "\\", "1", "é", "c=d", '"x"']
    headers = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        for _ in range(5000)
    ]
    values: list[dict[str, Any]] = [
        {"a": {}},
        {"a": [{"b": True, "c": ["1", True]}, {}], "d": {"e": 15}},
    ]
    done = subprocess.run(
        ["node", "-e", _NODE_SCRIPT, str(WS_LIB / "extension.js")],
        input=json.dumps({"headers": headers, "values": values}),
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=True,
    )
    expected = json.loads(done.stdout)

    def ours(header: str) -> Any:
        try:
            return extension.parse(header)
        except WsSyntaxError as exc:
            return f"ERR SyntaxError {exc}"

    mismatches = [
        (h, ours(h), e)
        for h, e in zip(headers, expected["parsed"], strict=True)
        if ours(h) != e
    ]
    assert mismatches == []
    assert sum(isinstance(e, dict) for e in expected["parsed"]) > 100
    assert [extension.format(v) for v in values] == expected["formatted"]
