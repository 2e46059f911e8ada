"""The option types of :mod:`pyws.typing` match the option tables.

A type checker sees ``ClientOptions``/``ServerOptions``; pyws checks
options at run time with the tables of :mod:`pyws._options`. Both must
name exactly the same options, in both spellings, or a valid option
would be a type error (or a typo would type-check).
"""

from __future__ import annotations

import typing

import pytest

from pyws import typing as pyws_typing
from pyws._options import CLIENT_OPTIONS, REDIS_OPTIONS, SERVER_OPTIONS, Option

# Options typed as a parameter of their own instead (see ClientOptions).
_PARAMETERS = {"ClientOptions": {"protocols"}}


@pytest.mark.parametrize(
    ("typed", "table"),
    [
        (pyws_typing.ClientOptions, CLIENT_OPTIONS),
        (pyws_typing.ServerOptions, SERVER_OPTIONS),
        (pyws_typing.RedisFanoutOptions, REDIS_OPTIONS),
    ],
)
def test_typed_options_match_the_table(
    typed: type, table: dict[str, Option]
) -> None:
    keys = set(typing.get_type_hints(typed))
    skip = _PARAMETERS.get(typed.__name__, set())
    expected = {o.name for o in table.values()} | {o.pep8 for o in table.values()}
    assert keys == expected - skip
    assert not getattr(typed, "__required_keys__", set())  # every option optional


def test_send_options_match_what_send_accepts() -> None:
    from pyws.websocket import _SEND_OPTIONS

    assert set(typing.get_type_hints(pyws_typing.SendOptions)) == set(_SEND_OPTIONS)


def test_publish_options_match_what_publish_accepts() -> None:
    from pyws.redis import _PUBLISH_OPTIONS

    hints = set(typing.get_type_hints(pyws_typing.PublishOptions))
    assert hints == set(_PUBLISH_OPTIONS)
