"""What a helping unit keeps for its own callers, checked against the queue it stands for."""

from __future__ import annotations

import pytest

from ari_app.vcta import RESERVE_ONLY, SPARE_HELPERS
from ari_app.vcta.helping import own_demand_peak


def _reaches(load: float, calls_now: int, level: int) -> float:
    """Probability that an infinite-server queue (arrivals ``load`` per handling time, each
    call ending at rate 1) started with ``calls_now`` calls reaches ``level`` within one
    handling time: the chance that a lent position is needed by the unit's own callers."""
    if calls_now >= level:
        return 1.0
    steps = 8 * round(load + level)  # small enough steps for the fastest rate
    chances = [0.0] * (level + 1)
    chances[calls_now] = 1.0
    step = 1.0 / steps
    for _ in range(steps):
        after = chances[:]
        for count in range(level):  # ``level`` absorbs: once reached, it has happened
            mass = chances[count] * step
            after[count] -= mass * (load + count)
            after[count + 1] += mass * load
            if count:
                after[count - 1] += mass * count
        chances = after
    return chances[level]


def test_a_quiet_helper_lends_a_position_a_steady_one_keeps() -> None:
    # Ten positions at 5 Erlangs: with no call of its own in progress it may lend one; with
    # one in progress, or five, it lends none.
    assert SPARE_HELPERS.keep_free(1, 5.0, 0) == 9  # 10 free: one to lend
    assert SPARE_HELPERS.keep_free(1, 5.0, 1) == 9  # 9 free: none
    assert SPARE_HELPERS.keep_free(1, 5.0, 5) == 7  # 5 free: none


def test_the_margin_never_falls_below_the_reserve_and_the_old_rules_keep_only_that() -> None:
    assert SPARE_HELPERS.keep_free(2, 0.0, 0) == 2
    assert RESERVE_ONLY.keep_free(2, 30.0, 25) == 2


def test_the_peak_is_never_below_the_calls_in_progress_now() -> None:
    # Without margin and with fewer calls usually than now, the count can only fall.
    assert own_demand_peak(3.0, 12, 0.0) == 12.0
    assert own_demand_peak(3.0, 12, 3.0) > 12.0


@pytest.mark.parametrize(
    ("positions", "load"),
    [(4, 2.0), (7, 3.5), (10, 5.0), (20, 10.0), (40, 20.0), (40, 30.0), (100, 50.0)],
)
def test_a_lent_position_is_rarely_needed_by_the_helpers_own_callers(
    positions: int, load: float
) -> None:
    """Whenever the rule lets a unit lend a position (more free than it keeps), its own calls,
    started from those in progress, need that position within one handling time with a
    probability of at most 1 %."""
    for calls_now in range(positions):
        free = positions - calls_now
        keep = SPARE_HELPERS.keep_free(0, load, calls_now)
        if free > keep:
            # After lending one, ``free - 1`` positions are left for its own new calls.
            assert _reaches(load, calls_now, calls_now + free) <= 0.01, calls_now
