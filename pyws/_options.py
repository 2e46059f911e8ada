"""Option tables: ws names, PEP 8 twins, types, defaults, ranges.

Every public option is declared once here with its ws spelling; the PEP 8
spelling is derived (``maxPayload`` -> ``max_payload``, ``skipUTF8Validation``
-> ``skip_utf8_validation``). :func:`parse_options` merges a Node-style dict
and keyword arguments, accepts either spelling, and raises:

- ``TypeError`` naming an unknown option, an option given in both spellings,
  or a value of the wrong type;
- ``ValueError`` naming an option whose value is out of range.

Values stay in ws units (milliseconds); callers convert once, at the edge
(``close_timeout_ms`` -> seconds for ``call_later``).

Imports only constants and the stdlib.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .constants import (
    CLOSE_TIMEOUT,
    HIGH_WATER_MARK,
    MAX_FRAGMENTS,
    MAX_PAYLOAD,
    MAX_PENDING_AUTO_PONGS,
    MAX_REDIRECTS,
)

__all__ = [
    "call_options",
    "Option",
    "parse_options",
    "pep8_name",
    "CLIENT_OPTIONS",
    "SERVER_OPTIONS",
    "STREAM_OPTIONS",
    "REDIS_OPTIONS",
]

_MISSING: Any = object()


@functools.lru_cache(maxsize=1024)
def pep8_name(name: str) -> str:
    """``maxPayload`` -> ``max_payload``; ``skipUTF8Validation`` ->
    ``skip_utf8_validation``; ``WebSocket`` -> ``websocket``."""
    if name == "WebSocket":
        return "websocket"
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


@dataclass(frozen=True)
class Option:
    """One option: its ws name, accepted types and default."""

    name: str
    types: tuple[type, ...] | None  # None: any value
    default: Any = None
    nullable: bool = True
    check: Callable[[Any], str | None] | None = None  # returns an error text
    type_text: str = ""

    @property
    def pep8(self) -> str:
        return pep8_name(self.name)


def _non_negative(v: Any) -> str | None:
    return "must be >= 0" if v < 0 else None


def _positive(v: Any) -> str | None:
    return "must be > 0" if v <= 0 else None


def _port(v: Any) -> str | None:
    return "must be >= 0 and <= 65535" if not 0 <= v <= 65535 else None


_TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def _tls_version(v: Any) -> str | None:
    if v in _TLS_VERSIONS:
        return None
    return "must be one of " + ", ".join(repr(name) for name in _TLS_VERSIONS)


_INT = (int,)
_NUM = (int, float)
_BOOL = (bool,)
_STR = (str,)
_CALL: tuple[type, ...] = ()  # checked with callable()

_COMMON = [
    Option("allowSynchronousEvents", _BOOL, True, nullable=False),
    Option("autoPong", _BOOL, True, nullable=False),
    Option("closeTimeout", _NUM, CLOSE_TIMEOUT, nullable=False, check=_non_negative),
    Option("maxPayload", _INT, MAX_PAYLOAD, nullable=False),
    Option("maxFragments", _INT, MAX_FRAGMENTS, nullable=False),
    Option("maxBufferedChunks", _INT, 262144, nullable=False),
    Option("maxPendingAutoPongs", _INT, MAX_PENDING_AUTO_PONGS, nullable=False),
    # Python extra: unread messages that hold reading for recv()/async for.
    Option("maxQueue", _INT, 16, nullable=False, check=_non_negative),
    Option("skipUTF8Validation", _BOOL, False, nullable=False),
    # pyws extras (not in ws): the heartbeat, off by default (0), and the
    # send() high-water mark.
    Option("pingInterval", _NUM, 0, nullable=False, check=_non_negative),
    Option("pingTimeout", _NUM, None, check=_positive),
    Option("highWaterMark", _INT, HIGH_WATER_MARK, nullable=False, check=_positive),
    # pyws's opt-in limits (ws has none; 0: off, as ws behaves).
    Option("maxBufferedAmount", _INT, 0, nullable=False, check=_non_negative),
    Option("incompleteMessageTimeout", _NUM, 0, nullable=False, check=_non_negative),
]

CLIENT_OPTIONS: dict[str, Option] = {
    o.name: o
    for o in [
        *_COMMON,
        Option("perMessageDeflate", (bool, Mapping), True, type_text="bool or dict"),
        Option("handshakeTimeout", _NUM, None, check=_non_negative),
        Option("headers", (Mapping,), None, type_text="dict"),
        Option("origin", _STR, None),
        Option("protocolVersion", _INT, 13, nullable=False),
        Option("protocols", (str, list, tuple), None, type_text="str or list"),
        Option("followRedirects", _BOOL, False, nullable=False),
        Option("maxRedirects", _INT, MAX_REDIRECTS, nullable=False),
        Option("generateMask", _CALL, None, type_text="callable"),
        Option("finishRequest", _CALL, None, type_text="callable"),
        # Passed to the TCP/TLS connection, as ws passes them to Node
        # (pyws._tls maps them onto ssl).
        Option("rejectUnauthorized", _BOOL, True, nullable=False),
        Option(
            "ca",
            (str, bytes, list, tuple),
            None,
            type_text="str or bytes (PEM or path), or a list of them",
        ),
        Option("cert", (str, bytes), None, type_text="str or bytes (PEM or path)"),
        Option("key", (str, bytes), None, type_text="str or bytes (PEM or path)"),
        Option("passphrase", _STR, None),
        Option("pfx", (str, bytes), None, type_text="bytes (PKCS#12) or str (path)"),
        Option("ciphers", _STR, None),
        Option("ecdhCurve", _STR, None),
        Option("minVersion", _STR, None, check=_tls_version),
        Option("maxVersion", _STR, None, check=_tls_version),
        Option("secureOptions", _INT, None),
        Option("checkServerIdentity", _CALL, None, type_text="callable"),
        Option("servername", _STR, None),
        Option("localAddress", _STR, None),
        # 4, 6 or 0 (Node), or socket.AF_INET / AF_INET6 (checked by _tls).
        Option("family", _INT, None),
        Option("auth", _STR, None),
        Option("ssl", None, None),  # an ssl.SSLContext (Python extra)
        # True: from the environment (HTTP_PROXY, ...); False/None: none;
        # or a URL (http://, socks4://, socks5://, ...). See pyws._proxy.
        Option("proxy", (str, bool), True, type_text="str (a URL) or bool"),
        # Node's http.Agent: refused with a pointer to 'proxy' (pyws._client).
        Option("agent", None, None),
    ]
}

SERVER_OPTIONS: dict[str, Option] = {
    o.name: o
    for o in [
        *_COMMON,
        Option("perMessageDeflate", (bool, Mapping), False, type_text="bool or dict"),
        Option("port", _INT, None, check=_port),
        Option("host", _STR, None),
        Option("backlog", _INT, None, check=_non_negative),
        # Several processes on one port (Node's listen({reusePort})).
        Option("reusePort", _BOOL, False, nullable=False),
        # An already-bound listening socket, or its file descriptor (a
        # process manager's, or systemd socket activation's).
        Option("socket", None, None),
        Option("fd", _INT, None, check=_non_negative),
        Option("server", None, None),
        Option("noServer", _BOOL, False, nullable=False),
        Option("path", _STR, None),
        Option("clientTracking", _BOOL, True, nullable=False),
        Option("handleProtocols", _CALL, None, type_text="callable"),
        Option("verifyClient", _CALL, None, type_text="callable"),
        Option("WebSocket", (type,), None, type_text="a WebSocket subclass"),
        Option("ssl", None, None),  # an ssl.SSLContext: serve wss:// (Python extra)
        # port mode: Node's server.maxConnections, and a bound on sockets
        # still in their opening handshake (a pyws extra); None: no limit.
        Option("maxConnections", _INT, None, check=_non_negative),
        Option("maxPendingHandshakes", _INT, None, check=_non_negative),
    ]
}


#: ``createWebSocketStream``'s options: Node's Duplex options ws passes on.
#: ws forces ``objectMode``, ``writableObjectMode``, ``autoDestroy`` and
#: ``emitClose`` to false; they are accepted and have no effect, as in ws.
STREAM_OPTIONS: dict[str, Option] = {
    o.name: o
    for o in [
        Option("allowHalfOpen", _BOOL, True, nullable=False),
        Option("encoding", _STR, None),
        Option("decodeStrings", _BOOL, True, nullable=False),
        Option("defaultEncoding", _STR, "utf8", nullable=False),
        Option("highWaterMark", _INT, None, check=_non_negative),
        Option("readableHighWaterMark", _INT, None, check=_non_negative),
        Option("writableHighWaterMark", _INT, None, check=_non_negative),
        Option("readableObjectMode", _BOOL, False, nullable=False),
        Option("objectMode", _BOOL, False, nullable=False),
        Option("writableObjectMode", _BOOL, False, nullable=False),
        Option("autoDestroy", _BOOL, False, nullable=False),
        Option("emitClose", _BOOL, False, nullable=False),
    ]
}


#: :class:`pyws.redis.RedisFanout`'s options (pyws's own: ms and bytes).
#: ``reconnectDelayMax >= reconnectDelay`` is checked by the class.
REDIS_OPTIONS: dict[str, Option] = {
    o.name: o
    for o in [
        Option("channel", _STR, "pyws", nullable=False),
        Option("filter", _CALL, None, type_text="callable"),
        Option("maxPending", _INT, 10000, nullable=False, check=_positive),
        Option(
            "maxPendingBytes", _INT, 16 * 1024 * 1024, nullable=False, check=_positive
        ),
        Option("reconnectDelay", _NUM, 100, nullable=False, check=_positive),
        Option("reconnectDelayMax", _NUM, 5000, nullable=False, check=_positive),
        Option("connectTimeout", _NUM, 2000, nullable=False, check=_positive),
    ]
}


def _type_name(t: type) -> str:
    return "dict" if t is Mapping else t.__name__


def _check_value(opt: Option, given_as: str, value: Any) -> Any:
    if value is None:
        if opt.nullable:
            return None
        raise TypeError(f"option {given_as!r} must not be None")
    if opt.types is not None:
        if opt.types == _CALL:
            ok = callable(value)
        elif bool not in opt.types and isinstance(value, bool):
            ok = False  # True is an int in Python, not in ws
        else:
            ok = isinstance(value, opt.types)
        if not ok:
            wanted = opt.type_text or " or ".join(_type_name(t) for t in opt.types)
            raise TypeError(
                f"option {given_as!r} must be {wanted}, not {type(value).__name__}"
            )
    if opt.check is not None:
        problem = opt.check(value)
        if problem:
            raise ValueError(f"option {given_as!r} {problem}")
    return value


# id(table) -> (table, {pep8 name: option}, {ws name: default}): the tables
# are module constants, so each is mapped once, not on every connection.
_BY_PEP8: dict[int, tuple[Mapping[str, Option], dict[str, Option], dict[str, Any]]] = {}


def _table_maps(
    table: Mapping[str, Option],
) -> tuple[dict[str, Option], dict[str, Any]]:
    cached = _BY_PEP8.get(id(table))
    if cached is not None and cached[0] is table and len(cached[1]) == len(table):
        return cached[1], cached[2]
    by_pep8 = {o.pep8: o for o in table.values()}
    defaults = {name: opt.default for name, opt in table.items()}
    if len(_BY_PEP8) < 64:  # bounded: a table made on the fly is not kept
        _BY_PEP8[id(table)] = (table, by_pep8, defaults)
    return by_pep8, defaults


def parse_options(
    table: Mapping[str, Option],
    options: Mapping[str, Any] | None,
    kwargs: Mapping[str, Any],
    where: str,
) -> dict[str, Any]:
    """Merge ``options`` (a dict, Node style) and ``kwargs`` (either spelling).

    Returns a dict with every option of ``table`` under its ws name, filled
    with defaults.
    """
    if options is not None and not isinstance(options, Mapping):
        raise TypeError(f"{where} options must be a dict, not {type(options).__name__}")
    by_pep8, defaults = _table_maps(table)
    given: dict[str, tuple[str, Any]] = {}
    for source in (options or {}, kwargs):
        for key, value in source.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} option names must be str, not {key!r}")
            opt = table.get(key) or by_pep8.get(key)
            if opt is None:
                raise TypeError(f"{where}: unknown option {key!r}")
            if opt.name in given:
                first = given[opt.name][0]
                raise TypeError(
                    f"{where}: option {opt.name!r} given twice "
                    f"(as {first!r} and {key!r})"
                )
            given[opt.name] = (key, _check_value(opt, key, value))
    result = dict(defaults)
    for name, (_, value) in given.items():
        result[name] = value
    return result


def call_options(
    method: str,
    allowed: frozenset[str],
    options: Any,
    kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """Merge a method's options dict and keyword arguments (``send``,
    ``broadcast``); ``TypeError`` naming a non-dict, a doubled or an unknown
    option."""
    if options is not None and not isinstance(options, Mapping):
        raise TypeError(
            f"{method}() options must be a dict, not {type(options).__name__}"
        )
    merged = dict(options or {})
    for key, value in kwargs.items():
        if key in merged:
            raise TypeError(f"{method}() option {key!r} given twice")
        merged[key] = value
    for key in merged:
        if key not in allowed:
            raise TypeError(f"{method}(): unknown option {key!r}")
    return merged
