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
import ssl as ssl_module
from collections.abc import Mapping
from typing import Any, Protocol, cast
from urllib.parse import unquote, urljoin, urlsplit

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


_SCHEMES = {
    "ws": "ws",
    "wss": "wss",
    "http": "ws",
    "https": "wss",
    "ws+unix": "ws+unix",
}


class _Target:
    """Where and what to connect, from a URL."""

    def __init__(self, address: Any) -> None:
        text = address if isinstance(address, str) else str(address)
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise WsSyntaxError(f"Invalid URL: {text}") from None
        scheme = parts.scheme.lower()
        if not scheme or (not parts.netloc and scheme not in ("ws+unix",)):
            if scheme in _SCHEMES or not scheme:
                raise WsSyntaxError(f"Invalid URL: {text}")
        if scheme not in _SCHEMES:
            raise WsSyntaxError(
                'The URL\'s protocol must be one of "ws:", "wss:", '
                '"http:", "https:", or "ws+unix:"'
            )
        scheme = _SCHEMES[scheme]
        if parts.fragment or text.endswith("#"):
            raise WsSyntaxError("The URL contains a fragment identifier")
        self.secure = scheme == "wss"
        self.unix_path: str | None = None
        path = parts.path or "/"
        query = f"?{parts.query}" if parts.query else ""
        if scheme == "ws+unix":
            if not parts.path:
                raise WsSyntaxError("The URL's pathname is empty")
            sock_path, sep, req_path = parts.path.partition(":")
            self.unix_path = sock_path
            path = req_path if sep and req_path else "/"
            self.host = "localhost"
            self.port: int | None = None
        else:
            if not parts.hostname:
                raise WsSyntaxError(f"Invalid URL: {text}")
            self.host = parts.hostname
            self.port = port
        self.default_port = 443 if self.secure else 80
        self.path = path + query
        netloc = parts.netloc
        self.href = f"{scheme}://{netloc}{parts.path or '/'}{query}"
        if scheme == "ws+unix":
            self.href = f"ws+unix:{parts.path}{query}"
        self.auth: str | None = None
        if parts.username is not None:
            self.auth = unquote(parts.username) + ":" + unquote(parts.password or "")


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


def _ssl_context(opts: dict[str, Any]) -> ssl_module.SSLContext:
    ctx = opts.get("ssl")
    if isinstance(ctx, ssl_module.SSLContext):
        return ctx
    ctx = ssl_module.create_default_context()
    ca = opts.get("ca")
    if ca:
        text = ca.decode() if isinstance(ca, bytes) else ca
        if "-----BEGIN" in text:
            ctx.load_verify_locations(cadata=text)
        else:
            ctx.load_verify_locations(cafile=text)
    cert = opts.get("cert")
    if cert:
        key = opts.get("key")
        ctx.load_cert_chain(
            cert.decode() if isinstance(cert, bytes) else cert,
            (key.decode() if isinstance(key, bytes) else key) if key else None,
        )
    if opts.get("rejectUnauthorized") is False:
        ctx.check_hostname = False
        ctx.verify_mode = ssl_module.CERT_NONE
    return ctx


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
        self._task: asyncio.Task[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.request = ClientRequest(self, "GET", target.path)

    # -- starting ----------------------------------------------------------

    def start(self) -> None:
        opts = self.options
        timeout = opts.get("handshakeTimeout")
        if timeout is not None:
            self._timer = self.loop.call_later(timeout / 1000, self._on_timeout)
        self._task = self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        opts = self.options
        target = self.target
        try:
            if target.unix_path is not None:
                await self.loop.create_unix_connection(lambda: self, target.unix_path)
            else:
                kwargs: dict[str, Any] = {}
                if target.secure:
                    kwargs["ssl"] = _ssl_context(opts)
                    kwargs["server_hostname"] = opts.get("servername") or target.host
                if opts.get("localAddress"):
                    kwargs["local_addr"] = (opts["localAddress"], 0)
                if opts.get("family"):
                    kwargs["family"] = {4: 2, 6: 10}.get(opts["family"], 0)
                await self.loop.create_connection(
                    lambda: self,
                    target.host,
                    target.port or target.default_port,
                    **kwargs,
                )
        except asyncio.CancelledError:
            return
        except OSError as exc:
            code = errno.errorcode.get(exc.errno or 0)
            if code is not None and not hasattr(exc, "code"):
                exc.code = code  # type: ignore[attr-defined]
            self._fail(exc)

    # -- asyncio.Protocol ----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses.
        self.transport = cast(asyncio.Transport, transport)
        if self.done:
            self.transport.abort()
            return
        opts = self.options
        offer = None
        if self.deflate is not None:
            offer = extension_mod.format({"permessage-deflate": self.deflate.offer()})
        try:
            request = build_request(
                host=self.target.host,
                port=self.target.port,
                default_port=self.target.default_port,
                path=self.target.path,
                key=self.key,
                version=opts["protocolVersion"],
                protocols=self.protocols,
                extensions=offer,
                origin=opts.get("origin"),
                headers=opts.get("headers"),
                auth=self.target.auth or opts.get("auth"),
            )
        except ValueError as exc:
            self._fail(exc)
            return
        self.request._data = request
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
        if self.done:
            return
        try:
            res = self.parser.feed(data)
        except HTTPParseError as exc:
            self._fail(exc)
            return
        if res is not None:
            self._on_response(res, self.parser.tail)

    def eof_received(self) -> bool:
        if not self.done:
            err = HandshakeError("socket hang up")
            err.code = "ECONNRESET"
            self._fail(err)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done:
            err: BaseException = exc or HandshakeError("socket hang up")
            if exc is None:
                err.code = "ECONNRESET"  # type: ignore[attr-defined]
            self._fail(err)

    # -- outcomes ----------------------------------------------------------

    def _finish(self) -> None:
        self.done = True
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
        if res.statusCode != 101:
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
            # ws.close() or ws.terminate()).
            self.owner.handshake_unexpected_response(self.request, res)
            return
        self._fail(HandshakeError(f"Unexpected server response: {res.statusCode}"))

    def _redirect(self, location: str) -> None:
        opts = self.options
        if self.redirects >= opts["maxRedirects"]:
            self._fail(HandshakeError("Maximum redirects exceeded"))
            return
        url = urljoin(self.target.href.replace("ws", "http", 1), location)
        try:
            target = _Target(url)
        except WsSyntaxError as exc:
            self._fail(exc)
            return
        self._finish()
        if self.transport is not None:
            self.transport.abort()
        owner = self.owner
        # Without a 'redirect' listener, credentials do not follow a hop to
        # another host or down from wss to ws (ws, after curl 7.77).
        if not owner.listener_count("redirect"):
            same_host = (target.host, target.port) == (
                self.target.host,
                self.target.port,
            )
            downgrade = self.target.secure and not target.secure
            if not same_host or downgrade:
                headers = {
                    k: v
                    for k, v in (opts.get("headers") or {}).items()
                    if k.lower() not in ("authorization", "cookie", "host")
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
        if owner.handshake_redirect(target.href, nxt) and not nxt.done:
            nxt.start()
