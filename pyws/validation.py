"""Validation helpers: close status codes, UTF-8.

Imports only :mod:`pyws.constants` (and the stdlib).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable

__all__ = [
    "is_valid_status_code",
    "is_valid_utf8",
    "utf8_decoder",
    "incremental_utf8_decoder",
]


def is_valid_status_code(code: object) -> bool:
    """Tell whether ``code`` may appear in a close frame (ws ``isValidStatusCode``).

    RFC 6455 section 7.4: 1000-1003, 1007-1014 (registered, sendable) and
    3000-4999 (libraries, applications). 1004-1006 and 1015 are reserved for
    local use; everything else is unassigned.
    """
    if type(code) is not int:  # bool and IntEnum subclasses handled below
        if isinstance(code, bool) or not isinstance(code, int):
            return False
        code = int(code)
    return (
        1000 <= code <= 1014 and code not in (1004, 1005, 1006)
    ) or 3000 <= code <= 4999


def is_valid_utf8(data: bytes | bytearray | memoryview) -> bool:
    """Tell whether ``data`` is well-formed UTF-8 (RFC 3629).

    CPython's strict codec rejects overlong forms, surrogates and code points
    above U+10FFFF, which is exactly the RFC 3629 definition RFC 6455 uses.
    """
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def utf8_decoder() -> codecs.IncrementalDecoder:
    """A strict incremental UTF-8 decoder (its state can be copied with
    ``getstate``/``setstate``)."""
    return codecs.getincrementaldecoder("utf-8")("strict")


def incremental_utf8_decoder() -> Callable[[bytes, bool], str]:
    """Return the ``decode(data, final)`` method of a strict UTF-8 decoder.

    Used for fragmented text messages so that an invalid sequence fails the
    connection at the fragment that holds it (RFC 6455 section 8.1 asks to
    fail "when an endpoint finds" invalid UTF-8), not only at the end.
    """
    return utf8_decoder().decode
