"""``pyws._callbacks``: Node's call convention (extra arguments dropped).

``capacity`` reads how many positional arguments a callable takes (``None``
for ``*args`` or an unreadable signature); ``fit`` returns the callable
itself when it takes every argument, else an adapter passing the leading
ones.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from pyws._callbacks import capacity, fit


def zero() -> str:
    return "zero"


def one(a: Any) -> tuple[Any, ...]:
    return (a,)


def two_with_default(a: Any, b: Any = "dflt") -> tuple[Any, ...]:
    return (a, b)


def star(*args: Any) -> tuple[Any, ...]:
    return args


def kw_only(a: Any, *, k: Any = None) -> tuple[Any, ...]:
    return (a, k)


class Obj:
    def method(self, a: Any) -> tuple[Any, ...]:
        return (a,)

    def __call__(self, a: Any, b: Any) -> tuple[Any, ...]:
        return (a, b)


def decorated(f: Any) -> Any:
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return f(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (zero, 0),
        (one, 1),
        (two_with_default, 2),
        (star, None),
        (kw_only, 1),
        (lambda: None, 0),
        (lambda a, b, c: None, 3),
        (Obj().method, 1),
        (Obj(), 2),
        (functools.partial(two_with_default, 1), 1),
        (decorated(one), 1),  # follows __wrapped__, as the call goes there
        (print, None),  # *args
        (Obj, 0),
    ],
)
def test_capacity(fn: Any, expected: int | None) -> None:
    assert capacity(fn) == expected


def test_fit_returns_the_callable_when_it_takes_every_argument() -> None:
    assert fit(star, 5) is star
    assert fit(two_with_default, 2) is two_with_default
    assert fit(two_with_default, 1) is two_with_default
    m = Obj().method
    assert fit(m, 1) is m


def test_fit_drops_extra_arguments() -> None:
    assert fit(zero, 2)("a", "b") == "zero"
    assert fit(one, 3)("a", "b", "c") == ("a",)
    assert fit(Obj().method, 2)("a", "b") == ("a",)
    assert fit(decorated(one), 2)(1, 2) == (1,)


def test_fit_without_a_known_count_adapts_any_fixed_signature() -> None:
    f = fit(two_with_default)
    assert f is not two_with_default
    assert f(1) == (1, "dflt")
    assert f(1, 2, 3) == (1, 2)
    assert fit(star) is star


def test_fit_passes_keyword_arguments() -> None:
    assert fit(kw_only, 3)(1, 2, 3, k="x") == (1, "x")


def test_fit_keeps_too_few_arguments_an_error() -> None:
    # Node would pass undefined; Python has no such value: the user's
    # function raises as it would when called directly.
    with pytest.raises(TypeError):
        fit(two_with_default, 0)()
