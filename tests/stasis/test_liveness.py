"""The event stream's liveness rule, with time passed in: any frame proves life, a ping only
after silence, dead only after a long silence and an unanswered ping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ari_app.stasis.liveness import Liveness, Verdict
from ari_app.stasis.stream import StreamTimings


def rule() -> Liveness:
    return Liveness(ping_after=1.0, pong_timeout=2.0, silence_limit=4.0)


def test_a_connection_that_keeps_sending_is_never_pinged() -> None:
    liveness = rule()
    for tick in range(100):
        now = tick * 0.5
        check = liveness.check(heard_at=now, now=now)
        assert check.verdict is Verdict.ALIVE
        assert check.next_at == now + 1.0


def test_silence_gets_a_ping_each_second_then_death_after_four_seconds() -> None:
    liveness = rule()
    verdicts = [(t, liveness.check(heard_at=0.0, now=t).verdict) for t in (0.5, 1.0, 1.5, 2.0)]
    assert verdicts == [
        (0.5, Verdict.ALIVE),
        (1.0, Verdict.PING),
        (1.5, Verdict.ALIVE),
        (2.0, Verdict.PING),
    ]
    assert liveness.check(heard_at=0.0, now=3.0).verdict is Verdict.PING
    assert liveness.check(heard_at=0.0, now=3.9).verdict is Verdict.ALIVE
    assert liveness.check(heard_at=0.0, now=4.0).verdict is Verdict.DEAD


def test_a_late_pong_ends_the_silence() -> None:
    liveness = rule()
    assert liveness.check(heard_at=0.0, now=1.0).verdict is Verdict.PING
    assert liveness.check(heard_at=0.0, now=2.0).verdict is Verdict.PING
    # The pong of the first ping comes 2.5 s late: alive, and no ping until silence again.
    check = liveness.check(heard_at=3.5, now=3.5)
    assert check == check.__class__(Verdict.ALIVE, 4.5)
    assert liveness.check(heard_at=3.5, now=6.0).verdict is Verdict.PING
    assert liveness.check(heard_at=3.5, now=7.9).verdict is not Verdict.DEAD
    assert liveness.check(heard_at=3.5, now=8.0).verdict is Verdict.DEAD


def test_our_own_stalled_loop_asks_before_declaring_a_quiet_peer_dead() -> None:
    liveness = rule()
    # Nothing was read for 10 s because this process was busy, not because the peer died:
    # it is asked first, and given the pong timeout to answer.
    assert liveness.check(heard_at=0.0, now=10.0).verdict is Verdict.PING
    assert liveness.check(heard_at=0.0, now=11.9).verdict is not Verdict.DEAD
    assert liveness.check(heard_at=0.0, now=12.0).verdict is Verdict.DEAD


def test_the_next_check_is_the_next_moment_something_is_due() -> None:
    liveness = rule()
    assert liveness.check(heard_at=0.0, now=0.2).next_at == 1.0
    assert liveness.check(heard_at=0.0, now=1.0).next_at == 2.0  # pinged: the next ping
    assert liveness.check(heard_at=0.0, now=3.0).next_at == 4.0  # the death, before a ping


@given(
    st.lists(st.floats(min_value=0.0, max_value=3.9), min_size=1, max_size=60),
)
def test_frames_never_further_apart_than_the_silence_limit_keep_it_alive(
    gaps: list[float],
) -> None:
    liveness = rule()
    heard = 0.0
    for gap in gaps:
        # Checks at every moment the rule asks for, up to the next frame.
        now = heard
        while True:
            check = liveness.check(heard_at=heard, now=now)
            assert check.verdict is not Verdict.DEAD
            if check.next_at >= heard + gap:
                break
            now = check.next_at
        heard += gap


@given(st.floats(min_value=0.0, max_value=100.0))
def test_a_dead_peer_is_declared_dead_within_the_silence_limit_when_checked_as_asked(
    last_frame: float,
) -> None:
    liveness = rule()
    now = last_frame
    while (check := liveness.check(heard_at=last_frame, now=now)).verdict is not Verdict.DEAD:
        assert check.next_at > now or check.verdict is Verdict.PING
        now = max(check.next_at, now)
    assert now - last_frame == pytest.approx(4.0)


def test_the_default_timings_notice_a_dead_connection_within_five_seconds() -> None:
    assert StreamTimings().dead_after <= 5.0
    assert StreamTimings().liveness().silence_limit == StreamTimings().dead_after


def test_delays_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Liveness(ping_after=1.0, pong_timeout=0.0, silence_limit=4.0)
    with pytest.raises(ValueError, match="silence_limit must be positive"):
        StreamTimings(silence_limit=0)
