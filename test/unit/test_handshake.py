"""Unit tests for :mod:`pyws.handshake` (RFC 6455 section 4; ws 8.23
``handleUpgrade``/``abortHandshake`` in ``lib/websocket-server.js`` and
``initAsClient`` in ``lib/websocket.js``; docs/websocket.md and docs/server.md
and 6).

No event loop, no sockets: bytes in, objects or bytes out. Expected request
bytes were captured from ws 8.23.0 on Node 20 (a raw TCP server recording
what ``new WebSocket(...)`` sent); expected rejection bytes were captured
from a ws 8.23.0 ``WebSocketServer`` answering the same requests.
"""

from __future__ import annotations

import ast
import base64
import re
from pathlib import Path

import pytest

from pyws import handshake
from pyws.constants import MAX_HEADER_BYTES, MAX_HEADERS
from pyws.errors import HandshakeError, WebSocketError, WsSyntaxError
from pyws.handshake import (
    ClientOffer,
    Headers,
    HTTPParseError,
    Request,
    RequestParser,
    Response,
    ResponseParser,
    ServerHandshakeRejection,
    accept_key,
    build_request,
    check_request,
    check_response,
    generate_key,
    rejection_response,
    response_lines,
    serialize_response,
    status_text,
    validate_subprotocols,
)

#: RFC 6455 section 1.3's example key and its accept value.
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

UPGRADE_REQUEST = (
    b"GET /chat?x=1 HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


def parse_request(data: bytes) -> Request:
    parser = RequestParser()
    req = parser.feed(data)
    assert req is not None
    return req


def make_request(method: str = "GET", path: str = "/", **fields: str | None) -> Request:
    """A parsed request with valid upgrade headers, changed by ``fields``
    (``Sec_WebSocket_Key='x'`` sets, ``=None`` removes)."""
    headers: dict[str, str | None] = {
        "Host": "h",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
    }
    headers.update({k.replace("_", "-"): v for k, v in fields.items()})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items() if v is not None
    )
    return parse_request((head + "\r\n").encode("latin-1"))


def make_response(head: str) -> Response:
    parser = ResponseParser()
    res = parser.feed(head.encode("latin-1"))
    assert res is not None
    return res


class TestKeys:
    """RFC 6455 sections 1.3, 4.1 and 4.2.2."""

    def test_accept_key_rfc_example(self) -> None:
        assert accept_key(KEY) == ACCEPT

    def test_generate_key_from_given_bytes(self) -> None:
        assert generate_key(b"the sample nonce") == KEY

    def test_generate_key_is_random_and_well_formed(self) -> None:
        keys = {generate_key() for _ in range(20)}
        assert len(keys) == 20
        for key in keys:
            assert re.fullmatch(r"[+/0-9A-Za-z]{22}==", key)
            assert len(base64.b64decode(key)) == 16

    @pytest.mark.parametrize("size", [0, 15, 17])
    def test_generate_key_needs_16_bytes(self, size: int) -> None:
        with pytest.raises(ValueError):
            generate_key(b"x" * size)


class TestRequestParser:
    """The server's view of the upgrade request (RFC 6455 section 4.2.1)."""

    def test_parses_request(self) -> None:
        parser = RequestParser()
        req = parser.feed(UPGRADE_REQUEST + b"\x81\x80tail")
        assert req is not None
        assert parser.tail == b"\x81\x80tail"
        assert req.method == "GET"
        assert req.url == "/chat?x=1"
        assert req.httpVersion == req.http_version == "1.1"
        assert (req.httpVersionMajor, req.httpVersionMinor) == (1, 1)
        assert req.upgrade is True
        assert req.socket is None
        assert req.headers == {
            "host": "server.example.com",
            "upgrade": "websocket",
            "connection": "Upgrade",
            "sec-websocket-key": KEY,
            "origin": "http://example.com",
            "sec-websocket-protocol": "chat, superchat",
            "sec-websocket-version": "13",
        }
        assert req.rawHeaders[:4] == [
            "Host",
            "server.example.com",
            "Upgrade",
            "websocket",
        ]
        assert req.raw_headers is req.rawHeaders
        assert len(req.rawHeaders) == 14

    def test_key_access_like_a_node_object(self) -> None:
        req = parse_request(UPGRADE_REQUEST)
        assert req["url"] == "/chat?x=1"
        assert req["headers"]["upgrade"] == "websocket"
        assert req["httpVersion"] == "1.1"
        assert "socket" in req and "nope" not in req
        assert req.get("nope", 5) == 5
        with pytest.raises(KeyError):
            req["__class__"]
        req.socket = sock = object()
        assert req["socket"] is sock

    @pytest.mark.parametrize("tail", [b"", b"\x81\x85abcd", b"GET / HTTP/1.1\r\n"])
    def test_split_at_every_byte_boundary(self, tail: bytes) -> None:
        data = UPGRADE_REQUEST + tail
        whole = parse_request(data)
        for cut in range(1, len(data)):
            parser = RequestParser()
            first = parser.feed(data[:cut])
            if cut < len(UPGRADE_REQUEST):
                assert first is None, cut
                req = parser.feed(data[cut:])
            else:
                req = first
            assert req is not None, cut
            assert req.rawHeaders == whole.rawHeaders
            assert req.url == whole.url
            # The tail is what followed the head in the bytes fed so far.
            fed = cut if first is not None else len(data)
            assert parser.tail == data[len(UPGRADE_REQUEST) : fed], cut

    def test_byte_at_a_time(self) -> None:
        parser = RequestParser()
        results = [
            parser.feed(UPGRADE_REQUEST[i : i + 1]) for i in range(len(UPGRADE_REQUEST))
        ]
        assert all(r is None for r in results[:-1])
        assert isinstance(results[-1], Request)
        assert parser.tail == b""

    def test_feed_after_the_head_is_refused(self) -> None:
        parser = RequestParser()
        assert parser.feed(UPGRADE_REQUEST) is not None
        with pytest.raises(RuntimeError):
            parser.feed(b"x")

    def test_leading_empty_lines_are_skipped(self) -> None:
        # RFC 7230 section 3.5, as llhttp (and so Node) allows.
        parser = RequestParser()
        req = parser.feed(b"\r\n\r\n" + UPGRADE_REQUEST + b"T")
        assert req is not None and req.url == "/chat?x=1"
        assert parser.tail == b"T"

    def test_non_upgrade_request(self) -> None:
        parser = RequestParser()
        req = parser.feed(
            b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcdef"
        )
        assert req is not None
        assert req.upgrade is False
        assert parser.tail == b"abcdef"

    def test_upgrade_with_body_leaves_body_in_tail(self) -> None:
        # Node emits 'upgrade' at the end of the head: the body is in `head`.
        parser = RequestParser()
        req = parser.feed(
            b"POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
            b"Content-Length: 2\r\n\r\nabT"
        )
        assert req is not None and req.method == "POST" and req.upgrade
        assert parser.tail == b"abT"

    def test_http_1_0(self) -> None:
        req = parse_request(
            b"GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        )
        assert req.httpVersion == "1.0"

    def test_duplicate_headers_combined_as_node(self) -> None:
        lines = []
        for name in [
            "Host",
            "User-Agent",
            "Authorization",
            "Content-Type",
            "Referer",
            "Set-Cookie",
            "Cookie",
            "X-Foo",
            "Sec-WebSocket-Protocol",
            "Upgrade",
        ]:
            lines.append(f"{name}: a1  \r\n{name.upper()}:\tb2\t\r\n")
        req = parse_request(("GET / HTTP/1.1\r\n" + "".join(lines) + "\r\n").encode())
        assert req.headers == {
            "host": "a1",
            "user-agent": "a1",
            "authorization": "a1",
            "content-type": "a1",
            "referer": "a1",
            "set-cookie": ["a1", "b2"],
            "cookie": "a1; b2",
            "x-foo": "a1, b2",
            "sec-websocket-protocol": "a1, b2",
            "upgrade": "a1, b2",
        }
        # rawHeaders keep every line and its spelling, values trimmed.
        assert req.rawHeaders[:4] == ["Host", "a1", "HOST", "b2"]
        assert req.headers.get_str("set-cookie") == "a1, b2"
        assert req.headers.get_str("x-foo") == "a1, b2"
        assert req.headers.get_str("missing") is None

    def test_values_keep_inner_whitespace_and_latin1(self) -> None:
        req = parse_request(
            b"GET / HTTP/1.1\r\nX: a b \t c \r\nY:\r\nZ: \xe9\xff\r\n\r\n"
        )
        assert req.headers == {"x": "a b \t c", "y": "", "z": "\xe9\xff"}

    @pytest.mark.parametrize(
        ("data", "code"),
        [
            (b"get / HTTP/1.1\r\n\r\n", "HPE_INVALID_METHOD"),
            (b"FOO / HTTP/1.1\r\n\r\n", "HPE_INVALID_METHOD"),
            (b"GET / HTTP/1.1\nHost: x\n\n", None),
            (b"GET / HTTP/1.1\r\nHost: x\n\r\n", None),
            (b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", None),
            (b"GET / HTTP/1.1\r\nX : a\r\n\r\n", None),
            (b"GET / HTTP/1.1\r\nX\r\n\r\n", None),
            (b"GET / HTTP/9\r\n\r\n", None),
            (b"GET /a b HTTP/1.1\r\n\r\n", None),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "HPE_INVALID_METHOD"),
            # HTTP/0.9 lines llhttp ends without a CRLFCRLF (found by fuzzing:
            # this used to raise ValueError from the head-end search).
            (b"GET /\n\r\n", "HPE_INVALID_VERSION"),
            (b"GET /\r\n\r\n", "HPE_INVALID_VERSION"),
            (b"GET /x\n\r\nabc", "HPE_INVALID_VERSION"),
        ],
    )
    def test_malformed(self, data: bytes, code: str | None) -> None:
        parser = RequestParser()
        with pytest.raises(HTTPParseError) as exc_info:
            parser.feed(data)
        error = exc_info.value
        assert error.status == 400
        assert error.code == code
        assert str(error).startswith("Parse Error: ")
        assert isinstance(error, WebSocketError)
        # The parser stays failed.
        with pytest.raises(HTTPParseError) as again:
            parser.feed(b"\r\n")
        assert again.value is error

    def _head_of_size(self, size: int) -> bytes:
        start = b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX: "
        pad = size - len(start) - 4
        head = start + b"a" * pad + b"\r\n\r\n"
        assert len(head) == size
        return head

    def test_head_of_max_size_is_accepted(self) -> None:
        parser = RequestParser()
        req = parser.feed(self._head_of_size(MAX_HEADER_BYTES) + b"tail" * 10000)
        assert req is not None
        assert parser.tail == b"tail" * 10000

    def test_oversized_head_in_one_chunk(self) -> None:
        parser = RequestParser()
        with pytest.raises(HTTPParseError) as exc_info:
            parser.feed(self._head_of_size(MAX_HEADER_BYTES + 1))
        assert exc_info.value.status == 431
        assert exc_info.value.code == "HPE_HEADER_OVERFLOW"

    def test_oversized_head_in_small_chunks(self) -> None:
        parser = RequestParser()
        data = b"GET / HTTP/1.1\r\nX: " + b"a" * (2 * MAX_HEADER_BYTES)
        with pytest.raises(HTTPParseError) as exc_info:
            for i in range(0, len(data), 1000):
                assert parser.feed(data[i : i + 1000]) is None
        assert exc_info.value.status == 431
        assert i < MAX_HEADER_BYTES

    def test_header_count_limit(self) -> None:
        def head(count: int) -> bytes:
            lines = "".join(f"X{i}: v\r\n" for i in range(count))
            return f"GET / HTTP/1.1\r\n{lines}\r\n".encode()

        assert len(parse_request(head(MAX_HEADERS)).rawHeaders) == 2 * MAX_HEADERS
        with pytest.raises(HTTPParseError) as exc_info:
            RequestParser().feed(head(MAX_HEADERS + 1))
        assert exc_info.value.status == 431


class TestHeaders:
    """Node's ``IncomingMessage`` header rules."""

    def test_from_raw(self) -> None:
        headers = Headers.from_raw(["A", "1", "a", "2", "Host", "x", "HOST", "y"])
        assert headers == {"a": "1, 2", "host": "x"}

    def test_is_a_dict_with_lower_case_names(self) -> None:
        headers = Headers()
        headers.add("Set-Cookie", "a=1")
        assert isinstance(headers, dict)
        assert headers["set-cookie"] == ["a=1"]
        assert "Set-Cookie" not in headers


def rejection_bytes(exc: ServerHandshakeRejection) -> bytes:
    return rejection_response(exc.status, exc.message, exc.headers)


class TestCheckRequest:
    """docs/server.md, refused requests, rows 1-4, 6, 7, in ws's order."""

    def test_valid_request(self) -> None:
        offer = check_request(parse_request(UPGRADE_REQUEST), deflate_enabled=True)
        assert offer == ClientOffer(
            key=KEY,
            version=13,
            protocols=offer.protocols,
            extensions=None,
            origin="http://example.com",
        )
        assert list(offer.protocols) == ["chat", "superchat"]
        assert offer.secure is False

    def test_no_protocol_header_gives_empty_set(self) -> None:
        offer = check_request(make_request(), deflate_enabled=False)
        assert len(offer.protocols) == 0
        assert offer.origin is None

    def test_version_8_origin(self) -> None:
        offer = check_request(
            make_request(
                Sec_WebSocket_Version="8",
                Origin="http://a",
                Sec_WebSocket_Origin="http://b",
            ),
            deflate_enabled=False,
        )
        assert (offer.version, offer.origin) == (8, "http://b")

    @pytest.mark.parametrize(
        ("request_", "expected"),
        [
            (
                make_request("POST"),
                b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 19\r\n\r\n"
                b"Invalid HTTP method",
            ),
            (
                make_request("PUT", Upgrade=None, Sec_WebSocket_Key=None),
                b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 19\r\n\r\n"
                b"Invalid HTTP method",
            ),
            (
                make_request(Upgrade="foo"),
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 22\r\n\r\n"
                b"Invalid Upgrade header",
            ),
            (
                make_request(Upgrade=None, Sec_WebSocket_Version="1"),
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 22\r\n\r\n"
                b"Invalid Upgrade header",
            ),
            (
                make_request(Sec_WebSocket_Key="abc"),
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 43\r\n\r\n"
                b"Missing or invalid Sec-WebSocket-Key header",
            ),
            (
                make_request(Sec_WebSocket_Key=None),
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 43\r\n\r\n"
                b"Missing or invalid Sec-WebSocket-Key header",
            ),
            (
                make_request(Sec_WebSocket_Version="12"),
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 47\r\n"
                b"Sec-WebSocket-Version: 13, 8\r\n\r\n"
                b"Missing or invalid Sec-WebSocket-Version header",
            ),
            (
                make_request(Sec_WebSocket_Version=None),
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 47\r\n"
                b"Sec-WebSocket-Version: 13, 8\r\n\r\n"
                b"Missing or invalid Sec-WebSocket-Version header",
            ),
            (
                make_request(Sec_WebSocket_Protocol="a,,b"),
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 37\r\n\r\n"
                b"Invalid Sec-WebSocket-Protocol header",
            ),
            (
                make_request(Sec_WebSocket_Extensions="foo;;"),
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                b"Content-Type: text/html\r\nContent-Length: 55\r\n\r\n"
                b"Invalid or unacceptable Sec-WebSocket-Extensions header",
            ),
        ],
    )
    def test_rejections_match_ws_bytes(
        self, request_: Request, expected: bytes
    ) -> None:
        with pytest.raises(ServerHandshakeRejection) as exc_info:
            check_request(request_, deflate_enabled=True)
        exc = exc_info.value
        assert rejection_bytes(exc) == expected
        assert exc.response() == expected
        assert str(exc) == exc.message == expected.split(b"\r\n\r\n", 1)[1].decode()
        assert exc.client_error is True

    def test_version_rejection_carries_its_header(self) -> None:
        with pytest.raises(ServerHandshakeRejection) as exc_info:
            check_request(
                make_request(Sec_WebSocket_Version="14"), deflate_enabled=False
            )
        assert exc_info.value.status == 400
        assert exc_info.value.headers == {"Sec-WebSocket-Version": "13, 8"}

    @pytest.mark.parametrize(
        "key",
        [
            "dGhlIHNhbXBsZSBub25jZQ=",
            "dGhlIHNhbXBsZSBub25jZQ===",
            "dGhlIHNhbXBsZSBub25jZQ",
            "dGhlIHNhbXBsZSBub25jZ-==",
            "dGhlIHNhbXBsZSBub25jZQ==x",
            "dGhlIHNhbXBsZSBub25jZQ=A",
            "",
        ],
    )
    def test_malformed_keys(self, key: str) -> None:
        with pytest.raises(ServerHandshakeRejection, match="Sec-WebSocket-Key"):
            check_request(make_request(Sec_WebSocket_Key=key), deflate_enabled=False)

    def test_duplicate_key_headers_are_refused(self) -> None:
        # Node joins them with ', ', which no longer matches ws's keyRegex.
        req = parse_request(
            UPGRADE_REQUEST[:-2]
            + b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        with pytest.raises(ServerHandshakeRejection, match="Sec-WebSocket-Key"):
            check_request(req, deflate_enabled=False)

    @pytest.mark.parametrize(("value", "version"), [("13", 13), ("8", 8), (" 13 ", 13)])
    def test_versions(self, value: str, version: int) -> None:
        # Surrounding spaces are not part of the value (the parser drops them).
        req = parse_request(
            UPGRADE_REQUEST.replace(
                b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version:" + value.encode()
            )
        )
        offer = check_request(req, deflate_enabled=False)
        assert offer.version == version

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "1_3",
            "13a",
            "0x",
            "-13",
            "Infinity",
            "nan",
            "7",
            "9",
            # ws 8.23.1 compares the text; 8.23.0 took these as numbers.
            "013",
            "13.0",
            "0xd",
            "1.3e1",
            "+13",
            "8.0",
            "08",
        ],
    )
    def test_bad_versions(self, value: str) -> None:
        with pytest.raises(ServerHandshakeRejection, match="Version") as info:
            check_request(
                make_request(Sec_WebSocket_Version=value), deflate_enabled=False
            )
        assert info.value.status == 400

    def test_duplicate_version_headers_are_refused(self) -> None:
        req = parse_request(UPGRADE_REQUEST[:-2] + b"Sec-WebSocket-Version: 8\r\n\r\n")
        assert req.headers["sec-websocket-version"] == "13, 8"
        with pytest.raises(ServerHandshakeRejection, match="Version"):
            check_request(req, deflate_enabled=False)

    def test_upgrade_is_case_insensitive(self) -> None:
        offer = check_request(make_request(Upgrade="WebSocket"), deflate_enabled=False)
        assert offer.key == KEY

    @pytest.mark.parametrize("value", ["", "a, a", "a b", "a ,", ",a"])
    def test_bad_protocol_headers(self, value: str) -> None:
        with pytest.raises(ServerHandshakeRejection) as exc_info:
            check_request(
                make_request(Sec_WebSocket_Protocol=value), deflate_enabled=False
            )
        assert str(exc_info.value) == "Invalid Sec-WebSocket-Protocol header"

    def test_extensions_parsed_only_when_deflate_enabled(self) -> None:
        req = make_request(Sec_WebSocket_Extensions="permessage-deflate; x, foo")
        offer = check_request(req, deflate_enabled=True)
        assert offer.extensions == {"permessage-deflate": [{"x": [True]}], "foo": [{}]}
        assert check_request(req, deflate_enabled=False).extensions is None
        bad = make_request(Sec_WebSocket_Extensions="foo;;")
        assert check_request(bad, deflate_enabled=False).extensions is None

    def test_order_protocol_before_extensions(self) -> None:
        req = make_request(Sec_WebSocket_Protocol="", Sec_WebSocket_Extensions=";")
        with pytest.raises(ServerHandshakeRejection, match="Protocol"):
            check_request(req, deflate_enabled=True)

    @pytest.mark.parametrize(
        ("head", "body"),
        [
            # RFC 6455 section 4.2.1 item 1: HTTP/1.1 or higher.
            (UPGRADE_REQUEST.replace(b"HTTP/1.1", b"HTTP/1.0"), "Invalid HTTP version"),
            # Item 2: a Host header (Node 20+ answers 400 without one) ...
            (
                UPGRADE_REQUEST.replace(b"Host: server.example.com\r\n", b""),
                "Missing or invalid Host header",
            ),
            (
                UPGRADE_REQUEST.replace(b"Host: server.example.com", b"Host:"),
                "Missing or invalid Host header",
            ),
            # ... and only one (Node would keep the first).
            (
                UPGRADE_REQUEST[:-2] + b"hOsT: other.example\r\n\r\n",
                "Missing or invalid Host header",
            ),
        ],
    )
    def test_http_version_and_host(self, head: bytes, body: str) -> None:
        req = parse_request(head)
        with pytest.raises(ServerHandshakeRejection) as exc_info:
            check_request(req, deflate_enabled=False)
        exc = exc_info.value
        assert (exc.status, exc.message, exc.client_error) == (400, body, True)
        assert exc.response() == (
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
            b"Content-Type: text/html\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n{body}".encode()
        )

    def test_built_requests_are_checked_as_parsed_ones(self) -> None:
        # handleUpgrade() turns a foreign request into a Request this way:
        # the version and the Host lines come from its fields, as parsed.
        valid = [
            "Host", "h", "Upgrade", "websocket", "Connection", "Upgrade",
            "Sec-WebSocket-Key", KEY, "Sec-WebSocket-Version", "13",
        ]  # fmt: skip
        assert check_request(Request("GET", "/", "1.1", valid), deflate_enabled=False)
        cases = [
            (Request("GET", "/"), "Missing or invalid Host header"),
            (Request("GET", "/", "1.1", valid[2:]), "Missing or invalid Host header"),
            (Request("GET", "/", "1.1", valid + valid[:2]), "Missing or invalid Host"),
            (Request("GET", "/", "1.0", valid), "Invalid HTTP version"),
            (Request("GET", "/", "0.9", valid), "Invalid HTTP version"),
        ]
        for req, message in cases:
            with pytest.raises(ServerHandshakeRejection, match=message):
                check_request(req, deflate_enabled=False)

    def test_host_and_version_come_before_ws_checks(self) -> None:
        head = UPGRADE_REQUEST.replace(b"GET", b"PUT").replace(b"HTTP/1.1", b"HTTP/1.0")
        with pytest.raises(ServerHandshakeRejection, match="HTTP version"):
            check_request(parse_request(head), deflate_enabled=False)


class TestRejectionResponse:
    """ws ``abortHandshake`` (docs/server.md, Refused upgrade requests)."""

    def test_defaults_to_standard_phrase(self) -> None:
        assert rejection_response(401) == (
            b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n"
            b"Content-Type: text/html\r\nContent-Length: 12\r\n\r\nUnauthorized"
        )
        assert rejection_response(503, "") == (
            b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
            b"Content-Type: text/html\r\nContent-Length: 19\r\n\r\n"
            b"Service Unavailable"
        )

    def test_message_is_the_body_not_the_phrase(self) -> None:
        data = rejection_response(403, "Nope \u00e9", {"X-Why": "because"})
        assert data == (
            b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\n"
            b"Content-Type: text/html\r\nContent-Length: 7\r\nX-Why: because\r\n\r\n"
            + "Nope \u00e9".encode()
        )

    def test_extra_headers_replace_defaults_in_place(self) -> None:
        data = rejection_response(400, "x", {"Content-Type": "text/plain", "A": 1})
        assert data == (
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
            b"Content-Type: text/plain\r\nContent-Length: 1\r\nA: 1\r\n\r\nx"
        )

    @pytest.mark.parametrize(
        ("status", "phrase"),
        [
            (413, "Payload Too Large"),
            (414, "URI Too Long"),
            (416, "Range Not Satisfiable"),
            (418, "I'm a Teapot"),
            (422, "Unprocessable Entity"),
            (426, "Upgrade Required"),
            (431, "Request Header Fields Too Large"),
            (509, "Bandwidth Limit Exceeded"),
            (599, ""),
        ],
    )
    def test_node_reason_phrases(self, status: int, phrase: str) -> None:
        assert status_text(status) == phrase


class TestResponseLines:
    """ws ``completeUpgrade``'s 101 lines (docs/server.md, Events)."""

    def test_minimal(self) -> None:
        lines = response_lines(KEY, None, None)
        assert lines == [
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Accept: {ACCEPT}",
        ]
        assert serialize_response(lines) == (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        )

    def test_protocol_and_extensions(self) -> None:
        lines = response_lines(KEY, "chat", "permessage-deflate")
        assert lines[4:] == [
            "Sec-WebSocket-Protocol: chat",
            "Sec-WebSocket-Extensions: permessage-deflate",
        ]
        assert response_lines(KEY, "", "") == response_lines(KEY, None, None)

    def test_lines_are_a_fresh_mutable_list(self) -> None:
        lines = response_lines(KEY, None, None)
        lines.append("X-Extra: 1")
        assert serialize_response(lines).endswith(b"X-Extra: 1\r\n\r\n")
        assert len(response_lines(KEY, None, None)) == 4


class TestBuildRequest:
    """The client's request, compared with bytes ws 8.23 sent on Node 20."""

    def test_protocols_and_origin(self) -> None:
        data = build_request(
            host="127.0.0.1",
            port=41751,
            default_port=80,
            path="/p?q=1",
            key="+FbnLYpJxUpczHZ6puySbw==",
            protocols=["a", "b"],
            extensions="permessage-deflate; client_max_window_bits",
            origin="http://o",
        )
        assert data == (
            b"GET /p?q=1 HTTP/1.1\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: +FbnLYpJxUpczHZ6puySbw==\r\n"
            b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            b"Sec-WebSocket-Protocol: a,b\r\nOrigin: http://o\r\n"
            b"Host: 127.0.0.1:41751\r\n\r\n"
        )

    def test_user_headers_come_first_and_ws_overrides(self) -> None:
        data = build_request(
            host="127.0.0.1",
            port=41751,
            default_port=80,
            path="/",
            key="tEEbM4cjrfVMs6w7Lw7Ebw==",
            headers={
                "X-A": "1",
                "connection": "keep-alive",
                "sec-websocket-key": "zzz",
                "Sec-WebSocket-Version": "99",
                "x-n": 5,
                "x-arr": ["a", "b"],
                "COOKIE": "c",
            },
            auth="u@x:p:w",
        )
        assert data == (
            b"GET / HTTP/1.1\r\nX-A: 1\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: tEEbM4cjrfVMs6w7Lw7Ebw==\r\n"
            b"Sec-WebSocket-Version: 13\r\nx-n: 5\r\nx-arr: a\r\nx-arr: b\r\n"
            b"COOKIE: c\r\nUpgrade: websocket\r\nHost: 127.0.0.1:41751\r\n"
            b"Authorization: Basic dUB4OnA6dw==\r\n\r\n"
        )

    def test_version_8_user_host_and_authorization(self) -> None:
        data = build_request(
            host="127.0.0.1",
            port=41751,
            default_port=80,
            path="/",
            key="xmWpROE/olopZRnxkxg6vA==",
            version=8,
            extensions="permessage-deflate; client_max_window_bits",
            origin="http://o",
            headers={"Host": "h.example", "Authorization": "Bearer x"},
            auth="a:b",
        )
        assert data == (
            b"GET / HTTP/1.1\r\nHost: h.example\r\nAuthorization: Bearer x\r\n"
            b"Sec-WebSocket-Version: 8\r\n"
            b"Sec-WebSocket-Key: xmWpROE/olopZRnxkxg6vA==\r\n"
            b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            b"Sec-WebSocket-Origin: http://o\r\n\r\n"
        )

    def test_ipv6_host(self) -> None:
        data = build_request(
            host="::1",
            port=46163,
            default_port=80,
            path="/x",
            key="LgnKRfYPCf+BdfJAVGIKtw==",
            extensions="permessage-deflate; client_max_window_bits",
        )
        assert data == (
            b"GET /x HTTP/1.1\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: LgnKRfYPCf+BdfJAVGIKtw==\r\n"
            b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            b"Host: [::1]:46163\r\n\r\n"
        )

    @pytest.mark.parametrize(
        ("port", "default_port", "host_line"),
        [
            (None, 80, b"Host: example.com\r\n"),
            (80, 80, b"Host: example.com\r\n"),
            (443, 443, b"Host: example.com\r\n"),
            (443, 80, b"Host: example.com:443\r\n"),
            (8080, 443, b"Host: example.com:8080\r\n"),
        ],
    )
    def test_default_port_is_omitted(
        self, port: int | None, default_port: int, host_line: bytes
    ) -> None:
        data = build_request(
            host="example.com", port=port, default_port=default_port, path="/", key=KEY
        )
        assert data.endswith(host_line + b"\r\n")
        assert data.count(b"Host:") == 1

    def test_empty_origin_and_protocols_send_nothing(self) -> None:
        data = build_request(
            host="h",
            port=None,
            default_port=80,
            path="/",
            key=KEY,
            origin="",
            protocols=[],
        )
        assert b"Origin" not in data and b"Protocol" not in data
        assert b"Extensions" not in data

    def test_latin1_values(self) -> None:
        data = build_request(
            host="h",
            port=None,
            default_port=80,
            path="/\xe9",
            key=KEY,
            headers={"X": "\xe9"},
        )
        assert b"GET /\xe9 HTTP/1.1\r\nX: \xe9\r\n" in data

    @pytest.mark.parametrize(
        ("headers", "message"),
        [
            (
                {"X-A": "a\r\nInjected: 1"},
                'Invalid character in header content ["X-A"]',
            ),
            ({"X-A": "a\nb"}, 'Invalid character in header content ["X-A"]'),
            ({"X-A": "a\x00"}, 'Invalid character in header content ["X-A"]'),
            ({"X-A": "a\x7f"}, 'Invalid character in header content ["X-A"]'),
            ({"X-A": "\u0100"}, 'Invalid character in header content ["X-A"]'),
            ({"X-A": ["ok", "b\r"]}, 'Invalid character in header content ["X-A"]'),
            ({"X A": "1"}, 'Header name must be a valid HTTP token ["X A"]'),
            ({"X:A": "1"}, 'Header name must be a valid HTTP token ["X:A"]'),
            ({"": "1"}, 'Header name must be a valid HTTP token [""]'),
            ({"X-A": None}, 'Invalid value "None" for header "X-A"'),
        ],
    )
    def test_invalid_headers(self, headers: dict[str, object], message: str) -> None:
        with pytest.raises(ValueError) as exc_info:
            build_request(
                host="h", port=None, default_port=80, path="/", key=KEY, headers=headers
            )
        assert str(exc_info.value) == message

    def test_invalid_origin_is_refused(self) -> None:
        with pytest.raises(ValueError, match="Origin"):
            build_request(
                host="h", port=None, default_port=80, path="/", key=KEY, origin="a\r\nb"
            )

    @pytest.mark.parametrize("path", ["/a b", "/a\tb", "/\u0100", "/\r\n"])
    def test_unescaped_path(self, path: str) -> None:
        with pytest.raises(ValueError, match="unescaped characters"):
            build_request(host="h", port=None, default_port=80, path=path, key=KEY)

    def test_round_trips_through_the_request_parser(self) -> None:
        data = build_request(
            host="h",
            port=9000,
            default_port=80,
            path="/room?a=1",
            key=KEY,
            protocols=["x", "y"],
            extensions="permessage-deflate; client_max_window_bits",
            origin="https://o",
        )
        offer = check_request(parse_request(data), deflate_enabled=True)
        assert offer.key == KEY
        assert list(offer.protocols) == ["x", "y"]
        assert offer.extensions == {
            "permessage-deflate": [{"client_max_window_bits": [True]}]
        }
        assert offer.origin == "https://o"


SWITCHING = (
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
)


class TestResponseParser:
    """The client's view of the server's answer (RFC 6455 section 4.1)."""

    def test_parses_101_and_keeps_frames(self) -> None:
        data = (SWITCHING + "\r\n").encode() + b"\x81\x02hi"
        parser = ResponseParser()
        res = parser.feed(data)
        assert res is not None
        assert parser.tail == b"\x81\x02hi"
        assert res.statusCode == res.status_code == 101
        assert res.statusMessage == res.status_message == "Switching Protocols"
        assert res["statusCode"] == 101 and res["headers"] is res.headers
        assert res.httpVersion == "1.1"
        assert res.upgrade is True
        assert res.headers["sec-websocket-accept"] == ACCEPT
        assert res.rawHeaders[0] == "Upgrade"

    def test_split_at_every_byte_boundary(self) -> None:
        head = (SWITCHING + "\r\n").encode()
        data = head + b"\x81\x00"
        for cut in range(1, len(data)):
            parser = ResponseParser()
            res = parser.feed(data[:cut])
            if res is None:
                res = parser.feed(data[cut:])
                assert parser.tail == b"\x81\x00", cut
            else:
                assert parser.tail == data[len(head) : cut], cut
            assert res is not None and res.statusCode == 101, cut

    def test_informational_responses_are_skipped(self) -> None:
        parser = ResponseParser()
        res = parser.feed(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
            + (SWITCHING + "\r\n").encode()
            + b"T"
        )
        assert res is not None and res.statusCode == 101
        assert "link" not in res.headers
        assert parser.tail == b"T"

    def test_other_status_with_body(self) -> None:
        parser = ResponseParser()
        res = parser.feed(
            b"HTTP/1.1 302 Found\r\nLocation: /x\r\nLocation: /y\r\n"
            b"Content-Length: 4\r\n\r\nbody"
        )
        assert res is not None
        assert (res.statusCode, res.statusMessage, res.upgrade) == (302, "Found", False)
        assert res.headers.get_str("location") == "/x"
        assert parser.tail == b"body"

    def test_empty_reason_phrase(self) -> None:
        res = make_response("HTTP/1.0 404\r\n\r\n")
        assert (res.statusCode, res.statusMessage, res.httpVersion) == (404, "", "1.0")

    @pytest.mark.parametrize(
        "data",
        [
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTX/1.1 101 OK\r\n\r\n",
            b"HTTP/1.1 101 OK\n\n",
            b"<html>\r\n",
        ],
    )
    def test_malformed(self, data: bytes) -> None:
        with pytest.raises(HTTPParseError) as exc_info:
            ResponseParser().feed(data)
        assert str(exc_info.value).startswith("Parse Error: ")

    def test_oversized(self) -> None:
        with pytest.raises(HTTPParseError) as exc_info:
            ResponseParser().feed(b"HTTP/1.1 101 OK\r\nX: " + b"a" * MAX_HEADER_BYTES)
        assert exc_info.value.status == 431


class TestCheckResponse:
    """docs/websocket.md, When the opening handshake fails: the client's
    checks after a 101, in order."""

    def check(
        self,
        extra: str = "",
        *,
        head: str = SWITCHING,
        protocols: tuple[str, ...] = (),
        offered: bool = True,
    ) -> tuple[str, object]:
        res = make_response(head + extra + "\r\n")
        return check_response(
            res, key=KEY, protocols=protocols, extensions_offered=offered
        )

    def test_valid(self) -> None:
        assert self.check() == ("", None)

    def test_protocol_and_extension(self) -> None:
        protocol, offers = self.check(
            "Sec-WebSocket-Protocol: b\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate;"
            " client_max_window_bits=10\r\n",
            protocols=("a", "b"),
        )
        assert protocol == "b"
        assert offers == {"permessage-deflate": [{"client_max_window_bits": ["10"]}]}

    @pytest.mark.parametrize(
        ("head", "extra", "protocols", "offered", "message"),
        [
            (
                SWITCHING.replace("websocket", "h2c"),
                "",
                (),
                True,
                "Invalid Upgrade header",
            ),
            (
                SWITCHING.replace("Upgrade: websocket\r\n", ""),
                "",
                (),
                True,
                "Invalid Upgrade header",
            ),
            (
                SWITCHING.replace("s3pP", "s3pp"),
                "",
                (),
                True,
                "Invalid Sec-WebSocket-Accept header",
            ),
            (
                SWITCHING.replace("Sec-WebSocket-Accept", "X"),
                "",
                (),
                True,
                "Invalid Sec-WebSocket-Accept header",
            ),
            (
                SWITCHING,
                f"Sec-WebSocket-Accept: {ACCEPT}\r\n",
                (),
                True,
                "Invalid Sec-WebSocket-Accept header",
            ),
            (
                SWITCHING,
                "Sec-WebSocket-Protocol: a\r\n",
                (),
                True,
                "Server sent a subprotocol but none was requested",
            ),
            (
                SWITCHING,
                "Sec-WebSocket-Protocol: c\r\n",
                ("a", "b"),
                True,
                "Server sent an invalid subprotocol",
            ),
            (
                SWITCHING,
                "Sec-WebSocket-Protocol: \r\n",
                ("a",),
                True,
                "Server sent an invalid subprotocol",
            ),
            (
                SWITCHING,
                "Sec-WebSocket-Protocol: a, b\r\n",
                ("a", "b"),
                True,
                "Server sent an invalid subprotocol",
            ),
            (SWITCHING, "", ("a",), True, "Server sent no subprotocol"),
            (
                SWITCHING,
                "Sec-WebSocket-Extensions: permessage-deflate\r\n",
                (),
                False,
                "Server sent a Sec-WebSocket-Extensions header but no extension "
                "was requested",
            ),
            (
                SWITCHING,
                "Sec-WebSocket-Extensions: permessage-deflate;\r\n",
                (),
                True,
                "Invalid Sec-WebSocket-Extensions header",
            ),
            (
                SWITCHING,
                "Sec-WebSocket-Extensions: foo\r\n",
                (),
                True,
                "Server indicated an extension that was not requested",
            ),
            (
                SWITCHING,
                "Sec-WebSocket-Extensions: permessage-deflate, foo\r\n",
                (),
                True,
                "Server indicated an extension that was not requested",
            ),
            (
                SWITCHING,
                "Sec-WebSocket-Extensions: Permessage-Deflate\r\n",
                (),
                True,
                "Server indicated an extension that was not requested",
            ),
            # The order: the Upgrade check comes before the accept check...
            (
                SWITCHING.replace("websocket", "x").replace("s3pP", "zzzz"),
                "",
                (),
                True,
                "Invalid Upgrade header",
            ),
            # ...and the subprotocol check before the extensions check.
            (
                SWITCHING,
                "Sec-WebSocket-Extensions: foo\r\n",
                ("a",),
                False,
                "Server sent no subprotocol",
            ),
        ],
    )
    def test_failures(
        self,
        head: str,
        extra: str,
        protocols: tuple[str, ...],
        offered: bool,
        message: str,
    ) -> None:
        with pytest.raises(HandshakeError) as exc_info:
            self.check(extra, head=head, protocols=protocols, offered=offered)
        assert str(exc_info.value) == message

    def test_upgrade_value_is_case_insensitive(self) -> None:
        assert self.check(head=SWITCHING.replace("websocket", "WEBSOCKET")) == (
            "",
            None,
        )

    def test_two_deflate_configurations_pass_to_accept(self) -> None:
        _, offers = self.check(
            "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate; x\r\n"
        )
        assert offers == {"permessage-deflate": [{}, {"x": [True]}]}


class TestValidateSubprotocols:
    """docs/websocket.md, Errors raised at once, the constructor's subprotocol check."""

    @pytest.mark.parametrize(
        ("protocols", "expected"),
        [(None, []), ([], []), ("chat", ["chat"]), (("a", "b"), ["a", "b"])],
    )
    def test_valid(
        self, protocols: str | list[str] | None, expected: list[str]
    ) -> None:
        assert validate_subprotocols(protocols) == expected

    @pytest.mark.parametrize(
        "protocols", ["", "a b", ["a", "a"], ["a", ""], ["a,b"], ["é"], [1]]
    )
    def test_invalid(self, protocols: object) -> None:
        with pytest.raises(WsSyntaxError) as exc_info:
            validate_subprotocols(protocols)  # type: ignore[arg-type]
        assert (
            str(exc_info.value) == "An invalid or duplicated subprotocol was specified"
        )


def test_core_modules_import_no_io() -> None:
    """STYLE.md: core modules never import asyncio, pyee, socket or time."""
    forbidden = {"asyncio", "pyee", "socket", "time", "selectors", "threading"}
    root = Path(handshake.__file__).parent
    for name in ("handshake.py", "extension.py", "subprotocol.py"):
        tree = ast.parse((root / name).read_text())
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & forbidden, name
        assert imported <= {
            "__future__",
            "base64",
            "collections",
            "dataclasses",
            "hashlib",
            "http",
            "httptools",
            "os",
            "re",
            "string",
            "typing",
        }, name


def test_serialize_response_encodes_as_asked() -> None:
    lines = ["HTTP/1.1 101 Switching Protocols", "X-Name: caf\u00e9"]
    assert handshake.serialize_response(lines) == (
        b"HTTP/1.1 101 Switching Protocols\r\nX-Name: caf\xc3\xa9\r\n\r\n"
    )
    # ASGI header values are bytes decoded as latin-1: encoded back as such.
    assert handshake.serialize_response(lines, "latin-1") == (
        b"HTTP/1.1 101 Switching Protocols\r\nX-Name: caf\xe9\r\n\r\n"
    )
    ascii_lines = handshake.response_lines("dGhlIHNhbXBsZSBub25jZQ==", "chat", None)
    assert handshake.serialize_response(ascii_lines) == handshake.serialize_response(
        ascii_lines, "latin-1"
    )
