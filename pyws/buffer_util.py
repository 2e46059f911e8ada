"""Masking (RFC 6455 section 5.3) and the mask source.

:func:`apply_mask` uses the optional C accelerator ``pyws.speedups`` when it
was built (``pip install`` compiles it where a C compiler exists) unless the
environment variable ``PYWS_NO_SPEEDUPS`` is set to a non-empty value, as ws
has ``WS_NO_BUFFER_UTIL``. The pure Python fallback, :func:`apply_mask_py`,
has two strategies, picked by size:

- below ``_TRANSLATE_THRESHOLD`` bytes the payload and the repeated mask are
  XORed as two big integers (one C-level loop each for ``from_bytes``, XOR and
  ``to_bytes``);
- above it, each of the four byte lanes goes through a 256-byte
  ``bytes.translate`` table and the lanes are written back with strided slice
  assignment, which touches each byte fewer times.

:func:`mask_frame` builds a whole masked frame (header, key, masked payload)
in one allocation, in C or by :func:`mask_frame_py`.

The crossover was measured with ``timeit`` on CPython 3.11. Imports only the
stdlib.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "Buffer",
    "apply_mask",
    "apply_mask_py",
    "frame_header",
    "mask_frame",
    "mask_frame_py",
    "deliver_frames",
    "MaskSource",
    "SPEEDUPS",
]

Buffer = bytes | bytearray | memoryview

_TRANSLATE_THRESHOLD = 16384

_tables: dict[int, bytes] = {}


def _table(byte: int) -> bytes:
    table = _tables.get(byte)
    if table is None:
        table = _tables[byte] = bytes(i ^ byte for i in range(256))
    return table


def _mask_int(data: Buffer, mask: bytes) -> bytes:
    n = len(data)
    full = mask * (n >> 2) + mask[: n & 3]
    return (int.from_bytes(data, "little") ^ int.from_bytes(full, "little")).to_bytes(
        n, "little"
    )


def _mask_translate(data: Buffer, mask: bytes) -> bytes:
    src = data if isinstance(data, bytes) else bytes(data)
    out = bytearray(src)
    for lane in range(4):
        out[lane::4] = src[lane::4].translate(_table(mask[lane]))
    return bytes(out)


def apply_mask_py(data: Buffer, mask: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` repeated; return new bytes.

    Masking and unmasking are the same operation. An all-zero mask returns the
    data unchanged (as bytes), as ws skips the XOR for it.
    """
    if not data:
        return b""
    if mask == b"\x00\x00\x00\x00":
        return data if isinstance(data, bytes) else bytes(data)
    if len(data) < _TRANSLATE_THRESHOLD:
        return _mask_int(data, mask)
    return _mask_translate(data, mask)


def _load_speedups() -> Any:
    if os.environ.get("PYWS_NO_SPEEDUPS"):
        return None
    try:
        from . import speedups
    except ImportError:
        return None
    return speedups


_speedups = _load_speedups()

#: Whether the C accelerator is in use.
SPEEDUPS = _speedups is not None

_pack_bb = struct.Struct("!BB").pack
_pack_bbh = struct.Struct("!BBH").pack
_pack_bbq = struct.Struct("!BBQ").pack


def frame_header(b0: int, mask_bit: int, length: int) -> bytes:
    """A frame header without the key (RFC 6455 section 5.2): first byte
    ``b0`` (FIN, RSV1, opcode), then ``mask_bit`` (0x80 or 0) with the
    shortest length form."""
    if length < 126:
        return _pack_bb(b0, mask_bit | length)
    if length < 65536:
        return _pack_bbh(b0, mask_bit | 126, length)
    return _pack_bbq(b0, mask_bit | 127, length)


def mask_frame_py(b0: int, payload: Buffer, mask: bytes) -> bytes:
    """A whole masked frame: :func:`frame_header` with the MASK bit, the
    4-byte key, the masked payload."""
    return frame_header(b0, 0x80, len(payload)) + mask + apply_mask_py(payload, mask)


#: XOR ``data`` with the 4-byte ``mask``: the C accelerator or the fallback.
#: The C function keeps :func:`apply_mask_py`'s contract (an all-zero key
#: returns bytes data itself), with no Python frame in between.
apply_mask: Callable[[Buffer, bytes], bytes] = (
    _speedups.apply_mask if _speedups is not None else apply_mask_py
)

#: Build a masked frame in one allocation: C or :func:`mask_frame_py`.
mask_frame: Callable[[int, Buffer, bytes], bytes] = (
    _speedups.mask_frame if _speedups is not None else mask_frame_py
)


#: The receiver's C fast path for plain message frames (see
#: ``speedups.c``), or ``None``: then :class:`~pyws.receiver.Receiver`
#: parses every frame in Python.
deliver_frames: Callable[..., int] | None = (
    _speedups.deliver_frames if _speedups is not None else None
)


#: Bytes of ``os.urandom`` taken at a time for masking keys.
_POOL_SIZE = 8192


class _KeyPool(threading.local):
    """Random bytes for masking keys, one pool per thread, shared by every
    connection of the thread: a connection that sends one frame costs no
    ``os.urandom`` call of its own. Each 4 bytes go out once."""

    def __init__(self) -> None:
        self.pool = b""
        self.offset = _POOL_SIZE


_keys = _KeyPool()


class MaskSource:
    """Hands out 4-byte masking keys from a pooled ``os.urandom`` block.

    Args:
        generate_mask: ws's ``generateMask`` option: a callable filling a
            4-byte ``bytearray`` in place. When given it is called for every
            masked frame (tests use it to pin masks).
    """

    __slots__ = ("_generate",)

    POOL_SIZE = _POOL_SIZE

    def __init__(
        self, generate_mask: Callable[[bytearray], object] | None = None
    ) -> None:
        self._generate = generate_mask

    def __call__(self) -> bytes:
        if self._generate is not None:
            buf = bytearray(4)
            self._generate(buf)
            if len(buf) != 4:
                raise ValueError("generateMask must leave exactly 4 bytes")
            return bytes(buf)
        keys = _keys
        offset = keys.offset
        if offset >= self.POOL_SIZE:
            keys.pool = os.urandom(self.POOL_SIZE)
            offset = 0
        keys.offset = offset + 4
        return keys.pool[offset : offset + 4]
