"""Checks ``run.py --python-ft``: when the pyws-ft row runs and when it is
skipped, and with what message.

Run with ``pytest scripts/bench/test_run_ft.py``. The interpreter running the
test has the GIL, so the row must be refused for it; set ``PYWS_PYTHON_FT``
to a free-threaded CPython (see README.md) to check the row is made there
and that the GIL stays off once pyws and its C speedups are imported.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402


def test_no_interpreter_given_skips_the_row_and_says_how() -> None:
    impl, info = run.free_threaded_impl(None)
    assert impl is None
    assert "--python-ft PATH" in info["skipped"]
    assert "README.md" in info["skipped"]


def test_a_missing_interpreter_skips_the_row() -> None:
    impl, info = run.free_threaded_impl("/nonexistent/python3.13t")
    assert impl is None
    assert info["skipped"] == "/nonexistent/python3.13t: no such interpreter"


def test_an_interpreter_with_the_gil_is_refused() -> None:
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        pytest.skip("the interpreter running the tests is itself free-threaded")
    impl, info = run.free_threaded_impl(sys.executable)
    assert impl is None
    assert info["free_threaded"] is False
    assert "not a free-threaded build" in info["skipped"]
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))


@pytest.mark.skipif(
    not os.environ.get("PYWS_PYTHON_FT"),
    reason="PYWS_PYTHON_FT names no free-threaded CPython (README.md builds one)",
)
def test_a_free_threaded_interpreter_gets_the_row() -> None:
    impl, info = run.free_threaded_impl(os.environ["PYWS_PYTHON_FT"])
    assert impl is not None, info
    assert impl.name == "pyws-ft"
    assert impl.cmd[1].endswith("echo_pyws.py")
    assert info["free_threaded"] is True
    assert info["gil_enabled"] is False
    assert info["speedups"] is True
