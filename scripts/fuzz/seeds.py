"""Write the seed corpus of each fuzz target into ``scripts/fuzz/corpus/``.

The seeds are valid (and a few famous invalid) inputs, so the fuzzer starts
from inputs that reach deep into the parsers; ``corpus/`` also keeps the
inputs that once broke pyws (named ``crash-*``), which are written here too
so that the corpus can be rebuilt from this file alone:

    python scripts/fuzz/seeds.py

File names are the SHA-1 of the content (libFuzzer's convention), except
the ``crash-*`` regressions.
"""

from __future__ import annotations

import hashlib
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pyws.sender import frame  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpus"
MASK = b"\x37\xfa\x21\x3d"

#: Inputs that broke pyws once (issue 9), by target.
REGRESSIONS: dict[str, dict[str, bytes]] = {
    "request": {
        # ValueError: subsection not found, in _head_end.
        "crash-http09-lf": b"\x00\x00GET /\n\r\n",
        "crash-http09-crlf": b"\x00\x00GET /\r\n\r\n",
    },
}


def _frames(fs: list[list[bytes | memoryview]]) -> bytes:
    return b"".join(bytes(part) for chunks in fs for part in chunks)


def frame_seeds() -> list[bytes]:
    seeds = []
    for flags in range(0, 64):
        is_server = bool(flags & 1)
        deflate = bool(flags & 2)
        if flags & 0b111000 and flags & 0b111000 not in (8, 16, 32):
            continue  # one option at a time is enough for seeds
        mask = MASK if is_server else None  # a server receives masked frames
        parts = [
            frame(1, b"hello", mask=mask),
            frame(2, b"\x00\x01\x02", mask=mask),
            frame(1, "caf\u00e9".encode()[:4], fin=False, mask=mask),
            frame(9, b"ping", mask=mask),
            frame(0, "caf\u00e9".encode()[4:], mask=mask),
            frame(10, b"", mask=mask),
        ]
        if deflate:
            # RFC 7692 section 7.2.1: raw deflate, sync flush, no trailer.
            deflater = zlib.compressobj(wbits=-9)
            payload = deflater.compress(b"compressed " * 20)
            payload += deflater.flush(zlib.Z_SYNC_FLUSH)
            parts.append(frame(1, payload[:-4], rsv1=True, mask=mask))
        parts.append(frame(8, b"\x03\xe8bye", mask=mask))
        stream = _frames(parts)
        seeds.append(bytes([flags, 0]) + stream)
        seeds.append(bytes([flags, 5]) + stream)
        # Through the Protocol, with the peer's FIN after a read size of 5.
        seeds.append(bytes([flags, 0x80]) + stream)
        seeds.append(bytes([flags, 0xC5]) + stream)
        # Failing: an invalid opcode after a ping, through the Protocol.
        bad = _frames([frame(9, b"x", mask=mask), frame(3, b"", mask=mask)])
        seeds.append(bytes([flags, 0x80]) + bad)
    return seeds


REQUEST = (
    b"GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
)


def request_seeds() -> list[bytes]:
    heads = [
        REQUEST + b"\r\n",
        REQUEST + b"Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
        REQUEST + b"Sec-WebSocket-Extensions: permessage-deflate; "
        b"client_max_window_bits\r\n\r\n",
        REQUEST + b"Sec-WebSocket-Extensions: permessage-deflate; "
        b"server_max_window_bits=10; server_no_context_takeover, "
        b"permessage-deflate\r\nOrigin: http://example.com\r\n\r\nframes",
        REQUEST.replace(b"HTTP/1.1", b"HTTP/1.0") + b"\r\n",
        REQUEST + b"Host: other\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    ]
    return [
        bytes([flags, step]) + h for h in heads for flags in (0, 1) for step in (0, 7)
    ]


RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
)


def response_seeds() -> list[bytes]:
    return [
        b"\x00\x00" + RESPONSE + b"\r\n",
        b"\x02\x00" + RESPONSE + b"Sec-WebSocket-Protocol: b\r\n\r\n",
        b"\x01\x00" + RESPONSE + b"Sec-WebSocket-Extensions: permessage-deflate; "
        b"server_no_context_takeover; client_max_window_bits=10\r\n\r\n",
        b"\x00\x03HTTP/1.1 100 Continue\r\n\r\n" + RESPONSE + b"\r\n",
        b"\x00\x00HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
        b"\x05\x00Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        b"\x07\x04Sec-WebSocket-Protocol: a\r\n\r\n",
    ]


def extension_seeds() -> list[bytes]:
    values = [
        "permessage-deflate",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
        'permessage-deflate; client_max_window_bits="15", x-webkit-deflate-frame',
        "foo; bar=1; baz, permessage-deflate; server_no_context_takeover",
        "chat, superchat",
    ]
    return [
        bytes([opt, 3, 1, 0]) + v.encode() for v in values for opt in (0, 5, 14, 48)
    ]


SEEDS = {
    "frames": frame_seeds,
    "request": request_seeds,
    "response": response_seeds,
    "extensions": extension_seeds,
}


def main() -> None:
    for target, make in SEEDS.items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for seed in make():
            (folder / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
        for name, data in REGRESSIONS.get(target, {}).items():
            (folder / name).write_bytes(data)
        print(f"{target}: {len(list(folder.iterdir()))} files in {folder}")


if __name__ == "__main__":
    main()
