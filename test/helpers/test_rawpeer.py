"""Tests of the raw peer helper itself, against plain asyncio servers.

The helper is the witness in integration and interop tests, so its frame
codec is checked on the RFC 6455 section 5.7 examples, and its EOF / reset
recording on real loopback connections.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from helpers.rawpeer import (
    RawPeer,
    RawServer,
    accept_key,
    build_frame,
    close_payload,
    parse_frames,
    scaled,
)

MASK = bytes.fromhex("37fa213d")

# RFC 6455 section 5.7 examples: (frame bytes, opcode, fin, masked, payload).
RFC_EXAMPLES = [
    ("810548656c6c6f", 1, True, False, b"Hello"),
    ("818537fa213d7f9f4d5158", 1, True, True, b"Hello"),
    ("010348656c", 1, False, False, b"Hel"),
    ("80026c6f", 0, True, False, b"lo"),
    ("890548656c6c6f", 9, True, False, b"Hello"),
    ("8a8537fa213d7f9f4d5158", 10, True, True, b"Hello"),
]


@pytest.mark.parametrize(
    ("hexbytes", "opcode", "fin", "masked", "payload"), RFC_EXAMPLES
)
def test_rfc_examples_round_trip(
    hexbytes: str, opcode: int, fin: bool, masked: bool, payload: bytes
) -> None:
    wire = bytes.fromhex(hexbytes)
    frames, used = parse_frames(wire)
    assert used == len(wire)
    assert [(f.opcode, f.fin, f.masked, f.payload) for f in frames] == [
        (opcode, fin, masked, payload)
    ]
    built = build_frame(opcode, payload, fin=fin, mask=MASK if masked else None)
    assert built == wire


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (125, "827d"),
        (126, "827e007e"),
        (256, "827e0100"),
        (65535, "827effff"),
        (65536, "827f0000000000010000"),
    ],
)
def test_length_encodings(size: int, header: str) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    wire = build_frame(2, payload)
    assert wire[: len(header) // 2] == bytes.fromhex(header)
    frames, used = parse_frames(wire + b"\x81")  # a trailing partial frame
    assert used == len(wire)
    assert frames[0].payload == payload


def test_non_minimal_length_and_flags() -> None:
    wire = build_frame(1, b"abc", length_size=8, rsv1=True, rsv3=True, fin=False)
    assert wire[:10] == bytes.fromhex("517f0000000000000003")
    (frame,), _ = parse_frames(wire)
    assert (frame.rsv, frame.fin, frame.payload) == (5, False, b"abc")
    with pytest.raises(ValueError):
        build_frame(1, b"x" * 126, length_size=0)


def test_partial_frames_are_kept() -> None:
    wire = build_frame(2, b"x" * 300, mask=MASK)
    for cut in range(len(wire)):
        frames, used = parse_frames(wire[:cut])
        assert (frames, used) == ([], 0)


def test_close_payload() -> None:
    assert close_payload(None) == b""
    assert close_payload(1000, "bye") == b"\x03\xe8bye"
    (frame,), _ = parse_frames(build_frame(8, close_payload(4001, b"\xff")))
    assert (frame.close_code, frame.close_reason) == (4001, b"\xff")
    (empty,), _ = parse_frames(build_frame(8))
    assert empty.close_code is None


def test_accept_key_rfc_example() -> None:
    # RFC 6455 section 1.3.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
    writer.close()  # after the peer's FIN: answer with ours


def test_against_echo_server() -> None:
    async def main() -> None:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        # Order, masking flags, fragments, EOF, timestamps.
        peer = await RawPeer.connect(
            "127.0.0.1", port, handshake=False, expect_head=False
        )
        peer.send_text("hé", fin=False)
        peer.send_ping(b"q")
        peer.send_frame(0, b"!")
        peer.send_text("a", mask=MASK)
        peer.send_ping(b"p")
        peer.send_binary(bytes(70000), mask=False)
        assert await peer.wait_message() == (1, "hé!".encode())
        assert peer.frames[0].fin is False
        assert [f.payload for f in peer.frames if f.opcode == 9][0] == b"q"
        masked = await peer.wait_frame()
        assert (masked.opcode, masked.masked, masked.mask, masked.payload) == (
            1,
            True,
            MASK,
            b"a",
        )
        assert (await peer.wait_frame(9)).payload == b"p"
        assert (await peer.wait_message()) == (2, bytes(70000))
        assert peer.eof_time is None
        peer.write_eof()
        t_eof = await peer.wait_eof()
        assert peer.connected_time is not None and t_eof >= peer.connected_time
        assert peer.lost_time is None  # both sides half-closed, socket still open
        peer.close()
        await peer.wait_lost()
        assert not peer.reset
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def test_wait_frame_times_out_with_context() -> None:
    async def main() -> None:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        peer = await RawPeer.connect(
            "127.0.0.1", port, handshake=False, expect_head=False
        )
        with pytest.raises(TimeoutError, match="opcode 0x8"):
            await peer.wait_frame(8, timeout=0.05)
        await peer.expect_no_eof(0.05)
        peer.close()
        await peer.wait_lost()
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def test_handshake_both_roles_and_reset() -> None:
    async def main() -> None:
        async with await RawServer.start() as server:
            accepting = asyncio.ensure_future(server.accept(protocol="chat"))
            client = await RawPeer.connect(
                "127.0.0.1",
                server.port,
                path="/x?y=1",
                protocols=["chat", "b"],
                headers={"X-Test": "1"},
            )
            srv = await asyncio.wait_for(accepting, scaled(5))
            assert srv.head is not None and client.head is not None
            assert srv.head.target == "/x?y=1"
            assert srv.head.get("x-test") == "1"
            assert srv.head.get("sec-websocket-protocol") == "chat, b"
            assert client.head.status == 101
            assert client.head.get("Sec-WebSocket-Protocol") == "chat"
            # Roles mask as RFC 6455 section 5.1 requires.
            client.send_close(1000, "bye")
            frame = await srv.wait_frame(8)
            assert frame.masked and frame.close_code == 1000
            assert frame.close_reason == b"bye"
            srv.send_close(1000)
            echo = await client.wait_frame(8)
            assert not echo.masked and echo.close_code == 1000
            # A reset is recorded as such on the other side.
            client.reset_connection()
            await srv.wait_lost()
            assert srv.reset and isinstance(srv.lost_exc, ConnectionResetError)
            assert srv.eof_time is None
            await client.wait_lost()

    asyncio.run(main())


def test_reset_seen_by_plain_socket() -> None:
    """reset_connection() really sends an RST (SO_LINGER 0), not a FIN."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen()
        lsock.setblocking(False)
        port = lsock.getsockname()[1]
        connecting = asyncio.ensure_future(
            RawPeer.connect("127.0.0.1", port, handshake=False)
        )
        conn, _ = await asyncio.wait_for(loop.sock_accept(lsock), scaled(5))
        peer = await connecting
        peer.reset_connection()
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(loop.sock_recv(conn, 10), scaled(5))
        conn.close()
        lsock.close()
        await peer.wait_lost()
        assert peer.reset is False  # we aborted it ourselves

    asyncio.run(main())
