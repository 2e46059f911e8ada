"""The ``Sec-WebSocket-Protocol`` header: ws's ``subprotocol.parse``.

Owns the RFC 7230 token test (:data:`TOKEN_CHARS`, :func:`is_token`) used by
this module, :mod:`pyws.extension` and :mod:`pyws.handshake`, and the parser
of the comma-separated subprotocol list (RFC 6455 sections 4.1 and 11.3.4).

Core module: imports only :mod:`pyws.errors`; it must never import asyncio,
pyee, socket or time.
"""

from __future__ import annotations

import re
import string
from collections.abc import KeysView

from .errors import WsSyntaxError

__all__ = ["TOKEN_CHARS", "is_token", "parse"]

#: RFC 7230 section 3.2.6 ``tchar``: the characters a token may contain.
TOKEN_CHARS: frozenset[str] = frozenset(
    "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters
)

# The same set as a pattern: one C-level match per header name.
_TOKEN_RE = re.compile("[" + re.escape("".join(sorted(TOKEN_CHARS))) + "]+")
_is_token_match = _TOKEN_RE.fullmatch

_OWS = " \t"


def is_token(s: str) -> bool:
    """Tell whether ``s`` is an RFC 7230 token (one or more ``tchar``).

    This is the test ws applies to each subprotocol a client asks for
    (``subprotocolRegex`` in ws's ``lib/websocket.js``).

    Args:
        s: the candidate string.

    Returns:
        ``True`` if ``s`` is non-empty and made of token characters only.
    """
    return _is_token_match(s) is not None


def _add(protocols: dict[str, None], name: str) -> None:
    if name in protocols:
        raise WsSyntaxError(f'The "{name}" subprotocol is duplicated')
    protocols[name] = None


def parse(header: str) -> KeysView[str]:
    """Parse a ``Sec-WebSocket-Protocol`` value as ws's ``subprotocol.parse``.

    The value is a list of tokens separated by commas, each optionally
    surrounded by spaces or tabs (RFC 6455 section 4.1, RFC 7230 ``#rule``),
    except that, as in ws, the value may neither start nor end with
    whitespace and empty list elements are refused.

    Args:
        header: the field value.

    Returns:
        The subprotocol names in order, as a set-like view (ws returns a
        ``Set``).

    Raises:
        WsSyntaxError: ``'Unexpected character at index <i>'``,
            ``'Unexpected end of input'`` or
            ``'The "<name>" subprotocol is duplicated'``, as ws raises them.
    """
    protocols: dict[str, None] = {}
    start = -1
    end = -1
    for i, ch in enumerate(header):
        if end == -1 and ch in TOKEN_CHARS:
            if start == -1:
                start = i
        elif i != 0 and ch in _OWS:
            if end == -1 and start != -1:
                end = i
        elif ch == ",":
            if start == -1:
                raise WsSyntaxError(f"Unexpected character at index {i}")
            if end == -1:
                end = i
            _add(protocols, header[start:end])
            start = end = -1
        else:
            raise WsSyntaxError(f"Unexpected character at index {i}")

    if start == -1 or end != -1:
        raise WsSyntaxError("Unexpected end of input")
    _add(protocols, header[start:])
    return protocols.keys()
