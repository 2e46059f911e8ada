"""Runs uvicorn's own WebSocket tests against ``pyws.asgi.WebSocketProtocol``.

``scripts/uvicorn_suite.py`` copies this file to ``tests/protocols/conftest.py``
of the uvicorn sdist it downloaded (the release ``setup.cfg`` pins), so it
overrides the suite's ``ws_protocol_cls`` fixture: every test parametrized
over uvicorn's implementation classes runs on pyws's class instead (over
every HTTP protocol the suite has: httptools, h11, zttp).

Tests about another implementation's internals are skipped, each with its
reason (``SKIP``). Three tests name uvicorn's websockets class directly
instead of taking the fixture; where they test the interface, not that
class, the name is pointed at pyws's class for them (``RETARGET``).
"""

from __future__ import annotations

import pytest

from pyws.asgi import WebSocketProtocol

# Keys: a test's name, or its name with the parameter id (``name[id]``
# matches when the id contains it).
SKIP = {
    "test_send_binary_data_to_server_bigger_than_default_on_websockets"
    "[sent=defaults+1]": (
        "the websockets client calls transport.abort() after close(); asyncio's "
        "socket transport raises AttributeError there once close() has flushed a "
        "big buffer. pyws reads and discards until the client's FIN (RFC 6455 "
        "7.1.7), so the client's 16 MiB write completes and trips it (uvicorn's "
        "classes close the socket at once). The 10/11-byte variants check the "
        "same 1009 path"
    ),
    "test_unparseable_upgrade_closes_connection": (
        "runs uvicorn's websockets-sansio class by name and checks limits of "
        "the websockets library (8 KiB header line; a request body refused); "
        "pyws's head limit is Node's 16 KiB and is tested in pyws's own suite"
    ),
}

# Tests that name WebSocketsSansIOProtocol for "the class under test":
# build the server with pyws's class, or accept it in an isinstance check.
RETARGET = {
    "test_send_binary_data_to_server_bigger_than_default_on_websockets": "class",
    "test_server_keepalive_ping_pong": "isinstance",
    "test_server_keepalive_disabled": "isinstance",
}


@pytest.fixture(params=[pytest.param(WebSocketProtocol, id="pyws")])
def ws_protocol_cls(request: pytest.FixtureRequest) -> type[WebSocketProtocol]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _retarget(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    name = request.node.originalname
    how = RETARGET.get(name)
    if how is None:
        return
    module = request.module
    original = module.WebSocketsSansIOProtocol
    if how == "class":
        monkeypatch.setattr(module, "WebSocketsSansIOProtocol", WebSocketProtocol)
    else:
        monkeypatch.setattr(
            module, "WebSocketsSansIOProtocol", (original, WebSocketProtocol)
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        reason = SKIP.get(name)
        if reason is None:
            for key, why in SKIP.items():
                base, _, param = key.partition("[")
                if param and base == name and param[:-1] in item.name:
                    reason = why
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
