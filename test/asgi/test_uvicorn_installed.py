"""uvicorn is installed in the range setup.cfg pins, or this folder says
why its tests did not run (the ``asgi`` extra needs Python 3.11+)."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

SETUP_CFG = Path(__file__).resolve().parents[2] / "setup.cfg"


def test_uvicorn_in_the_tested_range() -> None:
    try:
        version = metadata.version("uvicorn")
    except metadata.PackageNotFoundError:
        pytest.skip(
            "uvicorn is not installed (the asgi extra needs Python 3.11+, this "
            f"is {sys.version.split()[0]}): the other tests of test/asgi are "
            "not collected"
        )
    pin = re.search(r"^\s*uvicorn>=([\d.]+),<([\d.]+)", SETUP_CFG.read_text(), re.M)
    assert pin is not None, "setup.cfg's asgi extra pins uvicorn"
    low, high = (tuple(int(x) for x in v.split(".")) for v in pin.groups())
    have = tuple(int(x) for x in version.split(".")[:3])
    assert low <= have < high, f"uvicorn {version} outside {pin.group(0).strip()}"
