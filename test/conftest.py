"""Settings for the whole suite.

The tests talk to 127.0.0.1 only. pyws's clients follow the proxy
variables of the environment by default (``HTTP_PROXY``, ``ALL_PROXY``,
...), so they are removed here: a developer's proxy settings must not route
the loopback tests through a proxy. The tests of the proxy support set them
with ``monkeypatch``.
"""

from __future__ import annotations

import os

for _name in list(os.environ):
    if _name.lower().endswith("_proxy"):
        del os.environ[_name]
