"""Proxies for the client: HTTP CONNECT, SOCKS4 and SOCKS5.

ws users pass an ``agent`` (an ``http.Agent`` from a proxy-agent package);
pyws has a ``proxy`` option instead:

- a URL: ``http://[user:password@]host[:port]`` (HTTP CONNECT, port 80 by
  default), ``socks4://``, ``socks4a://``, ``socks5://`` or ``socks5h://``
  (port 1080 by default; ``socks4a`` and ``socks5h`` let the proxy resolve
  the name). A URL without a scheme is an HTTP proxy. Credentials in the
  URL are percent-decoded.
- ``True`` (the default): the environment, as :mod:`urllib.request` reads
  it (``ws_proxy``/``WS_PROXY``, then ``http_proxy``/``HTTP_PROXY`` for
  ``ws:``; ``wss_proxy``, then ``https_proxy`` for ``wss:``; then
  ``all_proxy``; lower case wins; ``no_proxy`` lists hosts to reach
  directly; ``HTTP_PROXY`` is ignored under CGI).
- ``False`` or ``None``: connect directly, whatever the environment says.

:func:`choose` decides, before anything connects; :func:`open_tunnel`
connects through the proxy (``python-socks``) and returns the socket, on
which the caller starts TLS if the URL is ``wss:``.

Transport layer: asyncio, no pyee.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .errors import HandshakeError

__all__ = ["ProxyURL", "choose", "parse", "open_tunnel"]

#: scheme -> (python-socks ProxyType name, default port, resolve names at
#: the proxy). python-socks is imported on first use (it costs more to
#: import than the rest of the client).
_SCHEMES: dict[str, tuple[str, int, bool]] = {
    "http": ("HTTP", 80, True),
    "socks4": ("SOCKS4", 1080, False),
    "socks4a": ("SOCKS4", 1080, True),
    "socks5": ("SOCKS5", 1080, False),
    "socks5h": ("SOCKS5", 1080, True),
}


@dataclass(frozen=True)
class ProxyURL:
    """A parsed proxy URL."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @property
    def display(self) -> str:
        """The URL without credentials (for messages)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse(url: str) -> ProxyURL:
    """Parse a proxy URL.

    Raises:
        ValueError: an unsupported scheme, no host, a bad port.
    """
    text = url if "://" in url else f"http://{url}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"Invalid proxy URL: {url}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(
            f"Unsupported proxy scheme {scheme!r} in {url!r} "
            "(http, socks4, socks4a, socks5, socks5h)"
        )
    if not parts.hostname:
        raise ValueError(f"Invalid proxy URL: {url}")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return ProxyURL(
        scheme,
        parts.hostname,
        port or _SCHEMES[scheme][1],
        username,
        password,
    )


#: Where urllib reads only the environment, a look at the names that can
#: apply spares the slower ``getproxies()`` (about 150 us) when none is set.
_ENV_ONLY = sys.platform not in ("darwin", "win32")

#: The ``getproxies()`` keys that apply, in order, per ``secure``.
_SCHEMES_FOR = {True: ("wss", "https", "all"), False: ("ws", "http", "all")}

#: The variables that can name such a proxy, in both of the spellings the
#: docs list (docs/howto/proxies.md).
_NAMES = {
    secure: tuple(
        spelling
        for scheme in schemes
        for spelling in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY")
    )
    for secure, schemes in _SCHEMES_FOR.items()
}


def _from_environment(host: str, port: int, secure: bool) -> str | None:
    if _ENV_ONLY:
        environ = os.environ
        if not any(environ.get(name) for name in _NAMES[secure]):
            return None
    import urllib.request  # on first use: it imports http.client, email, ...

    proxies = urllib.request.getproxies()
    url = next((proxies[k] for k in _SCHEMES_FOR[secure] if proxies.get(k)), None)
    if url is None:
        return None
    where = f"[{host}]" if ":" in host else host
    if urllib.request.proxy_bypass(f"{where}:{port}"):
        return None
    return url


def choose(option: object, host: str, port: int, secure: bool) -> ProxyURL | None:
    """The proxy for one connection, from the ``proxy`` option.

    Args:
        option: ``True`` (the environment), ``False``/``None`` (none) or a URL.
        host, port: where the WebSocket connects.
        secure: ``wss:``.

    Raises:
        ValueError: the URL (given or from the environment) is not usable.
    """
    if option is None or option is False:
        return None
    url = _from_environment(host, port, secure) if option is True else str(option)
    return None if url is None else parse(url)


async def open_tunnel(
    proxy: ProxyURL,
    host: str,
    port: int,
    loop: asyncio.AbstractEventLoop,
) -> socket.socket:
    """Connect to ``host:port`` through ``proxy``; return the socket.

    The caller bounds the wait (``handshakeTimeout`` cancels it);
    python-socks gives up after 60 s on its own.

    Raises:
        OSError: the proxy cannot be reached (python-socks'
            ``ProxyConnectionError``) or did not answer in time
            (``ProxyTimeoutError``).
        HandshakeError: the proxy refused (credentials, target): the
            message says which proxy and why; python-socks' ``ProxyError``
            is its ``__cause__``.
    """
    from python_socks import ProxyError, ProxyType
    from python_socks.async_.asyncio import Proxy

    kind, _, remote_dns = _SCHEMES[proxy.scheme]
    tunnel = Proxy(
        ProxyType[kind],
        proxy.host,
        proxy.port,
        proxy.username,
        proxy.password,
        rdns=remote_dns,
        loop=loop,
    )
    try:
        return await tunnel.connect(host, port)
    except ProxyError as exc:
        raise HandshakeError(f"Proxy {proxy.display} refused: {exc}") from exc
