"""A new topology while calls are in progress: limits named, calls carried, removed positions
finishing their call, a removed centre's waiting callers routed again."""

from __future__ import annotations

import pytest

from ari_app.vcta import CallStatus, MoveKind, PolicyState, PolicyStateError, parse_topology
from ari_app.vcta.topology_change import CallInProgress, carry_over, limit_changes, stranded
from tests.calls.topologies import THREE_CENTRES
from tests.vcta.builders import all_online, arrive, occupy

OLD = parse_topology(THREE_CENTRES, "old")
# alpha takes 2 calls in line, loses alpha-op2; gamma is gone (its department with it).
NEW_TEXT = (
    THREE_CENTRES.replace("max_queue = 1\nmax_wait = 3600\nreserve = 0\noverflow_cap = 5\n"
                          'neighbours = [["beta"], ["gamma"]]',
                          "max_queue = 2\nmax_wait = 3600\nreserve = 0\noverflow_cap = 5\n"
                          'neighbours = [["beta"]]')
    .replace('["PJSIP/alpha-op1", "PJSIP/alpha-op2"]', '["PJSIP/alpha-op1"]')
    .replace(
        '[centres.gamma]\nname = "Gamma"\ndepartment = "45"\npositions = ["PJSIP/gamma-op1"]\n'
        "max_queue = 1\nmax_wait = 3600\nreserve = 0\noverflow_cap = 5\n"
        'neighbours = [["alpha"]]\n',
        "",
    )
)  # fmt: skip
NEW = parse_topology(NEW_TEXT, "new")


def test_each_changed_limit_is_named_with_before_and_after() -> None:
    assert "gamma" not in NEW.centre_by_id
    assert [str(c) for c in limit_changes(OLD, NEW)] == [
        "alpha max_queue 1 → 2",
        "alpha neighbours [[beta], [gamma]] → [[beta]]",
    ]


def test_removed_position_finishes_its_call_then_is_forgotten() -> None:
    state = all_online(PolicyState(OLD))
    talking = occupy(state, "alpha-op2", now=5.0)
    carried = carry_over(state, NEW, NEW.initial_modes(), now=10.0)
    new = carried.state
    assert new.calls[talking].status is CallStatus.CONNECTED
    assert new.positions["alpha-op2"].retiring
    assert "alpha-op2" not in {p.id for p in new.available_positions("alpha")}
    assert new.positions["alpha-op1"].online  # a kept position stays as it was
    new.call_ended(talking, 20.0)
    new.wrap_up_ended("alpha-op2", 30.0)
    assert "alpha-op2" not in new.positions


def test_removed_centres_waiting_caller_is_routed_again_keeping_its_arrival() -> None:

    state = PolicyState(OLD)  # nobody online: calls wait
    assert arrive(state, "c-gamma", "45", at=1.0) == "gamma"
    assert arrive(state, "c-alpha", "18", at=2.0) == "alpha"
    carried = carry_over(state, NEW, NEW.initial_modes(), now=10.0)
    [move] = carried.moves
    assert (move.call_id, move.from_unit, move.to_unit, move.kind) == (
        "c-gamma",
        "gamma",
        "alpha",  # an unknown key goes to the default unit
        MoveKind.TOPOLOGY,
    )
    assert move.reason.startswith("gamma is no longer in the topology: ")
    moved = carried.state.calls["c-gamma"]
    assert (moved.arrived_at, moved.home_centre, moved.hops) == (1.0, "alpha", 1)
    assert [c.call_id for c in carried.state.waiting_calls("alpha")] == ["c-gamma", "c-alpha"]


def test_an_endpoint_given_to_another_position_while_a_call_is_on_it_is_refused() -> None:

    swapped = parse_topology(
        THREE_CENTRES.replace(
            'positions = ["PJSIP/alpha-op1", "PJSIP/alpha-op2"]',
            'positions = [{ id = "alpha-new", endpoint = "PJSIP/alpha-op1" }, "PJSIP/alpha-op2"]',
        ),
        "swapped",
    )
    reasons = stranded(OLD, swapped, [CallInProgress("c1", "alpha-op1")])
    assert reasons == [
        "call c1 is on PJSIP/alpha-op1 (position alpha-op1), which the new topology gives to "
        "position alpha-new: import it once that call has ended"
    ]
    state = all_online(PolicyState(OLD))
    occupy(state, "alpha-op1")
    with pytest.raises(PolicyStateError, match="gives to position alpha-new"):
        carry_over(state, swapped, swapped.initial_modes(), now=1.0)
