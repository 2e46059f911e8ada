"""The generators behind the docs site (``docs/_ext``): the ``WS_ERR_*``
table, the sequence diagrams drawn from ``scripts/compare`` traces, and the
benchmark chart.

Each is checked against what it claims to mirror: the table's messages are
those the receiver really raises, each diagram has one arrow per recorded
wire step, the chart one bar per figure of the README table. No event loop.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pyws._options import CLIENT_OPTIONS, REDIS_OPTIONS, SERVER_OPTIONS, Option
from pyws.errors import WS_ERRORS, ProtocolError
from pyws.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "docs" / "_ext"
TRACES = ROOT / "docs" / "_traces"
SVG = "{http://www.w3.org/2000/svg}"

sys.path.insert(0, str(EXT))
import benchchart  # noqa: E402
import errtable  # noqa: E402
import opttable  # noqa: E402
import seqdiagram  # noqa: E402


def raised(data: bytes, is_server: bool = True, **options: Any) -> ProtocolError:
    """Feed ``data`` to a receiver; return the error it reports."""
    errors: list[ProtocolError] = []
    r = Receiver(
        is_server=is_server,
        on_message=lambda data, binary: None,
        on_ping=lambda data: None,
        on_pong=lambda data: None,
        on_close=lambda code, reason: None,
        on_error=errors.append,
        **options,
    )
    r.feed(data)
    assert len(errors) == 1, errors
    return errors[0]


MASK = b"\x00\x00\x00\x00"


class TestErrorTable:
    def test_table_matches_the_code(self) -> None:
        assert errtable.problems() == []

    def test_every_code_has_a_section_and_a_row(self) -> None:
        text = errtable.errors_markdown()
        for code, (status, _, _) in WS_ERRORS.items():
            assert f"### `{code}`" in text
            assert (
                f"| [`{code}`](#{code.lower().replace('_', '-')}) | {int(status)} |"
                in text
            )

    @pytest.mark.parametrize(
        ("frame", "options"),
        [
            (b"\xa1\x80" + MASK, {}),  # RSV2 set
            (b"\x81\x00", {}),  # a server gets an unmasked frame
            (b"\x83\x80" + MASK, {}),  # opcode 3
            (b"\x81\x82" + MASK + b"\xff\xfe", {}),  # invalid UTF-8
            (b"\x82\x85" + MASK + b"hello", {"max_payload": 4}),
        ],
        ids=["rsv2", "expected-mask", "opcode-3", "utf8", "max-payload"],
    )
    def test_messages_are_the_raised_ones(self, frame: bytes, options: Any) -> None:
        exc = raised(frame, **options)
        section = errtable.errors_markdown().split(f"### `{exc.code}`", 1)[1]
        section = section.split("###", 1)[0]
        message = str(exc)
        if "<" in section:  # a field the table shows as <name>
            head = section.split("Message: ", 1)[1]
            assert any(
                message.startswith(part.split("<", 1)[0].strip("`"))
                for part in head.split(", ")
            ), (message, head)
        else:
            assert f"`{message}`" in section, (message, section)
        assert f"Close status **{exc.status_code}**" in section


class TestOptionTables:
    def test_tables_match_the_code(self) -> None:
        assert opttable.problems() == []

    @pytest.mark.parametrize(
        ("role", "options", "in_ms", "pep8"),
        [
            ("client", CLIENT_OPTIONS, "closeTimeout", "close_timeout"),
            ("server", SERVER_OPTIONS, "closeTimeout", "close_timeout"),
            ("redis", REDIS_OPTIONS, "reconnectDelay", "reconnect_delay"),
        ],
    )
    def test_one_row_per_option_with_its_default(
        self, role: str, options: dict[str, Any], in_ms: str, pep8: str
    ) -> None:
        rows = [r for r in opttable.table(role).splitlines()[2:] if r]
        names = [r.split("`")[1] for r in rows]
        assert sorted(names) == sorted(options)
        row = rows[names.index(in_ms)]
        assert f"| {options[in_ms].default} ms |" in row
        assert f"(`{pep8}`)" in row

    def test_a_new_option_without_a_meaning_is_reported(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        extra = dict(CLIENT_OPTIONS, brandNew=Option("brandNew", None))
        monkeypatch.setattr(opttable, "CLIENT_OPTIONS", extra)
        assert opttable.problems() == [
            "client option brandNew has no meaning in opttable.py"
        ]

    def test_a_new_redis_option_without_a_meaning_is_reported(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        extra = dict(REDIS_OPTIONS, brandNew=Option("brandNew", None))
        monkeypatch.setattr(opttable, "REDIS_OPTIONS", extra)
        assert opttable.problems() == [
            "redis option brandNew has no meaning in opttable.py"
        ]


class TestSequenceDiagram:
    @pytest.mark.parametrize(
        "path", sorted(TRACES.glob("*.json")), ids=lambda p: p.stem
    )
    def test_one_arrow_per_wire_step_and_a_box_per_event(self, path: Path) -> None:
        trace = json.loads(path.read_text("utf-8"))
        root = ET.fromstring(seqdiagram.trace_to_svg(trace))
        arrows = [e for e in root.iter(f"{SVG}line") if e.get("marker-end")]
        boxes = [e for e in root.iter(f"{SVG}rect") if e.get("rx")]
        events = [e for e in trace["events"] if e["kind"] == "event"]
        assert len(arrows) == len(trace["wire"])
        assert len(boxes) == len(events)
        texts = [e.text or "" for e in root.iter(f"{SVG}text")]
        closes = [e for e in events if e["event"] == "close"]
        for event in closes:
            assert any(t.startswith(f"'close' {event['args'][0]}") for t in texts)

    def test_traces_belong_to_the_scenario_library(self) -> None:
        scenarios = ROOT / "scripts" / "compare" / "scenarios"
        for path in TRACES.glob("*.json"):
            trace = json.loads(path.read_text("utf-8"))
            assert (scenarios / f"{trace['scenario']}.json").is_file(), path.name
            assert trace["problems"] == [] and trace["exit_code"] == 0, path.name

    def test_labels(self) -> None:
        frame = {
            "opcode": "close",
            "fin": True,
            "masked": True,
            "code": 1002,
            "reason": {"b": b"bye".hex()},
        }
        assert seqdiagram._frame_label(frame) == "close 1002 b'bye' masked"
        text = {"opcode": "text", "fin": False, "rsv": "2", "payload": {"b": "78"}}
        assert seqdiagram._frame_label(text) == "text b'x' RSV2 no FIN"


class TestBenchChart:
    README = """
## Benchmark

| scenario | pyws | vs websockets | vs Node ws |
| --- | --- | --- | --- |
| echo 16 B | 2.6 us | 0.20x | 0.50x |
| deflate | 17.7 us | 0.40x | - |

Another table, not the chart's:

| message | pyws | websockets |
| --- | --- | --- |
| 1 MiB | 3.2 ms | 1.6 ms, 5.0x |

## Next
"""

    def test_parses_the_table(self) -> None:
        rows = benchchart.readme_table(self.README)
        assert rows == [
            ("echo 16 B", "2.6 us", {"websockets": 0.2, "Node ws": 0.5}),
            ("deflate", "17.7 us", {"websockets": 0.4}),
        ]

    def test_one_bar_per_figure(self) -> None:
        root = ET.fromstring(benchchart.chart_svg(benchchart.readme_table(self.README)))
        bars = [e.findtext(f"{SVG}title") for e in root.iter(f"{SVG}rect")]
        bars = [b for b in bars if b]
        assert bars == [
            "pyws: 1.00x pyws's CPU per message",
            "websockets: 5.00x pyws's CPU per message",
            "Node ws: 2.00x pyws's CPU per message",
            "pyws: 1.00x pyws's CPU per message",
            "websockets: 2.50x pyws's CPU per message",
        ]

    def test_results_json_gives_the_same_rows(self) -> None:
        """A ``run.py --json`` file: pyws's CPU per message over each other's."""
        data = {
            "median": {
                "echo 16 B": {
                    "pyws": {"rate": 1.0, "cpu_us": 2.6},
                    "websockets": {"rate": 1.0, "cpu_us": 13.0},
                    "Node ws": {"error": "node not found"},
                },
                "idle memory": {"pyws": {"kib_per_conn": 8.0}},
            }
        }
        rows = benchchart.results_rows(data)
        assert rows == [("echo 16 B", "2.6 us", {"websockets": pytest.approx(0.2)})]

    def test_the_readme_has_a_table(self) -> None:
        rows = benchchart.readme_table((ROOT / "README.md").read_text("utf-8"))
        assert rows and all(r[2] for r in rows)


class TestPages:
    BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)

    @pytest.mark.parametrize(
        "path",
        sorted((ROOT / "docs").rglob("*.md")),
        ids=lambda p: str(p.relative_to(ROOT / "docs")),
    )
    def test_python_examples_compile(self, path: Path) -> None:
        # Fragments may await at their top level (they stand for the body
        # of an async function).
        for block in self.BLOCK.findall(path.read_text("utf-8")):
            compile(block, str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
