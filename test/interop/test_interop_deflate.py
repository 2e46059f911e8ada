"""permessage-deflate (RFC 7692) between pyws and Node ws 8.23, both ways.

test_deflate_interop.py covers negotiation across option pairs; this module
runs the scenarios of test_interop.py with compression on: 16 MiB messages,
fragmented compressed messages with control frames inside, compress:false
next to compressed messages, closing, and maxPayload against the inflated
size in both directions.
"""

from __future__ import annotations

from typing import Any

import pytest

from .node_peer import pattern, run_async
from .pyside import DIRECTIONS, Pair, pair
from .test_interop import (
    MIB16,
    TEXT_UNIT,
    check_node_got,
    check_py_got,
    expect_py_failure,
    text_of,
)

both = pytest.mark.parametrize("direction", DIRECTIONS)

OPTION_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "no-context-takeover": {
        "serverNoContextTakeover": True,
        "clientNoContextTakeover": True,
    },
    "window-bits-9": {"serverMaxWindowBits": 9, "clientMaxWindowBits": 9},
}


def deflate_pair(direction: str, pmd: dict[str, Any], **kw: Any) -> Any:
    py_options = {"perMessageDeflate": pmd or True, **kw.pop("py_options", {})}
    node_options = {"perMessageDeflate": pmd or True, **kw.pop("node_options", {})}
    return pair(direction, py_options=py_options, node_options=node_options, **kw)


def negotiated(p: Pair) -> None:
    assert p.ws.extensions == "permessage-deflate"
    if p.py_is_server:
        assert p.node.seen("open")[0]["extensions"] == "permessage-deflate"
    else:
        assert p.request["extensions"] == "permessage-deflate"


@both
@pytest.mark.parametrize("options", list(OPTION_SETS), ids=list(OPTION_SETS))
def test_compressed_messages(direction: str, options: str) -> None:
    async def main() -> None:
        async with deflate_pair(direction, OPTION_SETS[options]) as p:
            negotiated(p)
            for size in (0, 1, 1023, 1024, 70000, 1 << 20):
                blob = pattern(size, 5)  # barely compressible
                zeros = bytes(size)  # very compressible
                text = text_of(size).encode()
                for data, binary in ((blob, True), (zeros, True), (text, False)):
                    p.ws.send(data if binary else data.decode())
                    await check_node_got(p, data, binary)
                    p.node.send(data if binary else data.decode(), binary=binary)
                    await check_py_got(p, data, binary)
            assert p.rec.all("error") == [] and p.node.seen("error") == []

    run_async(main)


@both
def test_compressed_16_mib(direction: str) -> None:
    async def main() -> None:
        async with deflate_pair(direction, {}) as p:
            blob = pattern(MIB16, 9)
            p.ws.send(blob)
            await check_node_got(p, blob, True, timeout=20)
            p.node.send_pattern(MIB16, 9)
            await check_py_got(p, blob, True, timeout=20)
            text = TEXT_UNIT * (MIB16 // 10)
            p.node.send_repeat(TEXT_UNIT, MIB16 // 10)
            await check_py_got(p, text.encode(), False, timeout=20)

    run_async(main, timeout=60)


@both
def test_fragmented_compressed_with_controls(direction: str) -> None:
    async def main() -> None:
        async with deflate_pair(direction, {}) as p:
            part = bytes(5000)
            p.ws.send(part, {"fin": False})
            p.ws.ping(b"in the middle")
            p.ws.send(part, {"fin": False})
            p.ws.send(b"end")
            await check_node_got(p, part + part + b"end", True)
            p.node.send(part, fin=False)
            p.node.ping(b"mid")
            p.node.send(part, fin=False)
            p.node.send(b"end")
            assert await p.rec.expect("ping") == (b"mid",)
            await check_py_got(p, part + part + b"end", True)
            # compress:false mixed with compressed messages keeps both
            # directions' contexts in step.
            for compress in (False, True, False, True):
                data = pattern(3000, int(compress))
                p.ws.send(data, {"compress": compress})
                await check_node_got(p, data, True)
                p.node.send(data, compress=compress)
                await check_py_got(p, data, True)

    run_async(main)


@both
def test_close_with_deflate(direction: str) -> None:
    async def main() -> None:
        async with deflate_pair(direction, {}) as p:
            p.ws.send(bytes(100000))
            p.ws.close(4000, "deflated")
            await check_node_got(p, bytes(100000), True)
            ev = await p.node.expect("close")
            assert (ev["code"], ev["reason"]) == (4000, "deflated")
            assert await p.rec.expect("close") == (4000, b"deflated")

    run_async(main)


@both
def test_inflated_size_over_pyws_max_payload(direction: str) -> None:
    """A small compressed frame that inflates past maxPayload: 1009."""

    async def main() -> None:
        async with deflate_pair(direction, {}, py_options={"maxPayload": 50000}) as p:
            p.node.send(bytes(50000))
            await check_py_got(p, bytes(50000), True)
            p.node.send(bytes(1 << 20))  # ~1 KiB on the wire
            await expect_py_failure(p, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009)

    run_async(main)


@both
def test_inflated_size_over_ws_max_payload(direction: str) -> None:
    async def main() -> None:
        async with deflate_pair(direction, {}, node_options={"maxPayload": 50000}) as p:
            p.ws.send(bytes(1 << 20))
            err = await p.node.expect("error")
            assert (err["code"], err["statusCode"]) == (
                "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
                1009,
            )
            assert await p.rec.expect("close") == (1009, b"")

    run_async(main)


def test_deflate_refused_by_ws_server_falls_back() -> None:
    """pyws offers deflate, the ws server has it off: no extension, still works."""

    async def main() -> None:
        async with pair("py-client", py_options={"perMessageDeflate": True}) as p:
            assert p.ws.extensions == ""
            p.ws.send(bytes(5000))
            await check_node_got(p, bytes(5000), True)

    run_async(main)


def test_deflate_off_at_pyws_server() -> None:
    """ws offers deflate (its default), the pyws server default is off."""

    async def main() -> None:
        async with pair("py-server") as p:
            assert p.ws.extensions == ""
            assert p.node.seen("open")[0]["extensions"] == ""
            p.node.send(bytes(5000))
            await check_py_got(p, bytes(5000), True)

    run_async(main)
