"""Saturation, mutual aid between neighbours and the last resort (the once-a-second pass)."""

from __future__ import annotations

from ari_app.vcta import (
    RESERVE_ONLY,
    CentreModes,
    MoveKind,
    OfferFailure,
    PolicyState,
    SetOutgoingMutualAid,
    change_modes,
    overflow_pass,
    saturation,
)

from .builders import (
    all_online,
    centre,
    occupy,
    occupy_all,
    online,
    put_waiting,
    serve,
    topology,
    vcta,
)


def _seine_et_marne(
    *, neighbour_modes: CentreModes | None = None, reserve: int = 1, cap: int = 2
) -> PolicyState:
    """sdis77 (2 positions, all busy) next to sdis91 (4 positions, all free)."""
    state = PolicyState(
        topology(
            centre("sdis77", 2, max_queue=2, max_wait=30, neighbours=["sdis91"]),
            centre(
                "sdis91",
                4,
                reserve=reserve,
                overflow_cap=cap,
                neighbours=["sdis77"],
                modes=neighbour_modes,
            ),
        )
    )
    occupy_all(state, "sdis77")
    online(state, *(p.id for p in state.topology.centre_by_id["sdis91"].positions))
    return state


def test_unit_with_a_free_position_is_not_saturated() -> None:
    state = PolicyState(topology(centre("sdis77", 2, max_queue=1)))
    online(state, "sdis77-op1", "sdis77-op2")
    put_waiting(state, "c1", "sdis77", at=0.0)
    assert not saturation(state, "sdis77", 100.0).saturated


def test_unit_is_saturated_when_its_queue_reaches_max_queue() -> None:
    state = _seine_et_marne()
    put_waiting(state, "c1", "sdis77", at=0.0)
    assert not saturation(state, "sdis77", 1.0).saturated
    put_waiting(state, "c2", "sdis77", at=1.0)
    status = saturation(state, "sdis77", 2.0)
    assert status.saturated
    assert status.reason == "no free position and 2 calls waiting (limit 2)"


def test_unit_is_saturated_when_its_oldest_call_waited_max_wait() -> None:
    state = _seine_et_marne()
    put_waiting(state, "c1", "sdis77", at=0.0)
    assert not saturation(state, "sdis77", 29.0).saturated
    status = saturation(state, "sdis77", 30.0)
    assert status.saturated
    assert "oldest call has waited 30 s" in status.reason


def test_saturated_centre_sends_its_oldest_call_to_a_neighbour_with_room() -> None:
    state = _seine_et_marne()
    put_waiting(state, "old", "sdis77", at=0.0)
    put_waiting(state, "new", "sdis77", at=5.0)
    moves = overflow_pass(state.topology, state, 6.0)
    assert [(m.call_id, m.from_unit, m.to_unit, m.kind) for m in moves] == [
        ("old", "sdis77", "sdis91", MoveKind.MUTUAL_AID)
    ]
    assert "sdis77 saturated" in moves[0].reason
    assert "mutual aid to sdis91" in moves[0].reason


def test_moves_stop_once_the_centre_is_no_longer_saturated() -> None:
    state = _seine_et_marne(cap=5)
    for index in range(3):
        put_waiting(state, f"c{index}", "sdis77", at=float(index))
    moves = overflow_pass(state.topology, state, 5.0)
    # Three waiting with max_queue 2: moving two leaves one, under the limit and not too old.
    assert [m.call_id for m in moves] == ["c0", "c1"]


def test_centre_that_is_not_saturated_keeps_its_calls() -> None:
    state = _seine_et_marne()
    put_waiting(state, "c1", "sdis77", at=0.0)
    assert overflow_pass(state.topology, state, 10.0) == []


def test_no_call_leaves_when_outgoing_mutual_aid_is_off() -> None:
    state = _seine_et_marne()
    state.apply_modes(
        change_modes(state.topology, state.modes, SetOutgoingMutualAid("sdis77", False)).modes,
        0.0,
    )
    put_waiting(state, "c1", "sdis77", at=0.0)
    put_waiting(state, "c2", "sdis77", at=1.0)
    assert overflow_pass(state.topology, state, 60.0) == []


def test_no_call_comes_in_when_incoming_mutual_aid_is_off() -> None:
    state = _seine_et_marne(neighbour_modes=CentreModes(incoming_mutual_aid=False))
    put_waiting(state, "c1", "sdis77", at=0.0)
    put_waiting(state, "c2", "sdis77", at=1.0)
    assert overflow_pass(state.topology, state, 60.0) == []


def test_diverted_neighbour_takes_no_overflow() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 1, max_queue=1, neighbours=["sdis91"]),
            centre("sdis91", 3, modes=CentreModes(diverted_to="sdis45")),
            centre("sdis45", 1),
        )
    )
    occupy_all(state, "sdis77")
    all_online(state)
    put_waiting(state, "c1", "sdis77", at=0.0)
    assert overflow_pass(state.topology, state, 1.0) == []


def test_neighbour_at_its_reserve_takes_no_overflow() -> None:
    state = _seine_et_marne(reserve=3)
    occupy(state, "sdis91-op1")  # 3 free positions left: not more than the reserve of 3
    put_waiting(state, "c1", "sdis77", at=0.0)
    put_waiting(state, "c2", "sdis77", at=1.0)
    assert overflow_pass(state.topology, state, 2.0) == []


def test_neighbour_just_above_its_reserve_takes_exactly_one_call() -> None:
    state = _seine_et_marne(reserve=2, cap=5)
    occupy(state, "sdis91-op1")  # 3 free, reserve 2: room for one
    for index in range(4):
        put_waiting(state, f"c{index}", "sdis77", at=float(index))
    moves = overflow_pass(state.topology, state, 5.0)
    assert [m.call_id for m in moves] == ["c0"]


def test_neighbour_at_its_overflow_cap_takes_no_more() -> None:
    state = _seine_et_marne(reserve=0, cap=1)
    for index in range(4):
        put_waiting(state, f"c{index}", "sdis77", at=float(index))
    moves = overflow_pass(state.topology, state, 5.0)
    assert [m.call_id for m in moves] == ["c0"]
    for move in moves:
        state.move_call(move, 5.0)
    assert state.overflow_held("sdis91") == 1
    assert overflow_pass(state.topology, state, 6.0) == []


def test_overflow_call_still_counts_against_the_cap_while_it_is_answered() -> None:
    state = _seine_et_marne(reserve=0, cap=1)
    put_waiting(state, "c0", "sdis77", at=0.0)
    put_waiting(state, "c1", "sdis77", at=1.0)
    for move in overflow_pass(state.topology, state, 2.0):
        state.move_call(move, 2.0)
    assert serve(state, 3.0) == [("c0", "sdis91-op1")]
    assert state.calls["c0"].unit == "sdis91"
    assert state.overflow_held("sdis91") == 1
    put_waiting(state, "c2", "sdis77", at=4.0)
    assert overflow_pass(state.topology, state, 5.0) == []
    state.call_ended("c0", 6.0)
    assert state.overflow_held("sdis91") == 0
    assert [m.call_id for m in overflow_pass(state.topology, state, 7.0)] == ["c1"]


def test_saturated_neighbour_takes_no_overflow() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 1, max_queue=1, neighbours=["sdis91"]),
            centre("sdis91", 1, max_queue=1),
        )
    )
    occupy_all(state, "sdis77")
    occupy_all(state, "sdis91")
    put_waiting(state, "c1", "sdis77", at=0.0)
    put_waiting(state, "c2", "sdis91", at=0.0)
    assert overflow_pass(state.topology, state, 1.0) == []


def test_first_rank_neighbour_is_preferred_to_a_freer_one_of_the_next_rank() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 1, max_queue=1, neighbours=["sdis91", "sdis45"]),
            centre("sdis91", 2),
            centre("sdis45", 6),
        )
    )
    occupy_all(state, "sdis77")
    all_online(state)
    put_waiting(state, "c1", "sdis77", at=0.0)
    assert [m.to_unit for m in overflow_pass(state.topology, state, 1.0)] == ["sdis91"]


def test_within_a_rank_the_neighbour_with_most_free_positions_goes_first() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 1, max_queue=1, neighbours=[["sdis91", "sdis45"]]),
            centre("sdis91", 2),
            centre("sdis45", 6),
        )
    )
    occupy_all(state, "sdis77")
    all_online(state)
    put_waiting(state, "c1", "sdis77", at=0.0)
    assert [m.to_unit for m in overflow_pass(state.topology, state, 1.0)] == ["sdis45"]


def test_next_rank_is_used_when_the_first_has_no_room() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 1, max_queue=1, neighbours=["sdis91", "sdis45"]),
            centre("sdis91", 2, reserve=1),
            centre("sdis45", 2),
        )
    )
    occupy_all(state, "sdis77")
    all_online(state)
    occupy(state, "sdis91-op1")
    put_waiting(state, "c1", "sdis77", at=0.0)
    assert [m.to_unit for m in overflow_pass(state.topology, state, 1.0)] == ["sdis45"]


def test_moved_call_keeps_its_arrival_time_and_place_in_line() -> None:
    state = _seine_et_marne(reserve=0)
    occupy(state, "sdis91-op1")
    occupy(state, "sdis91-op2")
    put_waiting(state, "local", "sdis91", at=50.0)
    put_waiting(state, "c1", "sdis77", at=10.0)
    put_waiting(state, "c2", "sdis77", at=20.0)
    # sdis91: 2 free positions, 1 waiting -> 1 free, more than its reserve of 0. Under the
    # rules that spare the helpers it would keep that one for its own callers (3 in progress):
    # the reserve-only rules let this small scene show a move.
    moves = overflow_pass(state.topology, state, 60.0, RESERVE_ONLY)
    assert [m.call_id for m in moves] == ["c1"]
    state.move_call(moves[0], 60.0)
    moved = state.calls["c1"]
    assert moved.arrived_at == 10.0
    assert (moved.hops, moved.visited, moved.overflow) == (1, ("sdis77", "sdis91"), True)
    assert [c.call_id for c in state.waiting_calls("sdis91")] == ["c1", "local"]


def test_call_never_goes_back_to_a_unit_it_has_waited_at() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 1, max_queue=1, neighbours=["sdis91"]),
            centre("sdis91", 1, max_queue=1, neighbours=["sdis77"]),
        )
    )
    occupy_all(state, "sdis77")
    online(state, "sdis91-op1")
    put_waiting(state, "c1", "sdis77", at=0.0)
    [move] = overflow_pass(state.topology, state, 1.0)
    state.move_call(move, 1.0)
    # Now sdis91 is full and sdis77 frees up: c1 stays at sdis91.
    state.call_ended("talk-sdis77-op1", 2.0)
    state.wrap_up_ended("sdis77-op1", 3.0)
    state.offer_made("c1", "sdis91-op1", 3.0)
    state.offer_failed("c1", "sdis91-op1", OfferFailure.BUSY, 4.0)
    state.position_offline("sdis91-op1", 4.0)
    assert overflow_pass(state.topology, state, 100.0) == []


def test_call_waiting_past_last_resort_goes_to_the_backup_unit() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 1, max_queue=10, max_wait=600),
            centre("secours-national", 2),
            backup_unit="secours-national",
            last_resort_after=120.0,
        )
    )
    occupy_all(state, "sdis77")
    online(state, "secours-national-op1", "secours-national-op2")
    put_waiting(state, "c1", "sdis77", at=0.0)
    assert overflow_pass(state.topology, state, 119.0) == []
    moves = overflow_pass(state.topology, state, 120.0)
    assert [(m.call_id, m.to_unit, m.kind) for m in moves] == [
        ("c1", "secours-national", MoveKind.LAST_RESORT)
    ]
    assert "past the last resort limit of 120 s" in moves[0].reason


def test_last_resort_applies_even_with_outgoing_mutual_aid_off() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 1, modes=CentreModes(outgoing_mutual_aid=False)),
            centre("secours-national", 1, modes=CentreModes(incoming_mutual_aid=False)),
            backup_unit="secours-national",
        )
    )
    occupy_all(state, "sdis77")
    online(state, "secours-national-op1")
    put_waiting(state, "c1", "sdis77", at=0.0)
    assert [m.kind for m in overflow_pass(state.topology, state, 130.0)] == [MoveKind.LAST_RESORT]


def test_last_resort_takes_the_oldest_calls_across_units_while_the_backup_has_room() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 1, max_wait=600, max_queue=10),
            centre("sdis91", 1, max_wait=600, max_queue=10),
            centre("secours-national", 2, reserve=0),
            backup_unit="secours-national",
        )
    )
    occupy_all(state, "sdis77")
    occupy_all(state, "sdis91")
    online(state, "secours-national-op1", "secours-national-op2")
    put_waiting(state, "a", "sdis77", at=10.0)
    put_waiting(state, "b", "sdis91", at=0.0)
    put_waiting(state, "c", "sdis77", at=5.0)
    moves = overflow_pass(state.topology, state, 200.0)
    assert [m.call_id for m in moves] == ["b", "c"]


def test_mutual_aid_comes_before_the_last_resort() -> None:
    state = _seine_et_marne()
    put_waiting(state, "c1", "sdis77", at=0.0)
    moves = overflow_pass(state.topology, state, 500.0)
    assert [(m.call_id, m.kind) for m in moves] == [("c1", MoveKind.MUTUAL_AID)]


def test_virtual_cta_takes_overflow_as_one_unit_with_its_own_limits() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 1, max_queue=1, neighbours=["sdis89"]),
            centre("sdis89", 1),
            centre("sdis10", 2),
            vctas=[vcta("vcta-89-10", ["sdis89", "sdis10"], reserve=1)],
        )
    )
    occupy_all(state, "sdis77")
    all_online(state)
    put_waiting(state, "c1", "sdis77", at=0.0)
    moves = overflow_pass(state.topology, state, 1.0)
    assert [m.to_unit for m in moves] == ["vcta-89-10"]


def _refused_everywhere(state: PolicyState, call_id: str, unit: str, now: float) -> None:
    """Offer ``call_id`` to every available position of ``unit``; each lets it ring out."""
    for position in [p.id for p in state.available_positions(unit)]:
        state.offer_made(call_id, position, now)
        state.offer_failed(call_id, position, OfferFailure.NO_ANSWER, now)


def test_call_no_available_position_will_take_goes_to_a_neighbour_without_saturation() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 2, max_queue=5, max_wait=300, neighbours=["sdis91"]),
            centre("sdis91", 3, neighbours=["sdis77"]),
        )
    )
    all_online(state)
    put_waiting(state, "c1", "sdis77", at=0.0)
    _refused_everywhere(state, "c1", "sdis77", 20.0)
    # Both positions are free again, but both just let this call ring out.
    assert not saturation(state, "sdis77", 21.0).saturated
    moves = overflow_pass(state.topology, state, 21.0)
    assert [(m.call_id, m.to_unit, m.kind) for m in moves] == [
        ("c1", "sdis91", MoveKind.MUTUAL_AID)
    ]
    assert "failed to take this call" in moves[0].reason


def test_call_refused_by_some_positions_only_stays_for_the_others() -> None:
    state = PolicyState(
        topology(
            centre("sdis77", 2, max_queue=5, max_wait=300, neighbours=["sdis91"]),
            centre("sdis91", 3, neighbours=["sdis77"]),
        )
    )
    all_online(state)
    put_waiting(state, "c1", "sdis77", at=0.0)
    state.offer_made("c1", "sdis77-op1", 10.0)
    state.offer_failed("c1", "sdis77-op1", OfferFailure.BUSY, 10.0)
    assert overflow_pass(state.topology, state, 11.0) == []


def test_refused_call_stays_home_when_outgoing_mutual_aid_is_off() -> None:
    state = PolicyState(
        topology(
            centre(
                "sdis77",
                2,
                neighbours=["sdis91"],
                modes=CentreModes(outgoing_mutual_aid=False),
            ),
            centre("sdis91", 3, neighbours=["sdis77"]),
        )
    )
    all_online(state)
    put_waiting(state, "c1", "sdis77", at=0.0)
    _refused_everywhere(state, "c1", "sdis77", 5.0)
    assert overflow_pass(state.topology, state, 6.0) == []


def _storm_next_to_the_backup(
    backup_online: int, backup_positions: int, *, sdis51_busy: bool = True
) -> PolicyState:
    """sdis77 (1 position, busy) with five calls waiting since 0 to 4 s, sdis51 (1 position,
    on a call unless told), and the national backup unit with ``backup_online`` of its
    positions online."""
    state = PolicyState(
        topology(
            centre("sdis77", 1, max_queue=10, max_wait=30),
            centre("sdis51", 1, max_queue=5, max_wait=30),
            centre("secours-national", backup_positions),
            backup_unit="secours-national",
        )
    )
    occupy_all(state, "sdis77")
    if sdis51_busy:
        occupy_all(state, "sdis51")
    else:
        online(state, "sdis51-op1")
    online(state, *(f"secours-national-op{i}" for i in range(1, backup_online + 1)))
    for index in range(5):
        put_waiting(state, f"c{index}", "sdis77", at=float(index))
    return state


def test_by_mutual_aid_one_unit_holds_at_most_half_of_the_national_backup() -> None:
    state = _storm_next_to_the_backup(backup_online=3, backup_positions=3, sdis51_busy=False)
    moves = overflow_pass(state.topology, state, 60.0)
    # Three positions: one unit's calls hold one (half, rounded down), so two stay for others.
    assert [(m.call_id, m.kind) for m in moves] == [("c0", MoveKind.MUTUAL_AID)]
    state.move_call(moves[0], 60.0)
    assert overflow_pass(state.topology, state, 61.0) == []
    # Callers past the last resort limit take what no other unit needs now.
    moves = overflow_pass(state.topology, state, 500.0)
    assert [(m.call_id, m.kind) for m in moves] == [
        ("c1", MoveKind.LAST_RESORT),
        ("c2", MoveKind.LAST_RESORT),
    ]


def test_the_national_backup_keeps_a_position_for_another_unit_that_may_need_one_now() -> None:
    quiet = _storm_next_to_the_backup(backup_online=2, backup_positions=6, sdis51_busy=False)
    assert len(overflow_pass(quiet.topology, quiet, 60.0)) == 2
    # sdis51's only position is on a call: one of the two stays for it, by mutual aid and
    # by the last resort alike.
    busy = _storm_next_to_the_backup(backup_online=2, backup_positions=6)
    assert [m.call_id for m in overflow_pass(busy.topology, busy, 60.0)] == ["c0"]
    assert [m.call_id for m in overflow_pass(busy.topology, busy, 500.0)] == ["c0"]


def test_with_nobody_else_sending_by_mutual_aid_the_last_resort_uses_the_whole_backup() -> None:
    state = _storm_next_to_the_backup(backup_online=3, backup_positions=3)
    for centre_id in ("sdis77", "sdis51"):
        change = SetOutgoingMutualAid(centre_id, False)
        state.apply_modes(change_modes(state.topology, state.modes, change).modes, 0.0)
    moves = overflow_pass(state.topology, state, 500.0)
    # Nobody else may send there by mutual aid: nothing is kept for anyone.
    assert [(m.call_id, m.kind) for m in moves] == [
        (f"c{index}", MoveKind.LAST_RESORT) for index in range(3)
    ]
