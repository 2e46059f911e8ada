"""The client's TLS options, as ws hands them to Node's ``tls.connect``.

:func:`client_context` turns ws's options (``ca``, ``cert``, ``key``,
``passphrase``, ``pfx``, ``ciphers``, ``ecdhCurve``, ``minVersion``,
``maxVersion``, ``secureOptions``, ``rejectUnauthorized``,
``checkServerIdentity``) into an :class:`ssl.SSLContext`. It runs before
anything connects, so a bad certificate, key or passphrase raises in the
``WebSocket`` constructor, as ``tls.connect`` throws in Node.

Node takes ``cert``, ``key``, ``ca`` and ``pfx`` as their contents; pyws
takes the contents (PEM text as ``str`` or ``bytes``; ``pfx`` as ``bytes``)
or a path to a file. Python's ``ssl`` loads a certificate chain only from a
file, so PEM text goes through a private temporary directory that is
removed before the function returns.

:func:`check_server_identity` runs the user's ``checkServerIdentity`` after
the TLS handshake; :func:`address_family` maps ``family``.

Transport layer: stdlib only (no asyncio, no pyee).
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "TLS_OPTIONS",
    "client_context",
    "check_server_identity",
    "address_family",
    "peer_certificate",
]

#: The ws/Node options this module reads (an ``ssl`` context excludes them).
TLS_OPTIONS = (
    "ca",
    "cert",
    "key",
    "passphrase",
    "pfx",
    "ciphers",
    "ecdhCurve",
    "minVersion",
    "maxVersion",
    "secureOptions",
    "checkServerIdentity",
)

#: Node's ``minVersion``/``maxVersion`` names.
TLS_VERSIONS: Mapping[str, ssl.TLSVersion] = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}

#: Node accepts the NIST names of the curves; OpenSSL's short names differ.
_CURVES = {"P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1"}

_PEM_MARK = b"-----BEGIN"


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else bytes(value)


def _is_pem(value: str | bytes) -> bool:
    if isinstance(value, str):
        return _PEM_MARK.decode() in value
    return _PEM_MARK in value


def _path(value: str | bytes) -> str:
    return os.fsdecode(value)


def _load_chain(
    ctx: ssl.SSLContext,
    cert: str | bytes,
    key: str | bytes | None,
    password: str | None,
) -> None:
    """``load_cert_chain`` from paths or PEM text (through temporary files)."""
    if not _is_pem(cert) and (key is None or not _is_pem(key)):
        ctx.load_cert_chain(_path(cert), _path(key) if key else None, password)
        return
    with tempfile.TemporaryDirectory(prefix="pyws-tls-") as tmp:

        def materialize(value: str | bytes, name: str) -> str:
            if not _is_pem(value):
                return _path(value)
            path = os.path.join(tmp, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(_as_bytes(value))
            return path

        ctx.load_cert_chain(
            materialize(cert, "cert.pem"),
            materialize(key, "key.pem") if key else None,
            password,
        )


def _load_ca(ctx: ssl.SSLContext, ca: Any) -> None:
    items = ca if isinstance(ca, (list, tuple)) else [ca]
    for item in items:
        if not isinstance(item, (str, bytes)):
            raise TypeError(
                f"option 'ca' must be str or bytes (PEM or path) or a list of "
                f"them, not {type(item).__name__}"
            )
        if _is_pem(item):
            ctx.load_verify_locations(cadata=_as_bytes(item).decode("latin-1"))
        else:
            ctx.load_verify_locations(cafile=_path(item))


def _load_pfx(ctx: ssl.SSLContext, pfx: str | bytes, password: str | None) -> None:
    """A PKCS#12 bundle: its key and certificate, its other certificates
    as the chain and as trusted (Node's ``SecureContext.loadPKCS12``)."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.serialization import pkcs12
    except ImportError:
        raise TypeError(
            "option 'pfx' needs the cryptography package: pip install 'pyws-node[pfx]'"
        ) from None
    if isinstance(pfx, str):
        with open(pfx, "rb") as f:
            data = f.read()
    else:
        data = bytes(pfx)
    key, cert, extra = pkcs12.load_key_and_certificates(
        data, password.encode() if password is not None else None
    )
    if key is None or cert is None:
        raise ValueError("option 'pfx' holds no private key and certificate")
    pem = serialization.Encoding.PEM
    chain = cert.public_bytes(pem) + b"".join(c.public_bytes(pem) for c in extra)
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _load_chain(ctx, chain, key_pem, None)
    for c in extra:
        ctx.load_verify_locations(cadata=c.public_bytes(pem).decode("ascii"))


def client_context(opts: Mapping[str, Any]) -> ssl.SSLContext:
    """The ``SSLContext`` for a ``wss:`` connection made with ``opts``.

    Args:
        opts: parsed client options (ws names).

    Returns:
        ``opts['ssl']`` if it is a context (then no other TLS option may be
        set), else a new client context: the system's trust store (or
        ``ca``), hostname checking unless ``checkServerIdentity`` replaces
        it, no verification at all with ``rejectUnauthorized: False``.

    Raises:
        TypeError: ``ssl`` together with another TLS option; ``pfx``
            without the ``cryptography`` package.
        ValueError: an unknown ``ecdhCurve`` or a list of curves.
        ssl.SSLError, OSError: a certificate, key, passphrase or file
            that cannot be loaded.
    """
    given = opts.get("ssl")
    if isinstance(given, ssl.SSLContext):
        clash = [name for name in TLS_OPTIONS if opts.get(name) is not None]
        if clash:
            raise TypeError(
                f"option 'ssl' (an SSLContext) cannot be combined with {clash[0]!r}"
            )
        return given
    if given is not None:
        raise TypeError(
            f"option 'ssl' must be an ssl.SSLContext, not {type(given).__name__}"
        )
    ctx = ssl.create_default_context()
    if opts.get("ca") is not None:
        _load_ca(ctx, opts["ca"])
    passphrase = opts.get("passphrase")
    if opts.get("pfx") is not None:
        _load_pfx(ctx, opts["pfx"], passphrase)
    if opts.get("cert") is not None:
        _load_chain(ctx, opts["cert"], opts.get("key"), passphrase)
    elif opts.get("key") is not None:
        raise TypeError("option 'key' needs 'cert'")
    if opts.get("ciphers") is not None:
        ctx.set_ciphers(opts["ciphers"])
    curve = opts.get("ecdhCurve")
    if curve is not None and curve != "auto":
        if ":" in curve:
            raise ValueError(
                f"option 'ecdhCurve' {curve!r}: Python's ssl module sets one curve"
            )
        ctx.set_ecdh_curve(_CURVES.get(curve, curve))
    if opts.get("minVersion") is not None:
        ctx.minimum_version = TLS_VERSIONS[opts["minVersion"]]
    if opts.get("maxVersion") is not None:
        ctx.maximum_version = TLS_VERSIONS[opts["maxVersion"]]
    if opts.get("secureOptions") is not None:
        ctx.options |= opts["secureOptions"]
    if opts.get("rejectUnauthorized") is False:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif opts.get("checkServerIdentity") is not None:
        # The callback replaces the host name check; the chain is still
        # verified, as in Node.
        ctx.check_hostname = False
    return ctx


def peer_certificate(ssl_object: Any) -> dict[str, Any]:
    """The server's certificate for ``checkServerIdentity``.

    Python's ``getpeercert()`` dictionary plus the fields of Node's
    certificate object that pinning code uses: ``raw`` (DER bytes),
    ``fingerprint`` (SHA-1) and ``fingerprint256`` (SHA-256) as colon
    separated upper-case hex, and ``subjectaltname`` as Node's string.
    """
    cert: dict[str, Any] = dict(ssl_object.getpeercert() or {})
    der: bytes = ssl_object.getpeercert(binary_form=True) or b""
    cert["raw"] = der

    def fingerprint(name: str) -> str:
        return ":".join(f"{b:02X}" for b in hashlib.new(name, der).digest())

    cert["fingerprint"] = fingerprint("sha1")
    cert["fingerprint256"] = fingerprint("sha256")
    cert["subjectaltname"] = ", ".join(
        f"{kind}:{value}" for kind, value in cert.get("subjectAltName", ())
    )
    return cert


def check_server_identity(
    opts: Mapping[str, Any], servername: str, ssl_object: Any
) -> BaseException | None:
    """Run ``checkServerIdentity(servername, cert)`` after the handshake.

    As in Node, the callback refuses the server by returning an exception
    (raising one counts the same); anything else accepts it. It is not
    called with ``rejectUnauthorized: False``.

    Returns:
        The exception to fail the connection with, or ``None``.
    """
    check: Callable[[str, dict[str, Any]], Any] | None = opts.get("checkServerIdentity")
    if check is None or opts.get("rejectUnauthorized") is False or ssl_object is None:
        return None
    try:
        result = check(servername, peer_certificate(ssl_object))
    except Exception as exc:  # noqa: BLE001 - the user's callback refused
        return exc
    return result if isinstance(result, BaseException) else None


def address_family(value: int | None) -> int:
    """``family`` as ``socket`` wants it.

    Node's ``4``/``6``/``0`` and Python's ``socket.AF_INET``/``AF_INET6``/
    ``AF_UNSPEC`` are accepted.

    Raises:
        ValueError: any other number.
    """
    if value is None or value == 0:
        return socket.AF_UNSPEC
    if value == 4 or value == socket.AF_INET:
        return socket.AF_INET
    if value == 6 or value == socket.AF_INET6:
        return socket.AF_INET6
    raise ValueError(
        f"option 'family' must be 4, 6, 0, socket.AF_INET or socket.AF_INET6, "
        f"not {value!r}"
    )
