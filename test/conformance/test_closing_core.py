"""RFC 6455 section 7 closing sequences on the sans-I/O core, both roles.

Each case is a script of steps (local ``close``/``send``, peer frames, the
peer's FIN) with what must come out after each step: frames pyws writes,
whether it half-closes (only a server does, 7.1.1), the state, and finally
the code ``'close'`` reports (7.1.5: the first received close frame's code,
1005 without one, 1006 without a close frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from helpers.rawpeer import parse_frames

from pyws.constants import ReadyState
from pyws.protocol import Protocol

from .cases import BINARY, CLOSE, PONG, TEXT, F, cp, wire

OPEN, CLOSING = ReadyState.OPEN, ReadyState.CLOSING

# Steps: ("close", code, reason) | ("send", data) | ("ping", data)
#        | ("peer", [frames]) | ("eof",) | ("terminate",)
# Expect after each step: (frames sent, server half-closes, state, events).


@dataclass(frozen=True)
class Script:
    section: str
    name: str
    steps: tuple[tuple[Any, ...], ...]
    expect: tuple[tuple[Any, ...], ...]
    close_code: int


S = Script
SCRIPTS = [
    S("7.1.2", "local close, peer echoes",
      (("close", 1000, b"bye"), ("peer", [F(CLOSE, cp(1000, b"bye"))])),
      (([(CLOSE, cp(1000, b"bye"))], False, CLOSING, []),
       ([], True, CLOSING, [("close_frame", 1000, b"bye")])),
      1000),
    S("7.1.2", "local close without a code sends an empty frame",
      (("close", None, b""), ("peer", [F(CLOSE)])),
      (([(CLOSE, b"")], False, CLOSING, []),
       ([], True, CLOSING, [("close_frame", 1005, b"")])),
      1005),
    S("7.1.5", "the received code is reported, not the one sent",
      (("close", 1000, b""), ("peer", [F(CLOSE, cp(4001, b"other"))])),
      (([(CLOSE, cp(1000))], False, CLOSING, []),
       ([], True, CLOSING, [("close_frame", 4001, b"other")])),
      4001),
    S("7.1.2", "data sent before close() goes out first",
      (("send", b"data"), ("close", 1001, b""), ("peer", [F(CLOSE, cp(1001))])),
      (([(BINARY, b"data")], False, OPEN, []),
       ([(CLOSE, cp(1001))], False, CLOSING, []),
       ([], True, CLOSING, [("close_frame", 1001, b"")])),
      1001),
    S("7.1.2", "messages before the peer's close are still delivered",
      (("close", 1000, b""), ("peer", [F(TEXT, b"late"), F(CLOSE, cp(1000))])),
      (([(CLOSE, cp(1000))], False, CLOSING, []),
       ([], True, CLOSING, [("message", b"late", False), ("close_frame", 1000, b"")])),
      1000),
    S("7.1.2", "a second close() sends nothing",
      (("close", 1000, b""), ("close", 4000, b"again"), ("peer", [F(CLOSE, cp(1000))])),
      (([(CLOSE, cp(1000))], False, CLOSING, []), ([], False, CLOSING, []),
       ([], True, CLOSING, [("close_frame", 1000, b"")])),
      1000),
    S("5.5.1", "close() after the peer's close sends no second frame",
      (("peer", [F(CLOSE, cp(1000))]), ("close", 4000, b"")),
      (([(CLOSE, cp(1000))], True, CLOSING, [("close_frame", 1000, b"")]),
       ([], False, CLOSING, [])),
      1000),
    S("7.1.7", "a failure while CLOSING sends no second close frame",
      (("close", 1000, b""), ("peer", [F(TEXT, b"x", rsv2=True), F(CLOSE, cp(1000))])),
      (([(CLOSE, cp(1000))], False, CLOSING, []),
       ([], True, CLOSING, [("error", "WS_ERR_UNEXPECTED_RSV_2_3")])),
      1006),
    S("7.1.5", "FIN while CLOSING without the peer's close frame: 1006",
      (("close", 1000, b""), ("eof",)),
      (([(CLOSE, cp(1000))], False, CLOSING, []), ([], False, CLOSING, [])),
      1006),
    S("5.5.2", "a ping during CLOSING is reported but not answered (ws 8.23)",
      (("close", 1000, b""), ("peer", [F(9, b"p"), F(CLOSE, cp(1000))])),
      (([(CLOSE, cp(1000))], False, CLOSING, []),
       ([], True, CLOSING, [("ping", b"p"), ("close_frame", 1000, b"")])),
      1000),
    S("5.5.2", "a pong is sent for a ping received while OPEN",
      (("peer", [F(9, b"p")]), ("close", 1000, b"")),
      (([(PONG, b"p")], False, OPEN, [("ping", b"p")]),
       ([(CLOSE, cp(1000))], False, CLOSING, [])),
      1006),
    S("7.1.1", "terminate sends nothing",
      (("send", b"x"), ("terminate",)),
      (([(BINARY, b"x")], False, OPEN, []), ([], False, CLOSING, [])),
      1006),
]  # fmt: skip


def run_step(p: Protocol, step: tuple[Any, ...]) -> None:
    kind = step[0]
    if kind == "close":
        p.close(step[1], step[2])
    elif kind == "send":
        p.send(step[1], binary=True)
    elif kind == "peer":
        p.receive_data(wire(step[1], p.is_server))
    elif kind == "eof":
        p.receive_eof()
    else:
        assert kind == "terminate"
        p.terminate()


def norm(events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [("error", e[1].code) if e[0] == "error" else e for e in events]


@pytest.mark.parametrize("is_server", [True, False], ids=["server", "client"])
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: f"{s.section} {s.name}")
def test_script(script: Script, is_server: bool) -> None:
    p = Protocol(is_server=is_server)
    for step, (frames, server_eof, state, events) in zip(
        script.steps, script.expect, strict=True
    ):
        run_step(p, step)
        chunks = [bytes(c) for c in p.data_to_send()]
        eof = b"" in chunks
        assert eof is (server_eof and is_server), (step, chunks)
        if eof:
            assert chunks[-1] == b""
        got, used = parse_frames(b"".join(chunks))
        assert used == sum(map(len, chunks))
        assert all(f.masked is not is_server for f in got)
        assert [(f.opcode, f.payload) for f in got] == frames, step
        assert p.state is state, step
        assert norm(p.events_received()) == events, step
    if not p.should_close:
        p.receive_eof()
        assert [bytes(c) for c in p.data_to_send()] == []
    p.connection_closed()
    assert p.close_code == script.close_code
