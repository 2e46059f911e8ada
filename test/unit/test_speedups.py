"""The optional C accelerator (``pyws.speedups``) against the pure fallback.

RFC 6455 section 5.3: masking XORs byte ``i`` with ``key[i % 4]``. Both
implementations must give the same bytes for every size around the 64- and
8-byte strides and the GIL-release threshold, at any alignment, for every
bytes-like input.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pyws import buffer_util

speedups = pytest.importorskip(
    "pyws.speedups", reason="pyws.speedups was not built (no C compiler at install)"
)

SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 71, 72]
SIZES += [127, 128, 129, 135, 125, 126, 1024, 1031, 65535, 65536, 65537, 65603]


def reference(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


@pytest.mark.parametrize("size", SIZES)
def test_c_and_python_agree(size: int) -> None:
    data = os.urandom(size)
    key = os.urandom(4)
    expected = reference(data, key)
    assert speedups.apply_mask(data, key) == expected
    assert buffer_util.apply_mask_py(data, key) == expected


@pytest.mark.parametrize("offset", range(9))
def test_unaligned_views(offset: int) -> None:
    # A payload sliced from the receive buffer starts anywhere.
    buf = os.urandom(offset + 300)
    key = os.urandom(4)
    view = memoryview(buf)[offset : offset + 291]
    assert speedups.apply_mask(view, key) == reference(bytes(view), key)


@pytest.mark.parametrize(
    "wrap", [bytes, bytearray, memoryview], ids=["bytes", "bytearray", "memoryview"]
)
def test_bytes_like_inputs(wrap: type) -> None:
    data = os.urandom(1000)
    key = b"\x01\x02\x03\x04"
    assert speedups.apply_mask(wrap(data), key) == reference(data, key)


def test_an_all_zero_key_leaves_the_data_as_is() -> None:
    data = os.urandom(100)
    assert speedups.apply_mask(data, b"\0\0\0\0") is data  # no copy
    out = speedups.apply_mask(bytearray(data), b"\0\0\0\0")
    assert type(out) is bytes and out == data
    assert speedups.apply_mask(memoryview(data)[3:9], bytes(4)) == data[3:9]


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        speedups.apply_mask(b"abc")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        speedups.apply_mask("text", b"\x01\x02\x03\x04")  # type: ignore[arg-type]
    with pytest.raises(BufferError):
        speedups.apply_mask(memoryview(b"abcdef")[::2], b"\x01\x02\x03\x04")


def test_mask_must_be_four_bytes() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        speedups.apply_mask(b"abc", b"\x01\x02\x03")


def test_apply_mask_uses_the_accelerator_unless_opted_out() -> None:
    assert buffer_util.SPEEDUPS is (not os.environ.get("PYWS_NO_SPEEDUPS"))
    code = "import pyws.buffer_util as b; print(b.SPEEDUPS)"
    env = dict(os.environ, PYWS_NO_SPEEDUPS="1")
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "False", out.stderr
    env.pop("PYWS_NO_SPEEDUPS")
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "True", out.stderr


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("b0", [0x82, 0x01, 0xC1, 0x89])
def test_mask_frame_c_and_python_agree(size: int, b0: int) -> None:
    data = os.urandom(size)
    key = os.urandom(4)
    built = speedups.mask_frame(b0, data, key)
    assert built == buffer_util.mask_frame_py(b0, data, key)
    # RFC 6455 section 5.2: b0, MASK bit with the length form, key, payload.
    assert built[0] == b0 and built[1] & 0x80
    hl = 2 if size < 126 else 4 if size < 65536 else 10
    assert built[hl : hl + 4] == key
    assert built[hl + 4 :] == reference(data, key)


def test_mask_frame_bad_arguments() -> None:
    key = b"\x01\x02\x03\x04"
    with pytest.raises(ValueError, match="byte"):
        speedups.mask_frame(256, b"x", key)
    with pytest.raises(ValueError, match="4 bytes"):
        speedups.mask_frame(0x82, b"x", b"\x01")
    with pytest.raises(TypeError):
        speedups.mask_frame(0x82, b"x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        speedups.mask_frame(0x82, "x", key)  # type: ignore[arg-type]


def test_a_second_module_object_from_the_same_extension_works() -> None:
    # Multi-phase init (PEP 489): a reload or a subinterpreter runs the exec
    # slot again on a new module object; the interned names stay valid.
    import importlib.machinery
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "pyws.speedups",
        speedups.__file__,
        loader=importlib.machinery.ExtensionFileLoader(
            "pyws.speedups", speedups.__file__
        ),
    )
    assert spec is not None and spec.loader is not None
    twin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(twin)
    assert twin is not speedups
    key = b"\x01\x02\x03\x04"
    assert twin.apply_mask(b"abcdef", key) == reference(b"abcdef", key)
    frames = b"\x82\x83" + key + reference(b"xyz", key)

    class Owner:
        done = False
        _held = False
        binary_type = "nodebuffer"

    got: list[tuple[bytes, bool]] = []
    owner = Owner()
    pos = twin.deliver_frames(
        frames, 0, True, 0, True, lambda d, b: got.append((d, b)), owner
    )
    assert pos == len(frames) and got == [(b"xyz", True)]


def test_concurrent_calls_from_threads_agree_with_the_fallback() -> None:
    # Without a GIL (free-threaded CPython) the functions run at the same
    # time in several threads on shared inputs; with one, the payloads above
    # the GIL-release threshold still overlap. Every result must be the
    # single-threaded one.
    import threading

    key = os.urandom(4)
    payloads = [os.urandom(n) for n in (16, 1024, 65535, 200_000)]
    masked = [reference(p, key) for p in payloads]
    frames = [buffer_util.mask_frame_py(0x82, p, key) for p in payloads]
    stream = b"".join(frames)
    errors: list[str] = []
    barrier = threading.Barrier(4, timeout=30)

    class Owner:
        done = False
        _held = False
        binary_type = "nodebuffer"

    def work() -> None:
        barrier.wait()
        got: list[bytes] = []
        owner = Owner()
        for _ in range(20):
            for p, m, f in zip(payloads, masked, frames, strict=True):
                if speedups.apply_mask(p, key) != m:
                    errors.append("apply_mask")
                if speedups.mask_frame(0x82, p, key) != f:
                    errors.append("mask_frame")
            got.clear()
            pos = speedups.deliver_frames(
                stream, 0, True, 0, True, lambda d, b: got.append(d), owner
            )
            if pos != len(stream) or got != payloads:
                errors.append("deliver_frames")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


@pytest.mark.skipif(
    not getattr(sys, "_is_gil_enabled", None)
    or not __import__("sysconfig").get_config_var("Py_GIL_DISABLED"),
    reason="needs a free-threaded CPython (3.13t or later)",
)
def test_the_gil_stays_off_on_a_free_threaded_build() -> None:
    # An extension that does not declare Py_mod_gil turns the GIL back on at
    # import, with a RuntimeWarning; pyws.speedups declares it.
    code = (
        "import sys, pyws, pyws.speedups, pyws.buffer_util as b; "
        "print(b.SPEEDUPS, sys._is_gil_enabled())"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    env.pop("PYWS_NO_SPEEDUPS", None)
    out = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.split() == ["True", "False"], out.stderr
