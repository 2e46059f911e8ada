"""The client's opening handshake on asyncio (ws ``initAsClient``).

:func:`start_client` validates the URL, subprotocols and options
synchronously (raising what ws throws), then connects on the loop. The
handshake runs in :class:`ClientHandshake`, an ``asyncio.Protocol`` that
writes the request, parses the response with a bounded parser, checks it
(ws's messages) and hands the transport to its owner, which switches it to
framing with ``set_protocol``. ``handshakeTimeout`` bounds the whole
handshake, connecting included.

The handshake knows its owner only through :class:`ClientOwner`: every
outcome (opened, failed, dropped) and every event ws emits during the
handshake (``'upgrade'``, ``'unexpected-response'``, ``'redirect'``) is one
method call there. ``WebSocket`` implements it in :mod:`pyws.websocket`.

Transport layer: imports the core and asyncio, not pyee.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl as ssl_module
from collections.abc import Mapping
from typing import Any, Protocol, cast
from urllib.parse import unquote

from . import _proxy, _tls
from . import extension as extension_mod
from ._callbacks import fit
from .errors import HandshakeError, RangeError, WsSyntaxError
from .handshake import (
    HTTPParseError,
    Response,
    ResponseParser,
    build_request,
    check_response,
    generate_key,
    is_upgrade,
    validate_subprotocols,
)
from .permessage_deflate import PerMessageDeflate, normalize_option

__all__ = ["start_client", "ClientRequest", "ClientHandshake", "ClientOwner"]


class ClientOwner(Protocol):
    """What a :class:`ClientHandshake` reports to (a client ``WebSocket``).

    Each method runs on the loop, at most in the order the handshake can
    produce them; once ``handshake_opened``, ``handshake_failed`` or
    ``handshake_dropped`` was called, nothing more is.
    """

    @property
    def websocket(self) -> Any:
        """The object user callbacks get as the WebSocket
        (``finishRequest(req, ws)``)."""
        ...

    def listener_count(self, event: str) -> int:
        """How many listeners the owner has for ``event``."""
        ...

    def handshake_upgrade(self, res: Response) -> bool:
        """A 101 arrived (before any check): emit ``'upgrade'``. Return
        False if a listener closed or terminated the WebSocket."""
        ...

    def handshake_unexpected_response(self, req: ClientRequest, res: Response) -> None:
        """A non-101 response with an ``'unexpected-response'`` listener:
        emit it; the listener decides what happens next."""
        ...

    def handshake_redirect(self, url: str, nxt: ClientHandshake) -> bool:
        """Following a redirect: record ``url`` and ``nxt`` as the handshake
        in progress, emit ``'redirect'(url, nxt.request)``. Return False if a
        listener closed or terminated the WebSocket."""
        ...

    def handshake_opened(
        self,
        transport: asyncio.Transport,
        loop: asyncio.AbstractEventLoop,
        head: bytes,
        protocol: str,
        extension: PerMessageDeflate | None,
        extensions_header: str,
    ) -> None:
        """The upgrade succeeded: take ``transport`` over (``head`` is what
        followed the response head) and emit ``'open'``."""
        ...

    def handshake_failed(self, err: BaseException) -> None:
        """The handshake failed: ``'error'`` then ``'close'`` 1006."""
        ...

    def handshake_dropped(self) -> None:
        """``req.abort()`` from an ``'unexpected-response'`` listener:
        ``'close'`` 1006 on the next turn, no ``'error'``."""
        ...

    def handshake_idle(self) -> None:
        """The server closed the socket after a response that went to
        ``'unexpected-response'``: nothing is pending until the user calls
        ``req.abort()``, ``close()`` or ``terminate()`` (a Node process
        with nothing else to do would exit here)."""
        ...


_PROTOCOL_MESSAGE = (
    'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"'
)


_URL_PARTS = ("href", "protocol", "hostname", "port", "pathname", "search", "hash")


def _url_text(address: Any) -> str:
    if isinstance(address, str):
        return address
    href = getattr(address, "href", None)  # a URL object (ada_url.URL)
    return href if isinstance(href, str) else str(address)


class _Target:
    """Where and what to connect, from a URL (ws ``initAsClient``).

    The URL is parsed by ada (``ada-url``), the WHATWG URL parser Node's
    ``new URL()`` uses, so ``href`` is Node's: scheme and host in lower
    case, the default port dropped, international names in punycode,
    spaces and other characters percent-encoded in the path.

    Args:
        address: the URL (a ``str``, or an object with ``href``).
        base: for a redirect, the URL ``address`` is relative to.

    Raises:
        WsSyntaxError: ws's messages (``Invalid URL: ...``, the protocol,
            an empty ``ws+unix:`` path, a fragment).
    """

    def __init__(self, address: Any, base: str | None = None) -> None:
        # Imported on the first client URL, not with pyws: a server never
        # loads it, and on CPython 3.13t its cffi backend (cffi 1.x, which
        # declares no free-threading support) would turn the GIL back on
        # for the whole process.
        import ada_url

        text = _url_text(address)
        try:
            absolute = ada_url.join_url(base, text) if base is not None else text
            # One call for every part needed (each attribute of an ada URL
            # object is a call of its own).
            url = ada_url.parse_url(absolute, _URL_PARTS)
        except ValueError:
            raise WsSyntaxError(f"Invalid URL: {text}") from None
        href: str = url["href"]
        protocol: str = url["protocol"]
        # http: and https: have the default ports of ws: and wss:, so the
        # scheme is all that changes (ws: new URL() + protocol setter).
        if protocol == "http:":
            protocol, href = "ws:", "ws" + href[4:]
        elif protocol == "https:":
            protocol, href = "wss:", "wss" + href[5:]
        self.address = text if base is None else href
        self.href = href
        self.secure = protocol == "wss:"
        ipc = protocol == "ws+unix:"
        if protocol != "ws:" and not self.secure and not ipc:
            raise WsSyntaxError(_PROTOCOL_MESSAGE)
        pathname: str = url["pathname"]
        if ipc and not pathname:
            raise WsSyntaxError("The URL's pathname is empty")
        if url["hash"]:
            raise WsSyntaxError("The URL contains a fragment identifier")
        self.default_port = 443 if self.secure else 80
        path = pathname + url["search"]
        self.unix_path: str | None = None
        hostname: str = url["hostname"]
        port: str = url["port"]
        if ipc:
            sock_path, sep, path = path.partition(":")
            self.unix_path = sock_path
            # Node's ClientRequest: no host means 'localhost', no path '/'.
            self.host = "localhost"
            self.port: int | None = None
        else:
            self.host = hostname[1:-1] if hostname.startswith("[") else hostname
            self.port = int(port) if port else None
        self.path = path or "/"
        #: ``host[:port]`` as the URL has it (ws compares it on redirects).
        self.authority = f"{hostname}:{port}" if port else hostname
        self.auth: str | None = None
        if "@" in href:
            creds = ada_url.parse_url(absolute, ("username", "password"))
            username, password = creds["username"], creds["password"]
            if username or password:
                self.auth = unquote(username) + ":" + unquote(password)


class ClientRequest:
    """The upgrade request, as ws hands it to ``finishRequest``,
    ``'unexpected-response'`` and ``'redirect'``.

    ``end()`` sends it (a ``finishRequest`` callback must call it);
    ``abort()`` (or ``destroy()``) drops the connection, as Node's
    ``req.abort()``.
    """

    def __init__(self, handshake: ClientHandshake, method: str, path: str) -> None:
        self._handshake = handshake
        self.method = method
        self.path = path
        self.aborted = False
        self.finished = False
        self._data: bytes | None = None

    def end(self) -> None:
        """Send the request (Node's ``req.end()``); later calls do nothing."""
        if self.finished or self.aborted:
            return
        self.finished = True
        transport = self._handshake.transport
        if self._data is not None and transport is not None:
            transport.write(self._data)

    def abort(self) -> None:
        """Drop the connection; the WebSocket then emits ``'close'`` 1006."""
        if not self.aborted:
            self.aborted = True
            self._handshake.user_abort()

    destroy = abort


def start_client(
    owner: ClientOwner,
    options: Mapping[str, Any],
    address: Any,
    protocols: Any,
    loop: asyncio.AbstractEventLoop,
) -> ClientHandshake:
    """Validate synchronously (ws's throws), then start connecting.

    Returns the handshake in progress; its ``target.href`` is the URL the
    WebSocket reports. ``options`` are the parsed client options (the
    handshake keeps its own copy: a redirect may drop credentials from it).
    """
    opts = dict(options)
    if opts.get("agent") is not None:
        raise TypeError(
            "option 'agent' (a Node http.Agent) does not exist in pyws: for a "
            "proxy pass proxy='http://host:port' or proxy='socks5://host:port'"
        )
    version = opts["protocolVersion"]
    if version not in (8, 13):
        raise RangeError(
            f"Unsupported protocol version: {version} (supported versions: 8, 13)"
        )
    target = _Target(address)
    if protocols is None:
        protocols = opts.get("protocols")
    protocol_list = validate_subprotocols(protocols)
    deflate: PerMessageDeflate | None = None
    pmd = normalize_option(opts.get("perMessageDeflate"))
    if pmd is not None:
        deflate = PerMessageDeflate(pmd, False, int(opts["maxPayload"]))
    handshake = ClientHandshake(owner, opts, loop, target, protocol_list, deflate, 0)
    # ws: http.request() and tls.connect() throw here, in the constructor.
    handshake.prepare()
    handshake.start()
    return handshake


class ClientHandshake(asyncio.Protocol):
    """One HTTP upgrade attempt (and its redirects)."""

    def __init__(
        self,
        owner: ClientOwner,
        options: dict[str, Any],
        loop: asyncio.AbstractEventLoop,
        target: _Target,
        protocols: list[str],
        deflate: PerMessageDeflate | None,
        redirects: int,
    ) -> None:
        self.owner = owner
        self.options = options
        self.loop = loop
        self.target = target
        self.protocols = protocols
        self.deflate = deflate
        self.redirects = redirects
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.key = generate_key()
        self.done = False
        self.user_aborted = False
        #: A non-101 response went to 'unexpected-response': the user decides.
        self.responded = False
        self._task: asyncio.Task[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.request = ClientRequest(self, "GET", target.path)
        self.ssl: ssl_module.SSLContext | None = None
        self.server_hostname: str | None = None
        self.proxy: _proxy.ProxyURL | None = None
        self.family: int = socket.AF_UNSPEC

    # -- starting ----------------------------------------------------------

    def prepare(self) -> None:
        """Everything that can fail before connecting, done before it.

        The TLS context (certificates, keys), the proxy, the address family
        and the request head: ws creates its request (``http.request``,
        ``tls.connect``) synchronously, so these errors are thrown by the
        constructor, or reported as the error of a redirect.

        Raises:
            ValueError, TypeError, OSError: what is wrong.
        """
        opts = self.options
        target = self.target
        if target.unix_path is None:
            self.family = _tls.address_family(opts.get("family"))
            self.proxy = _proxy.choose(
                opts.get("proxy"),
                target.host,
                target.port or target.default_port,
                target.secure,
            )
            if target.secure:
                self.ssl = _tls.client_context(opts)
                self.server_hostname = opts.get("servername") or target.host
        offer = None
        if self.deflate is not None:
            offer = extension_mod.format({"permessage-deflate": self.deflate.offer()})
        self.request._data = build_request(
            host=target.host,
            port=target.port,
            default_port=target.default_port,
            path=target.path,
            key=self.key,
            version=opts["protocolVersion"],
            protocols=self.protocols,
            extensions=offer,
            origin=opts.get("origin"),
            headers=opts.get("headers"),
            auth=target.auth or opts.get("auth"),
        )

    def start(self) -> None:
        opts = self.options
        timeout = opts.get("handshakeTimeout")
        if timeout is not None:
            self._timer = self.loop.call_later(timeout / 1000, self._on_timeout)
        self._task = self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        opts = self.options
        target = self.target
        port = target.port or target.default_port
        try:
            if target.unix_path is not None:
                await self.loop.create_unix_connection(lambda: self, target.unix_path)
            elif self.proxy is not None:
                sock = await _proxy.open_tunnel(
                    self.proxy, target.host, port, self.loop
                )
                try:
                    await self.loop.create_connection(
                        lambda: self,
                        sock=sock,
                        ssl=self.ssl,
                        server_hostname=self.server_hostname,
                    )
                except BaseException:
                    if self.transport is None:
                        sock.close()
                    raise
            else:
                local = opts.get("localAddress")
                await self.loop.create_connection(
                    lambda: self,
                    target.host,
                    port,
                    ssl=self.ssl,
                    server_hostname=self.server_hostname,
                    family=self.family,
                    local_addr=(local, 0) if local else None,
                )
        except asyncio.CancelledError:
            return
        except OSError as exc:
            code = errno.errorcode.get(exc.errno or 0)
            if code is not None and not hasattr(exc, "code"):
                exc.code = code  # type: ignore[attr-defined]
            self._fail(exc)
        except HandshakeError as exc:  # the proxy refused
            self._fail(exc)

    # -- asyncio.Protocol ----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses.
        self.transport = cast(asyncio.Transport, transport)
        if self.done:
            self.transport.abort()
            return
        opts = self.options
        if self.ssl is not None:
            refused = _tls.check_server_identity(
                opts,
                self.server_hostname or self.target.host,
                transport.get_extra_info("ssl_object"),
            )
            if refused is not None:
                self._fail(refused)
                return
        finish = opts.get("finishRequest")
        if finish is None:
            self.request.end()
            return
        # ws: finishRequest(req, ws) replaces req.end(); it must call end().
        try:
            fit(finish, 2)(self.request, self.owner.websocket)
        except Exception as exc:  # noqa: BLE001 - the user's callback failed
            self._fail(exc)

    def data_received(self, data: bytes) -> None:
        if self.done or self.responded:
            return  # a body after 'unexpected-response' is not read
        try:
            res = self.parser.feed(data)
        except HTTPParseError as exc:
            self._fail(exc)
            return
        if res is not None:
            self._on_response(res, self.parser.tail)

    def eof_received(self) -> bool:
        if self.responded:
            return False  # a complete response, then FIN: normal (ws)
        if not self.done:
            err = HandshakeError("socket hang up")
            err.code = "ECONNRESET"
            self._fail(err)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.responded:
            # ws: the response was delivered; the socket closing is no
            # error, and without a socket no timeout can fire either.
            if not self.done:
                self._cancel_timer()
                self.owner.handshake_idle()
            return
        if not self.done:
            err: BaseException = exc or HandshakeError("socket hang up")
            if exc is None:
                err.code = "ECONNRESET"  # type: ignore[attr-defined]
            self._fail(err)

    # -- outcomes ----------------------------------------------------------

    def _finish(self) -> None:
        self.done = True
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fail(self, err: BaseException) -> None:
        """Handshake failed: drop the socket; ``'error'``, ``'close'`` 1006."""
        if self.done:
            return
        self._finish()
        if self.transport is not None:
            self.transport.abort()
        elif self._task is not None:
            self._task.cancel()
        self.owner.handshake_failed(err)

    def abort(self) -> None:
        """``close()``/``terminate()`` while CONNECTING (the WebSocket reports)."""
        if self.done:
            return
        self._finish()
        if self.transport is not None:
            self.transport.abort()
        if self._task is not None:
            self._task.cancel()

    def user_abort(self) -> None:
        """``req.abort()`` from an ``'unexpected-response'`` listener."""
        if self.done:
            return
        self._finish()
        if self.transport is not None:
            self.transport.abort()
        self.owner.handshake_dropped()

    def _on_timeout(self) -> None:
        self._timer = None
        self._fail(HandshakeError("Opening handshake has timed out"))

    def _on_response(self, res: Response, tail: bytes) -> None:
        if res.statusCode != 101 or not is_upgrade(res):
            # A 101 without Upgrade and Connection: upgrade is an ordinary
            # response to Node's HTTP client: ws reports it as unexpected.
            self._on_other_response(res)
            return
        # ws emits 'upgrade' before checking anything; close()/terminate()
        # in a listener aborts and skips the checks.
        if not self.owner.handshake_upgrade(res) or self.done:
            return
        try:
            protocol, extensions = check_response(
                res,
                key=self.key,
                protocols=self.protocols,
                extensions_offered=self.deflate is not None,
            )
        except HandshakeError as exc:
            self._fail(exc)
            return
        extension = None
        names = ""
        if extensions:
            assert self.deflate is not None
            try:
                self.deflate.accept(extensions["permessage-deflate"])
            except Exception:  # noqa: BLE001 - ws maps every failure to one message
                self._fail(HandshakeError("Invalid Sec-WebSocket-Extensions header"))
                return
            extension = self.deflate
            names = "permessage-deflate"
        self._finish()
        transport = self.transport
        assert transport is not None
        self.owner.handshake_opened(
            transport, self.loop, tail, protocol, extension, names
        )

    def _on_other_response(self, res: Response) -> None:
        opts = self.options
        location = res.headers.get("location")
        if opts.get("followRedirects") and 300 <= res.statusCode < 400 and location:
            self._redirect(str(location))
            return
        if self.owner.listener_count("unexpected-response"):
            # ws does nothing else: the listener decides (req.abort(),
            # ws.close() or ws.terminate()); the server may close meanwhile.
            self.responded = True
            self.owner.handshake_unexpected_response(self.request, res)
            return
        self._fail(HandshakeError(f"Unexpected server response: {res.statusCode}"))

    def _redirect(self, location: str) -> None:
        opts = self.options
        if self.redirects >= opts["maxRedirects"]:
            self._fail(HandshakeError("Maximum redirects exceeded"))
            return
        try:
            target = _Target(location, self.target.address)
        except WsSyntaxError as exc:
            self._fail(exc)
            return
        owner = self.owner
        # Without a 'redirect' listener, credentials do not follow a hop to
        # another host or down from wss to ws (ws, after curl 7.77).
        if not owner.listener_count("redirect"):
            same_host = (target.unix_path, target.authority) == (
                self.target.unix_path,
                self.target.authority,
            )
            downgrade = self.target.secure and not target.secure
            if not same_host or downgrade:
                drop = ("authorization", "cookie") + (() if same_host else ("host",))
                headers = {
                    k: v
                    for k, v in (opts.get("headers") or {}).items()
                    if k.lower() not in drop
                }
                opts = dict(opts, headers=headers, auth=None)
                target.auth = None
        nxt = ClientHandshake(
            owner,
            opts,
            self.loop,
            target,
            self.protocols,
            self.deflate,
            self.redirects + 1,
        )
        try:
            nxt.prepare()
        except Exception as exc:  # noqa: BLE001 - ws 8.23.1: the redirect's error
            self._fail(exc)
            return
        self._finish()
        if self.transport is not None:
            self.transport.abort()
        if owner.handshake_redirect(target.href, nxt) and not nxt.done:
            nxt.start()
