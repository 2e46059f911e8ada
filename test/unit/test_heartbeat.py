"""pyws.heartbeat: the keepalive decisions, on numbers (no clock, no I/O).

Times are seconds on a made-up clock; interval 10 s, timeout 4 s unless a
test says otherwise.
"""

from __future__ import annotations

import pytest

from pyws.heartbeat import ALIVE, DEAD, PING, WAIT, Heartbeat


def make(interval_ms: float = 10_000, timeout_ms: float = 4_000) -> Heartbeat:
    return Heartbeat(interval_ms, timeout_ms)


def test_first_timer_is_one_interval_after_start() -> None:
    assert make().start(100.0) == 110.0


def test_first_fire_pings_and_waits_timeout() -> None:
    hb = make()
    action, deadline = hb.on_timer(110.0, heard=False)
    assert (action, deadline) == (PING, 114.0)
    assert hb.payload == b"\x00\x00\x00\x01"
    assert hb.sent_at == 110.0


def test_silent_peer_is_dead_at_the_timeout() -> None:
    hb = make()
    hb.on_timer(110.0, heard=False)
    assert hb.on_timer(114.0, heard=False) == (DEAD, 114.0)


def test_peer_that_spoke_is_alive_next_ping_one_interval_after_last() -> None:
    hb = make()
    hb.on_timer(110.0, heard=False)
    assert hb.on_timer(114.0, heard=True) == (ALIVE, 120.0)
    assert hb.sent_at is None
    action, deadline = hb.on_timer(120.0, heard=False)
    assert (action, deadline) == (PING, 124.0)
    assert hb.payload == b"\x00\x00\x00\x02"


def test_timeout_longer_than_interval_pings_again_at_once() -> None:
    hb = make(interval_ms=2_000, timeout_ms=5_000)
    hb.on_timer(2.0, heard=False)
    action, deadline = hb.on_timer(7.0, heard=True)
    assert (action, deadline) == (PING, 12.0)
    assert hb.count == 2


def test_no_verdict_while_input_is_invisible() -> None:
    hb = make()
    hb.on_timer(110.0, heard=False)
    assert hb.on_timer(114.0, heard=False, visible=False) == (WAIT, 118.0)
    # Still the same ping outstanding: seen later, it is alive.
    assert hb.on_timer(118.0, heard=True) == (ALIVE, 120.0)


def test_heard_wins_over_invisible() -> None:
    hb = make()
    hb.on_timer(110.0, heard=False)
    assert hb.on_timer(114.0, heard=True, visible=False)[0] == ALIVE


def test_pong_with_our_payload_measures_latency_once() -> None:
    hb = make()
    hb.on_timer(110.0, heard=False)
    assert hb.latency_ms is None
    assert hb.on_pong(b"\x00\x00\x00\x01", 110.25) is True
    assert hb.latency_ms == pytest.approx(250.0)
    # A second copy (or a late duplicate) does not change it.
    assert hb.on_pong(b"\x00\x00\x00\x01", 111.0) is False
    assert hb.latency_ms == pytest.approx(250.0)


def test_unsolicited_or_foreign_pong_is_ignored() -> None:
    hb = make()
    assert hb.on_pong(b"", 1.0) is False  # before any ping
    hb.on_timer(110.0, heard=False)
    assert hb.on_pong(b"user", 110.1) is False
    assert hb.latency_ms is None


def test_late_pong_after_alive_verdict_still_ignored_if_payload_old() -> None:
    hb = make()
    hb.on_timer(110.0, heard=False)
    hb.on_timer(114.0, heard=True)
    hb.on_timer(120.0, heard=False)  # ping 2
    assert hb.on_pong(b"\x00\x00\x00\x01", 120.1) is False
    assert hb.on_pong(b"\x00\x00\x00\x02", 120.5) is True
    assert hb.latency_ms == pytest.approx(500.0)


@pytest.mark.parametrize(("interval", "timeout"), [(0, 1), (1, 0), (-1, 5)])
def test_non_positive_durations_are_refused(interval: float, timeout: float) -> None:
    with pytest.raises(ValueError):
        Heartbeat(interval, timeout)
