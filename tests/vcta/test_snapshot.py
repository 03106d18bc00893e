"""What duty officers see of a unit, and its NENA i3 queue state."""

from __future__ import annotations

from ari_app.vcta import (
    CentreModes,
    PolicyState,
    PositionStatus,
    QueueState,
    SetCrisisMessage,
    UnitKind,
    change_modes,
    snapshot,
    snapshot_unit,
    waiting_media,
)

from .builders import centre, occupy, occupy_all, online, put_waiting, topology, vcta


def _state() -> PolicyState:
    return PolicyState(
        topology(
            centre("sdis77", 3, max_queue=2, reserve=1, overflow_cap=4),
            centre("sdis91", 2, modes=CentreModes(diverted_to="sdis77")),
            centre("sdis89", 1),
            centre("sdis10", 1),
            vctas=[vcta("vcta-89-10", ["sdis89", "sdis10"], max_queue=3)],
        )
    )


def test_unit_with_nobody_online_is_inactive() -> None:
    state = _state()
    view = snapshot_unit(state.topology, state, "sdis77", 0.0)
    assert view.queue_state is QueueState.INACTIVE
    assert {p.status for p in view.positions} == {PositionStatus.OFFLINE}


def test_unit_with_free_positions_and_no_call_is_on_standby() -> None:
    state = _state()
    online(state, "sdis77-op1")
    view = snapshot_unit(state.topology, state, "sdis77", 10.0)
    assert view.queue_state is QueueState.STANDBY
    assert view.free_positions == 1


def test_unit_handling_calls_is_active() -> None:
    state = _state()
    online(state, "sdis77-op1")
    occupy(state, "sdis77-op2")
    view = snapshot_unit(state.topology, state, "sdis77", 10.0)
    assert view.queue_state is QueueState.ACTIVE
    assert (view.free_positions, view.busy_positions) == (1, 1)


def test_saturated_unit_is_full_and_says_why() -> None:
    state = _state()
    occupy_all(state, "sdis77")
    put_waiting(state, "c1", "sdis77", at=0.0)
    put_waiting(state, "c2", "sdis77", at=5.0)
    view = snapshot_unit(state.topology, state, "sdis77", 10.0)
    assert view.queue_state is QueueState.FULL
    assert view.saturated
    assert view.saturation_reason == "no free position and 2 calls waiting (limit 2)"
    assert (view.queue_length, view.queue_max_length, view.oldest_wait) == (2, 2, 10.0)
    assert [c.call_id for c in view.waiting] == ["c1", "c2"]
    assert view.waiting[0].waited == 10.0


def test_diverted_centre_and_pooled_centre_are_disabled() -> None:
    state = _state()
    online(state, "sdis91-op1", "sdis89-op1")
    views = {v.unit_id: v for v in snapshot(state.topology, state, 0.0)}
    assert views["sdis91"].queue_state is QueueState.DISABLED
    assert views["sdis89"].queue_state is QueueState.DISABLED
    assert (views["sdis89"].in_service, views["sdis89"].served_by) == (False, "vcta-89-10")


def test_virtual_cta_shows_its_members_positions_and_modes() -> None:
    state = _state()
    online(state, "sdis89-op1")
    view = snapshot_unit(state.topology, state, "vcta-89-10", 0.0)
    assert view.kind is UnitKind.VCTA
    assert [p.id for p in view.positions] == ["sdis89-op1", "sdis10-op1"]
    assert set(view.modes) == {"sdis89", "sdis10"}
    assert view.queue_state is QueueState.STANDBY
    assert view.max_queue == 3


def test_snapshot_lists_every_unit_centres_first() -> None:
    state = _state()
    assert [v.unit_id for v in snapshot(state.topology, state, 0.0)] == [
        "sdis77",
        "sdis91",
        "sdis89",
        "sdis10",
        "vcta-89-10",
    ]


def test_waiting_caller_hears_the_units_sounds_and_the_home_centres_crisis_message() -> None:
    state = _state()
    modes = change_modes(
        state.topology, state.modes, SetCrisisMessage("sdis89", "sound:crisis/flood-89")
    ).modes
    state.apply_modes(modes, 0.0)
    media = waiting_media(state, "vcta-89-10", "sdis89")
    assert media.crisis_message == "sound:crisis/flood-89"
    assert media.welcome == "sound:welcome"
    assert waiting_media(state, "vcta-89-10", "sdis10").crisis_message is None
