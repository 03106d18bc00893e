"""The event loop on the product's policy: callers, operators, modes, common random numbers."""

from __future__ import annotations

import random
import statistics
from typing import Any

import pytest

from ari_app.simulate import POLICIES, engine, run_replication
from ari_app.simulate.callers import arrivals
from ari_app.simulate.distributions import constant, exponential, lognormal
from ari_app.simulate.experiment import run_experiment
from ari_app.simulate.figures import replication_figures
from ari_app.vcta import Move, overflow_pass
from tests.simulate.helpers import scenario


def test_log_normal_draws_have_the_mean_and_spread_asked_for() -> None:
    rng = random.Random(3)
    draws = [lognormal(90.0, 45.0).sample(rng) for _ in range(40_000)]
    assert statistics.fmean(draws) == pytest.approx(90.0, rel=0.02)
    assert statistics.stdev(draws) == pytest.approx(45.0, rel=0.05)
    exp = [exponential(60.0).sample(rng) for _ in range(40_000)]
    assert statistics.fmean(exp) == pytest.approx(60.0, rel=0.02)
    assert constant(7.0).sample(rng) == 7.0


def test_the_same_seed_gives_the_same_run() -> None:
    plan = scenario()
    first = replication_figures(plan, run_replication(plan, 11))
    again = replication_figures(plan, run_replication(plan, 11))
    other = replication_figures(plan, run_replication(plan, 12))
    assert first == again
    assert first != other


def test_the_surge_adds_callers_and_leaves_the_ordinary_ones_untouched() -> None:
    plan = scenario(surges=[{"centre": "sdis77", "factor": 4, "start": 600, "end": 2400}])
    plain = {c.call_id: c for c in arrivals(plan, 9, surges=False)}
    surged = {c.call_id: c for c in arrivals(plan, 9, surges=True)}
    assert set(plain) < set(surged)
    for call_id, caller in plain.items():
        twin = surged[call_id]
        assert (twin.arrived, twin.patience, twin.handling) == (
            caller.arrived,
            caller.patience,
            caller.handling,
        )
    extra = [c for c in surged.values() if c.call_id not in plain]
    assert {c.home for c in extra} == {"sdis77"}
    assert all(600 <= c.arrived < 2400 for c in extra)
    base_77 = sum(1 for c in plain.values() if c.home == "sdis77" and 600 <= c.arrived < 2400)
    assert len(extra) == pytest.approx(3 * base_77, rel=0.25)


def test_without_mutual_aid_a_surge_changes_nothing_for_the_other_centres() -> None:
    """Common random numbers: the paired difference of an uninvolved centre is exactly 0."""
    plan = scenario(
        surges=[{"centre": "sdis77", "factor": 5, "start": 600, "end": 3000}],
        policy={"mutual_aid": "off"},
        replications=2,
    )
    difference = run_experiment(plan).difference()
    assert difference is not None
    assert difference["sdis91"]["answered_within_15s"].mean == 0.0
    assert difference["sdis91"]["answered_within_15s"].high == 0.0
    assert difference["sdis77"]["answered_within_15s"].mean < -0.3


def test_the_simulator_drives_the_products_overflow_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing of the policy is re-implemented: the pass the product runs is the one called."""
    calls: list[float] = []

    def spy(*args: Any) -> list[Move]:
        calls.append(args[2])
        return overflow_pass(*args)

    monkeypatch.setattr(engine, "overflow_pass", spy)
    plan = scenario(surges=[{"centre": "sdis77", "factor": 5, "start": 600, "end": 3000}])
    result = run_replication(plan, 1)
    assert calls
    assert all(t == int(t) for t in calls)
    assert result.flows  # and its moves were carried out


def test_old_and_new_mutual_aid_rules_move_different_calls() -> None:
    plan = scenario(surges=[{"centre": "sdis77", "factor": 5, "start": 600, "end": 3000}])
    old = run_replication(plan, 2, policy=POLICIES["reserve_only"])
    new = run_replication(plan, 2, policy=POLICIES["spare_helpers"])
    helped_by_91_old = old.flows.get(("sdis77", "sdis91"), 0)
    helped_by_91_new = new.flows.get(("sdis77", "sdis91"), 0)
    assert helped_by_91_new < helped_by_91_old


def test_impatient_callers_abandon_and_some_call_back() -> None:
    plan = scenario(
        callers={
            "patience": {"distribution": "constant", "value": 1},
            "callback_share": 1.0,
            "callback_delay": {"distribution": "constant", "value": 30},
        },
        operators={"answer_delay": {"distribution": "constant", "value": 5}},
    )
    result = run_replication(plan, 3)
    first = [c for c in result.callers if not c.call_id.endswith("r")]
    assert first
    assert all(c.abandoned and c.answered_at is None for c in first)
    by_id = {c.call_id: c for c in result.callers}
    # Every abandoned caller calls back once, 30 s after hanging up, from the same department.
    assert all(c.call_id + "r" in by_id for c in first)
    assert not any(c.call_id.endswith("rr") for c in result.callers)
    sample = first[0]
    back = by_id[sample.call_id + "r"]
    assert back.home == sample.home
    assert back.arrived == pytest.approx(sample.arrived + 1 + 30)


def test_operators_who_let_it_ring_send_the_call_to_the_next_position() -> None:
    plan = scenario(
        operators={"no_answer_share": 1.0, "ring_timeout": 5},
        callers={"patience": {"distribution": "constant", "value": 12}, "callback_share": 0},
        duration=900.0,
        warmup=0.0,
    )
    result = run_replication(plan, 4)
    assert result.callers
    # Rung at 0, 5 and 10 s on three positions, then the caller hangs up at 12 s.
    assert all(c.abandoned and c.attempt == 3 for c in result.callers)


def test_a_diverted_centre_s_calls_are_answered_by_the_centre_it_is_diverted_to() -> None:
    plan = scenario(
        changes=[{"at": 0, "change": "diversion", "centre": "sdis91", "to": "sdis77"}],
        policy={"mutual_aid": "off"},
    )
    result = run_replication(plan, 5)
    answered = [c for c in result.callers if c.home == "sdis91" and c.answered_by]
    assert answered
    assert {c.answered_by for c in answered} <= {"sdis77", "secours-national"}


def test_a_virtual_cta_split_at_a_given_time_stops_pooling_its_members_calls() -> None:
    plan = scenario(
        changes=[{"at": 1800, "change": "vcta", "vcta": "vcta-89-10", "active": False}],
        policy={"mutual_aid": "off"},
        duration=3600.0,
        load={"utilisation": 0.9},
    )
    result = run_replication(plan, 6)
    crossed = [c for c in result.callers if c.answered_by in ("sdis89", "sdis10")]
    before = {c.answered_by != c.home for c in crossed if c.arrived < 1700}
    after = {c.answered_by != c.home for c in crossed if c.arrived > 1800}
    assert True in before  # pooled: Aube's operators answered Yonne's calls and back
    assert after == {False}
