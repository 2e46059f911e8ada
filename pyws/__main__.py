"""``python -m pyws``: runs :func:`pyws.cli.main` (``listen`` and ``connect``).

Imports only :mod:`pyws.cli`; nothing imports this module.
"""

from __future__ import annotations

import sys

from pyws.cli import main

if __name__ == "__main__":
    sys.exit(main())
