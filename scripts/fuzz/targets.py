"""Fuzz targets: one function per attack surface, taking raw bytes.

Each target decodes a few leading bytes of its input into choices (role,
permessage-deflate, how the input is cut into reads, limits) and feeds the
rest to pyws's core. The decoding is plain Python, so the same input means
the same run under atheris (``run.py``), in the corpus replay of the test
suite (``test/unit/test_fuzz_corpus.py``) and in a reproduction by hand.

A target returns normally when pyws accepted or refused the input with one
of its own documented errors; anything else escaping (``ValueError``,
``IndexError``, ...) is a finding. Callbacks also check what pyws reports:
a receiver error must be a :class:`~pyws.errors.ProtocolError` with a close
status; a received close code must be valid.

Targets:

- ``frames``: :class:`pyws.receiver.Receiver` in both roles, with and
  without a negotiated permessage-deflate, fed by ``feed()`` or by the
  ``get_buffer()``/``buffer_updated()`` path, in reads of fuzzed sizes;
  the C helper or the pure Python masking by ``PYWS_NO_SPEEDUPS``, each
  stream twice: with the C fast path for whole messages and without it,
  which must report the same events; or the
  same bytes through :class:`pyws.protocol.Protocol`, whose output must
  parse back and carry a close frame with the status of any failure.
- ``request``: the server's head parser, ``check_request``, the upgrade
  test of port mode, the permessage-deflate acceptance and the 101 head.
- ``response``: the client's head parser, ``check_response`` and the
  client's permessage-deflate acceptance.
- ``extensions``: ``extension.parse``/``format`` round trip, ``subprotocol``
  parsing, and the negotiation of permessage-deflate in both roles with
  fuzzed options.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyws import extension, subprotocol
from pyws.errors import HandshakeError, ProtocolError, WebSocketError
from pyws.handshake import (
    HTTPParseError,
    RequestParser,
    ResponseParser,
    ServerHandshakeRejection,
    accept_key,
    check_request,
    check_response,
    is_upgrade,
    response_lines,
    serialize_response,
)
from pyws.permessage_deflate import PerMessageDeflate, normalize_option
from pyws.protocol import Protocol
from pyws.receiver import Receiver
from pyws.validation import is_valid_status_code

__all__ = ["TARGETS", "frames", "request", "response", "extensions"]

#: The key of the client's requests in the ``response`` target.
KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def _cuts(data: bytes, step: int) -> list[bytes]:
    """Cut ``data`` into reads: all at once (0) or ``step`` bytes at a time
    with every third read one byte long (frames cut inside headers)."""
    if step == 0:
        return [data]
    out = []
    i = 0
    n = 0
    while i < len(data):
        size = 1 if n % 3 == 2 else step
        out.append(data[i : i + size])
        i += size
        n += 1
    return out


def _read_into(
    get_buffer: Callable[[], memoryview],
    buffer_updated: Callable[[int], object],
    feed: Callable[[bytes], object],
    chunk: bytes,
) -> None:
    """One read as asyncio's BufferedProtocol path makes it: into the
    buffer the parser offers; what does not fit is fed as bytes."""
    view = get_buffer()
    n = min(len(view), len(chunk))
    view[:n] = chunk[:n]
    buffer_updated(n)
    if n < len(chunk):
        feed(chunk[n:])


# -- frames ----------------------------------------------------------------------


def _deflate(is_server: bool, choice: int, max_payload: int) -> PerMessageDeflate:
    """A negotiated permessage-deflate for one end (``choice`` picks params)."""
    pmd = PerMessageDeflate(None, is_server, max_payload)
    params: dict[str, list[Any]] = {}
    if choice & 1:
        params["server_no_context_takeover"] = [True]
    if choice & 2:
        params["client_no_context_takeover"] = [True]
    if is_server:
        if choice & 4:
            params["client_max_window_bits"] = [True]
        pmd.accept([params])
    else:
        if choice & 4:
            params["server_max_window_bits"] = [str(9 + (choice >> 3) % 7)]
        pmd.accept([params])
    return pmd


def frames(data: bytes) -> None:
    """Bytes from a peer into a :class:`Receiver` (see the module doc).

    Layout: ``flags``, ``mode``, then the stream. ``flags`` bit 0: server
    role; bit 1: permessage-deflate; bit 2: the get_buffer path; bit 3:
    skipUTF8Validation; bit 4: binaryType 'fragments'; bit 5: a small
    maxPayload (1 KiB) and maxFragments (4); bits 6-7: deflate params.
    ``mode`` bits 0-4: the read size (0: all at once); bit 7: through the
    sans-I/O :class:`~pyws.protocol.Protocol` (closing rules, auto-pong,
    failing) instead of the bare receiver; bit 6: then the peer's FIN.

    The stream runs twice, with the receiver's C fast path for whole
    messages and without it: both must report the same events.
    """
    if len(data) < 2:
        return
    if data[1] & 0x80:
        _protocol(data)
        return
    fast = _receive(data, speedups=True)
    slow = _receive(data, speedups=False)
    assert fast == slow, (fast, slow)


def _receive(data: bytes, *, speedups: bool) -> list[tuple[Any, ...]]:
    """One run of :func:`frames`: the events, in order."""
    flags, step = data[0], data[1] % 32
    stream = data[2:]
    is_server = bool(flags & 1)
    small = bool(flags & 32)
    max_payload = 1024 if small else 1 << 20
    inflater = _deflate(is_server, flags >> 6, max_payload) if flags & 2 else None
    events: list[tuple[Any, ...]] = []
    errors: list[ProtocolError] = []

    def on_message(payload: Any, is_binary: bool) -> None:
        if flags & 16 and is_binary:
            assert isinstance(payload, list), type(payload)
            events.append(("message", [bytes(p) for p in payload], is_binary))
        else:
            assert isinstance(payload, (bytes, list)), type(payload)
            events.append(("message", payload, is_binary))

    def on_close(code: int, reason: bytes) -> None:
        assert code == 1005 or is_valid_status_code(code), code
        assert isinstance(reason, bytes)
        events.append(("close", code, reason))

    def on_error(exc: ProtocolError) -> None:
        assert isinstance(exc, ProtocolError), repr(exc)
        assert exc.code is not None and exc.status_code is not None, repr(exc)
        assert not errors, "on_error called twice"
        errors.append(exc)
        events.append(("error", exc.code, exc.status_code, str(exc)))

    receiver = Receiver(
        is_server=is_server,
        on_message=on_message,
        on_ping=lambda payload: events.append(("ping", bytes(payload))),
        on_pong=lambda payload: events.append(("pong", bytes(payload))),
        on_close=on_close,
        on_error=on_error,
        max_payload=max_payload,
        max_fragments=4 if small else 16384,
        skip_utf8_validation=bool(flags & 8),
        binary_type="fragments" if flags & 16 else "nodebuffer",
        inflater=inflater,
        speedups=speedups,
    )
    for chunk in _cuts(stream, step):
        if flags & 4:
            _read_into(
                receiver.get_buffer, receiver.buffer_updated, receiver.feed, chunk
            )
        else:
            receiver.feed(chunk)
        if receiver.done:
            break
    return events


def _protocol(data: bytes) -> None:
    """The ``frames`` input through :class:`Protocol`: what it queues to
    send must stay well-formed, and a failure must queue a close frame
    with the error's status (RFC 6455 section 7.1.7)."""
    flags, step = data[0], data[1] % 32
    is_server = bool(flags & 1)
    small = bool(flags & 32)
    max_payload = 1024 if small else 1 << 20
    inflater = _deflate(is_server, flags >> 6, max_payload) if flags & 2 else None
    proto = Protocol(
        is_server=is_server,
        max_payload=max_payload,
        max_fragments=4 if small else 16384,
        skip_utf8_validation=bool(flags & 8),
        binary_type="fragments" if flags & 16 else "nodebuffer",
        extension=inflater,
    )
    sent: list[bytes] = []
    for chunk in _cuts(data[2:], step):
        if flags & 4:
            _read_into(
                proto.get_buffer, proto.buffer_updated, proto.receive_data, chunk
            )
        else:
            proto.receive_data(chunk)
        sent.extend(bytes(c) for c in proto.data_to_send())
    if data[1] & 0x40:
        proto.receive_eof()
        sent.extend(bytes(c) for c in proto.data_to_send())
    events = proto.events_received()
    errors = [e[1] for e in events if e[0] == "error"]
    assert len(errors) <= 1, errors
    out = b"".join(c for c in sent if c)
    # Our own output parses back (a server's frames unmasked, a client's
    # masked), and a failure sent a close frame with the error's status.
    closes: list[int] = []
    problems: list[ProtocolError] = []
    check = Receiver(
        is_server=not is_server,
        on_message=lambda d, b: None,
        on_ping=lambda d: None,
        on_pong=lambda d: None,
        on_close=lambda code, reason: closes.append(code),
        on_error=problems.append,
        max_payload=0,
        skip_utf8_validation=True,
    )
    check.feed(out)
    assert not problems, problems
    if errors:
        assert isinstance(errors[0], ProtocolError), repr(errors[0])
        assert closes == [errors[0].status_code], (closes, errors[0])


# -- the server's request head ---------------------------------------------------------


def request(data: bytes) -> None:
    """A client's request head into the server's parser and checks.

    Layout: ``flags``, ``step``, then the bytes. ``flags`` bit 0:
    perMessageDeflate enabled on the server.
    """
    if len(data) < 2:
        return
    flags, step = data[0], data[1] % 64
    parser = RequestParser()
    req = None
    try:
        for chunk in _cuts(data[2:], step):
            req = parser.feed(chunk)
            if req is not None:
                break
    except HTTPParseError as exc:
        assert exc.status in (400, 431), exc.status
        return
    if req is None:
        return
    assert isinstance(parser.tail, bytes)
    is_upgrade(req)
    deflate = bool(flags & 1)
    try:
        offer = check_request(req, deflate_enabled=deflate)
    except ServerHandshakeRejection as exc:
        assert 400 <= exc.status < 500, exc.status
        exc.response()
        return
    ext_header = None
    if deflate and offer.extensions and "permessage-deflate" in offer.extensions:
        pmd = PerMessageDeflate(None, True, 1 << 20)
        try:
            pmd.accept(offer.extensions["permessage-deflate"])
        except WebSocketError:
            return
        ext_header = extension.format({"permessage-deflate": pmd.params})
        # What the server answers, its client must be able to parse.
        extension.parse(ext_header)
    protocol = next(iter(offer.protocols), None)
    head = serialize_response(response_lines(offer.key, protocol, ext_header))
    assert head.endswith(b"\r\n\r\n")


# -- the client's view of the response ------------------------------------------------


def response(data: bytes) -> None:
    """A server's response head into the client's parser and checks.

    Layout: ``flags``, ``step``, then the bytes. ``flags`` bit 0: the client
    offered permessage-deflate; bit 1: it offered subprotocols ``a`` and
    ``b``; bit 2: a valid ``Sec-WebSocket-Accept`` is put in front of the
    fuzzed headers (so the later checks are reached).
    """
    if len(data) < 2:
        return
    flags, step = data[0], data[1] % 64
    body = data[2:]
    if flags & 4:
        body = (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
            + accept_key(KEY).encode()
            + b"\r\n"
            + body
        )
    parser = ResponseParser()
    res = None
    try:
        for chunk in _cuts(body, step):
            res = parser.feed(chunk)
            if res is not None:
                break
    except HTTPParseError:
        return
    if res is None or res.statusCode != 101:
        return
    offered = bool(flags & 1)
    try:
        protocol, offers = check_response(
            res,
            key=KEY,
            protocols=["a", "b"] if flags & 2 else [],
            extensions_offered=offered,
        )
    except HandshakeError:
        return
    assert isinstance(protocol, str)
    if offers is not None:
        pmd = PerMessageDeflate(None, False, 1 << 20)
        pmd.offer()
        try:
            pmd.accept(offers["permessage-deflate"])
        except WebSocketError:
            return


# -- extension headers and negotiation -----------------------------------------------


def _options(choice: bytes) -> dict[str, Any]:
    """perMessageDeflate options from up to 4 bytes."""
    c = choice.ljust(4, b"\0")
    opts: dict[str, Any] = {}
    if c[0] & 1:
        opts["serverNoContextTakeover"] = True
    if c[0] & 2:
        opts["clientNoContextTakeover"] = True
    if c[0] & 4:
        opts["serverMaxWindowBits"] = 8 + c[1] % 8
    if c[0] & 8:
        opts["clientMaxWindowBits"] = True if c[2] & 1 else 8 + c[2] % 8
    if c[0] & 16:
        opts["clientMaxWindowBits"] = False
    if c[0] & 32:
        opts["serverMaxWindowBits"] = False
    return opts


def extensions(data: bytes) -> None:
    """A header value through the extension and subprotocol parsers and the
    permessage-deflate negotiation of both ends.

    Layout: four option bytes, then the header value (latin-1, as Node
    decodes heads).
    """
    if len(data) < 4:
        return
    text = data[4:].decode("latin-1")
    try:
        subprotocol.parse(text)
    except WebSocketError:
        pass
    try:
        offers = extension.parse(text)
    except WebSocketError:
        return
    # format() of what parse() gave parses back to the same thing.
    again = extension.parse(extension.format(offers))
    assert again == offers, (offers, again)
    configs = offers.get("permessage-deflate")
    if configs is None:
        return
    options = normalize_option(_options(data[:4]))
    for is_server in (True, False):
        pmd = PerMessageDeflate(options, is_server, 1 << 20)
        try:
            pmd.accept(configs)
        except WebSocketError:
            continue
        params = extension.format({"permessage-deflate": pmd.params})
        extension.parse(params)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "frames": frames,
    "request": request,
    "response": response,
    "extensions": extensions,
}
