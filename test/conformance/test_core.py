"""Run every case of :mod:`conformance.cases` against the sans-I/O core.

Each case runs for both roles, with the peer's bytes fed at once and one
byte at a time. Besides the case's own expectations, each run checks the
rules every case shares:

- 5.1 / 5.3: every frame pyws writes is masked when pyws is a client and
  unmasked when it is a server; FIN set, reserved bits clear;
- 7.1.7: after a failure (or a received close frame) nothing more is
  processed: a valid text frame and a ping sent afterwards change nothing;
  the close frame is queued before the error is reported;
- 7.1.1: the server half-closes after its close frame; a client never does;
- 7.1.5: once the peer's FIN comes, ``close_code`` is the received code,
  1005 or 1006; no close frame is sent in reply to a bare FIN.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers.rawpeer import parse_frames

from pyws.constants import ReadyState
from pyws.errors import ProtocolError
from pyws.protocol import Handler, Protocol

from .cases import CASES, PING, TEXT, Case, F, wire

TRAILER = (F(TEXT, b"after"), F(PING, b"late"))


class SnapshotHandler(Handler):
    """Records events, and what was queued when the error was reported."""

    def __init__(self) -> None:
        super().__init__()
        self.protocol: Protocol | None = None
        self.at_error: tuple[ReadyState, int] | None = None

    def on_error(self, exc: ProtocolError) -> None:
        p = self.protocol
        assert p is not None
        self.at_error = (p.state, p.pending_bytes())  # not drained yet
        super().on_error(exc)


def norm(events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for ev in events:
        if ev[0] == "error":
            exc = ev[1]
            assert isinstance(exc, ProtocolError), exc
            assert exc.status_code is not None
            out.append(("error", exc.code))
        elif ev[0] == "message":
            data = ev[1]
            out.append(("message", bytes(data), ev[2]))
        else:
            out.append(tuple(bytes(x) if isinstance(x, bytearray) else x for x in ev))
    return out


def state_of(p: Protocol) -> ReadyState:
    """``p.state``, read through a call so mypy does not keep it narrowed."""
    return p.state


def drain(p: Protocol) -> tuple[list[tuple[int, bytes]], bool, bytes]:
    """Return (frames sent, EOF requested, raw bytes) and check masking."""
    chunks = [bytes(c) for c in p.data_to_send()]
    eof = b"" in chunks
    if eof:
        # Nothing may follow the half-close marker.
        assert chunks.index(b"") == len(chunks) - 1, chunks
    raw = b"".join(chunks)
    frames, used = parse_frames(raw)
    assert used == len(raw), "pyws wrote a partial frame"
    for f in frames:
        assert f.masked is not p.is_server, f"5.1 masking: {f!r}"
        assert f.fin and f.rsv == 0, f
    return [(f.opcode, f.payload) for f in frames], eof, raw


def params() -> list[Any]:
    out = []
    for case in CASES:
        for role in case.roles:
            for mode in ("whole", "bytewise"):
                rid = f"{case.id} [{'server' if role else 'client'}, {mode}]"
                out.append(pytest.param(case, role, mode, id=rid))
    return out


@pytest.mark.parametrize(("case", "is_server", "mode"), params())
def test_case(case: Case, is_server: bool, mode: str) -> None:
    handler = SnapshotHandler()
    p = Protocol(is_server=is_server, handler=handler, **case.options)
    handler.protocol = p
    data = wire(case.frames, is_server)
    if case.failed or case.closed:
        data += wire(TRAILER, is_server)
    if mode == "whole":
        p.receive_data(data)
    else:
        for i in range(len(data)):
            p.receive_data(data[i : i + 1])

    assert norm(p.events_received()) == list(case.events)
    sent, eof, raw = drain(p)
    assert sent == list(case.sent)
    terminal = case.failed or case.closed
    assert state_of(p) is (ReadyState.CLOSING if terminal else ReadyState.OPEN)
    # 7.1.1: only a server closes TCP first, once the closing is settled.
    assert eof is (terminal and is_server)
    if case.failed:
        # 7.1.7: the close frame is queued before user code hears of it.
        assert handler.at_error is not None
        state, queued = handler.at_error
        assert state is ReadyState.CLOSING
        # Everything pyws wrote (pongs, then the close frame last) was
        # already queued then.
        assert queued == len(raw)
        assert sent[-1][0] == 8

    # The peer's FIN (and nothing else) arrives.
    p.receive_eof()
    assert p.should_close
    after, eof_after, _ = drain(p)
    assert after == [], "no close frame in reply to a bare FIN"
    assert eof_after is False
    p.connection_closed()
    assert state_of(p) is ReadyState.CLOSED
    assert p.close_code == case.close_code
    if case.closed:
        close_event = next(e for e in case.events if e[0] == "close_frame")
        assert p.close_reason == close_event[2]
    else:
        assert p.close_reason == b""


def test_table_covers_every_section() -> None:
    sections = {c.section for c in CASES}
    for wanted in ("5.1", "5.2", "5.3", "5.4", "5.5", "5.5.1", "5.5.2", "5.5.3",
                   "5.6", "7.1.7", "7.4.1", "8.1", "10.4"):  # fmt: skip
        assert wanted in sections
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
