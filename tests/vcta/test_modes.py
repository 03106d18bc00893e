"""Duty officers' changes: validated, refused with a reason, and what they do to waiting calls."""

from __future__ import annotations

import pytest

from ari_app.vcta import (
    CallStatus,
    CentreModes,
    Modes,
    Move,
    MoveKind,
    PolicyState,
    PolicyStateError,
    SetCrisisMessage,
    SetDiversion,
    SetIncomingMutualAid,
    SetOutgoingMutualAid,
    SetPositionPaused,
    SetVctaActive,
    change_modes,
    route_call,
)

from .builders import all_online, centre, occupy, put_waiting, topology, vcta


def _three_centres() -> PolicyState:
    return PolicyState(
        topology(
            centre("sdis77", 2, department="77"),
            centre("sdis91", 2, department="91"),
            centre("sdis45", 2, department="45"),
            centre("sdis89", 1, department="89"),
            centre("sdis10", 1, department="10"),
            vctas=[
                vcta("vcta-89-10", ["sdis89", "sdis10"], active=False),
                vcta("vcta-45-89", ["sdis45", "sdis89"], active=False),
            ],
        )
    )


def test_switching_outgoing_mutual_aid_off_is_accepted() -> None:
    state = _three_centres()
    result = change_modes(state.topology, state.modes, SetOutgoingMutualAid("sdis77", False))
    assert (result.accepted, result.changed) == (True, True)
    assert result.modes.of("sdis77").outgoing_mutual_aid is False
    assert result.reason == "sdis77: outgoing mutual aid off"
    assert state.modes.of("sdis77").outgoing_mutual_aid is True  # the old value is untouched


def test_switching_to_the_current_value_is_accepted_as_no_change() -> None:
    state = _three_centres()
    result = change_modes(state.topology, state.modes, SetIncomingMutualAid("sdis77", True))
    assert (result.accepted, result.changed) == (True, False)
    assert result.modes == state.modes


def test_change_for_an_unknown_centre_is_refused() -> None:
    state = _three_centres()
    result = change_modes(state.topology, state.modes, SetOutgoingMutualAid("sdis99", False))
    assert not result.accepted
    assert result.reason == "'sdis99' is not a centre of this topology"


def test_diversion_that_would_loop_is_refused_with_the_loop_shown() -> None:
    state = _three_centres()
    modes = change_modes(state.topology, state.modes, SetDiversion("sdis77", "sdis91")).modes
    modes = change_modes(state.topology, modes, SetDiversion("sdis91", "sdis45")).modes
    result = change_modes(state.topology, modes, SetDiversion("sdis45", "sdis77"))
    assert not result.accepted
    assert result.reason == (
        "diverting sdis45 to sdis77 would make a loop: sdis45 -> sdis77 -> sdis91 -> sdis45; "
        "end the diversion of sdis91 first"
    )
    assert result.modes == modes


def test_diversion_to_itself_is_refused() -> None:
    state = _three_centres()
    result = change_modes(state.topology, state.modes, SetDiversion("sdis77", "sdis77"))
    assert not result.accepted
    assert "itself" in result.reason


def test_diversion_to_a_virtual_cta_is_refused_with_a_hint() -> None:
    state = _three_centres()
    result = change_modes(state.topology, state.modes, SetDiversion("sdis77", "vcta-89-10"))
    assert not result.accepted
    assert "a diversion targets a centre" in result.reason


def test_diversion_chain_is_accepted_and_described() -> None:
    state = _three_centres()
    modes = change_modes(state.topology, state.modes, SetDiversion("sdis91", "sdis45")).modes
    result = change_modes(state.topology, modes, SetDiversion("sdis77", "sdis91"))
    assert result.accepted
    assert "through sdis77 -> sdis91 -> sdis45" in result.reason


def test_ending_a_diversion_is_accepted() -> None:
    state = _three_centres()
    modes = change_modes(state.topology, state.modes, SetDiversion("sdis77", "sdis91")).modes
    result = change_modes(state.topology, modes, SetDiversion("sdis77", None))
    assert result.accepted
    assert result.modes.of("sdis77").diverted_to is None


def test_crisis_message_must_be_playable_media() -> None:
    state = _three_centres()
    refused = change_modes(
        state.topology, state.modes, SetCrisisMessage("sdis77", "Fire at the refinery")
    )
    assert not refused.accepted
    assert "must be a media Asterisk can play" in refused.reason
    accepted = change_modes(
        state.topology, state.modes, SetCrisisMessage("sdis77", "sound:crisis/refinery")
    )
    assert accepted.accepted
    assert accepted.modes.of("sdis77").crisis_message == "sound:crisis/refinery"
    cleared = change_modes(state.topology, accepted.modes, SetCrisisMessage("sdis77", None))
    assert cleared.modes.of("sdis77").crisis_message is None


def test_virtual_cta_sharing_a_member_with_an_active_one_cannot_be_activated() -> None:
    state = _three_centres()
    modes = change_modes(state.topology, state.modes, SetVctaActive("vcta-89-10", True)).modes
    result = change_modes(state.topology, modes, SetVctaActive("vcta-45-89", True))
    assert not result.accepted
    assert result.reason == (
        "vcta-45-89 cannot be activated: sdis89 already pooled in vcta-89-10; "
        "deactivate vcta-89-10 first"
    )


def test_pausing_an_unknown_position_is_refused() -> None:
    state = _three_centres()
    result = change_modes(state.topology, state.modes, SetPositionPaused("sdis77-op9", True))
    assert not result.accepted


def test_pause_applied_through_modes_stops_offers_to_that_position() -> None:
    state = all_online(_three_centres())
    modes = change_modes(state.topology, state.modes, SetPositionPaused("sdis77-op1", True)).modes
    assert state.apply_modes(modes, 5.0) == []
    assert [p.id for p in state.available_positions("sdis77")] == ["sdis77-op2"]


def test_change_applies_to_the_next_routing_decision() -> None:
    state = _three_centres()
    assert route_call(state.topology, state, "77", 0.0).unit == "sdis77"
    state.apply_modes(
        change_modes(state.topology, state.modes, SetDiversion("sdis77", "sdis91")).modes, 1.0
    )
    assert route_call(state.topology, state, "77", 1.0).unit == "sdis91"


def test_activating_a_virtual_cta_moves_members_waiting_calls_into_one_queue() -> None:
    state = all_online(_three_centres())
    occupy(state, "sdis89-op1")
    occupy(state, "sdis10-op1")
    put_waiting(state, "from-89", "sdis89", at=20.0)
    put_waiting(state, "from-10", "sdis10", at=10.0)
    modes = change_modes(state.topology, state.modes, SetVctaActive("vcta-89-10", True)).modes
    moves = state.apply_modes(modes, 30.0)
    assert sorted((m.call_id, m.to_unit, m.kind) for m in moves) == [
        ("from-10", "vcta-89-10", MoveKind.VCTA),
        ("from-89", "vcta-89-10", MoveKind.VCTA),
    ]
    assert [c.call_id for c in state.waiting_calls("vcta-89-10")] == ["from-10", "from-89"]
    # Connected calls stay where they were counted.
    assert state.calls["talk-sdis89-op1"].unit == "sdis89"


def test_deactivating_a_virtual_cta_sends_calls_back_to_their_home_centre() -> None:
    state = _three_centres()
    state.apply_modes(
        change_modes(state.topology, state.modes, SetVctaActive("vcta-89-10", True)).modes, 0.0
    )
    put_waiting(state, "from-10", "sdis10", at=10.0)
    assert state.calls["from-10"].unit == "vcta-89-10"
    moves = state.apply_modes(
        change_modes(state.topology, state.modes, SetVctaActive("vcta-89-10", False)).modes, 20.0
    )
    assert [(m.call_id, m.from_unit, m.to_unit) for m in moves] == [
        ("from-10", "vcta-89-10", "sdis10")
    ]
    assert state.calls["from-10"].arrived_at == 10.0


def test_diverting_a_centre_moves_the_calls_waiting_there_but_not_the_ringing_ones() -> None:
    state = all_online(_three_centres())
    occupy(state, "sdis77-op2")
    put_waiting(state, "waiting", "sdis77", at=0.0)
    put_waiting(state, "ringing", "sdis77", at=1.0)
    state.offer_made("ringing", "sdis77-op1", 2.0)
    put_waiting(state, "another", "sdis77", at=3.0)
    moves = state.apply_modes(
        change_modes(state.topology, state.modes, SetDiversion("sdis77", "sdis91")).modes, 5.0
    )
    assert [(m.call_id, m.to_unit, m.kind) for m in moves] == [
        ("waiting", "sdis91", MoveKind.DIVERSION),
        ("another", "sdis91", MoveKind.DIVERSION),
    ]
    assert state.calls["ringing"].status is CallStatus.OFFERED
    assert state.calls["ringing"].unit == "sdis77"
    assert "sdis77 is diverted" in moves[0].reason


def test_put_modes_plans_the_moves_and_each_call_makes_its_own() -> None:
    state = all_online(_three_centres())
    occupy(state, "sdis89-op1")
    put_waiting(state, "waiting", "sdis10", at=10.0)
    put_waiting(state, "ringing", "sdis10", at=11.0)
    state.offer_made("ringing", "sdis10-op1", 12.0)
    modes = change_modes(state.topology, state.modes, SetVctaActive("vcta-89-10", True)).modes
    moves = state.put_modes(modes, 20.0)
    assert [(m.call_id, m.to_unit) for m in moves] == [
        ("waiting", "vcta-89-10"),
        ("ringing", "vcta-89-10"),
    ]
    # Planned only: the modes are in force, the calls are where they were until each moves.
    assert "vcta-89-10" in state.modes.active_vctas
    assert state.calls["waiting"].unit == "sdis10"
    for move in moves:
        state.move_call(move, 20.0)
    assert [c.call_id for c in state.waiting_calls("vcta-89-10")] == ["waiting"]
    ringing = state.calls["ringing"]
    assert (ringing.unit, ringing.status, ringing.position) == (
        "vcta-89-10",
        CallStatus.OFFERED,
        "sdis10-op1",
    )


def test_only_a_change_of_layout_moves_a_ringing_call() -> None:
    state = all_online(_three_centres())
    put_waiting(state, "ringing", "sdis77", at=1.0)
    state.offer_made("ringing", "sdis77-op1", 2.0)
    aid = Move("ringing", "sdis77", "sdis91", MoveKind.MUTUAL_AID, "sdis77 saturated")
    with pytest.raises(PolicyStateError, match="not waiting at sdis77"):
        state.move_call(aid, 3.0)
    assert state.calls["ringing"].unit == "sdis77"
    diversion = Move("ringing", "sdis77", "sdis91", MoveKind.DIVERSION, "diverted")
    state.move_call(diversion, 3.0)
    assert state.calls["ringing"].unit == "sdis91"


def test_modes_that_would_loop_cannot_be_put_in_force() -> None:
    state = _three_centres()
    looping = Modes(
        {
            "sdis77": CentreModes(diverted_to="sdis91"),
            "sdis91": CentreModes(diverted_to="sdis77"),
        }
    )
    with pytest.raises(PolicyStateError, match="loop"):
        state.apply_modes(looping, 0.0)
    assert state.modes.of("sdis77").diverted_to is None
