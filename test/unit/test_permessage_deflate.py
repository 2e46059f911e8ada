"""Unit tests for :mod:`pyws.permessage_deflate` (RFC 7692, ws 8.23 parity).

No event loop. The ``interop`` tests run Node's ws ``PerMessageDeflate``
(test/interop/node_modules) in a subprocess to check negotiation results and
error messages case by case, and that each side inflates what the other
deflates.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import shutil
import subprocess
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyws import extension
from pyws import permessage_deflate as pmd_module
from pyws.errors import FrameRangeError, InflateError, ProtocolError, RangeError
from pyws.permessage_deflate import (
    COMPRESS_ASYNC_THRESHOLD,
    DEFAULT_CONCURRENCY_LIMIT,
    TRAILER,
    NegotiationError,
    NegotiationTypeError,
    PerMessageDeflate,
    ZlibLimiter,
    negotiate,
    normalize_option,
    response_header,
    use_thread,
    zlib_limiter,
)

MiB = 1024 * 1024
WS_PMD = (
    Path(__file__).resolve().parent.parent
    / "interop"
    / "node_modules"
    / "ws"
    / "lib"
    / "permessage-deflate.js"
)
NODE_TIMEOUT = 60 * float(os.environ.get("PYWS_TEST_TIMEOUT_FACTOR", "1"))


def server(options: dict[str, Any] | None = None, max_payload: int = 0) -> Any:
    return PerMessageDeflate(options, True, max_payload)


def client(options: dict[str, Any] | None = None, max_payload: int = 0) -> Any:
    return PerMessageDeflate(options, False, max_payload)


def pair(
    params: dict[str, Any],
    server_options: dict[str, Any] | None = None,
    client_options: dict[str, Any] | None = None,
    max_payload: int = 0,
) -> tuple[PerMessageDeflate, PerMessageDeflate]:
    """A server and a client that agreed on ``params``."""
    srv = server(server_options, max_payload)
    cli = client(client_options, max_payload)
    srv.params = dict(params)
    cli.params = dict(params)
    return srv, cli


def send(pmd: PerMessageDeflate, fragments: list[bytes]) -> list[bytes]:
    return [pmd.compress(f, i == len(fragments) - 1) for i, f in enumerate(fragments)]


def receive(pmd: PerMessageDeflate, payloads: list[bytes]) -> bytes:
    return b"".join(
        pmd.decompress(p, i == len(payloads) - 1) for i, p in enumerate(payloads)
    )


def sample(size: int, seed: int = 1) -> bytes:
    """Compressible but not trivial data: words from a small vocabulary."""
    rng = random.Random(seed)
    words = [bytes(rng.choice(b"abcdefghij") for _ in range(6)) for _ in range(200)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])


# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------


class TestOptions:
    """``perMessageDeflate`` option values (docs/permessage-deflate.md, Options)."""

    def test_normalize_booleans(self) -> None:
        assert normalize_option(True) == {}
        assert normalize_option(False) is None
        assert normalize_option(None) is None

    def test_normalize_copies_and_canonicalizes(self) -> None:
        given = {"server_no_context_takeover": True, "clientMaxWindowBits": 10}
        out = normalize_option(given)
        assert out == {"serverNoContextTakeover": True, "clientMaxWindowBits": 10}
        assert given == {"server_no_context_takeover": True, "clientMaxWindowBits": 10}

    def test_all_options_both_spellings(self) -> None:
        camel = {
            "serverNoContextTakeover": True,
            "clientNoContextTakeover": False,
            "serverMaxWindowBits": 12,
            "clientMaxWindowBits": False,
            "zlibDeflateOptions": {"level": 3, "memLevel": 7, "chunkSize": 1024},
            "zlibInflateOptions": {"chunkSize": 10240},
            "threshold": 0,
            "concurrencyLimit": 5,
        }
        snake = {
            "server_no_context_takeover": True,
            "client_no_context_takeover": False,
            "server_max_window_bits": 12,
            "client_max_window_bits": False,
            "zlib_deflate_options": {"level": 3, "mem_level": 7, "chunk_size": 1024},
            "zlib_inflate_options": {"chunk_size": 10240},
            "threshold": 0,
            "concurrency_limit": 5,
        }
        assert normalize_option(camel) == camel
        assert normalize_option(snake) == camel

    @pytest.mark.parametrize("value", [1, "yes", [("threshold", 1)], 1.5])
    def test_not_a_mapping(self, value: object) -> None:
        with pytest.raises(TypeError, match="perMessageDeflate"):
            normalize_option(value)

    def test_unknown_option_named(self) -> None:
        with pytest.raises(TypeError, match="'serverMaxWindowSize'"):
            normalize_option({"serverMaxWindowSize": 10})
        with pytest.raises(TypeError, match="'maxPayload'"):
            PerMessageDeflate({"maxPayload": 10}, True, 0)

    def test_both_spellings_at_once(self) -> None:
        with pytest.raises(TypeError, match="'threshold'|'concurrencyLimit'"):
            normalize_option({"concurrencyLimit": 1, "concurrency_limit": 2})
        with pytest.raises(TypeError, match="'memLevel'"):
            normalize_option({"zlibDeflateOptions": {"memLevel": 8, "mem_level": 8}})

    @pytest.mark.parametrize("name", ["serverMaxWindowBits", "clientMaxWindowBits"])
    @pytest.mark.parametrize("bits", [-1, 0, 7, 16, 64])
    def test_window_bits_out_of_range(self, name: str, bits: int) -> None:
        with pytest.raises(RangeError, match=name) as info:
            PerMessageDeflate({name: bits}, False, 0)
        assert isinstance(info.value, ValueError)

    @pytest.mark.parametrize("name", ["serverMaxWindowBits", "clientMaxWindowBits"])
    @pytest.mark.parametrize("bits", range(8, 16))
    def test_window_bits_in_range(self, name: str, bits: int) -> None:
        assert normalize_option({name: bits}) == {name: bits}

    @pytest.mark.parametrize("value", ["10", 10.0, [10]])
    def test_window_bits_wrong_type(self, value: object) -> None:
        with pytest.raises(TypeError, match="serverMaxWindowBits"):
            normalize_option({"serverMaxWindowBits": value})

    def test_window_bits_true(self) -> None:
        # clientMaxWindowBits: true is the default offer; a bare
        # server_max_window_bits is never valid, so true is refused there.
        assert normalize_option({"clientMaxWindowBits": True}) is not None
        with pytest.raises(TypeError, match="serverMaxWindowBits"):
            normalize_option({"serverMaxWindowBits": True})

    @pytest.mark.parametrize(
        "name", ["serverNoContextTakeover", "clientNoContextTakeover"]
    )
    def test_no_context_takeover_must_be_bool(self, name: str) -> None:
        with pytest.raises(TypeError, match=name):
            normalize_option({name: 1})

    def test_threshold(self) -> None:
        with pytest.raises(RangeError, match="threshold"):
            normalize_option({"threshold": -1})
        with pytest.raises(TypeError, match="threshold"):
            normalize_option({"threshold": 1.5})
        with pytest.raises(TypeError, match="threshold"):
            normalize_option({"threshold": True})
        assert server().threshold == 1024
        assert server({"threshold": 0}).threshold == 0

    def test_concurrency_limit(self) -> None:
        with pytest.raises(RangeError, match="concurrencyLimit"):
            normalize_option({"concurrencyLimit": -1})
        with pytest.raises(TypeError, match="concurrencyLimit"):
            normalize_option({"concurrencyLimit": "10"})

    @pytest.mark.parametrize(
        ("zopts", "error"),
        [
            ({"level": 10}, RangeError),
            ({"level": -2}, RangeError),
            ({"memLevel": 0}, RangeError),
            ({"strategy": 5}, RangeError),
            ({"chunkSize": 63}, RangeError),
            ({"level": "9"}, TypeError),
            ({"dictionary": b"abc"}, TypeError),
            ({"flush": 2}, TypeError),
        ],
    )
    def test_zlib_options(self, zopts: dict[str, Any], error: type[Exception]) -> None:
        with pytest.raises(error):
            normalize_option({"zlibDeflateOptions": zopts})
        with pytest.raises(error):
            normalize_option({"zlibInflateOptions": zopts})

    def test_zlib_options_reach_zlib(self) -> None:
        data = sample(20000)
        fast = client({"zlibDeflateOptions": {"level": 0}})
        best = client({"zlibDeflateOptions": {"level": 9}})
        stored = fast.compress(data, True)
        packed = best.compress(data, True)
        assert len(stored) > len(data)  # level 0: stored blocks
        assert len(packed) < len(data) // 2
        assert receive(server(), [stored]) == data
        assert receive(server(), [packed]) == data

    def test_window_bits_in_zlib_options_is_ignored(self) -> None:
        # ws forces the negotiated window size over zlibDeflateOptions.
        srv, cli = pair({}, client_options={"zlibDeflateOptions": {"windowBits": 9}})
        data = sample(5000) + bytes(40000) + sample(5000)
        assert receive(srv, send(cli, [data])) == data

    def test_options_view_is_a_copy(self) -> None:
        pmd = server({"threshold": 5})
        pmd.options["threshold"] = 6
        assert pmd.options == {"threshold": 5}
        assert pmd.is_server and not client().is_server
        assert server(max_payload=7).max_payload == 7


# ---------------------------------------------------------------------------
# Negotiation, by hand (each also runs against Node below)
# ---------------------------------------------------------------------------


class TestOffer:
    """The client offer (ws ``offer``)."""

    def test_default_offer(self) -> None:
        # Formatted: "permessage-deflate; client_max_window_bits".
        assert client().offer() == {"client_max_window_bits": True}
        assert client({}).offer() == {"client_max_window_bits": True}
        assert client({"clientMaxWindowBits": True}).offer() == {
            "client_max_window_bits": True
        }

    def test_every_parameter(self) -> None:
        offer = client(
            {
                "serverNoContextTakeover": True,
                "clientNoContextTakeover": True,
                "serverMaxWindowBits": 10,
                "clientMaxWindowBits": 11,
            }
        ).offer()
        assert offer == {
            "server_no_context_takeover": True,
            "client_no_context_takeover": True,
            "server_max_window_bits": 10,
            "client_max_window_bits": 11,
        }
        assert list(offer) == [
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits",
            "client_max_window_bits",
        ]

    def test_false_omits(self) -> None:
        assert (
            client(
                {
                    "serverNoContextTakeover": False,
                    "clientNoContextTakeover": False,
                    "serverMaxWindowBits": False,
                    "clientMaxWindowBits": False,
                }
            ).offer()
            == {}
        )

    def test_extension_name(self) -> None:
        assert PerMessageDeflate.extension_name == "permessage-deflate"
        assert PerMessageDeflate.extensionName == "permessage-deflate"


class TestAcceptAsServer:
    """The server's choice among offers (ws ``acceptAsServer``)."""

    def test_default_answers_default_offer_bare(self) -> None:
        srv = server({})
        assert srv.accept([{"client_max_window_bits": [True]}]) == {}
        assert srv.params == {}

    def test_echoes_numeric_client_bits_and_offered_flags(self) -> None:
        offer = {
            "client_max_window_bits": ["10"],
            "server_no_context_takeover": [True],
            "client_no_context_takeover": [True],
            "server_max_window_bits": ["12"],
        }
        assert server().accept([offer]) == {
            "client_max_window_bits": 10,
            "server_no_context_takeover": True,
            "client_no_context_takeover": True,
            "server_max_window_bits": 12,
        }

    def test_options_added_to_response(self) -> None:
        srv = server(
            {
                "serverNoContextTakeover": True,
                "clientNoContextTakeover": True,
                "serverMaxWindowBits": 11,
                "clientMaxWindowBits": 9,
            }
        )
        assert srv.accept([{"client_max_window_bits": [True]}]) == {
            "server_no_context_takeover": True,
            "client_no_context_takeover": True,
            "server_max_window_bits": 11,
            "client_max_window_bits": 9,
        }

    def test_first_acceptable_offer_wins(self) -> None:
        srv = server({"serverMaxWindowBits": 10})
        offers = [
            {"server_max_window_bits": ["9"]},  # below our 10: refused
            {"server_max_window_bits": ["12"], "client_no_context_takeover": [True]},
            {},
        ]
        assert srv.accept(offers) == {
            "server_max_window_bits": 10,
            "client_no_context_takeover": True,
        }

    @pytest.mark.parametrize(
        ("options", "offer"),
        [
            (
                {"serverNoContextTakeover": False},
                {"server_no_context_takeover": [True]},
            ),
            ({"serverMaxWindowBits": False}, {"server_max_window_bits": ["15"]}),
            ({"serverMaxWindowBits": 12}, {"server_max_window_bits": ["11"]}),
            ({"clientMaxWindowBits": 12}, {}),
            ({"clientMaxWindowBits": 12}, {"client_max_window_bits": ["11"]}),
        ],
    )
    def test_refusals(self, options: dict[str, Any], offer: dict[str, Any]) -> None:
        with pytest.raises(NegotiationError) as info:
            server(options).accept([offer])
        assert str(info.value) == "None of the extension offers can be accepted"
        assert not isinstance(info.value, TypeError)

    def test_numeric_client_bits_accepts_bare_offer(self) -> None:
        assert server({"clientMaxWindowBits": 12}).accept(
            [{"client_max_window_bits": [True]}]
        ) == {"client_max_window_bits": 12}

    def test_client_bits_false_drops_parameter(self) -> None:
        assert (
            server({"clientMaxWindowBits": False}).accept(
                [{"client_max_window_bits": ["10"]}]
            )
            == {}
        )

    def test_no_offers(self) -> None:
        with pytest.raises(NegotiationError, match="None of the extension offers"):
            server().accept([])

    def test_input_not_mutated(self) -> None:
        offers = [{"client_max_window_bits": ["10"]}]
        server({"serverNoContextTakeover": True}).accept(offers)
        assert offers == [{"client_max_window_bits": ["10"]}]


class TestAcceptAsClient:
    """The client's check of the response (ws ``acceptAsClient``)."""

    def test_bare_response(self) -> None:
        assert client().accept([{}]) == {}

    def test_client_bits_from_options_when_absent(self) -> None:
        assert client({"clientMaxWindowBits": 10}).accept([{}]) == {
            "client_max_window_bits": 10
        }

    def test_reads_first_configuration_only(self) -> None:
        cli = client()
        assert cli.accept(
            [{"server_no_context_takeover": [True]}, {"client_max_window_bits": ["9"]}]
        ) == {"server_no_context_takeover": True}
        assert cli.params == {"server_no_context_takeover": True}

    def test_unexpected_client_no_context_takeover(self) -> None:
        with pytest.raises(NegotiationError) as info:
            client({"clientNoContextTakeover": False}).accept(
                [{"client_no_context_takeover": [True]}]
            )
        assert str(info.value) == 'Unexpected parameter "client_no_context_takeover"'
        # Unset (not false): accepted.
        assert client().accept([{"client_no_context_takeover": [True]}]) == {
            "client_no_context_takeover": True
        }

    @pytest.mark.parametrize(
        ("options", "value"),
        [({"clientMaxWindowBits": False}, "10"), ({"clientMaxWindowBits": 10}, "11")],
    )
    def test_unexpected_client_bits(self, options: dict[str, Any], value: str) -> None:
        with pytest.raises(NegotiationError) as info:
            client(options).accept([{"client_max_window_bits": [value]}])
        assert (
            str(info.value)
            == 'Unexpected or invalid parameter "client_max_window_bits"'
        )

    def test_smaller_client_bits_accepted(self) -> None:
        assert client({"clientMaxWindowBits": 10}).accept(
            [{"client_max_window_bits": ["9"]}]
        ) == {"client_max_window_bits": 9}

    def test_bare_client_bits_is_invalid_in_a_response(self) -> None:
        with pytest.raises(NegotiationTypeError) as info:
            client().accept([{"client_max_window_bits": [True]}])
        assert (
            str(info.value)
            == 'Invalid value for parameter "client_max_window_bits": true'
        )

    def test_empty_response(self) -> None:
        with pytest.raises(NegotiationError):
            client().accept([])


class TestNormalizeParams:
    """Parameter values (ws ``normalizeParams``), both roles."""

    @pytest.mark.parametrize("is_server", [True, False])
    def test_repeated(self, is_server: bool) -> None:
        pmd = PerMessageDeflate(None, is_server, 0)
        with pytest.raises(NegotiationError) as info:
            pmd.accept([{"server_max_window_bits": ["10", "11"]}])
        assert (
            str(info.value)
            == 'Parameter "server_max_window_bits" must have only a single value'
        )
        assert not isinstance(info.value, TypeError)

    @pytest.mark.parametrize("is_server", [True, False])
    def test_unknown(self, is_server: bool) -> None:
        pmd = PerMessageDeflate(None, is_server, 0)
        with pytest.raises(NegotiationError) as info:
            pmd.accept([{"foo": [True]}])
        assert str(info.value) == 'Unknown parameter "foo"'

    def test_a_later_bad_offer_fails_all(self) -> None:
        # ws normalizes every offer before choosing one.
        with pytest.raises(NegotiationError, match='Unknown parameter "bar"'):
            server().accept([{}, {"bar": ["1"]}])

    @pytest.mark.parametrize("is_server", [True, False])
    @pytest.mark.parametrize(
        "key", ["server_max_window_bits", "client_max_window_bits"]
    )
    @pytest.mark.parametrize(
        "value", ["7", "16", "0", "-9", "abc", "9.5", "", "0x", "1e", "Infinity", "٩"]
    )
    def test_invalid_window_bits(self, is_server: bool, key: str, value: str) -> None:
        pmd = PerMessageDeflate(None, is_server, 0)
        with pytest.raises(NegotiationTypeError) as info:
            pmd.accept([{key: [value]}])
        assert str(info.value) == f'Invalid value for parameter "{key}": {value}'
        assert isinstance(info.value, TypeError)

    @pytest.mark.parametrize("value", [str(n) for n in range(8, 16)])
    def test_window_bits_decimal(self, value: str) -> None:
        assert server().accept([{"server_max_window_bits": [value]}]) == {
            "server_max_window_bits": int(value)
        }

    @pytest.mark.parametrize("is_server", [True, False])
    @pytest.mark.parametrize(
        "key", ["server_max_window_bits", "client_max_window_bits"]
    )
    @pytest.mark.parametrize(
        "value",
        [
            "09",
            "010",
            "+10",
            "10.0",
            "1e1",
            "0xa",
            "0XA",
            "0o12",
            "0b1010",
            ".11e2",
            " 10",
            "10 ",
            "10\n",
            "\uff11\uff10",
        ],
    )
    def test_window_bits_not_read_as_numbers(
        self, is_server: bool, key: str, value: str
    ) -> None:
        # ws 8.23.1 tests /^(?:[89]|1[0-5])$/; 8.23.0 accepted these via +value.
        pmd = PerMessageDeflate(None, is_server, 0)
        with pytest.raises(NegotiationTypeError) as info:
            pmd.accept([{key: [value]}])
        assert str(info.value) == f'Invalid value for parameter "{key}": {value}'

    @pytest.mark.parametrize("is_server", [True, False])
    def test_bare_server_max_window_bits(self, is_server: bool) -> None:
        pmd = PerMessageDeflate(None, is_server, 0)
        with pytest.raises(NegotiationTypeError) as info:
            pmd.accept([{"server_max_window_bits": [True]}])
        assert (
            str(info.value)
            == 'Invalid value for parameter "server_max_window_bits": true'
        )

    @pytest.mark.parametrize("is_server", [True, False])
    @pytest.mark.parametrize(
        "key", ["server_no_context_takeover", "client_no_context_takeover"]
    )
    def test_no_context_takeover_with_value(self, is_server: bool, key: str) -> None:
        pmd = PerMessageDeflate(None, is_server, 0)
        with pytest.raises(NegotiationTypeError) as info:
            pmd.accept([{key: ["1"]}])
        assert str(info.value) == f'Invalid value for parameter "{key}": 1'


class TestWithHeaderParser:
    """Offer and response through :mod:`pyws.extension` (the header text)."""

    def test_default_offer_header(self) -> None:
        header = extension.format({"permessage-deflate": client().offer()})
        assert header == "permessage-deflate; client_max_window_bits"

    @pytest.mark.parametrize(
        ("server_options", "client_options", "response", "agreed"),
        [
            ({}, None, "permessage-deflate", {}),
            (
                {"serverMaxWindowBits": 10, "clientNoContextTakeover": True},
                None,
                "permessage-deflate; client_no_context_takeover; "
                "server_max_window_bits=10",
                {"client_no_context_takeover": True, "server_max_window_bits": 10},
            ),
            (
                {"clientMaxWindowBits": 9},
                {"serverNoContextTakeover": True, "clientMaxWindowBits": 12},
                "permessage-deflate; server_no_context_takeover; "
                "client_max_window_bits=9",
                {"server_no_context_takeover": True, "client_max_window_bits": 9},
            ),
        ],
    )
    def test_offer_accept_response(
        self,
        server_options: dict[str, Any],
        client_options: dict[str, Any] | None,
        response: str,
        agreed: dict[str, Any],
    ) -> None:
        cli = client(client_options)
        srv = server(server_options)
        offers = extension.parse(extension.format({"permessage-deflate": cli.offer()}))
        answer = srv.accept(offers["permessage-deflate"])
        assert extension.format({"permessage-deflate": answer}) == response
        assert cli.accept(extension.parse(response)["permessage-deflate"]) == agreed
        assert srv.params == agreed
        message = sample(9000)
        assert receive(srv, send(cli, [message])) == message
        assert receive(cli, send(srv, [message])) == message

    def test_quoted_values(self) -> None:
        offers = extension.parse('permessage-deflate; client_max_window_bits="10"')
        assert server().accept(offers["permessage-deflate"]) == {
            "client_max_window_bits": 10
        }


# ---------------------------------------------------------------------------
# Data path
# ---------------------------------------------------------------------------

NCT_CASES = [
    pytest.param({}, id="takeover"),
    pytest.param({"server_no_context_takeover": True}, id="server_nct"),
    pytest.param({"client_no_context_takeover": True}, id="client_nct"),
    pytest.param(
        {"server_no_context_takeover": True, "client_no_context_takeover": True},
        id="both_nct",
    ),
]


class TestRoundTrip:
    """RFC 7692 sections 7.2.1 and 7.2.2, both directions."""

    @pytest.mark.parametrize("params", NCT_CASES)
    @pytest.mark.parametrize("bits", range(8, 16))
    def test_window_bits_and_context_takeover(
        self, params: dict[str, Any], bits: int
    ) -> None:
        params = {
            **params,
            "server_max_window_bits": bits,
            "client_max_window_bits": bits,
        }
        srv, cli = pair(params)
        messages = [sample(3000, seed) for seed in (1, 2, 1, 1)] + [b"", b"x"]
        # Repeats at distances around the window size.
        messages.append(sample(200, 5) * 40 + os.urandom(300) * 3)
        for message in messages:
            assert receive(srv, send(cli, [message])) == message
            assert receive(cli, send(srv, [message])) == message

    @pytest.mark.parametrize("bits", range(8, 16))
    def test_distances_fit_the_peer_window(self, bits: int) -> None:
        # What our deflater emits for N bits inflates in a bare N-bit raw
        # inflater, 8 included (we deflate with 9 there).
        srv, _ = pair({"server_max_window_bits": bits})
        block = os.urandom(1 << (bits - 1))
        data = (block + sample(100)) * 6
        payload = srv.compress(data, True)
        assert zlib.decompressobj(-bits).decompress(payload + TRAILER) == data

    def test_window_bits_8_deflates_with_9(self) -> None:
        srv, _ = pair({"server_max_window_bits": 8})
        data = sample(4000)
        expected = zlib.compressobj(pmd_module.DEFAULT_LEVEL, zlib.DEFLATED, -9)
        want = expected.compress(data) + expected.flush(zlib.Z_SYNC_FLUSH)
        assert srv.compress(data, True) == want[:-4]

    @pytest.mark.parametrize("params", NCT_CASES)
    def test_context_takeover_effect(self, params: dict[str, Any]) -> None:
        srv, cli = pair(params)
        message = sample(5000, 3)
        for sender, receiver, side in ((srv, cli, "server"), (cli, srv, "client")):
            first = send(sender, [message])
            second = send(sender, [message])
            if params.get(f"{side}_no_context_takeover"):
                assert second == first  # deflater reset: same bytes again
            else:
                assert len(second[0]) < len(first[0]) // 4  # refers to message 1
            assert receive(receiver, first) == message
            assert receive(receiver, second) == message

    def test_receiver_reset_follows_peer_no_context_takeover(self) -> None:
        # A peer that keeps its context while we reset would break decoding:
        # the reset must follow the *peer's* parameter, not ours.
        srv, cli = pair({"client_no_context_takeover": True})
        message = sample(5000, 4)
        cli_payloads = [send(cli, [message]) for _ in range(3)]
        assert [receive(srv, p) for p in cli_payloads] == [message] * 3
        srv_payloads = [send(srv, [message]) for _ in range(3)]
        assert [receive(cli, p) for p in srv_payloads] == [message] * 3

    def test_final_fragment_drops_trailer(self) -> None:
        _, cli = pair({})
        first = cli.compress(sample(1000), False)
        last = cli.compress(sample(1000, 2), True)
        assert first.endswith(TRAILER)
        assert not last.endswith(TRAILER)

    def test_empty_message(self) -> None:
        srv, cli = pair({})
        payload = cli.compress(b"", True)
        assert payload == b"\x00"
        assert srv.decompress(payload, True) == b""

    @pytest.mark.parametrize("params", NCT_CASES)
    def test_fragmented_messages(self, params: dict[str, Any]) -> None:
        srv, cli = pair(params)
        data = sample(50000, 7)
        cuts = [data[:1], data[1:20000], b"", data[20000:49000], data[49000:], b""]
        for _ in range(3):
            payloads = send(cli, cuts)
            assert all(p.endswith(TRAILER) for p in payloads[:-1])
            parts = [
                srv.decompress(p, i == len(payloads) - 1)
                for i, p in enumerate(payloads)
            ]
            assert b"".join(parts) == data
            assert len(parts) == len(cuts)
            assert receive(cli, send(srv, cuts)) == data

    def test_accepts_memoryview_and_bytearray(self) -> None:
        srv, cli = pair({})
        data = bytearray(sample(3000))
        payload = cli.compress(memoryview(data), True)
        assert isinstance(payload, bytes)
        assert srv.decompress(bytearray(payload), True) == data
        payload = cli.compress(data, False)
        assert srv.decompress(memoryview(payload), False) == data

    def test_peer_that_ends_its_stream(self) -> None:
        # A deflater that finishes each message (BFINAL) instead of
        # sync-flushing still decodes; the next message starts a new stream.
        srv, _ = pair({})
        for message in (sample(2000, 1), sample(3000, 2), b"tail"):
            finishing = zlib.compressobj(-1, zlib.DEFLATED, -15)
            payload = finishing.compress(message) + finishing.flush()
            assert srv.decompress(payload, True) == message

    def test_cleanup_then_reuse(self) -> None:
        srv, cli = pair({})
        message = sample(4000)
        assert receive(srv, send(cli, [message])) == message
        cli.cleanup()
        srv.cleanup()
        assert receive(srv, send(cli, [message])) == message


class TestMaxPayload:
    """maxPayload applies to the inflated size, while inflating (ws 9.3)."""

    def test_exact_limit_passes_one_more_fails(self) -> None:
        message = sample(10000)
        srv, cli = pair({}, max_payload=len(message))
        assert receive(srv, send(cli, [message])) == message
        payloads = send(cli, [message + b"!"])
        with pytest.raises(FrameRangeError) as info:
            receive(srv, payloads)
        err = info.value
        assert str(err) == "Max payload size exceeded"
        assert err.code == "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
        assert err.status_code == err.statusCode == 1009
        assert isinstance(err, ProtocolError) and isinstance(err, RangeError)

    def test_counted_across_fragments_and_reset_per_message(self) -> None:
        srv, cli = pair({"client_no_context_takeover": True}, max_payload=1000)
        parts = [sample(400, 1), sample(400, 2), sample(199, 3)]
        for _ in range(3):  # 999 bytes, three times: the count restarts
            assert receive(srv, send(cli, parts)) == b"".join(parts)
        payloads = send(cli, [*parts, b"xy"])
        assert srv.decompress(payloads[0], False) == parts[0]
        assert srv.decompress(payloads[1], False) == parts[1]
        assert srv.decompress(payloads[2], False) == parts[2]
        with pytest.raises(FrameRangeError, match="Max payload size exceeded"):
            srv.decompress(payloads[3], True)

    def test_zero_or_negative_means_no_limit(self) -> None:
        message = bytes(5 * MiB)
        for limit in (0, -1):
            srv, cli = pair({}, max_payload=limit)
            assert receive(srv, send(cli, [message])) == message

    @staticmethod
    def bomb(gib: int) -> bytes:
        """Raw deflate data that inflates to ``gib`` GiB of zeros.

        Deflate cannot beat about 1032:1, so 1 GiB takes about 1 MiB. Each
        sync-flushed MiB of zeros after the first encodes to the same bytes,
        so the bomb is built by repetition, never holding its output.
        """
        deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
        zeros = bytes(MiB)
        head = deflater.compress(zeros) + deflater.flush(zlib.Z_SYNC_FLUSH)
        step = deflater.compress(zeros) + deflater.flush(zlib.Z_SYNC_FLUSH)
        assert step == deflater.compress(zeros) + deflater.flush(zlib.Z_SYNC_FLUSH)
        return head + step * (gib * 1024 - 1)

    def test_bomb_is_real(self) -> None:
        # The bomb really inflates to 1 GiB (counted in bounded chunks).
        data = self.bomb(1)
        inflater = zlib.decompressobj(-15)
        total = 0
        chunk = inflater.decompress(data, MiB)
        while chunk:
            total += len(chunk)
            chunk = inflater.decompress(inflater.unconsumed_tail, MiB)
        assert total == 1024 * MiB
        assert len(data) < 1100 * 1024

    @pytest.mark.parametrize("fin", [True, False])
    @pytest.mark.parametrize("limit", [MiB, 16 * MiB])
    def test_bomb_refused_within_limit_memory(self, fin: bool, limit: int) -> None:
        data = self.bomb(1)
        srv, _ = pair({}, max_payload=limit)
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            with pytest.raises(FrameRangeError) as info:
                srv.decompress(data, fin)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert info.value.status_code == 1009
        # The output stops one byte past the limit, inflated in 256 KiB steps
        # (each may be copied once by zlib's output buffer); zlib's own state
        # is small. The 1 GiB of output, or twice the limit, would show here.
        assert peak - before < limit + MiB, (peak - before) / MiB

    def test_fragmented_bomb(self) -> None:
        data = self.bomb(1)
        srv, _ = pair({}, max_payload=2 * MiB)
        step = len(data) // 512  # each frame inflates to about 2 MiB
        with pytest.raises(FrameRangeError):
            for offset in range(0, len(data), step):
                srv.decompress(data[offset : offset + step], False)
        assert offset < 3 * step

    def test_usable_after_refusal(self) -> None:
        srv, cli = pair({"client_no_context_takeover": True}, max_payload=1000)
        with pytest.raises(FrameRangeError):
            receive(srv, send(cli, [bytes(5000)]))
        assert receive(srv, send(cli, [b"small"])) == b"small"


class TestInflateErrors:
    """zlib failures fail the connection with 1007 (docs/errors.md)."""

    @pytest.mark.parametrize(
        ("payload", "message"),
        [
            (b"\xff\xff\xff\xff", "invalid block type"),
            (b"\x00\x05\x00\x00\x00", "invalid stored block lengths"),
            (b"\x04\xc0\x81\x08\x00\x00\x00\x00\x20\x7f\xeb\x0b\x00", None),
        ],
    )
    def test_corrupt_data(self, payload: bytes, message: str | None) -> None:
        srv, _ = pair({})
        with pytest.raises(InflateError) as info:
            srv.decompress(payload, True)
        err = info.value
        assert err.status_code == 1007
        assert err.code == "Z_DATA_ERROR"
        assert "Error -3" not in str(err)  # zlib's own text, as Node reports it
        if message is not None:
            assert str(err) == message

    def test_distance_too_far_back(self) -> None:
        # A peer that keeps its context after agreeing not to: its second
        # message refers to the first, which our reset inflater no longer has.
        srv, _ = pair({"client_no_context_takeover": True})
        _, liar = pair({})
        message = sample(5000, 6)
        assert receive(srv, send(liar, [message])) == message
        with pytest.raises(InflateError) as info:
            receive(srv, send(liar, [message]))
        assert str(info.value) == "invalid distance too far back"
        assert info.value.status_code == 1007

    def test_usable_after_error(self) -> None:
        srv, cli = pair({})
        with pytest.raises(InflateError):
            srv.decompress(b"\xff\xff", True)
        cli.cleanup()
        assert receive(srv, send(cli, [b"again"])) == b"again"


class TestThreshold:
    """``threshold`` applies only under our own no_context_takeover."""

    @pytest.mark.parametrize(
        ("is_server", "params", "applies"),
        [
            (True, {}, False),
            (True, {"client_no_context_takeover": True}, False),
            (True, {"server_no_context_takeover": True}, True),
            (False, {"server_no_context_takeover": True}, False),
            (False, {"client_no_context_takeover": True}, True),
        ],
    )
    def test_which_side(
        self, is_server: bool, params: dict[str, Any], applies: bool
    ) -> None:
        pmd = PerMessageDeflate(None, is_server, 0)
        pmd.params = params
        assert pmd.threshold_applies(10) is applies
        assert pmd.threshold_applies(1023) is applies
        assert pmd.threshold_applies(1024) is False
        assert pmd.threshold_applies(100000) is False

    def test_custom_threshold(self) -> None:
        pmd = server({"threshold": 0})
        pmd.params = {"server_no_context_takeover": True}
        assert pmd.threshold_applies(0) is False
        pmd = server({"threshold": 10})
        pmd.params = {"server_no_context_takeover": True}
        assert pmd.threshold_applies(9) is True
        assert pmd.threshold_applies(10) is False


class TestLimiter:
    """The process-wide zlib job limiter (ws ``lib/limiter.js``)."""

    def test_runs_at_most_concurrency_jobs(self) -> None:
        limiter = ZlibLimiter(2)
        started: list[int] = []
        dones: dict[int, Any] = {}

        def job(n: int) -> Any:
            def run(done: Any) -> None:
                started.append(n)
                dones[n] = done

            return run

        for n in range(5):
            limiter.add(job(n))
        assert started == [0, 1]
        assert limiter.pending == 2 and limiter.queued == 3
        dones[1]()
        assert started == [0, 1, 2]
        dones[1]()  # a second call frees nothing
        assert started == [0, 1, 2] and limiter.pending == 2
        dones[0]()
        dones[2]()
        assert started == [0, 1, 2, 3, 4]
        dones[3]()
        dones[4]()
        assert limiter.pending == 0 and limiter.queued == 0

    def test_zero_means_unlimited(self) -> None:
        limiter = ZlibLimiter(0)
        started: list[int] = []
        for n in range(50):
            limiter.add(functools.partial(lambda n, done: started.append(n), n))
        assert started == list(range(50))

    def test_first_instance_sets_the_global_limit(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(pmd_module, "_zlib_limiter", None)
        PerMessageDeflate({"concurrencyLimit": 3}, True, 0)
        PerMessageDeflate({"concurrencyLimit": 7}, False, 0)
        assert zlib_limiter().concurrency == 3
        monkeypatch.setattr(pmd_module, "_zlib_limiter", None)
        assert zlib_limiter().concurrency == DEFAULT_CONCURRENCY_LIMIT
        PerMessageDeflate({"concurrencyLimit": 3}, True, 0)
        assert zlib_limiter().concurrency == DEFAULT_CONCURRENCY_LIMIT

    def test_use_thread(self) -> None:
        assert not use_thread(COMPRESS_ASYNC_THRESHOLD - 1)
        assert use_thread(COMPRESS_ASYNC_THRESHOLD)


# ---------------------------------------------------------------------------
# Against Node's ws (the real PerMessageDeflate)
# ---------------------------------------------------------------------------

NODE_SCRIPT = r"""
'use strict';
const PerMessageDeflate = require(process.argv[1]);
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  const cases = JSON.parse(Buffer.concat(chunks).toString());
  const out = [];
  for (const c of cases) {
    try {
      out.push(await run(c));
    } catch (err) {
      out.push({ error: { name: err.constructor.name, message: err.message,
                          code: err.code || null } });
    }
  }
  process.stdout.write(JSON.stringify(out));
});
function make(c) {
  const opts = Object.assign({}, c.options, { isServer: c.isServer,
                                               maxPayload: c.maxPayload || 0 });
  return new PerMessageDeflate(opts);
}
function step(pmd, method, data, fin) {
  return new Promise((resolve, reject) => {
    pmd[method](data, fin, (err, res) => (err ? reject(err) : resolve(res)));
  });
}
async function run(c) {
  const pmd = make(c);
  if (c.op === 'offer') return { params: pmd.offer() };
  if (c.op === 'accept') return { params: pmd.accept(c.configs) };
  pmd.params = c.params;
  const method = c.op;  // 'compress' or 'decompress'
  const result = [];
  for (const message of c.messages) {
    const parts = [];
    for (let i = 0; i < message.length; i++) {
      const buf = Buffer.from(message[i], 'hex');
      parts.push((await step(pmd, method, buf, i === message.length - 1))
        .toString('hex'));
    }
    result.push(parts);
  }
  return { messages: result };
}
"""


def node_available() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not WS_PMD.exists():
        return "ws is not installed: run npm ci in test/interop"
    return None


needs_node = pytest.mark.skipif(
    node_available() is not None, reason=str(node_available())
)


def run_node(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        ["node", "-e", NODE_SCRIPT, str(WS_PMD)],
        input=json.dumps(cases).encode(),
        capture_output=True,
        timeout=NODE_TIMEOUT,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(results) == len(cases)
    return results


def python_result(case: dict[str, Any]) -> dict[str, Any]:
    """What pyws gives for a node case, in the node script's shape."""
    try:
        pmd = PerMessageDeflate(case["options"], case["isServer"], 0)
        if case["op"] == "offer":
            return {"params": pmd.offer()}
        return {"params": pmd.accept(case["configs"])}
    except NegotiationTypeError as exc:
        return {"error": {"name": "TypeError", "message": str(exc), "code": None}}
    except NegotiationError as exc:
        return {"error": {"name": "Error", "message": str(exc), "code": None}}


def option_matrix() -> Iterator[dict[str, Any]]:
    choices: dict[str, list[Any]] = {
        "serverNoContextTakeover": [None, True, False],
        "clientNoContextTakeover": [None, True, False],
        "serverMaxWindowBits": [None, 10, False],
        "clientMaxWindowBits": [None, 10, True, False],
    }
    for values in itertools.product(*choices.values()):
        yield {k: v for k, v in zip(choices, values, strict=True) if v is not None}


SERVER_OFFERS: list[list[dict[str, Any]]] = [
    [{}],
    [{"client_max_window_bits": [True]}],
    [{"client_max_window_bits": ["9"]}],
    [{"client_max_window_bits": ["10"]}],
    [{"client_max_window_bits": ["15"]}],
    [{"server_no_context_takeover": [True]}],
    [{"client_no_context_takeover": [True]}],
    [{"server_max_window_bits": ["9"]}],
    [{"server_max_window_bits": ["10"]}],
    [{"server_max_window_bits": ["14"]}],
    [
        {"server_no_context_takeover": [True], "server_max_window_bits": ["8"]},
        {"server_max_window_bits": ["12"], "client_max_window_bits": [True]},
        {"client_max_window_bits": ["11"]},
        {},
    ],
    [
        {
            "server_no_context_takeover": [True],
            "client_no_context_takeover": [True],
            "server_max_window_bits": ["11"],
            "client_max_window_bits": ["12"],
        }
    ],
    [{"client_max_window_bits": ["7"]}],
    [{"client_max_window_bits": ["0x9"]}],
    [{"client_max_window_bits": ["1e1"]}],
    [{"client_max_window_bits": ["9.5"]}],
    [{"client_max_window_bits": ["+9"]}],
    [{"client_max_window_bits": ["09"]}],
    [{"server_max_window_bits": ["010"]}],
    [{"server_max_window_bits": ["10.0"]}],
    [{"client_max_window_bits": [""]}],
    [{"server_max_window_bits": [True]}],
    [{"server_max_window_bits": ["16"]}],
    [{"server_max_window_bits": ["abc"]}],
    [{"server_no_context_takeover": ["1"]}],
    [{"client_no_context_takeover": ["x"]}],
    [{"client_max_window_bits": ["9", "10"]}],
    [{"foo": [True]}],
    [{}, {"bar": ["1"]}],
    [],
]

CLIENT_RESPONSES: list[list[dict[str, Any]]] = [
    [{}],
    [{"client_max_window_bits": ["9"]}],
    [{"client_max_window_bits": ["10"]}],
    [{"client_max_window_bits": ["11"]}],
    [{"client_max_window_bits": [True]}],
    [{"client_no_context_takeover": [True]}],
    [{"server_no_context_takeover": [True]}],
    [{"server_max_window_bits": ["8"]}],
    [
        {"server_no_context_takeover": [True], "client_no_context_takeover": [True]},
        {"client_max_window_bits": ["15"]},
    ],
    [{}, {"client_max_window_bits": ["16"]}],
    [{"server_max_window_bits": ["x"]}],
    [{"baz": [True]}],
]


@pytest.mark.interop
@needs_node
class TestAgainstNode:
    """pyws and Node's ws ``PerMessageDeflate``, case by case."""

    def test_negotiation_matches_ws(self) -> None:
        cases: list[dict[str, Any]] = []
        for options in option_matrix():
            cases.append({"op": "offer", "options": options, "isServer": False})
            for offers in SERVER_OFFERS:
                if offers:  # ws crashes on an empty list; pyws raises
                    cases.append(
                        {
                            "op": "accept",
                            "options": options,
                            "isServer": True,
                            "configs": offers,
                        }
                    )
            for response in CLIENT_RESPONSES:
                cases.append(
                    {
                        "op": "accept",
                        "options": options,
                        "isServer": False,
                        "configs": response,
                    }
                )
        expected = run_node(cases)
        mismatches = [
            (case, want, got)
            for case, want in zip(cases, expected, strict=True)
            if (got := python_result(case)) != want
        ]
        assert mismatches == [], f"{len(mismatches)} of {len(cases)}: {mismatches[:5]}"
        # The matrix exercises successes and both error classes.
        kinds = {("error" in r) and r["error"]["name"] for r in expected}
        assert kinds == {False, "Error", "TypeError"}

    @staticmethod
    @functools.cache
    def data_cases() -> list[tuple[dict[str, Any], list[list[bytes]]]]:
        messages = [
            [sample(3000, 1)],
            [sample(3000, 1)],
            [b""],
            [sample(100, 2), b"", sample(20000, 3), sample(5, 4)],
            [random.Random(9).randbytes(2000) * 4],
            [bytes(70000)],
            [b"a", b""],
        ]
        out = []
        for bits in range(8, 16):
            for nct in (
                {},
                {
                    "server_no_context_takeover": True,
                    "client_no_context_takeover": True,
                },
            ):
                params = {
                    **nct,
                    "server_max_window_bits": bits,
                    "client_max_window_bits": bits,
                }
                out.append((params, messages))
        out.append(({"server_no_context_takeover": True}, messages))
        out.append(({"client_no_context_takeover": True}, messages))
        return out

    @pytest.mark.parametrize("node_is_server", [True, False])
    def test_node_deflates_pyws_inflates(self, node_is_server: bool) -> None:
        cases = [
            {
                "op": "compress",
                "options": {},
                "isServer": node_is_server,
                "params": params,
                "messages": [[f.hex() for f in m] for m in messages],
            }
            for params, messages in self.data_cases()
        ]
        results = run_node(cases)
        for (params, messages), result in zip(self.data_cases(), results, strict=True):
            ours = PerMessageDeflate(None, not node_is_server, 0)
            ours.params = params
            for message, payloads in zip(messages, result["messages"], strict=True):
                got = receive(ours, [bytes.fromhex(p) for p in payloads])
                assert got == b"".join(message), params

    @pytest.mark.parametrize("node_is_server", [True, False])
    def test_pyws_deflates_node_inflates(self, node_is_server: bool) -> None:
        cases = []
        for params, messages in self.data_cases():
            ours = PerMessageDeflate(None, not node_is_server, 0)
            ours.params = params
            cases.append(
                {
                    "op": "decompress",
                    "options": {},
                    "isServer": node_is_server,
                    "params": params,
                    "messages": [[p.hex() for p in send(ours, m)] for m in messages],
                }
            )
        results = run_node(cases)
        for (params, messages), result in zip(self.data_cases(), results, strict=True):
            assert "error" not in result, (params, result)
            for message, parts in zip(messages, result["messages"], strict=True):
                assert b"".join(bytes.fromhex(p) for p in parts) == b"".join(message)

    def test_node_refuses_the_bomb_too(self) -> None:
        # Same limit, same error: ws's code and message.
        bomb = TestMaxPayload.bomb(1)[: 64 * 1024]
        case = {
            "op": "decompress",
            "options": {},
            "isServer": True,
            "maxPayload": MiB,
            "params": {},
            "messages": [[bomb.hex()]],
        }
        [result] = run_node([case])
        srv, _ = pair({}, max_payload=MiB)
        with pytest.raises(FrameRangeError) as info:
            srv.decompress(bomb, True)
        assert result["error"] == {
            "name": "RangeError",
            "message": str(info.value),
            "code": info.value.code,
        }

    def test_node_inflate_error_message(self) -> None:
        case = {
            "op": "decompress",
            "options": {},
            "isServer": True,
            "params": {},
            "messages": [[b"\xff\xff\xff\xff".hex()]],
        }
        [result] = run_node([case])
        srv, _ = pair({})
        with pytest.raises(InflateError) as info:
            srv.decompress(b"\xff\xff\xff\xff", True)
        assert result["error"]["message"] == str(info.value)
        assert result["error"]["code"] == info.value.code


class TestSharedOutput:
    """Compress once for many connections (the server's broadcast)."""

    def test_key_only_without_context_takeover(self) -> None:
        takeover, _ = pair({})
        assert takeover.shared_output_key() is None
        a, _ = pair({"server_no_context_takeover": True})
        b, _ = pair({"server_no_context_takeover": True})
        assert a.shared_output_key() is not None
        assert a.shared_output_key() == b.shared_output_key()

    def test_key_follows_window_bits_and_zlib_options(self) -> None:
        nct = {"server_no_context_takeover": True}
        base, _ = pair(nct)
        w10, _ = pair({**nct, "server_max_window_bits": 10})
        w8, _ = pair({**nct, "server_max_window_bits": 8})
        w9, _ = pair({**nct, "server_max_window_bits": 9})
        level, _ = pair(nct, {"zlibDeflateOptions": {"level": 6}})
        small, _ = pair(nct, {"threshold": 10})
        keys = [k.shared_output_key() for k in (base, w10, w9, level, small)]
        assert len(set(keys)) == 5
        # 8 bits deflate with 9 (see the module docstring): the same output.
        assert w8.shared_output_key() == w9.shared_output_key()

    # (agreed params, server options) changed from the base below, and whether
    # the change alters the server's compressed bytes. The values that alter
    # them were picked so that the sample's output does differ.
    KEY_CASES = [
        ("level", {}, {"zlibDeflateOptions": {"level": 6}}, True),
        ("mem_level", {}, {"zlibDeflateOptions": {"memLevel": 4}}, True),
        ("strategy", {}, {"zlibDeflateOptions": {"strategy": 2}}, True),
        ("own_window", {"server_max_window_bits": 10}, {}, True),
        ("chunk_size", {}, {"zlibDeflateOptions": {"chunkSize": 1024}}, False),
        # ws forces the negotiated window bits over zlib's windowBits.
        ("zlib_window", {}, {"zlibDeflateOptions": {"windowBits": 10}}, False),
        ("inflate_opts", {}, {"zlibInflateOptions": {"level": 6}}, False),
        ("peer_window", {"client_max_window_bits": 10}, {}, False),
        ("peer_nct", {"client_no_context_takeover": True}, {}, False),
        ("offer_opts", {}, {"serverMaxWindowBits": 12, "concurrencyLimit": 3}, False),
    ]

    @pytest.mark.parametrize(
        ("params", "options", "alters"),
        [case[1:] for case in KEY_CASES],
        ids=[case[0] for case in KEY_CASES],
    )
    def test_key_changes_exactly_with_output(
        self, params: dict[str, Any], options: dict[str, Any], alters: bool
    ) -> None:
        nct = {"server_no_context_takeover": True}
        base, _ = pair(nct)
        changed, _ = pair({**nct, **params}, options)
        noise = random.Random(2).randbytes(3000)
        data = sample(20000) + noise
        base_out = base.compress_message(data)
        changed_out = changed.compress_message(data)
        assert (changed_out != base_out) is alters
        assert (changed.shared_output_key() != base.shared_output_key()) is alters
        # What a connection's own deflater sends matches the shared output.
        assert changed.compress(data, True) == changed_out

    def test_key_holds_threshold_not_in_output(self) -> None:
        nct = {"server_no_context_takeover": True}
        base, _ = pair(nct)
        small, _ = pair(nct, {"threshold": 10})
        data = sample(5000)
        assert small.compress_message(data) == base.compress_message(data)
        # Equal keys must also agree on which messages go out uncompressed.
        assert small.shared_output_key() != base.shared_output_key()

    def test_client_side_key(self) -> None:
        _, cli = pair({"client_no_context_takeover": True})
        assert cli.shared_output_key() is not None
        _, cli = pair({"server_no_context_takeover": True})
        assert cli.shared_output_key() is None

    @pytest.mark.parametrize("bits", [9, 12, 15])
    def test_output_equals_compress_and_inflates(self, bits: int) -> None:
        params = {"server_no_context_takeover": True, "server_max_window_bits": bits}
        srv, cli = pair(params)
        other, _ = pair(params)
        data = sample(5000)
        once = srv.compress_message(data)
        assert once == other.compress(data, True)
        assert receive(cli, [once]) == data
        # compress_message leaves the instance's own stream alone.
        assert srv.compress(b"abc", True) == other.compress(b"abc", True)


class TestNegotiate:
    """The server's side of the negotiation, shared by WebSocketServer and
    the ASGI protocol (ws ``handleUpgrade``)."""

    def offers(self, header: str) -> Any:
        return extension.parse(header)

    def test_off_or_not_offered_is_none(self) -> None:
        offers = self.offers("permessage-deflate")
        assert negotiate(None, offers, 100) is None
        assert negotiate({}, None, 100) is None
        assert negotiate({}, self.offers("x-other"), 100) is None

    def test_first_acceptable_offer_is_agreed(self) -> None:
        offers = self.offers(
            "permessage-deflate; server_max_window_bits=8, "
            "permessage-deflate; server_no_context_takeover"
        )
        deflate = negotiate({"serverMaxWindowBits": 10}, offers, 100)
        assert deflate is not None
        assert deflate.params == {
            "server_no_context_takeover": True,
            "server_max_window_bits": 10,
        }
        assert response_header(deflate) == (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
        )

    def test_defaults_agree_as_a_server_built_by_hand(self) -> None:
        offers = self.offers("permessage-deflate; client_max_window_bits")
        deflate = negotiate({}, offers, 100)
        by_hand = PerMessageDeflate({}, True, 100)
        by_hand.accept(offers["permessage-deflate"])
        assert deflate is not None
        assert deflate.params == by_hand.params
        assert response_header(deflate) == extension.format(
            {"permessage-deflate": by_hand.params}
        )

    def test_nothing_acceptable_raises(self) -> None:
        offers = self.offers("permessage-deflate; server_max_window_bits=8")
        with pytest.raises(NegotiationError):
            negotiate({"serverMaxWindowBits": 10}, offers, 100)
