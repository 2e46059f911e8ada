"""The opening handshake, sans I/O: HTTP heads in and out, ws's checks.

Owns (RFC 6455 section 4, ws 8.23 ``lib/websocket-server.js`` and the
client half of ``lib/websocket.js``):

- the key and accept computations (section 4.1 and 4.2.2);
- :class:`RequestParser` / :class:`ResponseParser`: incremental parsers of
  the upgrade request and response heads, size-bounded, giving Node-like
  :class:`Request` / :class:`Response` objects and the bytes that follow the
  head (``tail``, ws's ``head`` argument);
- the server's request checks (:func:`check_request`), its rejection bytes
  (:func:`rejection_response`) and 101 lines (:func:`response_lines`);
- the client's request bytes (:func:`build_request`) and response checks
  (:func:`check_response`).

HTTP parsing is done by ``httptools``, the binding of llhttp: llhttp is the
parser Node's ``http`` module itself uses, so a request or response is
accepted or refused here exactly as Node's server or client would (strict
CRLF, token characters, no obs-fold). It is the one non-stdlib import of the
core; header combination and value trimming follow Node's
``IncomingMessage`` on top of it.

Core module: imports the stdlib, ``httptools``, :mod:`pyws.constants`,
:mod:`pyws.errors`, :mod:`pyws.extension` and :mod:`pyws.subprotocol`. It
must never import asyncio, pyee, socket or time; nothing here keeps time
or touches a socket (``Request.socket`` is only a slot the transport fills).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http
import os
import re
from collections.abc import Iterable, KeysView, Mapping, Sequence
from typing import Any, ClassVar, Generic, NoReturn, TypeVar

import httptools

from . import extension, subprotocol
from .constants import GUID, MAX_HEADER_BYTES, MAX_HEADERS
from .errors import HandshakeError, WebSocketError, WsSyntaxError

__all__ = [
    "is_upgrade",
    "ClientOffer",
    "HTTPParseError",
    "Headers",
    "Request",
    "RequestParser",
    "Response",
    "ResponseParser",
    "ServerHandshakeRejection",
    "accept_key",
    "build_request",
    "check_request",
    "check_response",
    "generate_key",
    "rejection_response",
    "response_lines",
    "serialize_response",
    "status_text",
    "validate_subprotocols",
]

#: The extension ws negotiates (``PerMessageDeflate.extensionName``).
_DEFLATE = "permessage-deflate"

# ---------------------------------------------------------------------------
# Keys (RFC 6455 sections 4.1 and 4.2.2)
# ---------------------------------------------------------------------------

#: ws's ``keyRegex``: 16 bytes in base64 are 22 characters and ``==``.
_KEY_RE = re.compile(r"[+/0-9A-Za-z]{22}==")


def generate_key(random_bytes: bytes | None = None) -> str:
    """Make a ``Sec-WebSocket-Key``: 16 random bytes in base64 (section 4.1).

    Args:
        random_bytes: the 16 bytes to encode; ``os.urandom(16)`` when
            ``None`` (the hook keeps tests deterministic).

    Raises:
        ValueError: ``random_bytes`` is not 16 bytes long.
    """
    if random_bytes is None:
        random_bytes = os.urandom(16)
    elif len(random_bytes) != 16:
        raise ValueError("the key must be made of 16 bytes")
    return base64.b64encode(random_bytes).decode("ascii")


def accept_key(key: str) -> str:
    """Compute ``Sec-WebSocket-Accept`` for ``key`` (section 4.2.2, step 5.4).

    Returns:
        base64(SHA-1(key + GUID)).
    """
    digest = hashlib.sha1((key + GUID).encode(), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


# ---------------------------------------------------------------------------
# Node-like message objects
# ---------------------------------------------------------------------------

#: Headers Node's ``IncomingMessage`` keeps only once: the first one wins.
_SINGLETON_HEADERS = frozenset(
    (
        "age",
        "authorization",
        "content-length",
        "content-type",
        "etag",
        "expires",
        "from",
        "host",
        "if-modified-since",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "proxy-authorization",
        "referer",
        "retry-after",
        "server",
        "user-agent",
    )
)


class Headers(dict[str, "str | list[str]"]):
    """``IncomingMessage.headers``: lower-case names, duplicates combined.

    Combination follows Node's ``IncomingMessage`` (checked on Node 20):
    the headers of :data:`_SINGLETON_HEADERS` keep their first value,
    ``set-cookie`` is a list of every value, ``cookie`` values are joined
    with ``'; '`` and any other repeated header with ``', '``. Lookup is by
    lower-case name, as in Node.
    """

    @classmethod
    def from_raw(cls, raw_headers: Sequence[str]) -> Headers:
        """Build the mapping from ``rawHeaders`` (name, value, name, ...)."""
        headers = cls()
        get = headers.get
        for i in range(0, len(raw_headers) - 1, 2):
            name = raw_headers[i].lower()
            if name == "set-cookie" or get(name) is not None:
                headers.add(name, raw_headers[i + 1])  # a list or a repeat
            else:
                headers[name] = raw_headers[i + 1]  # add()'s first-time case
        return headers

    def add(self, name: str, value: str) -> None:
        """Add one received header line as Node's ``_addHeaderLine`` does."""
        name = name.lower()
        old = self.get(name)
        if old is None:
            self[name] = [value] if name == "set-cookie" else value
        elif isinstance(old, list):
            old.append(value)
        elif name in _SINGLETON_HEADERS:
            pass
        elif name == "cookie":
            self[name] = f"{old}; {value}"
        else:
            self[name] = f"{old}, {value}"

    def get_str(self, name: str) -> str | None:
        """Return header ``name`` (lower case) as one string, or ``None``.

        A list value (``set-cookie``) comes back joined with ``', '``; this
        is the typed accessor for code that wants a plain string.
        """
        value = self.get(name)
        if isinstance(value, list):
            return ", ".join(value)
        return value


class _NodeObject:
    """Attribute access plus ``obj['name']`` key access, like a JS object."""

    _fields: ClassVar[tuple[str, ...]] = ()

    def __getitem__(self, key: str) -> Any:
        if key not in self._fields:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def keys(self) -> tuple[str, ...]:
        """The names readable with ``obj[name]``."""
        return self._fields

    def get(self, key: str, default: Any = None) -> Any:
        """``obj[key]``, or ``default`` when ``key`` is not a field."""
        return getattr(self, key) if key in self._fields else default


class _Message(_NodeObject):
    """Fields shared by :class:`Request` and :class:`Response`."""

    def __init__(
        self,
        http_version: str,
        raw_headers: list[str],
        upgrade: bool,
    ) -> None:
        self.httpVersion = http_version
        major, _, minor = http_version.partition(".")
        self.httpVersionMajor = int(major)
        self.httpVersionMinor = int(minor)
        self.rawHeaders = raw_headers
        self.headers = Headers.from_raw(raw_headers)
        #: Whether llhttp saw an upgrade (Node's ``IncomingMessage.upgrade``).
        self.upgrade = upgrade

    @property
    def http_version(self) -> str:
        """PEP 8 spelling of ``httpVersion``."""
        return self.httpVersion

    @property
    def raw_headers(self) -> list[str]:
        """PEP 8 spelling of ``rawHeaders``."""
        return self.rawHeaders


class Request(_Message):
    """The upgrade request, shaped like Node's ``http.IncomingMessage``.

    Attributes:
        method: the method, as sent (llhttp only accepts upper case).
        url: the request target as sent (path and query).
        httpVersion: ``'1.1'`` (also ``http_version``).
        headers: a :class:`Headers`.
        rawHeaders: names and values alternating, as received (also
            ``raw_headers``).
        upgrade: whether the request asked for an upgrade (``Upgrade`` and
            ``Connection: upgrade``), as Node decides it.
        socket: the transport's object for this connection; ``None`` until
            the transport sets it.
    """

    _fields = (
        "method",
        "url",
        "httpVersion",
        "http_version",
        "httpVersionMajor",
        "httpVersionMinor",
        "headers",
        "rawHeaders",
        "raw_headers",
        "upgrade",
        "socket",
    )

    def __init__(
        self,
        method: str,
        url: str,
        http_version: str = "1.1",
        raw_headers: list[str] | None = None,
        *,
        upgrade: bool = True,
        socket: Any = None,
    ) -> None:
        super().__init__(http_version, raw_headers or [], upgrade)
        self.method = method
        self.url = url
        self.socket = socket

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url} HTTP/{self.httpVersion}>"


class Response(_Message):
    """The server's response head, shaped like Node's ``IncomingMessage``.

    Attributes:
        statusCode: the status (also ``status_code``).
        statusMessage: the reason phrase as sent (also ``status_message``).
        httpVersion, headers, rawHeaders, upgrade: as for :class:`Request`.
    """

    _fields = (
        "statusCode",
        "status_code",
        "statusMessage",
        "status_message",
        "httpVersion",
        "http_version",
        "httpVersionMajor",
        "httpVersionMinor",
        "headers",
        "rawHeaders",
        "raw_headers",
        "upgrade",
    )

    def __init__(
        self,
        status_code: int,
        status_message: str = "",
        http_version: str = "1.1",
        raw_headers: list[str] | None = None,
        *,
        upgrade: bool | None = None,
    ) -> None:
        if upgrade is None:
            upgrade = status_code == 101
        super().__init__(http_version, raw_headers or [], upgrade)
        self.statusCode = status_code
        self.statusMessage = status_message

    @property
    def status_code(self) -> int:
        """PEP 8 spelling of ``statusCode``."""
        return self.statusCode

    @property
    def status_message(self) -> str:
        """PEP 8 spelling of ``statusMessage``."""
        return self.statusMessage

    def __repr__(self) -> str:
        return f"<Response {self.statusCode} {self.statusMessage!r}>"


# ---------------------------------------------------------------------------
# Incremental head parsers
# ---------------------------------------------------------------------------


class HTTPParseError(WebSocketError):
    """The peer's HTTP head is malformed or too large.

    Attributes:
        status: the status a server answers with: 400 for a malformed
            request, 431 when the head passes ``MAX_HEADER_BYTES`` or
            ``MAX_HEADERS`` (Node's ``HPE_HEADER_OVERFLOW``).
        code: an llhttp-style error name when known (``'HPE_...'``).
    """

    def __init__(self, message: str, status: int = 400, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class _Stop(Exception):
    """Raised from a parser callback to stop llhttp at the end of a head."""


class _InvalidVersion(Exception):
    """The start line has no ``HTTP/1.x`` version (llhttp let it through)."""

    def __str__(self) -> str:
        return "Invalid HTTP version"


_M = TypeVar("_M", Request, Response)

_ERROR_CODES: dict[type[Exception], str] = {
    httptools.HttpParserInvalidMethodError: "HPE_INVALID_METHOD",
    httptools.HttpParserInvalidURLError: "HPE_INVALID_URL",
    httptools.HttpParserInvalidStatusError: "HPE_INVALID_STATUS",
    _InvalidVersion: "HPE_INVALID_VERSION",
}


class _HeadParser(Generic[_M]):
    """Shared machinery: feed bytes until one head is complete.

    llhttp is stopped from the ``on_headers_complete`` callback, so it never
    reads past the head: the body of a non-upgrade message, or the frames
    after a 101, are left to the caller in :attr:`tail`. llhttp insists on
    CRLF line ends and only skips CR/LF before the start line, so the head
    ends at the first CRLFCRLF after that start. At most
    ``MAX_HEADER_BYTES`` bytes are ever buffered or handed to llhttp.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._raw: list[str] = []
        self._message: _M | None = None
        self._error: HTTPParseError | None = None
        self._overflow = False
        self._stopped = False
        self._msg_pos = 0
        #: The bytes received after the head, once :meth:`feed` returned it.
        self.tail = b""

    # llhttp callbacks (called by httptools) -------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self._raw) >= 2 * MAX_HEADERS:
            self._overflow = True
            raise _Stop
        # Node decodes heads as latin-1 and trims trailing whitespace from
        # values (llhttp already skipped the leading whitespace).
        self._raw.append(name.decode("latin-1"))
        self._raw.append(value.decode("latin-1").rstrip(" \t"))

    def on_headers_complete(self) -> None:
        if self._begin_next():
            return
        self._stopped = True
        raise _Stop

    def _begin_next(self) -> bool:
        """Whether to skip this head and parse the next one (1xx)."""
        return False

    def _head_end(self) -> int:
        """Offset just past the CRLFCRLF ending the head that started at
        ``self._msg_pos`` (skipping the CR/LF llhttp allows before it)."""
        buf = self._buf
        pos = self._msg_pos
        while pos < len(buf) and buf[pos] in b"\r\n":
            pos += 1
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            # llhttp ended a head that has no CRLFCRLF (an HTTP/0.9 line
            # such as "GET /\n"): not a head Node would answer.
            self._fail(_InvalidVersion())
        return end + 4

    def _build(self) -> _M:
        raise NotImplementedError

    def _parser(self) -> httptools.HttpRequestParser | httptools.HttpResponseParser:
        raise NotImplementedError

    # public ---------------------------------------------------------------

    def feed(self, data: bytes) -> _M | None:
        """Feed received bytes.

        Args:
            data: the next bytes from the peer.

        Returns:
            The message once its head is complete (then :attr:`tail` holds
            whatever followed it), else ``None``.

        Raises:
            HTTPParseError: the head is malformed or too large (raised again
                by any later call).
            RuntimeError: the head was already returned.
        """
        if self._error is not None:
            raise self._error
        if self._message is not None:
            raise RuntimeError("the head was already parsed")
        room = MAX_HEADER_BYTES - len(self._buf)
        chunk = bytes(data[:room])
        self._buf += chunk
        try:
            self._parser().feed_data(chunk)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            if not self._stopped:
                self._fail(exc)
        if self._stopped:
            if self._parser().get_http_version()[:2] == "0.":
                # HTTP/0.9 (llhttp reports 0.9 or 0.0): no headers, no upgrade.
                self._fail(_InvalidVersion())
            end = self._head_end()
            self.tail = bytes(self._buf[end:]) + bytes(data[room:])
            self._message = message = self._build()
            self._buf = bytearray()
            return message
        if len(data) > room:
            self._fail(None)
        return None

    def _fail(self, exc: Exception | None) -> NoReturn:
        if exc is None or self._overflow:
            error = HTTPParseError("Header overflow", 431, "HPE_HEADER_OVERFLOW")
        else:
            reason = str(exc) or type(exc).__name__
            error = HTTPParseError(
                f"Parse Error: {reason}", 400, _ERROR_CODES.get(type(exc))
            )
        self._error = error
        raise error from exc


class RequestParser(_HeadParser[Request]):
    """Incremental parser of the client's request head (server side).

    Example::

        parser = RequestParser()
        req = parser.feed(chunk)  # None until the head is complete
        if req is not None:
            head = parser.tail
    """

    def __init__(self) -> None:
        super().__init__()
        self._url = bytearray()
        self._http = httptools.HttpRequestParser(self)

    def _parser(self) -> httptools.HttpRequestParser:
        return self._http

    def on_url(self, url: bytes) -> None:
        self._url += url

    def _build(self) -> Request:
        return Request(
            self._http.get_method().decode("latin-1"),
            self._url.decode("latin-1"),
            self._http.get_http_version(),
            self._raw,
            upgrade=self._http.should_upgrade(),
        )


class ResponseParser(_HeadParser[Response]):
    """Incremental parser of the server's response head (client side).

    Informational responses other than 101 (``100 Continue``,
    ``103 Early Hints``) are skipped, as Node's client skips them; the head
    returned is the first final or 101 response.
    """

    def __init__(self) -> None:
        super().__init__()
        self._status = bytearray()
        self._http = httptools.HttpResponseParser(self)

    def _parser(self) -> httptools.HttpResponseParser:
        return self._http

    def on_status(self, status: bytes) -> None:
        self._status += status

    def _begin_next(self) -> bool:
        code = self._http.get_status_code()
        if 100 <= code < 200 and code != 101:
            self._msg_pos = self._head_end()
            self._raw = []
            self._status = bytearray()
            return True
        return False

    def _build(self) -> Response:
        return Response(
            self._http.get_status_code(),
            self._status.decode("latin-1"),
            self._http.get_http_version(),
            self._raw,
        )


# ---------------------------------------------------------------------------
# Server side (ws lib/websocket-server.js handleUpgrade, abortHandshake)
# ---------------------------------------------------------------------------

#: Where Node's ``http.STATUS_CODES`` differs from Python's ``HTTPStatus``.
_NODE_PHRASES = {
    413: "Payload Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Entity",
    509: "Bandwidth Limit Exceeded",
}


def status_text(status: int) -> str:
    """The reason phrase Node writes for ``status`` (``http.STATUS_CODES``).

    Python's ``HTTPStatus`` phrases, corrected where Node's table differs
    (they also differ between Python versions). ``''`` for an unknown code.
    """
    phrase = _NODE_PHRASES.get(status)
    if phrase is not None:
        return phrase
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


class ServerHandshakeRejection(WebSocketError):
    """ws refuses the upgrade request (docs/server.md, Refused upgrade requests).

    ``str(exc)`` is the body, as ws's ``wsClientError`` error message.

    Attributes:
        status: the HTTP status to answer with.
        message: the response body.
        headers: extra response headers (``Sec-WebSocket-Version: 13, 8``
            for a bad version).
        client_error: whether ws would emit ``'wsClientError'`` for it.
    """

    def __init__(
        self,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        client_error: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        self.client_error = client_error

    def response(self) -> bytes:
        """The bytes ws's ``abortHandshake`` writes for this rejection."""
        return rejection_response(self.status, self.message, self.headers)


@dataclasses.dataclass
class ClientOffer:
    """What a valid upgrade request asks for (the result of check_request).

    Attributes:
        key: ``Sec-WebSocket-Key``.
        version: 13 or 8.
        protocols: the subprotocols in order (empty without the header).
        extensions: the parsed ``Sec-WebSocket-Extensions`` offers, or
            ``None`` when absent or permessage-deflate is disabled.
        origin: ``Origin`` (``Sec-WebSocket-Origin`` for version 8).
        secure: whether the connection is TLS (the transport sets it).
    """

    key: str
    version: int
    protocols: KeysView[str]
    extensions: extension.Offers | None
    origin: str | None
    secure: bool = False


def is_upgrade(message: Request | Response) -> bool:
    """Whether Node's HTTP parser (llhttp) flags ``message`` as an upgrade:
    an ``Upgrade`` header and ``upgrade`` among the ``Connection`` tokens.

    A server's ``'upgrade'`` event needs it; so does a client's: a 101
    without it is an ordinary response to Node, so ws reports it as an
    unexpected response.
    """
    upgrade = message.headers.get("upgrade")
    connection = message.headers.get("connection")
    if not upgrade or not isinstance(connection, str):
        return False
    return "upgrade" in (t.strip().lower() for t in connection.split(","))


def _host_count(req: Request) -> int:
    """How many ``Host`` lines the request has (``rawHeaders`` keeps them
    all; :class:`Headers` keeps only the first)."""
    return sum(1 for name in req.rawHeaders[::2] if name.lower() == "host")


def check_request(req: Request, *, deflate_enabled: bool) -> ClientOffer:
    """Run ws's checks on an upgrade request, in ws's order.

    First the two checks ws leaves to Node's HTTP server (RFC 6455 section
    4.2.1): HTTP/1.1 or later (400 ``Invalid HTTP version``) and exactly one
    non-empty ``Host`` (400 ``Missing or invalid Host header``). Then
    rows 1-4, 6 and 7 of docs/server.md's refusals (``handleUpgrade``
    in ws's ``lib/websocket-server.js``; RFC 6455 section 4.2.1). The path
    test (5), ``verifyClient`` (8, 9) and the server state (11) belong to the
    server; the permessage-deflate acceptance of row 7 belongs to
    :mod:`pyws.permessage_deflate`, which gets ``ClientOffer.extensions``.

    Args:
        req: the parsed request.
        deflate_enabled: whether the server has ``perMessageDeflate``; if
            not, the extensions header is not even parsed, as in ws.

    Returns:
        The client's offer.

    Raises:
        ServerHandshakeRejection: the first check that fails, with ws's
            status, body and extra headers.
    """
    headers = req.headers
    # RFC 6455 section 4.2.1 items 1 and 2: HTTP/1.1 or later, with a Host.
    # ws leaves both to Node's HTTP server, which answers 400 to an HTTP/1.1
    # request without Host (Node 20+); pyws also refuses HTTP/1.0 and a
    # repeated Host, which Node would let through to the upgrade.
    if (req.httpVersionMajor, req.httpVersionMinor) < (1, 1):
        raise ServerHandshakeRejection(400, "Invalid HTTP version")
    if _host_count(req) != 1 or not headers.get_str("host"):
        raise ServerHandshakeRejection(400, "Missing or invalid Host header")
    if req.method != "GET":
        raise ServerHandshakeRejection(405, "Invalid HTTP method")

    upgrade = headers.get_str("upgrade")
    if upgrade is None or upgrade.lower() != "websocket":
        raise ServerHandshakeRejection(400, "Invalid Upgrade header")

    key = headers.get_str("sec-websocket-key")
    if key is None or not _KEY_RE.fullmatch(key):
        raise ServerHandshakeRejection(
            400, "Missing or invalid Sec-WebSocket-Key header"
        )

    # ws 8.23.1 compares the text: "13" or "8", not "013", "13.0" or "0xd".
    version = headers.get_str("sec-websocket-version")
    if version != "13" and version != "8":
        raise ServerHandshakeRejection(
            400,
            "Missing or invalid Sec-WebSocket-Version header",
            {"Sec-WebSocket-Version": "13, 8"},
        )

    protocols: KeysView[str] = {}.keys()
    header = headers.get_str("sec-websocket-protocol")
    if header is not None:
        try:
            protocols = subprotocol.parse(header)
        except WsSyntaxError:
            raise ServerHandshakeRejection(
                400, "Invalid Sec-WebSocket-Protocol header"
            ) from None

    offers: extension.Offers | None = None
    header = headers.get_str("sec-websocket-extensions")
    if deflate_enabled and header is not None:
        try:
            offers = extension.parse(header)
        except WsSyntaxError:
            raise ServerHandshakeRejection(
                400, "Invalid or unacceptable Sec-WebSocket-Extensions header"
            ) from None

    origin = headers.get_str("sec-websocket-origin" if version == "8" else "origin")
    return ClientOffer(key, int(version), protocols, offers, origin)


def rejection_response(
    status: int,
    message: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> bytes:
    """The bytes of ws's ``abortHandshake`` for a refused upgrade.

    ``HTTP/1.1 <status> <phrase>``, then ``Connection: close``,
    ``Content-Type: text/html``, ``Content-Length`` and the extra
    ``headers`` (a header of the same spelling replaces a default in place,
    as a JavaScript object spread does), a blank line and the body.

    Args:
        status: the HTTP status.
        message: the body; the standard phrase when empty or ``None``.
        headers: extra headers, written as given (ws checks nothing).

    Returns:
        The response, UTF-8 encoded as ws's ``socket.end(string)``.
    """
    phrase = status_text(status)
    body = message or phrase
    fields: dict[str, Any] = {
        "Connection": "close",
        "Content-Type": "text/html",
        "Content-Length": len(body.encode()),
    }
    if headers:
        fields.update(headers)
    lines = "\r\n".join(f"{name}: {value}" for name, value in fields.items())
    return f"HTTP/1.1 {status} {phrase}\r\n{lines}\r\n\r\n{body}".encode()


def response_lines(key: str, protocol: str | None, extensions: str | None) -> list[str]:
    """ws's 101 response lines, the array of its server ``'headers'`` event.

    Args:
        key: the client's ``Sec-WebSocket-Key``.
        protocol: the selected subprotocol; no header when falsy.
        extensions: the formatted accepted extensions; no header when
            ``None`` or empty.

    Returns:
        A new list the ``'headers'`` listeners may change.
    """
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept_key(key)}",
    ]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    if extensions:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    return lines


def serialize_response(lines: Iterable[str], encoding: str = "utf-8") -> bytes:
    """Join response lines with CRLF and end the head.

    Args:
        lines: the status line and header lines.
        encoding: UTF-8 as ws writes its heads; ``'latin-1'`` for ASGI,
            whose header names and values are bytes decoded as latin-1.
    """
    return ("\r\n".join(lines) + "\r\n\r\n").encode(encoding)


# ---------------------------------------------------------------------------
# Client side (ws lib/websocket.js initAsClient and its 'upgrade' handler)
# ---------------------------------------------------------------------------

#: Node's ``checkInvalidHeaderChar``: tab, visible ASCII, space, obs-text.
_INVALID_VALUE_RE = re.compile(r"[^\t\x20-\x7e\x80-\xff]")
#: Node's ``INVALID_PATH_REGEX``.
_INVALID_PATH_RE = re.compile(r"[^\x21-\xff]")


def validate_subprotocols(protocols: str | Sequence[str] | None) -> list[str]:
    """The client constructor's subprotocol check (docs/websocket.md, Errors
    raised at once).

    Args:
        protocols: one subprotocol, a sequence of them, or ``None``.

    Returns:
        The subprotocols as a list.

    Raises:
        WsSyntaxError: ``'An invalid or duplicated subprotocol was
            specified'`` for a non-string, a non-token or a repeat.
    """
    if protocols is None:
        return []
    items: list[Any] = [protocols] if isinstance(protocols, str) else list(protocols)
    seen: set[str] = set()
    for protocol in items:
        if (
            not isinstance(protocol, str)
            or not subprotocol.is_token(protocol)
            or protocol in seen
        ):
            raise WsSyntaxError("An invalid or duplicated subprotocol was specified")
        seen.add(protocol)
    return items


def _header_value(value: Any) -> str:
    """A header value as JavaScript would stringify it."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class _OutHeaders:
    """Node's ``OutgoingMessage`` header store.

    Names are matched case-insensitively; setting a name again replaces the
    spelling and value but keeps the first position.
    """

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, Any]] = {}

    def set(self, name: str, value: Any) -> None:
        if not name or not subprotocol.is_token(name):
            raise ValueError(f'Header name must be a valid HTTP token ["{name}"]')
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if item is None:
                raise ValueError(f'Invalid value "None" for header "{name}"')
            if _INVALID_VALUE_RE.search(_header_value(item)):
                raise ValueError(f'Invalid character in header content ["{name}"]')
        self._items[name.lower()] = (name, value)

    def put(self, name: str, value: str | int) -> None:
        """:meth:`set` for a header of ws's own whose name is a token and
        whose value was built or checked already (no second check)."""
        self._items[name.lower()] = (name, value)

    def get(self, name: str) -> Any:
        item = self._items.get(name.lower())
        return None if item is None else item[1]

    def lines(self) -> list[str]:
        out = []
        for name, value in self._items.values():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                out.append(f"{name}: {_header_value(item)}\r\n")
        return out


def build_request(
    *,
    host: str,
    port: int | None,
    default_port: int,
    path: str,
    key: str,
    version: int = 13,
    protocols: Sequence[str] = (),
    extensions: str | None = None,
    origin: str | None = None,
    headers: Mapping[str, Any] | None = None,
    auth: str | None = None,
) -> bytes:
    """The client's upgrade request, byte for byte as ws on Node sends it.

    Order (observed with ws 8.23 on Node 20): the request line; the user's
    ``headers`` in their order; ``Sec-WebSocket-Version``,
    ``Sec-WebSocket-Key``, ``Connection: Upgrade``, ``Upgrade: websocket``;
    ``Sec-WebSocket-Extensions``; ``Sec-WebSocket-Protocol`` (joined with
    ``','``); ``Origin`` (``Sec-WebSocket-Origin`` for version 8); then
    ``Host`` and ``Authorization: Basic`` as Node's ``ClientRequest`` adds
    them. Names match case-insensitively: a user header that ws sets too
    keeps its position but gets ws's spelling and value; a user ``Host`` or
    ``Authorization`` stops Node from adding its own.

    Args:
        host: the host name or IP address, without brackets.
        port: the port, or ``None`` for the default.
        default_port: 80 for ``ws:``, 443 for ``wss:``; ``Host`` carries no
            port when ``port`` equals it.
        path: the request target (pathname and search).
        key: ``Sec-WebSocket-Key`` (see :func:`generate_key`).
        version: 13 or 8.
        protocols: the subprotocols (validated by the caller with
            :func:`validate_subprotocols`).
        extensions: the ``Sec-WebSocket-Extensions`` value, if any.
        origin: the origin, if any (falsy: no header).
        headers: extra headers; a list value repeats the header.
        auth: ``'user:password'`` for Basic authentication.

    Returns:
        The request head, latin-1 encoded as Node writes it.

    Raises:
        ValueError: a header name is not a token, a value holds a character
            Node refuses (CR, LF, NUL, other controls, beyond U+00FF), or
            the path holds unescaped characters.
    """
    if _INVALID_PATH_RE.search(path):
        raise ValueError("Request path contains unescaped characters")
    out = _OutHeaders()
    for name, value in (headers or {}).items():
        out.set(name, value)
    out.put("Sec-WebSocket-Version", version)
    out.set("Sec-WebSocket-Key", key)
    out.put("Connection", "Upgrade")
    out.put("Upgrade", "websocket")
    if extensions is not None:
        out.set("Sec-WebSocket-Extensions", extensions)
    if protocols:
        out.set("Sec-WebSocket-Protocol", ",".join(protocols))
    if origin:
        out.set("Sec-WebSocket-Origin" if version < 13 else "Origin", origin)
    if not out.get("host"):
        host_header = host
        if host.count(":") >= 2 and not host.startswith("["):
            host_header = f"[{host}]"
        if port and port != default_port:
            host_header += f":{port}"
        out.set("Host", host_header)
    if auth and not out.get("authorization"):
        token = base64.b64encode(auth.encode()).decode("ascii")
        out.set("Authorization", f"Basic {token}")
    head = f"GET {path} HTTP/1.1\r\n" + "".join(out.lines()) + "\r\n"
    return head.encode("latin-1")


def check_response(
    res: Response,
    *,
    key: str,
    protocols: Sequence[str],
    extensions_offered: bool,
) -> tuple[str, extension.Offers | None]:
    """ws's client checks on a 101 response, in ws's order (section 6.2).

    RFC 6455 section 4.1, steps 2-6 of the client's validation of the
    server's response, as ws's ``'upgrade'`` handler applies them. The
    status (101 or not) is the caller's business, and so is the
    permessage-deflate ``accept`` of the returned offers.

    Args:
        res: the parsed response.
        key: the ``Sec-WebSocket-Key`` that was sent.
        protocols: the subprotocols that were offered.
        extensions_offered: whether a ``Sec-WebSocket-Extensions`` offer
            was sent (ws: ``perMessageDeflate`` enabled).

    Returns:
        ``(protocol, extensions)``: the selected subprotocol or ``''``, and
        the parsed extensions header (only ``permessage-deflate``) or
        ``None`` when there was none.

    Raises:
        HandshakeError: with ws's message.
    """
    headers = res.headers
    upgrade = headers.get_str("upgrade")
    if upgrade is None or upgrade.lower() != "websocket":
        raise HandshakeError("Invalid Upgrade header")

    if headers.get_str("sec-websocket-accept") != accept_key(key):
        raise HandshakeError("Invalid Sec-WebSocket-Accept header")

    protocol = headers.get_str("sec-websocket-protocol")
    if protocol is not None:
        if not protocols:
            raise HandshakeError("Server sent a subprotocol but none was requested")
        if protocol not in protocols:
            raise HandshakeError("Server sent an invalid subprotocol")
    elif protocols:
        raise HandshakeError("Server sent no subprotocol")

    offers: extension.Offers | None = None
    header = headers.get_str("sec-websocket-extensions")
    if header is not None:
        if not extensions_offered:
            raise HandshakeError(
                "Server sent a Sec-WebSocket-Extensions header but no "
                "extension was requested"
            )
        try:
            offers = extension.parse(header)
        except WsSyntaxError:
            raise HandshakeError("Invalid Sec-WebSocket-Extensions header") from None
        if list(offers) != [_DEFLATE]:
            raise HandshakeError("Server indicated an extension that was not requested")
    return protocol or "", offers
