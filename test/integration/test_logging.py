"""Standard logging: ``pyws.server``, ``pyws.client``, ``pyws.frames``.

Each record of a connection carries ``ws_id``, ``peer`` and ``role``;
lifecycle at INFO/DEBUG, failures at WARNING with their ``WS_ERR_*`` code;
peer strings are escaped; the frame trace exists only while switched on.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from helpers.rawpeer import RawPeer, RawServer

import pyws
import pyws.log

HOST = "127.0.0.1"


def _records(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


def test_client_lifecycle_records(arun: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pyws")

    async def main() -> None:
        async with await RawServer.start() as raw:
            ws = pyws.WebSocket(f"ws://{HOST}:{raw.port}/x")
            peer = await raw.accept()
            await arun.within(ws.wait_open(), "open")
            peer.send_close(4000, "bye\x1b[2J\r\nFAKE")
            await peer.wait_frame(8)
            peer.close()
            await arun.within(ws.wait_closed(), "close")

    arun(main())
    records = _records(caplog, "pyws.client")
    messages = [r.getMessage() for r in records]
    assert any("connecting to 'ws://" in m and m.endswith("/x'") for m in messages)
    ws_ids = {r.ws_id for r in records}  # type: ignore[attr-defined]
    assert len(ws_ids) == 1
    assert {r.role for r in records} == {"client"}  # type: ignore[attr-defined]
    opened = [r for r in records if r.getMessage().endswith("] open")]
    assert len(opened) == 1 and opened[0].levelno == logging.INFO
    assert opened[0].peer.startswith(f"{HOST}:")  # type: ignore[attr-defined]
    closed = [r for r in records if "closed" in r.getMessage()]
    assert len(closed) == 1 and closed[0].levelno == logging.INFO
    text = closed[0].getMessage()
    assert "4000" in text and "(clean)" in text
    # The peer's control characters are escaped: no raw ESC, CR or LF.
    assert "\x1b" not in text and "\r" not in text and "\n" not in text
    assert "\\x1b[2J\\r\\nFAKE" in text


def test_protocol_failure_is_a_warning_with_its_code(
    arun: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyws")

    async def main() -> None:
        wss = pyws.WebSocketServer(port=0, host=HOST, closeTimeout=100)
        await arun.within(pyws.once(wss, "listening"), "listening")
        errors: list[Any] = []
        wss.on("connection", lambda ws, req: ws.on("error", errors.append))
        address = wss.address()
        assert address is not None
        peer = await RawPeer.connect(HOST, address["port"])
        peer.send_frame(1, b"x", rsv2=True)
        await peer.wait_frame(8)
        peer.close()
        closed = arun.event(wss, "close")
        wss.close()
        await arun.within(closed, "the server's close")
        assert errors and errors[0].code == "WS_ERR_UNEXPECTED_RSV_2_3"

    arun(main())
    server = _records(caplog, "pyws.server")
    failing = [r for r in server if r.levelno == logging.WARNING]
    assert len(failing) == 1
    assert "WS_ERR_UNEXPECTED_RSV_2_3" in failing[0].getMessage()
    assert "close 1002 sent" in failing[0].getMessage()
    assert failing[0].role == "server"  # type: ignore[attr-defined]
    messages = [r.getMessage() for r in server]
    assert any(m.startswith(f"listening on {HOST} port ") for m in messages)
    assert "server closed" in messages


def test_refused_handshake_is_logged(
    arun: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyws.server")

    async def main() -> None:
        wss = pyws.WebSocketServer(port=0, host=HOST, verifyClient=lambda info: False)
        await arun.within(pyws.once(wss, "listening"), "listening")
        address = wss.address()
        assert address is not None
        ws = pyws.WebSocket(f"ws://{HOST}:{address['port']}/")
        ws.on("error", lambda err: None)
        await arun.within(ws.wait_closed(), "the client's close")
        closed = arun.event(wss, "close")
        wss.close()
        await arun.within(closed, "close")

    arun(main())
    refused = [
        r for r in _records(caplog, "pyws.server") if "refused" in r.getMessage()
    ]
    assert len(refused) == 1 and " 401 " in refused[0].getMessage()


@pytest.mark.parametrize("enabled", [True, False])
def test_frame_trace_only_when_switched_on(
    arun: Any, caplog: pytest.LogCaptureFixture, enabled: bool
) -> None:
    caplog.set_level(logging.DEBUG, logger="pyws.frames")

    async def main() -> None:
        pyws.log.log_frames(enabled)
        try:
            async with await RawServer.start() as raw:
                ws = pyws.WebSocket(f"ws://{HOST}:{raw.port}/")
                peer = await raw.accept()
                await arun.within(ws.wait_open(), "open")
                ws.send("hi")
                ws.ping(b"p")
                peer.send_binary(b"\x01\x02")
                await arun.within(arun.event(ws, "message"), "message")
                await peer.wait_frame(9)
                ws.terminate()
                await arun.within(ws.wait_closed(), "close")
        finally:
            pyws.log.log_frames(False)

    arun(main())
    lines = [r.getMessage() for r in _records(caplog, "pyws.frames")]
    if not enabled:
        assert lines == []
        return
    assert any("> TEXT b'hi' [2 bytes]" in line for line in lines)
    assert any("> PING b'p'" in line for line in lines)
    assert any("< BINARY b'\\x01\\x02' [2 bytes]" in line for line in lines)
