"""RFC 6455 conformance cases as data, keyed by section.

It owns the case table (:data:`CASES`, :data:`UTF8_VALID`,
:data:`UTF8_INVALID`) and the small frame description (:class:`F`) the
cases are written in. A case says what the *peer* sends and what the RFC
(or, where the RFC leaves a choice, ws 8.x) says pyws must do about it:

- ``events``: what the connection reports, in order: ``('message', data,
  is_binary)``, ``('ping', data)``, ``('pong', data)``, ``('close_frame',
  code, reason)``, ``('error', 'WS_ERR_...')``;
- ``sent``: the frames pyws writes in reply, as ``(opcode, payload)``;
- ``close_code``: the code the ``'close'`` event will report (RFC 7.1.5:
  the received close frame's code, 1005 if it had none, 1006 if none came).

Every case runs in both roles (the peer masks when pyws is the server), so
the masking direction comes from the role unless a case overrides it.

Imports only the standard library and the test helpers' frame builder; it
must not import pyws, so the expectations stay independent of the code under
test.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from helpers.rawpeer import build_frame

__all__ = [
    "F",
    "Case",
    "CASES",
    "UTF8_VALID",
    "UTF8_INVALID",
    "BOUNDARY_CODE_POINTS",
    "wire",
]

TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10

#: A fixed masking key, so wire bytes are reproducible.
MASK = b"\x37\xfa\x21\x3d"

#: "auto": masked exactly when the receiving pyws is a server (RFC 5.1).
AUTO = "auto"
#: The other way round: a violation of section 5.1 for either role.
WRONG = "wrong"


@dataclass(frozen=True)
class F:
    """One frame the peer sends (see :func:`helpers.rawpeer.build_frame`)."""

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    mask: str | bytes = AUTO
    length: int | None = None
    length_size: int | None = None

    def encode(self, pyws_is_server: bool) -> bytes:
        """The frame's bytes when pyws has the given role."""
        key: bytes | None
        if isinstance(self.mask, bytes):
            key = self.mask
        elif self.mask == AUTO:
            key = MASK if pyws_is_server else None
        else:
            assert self.mask == WRONG
            key = None if pyws_is_server else MASK
        return build_frame(
            self.opcode,
            self.payload,
            fin=self.fin,
            rsv1=self.rsv1,
            rsv2=self.rsv2,
            rsv3=self.rsv3,
            mask=key,
            length=self.length,
            length_size=self.length_size,
        )


def wire(frames: Sequence[F | bytes], pyws_is_server: bool) -> bytes:
    """Concatenate the peer's frames (``bytes`` items are sent as they are)."""
    return b"".join(
        f if isinstance(f, bytes) else f.encode(pyws_is_server) for f in frames
    )


def cp(code: int, reason: bytes = b"") -> bytes:
    """A close payload: status code then reason."""
    return struct.pack("!H", code) + reason


@dataclass(frozen=True)
class Case:
    """One conformance case.

    Attributes:
        section: the RFC 6455 section the expectation comes from.
        name: short description (used as the test id).
        frames: what the peer sends.
        events: what pyws reports, in order (see the module docstring).
        sent: the frames pyws writes in reply, ``(opcode, payload)``.
        close_code: what ``'close'`` reports once the connection is closed.
        options: Protocol keyword arguments (``max_payload``...).
        roles: which pyws roles the case applies to.
        source: ``'RFC'`` or ``'ws'`` when the RFC leaves the choice to the
            implementation and pyws follows ws 8.x.
    """

    section: str
    name: str
    frames: tuple[F | bytes, ...]
    events: tuple[tuple[Any, ...], ...] = ()
    sent: tuple[tuple[int, bytes], ...] = ()
    close_code: int = 1006
    options: dict[str, Any] = field(default_factory=dict)
    roles: tuple[bool, ...] = (True, False)
    source: str = "RFC"

    @property
    def failed(self) -> bool:
        """Whether the connection must be failed (RFC 7.1.7)."""
        return any(e[0] == "error" for e in self.events)

    @property
    def closed(self) -> bool:
        """Whether the peer's close frame is processed."""
        return any(e[0] == "close_frame" for e in self.events)

    @property
    def id(self) -> str:
        return f"{self.section} {self.name}"


def fail(
    section: str,
    name: str,
    frames: Sequence[F | bytes],
    error: str,
    status: int,
    before: Sequence[tuple[Any, ...]] = (),
    sent_before: Sequence[tuple[int, bytes]] = (),
    **kw: Any,
) -> Case:
    """A case where pyws must fail the connection (7.1.7) with ``status``."""
    return Case(
        section,
        name,
        tuple(frames),
        events=(*before, ("error", error)),
        sent=(*sent_before, (CLOSE, cp(status))),
        close_code=1006,
        **kw,
    )


def ok(
    section: str,
    name: str,
    frames: Sequence[F | bytes],
    *events: tuple[Any, ...],
    sent: Sequence[tuple[int, bytes]] = (),
    **kw: Any,
) -> Case:
    """A case where the connection stays OPEN."""
    return Case(
        section, name, tuple(frames), events=tuple(events), sent=tuple(sent), **kw
    )


def msg(data: bytes, binary: bool = False) -> tuple[Any, ...]:
    return ("message", data, binary)


P1002 = "WS_ERR_INVALID_OPCODE"

CASES: list[Case] = []
add = CASES.append

# -- 5.1 / 5.3: masking --------------------------------------------------------
add(
    ok(
        "5.3",
        "masked frame to server, unmasked to client",
        [F(TEXT, b"Hello")],
        msg(b"Hello"),
    )
)
add(
    fail(
        "5.1",
        "unmasked frame to a server",
        [F(TEXT, b"x", mask=WRONG)],
        "WS_ERR_EXPECTED_MASK",
        1002,
        roles=(True,),
    )
)
add(
    fail(
        "5.1",
        "masked frame to a client",
        [F(TEXT, b"x", mask=WRONG)],
        "WS_ERR_UNEXPECTED_MASK",
        1002,
        roles=(False,),
    )
)
add(
    ok(
        "5.3",
        "all-zero masking key",
        [F(BINARY, b"\x00\xffab", mask=b"\0\0\0\0")],
        msg(b"\x00\xffab", True),
        roles=(True,),
    )
)
add(
    fail(
        "5.1",
        "unmasked ping to a server",
        [F(PING, b"p", mask=WRONG)],
        "WS_ERR_EXPECTED_MASK",
        1002,
        roles=(True,),
    )
)
add(
    fail(
        "5.1",
        "masked close to a client",
        [F(CLOSE, cp(1000), mask=WRONG)],
        "WS_ERR_UNEXPECTED_MASK",
        1002,
        roles=(False,),
    )
)

# -- 5.2: reserved bits ------------------------------------------------------------
add(
    fail(
        "5.2",
        "RSV1 without an extension",
        [F(TEXT, b"x", rsv1=True)],
        "WS_ERR_UNEXPECTED_RSV_1",
        1002,
    )
)
add(
    fail(
        "5.2", "RSV2 set", [F(TEXT, b"x", rsv2=True)], "WS_ERR_UNEXPECTED_RSV_2_3", 1002
    )
)
add(
    fail(
        "5.2",
        "RSV3 set",
        [F(BINARY, b"x", rsv3=True)],
        "WS_ERR_UNEXPECTED_RSV_2_3",
        1002,
    )
)
add(
    fail(
        "5.2",
        "RSV1+2+3 on a ping",
        [F(PING, b"", rsv1=True, rsv2=True, rsv3=True)],
        "WS_ERR_UNEXPECTED_RSV_2_3",
        1002,
    )
)
add(
    fail(
        "5.2",
        "RSV1 on a ping",
        [F(PING, b"x", rsv1=True)],
        "WS_ERR_UNEXPECTED_RSV_1",
        1002,
    )
)
add(
    fail(
        "5.2",
        "RSV2 on a close",
        [F(CLOSE, cp(1000), rsv2=True)],
        "WS_ERR_UNEXPECTED_RSV_2_3",
        1002,
    )
)
add(
    fail(
        "5.2",
        "RSV3 on a continuation",
        [F(TEXT, b"a", fin=False), F(CONT, b"b", rsv3=True)],
        "WS_ERR_UNEXPECTED_RSV_2_3",
        1002,
    )
)
add(
    fail(
        "5.2",
        "valid message then RSV2",
        [F(TEXT, b"ok"), F(TEXT, b"x", rsv2=True)],
        "WS_ERR_UNEXPECTED_RSV_2_3",
        1002,
        before=[msg(b"ok")],
    )
)

# -- 5.2: opcodes ------------------------------------------------------------------
for _op in (3, 4, 5, 6, 7):
    add(fail("5.2", f"reserved data opcode {_op}", [F(_op, b"x")], P1002, 1002))
for _op in (11, 12, 13, 14, 15):
    add(fail("5.2", f"reserved control opcode {_op}", [F(_op, b"")], P1002, 1002))
add(
    fail(
        "5.2",
        "reserved opcode after a ping",
        [F(PING, b"a"), F(11, b"")],
        P1002,
        1002,
        before=[("ping", b"a")],
        sent_before=[(PONG, b"a")],
    )
)

# -- 5.2: payload length -----------------------------------------------------------
for _n in (0, 1, 125, 126, 127, 65535, 65536, 70000):
    add(
        ok(
            "5.2",
            f"binary payload of {_n} bytes",
            [F(BINARY, bytes(_n))],
            msg(bytes(_n), True),
        )
    )
add(ok("5.2", "empty text message", [F(TEXT, b"")], msg(b"")))
add(
    ok(
        "5.2",
        "16-bit length for 5 bytes (not minimal)",
        [F(TEXT, b"Hello", length_size=2)],
        msg(b"Hello"),
        source="ws",
    )
)
add(
    ok(
        "5.2",
        "64-bit length for 5 bytes (not minimal)",
        [F(TEXT, b"Hello", length_size=8)],
        msg(b"Hello"),
        source="ws",
    )
)
add(
    ok(
        "5.2",
        "64-bit length for 300 bytes (not minimal)",
        [F(BINARY, bytes(300), length_size=8)],
        msg(bytes(300), True),
        source="ws",
    )
)
add(
    fail(
        "5.2",
        "64-bit length with the most significant bit set",
        [F(BINARY, b"", length=1 << 63, length_size=8)],
        "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
        1009,
        source="ws",
    )
)
add(
    fail(
        "5.2",
        "64-bit length of 2^53",
        [F(BINARY, b"", length=1 << 53, length_size=8)],
        "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
        1009,
        source="ws",
    )
)
add(
    ok(
        "5.2",
        "several frames in one read",
        [F(TEXT, b"a"), F(BINARY, b"b"), F(TEXT, b"c")],
        msg(b"a"),
        msg(b"b", True),
        msg(b"c"),
    )
)

# -- 5.4: fragmentation ---------------------------------------------------------------
add(
    ok(
        "5.4",
        "text in three fragments",
        [F(TEXT, b"Hel", fin=False), F(CONT, b"l", fin=False), F(CONT, b"o")],
        msg(b"Hello"),
    )
)
add(
    ok(
        "5.4",
        "binary in two fragments",
        [F(BINARY, b"\x00\x01", fin=False), F(CONT, b"\x02")],
        msg(b"\x00\x01\x02", True),
    )
)
add(
    ok(
        "5.4",
        "empty fragments",
        [F(TEXT, b"", fin=False), F(CONT, b"", fin=False), F(CONT, b"")],
        msg(b""),
    )
)
add(
    ok(
        "5.4",
        "empty first and last fragment around data",
        [F(BINARY, b"", fin=False), F(CONT, b"ab", fin=False), F(CONT, b"")],
        msg(b"ab", True),
    )
)
add(
    ok(
        "5.4",
        "ping between fragments is answered at once",
        [F(TEXT, b"He", fin=False), F(PING, b"p"), F(CONT, b"llo")],
        ("ping", b"p"),
        msg(b"Hello"),
        sent=[(PONG, b"p")],
    )
)
add(
    ok(
        "5.4",
        "pong between fragments",
        [
            F(BINARY, b"a", fin=False),
            F(PONG, b"q"),
            F(CONT, b"b", fin=False),
            F(CONT, b"c"),
        ],
        ("pong", b"q"),
        msg(b"abc", True),
    )
)
add(
    ok(
        "5.4",
        "two fragmented messages in a row",
        [
            F(TEXT, b"a", fin=False),
            F(CONT, b"b"),
            F(BINARY, b"c", fin=False),
            F(CONT, b"d"),
        ],
        msg(b"ab"),
        msg(b"cd", True),
    )
)
add(
    fail(
        "5.4", "continuation with no message in progress", [F(CONT, b"x")], P1002, 1002
    )
)
add(
    fail(
        "5.4",
        "continuation after a complete message",
        [F(TEXT, b"a"), F(CONT, b"b")],
        P1002,
        1002,
        before=[msg(b"a")],
    )
)
add(
    fail(
        "5.4",
        "text frame inside a fragmented message",
        [F(TEXT, b"a", fin=False), F(TEXT, b"b")],
        P1002,
        1002,
    )
)
add(
    fail(
        "5.4",
        "binary frame inside a fragmented text message",
        [F(TEXT, b"a", fin=False), F(BINARY, b"b")],
        P1002,
        1002,
    )
)
add(
    fail(
        "5.4",
        "unfinished text then a new text (fin=0)",
        [F(TEXT, b"a", fin=False), F(TEXT, b"b", fin=False)],
        P1002,
        1002,
    )
)
add(
    fail(
        "5.2",
        "RSV1 on a continuation frame",
        [F(TEXT, b"a", fin=False), F(CONT, b"b", rsv1=True)],
        "WS_ERR_UNEXPECTED_RSV_1",
        1002,
    )
)
add(
    Case(
        "5.4",
        "close between fragments: no message",
        (F(TEXT, b"a", fin=False), F(CLOSE, cp(1000, b"x"))),
        events=(("close_frame", 1000, b"x"),),
        sent=((CLOSE, cp(1000, b"x")),),
        close_code=1000,
    )
)

# -- 5.5: control frames ----------------------------------------------------------
add(
    ok(
        "5.5.2",
        "ping gets a pong with the same payload",
        [F(PING, b"Hello")],
        ("ping", b"Hello"),
        sent=[(PONG, b"Hello")],
    )
)
add(
    ok(
        "5.5.2",
        "empty ping gets an empty pong",
        [F(PING)],
        ("ping", b""),
        sent=[(PONG, b"")],
    )
)
add(
    ok(
        "5.5.2",
        "ping of 125 bytes",
        [F(PING, bytes(range(125)))],
        ("ping", bytes(range(125))),
        sent=[(PONG, bytes(range(125)))],
    )
)
add(
    ok(
        "5.5.2",
        "two pings, two pongs in order",
        [F(PING, b"1"), F(PING, b"2")],
        ("ping", b"1"),
        ("ping", b"2"),
        sent=[(PONG, b"1"), (PONG, b"2")],
    )
)
add(
    ok(
        "5.5.2",
        "autoPong off: no pong",
        [F(PING, b"x")],
        ("ping", b"x"),
        options={"auto_pong": False},
        source="ws",
    )
)
add(ok("5.5.3", "unsolicited pong is accepted", [F(PONG, b"u")], ("pong", b"u")))
add(ok("5.5.3", "empty pong", [F(PONG)], ("pong", b"")))
add(
    fail(
        "5.5",
        "ping of 126 bytes",
        [F(PING, bytes(126))],
        "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
        1002,
    )
)
add(
    fail(
        "5.5",
        "pong of 126 bytes",
        [F(PONG, bytes(126))],
        "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
        1002,
    )
)
add(
    fail(
        "5.5",
        "close of 126 bytes",
        [F(CLOSE, cp(1000, bytes(124)))],
        "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
        1002,
    )
)
add(
    fail(
        "5.5",
        "ping with a 64-bit length of 5",
        [F(PING, b"Hello", length_size=8)],
        "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
        1002,
    )
)
add(
    fail(
        "5.5",
        "fragmented ping",
        [F(PING, b"a", fin=False), F(CONT, b"b")],
        "WS_ERR_EXPECTED_FIN",
        1002,
    )
)
add(
    fail(
        "5.5",
        "fragmented pong",
        [F(PONG, b"a", fin=False)],
        "WS_ERR_EXPECTED_FIN",
        1002,
    )
)
add(
    fail(
        "5.5",
        "fragmented close",
        [F(CLOSE, cp(1000), fin=False)],
        "WS_ERR_EXPECTED_FIN",
        1002,
    )
)
add(
    ok(
        "5.5",
        "control frames exempt from maxPayload",
        [F(PING, bytes(100))],
        ("ping", bytes(100)),
        sent=[(PONG, bytes(100))],
        options={"max_payload": 10},
        source="ws",
    )
)

# -- 5.5.1 / 7.1.5 / 7.4: close frames ----------------------------------------
add(
    Case(
        "5.5.1",
        "empty close is echoed empty, reported as 1005",
        (F(CLOSE),),
        events=(("close_frame", 1005, b""),),
        sent=((CLOSE, b""),),
        close_code=1005,
    )
)
add(
    Case(
        "5.5.1",
        "close 1000 with a reason is echoed",
        (F(CLOSE, cp(1000, b"bye")),),
        events=(("close_frame", 1000, b"bye"),),
        sent=((CLOSE, cp(1000, b"bye")),),
        close_code=1000,
    )
)
add(
    Case(
        "5.5.1",
        "close with a 123-byte reason",
        (F(CLOSE, cp(4000, b"r" * 123)),),
        events=(("close_frame", 4000, b"r" * 123),),
        sent=((CLOSE, cp(4000, b"r" * 123)),),
        close_code=4000,
    )
)
add(
    Case(
        "5.5.1",
        "close with a UTF-8 reason",
        (F(CLOSE, cp(1001, "ünï €😀".encode())),),
        events=(("close_frame", 1001, "ünï €😀".encode()),),
        sent=((CLOSE, cp(1001, "ünï €😀".encode())),),
        close_code=1001,
    )
)
add(
    fail(
        "5.5.1",
        "close with a 1-byte payload",
        [F(CLOSE, b"\x03")],
        "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
        1002,
    )
)
add(
    fail(
        "5.5.1",
        "close reason with invalid UTF-8",
        [F(CLOSE, cp(1000, b"\xff"))],
        "WS_ERR_INVALID_UTF8",
        1007,
    )
)
add(
    fail(
        "5.5.1",
        "close reason with a surrogate",
        [F(CLOSE, cp(1000, b"\xed\xa0\x80"))],
        "WS_ERR_INVALID_UTF8",
        1007,
    )
)
add(
    fail(
        "5.5.1",
        "close reason truncated mid-sequence",
        [F(CLOSE, cp(1000, b"ok\xe2\x82"))],
        "WS_ERR_INVALID_UTF8",
        1007,
    )
)
add(
    Case(
        "5.5.1",
        "data after a close frame is ignored",
        (F(CLOSE, cp(1000)), F(TEXT, b"late"), F(PING, b"p")),
        events=(("close_frame", 1000, b""),),
        sent=((CLOSE, cp(1000)),),
        close_code=1000,
    )
)
add(
    Case(
        "5.5.1",
        "garbage after a close frame is ignored",
        (F(CLOSE, cp(1000)), b"\xff\xff\xff\xff"),
        events=(("close_frame", 1000, b""),),
        sent=((CLOSE, cp(1000)),),
        close_code=1000,
    )
)
add(
    Case(
        "5.5.1",
        "message before close is delivered first",
        (F(TEXT, b"last"), F(CLOSE, cp(1000))),
        events=(msg(b"last"), ("close_frame", 1000, b"")),
        sent=((CLOSE, cp(1000)),),
        close_code=1000,
    )
)
for _code in (
    1000,
    1001,
    1002,
    1003,
    1007,
    1008,
    1009,
    1010,
    1011,
    1012,
    1013,
    1014,
    3000,
    3999,
    4000,
    4999,
):
    add(
        Case(
            "7.4.1",
            f"valid close code {_code}",
            (F(CLOSE, cp(_code)),),
            events=(("close_frame", _code, b""),),
            sent=((CLOSE, cp(_code)),),
            close_code=_code,
        )
    )
for _code in (0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
    add(
        fail(
            "7.4.1",
            f"invalid close code {_code}",
            [F(CLOSE, cp(_code))],
            "WS_ERR_INVALID_CLOSE_CODE",
            1002,
        )
    )

# -- 7.1.7: after a failure nothing is processed --------------------------------------
add(
    fail(
        "7.1.7",
        "frames after a failure are ignored",
        [
            F(TEXT, b"x", rsv2=True),
            F(TEXT, b"ignored"),
            F(PING, b"p"),
            F(CLOSE, cp(1000)),
        ],
        "WS_ERR_UNEXPECTED_RSV_2_3",
        1002,
    )
)
add(
    fail(
        "7.1.7",
        "close frame after a failure does not change the code",
        [F(BINARY, b"x", rsv1=True), F(CLOSE, cp(4000))],
        "WS_ERR_UNEXPECTED_RSV_1",
        1002,
    )
)

# -- 10.4 (limits, ws maxPayload / maxFragments) ---------------------------------------
add(
    fail(
        "10.4",
        "message over maxPayload (from the header)",
        [F(BINARY, b"", length=11, length_size=0)],
        "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
        1009,
        options={"max_payload": 10},
        source="ws",
    )
)
add(
    ok(
        "10.4",
        "message of exactly maxPayload",
        [F(BINARY, bytes(10))],
        msg(bytes(10), True),
        options={"max_payload": 10},
        source="ws",
    )
)
add(
    fail(
        "10.4",
        "fragments summing over maxPayload",
        [F(TEXT, b"12345", fin=False), F(CONT, b"67890", fin=False), F(CONT, b"x")],
        "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
        1009,
        options={"max_payload": 10},
        source="ws",
    )
)
add(
    ok(
        "10.4",
        "maxPayload applies per message",
        [F(TEXT, b"12345678"), F(TEXT, b"12345678")],
        msg(b"12345678"),
        msg(b"12345678"),
        options={"max_payload": 10},
        source="ws",
    )
)
add(
    fail(
        "10.4",
        "too many fragments",
        [
            F(BINARY, b"a", fin=False),
            F(CONT, b"b", fin=False),
            F(CONT, b"c", fin=False),
            F(CONT, b"d"),
        ],
        "WS_ERR_TOO_MANY_BUFFERED_PARTS",
        1008,
        options={"max_fragments": 3},
        source="ws",
    )
)
add(
    ok(
        "10.4",
        "fragments at the limit",
        [F(BINARY, b"a", fin=False), F(CONT, b"b", fin=False), F(CONT, b"c")],
        msg(b"abc", True),
        options={"max_fragments": 3},
        source="ws",
    )
)

# -- 8.1: UTF-8 (RFC 3629 well-formedness) -----------------------------------------

#: Well-formed UTF-8 byte strings (RFC 3629 section 4), with a description.
UTF8_VALID: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("ASCII", b"Hello, world"),
    ("NUL", b"\x00"),
    ("U+007F", b"\x7f"),
    ("U+0080 (first 2-byte)", b"\xc2\x80"),
    ("U+07FF (last 2-byte)", b"\xdf\xbf"),
    ("U+0800 (first 3-byte)", b"\xe0\xa0\x80"),
    ("U+0FFF", b"\xe0\xbf\xbf"),
    ("U+1000", b"\xe1\x80\x80"),
    ("U+CFFF", b"\xec\xbf\xbf"),
    ("U+D000", b"\xed\x80\x80"),
    ("U+D7FF (before surrogates)", b"\xed\x9f\xbf"),
    ("U+E000 (after surrogates)", b"\xee\x80\x80"),
    ("U+FEFF (BOM)", b"\xef\xbb\xbf"),
    ("U+FFFD", b"\xef\xbf\xbd"),
    ("U+FFFE (noncharacter)", b"\xef\xbf\xbe"),
    ("U+FFFF (last 3-byte)", b"\xef\xbf\xbf"),
    ("U+10000 (first 4-byte)", b"\xf0\x90\x80\x80"),
    ("U+3FFFF", b"\xf0\xbf\xbf\xbf"),
    ("U+40000", b"\xf1\x80\x80\x80"),
    ("U+FFFFF", b"\xf3\xbf\xbf\xbf"),
    ("U+100000", b"\xf4\x80\x80\x80"),
    ("U+10FFFF (last code point)", b"\xf4\x8f\xbf\xbf"),
    ("Greek kosme", b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
    ("mixed widths", "aé€😀z".encode()),
]

#: Ill-formed UTF-8 byte strings: every class RFC 3629 rules out.
UTF8_INVALID: list[tuple[str, bytes]] = [
    ("lone continuation 0x80", b"\x80"),
    ("lone continuation 0xBF", b"\xbf"),
    ("two continuations", b"\x80\xbf"),
    ("0xC0 0x80 (overlong NUL)", b"\xc0\x80"),
    ("0xC1 0xBF (overlong U+007F)", b"\xc1\xbf"),
    ("overlong '/' 2-byte", b"\xc0\xaf"),
    ("overlong '/' 3-byte", b"\xe0\x80\xaf"),
    ("overlong '/' 4-byte", b"\xf0\x80\x80\xaf"),
    ("overlong U+07FF 3-byte", b"\xe0\x9f\xbf"),
    ("overlong U+FFFF 4-byte", b"\xf0\x8f\xbf\xbf"),
    ("5-byte form", b"\xf8\x88\x80\x80\x80"),
    ("6-byte form", b"\xfc\x84\x80\x80\x80\x80"),
    ("0xFE", b"\xfe"),
    ("0xFF", b"\xff"),
    ("U+D800 (first high surrogate)", b"\xed\xa0\x80"),
    ("U+DB7F", b"\xed\xad\xbf"),
    ("U+DB80", b"\xed\xae\x80"),
    ("U+DBFF (last high surrogate)", b"\xed\xaf\xbf"),
    ("U+DC00 (first low surrogate)", b"\xed\xb0\x80"),
    ("U+DFFF (last surrogate)", b"\xed\xbf\xbf"),
    ("surrogate pair (CESU-8)", b"\xed\xa0\x80\xed\xb0\x80"),
    ("surrogate pair U+DBFF U+DFFF", b"\xed\xaf\xbf\xed\xbf\xbf"),
    ("U+110000 (above the last code point)", b"\xf4\x90\x80\x80"),
    ("lead 0xF5", b"\xf5\x80\x80\x80"),
    ("lead 0xF7 (U+1FFFFF)", b"\xf7\xbf\xbf\xbf"),
    ("truncated 2-byte at the end", b"ab\xc2"),
    ("truncated 3-byte (1 of 3)", b"\xe2"),
    ("truncated 3-byte (2 of 3)", b"\xe2\x82"),
    ("truncated 4-byte (1 of 4)", b"\xf0"),
    ("truncated 4-byte (2 of 4)", b"\xf0\x90"),
    ("truncated 4-byte (3 of 4)", b"\xf0\x90\x80"),
    ("truncated sequence in the middle", b"a\xc2b"),
    ("truncated 3-byte in the middle", b"a\xe2\x82b"),
    ("2-byte lead then a lead", b"\xc2\xc2\x80"),
    ("valid then invalid", "κόσμε".encode() + b"\xed\xa0\x80edited"),
    ("invalid then valid", b"\xff" + "κόσμε".encode()),
]

#: Code points at every encoding boundary (RFC 3629 section 3 table).
BOUNDARY_CODE_POINTS = [
    0x0000, 0x007F, 0x0080, 0x07FF, 0x0800, 0x0FFF, 0x1000, 0xCFFF, 0xD000,
    0xD7FF, 0xE000, 0xFFFD, 0xFFFE, 0xFFFF, 0x10000, 0x3FFFF, 0x40000,
    0xFFFFF, 0x100000, 0x10FFFF,
]  # fmt: skip

for _name, _data in UTF8_VALID:
    add(ok("8.1", f"valid UTF-8 text: {_name}", [F(TEXT, _data)], msg(_data)))
    add(
        ok(
            "5.6",
            f"binary may hold anything: {_name}",
            [F(BINARY, _data)],
            msg(_data, True),
        )
    )
for _name, _data in UTF8_INVALID:
    add(
        fail(
            "8.1",
            f"invalid UTF-8 text: {_name}",
            [F(TEXT, _data)],
            "WS_ERR_INVALID_UTF8",
            1007,
        )
    )
    add(
        ok(
            "5.6",
            f"binary may hold anything: {_name}",
            [F(BINARY, _data)],
            msg(_data, True),
        )
    )
    if _data:
        add(
            fail(
                "8.1",
                f"invalid UTF-8 in close reason: {_name}",
                [F(CLOSE, cp(1000, _data))],
                "WS_ERR_INVALID_UTF8",
                1007,
            )
        )

# Split across fragments: a valid sequence cut at every inner position stays
# valid (8.1 applies to the whole message); an invalid one still fails.
for _name, _data in UTF8_VALID:
    if len(_data) < 2:
        continue
    for _cut in range(1, len(_data)):
        add(
            ok(
                "8.1",
                f"valid UTF-8 split at {_cut}: {_name}",
                [F(TEXT, _data[:_cut], fin=False), F(CONT, _data[_cut:])],
                msg(_data),
            )
        )
for _name, _data in UTF8_INVALID:
    if len(_data) < 2:
        continue
    add(
        fail(
            "8.1",
            f"invalid UTF-8 split in the middle: {_name}",
            [
                F(TEXT, _data[: len(_data) // 2], fin=False),
                F(CONT, _data[len(_data) // 2 :]),
            ],
            "WS_ERR_INVALID_UTF8",
            1007,
        )
    )
for _seq in (b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80"):
    for _cut in range(1, len(_seq)):
        add(
            fail(
                "8.1",
                f"message ends inside {_seq.hex()} (cut at {_cut})",
                [F(TEXT, b"a" + _seq[:_cut], fin=False), F(CONT, b"")],
                "WS_ERR_INVALID_UTF8",
                1007,
            )
        )
        add(
            ok(
                "8.1",
                f"{_seq.hex()} split over three fragments at {_cut}",
                [
                    F(TEXT, _seq[:_cut], fin=False),
                    F(CONT, b"", fin=False),
                    F(CONT, _seq[_cut:]),
                ],
                msg(_seq),
            )
        )
for _cp in BOUNDARY_CODE_POINTS:
    _enc = chr(_cp).encode("utf-8", "surrogatepass")
    add(
        ok(
            "8.1",
            f"boundary code point U+{_cp:04X}",
            [F(TEXT, b"<" + _enc + b">")],
            msg(b"<" + _enc + b">"),
        )
    )
add(
    ok(
        "8.1",
        "skipUTF8Validation accepts invalid text",
        [F(TEXT, b"\xff\xfe")],
        msg(b"\xff\xfe"),
        options={"skip_utf8_validation": True},
        source="ws",
    )
)
add(
    Case(
        "8.1",
        "skipUTF8Validation accepts an invalid close reason",
        (F(CLOSE, cp(1000, b"\xff")),),
        events=(("close_frame", 1000, b"\xff"),),
        sent=((CLOSE, cp(1000, b"\xff")),),
        close_code=1000,
        options={"skip_utf8_validation": True},
        source="ws",
    )
)
