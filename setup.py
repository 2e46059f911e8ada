"""Builds pyws's optional C accelerator; everything else is in setup.cfg.

The extension is optional: if it cannot be compiled, pyws installs and runs
on its pure Python fallback. Set PYWS_NO_SPEEDUPS=1 at run time to ignore a
compiled one.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("pyws.speedups", sources=["pyws/speedups.c"], optional=True),
    ],
)
