"""``NodeSocket``: the socket handed to upgrade code, an EventEmitter as
Node's ``net.Socket`` is.

It is ``request.socket`` of a server's requests, the socket of
``'wsClientError'``, what :func:`pyws.read_upgrade_request` returns and what
``handleUpgrade`` accepts. Methods: ``write(data[, cb])``, ``end([data])``,
``destroy([err])``, ``pause()``, ``resume()``; attributes
``remoteAddress``/``remotePort`` (and PEP 8 twins), ``localAddress``,
``localPort``, ``remoteFamily``, ``encrypted``, ``destroyed``.

Events, for as long as the socket is not a WebSocket's yet (and
``'close'`` after that too):

- ``'data'(chunk)``: bytes received; adding a listener resumes reading and
  the listener consumes what arrives (as in Node's flowing mode), so add it
  only on a socket that will not be upgraded;
- ``'end'``: the peer half-closed;
- ``'error'(err)``: the connection failed (only emitted to listeners:
  pyws handles socket errors of upgrades itself, as ws and Node's HTTP
  server do);
- ``'close'(hadError)``: the socket closed (for an upgraded socket, when
  the WebSocket's connection closed).

Facade layer: the transport code creates these only through the factory it
is handed (``pyws._server.TransportSocket`` is the pyee-free base).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ._emitter import NodeEventEmitter
from ._server import TransportSocket

__all__ = ["NodeSocket"]


class NodeSocket(NodeEventEmitter, TransportSocket):
    """A Node ``net.Socket``-like EventEmitter around an asyncio transport."""

    def __init__(self, transport: asyncio.Transport) -> None:
        NodeEventEmitter.__init__(self)
        TransportSocket.__init__(self, transport)
        self._close_emitted = False
        self._destroy_error: BaseException | None = None

    def destroy(self, err: BaseException | None = None) -> None:
        """Close at once, dropping unwritten data; ``err`` is emitted as
        ``'error'`` before ``'close'``."""
        if err is not None and self._destroy_error is None:
            self._destroy_error = err
        super().destroy(err)

    def _add_event_handler(
        self, event: Any, k: Callable[..., Any], v: Callable[..., Any]
    ) -> None:
        super()._add_event_handler(event, k, v)
        if event == "data" and not self.transport.is_closing():
            self.transport.resume_reading()  # Node: 'data' starts the flow

    # -- what the transport reports -------------------------------------------

    def _takes_data(self) -> bool:
        return bool(self._events.get("data"))

    def _on_data(self, data: bytes) -> None:
        self._dispatch("data", data)

    def _on_end(self) -> bool:
        if not self._events.get("end"):
            return False
        self._dispatch("end")
        return True

    def _on_close(self, exc: Exception | None) -> None:
        if self._close_emitted:
            return
        self._close_emitted = True
        err = self._destroy_error or exc
        if err is not None and self._events.get("error"):
            self._dispatch("error", err)
        self._dispatch("close", err is not None)
