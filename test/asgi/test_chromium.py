"""A real Chromium against pyws on uvicorn.

The page comes from the FastAPI app; its script opens one WebSocket to a
ws-style WebSocketServer (``/chat``) and one to the app's own WebSocket
route (``/asgi``, through ``pyws.asgi``) on the same port. Chromium offers
``permessage-deflate; client_max_window_bits``; each side echoes a
compressible message, Chromium closes with 4000, and the page posts what it
saw to ``/result``. Skipped, saying so, when Chromium is not installed
(``apt-get install chromium``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi import WebSocket as FastAPIWebSocket
from fastapi.responses import HTMLResponse
from helpers.rawpeer import scaled

import pyws
from pyws import WebSocketServer

from .conftest import listening_socket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
)

PAGE = """<!doctype html><title>pyws</title><script>
const results = {};
function open(path) {
  const ws = new WebSocket(`ws://${location.host}${path}`);
  let got = null;
  ws.onopen = () => ws.send("pyws ".repeat(600));
  ws.onmessage = (e) => { got = e.data; ws.close(4000, "done"); };
  ws.onclose = (e) => {
    results[path] = {code: e.code, reason: e.reason, wasClean: e.wasClean,
                     extensions: ws.extensions, echoed: got === "pyws ".repeat(600)};
    if (Object.keys(results).length === 2)
      fetch("/result", {method: "POST", body: JSON.stringify(results)});
  };
}
open("/chat");
open("/asgi");
</script>"""


def test_chromium_on_both_paths() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Any] = loop.create_future()
        app_close: asyncio.Future[Any] = loop.create_future()
        app = FastAPI()

        @app.get("/")
        def page() -> HTMLResponse:
            return HTMLResponse(PAGE)

        @app.post("/result")
        async def post_result(request: Request) -> dict[str, str]:
            result.set_result(json.loads(await request.body()))
            return {}

        @app.websocket("/asgi")
        async def asgi(websocket: FastAPIWebSocket) -> None:
            await websocket.accept()
            await websocket.send_text(await websocket.receive_text())
            message = await websocket.receive()
            app_close.set_result(message)

        sock = listening_socket()
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_level="warning")
        server = uvicorn.Server(config)
        wss = WebSocketServer(server=server, path="/chat", perMessageDeflate=True)
        closed: list[tuple[int, bytes]] = []

        def on_connection(ws: pyws.WebSocket, req: Any) -> None:
            ws.on(
                "message", lambda data, is_binary: ws.send(data, {"binary": is_binary})
            )
            ws.on("close", lambda code, reason: closed.append((code, reason)))

        wss.on("connection", on_connection)
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        assert CHROMIUM is not None
        # ignore_cleanup_errors: a helper reaped late may still hold a file.
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
            browser = await asyncio.create_subprocess_exec(
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"http://127.0.0.1:{port}/",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                # Chromium's helper processes outlive the browser process
                # and keep writing the profile: stop the whole group, so
                # the profile folder is quiet before it is removed.
                start_new_session=True,
            )
            try:
                seen = await asyncio.wait_for(result, scaled(30))
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(browser.pid, signal.SIGKILL)
                await browser.wait()
        expected = {
            "code": 4000,
            "reason": "done",
            "wasClean": True,
            "extensions": "permessage-deflate",
            "echoed": True,
        }
        assert seen == {"/chat": expected, "/asgi": expected}
        assert closed == [(4000, b"done")]
        assert await asyncio.wait_for(app_close, scaled(5)) == {
            "type": "websocket.disconnect",
            "code": 4000,
            "reason": "done",
        }
        server.should_exit = True
        await asyncio.wait_for(serving, scaled(10))
        sock.close()

    asyncio.run(main())
