"""The client's TLS, address family and proxy options, without a network.

:mod:`pyws._tls` maps ws's ``tls.connect`` options onto an
``ssl.SSLContext`` (the loopback tests in ``test/integration/test_tls.py``
show each one on a real handshake); :mod:`pyws._proxy` picks the proxy from
the ``proxy`` option or the environment, as :mod:`urllib.request` reads it.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest

from pyws import _proxy, _tls
from pyws._options import CLIENT_OPTIONS, parse_options


def options(**kwargs: Any) -> dict[str, Any]:
    return parse_options(CLIENT_OPTIONS, None, kwargs, "WebSocket")


class TestContext:
    def test_defaults_verify(self) -> None:
        ctx = _tls.client_context(options())
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname

    def test_reject_unauthorized_false(self) -> None:
        ctx = _tls.client_context(options(rejectUnauthorized=False))
        assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname

    def test_check_server_identity_replaces_the_host_name_check(self) -> None:
        ctx = _tls.client_context(options(checkServerIdentity=lambda h, c: None))
        assert ctx.verify_mode == ssl.CERT_REQUIRED and not ctx.check_hostname

    def test_versions_and_secure_options(self) -> None:
        ctx = _tls.client_context(
            options(
                minVersion="TLSv1.2",
                max_version="TLSv1.3",
                secureOptions=ssl.OP_NO_TICKET,
            )
        )
        assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
        assert ctx.maximum_version == ssl.TLSVersion.TLSv1_3
        assert ctx.options & ssl.OP_NO_TICKET

    def test_ciphers(self) -> None:
        ctx = _tls.client_context(options(ciphers="ECDHE-RSA-AES128-GCM-SHA256"))
        names = {c["name"] for c in ctx.get_ciphers()}
        # TLS 1.3 suites are configured apart; the 1.2 list is the one given.
        assert "ECDHE-RSA-AES128-GCM-SHA256" in names
        assert "ECDHE-RSA-AES256-GCM-SHA384" not in names

    def test_an_ssl_context_is_used_as_is(self) -> None:
        given = ssl.create_default_context()
        assert _tls.client_context(options(ssl=given)) is given
        with pytest.raises(TypeError, match="cannot be combined with 'ciphers'"):
            _tls.client_context(options(ssl=given, ciphers="HIGH"))

    @pytest.mark.parametrize("curve", ["P-256", "P-384", "P-521", "prime256v1", "auto"])
    def test_curves(self, curve: str) -> None:
        _tls.client_context(options(ecdhCurve=curve))

    def test_unknown_curve(self) -> None:
        with pytest.raises(ValueError):
            _tls.client_context(options(ecdhCurve="no-such-curve"))

    def test_option_types(self) -> None:
        with pytest.raises(TypeError, match="'passphrase' must be str"):
            options(passphrase=b"x")
        with pytest.raises(TypeError, match="'check_server_identity' must be callable"):
            options(check_server_identity="no")
        with pytest.raises(TypeError, match="given twice"):
            options(ecdhCurve="auto", ecdh_curve="auto")
        with pytest.raises(TypeError, match="'ca' must be str or bytes"):
            _tls.client_context(options(ca=[1]))


class TestFamily:
    @pytest.mark.parametrize(
        ("value", "family"),
        [
            (None, socket.AF_UNSPEC),
            (0, socket.AF_UNSPEC),
            (4, socket.AF_INET),
            (6, socket.AF_INET6),
            (socket.AF_INET, socket.AF_INET),
            (socket.AF_INET6, socket.AF_INET6),
            (int(socket.AF_INET6), socket.AF_INET6),
        ],
    )
    def test_mapping(self, value: int | None, family: int) -> None:
        assert _tls.address_family(value) == family

    @pytest.mark.parametrize("value", [1, 5, 23, 30, -1])
    def test_others_refused(self, value: int) -> None:
        if value == socket.AF_INET6:
            pytest.skip("AF_INET6 has this value here")
        with pytest.raises(ValueError, match="'family' must be 4, 6, 0"):
            _tls.address_family(value)


PROXY_VARS = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "ws_proxy",
    "wss_proxy",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)
    return monkeypatch


class TestProxyURL:
    @pytest.mark.parametrize(
        ("url", "parsed"),
        [
            ("http://p:3128", ("http", "p", 3128, None, None)),
            ("http://p", ("http", "p", 80, None, None)),
            ("p:8080", ("http", "p", 8080, None, None)),
            ("HTTP://u:pw@p:1", ("http", "p", 1, "u", "pw")),
            ("socks5://us%40r:p%3Aw@[::1]", ("socks5", "::1", 1080, "us@r", "p:w")),
            ("socks5h://p:9", ("socks5h", "p", 9, None, None)),
            ("socks4://p", ("socks4", "p", 1080, None, None)),
            ("socks4a://p", ("socks4a", "p", 1080, None, None)),
        ],
    )
    def test_parse(self, url: str, parsed: tuple[Any, ...]) -> None:
        p = _proxy.parse(url)
        assert (p.scheme, p.host, p.port, p.username, p.password) == parsed

    @pytest.mark.parametrize("url", ["https://p:1", "ftp://p", "http://", "http://p:x"])
    def test_refused(self, url: str) -> None:
        with pytest.raises(ValueError):
            _proxy.parse(url)

    def test_display_hides_credentials(self) -> None:
        assert _proxy.parse("socks5://u:secret@[::1]:9").display == "socks5://[::1]:9"


class TestProxyChoice:
    def test_explicit(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("HTTP_PROXY", "http://env:1")
        chosen = _proxy.choose("socks5://p:2", "h", 80, False)
        assert chosen is not None and (chosen.host, chosen.port) == ("p", 2)

    @pytest.mark.parametrize("off", [False, None])
    def test_off_ignores_the_environment(
        self, env: pytest.MonkeyPatch, off: bool | None
    ) -> None:
        env.setenv("HTTP_PROXY", "http://env:1")
        env.setenv("ALL_PROXY", "http://env:1")
        assert _proxy.choose(off, "h", 80, False) is None

    def test_nothing_set(self, env: pytest.MonkeyPatch) -> None:
        assert _proxy.choose(True, "h", 80, False) is None
        assert _proxy.choose(True, "h", 443, True) is None

    def test_scheme_precedence(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("ALL_PROXY", "socks5://all:1")
        assert _proxy.choose(True, "h", 80, False).host == "all"  # type: ignore[union-attr]
        env.setenv("HTTP_PROXY", "http://plain:1")
        env.setenv("HTTPS_PROXY", "http://secure:1")
        assert _proxy.choose(True, "h", 80, False).host == "plain"  # type: ignore[union-attr]
        assert _proxy.choose(True, "h", 443, True).host == "secure"  # type: ignore[union-attr]
        env.setenv("WSS_PROXY", "http://wss:1")
        assert _proxy.choose(True, "h", 443, True).host == "wss"  # type: ignore[union-attr]

    def test_lower_case_wins(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("HTTP_PROXY", "http://upper:1")
        env.setenv("http_proxy", "http://lower:1")
        assert _proxy.choose(True, "h", 80, False).host == "lower"  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("no_proxy", "host", "bypassed"),
        [
            ("*", "anything", True),
            ("example.com", "example.com", True),
            ("example.com", "ws.example.com", True),
            (".example.com", "ws.example.com", True),
            ("example.com", "example.org", False),
            ("localhost,127.0.0.1", "127.0.0.1", True),
            ("h:8080", "h", False),
        ],
    )
    def test_no_proxy(
        self, env: pytest.MonkeyPatch, no_proxy: str, host: str, bypassed: bool
    ) -> None:
        env.setenv("HTTP_PROXY", "http://p:1")
        env.setenv("NO_PROXY", no_proxy)
        assert (_proxy.choose(True, host, 80, False) is None) == bypassed

    def test_http_proxy_ignored_under_cgi(self, env: pytest.MonkeyPatch) -> None:
        # httpoxy: a CGI request can set HTTP_PROXY through a Proxy header.
        env.setenv("REQUEST_METHOD", "GET")
        env.setenv("HTTP_PROXY", "http://p:1")
        assert _proxy.choose(True, "h", 80, False) is None

    def test_bad_url_in_the_environment(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("HTTP_PROXY", "ftp://p:1")
        with pytest.raises(ValueError, match="Unsupported proxy scheme"):
            _proxy.choose(True, "h", 80, False)

    def test_option(self) -> None:
        assert options()["proxy"] is True
        assert options(proxy=False)["proxy"] is False
        with pytest.raises(TypeError, match="'proxy' must be str"):
            options(proxy=1)
