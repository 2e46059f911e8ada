"""Unit tests for :mod:`pyws.buffer_util`: masking (RFC 6455 section 5.3).

``apply_mask`` (the C accelerator when built) and ``apply_mask_py`` (the pure
fallback) are both checked against a byte-by-byte reference written here, for
sizes on both sides of the threshold where it switches from the big-integer
XOR to the translate tables; the ``MaskSource`` pool and the
``generateMask`` hook are checked without any randomness leaking into the
assertions. No event loop.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from pyws import buffer_util
from pyws.buffer_util import MaskSource, apply_mask, apply_mask_py

THRESHOLD = buffer_util._TRANSLATE_THRESHOLD

SIZES = sorted(
    {
        *range(0, 10),
        15,
        16,
        17,
        63,
        64,
        65,
        1023,
        1024,
        1025,
        *range(THRESHOLD - 5, THRESHOLD + 6),
        2 * THRESHOLD + 3,
        65536,
        65539,
    }
)

MASKS = [
    b"\x37\xfa\x21\x3d",  # RFC 6455 section 5.7
    b"\xff\xff\xff\xff",
    b"\x01\x00\x00\x00",
    b"\x00\x00\x00\x80",
    b"\xa5\x5a\x00\xff",
]


def reference_mask(data: bytes, mask: bytes) -> bytes:
    """RFC 6455 section 5.3, j = i MOD 4, one byte at a time."""
    return bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


MaskFn = Callable[[bytes | bytearray | memoryview, bytes], bytes]

# The public function (the C accelerator when it was built and not opted out
# of) and the pure Python fallback, whichever is in use.
IMPLS = pytest.mark.parametrize(
    "impl", [apply_mask, apply_mask_py], ids=["apply_mask", "apply_mask_py"]
)


@IMPLS
class TestApplyMask:
    """Section 5.3: transformed-octet-i = original-octet-i XOR key[i MOD 4]."""

    def test_rfc_example(self, impl: MaskFn) -> None:
        # Section 5.7: "Hello" masked with 37 fa 21 3d.
        masked = bytes.fromhex("7f9f4d5158")
        assert impl(b"Hello", bytes.fromhex("37fa213d")) == masked
        assert impl(masked, bytes.fromhex("37fa213d")) == b"Hello"

    @pytest.mark.parametrize("size", SIZES)
    def test_matches_reference(self, impl: MaskFn, size: int) -> None:
        data = payload(size)
        for mask in MASKS:
            expected = reference_mask(data, mask)
            assert impl(data, mask) == expected, mask.hex()
            assert impl(bytearray(data), mask) == expected
            assert impl(memoryview(data), mask) == expected

    @pytest.mark.parametrize("size", [1, 7, THRESHOLD + 1])
    def test_involution(self, impl: MaskFn, size: int) -> None:
        data = payload(size)
        assert impl(impl(data, MASKS[4]), MASKS[4]) == data

    @pytest.mark.parametrize("size", [0, 1, 4, 5, 100, THRESHOLD + 1])
    def test_returns_new_bytes(self, impl: MaskFn, size: int) -> None:
        source = bytearray(payload(size))
        before = bytes(source)
        out = impl(source, MASKS[0])
        assert type(out) is bytes
        assert len(out) == size
        assert source == before  # the input is never masked in place

    def test_view_of_larger_buffer(self, impl: MaskFn) -> None:
        data = payload(40)
        view = memoryview(data)[3:29]
        assert impl(view, MASKS[0]) == reference_mask(data[3:29], MASKS[0])

    @pytest.mark.parametrize("size", [0, 1, 5, THRESHOLD + 1])
    def test_zero_mask_returns_data(self, impl: MaskFn, size: int) -> None:
        data = payload(size)
        zero = b"\x00\x00\x00\x00"
        assert impl(data, zero) == data
        out = impl(bytearray(data), zero)
        assert type(out) is bytes
        assert out == data
        assert impl(memoryview(data), zero) == data


@pytest.mark.parametrize("size", [1, 5, THRESHOLD - 1, THRESHOLD, THRESHOLD + 7])
def test_both_python_strategies_agree(size: int) -> None:
    # The fallback picks one by size; each must be right at every size.
    data = payload(size)
    mask = MASKS[0]
    expected = reference_mask(data, mask)
    assert buffer_util._mask_int(data, mask) == expected
    assert buffer_util._mask_translate(data, mask) == expected


class TestMaskSource:
    """ws's mask pool and the ``generateMask`` option."""

    def test_pool_is_refilled_once_per_pool_size(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[int] = []
        counter = iter(range(1 << 30))

        def fake_urandom(n: int) -> bytes:
            calls.append(n)
            base = next(counter)
            return bytes((base + i) % 256 for i in range(n))

        monkeypatch.setattr(os, "urandom", fake_urandom)
        per_pool = MaskSource.POOL_SIZE // 4
        got: dict[str, Any] = {}

        def in_a_new_thread() -> None:
            # Every connection of a thread draws from the thread's pool: two
            # sources take consecutive keys, with one os.urandom call.
            first, second = MaskSource(), MaskSource()
            got["masks"] = [(first if i % 2 else second)() for i in range(per_pool)]
            got["calls"] = list(calls)
            got["next"] = first()

        thread = threading.Thread(target=in_a_new_thread)
        thread.start()
        thread.join(10)
        assert got["calls"] == [MaskSource.POOL_SIZE]
        # Consecutive 4-byte slices of the one pool.
        assert b"".join(got["masks"]) == fake_pool(0, MaskSource.POOL_SIZE)
        assert calls == [MaskSource.POOL_SIZE, MaskSource.POOL_SIZE]
        assert got["next"] == fake_pool(1, 4)

    def test_threads_have_pools_of_their_own(self) -> None:
        keys: list[bytes] = []

        def draw() -> None:
            source = MaskSource()
            keys.extend(source() for _ in range(3000))

        threads = [threading.Thread(target=draw) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        draw()
        # 12,000 keys from os.urandom: a slice handed out twice would repeat
        # hundreds of keys; chance repeats of 4 random bytes number about
        # 0.02 on average.
        assert len(keys) == 12000
        assert len(set(keys)) > 11990

    def test_default_masks_are_4_bytes_and_vary(self) -> None:
        source = MaskSource()
        masks = [source() for _ in range(64)]
        assert all(type(m) is bytes and len(m) == 4 for m in masks)
        # 64 draws from os.urandom all equal: probability 2**-2016.
        assert len(set(masks)) > 1

    def test_generate_mask_called_for_each_mask(self) -> None:
        seen: list[bytearray] = []

        def generate(buf: bytearray) -> None:
            seen.append(buf)
            buf[:] = bytes([len(seen), 2, 3, 4])

        source = MaskSource(generate)
        assert source() == b"\x01\x02\x03\x04"
        assert source() == b"\x02\x02\x03\x04"
        assert len(seen) == 2
        assert all(type(b) is bytearray for b in seen)
        assert seen[0] is not seen[1]  # a fresh buffer each time

    def test_generate_mask_return_value_ignored(self) -> None:
        def generate(buf: bytearray) -> object:
            buf[0] = 9
            return b"ignored"

        assert MaskSource(generate)() == b"\x09\x00\x00\x00"

    def test_generate_mask_gets_a_zeroed_buffer(self) -> None:
        assert MaskSource(lambda buf: None)() == b"\x00\x00\x00\x00"

    @pytest.mark.parametrize(
        "bad",
        [
            lambda buf: buf.append(0),
            lambda buf: buf.pop(),
            lambda buf: buf.clear(),
            lambda buf: buf.extend(b"1234"),
        ],
        ids=["5 bytes", "3 bytes", "0 bytes", "8 bytes"],
    )
    def test_generate_mask_must_leave_4_bytes(
        self, bad: Callable[[bytearray], object]
    ) -> None:
        with pytest.raises(ValueError, match="4 bytes"):
            MaskSource(bad)()

    def test_generate_mask_does_not_touch_urandom(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def refuse(n: int) -> bytes:
            raise AssertionError("os.urandom called")

        monkeypatch.setattr(os, "urandom", refuse)
        source = MaskSource(lambda buf: buf.__setitem__(slice(None), b"abcd"))
        assert [source() for _ in range(3)] == [b"abcd"] * 3


def fake_pool(base: int, n: int) -> bytes:
    return bytes((base + i) % 256 for i in range(n))
