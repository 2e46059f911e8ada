"""The restart backoff of :mod:`pyws.workers` (no processes; the
supervisor itself is tested in test/integration/test_workers.py)."""

from __future__ import annotations

from pyws.workers import (
    RESTART_DELAY,
    RESTART_DELAY_MAX,
    STABLE_AFTER,
    deaths_in_a_row,
    restart_delay,
)


def test_delay_doubles_up_to_the_bound() -> None:
    delays = [restart_delay(n) for n in range(1, 12)]
    assert delays[:4] == [RESTART_DELAY, 0.2, 0.4, 0.8]
    assert delays[-1] == RESTART_DELAY_MAX == 10.0
    assert all(a <= b for a, b in zip(delays, delays[1:], strict=False))
    assert max(delays) == RESTART_DELAY_MAX


def test_a_worker_that_ran_long_enough_starts_a_new_row() -> None:
    assert deaths_in_a_row(0, 0.5) == 1
    assert deaths_in_a_row(5, 0.5) == 6
    assert deaths_in_a_row(5, STABLE_AFTER) == 1
    assert restart_delay(deaths_in_a_row(7, STABLE_AFTER + 1)) == RESTART_DELAY
