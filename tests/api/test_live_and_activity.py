"""The live feed's patches and the activity counts, as pure functions of their inputs."""

from __future__ import annotations

from typing import Any

from ari_app.api.activity import Activity, answered_in_time_share
from ari_app.api.live import patch
from ari_app.calls.journal import CallOutcome, JournalEntry, JournalKind

T0 = 1_800_000_000.0  # a minute boundary


def board(**units: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": "t",
        "clock_speed": 1.0,
        "units": units,
        "positions": {},
        "waiting": {name: [] for name in units},
        "flows": [],
    }


def test_a_patch_holds_only_the_units_that_changed() -> None:
    before = board(alpha={"id": "alpha", "queue_length": 0}, beta={"id": "beta", "queue_length": 0})
    after = board(alpha={"id": "alpha", "queue_length": 2}, beta={"id": "beta", "queue_length": 0})
    assert patch(before, after) == {"at": "t", "units": [{"id": "alpha", "queue_length": 2}]}


def test_nothing_but_the_time_is_no_patch() -> None:
    before = board(alpha={"id": "alpha"})
    after = {**board(alpha={"id": "alpha"}), "at": "later"}
    assert patch(before, after) is None


def test_a_changed_waiting_list_is_sent_whole_for_its_unit_only() -> None:
    before = board(alpha={"id": "alpha"}, beta={"id": "beta"})
    after = board(alpha={"id": "alpha"}, beta={"id": "beta"})
    after["waiting"]["alpha"] = [{"call_id": "c1"}]
    assert patch(before, after) == {"at": "t", "waiting": {"alpha": [{"call_id": "c1"}]}}


def entry(kind: JournalKind, at: float, **fields: Any) -> JournalEntry:
    return JournalEntry(call_id=fields.pop("call_id", "c1"), at=at, kind=kind, **fields)


def test_answered_within_15_s_share_counts_answered_and_abandoned_calls() -> None:
    activity = Activity()
    activity.count(entry(JournalKind.ROUTED, T0, home_centre="alpha", unit="alpha"))
    activity.count(
        entry(JournalKind.CONNECTED, T0 + 10, home_centre="alpha", details={"waited_s": 10.0})
    )
    activity.count(
        entry(JournalKind.CONNECTED, T0 + 40, home_centre="alpha", details={"waited_s": 40.0})
    )
    activity.count(
        entry(JournalKind.ENDED, T0 + 50, home_centre="alpha", outcome=CallOutcome.ABANDONED)
    )
    minutes = activity.minutes(["alpha"], T0 + 59, 60)
    assert sum(m.calls for m in minutes) == 1
    assert answered_in_time_share(minutes) == round(1 / 3, 3)
    assert answered_in_time_share(activity.minutes(["beta"], T0 + 59, 60)) is None


def test_moves_by_mutual_aid_count_out_in_and_as_a_flow_until_they_age_out() -> None:
    activity = Activity()
    move = {"from_unit": "alpha", "kind": "mutual_aid"}
    activity.count(entry(JournalKind.MOVED, T0, unit="beta", details=move))
    activity.count(
        entry(JournalKind.MOVED, T0, unit="gamma", details={"from_unit": "alpha", "kind": "vcta"})
    )
    assert activity.minutes(["alpha"], T0, 1)[0].helped_out == 1
    assert activity.minutes(["beta"], T0, 1)[0].helped_in == 1
    [flow] = activity.flows(T0, 15)
    assert (flow.from_unit, flow.to_unit, flow.count) == ("alpha", "beta", 1)
    assert activity.flows(T0 + 15 * 60, 15) == []


def test_waiting_samples_keep_each_minutes_most() -> None:
    activity = Activity()
    activity.sample({"alpha": 3}, T0 + 1)
    activity.sample({"alpha": 1}, T0 + 2)
    activity.sample({"alpha": 0}, T0 + 61)
    assert [m.waiting for m in activity.minutes(["alpha"], T0 + 61, 2)] == [3, 0]
