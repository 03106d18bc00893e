"""Reconnection delays, computed without sleeping: the random source and the time are
handed in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_app.stasis import Backoff


def test_delays_double_up_to_the_cap_with_the_highest_draw() -> None:
    backoff = Backoff(lambda: 1.0, initial=0.5, maximum=4.0)
    delays = [backoff.next_delay(now=float(t)) for t in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_full_jitter_scales_the_ceiling_by_the_draw() -> None:
    draws = iter([0.0, 0.25, 0.5])
    backoff = Backoff(lambda: next(draws), initial=1.0, maximum=30.0)
    assert [backoff.next_delay(0.0) for _ in range(3)] == [0.0, 0.5, 2.0]


def test_a_connection_that_stayed_up_resets_the_delays() -> None:
    backoff = Backoff(lambda: 1.0, initial=0.5, maximum=30.0, healthy_after=10.0)
    for _ in range(4):
        backoff.next_delay(now=0.0)
    backoff.connected(now=100.0)
    assert backoff.next_delay(now=110.0) == 0.5


def test_a_connection_that_drops_at_once_keeps_backing_off() -> None:
    backoff = Backoff(lambda: 1.0, initial=0.5, maximum=30.0, healthy_after=10.0)
    for _ in range(3):
        backoff.next_delay(now=0.0)
    backoff.connected(now=100.0)
    assert backoff.next_delay(now=100.2) == 4.0
    assert backoff.failures == 4


def test_thousands_of_failures_stay_at_the_cap() -> None:
    backoff = Backoff(lambda: 1.0, initial=0.5, maximum=30.0)
    for _ in range(5000):
        delay = backoff.next_delay(0.0)
    assert delay == 30.0


@pytest.mark.parametrize(
    "kwargs", [{"initial": 0.0}, {"initial": 5.0, "maximum": 1.0}, {"multiplier": 0.5}]
)
def test_nonsensical_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(lambda: 0.5, **kwargs)


@settings(max_examples=60, deadline=None)
@given(
    draws=st.lists(st.floats(min_value=0.0, max_value=0.999999), min_size=1, max_size=40),
    initial=st.floats(min_value=0.01, max_value=5.0),
    maximum=st.floats(min_value=5.0, max_value=120.0),
)
def test_every_delay_is_between_zero_and_the_cap(
    draws: list[float], initial: float, maximum: float
) -> None:
    source = iter(draws)
    backoff = Backoff(lambda: next(source), initial=initial, maximum=maximum)
    for _ in draws:
        ceiling = backoff.ceiling()
        delay = backoff.next_delay(0.0)
        assert 0.0 <= delay <= ceiling <= maximum
