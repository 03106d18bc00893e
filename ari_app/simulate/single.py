"""A one-centre scenario built in code: what the queueing-theory checks and staffing simulate."""

from __future__ import annotations

from pathlib import Path

from ari_app.simulate.distributions import NEVER, Distribution, constant
from ari_app.simulate.scenario import Callers, Operators, Scenario
from ari_app.vcta import Announcements, Centre, Position, Topology

CENTRE = "cta"
_SOUNDS = Announcements("sound:welcome", "sound:reminder", 30.0, "default")


def single_centre_topology(positions: int) -> Topology:
    """One centre of ``positions`` positions, its own default and backup unit (so nothing
    ever moves), with limits that never make it saturated."""
    centre = Centre(
        id=CENTRE,
        name="Single centre",
        department="01",
        routing_keys=(),
        positions=tuple(
            Position(f"{CENTRE}-op{i}", f"PJSIP/{CENTRE}-op{i}", CENTRE)
            for i in range(1, positions + 1)
        ),
        max_queue=1_000_000,
        max_wait=1e12,
        reserve=0,
        overflow_cap=0,
        announcements=_SOUNDS,
    )
    return Topology((centre,), (), CENTRE, CENTRE, last_resort_after=1e12)


def single_centre_scenario(
    positions: int,
    load: float,
    handling: Distribution,
    *,
    patience: Distribution = NEVER,
    duration: float,
    warmup: float,
    replications: int,
    seed: int = 1,
    answer_delay: Distribution | None = None,
    wrap_up: Distribution | None = None,
) -> Scenario:
    """``load`` Erlangs offered to one centre, no call-backs, operators who always answer."""
    answer = answer_delay or constant(0.0)
    wrap = wrap_up or constant(0.0)
    operators = Operators(answer_delay=answer, handling=handling, wrap_up=wrap, no_answer_share=0.0)
    return Scenario(
        name=f"{positions} positions, {load:g} Erlangs",
        topology=single_centre_topology(positions),
        topology_path=Path("<built in code>"),
        duration=duration,
        warmup=warmup,
        replications=replications,
        seed=seed,
        calls_per_hour={CENTRE: load * 3600.0 / operators.work_mean},
        callers=Callers(patience=patience, callback_share=0.0),
        operators=operators,
    )
