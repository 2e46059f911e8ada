"""The ``Sec-WebSocket-Extensions`` header: ws's ``extension.parse``/``format``.

Owns the parser and the formatter of the extension list of RFC 6455
section 9.1: ``extension *( ";" param )`` items separated by commas, where a
parameter is a bare token, ``token=token`` or ``token="quoted-string"``
whose unescaped value must itself be a token.

The parsed form is ws's: a dict from extension name to the list of its
offers in header order; each offer is a dict from parameter name to the list
of its values, a bare parameter being ``True``.

Core module: imports only :mod:`pyws.errors` and :mod:`pyws.subprotocol`
(for the token characters); it must never import asyncio, pyee, socket or
time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import WsSyntaxError
from .subprotocol import TOKEN_CHARS

__all__ = ["Params", "Offers", "parse", "format"]

#: One offer (or response) of an extension: parameter name -> values.
Params = dict[str, list[str | bool]]
#: A parsed header: extension name -> offers in header order.
Offers = dict[str, list[Params]]

_OWS = " \t"


def _unexpected(i: int) -> WsSyntaxError:
    return WsSyntaxError(f"Unexpected character at index {i}")


def _push_param(params: Params, name: str, value: str | bool) -> None:
    params.setdefault(name, []).append(value)


def _push_offer(offers: Offers, name: str, params: Params) -> None:
    offers.setdefault(name, []).append(params)


def parse(header: str) -> Offers:
    """Parse a ``Sec-WebSocket-Extensions`` value as ws's ``extension.parse``.

    The scanner walks the value once with three states (reading an
    extension name, a parameter name, a parameter value) and reports the
    first character that does not fit, with its index, as ws does.

    Args:
        header: the field value.

    Returns:
        ``{extension: [{param: [value, ...]}, ...]}``; a bare parameter has
        the value ``True``; quoted values come back unescaped.

    Raises:
        WsSyntaxError: ``'Unexpected character at index <i>'`` or
            ``'Unexpected end of input'``.
    """
    offers: Offers = {}
    params: Params = {}
    must_unescape = False
    is_escaping = False
    in_quotes = False
    extension_name: str | None = None
    param_name: str | None = None
    start = -1
    end = -1
    ch = ""

    for i, ch in enumerate(header):
        if extension_name is None:
            # State 1: the extension name, up to ';' or ','.
            if end == -1 and ch in TOKEN_CHARS:
                if start == -1:
                    start = i
            elif i != 0 and ch in _OWS:
                if end == -1 and start != -1:
                    end = i
            elif ch in ";,":
                if start == -1:
                    raise _unexpected(i)
                if end == -1:
                    end = i
                name = header[start:end]
                if ch == ",":
                    _push_offer(offers, name, params)
                    params = {}
                else:
                    extension_name = name
                start = end = -1
            else:
                raise _unexpected(i)
        elif param_name is None:
            # State 2: a parameter name, ended by '=', ';' or ','.
            if end == -1 and ch in TOKEN_CHARS:
                if start == -1:
                    start = i
            elif ch in _OWS:
                if end == -1 and start != -1:
                    end = i
            elif ch in ";,":
                if start == -1:
                    raise _unexpected(i)
                if end == -1:
                    end = i
                _push_param(params, header[start:end], True)
                if ch == ",":
                    _push_offer(offers, extension_name, params)
                    params = {}
                    extension_name = None
                start = end = -1
            elif ch == "=" and start != -1 and end == -1:
                param_name = header[start:i]
                start = end = -1
            else:
                raise _unexpected(i)
        else:
            # State 3: a parameter value. RFC 6455 section 9.1: a quoted
            # string must still be a token once unescaped, so only token
            # characters (and escapes of them) may appear inside quotes.
            if is_escaping:
                if ch not in TOKEN_CHARS:
                    raise _unexpected(i)
                if start == -1:
                    start = i
                elif not must_unescape:
                    must_unescape = True
                is_escaping = False
            elif in_quotes:
                if ch in TOKEN_CHARS:
                    if start == -1:
                        start = i
                elif ch == '"' and start != -1:
                    in_quotes = False
                    end = i
                elif ch == "\\":
                    is_escaping = True
                else:
                    raise _unexpected(i)
            elif ch == '"' and header[i - 1] == "=":
                in_quotes = True
            elif end == -1 and ch in TOKEN_CHARS:
                if start == -1:
                    start = i
            elif start != -1 and ch in _OWS:
                if end == -1:
                    end = i
            elif ch in ";,":
                if start == -1:
                    raise _unexpected(i)
                if end == -1:
                    end = i
                value = header[start:end]
                if must_unescape:
                    value = value.replace("\\", "")
                    must_unescape = False
                _push_param(params, param_name, value)
                if ch == ",":
                    _push_offer(offers, extension_name, params)
                    params = {}
                    extension_name = None
                param_name = None
                start = end = -1
            else:
                raise _unexpected(i)

    if start == -1 or in_quotes or ch == " " or ch == "\t":
        raise WsSyntaxError("Unexpected end of input")

    if end == -1:
        end = len(header)
    token = header[start:end]
    if extension_name is None:
        _push_offer(offers, token, params)
    else:
        if param_name is None:
            _push_param(params, token, True)
        elif must_unescape:
            _push_param(params, param_name, token.replace("\\", ""))
        else:
            _push_param(params, param_name, token)
        _push_offer(offers, extension_name, params)
    return offers


def _js_string(value: Any) -> str:
    """Render a parameter value as a JavaScript template literal would."""
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _format_params(name: str, params: Mapping[str, Any]) -> str:
    parts = [name]
    for key, values in params.items():
        if not isinstance(values, (list, tuple)):
            values = [values]
        parts.append(
            "; ".join(key if v is True else f"{key}={_js_string(v)}" for v in values)
        )
    return "; ".join(parts)


def format(extensions: Mapping[str, Any]) -> str:  # noqa: A001 - ws name
    """Build a ``Sec-WebSocket-Extensions`` value as ws's ``extension.format``.

    Args:
        extensions: extension name -> one params mapping, or a list of them
            (one per offer). In a params mapping a value of ``True`` writes
            the bare parameter, a list writes the parameter once per value,
            anything else writes ``name=value``.

    Returns:
        The header value, offers joined with ``', '`` and parameters with
        ``'; '``; values are written as given, neither quoted nor checked.
    """
    items = []
    for name, configurations in extensions.items():
        if not isinstance(configurations, (list, tuple)):
            configurations = [configurations]
        items.append(", ".join(_format_params(name, p) for p in configurations))
    return ", ".join(items)
