"""pyws against real Node ws 8.23.1, in both directions.

Every scenario that makes sense both ways runs twice: a pyws client against
a ws server (``py-client``) and a ws client against a pyws server
(``py-server``). Messages are compared by length and SHA-256 (and byte for
byte up to 64 KiB); close codes, errors and the TCP FIN order are asserted on
both sides. The one intended difference from ws (docs/closing.md: a pyws client
waits for the server's FIN, a ws client half-closes at once) is asserted,
not skipped.

Needs ``node`` and ``npm ci --prefix test/interop``; see conftest.py.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from helpers.rawpeer import RawServer, build_frame, close_payload

import pyws

from .node_peer import NodePeer, digest, pattern, payload_of, run_async
from .pyside import DIRECTIONS, Pair, Recorder, pair

both = pytest.mark.parametrize("direction", DIRECTIONS)

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20]
MIB16 = 16 * 1024 * 1024
TEXT_UNIT = "aé€😀"  # 1 + 2 + 3 + 4 bytes


def text_of(size: int) -> str:
    """A text of exactly ``size`` UTF-8 bytes with every sequence length."""
    unit = TEXT_UNIT.encode()
    data = unit * (size // len(unit)) + b"z" * (size % len(unit))
    return data.decode()


async def node_message(p: Pair, timeout: float = 10.0) -> tuple[bytes | None, bool]:
    """The next message the Node side received: (bytes if small, isBinary)."""
    ev = await p.node.expect("message", timeout)
    data = payload_of(ev) if "data_b64" in ev else None
    return data, bool(ev["isBinary"])


async def check_node_got(
    p: Pair, data: bytes, binary: bool, timeout: float = 10.0
) -> None:
    ev = await p.node.expect("message", timeout)
    assert (ev["len"], ev["isBinary"]) == (len(data), binary)
    assert ev["sha256"] == digest(data)
    if len(data) <= 65536:
        assert payload_of(ev) == data


async def check_py_got(
    p: Pair, data: bytes, binary: bool, timeout: float = 10.0
) -> None:
    got, is_binary = await p.rec.expect("message", timeout)
    assert is_binary is binary
    assert isinstance(got, bytes) and len(got) == len(data)
    assert got == data


# -- data ------------------------------------------------------------------


@both
def test_text_and_binary_sizes(direction: str) -> None:
    async def main() -> None:
        async with pair(direction) as p:
            for size in SIZES:
                blob = pattern(size, size % 7)
                text = text_of(size)
                p.ws.send(blob)
                p.ws.send(text)
                await check_node_got(p, blob, True)
                await check_node_got(p, text.encode(), False)
                p.node.send(blob)
                p.node.send(text)
                await check_py_got(p, blob, True)
                await check_py_got(p, text.encode(), False)
            assert p.rec.all("error") == [] and p.node.seen("error") == []

    run_async(main)


@both
def test_16_mib_messages(direction: str) -> None:
    """16 MiB binary and text, each way, within a few seconds."""

    async def main() -> None:
        async with pair(direction) as p:
            blob = pattern(MIB16, 3)
            p.ws.send(blob)
            await check_node_got(p, blob, True, timeout=15)
            p.node.send_pattern(MIB16, 3)
            await check_py_got(p, blob, True, timeout=15)
            text = TEXT_UNIT * (MIB16 // 10)
            p.ws.send(text)
            await check_node_got(p, text.encode(), False, timeout=15)
            p.node.send_repeat(TEXT_UNIT, MIB16 // 10)
            await check_py_got(p, text.encode(), False, timeout=15)

    run_async(main, timeout=50)


@both
def test_fragmented_sends(direction: str) -> None:
    """``send(data, {fin: false})`` makes continuation frames, both ways."""

    async def main() -> None:
        async with pair(direction) as p:
            # pyws -> ws: binary, then text whose pieces are valid on their own.
            p.ws.send(b"ab", {"fin": False})
            p.ws.send(b"", {"fin": False})
            p.ws.send(b"cd")
            await check_node_got(p, b"abcd", True)
            p.ws.send("hé", {"fin": False})
            p.ws.ping(b"between")  # a control frame inside the message
            p.ws.send("llo", {"fin": False})
            p.ws.send("😀")
            ping = await p.node.expect("ping")
            assert payload_of(ping) == b"between"
            await check_node_got(p, "héllo😀".encode(), False)
            # ws -> pyws.
            p.node.send(b"12", fin=False)
            p.node.send(b"34", fin=False)
            p.node.ping(b"mid")
            p.node.send(b"5")
            assert await p.rec.expect("ping") == (b"mid",)
            await check_py_got(p, b"12345", True)
            p.node.send("€", fin=False)
            p.node.send("uro")
            await check_py_got(p, "€uro".encode(), False)
            big = pattern(300000, 1)
            p.node.send(big[:100000], fin=False)
            p.node.send(big[100000:], fin=True)
            await check_py_got(p, big, True)
            p.ws.send(big[:1], {"fin": False})
            p.ws.send(big[1:])
            await check_node_got(p, big, True)
            assert p.rec.all("error") == [] and p.node.seen("error") == []

    run_async(main)


@both
def test_ping_pong_payloads(direction: str) -> None:
    async def main() -> None:
        async with pair(direction) as p:
            for data in (b"", b"hello", bytes(range(125))):
                p.ws.ping(data)
                assert payload_of(await p.node.expect("ping")) == data
                assert await p.rec.expect("pong") == (data,)  # ws auto-pong
                p.node.ping(data)
                assert await p.rec.expect("ping") == (data,)
                assert payload_of(await p.node.expect("pong")) == data  # pyws's
            p.ws.pong(b"unsolicited")
            assert payload_of(await p.node.expect("pong")) == b"unsolicited"
            p.node.pong(b"u2")
            assert await p.rec.expect("pong") == (b"u2",)
            p.ws.ping("text ping")
            assert payload_of(await p.node.expect("ping")) == b"text ping"

    run_async(main)


@both
def test_auto_pong_off(direction: str) -> None:
    """autoPong false on the pyws side: the ping is reported, not answered."""

    async def main() -> None:
        async with pair(direction, py_options={"autoPong": False}) as p:
            p.node.ping(b"x")
            assert await p.rec.expect("ping") == (b"x",)
            p.node.ping(b"y")  # the ping after shows nothing came back in between
            assert await p.rec.expect("ping") == (b"y",)
            p.ws.send(b"sync")
            await check_node_got(p, b"sync", True)
            assert p.node.seen("pong") == []

    run_async(main)


# -- handshake: subprotocols, headers, path -------------------------------------


@both
@pytest.mark.parametrize(
    ("offered", "choose", "expected"),
    [
        (["chat", "superchat"], ..., "chat"),  # ws default: the first one
        (["chat", "superchat"], "superchat", "superchat"),
        ([], ..., ""),
        (["only"], ..., "only"),
    ],
)
def test_subprotocols(
    direction: str, offered: list[str], choose: Any, expected: str
) -> None:
    async def main() -> None:
        py_options: dict[str, Any] = {}
        node_protocol: Any = ...
        if choose is not ...:
            if direction == "py-server":
                py_options["handleProtocols"] = lambda protocols, req: choose
            else:
                node_protocol = choose
        async with pair(
            direction,
            protocols=offered or None,
            py_options=py_options,
            node_protocol=node_protocol,
        ) as p:
            assert p.ws.protocol == expected
            if direction == "py-server":
                assert p.node.seen("open")[0]["protocol"] == expected
            else:
                assert p.request["protocol"] == expected

    run_async(main)


@both
def test_custom_headers_and_path(direction: str) -> None:
    async def main() -> None:
        headers = {"X-Custom": "v1", "Cookie": "a=b; c=d", "User-Agent": "interop/1"}
        async with pair(direction, headers=headers, path="/chat/room?x=1&y=%20") as p:
            if direction == "py-server":
                req = p.request
                assert req.url == "/chat/room?x=1&y=%20"
                assert req.method == "GET"
                got = req.headers
            else:
                assert p.request["url"] == "/chat/room?x=1&y=%20"
                got = p.request["headers"]
            assert got["x-custom"] == "v1"
            assert got["cookie"] == "a=b; c=d"
            assert got["user-agent"] == "interop/1"
            assert got["upgrade"].lower() == "websocket"
            assert got["sec-websocket-version"] == "13"

    run_async(main)


# -- closing -------------------------------------------------------------------

CLOSES = [
    pytest.param(1000, "bye", id="1000"),
    pytest.param(1001, "", id="1001-no-reason"),
    pytest.param(4999, "ünï€😀", id="4999-utf8"),
    pytest.param(3000, "r" * 123, id="3000-123-bytes"),
    pytest.param(None, "", id="no-code-1005"),
]


@both
@pytest.mark.parametrize(("code", "reason"), CLOSES)
def test_close_started_by_pyws(direction: str, code: int | None, reason: str) -> None:
    async def main() -> None:
        async with pair(direction) as p:
            p.ws.send(b"before close")
            if code is None:
                p.ws.close()
            else:
                p.ws.close(code, reason)
            assert p.ws.readyState == 2
            await check_node_got(p, b"before close", True)  # data goes first
            want = 1005 if code is None else code
            ev = await p.node.expect("close")
            assert (ev["code"], ev["reason"]) == (want, reason)
            # ws echoes the code and reason; pyws reports what it received.
            assert await p.rec.expect("close") == (want, reason.encode())
            assert p.ws.readyState == 3
            assert p.rec.all("error") == [] and p.node.seen("error") == []

    run_async(main)


@both
@pytest.mark.parametrize(("code", "reason"), CLOSES)
def test_close_started_by_node(direction: str, code: int | None, reason: str) -> None:
    async def main() -> None:
        async with pair(direction) as p:
            p.node.send(b"before close")
            p.node.close(code, reason)
            await check_py_got(p, b"before close", True)
            want = 1005 if code is None else code
            assert await p.rec.expect("close") == (want, reason.encode())
            ev = await p.node.expect("close")
            assert (ev["code"], ev["reason"]) == (want, reason)
            assert p.rec.names().index("message") < p.rec.names().index("close")
            assert p.rec.all("error") == [] and p.node.seen("error") == []

    run_async(main)


@both
def test_send_after_close_gets_an_error_callback(direction: str) -> None:
    async def main() -> None:
        async with pair(direction) as p:
            p.ws.close(1000)
            errors: list[Any] = []
            p.ws.send(b"late", lambda err: errors.append(err))
            assert await p.rec.expect("close") == (1000, b"")
            assert len(errors) == 1 and "CLOSING" in str(errors[0])
            assert p.node.seen("message") == []

    run_async(main)


@both
def test_terminate_by_node_gives_1006(direction: str) -> None:
    async def main() -> None:
        async with pair(direction) as p:
            p.node.terminate()
            assert await p.rec.expect("close") == (1006, b"")
            assert p.rec.all("error") == []  # a lost TCP connection is no error
            assert (await p.node.expect("close"))["code"] == 1006

    run_async(main)


@both
def test_terminate_by_pyws_gives_1006(direction: str) -> None:
    async def main() -> None:
        async with pair(direction) as p:
            p.ws.terminate()
            ev = await p.node.expect("close")
            assert ev["code"] == 1006
            assert p.node.seen("error") == []
            assert await p.rec.expect("close") == (1006, b"")

    run_async(main)


@both
def test_close_timeout_when_ws_does_not_answer(direction: str) -> None:
    """ws is paused, so no echo comes: pyws gives up after closeTimeout."""

    async def main() -> None:
        async with pair(direction, py_options={"closeTimeout": 300}) as p:
            p.node.command("pause")
            p.node.send(b"sync")  # commands run in order: paused once this lands
            await check_py_got(p, b"sync", True)
            start = p.rec._loop.time()
            p.ws.close(1000, "t")
            assert await p.rec.expect("close") == (1006, b"")
            assert p.rec._loop.time() - start >= 0.29  # not before the timer
            assert p.rec.all("error") == []

    run_async(main)


# -- failing the connection (RFC 6455 7.1.7) -------------------------------------


def node_frame(p: Pair, frame: bytes) -> None:
    """Write a hand-made frame from the Node side, past ws's framing."""
    p.node.raw(frame)


def masked_if_node_client(p: Pair) -> bytes | None:
    return os.urandom(4) if p.py_is_server else None


async def expect_py_failure(p: Pair, code: str, status: int) -> None:
    """pyws emits 'error' (code, statusCode) then 'close' 1006; ws gets status."""
    (err,) = await p.rec.expect("error")
    assert (err.code, err.statusCode) == (code, status)
    assert await p.rec.expect("close") == (1006, b"")
    assert p.rec.names()[-2:] == ["error", "close"]
    ev = await p.node.expect("close")
    assert ev["code"] == status
    assert p.node.seen("error") == []  # ws does not blame itself


@both
def test_wrong_masking_from_node_fails_1002(direction: str) -> None:
    async def main() -> None:
        async with pair(direction) as p:
            # ws lets either role choose the MASK bit per send().
            p.node.send(b"x", mask=not p.py_is_server)
            want = (
                "WS_ERR_EXPECTED_MASK" if p.py_is_server else "WS_ERR_UNEXPECTED_MASK"
            )
            await expect_py_failure(p, want, 1002)
            assert p.rec.all("message") == []

    run_async(main)


@both
def test_wrong_masking_from_pyws_fails_1002_at_ws(direction: str) -> None:
    async def main() -> None:
        async with pair(direction) as p:
            p.ws.send(b"x", {"mask": p.py_is_server})
            err = await p.node.expect("error")
            want = (
                "WS_ERR_UNEXPECTED_MASK" if p.py_is_server else "WS_ERR_EXPECTED_MASK"
            )
            assert (err["code"], err["statusCode"]) == (want, 1002)
            assert (await p.node.expect("close"))["code"] == 1006
            assert await p.rec.expect("close") == (1002, b"")
            assert p.rec.all("error") == []

    run_async(main)


@both
@pytest.mark.parametrize(
    ("name", "opcode", "payload", "flags", "code", "status"),
    [
        ("invalid-utf8", 1, b"ok\xff", {}, "WS_ERR_INVALID_UTF8", 1007),
        ("surrogate", 1, b"\xed\xa0\x80", {}, "WS_ERR_INVALID_UTF8", 1007),
        ("rsv2", 2, b"x", {"rsv2": True}, "WS_ERR_UNEXPECTED_RSV_2_3", 1002),
        ("opcode-3", 3, b"", {}, "WS_ERR_INVALID_OPCODE", 1002),
        ("lone-continuation", 0, b"x", {}, "WS_ERR_INVALID_OPCODE", 1002),
        ("fragmented-ping", 9, b"", {"fin": False}, "WS_ERR_EXPECTED_FIN", 1002),
        (
            "close-code-1005",
            8,
            close_payload(1005),
            {},
            "WS_ERR_INVALID_CLOSE_CODE",
            1002,
        ),
        ("close-1-byte", 8, b"\x03", {}, "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", 1002),
        (
            "close-bad-utf8",
            8,
            close_payload(1000, b"\xc0\x80"),
            {},
            "WS_ERR_INVALID_UTF8",
            1007,
        ),
    ],
)
def test_invalid_frames_from_node(
    direction: str,
    name: str,
    opcode: int,
    payload: bytes,
    flags: dict[str, bool],
    code: str,
    status: int,
) -> None:
    async def main() -> None:
        async with pair(direction) as p:
            frame = build_frame(opcode, payload, mask=masked_if_node_client(p), **flags)
            node_frame(p, frame)
            node_frame(p, build_frame(1, b"after", mask=masked_if_node_client(p)))
            await expect_py_failure(p, code, status)
            assert p.rec.all("message") == []  # 'after' was not processed

    run_async(main)


@both
def test_max_payload_at_pyws_fails_1009(direction: str) -> None:
    async def main() -> None:
        async with pair(direction, py_options={"maxPayload": 1000}) as p:
            p.node.send(bytes(1000))
            await check_py_got(p, bytes(1000), True)
            p.node.send(bytes(1001))
            await expect_py_failure(p, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009)

    run_async(main)


@both
def test_max_payload_at_ws_fails_1009(direction: str) -> None:
    async def main() -> None:
        async with pair(direction, node_options={"maxPayload": 1000}) as p:
            p.ws.send(bytes(1001))
            err = await p.node.expect("error")
            assert (err["code"], err["statusCode"]) == (
                "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
                1009,
            )
            assert await p.rec.expect("close") == (1009, b"")

    run_async(main)


# -- who closes TCP first (RFC 6455 7.1.1) ---------------------------------------


def fin_order(p: Pair) -> list[str]:
    """The Node side's socket events in order: which FIN went first."""
    return [
        ev["event"]
        for ev in p.node.events
        if ev["event"] in ("socket_finish", "socket_end", "socket_close")
    ]


@pytest.mark.parametrize("initiator", ["pyws", "node", "pyws-failure"])
def test_pyws_client_waits_for_server_fin(initiator: str) -> None:
    """RFC 7.1.1: the ws server sends its FIN before it sees pyws's."""

    async def main() -> None:
        async with pair("py-client") as p:
            if initiator == "pyws":
                p.ws.close(1000)
            elif initiator == "node":
                p.node.close(1000)
            else:
                p.node.send(b"x", mask=True)  # pyws fails with 1002
            await p.rec.expect("close")
            await p.node.expect("socket_close")
            # socket_finish = ws's FIN went out; socket_end = pyws's FIN came.
            assert fin_order(p) == ["socket_finish", "socket_end", "socket_close"]

    run_async(main)


def test_ws_client_half_closes_first() -> None:
    """The intended difference: a ws client FINs as soon as it echoed.

    pyws (server) starts the closing handshake; ws (client) echoes and
    half-closes at once (docs/closing.md, ws 8: a close the peer starts),
    before the server's FIN reaches it, which RFC 7.1.1 asks a client not
    to do. pyws's server half-closes too, so ws sees both, its own first.
    """

    async def main() -> None:
        async with pair("py-server") as p:
            p.ws.close(1000, "server first")
            ev = await p.node.expect("close")
            assert (ev["code"], ev["reason"]) == (1000, "server first")
            await p.node.expect("socket_close")
            order = fin_order(p)
            assert order[0] == "socket_finish", order
            assert set(order) == {"socket_finish", "socket_end", "socket_close"}
            assert await p.rec.expect("close") == (1000, b"server first")

    run_async(main)


def test_pyws_server_half_closes_after_failure() -> None:
    """After failing, the pyws server sends close 1002 then its FIN itself."""

    async def main() -> None:
        async with pair("py-server") as p:
            p.node.send(b"x", mask=False)
            await expect_py_failure(p, "WS_ERR_EXPECTED_MASK", 1002)
            await p.node.expect("socket_close")
            assert "socket_end" in fin_order(p)  # pyws's FIN reached ws

    run_async(main)


# -- opening handshake failures (RFC 6455 4.1 / 4.2.2; docs/server.md, websocket.md) -


async def node_server_and_pyws_client(
    config: dict[str, Any], path: str = "/", protocols: list[str] | None = None
) -> tuple[Any, Any, Any]:
    """Start a Node server, point a pyws client at it, return when closed."""
    node = await NodePeer.start("server", config)
    ws = pyws.WebSocket(f"ws://127.0.0.1:{node.port}{path}", protocols)
    rec = Recorder(ws)
    return node, ws, rec


def test_pyws_client_rejected_by_ws_path() -> None:
    """ws answers 400 to a wrong path: 'error' then 'close' 1006."""

    async def main() -> None:
        node, ws, rec = await node_server_and_pyws_client(
            {"options": {"path": "/only"}}, path="/other"
        )
        async with node:
            (err,) = await rec.expect("error")
            assert str(err) == "Unexpected server response: 400"
            assert await rec.expect("close") == (1006, b"")
            assert rec.names() == ["error", "close"]
            assert node.seen("connection") == []

    run_async(main)


def test_pyws_client_refuses_unrequested_subprotocol() -> None:
    """The ws server picks a protocol pyws did not offer: pyws fails."""

    async def main() -> None:
        node, ws, rec = await node_server_and_pyws_client(
            {"protocol": "evil"}, protocols=["good"]
        )
        async with node:
            (err,) = await rec.expect("error")
            assert str(err) == "Server sent an invalid subprotocol"
            assert await rec.expect("close") == (1006, b"")
            assert "open" not in rec.names()

    run_async(main)


def test_ws_client_rejected_by_pyws_path() -> None:
    async def main() -> None:
        server = pyws.WebSocketServer({"port": 0, "host": "127.0.0.1", "path": "/only"})
        srec = Recorder(server, ("listening", "connection", "close"))
        try:
            await srec.expect("listening")
            address = server.address()
            assert address is not None
            url = f"ws://127.0.0.1:{address['port']}/other"
            async with await NodePeer.start("client", {"url": url}) as node:
                ev = await node.expect("unexpected-response")
                assert ev["statusCode"] == 400
                assert (await node.expect("close"))["code"] == 1006
                assert node.seen("open") == []
            assert srec.all("connection") == []
        finally:
            server.close()

    run_async(main)


def test_ws_client_refuses_unrequested_subprotocol() -> None:
    async def main() -> None:
        server = pyws.WebSocketServer(
            {
                "port": 0,
                "host": "127.0.0.1",
                "handleProtocols": lambda protocols, req: "evil",
            }
        )
        srec = Recorder(server, ("listening", "connection", "close"))
        try:
            await srec.expect("listening")
            address = server.address()
            assert address is not None
            url = f"ws://127.0.0.1:{address['port']}/"
            config = {"url": url, "protocols": ["good"]}
            async with await NodePeer.start("client", config) as node:
                err = await node.expect("error")
                assert err["message"] == "Server sent an invalid subprotocol"
                assert (await node.expect("close"))["code"] == 1006
        finally:
            for client in list(server.clients or ()):
                client.terminate()
            server.close()

    run_async(main)


def test_ws_client_rejected_by_verify_client() -> None:
    async def main() -> None:
        def verify(info: Any, cb: Any) -> None:
            cb(False, 403, "Go away", {"X-Reason": "test"})

        server = pyws.WebSocketServer(
            {"port": 0, "host": "127.0.0.1", "verifyClient": verify}
        )
        srec = Recorder(server, ("listening", "connection", "close"))
        try:
            await srec.expect("listening")
            address = server.address()
            assert address is not None
            url = f"ws://127.0.0.1:{address['port']}/"
            async with await NodePeer.start("client", {"url": url}) as node:
                ev = await node.expect("unexpected-response")
                assert ev["statusCode"] == 403
                assert ev["headers"]["x-reason"] == "test"
                assert (await node.expect("close"))["code"] == 1006
        finally:
            server.close()

    run_async(main)


def test_unexpected_response_then_fin_both_clients_wait() -> None:
    """A server answers 401 with a body and closes. ws 8.23.1 and pyws,
    each with an 'unexpected-response' listener that only looks: neither
    emits 'error' nor 'close' when the socket closes; both stay CONNECTING
    until close() is called, then report the same error and 1006."""

    response = (
        b"HTTP/1.1 401 Unauthorized\r\n"
        b"WWW-Authenticate: Basic\r\n"
        b"Content-Length: 5\r\n\r\n"
        b"nope\n"
    )

    async def answer(raw: RawServer) -> None:
        peer = await raw.accept(handshake=False)
        await peer.wait_head()
        peer.send_raw(response)
        peer.write_eof()
        await peer.wait_eof()  # the client closed its side in turn

    async def main() -> None:
        async with await RawServer.start() as raw:
            url = f"ws://127.0.0.1:{raw.port}/"
            config = {"url": url, "keepOnUnexpected": True}
            async with await NodePeer.start("client", config) as node:
                await answer(raw)
                assert (await node.expect("unexpected-response"))["statusCode"] == 401
                node.command("state")
                assert (await node.expect("state"))["readyState"] == 0
                assert node.seen("error") == [] and node.seen("close") == []
                node.close()
                node_error = (await node.expect("error"))["message"]
                assert (await node.expect("close"))["code"] == 1006

            ws = pyws.WebSocket(url)
            rec = Recorder(ws, ("unexpected-response", "error", "close"))
            await answer(raw)
            (_, res) = await rec.expect("unexpected-response")
            assert res.statusCode == 401
            await asyncio.wait_for(pyws._runtime.wait_idle(), 10)
            assert ws.readyState == ws.CONNECTING
            assert rec.all("error") == [] and rec.all("close") == []
            ws.close()
            (err,) = await rec.expect("error")
            assert str(err) == node_error
            assert (await rec.expect("close"))[0] == 1006

    run_async(main)


VERSIONS = ["13", "8", "013", "13.0", "0xd", "1.3e1", "8.0", "+13", "7", ""]


async def upgrade_status(port: int, version: str) -> tuple[int, bytes]:
    """Send an upgrade request with this Sec-WebSocket-Version; return the
    response's status and body (empty for a 101 or without a length)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: " + version.encode() + b"\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status = int(head.split(b" ", 2)[1])
        _, found, rest = head.lower().partition(b"content-length:")
        if status == 101 or not found:
            return status, b""
        length = int(rest.split(b"\r\n")[0])
        return status, await asyncio.wait_for(reader.readexactly(length), 10)
    finally:
        writer.close()


def test_version_header_checked_as_ws_8_23_1() -> None:
    """ws 8.23.1 takes Sec-WebSocket-Version only as the text 13 or 8. The
    Node peer answers refusals itself from 'wsClientError' (whose message
    is the body ws would send); pyws answers with ws's own response."""

    async def main() -> None:
        async with await NodePeer.start("server", {"options": {}}) as node:
            assert node.port is not None
            node_status = [(await upgrade_status(node.port, v))[0] for v in VERSIONS]
            node_messages = [ev["message"] for ev in node.seen("wsClientError")]
        server = pyws.WebSocketServer({"port": 0, "host": "127.0.0.1"})
        srec = Recorder(server, ("listening", "connection"))
        try:
            await srec.expect("listening")
            address = server.address()
            assert address is not None
            got = [await upgrade_status(address["port"], v) for v in VERSIONS]
        finally:
            for client in list(server.clients or ()):
                client.terminate()
            server.close()
        assert [status for status, _ in got] == node_status
        assert node_status == [101, 101] + [400] * 8
        assert [body.decode() for status, body in got if status != 101] == node_messages

    run_async(main)
