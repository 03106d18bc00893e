"""Within a unit: oldest call first, longest-idle position first, failed positions skipped,
and picking."""

from __future__ import annotations

import pytest

from ari_app.vcta import (
    OfferFailure,
    PolicyState,
    PolicyStateError,
    PositionStatus,
    may_pick,
    next_offer,
)

from .builders import arrive, centre, online, topology, vcta


def _centre_77(positions: int = 3) -> PolicyState:
    return PolicyState(topology(centre("sdis77", positions, department="77")))


def test_oldest_call_is_offered_to_the_longest_idle_position() -> None:
    state = _centre_77()
    online(state, "sdis77-op2", now=10.0)
    online(state, "sdis77-op1", now=20.0)
    arrive(state, "late", "77", at=105.0)
    arrive(state, "early", "77", at=100.0)
    offer = next_offer(state.topology, state, "sdis77", 110.0)
    assert offer is not None
    assert (offer.call_id, offer.position_id, offer.endpoint) == (
        "early",
        "sdis77-op2",
        "PJSIP/sdis77-op2",
    )
    assert "oldest call" in offer.reason
    assert "longest idle" in offer.reason


def test_a_call_that_cannot_be_rung_now_is_passed_over_and_keeps_its_place() -> None:
    state = _centre_77()
    online(state, "sdis77-op1", now=10.0)
    arrive(state, "early", "77", at=100.0)
    arrive(state, "late", "77", at=105.0)
    offer = next_offer(state.topology, state, "sdis77", 110.0, lambda call: call != "early")
    assert offer is not None
    assert offer.call_id == "late"
    assert [c.call_id for c in state.waiting_calls("sdis77")] == ["early", "late"]
    assert next_offer(state.topology, state, "sdis77", 110.0, lambda call: False) is None


def test_nothing_is_offered_without_an_available_position() -> None:
    state = _centre_77()
    arrive(state, "c1", "77", at=0.0)
    assert next_offer(state.topology, state, "sdis77", 1.0) is None


def test_call_being_offered_is_not_offered_twice() -> None:
    state = _centre_77()
    online(state, "sdis77-op1", "sdis77-op2")
    arrive(state, "c1", "77", at=0.0)
    state.offer_made("c1", "sdis77-op1", 1.0)
    assert next_offer(state.topology, state, "sdis77", 1.0) is None
    assert state.queue_length("sdis77") == 0


def test_failed_offer_puts_the_call_back_at_its_place_and_skips_that_position() -> None:
    state = _centre_77()
    online(state, "sdis77-op1", now=0.0)
    online(state, "sdis77-op2", now=5.0)
    arrive(state, "first", "77", at=10.0)
    arrive(state, "second", "77", at=20.0)
    state.offer_made("first", "sdis77-op1", 21.0)
    state.offer_failed("first", "sdis77-op1", OfferFailure.NO_ANSWER, 41.0)
    offer = next_offer(state.topology, state, "sdis77", 41.0)
    assert offer is not None
    assert (offer.call_id, offer.position_id) == ("first", "sdis77-op2")


def test_skipped_position_is_tried_again_for_that_call_after_the_skip_time() -> None:
    state = PolicyState(topology(centre("sdis77", 1), skip_failed_position_for=30.0))
    online(state, "sdis77-op1")
    arrive(state, "c1", "sdis77", at=0.0)
    state.offer_made("c1", "sdis77-op1", 1.0)
    state.offer_failed("c1", "sdis77-op1", OfferFailure.BUSY, 2.0)
    assert next_offer(state.topology, state, "sdis77", 31.0) is None
    offer = next_offer(state.topology, state, "sdis77", 32.0)
    assert offer is not None
    assert offer.position_id == "sdis77-op1"


def test_position_skipped_for_the_oldest_call_takes_the_next_one() -> None:
    state = PolicyState(topology(centre("sdis77", 1)))
    online(state, "sdis77-op1")
    arrive(state, "old", "sdis77", at=0.0)
    arrive(state, "new", "sdis77", at=5.0)
    state.offer_made("old", "sdis77-op1", 6.0)
    state.offer_failed("old", "sdis77-op1", OfferFailure.REJECTED, 7.0)
    offer = next_offer(state.topology, state, "sdis77", 8.0)
    assert offer is not None
    assert (offer.call_id, offer.position_id) == ("new", "sdis77-op1")


def test_position_that_failed_goes_to_the_end_of_the_idle_order() -> None:
    state = _centre_77(2)
    online(state, "sdis77-op1", now=0.0)
    online(state, "sdis77-op2", now=5.0)
    arrive(state, "c1", "sdis77", at=10.0)
    state.offer_made("c1", "sdis77-op1", 10.0)
    state.offer_failed("c1", "sdis77-op1", OfferFailure.NO_ANSWER, 30.0)
    state.call_ended("c1", 31.0)
    arrive(state, "c2", "sdis77", at=32.0)
    offer = next_offer(state.topology, state, "sdis77", 32.0)
    assert offer is not None
    assert offer.position_id == "sdis77-op2"


def test_unreachable_position_is_offline_until_reported_online() -> None:
    state = _centre_77(1)
    online(state, "sdis77-op1")
    arrive(state, "c1", "sdis77", at=0.0)
    state.offer_made("c1", "sdis77-op1", 1.0)
    state.offer_failed("c1", "sdis77-op1", OfferFailure.UNREACHABLE, 1.0)
    assert state.positions["sdis77-op1"].status is PositionStatus.OFFLINE
    state.position_online("sdis77-op1", 50.0)
    assert next_offer(state.topology, state, "sdis77", 50.0) is not None


def test_paused_position_is_not_offered_calls() -> None:
    state = _centre_77(1)
    online(state, "sdis77-op1")
    state.set_paused("sdis77-op1", True, 0.0)
    arrive(state, "c1", "sdis77", at=1.0)
    assert next_offer(state.topology, state, "sdis77", 2.0) is None
    assert "sdis77-op1" in state.modes.paused_positions
    state.set_paused("sdis77-op1", False, 3.0)
    assert next_offer(state.topology, state, "sdis77", 3.0) is not None


def test_position_in_wrap_up_gets_no_call_until_wrap_up_ends() -> None:
    state = _centre_77(1)
    online(state, "sdis77-op1")
    arrive(state, "c1", "sdis77", at=0.0)
    state.offer_made("c1", "sdis77-op1", 1.0)
    state.call_connected("c1", "sdis77-op1", 3.0)
    state.call_ended("c1", 60.0)
    assert state.positions["sdis77-op1"].status is PositionStatus.WRAP_UP
    arrive(state, "c2", "sdis77", at=61.0)
    assert next_offer(state.topology, state, "sdis77", 62.0) is None
    state.wrap_up_ended("sdis77-op1", 70.0)
    offer = next_offer(state.topology, state, "sdis77", 70.0)
    assert offer is not None
    assert offer.call_id == "c2"


def test_caller_hanging_up_while_ringing_frees_the_position_at_its_place() -> None:
    state = _centre_77(2)
    online(state, "sdis77-op1", now=0.0)
    online(state, "sdis77-op2", now=5.0)
    arrive(state, "c1", "sdis77", at=10.0)
    state.offer_made("c1", "sdis77-op1", 10.0)
    state.call_ended("c1", 12.0)
    arrive(state, "c2", "sdis77", at=13.0)
    offer = next_offer(state.topology, state, "sdis77", 13.0)
    assert offer is not None
    assert offer.position_id == "sdis77-op1"


def test_pooled_positions_serve_the_virtual_cta_queue() -> None:
    state = PolicyState(
        topology(
            centre("sdis89", 1, department="89"),
            centre("sdis10", 1, department="10"),
            vctas=[vcta("vcta-89-10", ["sdis89", "sdis10"])],
        )
    )
    online(state, "sdis10-op1")
    arrive(state, "c1", "89024", at=0.0)
    offer = next_offer(state.topology, state, "vcta-89-10", 1.0)
    assert offer is not None
    assert offer.position_id == "sdis10-op1"


def test_operator_may_pick_any_call_waiting_at_the_unit() -> None:
    state = _centre_77(2)
    online(state, "sdis77-op1", "sdis77-op2")
    arrive(state, "old", "sdis77", at=0.0)
    arrive(state, "new", "sdis77", at=5.0)
    decision = may_pick(state.topology, state, "sdis77-op2", "new", 10.0)
    assert decision.allowed, decision.reason
    state.offer_made("new", "sdis77-op2", 10.0)
    state.call_connected("new", "sdis77-op2", 10.0)
    assert [c.call_id for c in state.waiting_calls("sdis77")] == ["old"]


def test_paused_operator_may_pick_a_call() -> None:
    state = _centre_77(1)
    online(state, "sdis77-op1")
    state.set_paused("sdis77-op1", True, 0.0)
    arrive(state, "c1", "sdis77", at=1.0)
    assert may_pick(state.topology, state, "sdis77-op1", "c1", 2.0).allowed


def test_pick_of_a_call_waiting_elsewhere_is_refused() -> None:
    state = PolicyState(topology(centre("sdis77", 1), centre("sdis91", 1, department="91")))
    online(state, "sdis77-op1")
    arrive(state, "c1", "91", at=0.0)
    decision = may_pick(state.topology, state, "sdis77-op1", "c1", 1.0)
    assert not decision.allowed
    assert decision.reason == "call c1 waits at sdis91; sdis77-op1 serves sdis77"


def test_pick_by_a_busy_operator_is_refused() -> None:
    state = _centre_77(1)
    online(state, "sdis77-op1")
    arrive(state, "c1", "sdis77", at=0.0)
    arrive(state, "c2", "sdis77", at=1.0)
    state.offer_made("c1", "sdis77-op1", 2.0)
    state.call_connected("c1", "sdis77-op1", 3.0)
    decision = may_pick(state.topology, state, "sdis77-op1", "c2", 4.0)
    assert not decision.allowed
    assert "busy" in decision.reason


def test_pick_of_a_call_already_ringing_elsewhere_is_refused() -> None:
    state = _centre_77(2)
    online(state, "sdis77-op1", "sdis77-op2")
    arrive(state, "c1", "sdis77", at=0.0)
    state.offer_made("c1", "sdis77-op1", 1.0)
    decision = may_pick(state.topology, state, "sdis77-op2", "c1", 2.0)
    assert not decision.allowed
    assert "offered" in decision.reason


def test_pick_by_an_offline_position_is_refused() -> None:
    state = _centre_77(1)
    arrive(state, "c1", "sdis77", at=0.0)
    decision = may_pick(state.topology, state, "sdis77-op1", "c1", 1.0)
    assert not decision.allowed
    assert "offline" in decision.reason


def test_impossible_transition_is_refused_and_changes_nothing() -> None:
    state = _centre_77(1)
    online(state, "sdis77-op1")
    arrive(state, "c1", "sdis77", at=0.0)
    with pytest.raises(PolicyStateError, match="not being offered"):
        state.call_connected("c1", "sdis77-op1", 1.0)
    with pytest.raises(PolicyStateError, match="not known"):
        state.call_ended("nope", 1.0)
    assert state.queue_length("sdis77") == 1
    assert state.available_count("sdis77") == 1


def test_position_on_a_call_the_application_does_not_own_is_busy_until_it_ends() -> None:
    state = _centre_77(2)
    online(state, "sdis77-op1", now=10.0)
    online(state, "sdis77-op2", now=20.0)

    def status() -> PositionStatus:
        return state.positions["sdis77-op1"].status

    state.position_engaged("sdis77-op1", True, 30.0)
    assert status() is PositionStatus.BUSY
    arrive(state, "call", "77", at=100.0)
    offer = next_offer(state.topology, state, "sdis77", 110.0)
    assert offer is not None
    assert offer.position_id == "sdis77-op2"
    with pytest.raises(PolicyStateError):
        state.offer_made("call", "sdis77-op1", 110.0)
    state.position_engaged("sdis77-op1", False, 120.0)
    assert status() is PositionStatus.AVAILABLE
    assert state.positions["sdis77-op1"].idle_since == 120.0
