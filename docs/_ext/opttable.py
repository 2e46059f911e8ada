"""The option tables of the docs, generated from ``pyws._options``.

The names, PEP 8 twins and defaults come from ``CLIENT_OPTIONS``,
``SERVER_OPTIONS`` and ``REDIS_OPTIONS`` (the tables pyws checks options
against at run time);
only the meanings are written here. :func:`problems` reports an option
without a meaning, or a meaning for an option that no longer exists, so the
pages cannot drift from the code.

Standard library and pyws only; the docs build and the tests import it.
"""

from __future__ import annotations

from typing import Any

from pyws._options import CLIENT_OPTIONS, REDIS_OPTIONS, SERVER_OPTIONS, Option

#: Options in milliseconds and in bytes: the unit is shown with the default.
MS = {
    "closeTimeout",
    "handshakeTimeout",
    "pingInterval",
    "pingTimeout",
    "incompleteMessageTimeout",
    "reconnectDelay",
    "reconnectDelayMax",
    "connectTimeout",
}
BYTES = {"maxPayload", "highWaterMark", "maxBufferedAmount", "maxPendingBytes"}

#: Meanings shared by clients and servers (a server hands them to each
#: connection it accepts).
COMMON = {
    "allowSynchronousEvents": "`False`: at most one `'message'`, `'ping'` or "
    "`'pong'` per turn of the event loop.",
    "autoPong": "Answer each ping with a pong carrying the same data, while OPEN.",
    "closeTimeout": "How long the closing handshake and the wait for the peer's "
    "FIN may take; then the socket is destroyed ([](closing.md)).",
    "maxPayload": "Largest message, compressed and inflated; `<= 0`: no limit.",
    "maxFragments": "Data frames per message, empty ones included; `<= 0`: no limit.",
    "maxBufferedChunks": "Received chunks the receiver may hold unparsed; `<= 0`: "
    "no limit.",
    "maxPendingAutoPongs": "A ping that arrives while this many automatic pongs "
    "are unsent terminates the connection (`'close'` 1006, no `'error'`); "
    "`<= 0`: no limit.",
    "maxQueue": "*pyws extra.* Unread messages queued for `recv()` / `async for` "
    "before reading stops ([](async.md)); `0`: never stop.",
    "skipUTF8Validation": "Do not check text messages and close reasons for "
    "valid UTF-8.",
    "pingInterval": "*pyws extra.* Ping the peer this often; `0`: no heartbeat "
    "([](production.md)).",
    "pingTimeout": "*pyws extra.* Terminate a peer silent this long after a ping "
    "(default: `pingInterval`).",
    "highWaterMark": "*pyws extra.* `send()` returns `False` once "
    "`bufferedAmount` reaches it; `'drain'` at a quarter of it "
    "([](production.md)).",
    "maxBufferedAmount": "*pyws extra, opt-in.* Fail the connection "
    "(`WS_ERR_BUFFERED_AMOUNT_EXCEEDED`) when more output than this waits for a "
    "peer that does not read; `0`: no limit.",
    "incompleteMessageTimeout": "*pyws extra, opt-in.* Fail the connection "
    "(`WS_ERR_INCOMPLETE_MESSAGE_TIMEOUT`) when a frame or fragmented message "
    "stays incomplete this long; `0`: no limit.",
    "perMessageDeflate": "`True`: enable with the default parameters; a `dict`: "
    "its parameters ([](permessage-deflate.md)); `False`: off.",
}

CLIENT = {
    "handshakeTimeout": "Bound on the whole opening handshake, connecting "
    "included (**departure from ws**, which counts socket inactivity).",
    "headers": "Extra request headers; pyws still sets `Sec-WebSocket-Version`, "
    "`-Key`, `Connection`, `Upgrade` and, when they apply, `-Extensions`, "
    "`-Protocol` and `Origin`.",
    "origin": "Sent as `Origin` (as `Sec-WebSocket-Origin` with `protocolVersion` 8).",
    "protocolVersion": "13 or 8; anything else raises `pyws.RangeError` before "
    "the URL is even looked at.",
    "protocols": "Used when the `protocols` argument is absent.",
    "followRedirects": "Follow 3xx responses with a `Location` "
    "([redirects](#redirects)).",
    "maxRedirects": "How many redirects `followRedirects` follows.",
    "generateMask": "`(buf)` fills the 4-byte mask of every masked frame; an "
    "all-zero mask skips the XOR. A test hook.",
    "finishRequest": "`(req, ws)`, called instead of sending the upgrade request "
    "as is; it must call `req.end()`.",
    "rejectUnauthorized": "`False`: do not verify the server's certificate (for "
    "tests only).",
    "ca": "Certificates to trust besides the system's: PEM text or bytes, a "
    "path, or a list of them ([](howto/tls.md)).",
    "cert": "A client certificate (PEM text, bytes or a path), for servers that "
    "ask for one.",
    "key": "The client certificate's key (PEM text, bytes or a path).",
    "passphrase": "The password of `key` or `pfx`.",
    "pfx": "A client certificate and key in one PKCS#12 file: bytes, or a path "
    "(needs `pip install 'pyws-node[pfx]'`).",
    "ciphers": "The allowed cipher suites, in OpenSSL's syntax.",
    "ecdhCurve": "The curve for ECDH key exchange: one name, or `'auto'`.",
    "minVersion": "The lowest TLS version allowed (`'TLSv1.2'`, `'TLSv1.3'`, ...).",
    "maxVersion": "The highest TLS version allowed.",
    "secureOptions": "OpenSSL option flags (`ssl.OP_*`).",
    "checkServerIdentity": "`(servername, cert)`: return (or raise) an exception "
    "to refuse the server's certificate; `cert` is `getpeercert()`'s dict plus "
    "Node's `raw`, `fingerprint`, `fingerprint256` and `subjectaltname`.",
    "servername": "The name sent in SNI and checked against the certificate "
    "(default: the URL's host).",
    "localAddress": "The local address to connect from.",
    "family": "The address family: 4 or `socket.AF_INET`, 6 or "
    "`socket.AF_INET6`, 0 for either.",
    "auth": "`user:password` for Basic authentication (credentials in the URL win).",
    "ssl": "*Python extra.* A ready `ssl.SSLContext`, instead of the TLS options "
    "above.",
    "proxy": "An HTTP (CONNECT) or SOCKS proxy URL; `True` (the default): the "
    "one the environment names (`HTTPS_PROXY`, ...); `False`: none "
    "([](howto/proxies.md)).",
    "agent": "Node's `http.Agent` has no counterpart: giving it raises an error "
    "that points to `proxy`.",
}

SERVER = {
    "port": "Listen on this TCP port (0: any free one); plain HTTP requests get 426.",
    "host": "The address to listen on (default: every interface).",
    "backlog": "The listen backlog (default: 511, Node's).",
    "reusePort": "Let several processes listen on the same port "
    "(`SO_REUSEPORT`); the kernel spreads connections ([](howto/processes.md)).",
    "socket": "*Python extra.* A listening `socket.socket` made elsewhere (a "
    "process manager's), to serve on.",
    "fd": "The descriptor of a listening socket to serve on (systemd socket "
    "activation: `pyws.workers.listen_fds()`).",
    "server": "A `uvicorn.Server`: share its port with the ASGI app, as ws "
    "shares a Node `http.Server` ([](howto/fastapi.md)).",
    "noServer": "You accept connections and call `handleUpgrade` yourself.",
    "path": "Accept only requests whose path (up to `?`) equals it; others get 400.",
    "clientTracking": "Keep the open connections in `wss.clients`.",
    "handleProtocols": "`(protocols, req)`: return the subprotocol to use (from "
    "the `set` offered), or a false value for none. Without it: the client's "
    "first.",
    "verifyClient": "Accept or refuse a request ([verifyClient](#verifyclient)).",
    "WebSocket": "The class to build for each connection (a subclass of "
    "`pyws.WebSocket`).",
    "ssl": "*Python extra.* An `ssl.SSLContext`: serve `wss://` ([](howto/tls.md)).",
    "maxConnections": "Node's `server.maxConnections`: beyond it a new socket is "
    "closed at once; `None`: no limit (`port` mode).",
    "maxPendingHandshakes": "*pyws extra.* Sockets still in their opening "
    "handshake beyond which a new one is closed at once; `None`: no limit "
    "(`port` mode).",
}


#: ``pyws.redis.RedisFanout``'s options (none shared with the others).
REDIS = {
    "channel": "The Redis pub/sub channel; every fanout on it gets the messages "
    "the others publish.",
    "filter": "`(ws) -> bool`: which clients of this server get the messages; "
    "none: all of them.",
    "maxPending": "Messages that may wait for Redis while it is away; past it "
    "the oldest are dropped (`dropped`, one `FanoutOverflow` per outage).",
    "maxPendingBytes": "Bytes those messages may take, with the same dropping.",
    "reconnectDelay": "The first wait before reconnecting; it doubles after "
    "each failure.",
    "reconnectDelayMax": "The longest wait between reconnections (at least "
    "`reconnectDelay`).",
    "connectTimeout": "How long one connection attempt to Redis may take.",
}


def _default(opt: Option) -> str:
    value: Any = opt.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{value}`"
    if opt.name in MS:
        return f"{value} ms"
    if opt.name in BYTES:
        return f"{value:,} bytes".replace(",", " ")
    return f"`{value!r}`"


def _meaning(name: str, own: dict[str, str]) -> str:
    return own.get(name) or COMMON.get(name, "")


def problems() -> list[str]:
    """What keeps the tables from matching the code (empty when they do)."""
    found = []
    for name in CLIENT_OPTIONS:
        if not _meaning(name, CLIENT):
            found.append(f"client option {name} has no meaning in opttable.py")
    for name in SERVER_OPTIONS:
        if not _meaning(name, SERVER):
            found.append(f"server option {name} has no meaning in opttable.py")
    for name in COMMON:
        if name not in CLIENT_OPTIONS and name not in SERVER_OPTIONS:
            found.append(f"option {name} is described but does not exist")
    for name in CLIENT:
        if name not in CLIENT_OPTIONS:
            found.append(f"client option {name} is described but does not exist")
    for name in SERVER:
        if name not in SERVER_OPTIONS:
            found.append(f"server option {name} is described but does not exist")
    for name in REDIS_OPTIONS:
        if name not in REDIS:
            found.append(f"redis option {name} has no meaning in opttable.py")
    for name in REDIS:
        if name not in REDIS_OPTIONS:
            found.append(f"redis option {name} is described but does not exist")
    return found


def table(role: str) -> str:
    """The option table of ``'client'``, ``'server'`` or ``'redis'`` (MyST
    Markdown).

    A server's table lists its own options first; those it shares with the
    client follow, as it hands them to each connection it accepts.
    """
    options, own = {
        "client": (CLIENT_OPTIONS, CLIENT),
        "server": (SERVER_OPTIONS, SERVER),
        "redis": (REDIS_OPTIONS, REDIS),
    }[role]
    names = list(options)
    if role == "server":
        shared = [n for n in names if n in COMMON]
        names = [n for n in names if n not in COMMON] + shared
    lines = ["| option (PEP 8 twin) | default | meaning |", "| --- | --- | --- |"]
    for name in names:
        opt = options[name]
        spelled = f"`{name}`"
        if opt.pep8 != name:
            spelled += f" (`{opt.pep8}`)"
        lines.append(f"| {spelled} | {_default(opt)} | {_meaning(name, own)} |")
    return "\n".join(lines) + "\n"
