"""Options: ws names and PEP 8 twins, dict or keywords, errors, defaults.

STYLE.md ("Naming") and the issue's pinned shapes: options come as a dict
(Node style) and/or keyword arguments, in either spelling; an unknown
option, an option given in both spellings, or a value of the wrong type
raises ``TypeError`` naming it; an out-of-range value raises ``ValueError``
naming it. Defaults are ws 8.23's (docs/websocket.md, docs/server.md, docs/defaults.md).

Constructors that need an event loop are built inside ``asyncio.run`` so no
loop is left behind; the errors under test are raised before any I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from pyws import RangeError, WebSocket, WebSocketServer
from pyws._options import (
    CLIENT_OPTIONS,
    REDIS_OPTIONS,
    SERVER_OPTIONS,
    parse_options,
    pep8_name,
)

# A URL nothing listens on; every test here fails before connecting.
URL = "ws://127.0.0.1:9/"


def in_loop(fn: Callable[[], Any]) -> Any:
    """Call ``fn`` inside a running loop (closed afterwards)."""

    async def main() -> Any:
        return fn()

    return asyncio.run(main())


def server(*args: Any, **kwargs: Any) -> WebSocketServer:
    return in_loop(lambda: WebSocketServer(*args, **kwargs))  # type: ignore[no-any-return]


# -- the alias table -----------------------------------------------------------


@pytest.mark.parametrize(
    ("ws_name", "pep8"),
    [
        ("maxPayload", "max_payload"),
        ("skipUTF8Validation", "skip_utf8_validation"),
        ("perMessageDeflate", "per_message_deflate"),
        ("noServer", "no_server"),
        ("closeTimeout", "close_timeout"),
        ("allowSynchronousEvents", "allow_synchronous_events"),
        ("maxPendingAutoPongs", "max_pending_auto_pongs"),
        ("handleProtocols", "handle_protocols"),
        ("verifyClient", "verify_client"),
        ("clientTracking", "client_tracking"),
        ("WebSocket", "websocket"),
        ("port", "port"),
    ],
)
def test_pep8_name(ws_name: str, pep8: str) -> None:
    assert pep8_name(ws_name) == pep8


def test_pep8_names_are_unique() -> None:
    for table in (CLIENT_OPTIONS, SERVER_OPTIONS, REDIS_OPTIONS):
        names = [pep8_name(n) for n in table]
        assert len(names) == len(set(names))


# -- defaults (ws 8.23) -----------------------------------------------------------

COMMON_DEFAULTS = {
    "allowSynchronousEvents": True,
    "autoPong": True,
    "closeTimeout": 30000,
    "maxPayload": 104857600,
    "maxFragments": 16384,
    "maxBufferedChunks": 262144,
    "maxPendingAutoPongs": 60,
    "skipUTF8Validation": False,
    # pyws extras: the heartbeat is off, the high-water mark 64 KiB.
    "pingInterval": 0,
    "pingTimeout": None,
    "highWaterMark": 64 * 1024,
}


def test_client_defaults() -> None:
    opts = parse_options(CLIENT_OPTIONS, None, {}, "WebSocket")
    for name, value in COMMON_DEFAULTS.items():
        assert opts[name] == value, name
    assert opts["perMessageDeflate"] is True
    assert opts["protocolVersion"] == 13
    assert opts["followRedirects"] is False
    assert opts["maxRedirects"] == 10
    assert opts["handshakeTimeout"] is None


def test_server_defaults() -> None:
    opts = parse_options(SERVER_OPTIONS, {"noServer": True}, {}, "WebSocketServer")
    for name, value in COMMON_DEFAULTS.items():
        assert opts[name] == value, name
    assert opts["perMessageDeflate"] is False
    assert opts["clientTracking"] is True
    assert opts["path"] is None
    assert opts["verifyClient"] is None
    assert opts["handleProtocols"] is None


# -- spellings and sources ---------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "kwargs"),
    [
        ({"maxPayload": 5}, {}),
        ({"max_payload": 5}, {}),
        (None, {"maxPayload": 5}),
        (None, {"max_payload": 5}),
    ],
)
def test_either_spelling_dict_or_kwargs(
    options: dict[str, Any] | None, kwargs: dict[str, Any]
) -> None:
    opts = parse_options(CLIENT_OPTIONS, options, kwargs, "WebSocket")
    assert opts["maxPayload"] == 5
    assert "max_payload" not in opts  # stored under the ws name


def test_dict_and_kwargs_merge() -> None:
    opts = parse_options(
        SERVER_OPTIONS, {"noServer": True}, {"client_tracking": False}, "S"
    )
    assert opts["noServer"] is True and opts["clientTracking"] is False


def test_server_constructor_both_spellings() -> None:
    a = server({"noServer": True, "maxPayload": 7, "clientTracking": False})
    b = server(no_server=True, max_payload=7, client_tracking=False)
    for wss in (a, b):
        assert wss.options["maxPayload"] == 7
        assert wss.options["noServer"] is True
        assert wss.clients is None  # clientTracking false: no set


# -- errors ------------------------------------------------------------------------


def test_unknown_option_names_it() -> None:
    with pytest.raises(TypeError, match="maxPayLoad"):
        parse_options(CLIENT_OPTIONS, {"maxPayLoad": 1}, {}, "WebSocket")
    with pytest.raises(TypeError, match="bogus"):
        WebSocket(URL, bogus=1)
    with pytest.raises(TypeError, match="bogus"):
        WebSocketServer(noServer=True, bogus=1)
    with pytest.raises(TypeError, match="followRedirects"):
        # a client option is unknown to the server
        WebSocketServer({"noServer": True, "followRedirects": True})


@pytest.mark.parametrize(
    ("options", "kwargs"),
    [
        ({"maxPayload": 1, "max_payload": 2}, {}),
        ({"maxPayload": 1}, {"max_payload": 2}),
        ({"maxPayload": 1}, {"maxPayload": 2}),
    ],
)
def test_both_spellings_is_a_type_error(
    options: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TypeError, match="maxPayload") as info:
        parse_options(CLIENT_OPTIONS, options, kwargs, "WebSocket")
    assert "max" in str(info.value)


def test_both_spellings_through_constructors() -> None:
    with pytest.raises(TypeError, match="noServer|no_server"):
        WebSocketServer({"noServer": True}, no_server=True)
    with pytest.raises(TypeError, match="closeTimeout|close_timeout"):
        WebSocket(URL, {"closeTimeout": 1}, close_timeout=2)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("maxPayload", "100"),
        ("maxPayload", 1.5),
        ("maxPayload", True),  # a bool is not a number in ws
        ("autoPong", 1),
        ("closeTimeout", "1000"),
        ("handshakeTimeout", "1"),
        ("perMessageDeflate", "yes"),
        ("headers", ["a"]),
        ("origin", 5),
        ("generateMask", 4),
        ("protocolVersion", "13"),
    ],
)
def test_wrong_type_names_the_option(name: str, value: Any) -> None:
    with pytest.raises(TypeError, match=name):
        parse_options(CLIENT_OPTIONS, {name: value}, {}, "WebSocket")
    with pytest.raises(TypeError, match=pep8_name(name)):
        parse_options(CLIENT_OPTIONS, None, {pep8_name(name): value}, "WebSocket")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("verifyClient", "yes"),
        ("handleProtocols", 1),
        ("clientTracking", "no"),
        ("port", "80"),
        ("path", 1),
        ("WebSocket", object()),
    ],
)
def test_server_wrong_type_names_the_option(name: str, value: Any) -> None:
    with pytest.raises(TypeError, match=name):
        WebSocketServer({"noServer": True, name: value})


def test_none_is_rejected_for_non_nullable_options() -> None:
    with pytest.raises(TypeError, match="maxPayload"):
        parse_options(CLIENT_OPTIONS, {"maxPayload": None}, {}, "WebSocket")
    # ...and accepted for nullable ones.
    opts = parse_options(CLIENT_OPTIONS, {"origin": None}, {}, "WebSocket")
    assert opts["origin"] is None


@pytest.mark.parametrize(
    ("table", "options", "name"),
    [
        (SERVER_OPTIONS, {"port": 70000}, "port"),
        (SERVER_OPTIONS, {"port": -1}, "port"),
        (SERVER_OPTIONS, {"backlog": -1}, "backlog"),
        (CLIENT_OPTIONS, {"closeTimeout": -1}, "closeTimeout"),
        (CLIENT_OPTIONS, {"handshakeTimeout": -5}, "handshakeTimeout"),
        (CLIENT_OPTIONS, {"pingInterval": -1}, "pingInterval"),
        (CLIENT_OPTIONS, {"ping_timeout": 0}, "ping_timeout"),
        (SERVER_OPTIONS, {"pingTimeout": -3}, "pingTimeout"),
        (SERVER_OPTIONS, {"highWaterMark": 0}, "highWaterMark"),
        (CLIENT_OPTIONS, {"high_water_mark": -1}, "high_water_mark"),
    ],
)
def test_out_of_range_is_a_value_error(
    table: Any, options: dict[str, Any], name: str
) -> None:
    with pytest.raises(ValueError, match=name) as info:
        parse_options(table, options, {}, "X")
    assert not isinstance(info.value, TypeError)


def test_out_of_range_through_constructors() -> None:
    with pytest.raises(ValueError, match="port"):
        WebSocketServer(port=65536)
    with pytest.raises(ValueError, match="close_timeout"):
        WebSocket(URL, close_timeout=-1)


def test_operations_options_in_both_spellings() -> None:
    for table, where in ((CLIENT_OPTIONS, "WebSocket"), (SERVER_OPTIONS, "S")):
        a = parse_options(
            table,
            {"pingInterval": 1000, "pingTimeout": 500, "highWaterMark": 4096},
            {},
            where,
        )
        b = parse_options(
            table,
            None,
            {"ping_interval": 1000, "ping_timeout": 500, "high_water_mark": 4096},
            where,
        )
        assert a == b
        assert (a["pingInterval"], a["pingTimeout"], a["highWaterMark"]) == (
            1000,
            500,
            4096,
        )
    with pytest.raises(TypeError, match="ping_interval"):
        parse_options(
            CLIENT_OPTIONS, {"pingInterval": 1}, {"ping_interval": 2}, "WebSocket"
        )
    with pytest.raises(TypeError, match="highWaterMark"):
        parse_options(CLIENT_OPTIONS, {"highWaterMark": 1.5}, {}, "WebSocket")


def test_limits_at_or_below_zero_are_accepted() -> None:
    """ws: ``<= 0`` means no limit for maxPayload and friends."""
    opts = parse_options(
        CLIENT_OPTIONS,
        {"maxPayload": 0, "maxFragments": -1, "maxPendingAutoPongs": 0},
        {},
        "WebSocket",
    )
    assert (opts["maxPayload"], opts["maxFragments"]) == (0, -1)


def test_options_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match="dict"):
        parse_options(CLIENT_OPTIONS, ["maxPayload"], {}, "WebSocket")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        WebSocketServer(8080)  # type: ignore[arg-type]


# -- ws's own synchronous throws ---------------------------------------------------


def test_protocol_version_is_checked_first() -> None:
    """docs/websocket.md, Errors raised at once: a bad protocolVersion is
    reported before the URL."""
    with pytest.raises(RangeError) as info:
        WebSocket("not a url", protocolVersion=9)
    assert str(info.value) == (
        "Unsupported protocol version: 9 (supported versions: 8, 13)"
    )
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"port": 0, "noServer": True},
        {"noServer": False},
        {"port": None},
    ],
)
def test_server_needs_exactly_one_mode(options: dict[str, Any]) -> None:
    with pytest.raises(TypeError) as info:
        WebSocketServer(options)
    assert str(info.value) == (
        'One and only one of the "port", "server", or "noServer" options '
        "must be specified"
    )


def test_server_without_any_options() -> None:
    with pytest.raises(TypeError, match="One and only one"):
        WebSocketServer()


def test_server_options_property_holds_the_merged_options() -> None:
    wss = server(noServer=True, path="/x")
    assert wss.options["path"] == "/x"
    assert wss.options["maxPayload"] == 104857600
    assert wss.options["perMessageDeflate"] is False


def test_server_option_needs_a_uvicorn_server() -> None:
    """ws's ``server`` takes a Node http.Server; pyws takes a uvicorn.Server
    (test/asgi covers it) and refuses anything else with a TypeError that
    names the option and points to ``noServer`` + ``handleUpgrade``."""
    with pytest.raises(TypeError, match='"server" option must be a uvicorn.Server'):
        WebSocketServer(server=object())
    with pytest.raises(TypeError, match="noServer"):
        WebSocketServer({"server": object()})
