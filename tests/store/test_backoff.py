"""Reconnection delays: growing, capped, jittered, reset after success."""

from __future__ import annotations

import random

import pytest

from ari_app.store.backoff import Backoff


def test_delays_double_up_to_the_cap_within_the_jitter() -> None:
    backoff = Backoff(0.5, 4.0, jitter=0.2, rng=random.Random(7))
    delays = [backoff.next_delay(now=float(n)) for n in range(6)]
    for delay, base in zip(delays, [0.5, 1, 2, 4, 4, 4], strict=True):
        assert base * 0.8 <= delay <= base * 1.2


def test_jitter_spreads_the_delays_of_several_clients() -> None:
    firsts = {Backoff(1.0, 10.0, rng=random.Random(seed)).next_delay(now=0.0) for seed in range(10)}
    assert len(firsts) == 10


def test_reset_starts_again_from_the_first_delay() -> None:
    backoff = Backoff(1.0, 30.0, jitter=0.0)
    assert [backoff.next_delay(now=0.0) for _ in range(3)] == [1.0, 2.0, 4.0]
    backoff.reset()
    assert backoff.next_delay(now=0.0) == 1.0


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="initial_s <= maximum_s"):
        Backoff(5.0, 1.0)
    with pytest.raises(ValueError, match="jitter < 1"):
        Backoff(1.0, 2.0, jitter=1.5)


def test_deadline_counts_from_the_first_failure_and_a_success_restarts_it() -> None:
    backoff = Backoff(1.0, 4.0, deadline_s=10.0)
    assert not backoff.exhausted(now=100.0)  # nothing failed yet
    backoff.next_delay(now=100.0)
    backoff.next_delay(now=105.0)
    assert not backoff.exhausted(now=109.9)
    assert backoff.exhausted(now=110.0)
    backoff.reset()
    assert not backoff.exhausted(now=200.0)
    backoff.next_delay(now=200.0)
    assert not backoff.exhausted(now=209.0)
    assert backoff.exhausted(now=210.0)


def test_without_a_deadline_it_is_never_exhausted() -> None:
    backoff = Backoff(1.0, 4.0)
    backoff.next_delay(now=0.0)
    assert not backoff.exhausted(now=1e9)
