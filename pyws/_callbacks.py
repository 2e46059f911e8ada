"""Node's call convention for Python callables: extra arguments are dropped.

A JavaScript function declared with fewer parameters than it is called with
simply ignores the rest: ``ws.on('pong', function heartbeat() {...})``
works although ``'pong'`` passes the data. A Python function raises
``TypeError`` instead. :func:`fit` decides once, from the signature, how
many leading arguments a callable accepts and returns something that can be
called with more: the callable itself when it takes them all (or has
``*args``), or a thin wrapper that passes on the leading ones.

Callers do this when a listener or callback is *added* (``on``, ``once``,
``send(data, cb)``, ``handleUpgrade``'s ``done``, ...), never per call, so
the per-message path runs the user's function directly whenever it already
takes every argument.

Core layer: stdlib only (``inspect``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import FunctionType, MethodType
from typing import Any

__all__ = ["capacity", "fit"]

_CO_VARARGS = inspect.CO_VARARGS
_POSITIONAL = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
)


def capacity(fn: Any) -> int | None:
    """How many positional arguments ``fn`` accepts; ``None`` for any number.

    ``None`` also when the signature cannot be read (some builtins): such a
    callable is called with every argument, as before.
    """
    if type(fn) is FunctionType and "__wrapped__" not in fn.__dict__:
        code = fn.__code__
        return None if code.co_flags & _CO_VARARGS else code.co_argcount
    if type(fn) is MethodType:
        func = fn.__func__
        if type(func) is FunctionType and "__wrapped__" not in func.__dict__:
            code = func.__code__
            if code.co_flags & _CO_VARARGS:
                return None
            return max(code.co_argcount - 1, 0)
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    n = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in _POSITIONAL:
            n += 1
    return n


def fit(fn: Callable[..., Any], nargs: int | None = None) -> Callable[..., Any]:
    """``fn``, callable with more positional arguments than it declares.

    Args:
        fn: the user's callable.
        nargs: how many arguments it will be called with, when known; if
            ``fn`` takes at least that many, ``fn`` itself is returned.

    Keyword arguments are passed on unchanged.
    """
    if type(fn) is FunctionType and "__wrapped__" not in fn.__dict__:
        # The common case, kept short: send(data, cb) fits cb on every call.
        code = fn.__code__
        if code.co_flags & _CO_VARARGS:
            return fn
        n: int | None = code.co_argcount
    else:
        n = capacity(fn)
    if n is None or (nargs is not None and n >= nargs):
        return fn
    return _leading(fn, n)


def _leading(fn: Callable[..., Any], n: int) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args[:n], **kwargs)

    call.__wrapped__ = fn  # type: ignore[attr-defined]
    call.__qualname__ = f"fit({getattr(fn, '__qualname__', fn)!s}, {n})"
    return call
