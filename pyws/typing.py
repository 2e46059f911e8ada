"""Types for pyws's public API: options, send arguments and listeners.

Type checkers see every option of :class:`~pyws.WebSocket`,
:class:`~pyws.WebSocketServer` and :class:`~pyws.redis.RedisFanout` in both
spellings (``closeTimeout`` and ``close_timeout``), so a misspelt option or
a value of the wrong type is a type error, in a dict literal and in keyword
arguments alike; the events are typed per name on ``on``/``once`` (see
:mod:`pyws._ws_events`).

Listeners follow Node: a listener may take fewer arguments than its event
passes, so each listener type is a union of the shorter forms.

``test/unit/test_typing.py`` keeps these tables equal to the option tables
of :mod:`pyws._options`, and ``test/typing/`` holds a program that mypy
must accept, with the mistakes it must reject.

Facade layer: stdlib only.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict

__all__ = [
    "Data",
    "SendCallback",
    "SendOptions",
    "ClientOptions",
    "ServerOptions",
    "DeflateOptions",
    "RedisFanoutOptions",
    "PublishOptions",
]

#: What ``send()`` takes: ``str`` (text), a bytes-like object (binary),
#: ``None`` (an empty message), or a number (sent as its text, as in ws).
Data = str | bytes | bytearray | memoryview | int | float | None

#: ``send``/``ping``/``pong`` callback: ``cb(err)`` (or ``cb()``).
SendCallback = Callable[[BaseException | None], object] | Callable[[], object]


class SendOptions(TypedDict, total=False):
    """``send(data, options)``: each read for its truthiness, as in ws."""

    binary: bool
    compress: bool
    fin: bool
    mask: bool


class DeflateOptions(TypedDict, total=False):
    """``perMessageDeflate`` as a dict (ws's names)."""

    serverNoContextTakeover: bool
    clientNoContextTakeover: bool
    serverMaxWindowBits: int | bool
    clientMaxWindowBits: int | bool
    zlibDeflateOptions: Mapping[str, int]
    zlibInflateOptions: Mapping[str, int]
    threshold: int
    concurrencyLimit: int


_Deflate = bool | DeflateOptions | Mapping[str, Any] | None


class _CommonOptions(TypedDict, total=False):
    allowSynchronousEvents: bool
    allow_synchronous_events: bool
    autoPong: bool
    auto_pong: bool
    closeTimeout: int | float
    close_timeout: int | float
    maxPayload: int
    max_payload: int
    maxFragments: int
    max_fragments: int
    maxBufferedChunks: int
    max_buffered_chunks: int
    maxPendingAutoPongs: int
    max_pending_auto_pongs: int
    maxQueue: int
    max_queue: int
    skipUTF8Validation: bool
    skip_utf8_validation: bool
    pingInterval: int | float
    ping_interval: int | float
    pingTimeout: int | float | None
    ping_timeout: int | float | None
    highWaterMark: int
    high_water_mark: int
    maxBufferedAmount: int
    max_buffered_amount: int
    incompleteMessageTimeout: int | float
    incomplete_message_timeout: int | float
    ssl: ssl.SSLContext | None


class ClientOptions(_CommonOptions, total=False):
    """The options of ``WebSocket(address, protocols, options)``.

    (``protocols`` is accepted in the options dict too, as a Python extra;
    it is typed as the positional parameter it normally is.)
    """

    perMessageDeflate: _Deflate
    per_message_deflate: _Deflate
    handshakeTimeout: int | float | None
    handshake_timeout: int | float | None
    headers: Mapping[str, Any] | None
    origin: str | None
    protocolVersion: int
    protocol_version: int
    followRedirects: bool
    follow_redirects: bool
    maxRedirects: int
    max_redirects: int
    generateMask: Callable[[bytearray], object] | None
    generate_mask: Callable[[bytearray], object] | None
    finishRequest: Callable[..., object] | None
    finish_request: Callable[..., object] | None
    rejectUnauthorized: bool
    reject_unauthorized: bool
    ca: str | bytes | Sequence[str | bytes] | None
    cert: str | bytes | None
    key: str | bytes | None
    passphrase: str | None
    pfx: str | bytes | None
    ciphers: str | None
    ecdhCurve: str | None
    ecdh_curve: str | None
    minVersion: str | None
    min_version: str | None
    maxVersion: str | None
    max_version: str | None
    secureOptions: int | None
    secure_options: int | None
    checkServerIdentity: Callable[[str, dict[str, Any]], object] | None
    check_server_identity: Callable[[str, dict[str, Any]], object] | None
    servername: str | None
    localAddress: str | None
    local_address: str | None
    family: int | None
    auth: str | None
    proxy: str | bool | None
    agent: Any


class ServerOptions(_CommonOptions, total=False):
    """The options of ``WebSocketServer(options[, callback])``."""

    perMessageDeflate: _Deflate
    per_message_deflate: _Deflate
    port: int | None
    host: str | None
    backlog: int | None
    reusePort: bool
    reuse_port: bool
    socket: Any
    fd: int | None
    server: Any
    noServer: bool
    no_server: bool
    path: str | None
    clientTracking: bool
    client_tracking: bool
    handleProtocols: Callable[..., Any] | None
    handle_protocols: Callable[..., Any] | None
    verifyClient: Callable[..., Any] | None
    verify_client: Callable[..., Any] | None
    WebSocket: type | None
    websocket: type | None
    maxConnections: int | None
    max_connections: int | None
    maxPendingHandshakes: int | None
    max_pending_handshakes: int | None


class RedisFanoutOptions(TypedDict, total=False):
    """The options of ``pyws.redis.RedisFanout(wss, url, options)``."""

    channel: str
    filter: Callable[[Any], object] | None
    maxPending: int
    max_pending: int
    maxPendingBytes: int
    max_pending_bytes: int
    reconnectDelay: int | float
    reconnect_delay: int | float
    reconnectDelayMax: int | float
    reconnect_delay_max: int | float
    connectTimeout: int | float
    connect_timeout: int | float


class PublishOptions(TypedDict, total=False):
    """``RedisFanout.publish(data, options)``: ``None`` means from ``data``'s
    type (str is text)."""

    binary: bool | None
