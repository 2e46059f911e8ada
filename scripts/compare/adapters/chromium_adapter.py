"""Compare-tool adapter for Chromium's WebSocket (headless, client role only).

Usage: ``python chromium_adapter.py '<json config>'`` (see
``scripts/compare/README.md``, "Adapters"). It serves one page on
127.0.0.1 (port 0), starts Chromium headless on it with a fresh profile, and
the page opens ``new WebSocket(url, protocols)`` to the raw peer, runs the
scenario's actions and posts every event back to this process, which prints
it as a JSON line. Event times are the page's ``performance.timeOrigin +
performance.now()`` (the wall clock the raw peer uses too).

Events: ``open``, ``message(data, isBinary)`` (``binaryType`` is
``arraybuffer``), ``error`` (the DOM's error event carries no detail),
``close(code, reason)``, ``throw`` (a DOMException from ``close()``), ``state``
(``bufferedAmount``, ``protocol``, ``extensions``). A page cannot ping, pong,
terminate, pause, send fragments, set limits or a heartbeat, and cannot be a
server: such scenarios are not applicable. closeTimeout has no counterpart
(the browser keeps its own).

Chromium comes from ``PYWS_COMPARE_CHROMIUM`` or ``PATH`` (``chromium``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Any

import _common as c

NAME = "chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: Bound on Chromium's start and on its exit once the scenario ended.
START_S = 20.0
STOP_S = 5.0
#: How long the page may go on posting events once the runner said stop.
GRACE_S = 1.0

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>pyws compare</title>
<script>
"use strict";
const config = __CONFIG__;
let ws = null;
let chain = Promise.resolve();
const now = () => performance.timeOrigin + performance.now();
function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
function fromHex(text) {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}
async function enc(value) {
  if (value instanceof ArrayBuffer) value = new Uint8Array(value);
  if (value instanceof Uint8Array) {
    if (value.length <= 1024) return { b: hex(value) };
    const digest = await crypto.subtle.digest("SHA-1", value);
    return { len: value.length, sha1: hex(new Uint8Array(digest)) };
  }
  return value === undefined ? null : value;
}
function log(event, args) {
  const t = now();
  const readyState = ws ? ws.readyState : null;
  chain = chain.then(async () => {
    const rec = { t, kind: "event", event, args: await Promise.all(args.map(enc)),
                  readyState };
    await fetch("/log", { method: "POST", body: JSON.stringify(rec) }).catch(() => {});
  });
}
function payload(action) {
  if (action.data_hex !== undefined) return fromHex(action.data_hex);
  if (action.data_size !== undefined) {
    const out = new Uint8Array(action.data_size);
    for (let i = 0; i < out.length; i++) out[i] = i & 255;
    return out;
  }
  return action.data === undefined ? "" : String(action.data);
}
function run(action) {
  try {
    if (action.do === "send") {
      let data = payload(action);
      if (action.options && action.options.binary && typeof data === "string") {
        data = new TextEncoder().encode(data);
      }
      ws.send(data);
    } else if (action.do === "close") {
      if (action.code === undefined) ws.close();
      else if (action.reason === undefined) ws.close(action.code);
      else ws.close(action.code, action.reason);
    } else if (action.do === "log_state") {
      log("state", [ws.bufferedAmount, ws.protocol, ws.extensions]);
    } else {
      throw new Error("unknown action " + action.do);
    }
  } catch (err) {
    const info = { name: err.name, code: null, message: err.message, statusCode: null };
    log("throw", [info]);
  }
}
const counts = {};
function trigger(name) {
  counts[name] = (counts[name] || 0) + 1;
  for (const action of config.actions || []) {
    if (action.on !== name || (action.nth || 1) !== counts[name]) continue;
    if (action.after_ms) setTimeout(() => run(action), action.after_ms);
    else run(action);
  }
}
const url = "ws://127.0.0.1:" + config.port + (config.path || "/");
ws = config.protocols === undefined
  ? new WebSocket(url)
  : new WebSocket(url, config.protocols);
ws.binaryType = "arraybuffer";
ws.onopen = () => { log("open", []); trigger("open"); };
ws.onmessage = (ev) => {
  const binary = typeof ev.data !== "string";
  const data = binary ? new Uint8Array(ev.data) : new TextEncoder().encode(ev.data);
  log("message", [data, binary]);
  trigger("message");
};
ws.onerror = () => {
  log("error", [{ name: "Event", code: null, message: "error", statusCode: null }]);
  trigger("error");
};
ws.onclose = (ev) => {
  log("close", [ev.code, new TextEncoder().encode(ev.reason)]);
  trigger("close");
  const last = Math.max(0, ...(config.actions || []).map((a) => a.after_ms || 0));
  const finish = () => fetch("/done", { method: "POST" });
  setTimeout(() => { chain = chain.then(finish); }, last);
};
</script>
"""


def _die_with_parent() -> None:
    """In the child: get SIGKILL if the adapter dies (no stray browsers)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Adapter:
    """Serves the page, runs Chromium, relays the page's events."""

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the config; nothing starts until :meth:`main`."""
        self.config = config
        self.done: asyncio.Future[None] | None = None

    def page(self) -> bytes:
        """The page, with the scenario's implementation part embedded."""
        embedded = json.dumps(self.config).replace("<", "\\u003c")
        text = PAGE.replace("__CONFIG__", embedded)
        return text.encode("utf-8")

    async def on_http(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer one request: the page, an event, or the end."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), START_S)
            first, *lines = head.decode("latin-1").split("\r\n")
            length = 0
            for line in lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length) if length else b""
            method, path = first.split(" ")[:2]
            status, content, kind = "200 OK", b"", "text/plain"
            if method == "GET" and path == "/":
                content, kind = self.page(), "text/html; charset=utf-8"
            elif method == "POST" and path == "/log":
                record = json.loads(body)
                if record.get("readyState") is None:
                    record.pop("readyState", None)
                sys.stdout.write(json.dumps(record) + "\n")
                sys.stdout.flush()
            elif method == "POST" and path == "/done":
                if self.done is not None and not self.done.done():
                    self.done.set_result(None)
            else:
                status = "404 Not Found"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(content)}\r\nCache-Control: no-store\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
                + content
            )
            await writer.drain()
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    async def main(self, binary: str) -> None:
        """Run Chromium on the page until the page says it is done."""
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        http = await asyncio.start_server(self.on_http, "127.0.0.1", 0)
        port = http.sockets[0].getsockname()[1]
        profile = tempfile.mkdtemp(prefix="pyws-compare-chromium-")
        proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"http://127.0.0.1:{port}/"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - sets only a signal
        )

        def stdin_end() -> None:
            # The runner is done: the page may still be posting the events
            # the end of the run caused; give it a moment, then stop.
            loop.call_later(GRACE_S, stop)

        def stop() -> None:
            if not self.done.done():  # type: ignore[union-attr]
                self.done.set_result(None)  # type: ignore[union-attr]

        c.watch_stdin_end(loop, stdin_end)
        try:
            await self.done
        finally:
            proc.terminate()
            try:
                await asyncio.wait_for(loop.run_in_executor(None, proc.wait), STOP_S)
            except asyncio.TimeoutError:
                proc.kill()
                proc.wait()
            http.close()
            shutil.rmtree(profile, ignore_errors=True)
        c.log("meta", "exit", [], None)


def _version(binary: str) -> str:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return NAME
    words = [w for w in out.split() if w[:1].isdigit()]
    return f"{NAME} {words[0]}" if words else NAME


def main() -> None:
    """Check the scenario, then run it."""
    config = json.loads(sys.argv[1])
    binary = os.environ.get("PYWS_COMPARE_CHROMIUM") or shutil.which("chromium")
    if binary is None:
        binary = shutil.which("chromium-browser")
    if binary is None:
        sys.exit("chromium not found")
    c.version(_version(binary))
    c.check(
        config,
        name=NAME,
        options=("closeTimeout", "perMessageDeflate"),
        actions=("send", "close", "log_state"),
        roles=("client",),
        heartbeat=False,
    )
    if config.get("options", {}).get("perMessageDeflate") is False:
        c.not_applicable(f"{NAME} always offers permessage-deflate")
    asyncio.run(Adapter(config).main(binary))


if __name__ == "__main__":
    main()
