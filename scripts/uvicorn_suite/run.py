"""Run uvicorn's own WebSocket tests against ``pyws.asgi.WebSocketProtocol``.

Downloads the sdist of the uvicorn release installed in this environment
(``setup.cfg`` pins the range; the sdist carries ``tests/``), extracts it
under ``.cache/``, puts ``test/asgi/uvicorn_conftest.py`` in as
``tests/protocols/conftest.py`` (it points the suite's ``ws_protocol_cls``
fixture at pyws's class and lists the tests skipped, with reasons) and runs
``tests/protocols/test_websocket.py``. Nothing of uvicorn's is committed.

Usage: ``python scripts/uvicorn_suite/run.py [pytest args]``; exits with
pytest's status.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"


def main(argv: list[str]) -> int:
    version = importlib.metadata.version("uvicorn")
    src = CACHE / f"uvicorn-{version}"
    if not (src / "tests" / "protocols" / "test_websocket.py").exists():
        CACHE.mkdir(exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(CACHE),
                f"uvicorn=={version}",
            ],
            check=True,
        )
        with tarfile.open(CACHE / f"uvicorn-{version}.tar.gz") as tar:
            tar.extractall(CACHE, filter="data")
    shutil.copyfile(
        ROOT / "test" / "asgi" / "uvicorn_conftest.py",
        src / "tests" / "protocols" / "conftest.py",
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-o",
        "addopts=-rs --strict-markers",  # the sdist's addopts want xdist
        "-p",
        "no:cacheprovider",
        "tests/protocols/test_websocket.py",
        *argv,
    ]
    return subprocess.run(cmd, cwd=src, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
