"""Encode and decode WebSocket frames for the compare tool's raw peer.

Owns a deliberately permissive frame codec: it builds any frame a scenario
asks for (bad opcodes, reserved bits, lying lengths) and decodes whatever the
implementation under test writes without judging it. Stdlib only; must not
import ``pyws`` (the tool checks pyws, it cannot rely on it).
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LARGE",
    "OPCODE_NAMES",
    "Frame",
    "FrameDecoder",
    "build_frame",
    "describe_bytes",
    "opcode_name",
    "pattern",
]

#: Payloads longer than this are described by length and SHA-1, not hex
#: (the adapters do the same), so large-message traces stay small.
LARGE = 1024

OPCODE_NAMES = {
    0x0: "cont",
    0x1: "text",
    0x2: "binary",
    0x8: "close",
    0x9: "ping",
    0xA: "pong",
}


def opcode_name(opcode: int) -> str:
    """Name an opcode, or ``op<n>`` for a reserved one."""
    return OPCODE_NAMES.get(opcode, f"op{opcode}")


def describe_bytes(data: bytes) -> dict[str, Any]:
    """``{"b": hex}``, or ``{"len": n, "sha1": hex}`` past :data:`LARGE` bytes."""
    if len(data) > LARGE:
        return {"len": len(data), "sha1": hashlib.sha1(data).hexdigest()}
    return {"b": data.hex()}


def pattern(size: int) -> bytes:
    """``size`` bytes where byte ``i`` is ``i mod 256`` (large-message payloads)."""
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


def _apply_mask(data: bytes, mask: bytes) -> bytes:
    """XOR ``data`` with the repeated 4-byte ``mask``."""
    if not data:
        return data
    repeated = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(data), "big"
    )


def build_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: bool = False,
    mask_key: bytes | None = None,
) -> bytes:
    """Serialise one frame (RFC 6455 section 5.2), masking it if asked.

    Args:
        opcode: Any value 0-15; reserved opcodes are written as given.
        payload: The unmasked payload.
        fin: The FIN bit.
        rsv1: The RSV1 bit.
        rsv2: The RSV2 bit.
        rsv3: The RSV3 bit.
        mask: Whether to set MASK and mask the payload.
        mask_key: The 4-byte key; random when None.

    Returns:
        The frame's bytes.
    """
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0)
    first |= (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0) | (opcode & 0x0F)
    length = len(payload)
    mask_bit = 0x80 if mask else 0
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if mask:
        key = mask_key if mask_key is not None else os.urandom(4)
        return header + key + _apply_mask(payload, key)
    return header + payload


@dataclass
class Frame:
    """One decoded frame, as the implementation wrote it."""

    opcode: int
    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    masked: bool
    payload: bytes

    def describe(self) -> dict[str, Any]:
        """Return a JSON-ready description (close frames split code/reason)."""
        out: dict[str, Any] = {"opcode": opcode_name(self.opcode), "fin": self.fin}
        rsv = "".join(
            str(i + 1) for i, bit in enumerate((self.rsv1, self.rsv2, self.rsv3)) if bit
        )
        if rsv:
            out["rsv"] = rsv
        out["masked"] = self.masked
        if self.opcode == 0x8 and len(self.payload) >= 2:
            out["code"] = int.from_bytes(self.payload[:2], "big")
            out["reason"] = describe_bytes(self.payload[2:])
        else:
            out["payload"] = describe_bytes(self.payload)
        return out


class FrameDecoder:
    """Incremental decoder: feed bytes, get complete frames back."""

    def __init__(self) -> None:
        """Start with an empty buffer."""
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        """Add ``data`` and return every frame it completes."""
        self._buf += data
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Frame | None:
        buf = self._buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        length = b1 & 0x7F
        pos = 2
        if length == 126:
            if len(buf) < 4:
                return None
            length = struct.unpack_from("!H", buf, 2)[0]
            pos = 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length = struct.unpack_from("!Q", buf, 2)[0]
            pos = 10
        masked = bool(b1 & 0x80)
        key = b""
        if masked:
            if len(buf) < pos + 4:
                return None
            key = bytes(buf[pos : pos + 4])
            pos += 4
        if len(buf) < pos + length:
            return None
        payload = bytes(buf[pos : pos + length])
        del buf[: pos + length]
        if masked:
            payload = _apply_mask(payload, key)
        return Frame(
            opcode=b0 & 0x0F,
            fin=bool(b0 & 0x80),
            rsv1=bool(b0 & 0x40),
            rsv2=bool(b0 & 0x20),
            rsv3=bool(b0 & 0x10),
            masked=masked,
            payload=payload,
        )
