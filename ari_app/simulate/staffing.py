"""Dimensioning: positions each centre needs for a service level at its peak load (Erlang C),
checked by simulating the centre alone with the scenario's own durations.

Erlang C takes the mean work per call (ringing, talk and wrap-up) as an exponential service
time and callers who never hang up; the simulated check uses the scenario's distributions, so
a gap between the two says how far the formula's assumptions are from the scenario's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ari_app.simulate.distributions import NEVER
from ari_app.simulate.engine import run_replication
from ari_app.simulate.erlang import erlang_c_within, positions_needed
from ari_app.simulate.experiment import replication_seed
from ari_app.simulate.figures import replication_figures
from ari_app.simulate.scenario import Scenario
from ari_app.simulate.single import CENTRE, single_centre_scenario
from ari_app.simulate.stats import Estimate, estimate


@dataclass(frozen=True, slots=True)
class Staffing:
    """One centre (or the national platform): load, positions now and needed, service level."""

    centre: str
    load_erlangs: float
    positions_now: int | None
    positions_needed: int
    predicted: float
    simulated: Estimate | None


def peak_loads(scenario: Scenario) -> dict[str, float]:
    """Each centre's offered load in Erlangs at the peak of the time-of-day profile."""
    peak = max(factor for _, factor in scenario.profile)
    work = scenario.operators.work_mean
    return {c: rate * peak * work / 3600.0 for c, rate in scenario.calls_per_hour.items()}


def simulated_level(
    scenario: Scenario,
    positions: int,
    load: float,
    *,
    within: float,
    calls: int,
    replications: int,
) -> Estimate:
    """Share answered within ``within`` s for one centre alone, simulated with the scenario's
    ringing, handling and wrap-up distributions and callers who wait as long as it takes."""
    operators = scenario.operators
    rate = load / operators.work_mean
    warmup = 20 * operators.work_mean
    single = single_centre_scenario(
        positions,
        load,
        operators.handling,
        patience=NEVER,
        duration=warmup + calls / rate,
        warmup=warmup,
        replications=replications,
        seed=scenario.seed,
        answer_delay=operators.answer_delay,
        wrap_up=operators.wrap_up,
    )
    single = replace(single, tick=3600.0)  # nothing to move in a one-centre topology
    values = []
    for index in range(replications):
        result = run_replication(single, replication_seed(single, index))
        waits = [
            c.answered_at - c.arrived
            for c in result.callers
            if warmup <= c.arrived < single.duration and c.answered_at is not None
        ]
        counted = replication_figures(single, result)[CENTRE]["calls"]
        values.append(sum(1 for w in waits if w <= within) / counted)
    level = estimate(values)
    return Estimate(level.mean, max(0.0, level.low), min(1.0, level.high))  # a share


def staffing(
    scenario: Scenario,
    *,
    target: float = 0.9,
    within: float = 15.0,
    check: bool = False,
    calls: int = 4000,
    replications: int = 3,
) -> list[Staffing]:
    """Positions each centre of the scenario needs at its peak load."""
    work = scenario.operators.work_mean
    rows = []
    for centre, load in peak_loads(scenario).items():
        needed = positions_needed(load, work, target, within)
        rows.append(
            Staffing(
                centre,
                load,
                len(scenario.topology.centre_by_id[centre].positions),
                needed,
                erlang_c_within(needed, load, work, within),
                simulated_level(
                    scenario, needed, load, within=within, calls=calls, replications=replications
                )
                if check and load > 0
                else None,
            )
        )
    return rows


def national_platform(
    scenario: Scenario,
    simultaneous: float,
    *,
    target: float = 0.9,
    within: float = 15.0,
    check: bool = False,
    calls: int = 40_000,
    replications: int = 3,
) -> Staffing:
    """Positions one national queue needs for ``simultaneous`` calls in progress on average
    (an offered load of that many Erlangs)."""
    work = scenario.operators.work_mean
    needed = positions_needed(simultaneous, work, target, within)
    simulated = (
        simulated_level(
            scenario,
            needed,
            simultaneous,
            within=within,
            calls=calls,
            replications=replications,
        )
        if check
        else None
    )
    return Staffing(
        "national platform",
        simultaneous,
        None,
        needed,
        erlang_c_within(needed, simultaneous, work, within),
        simulated,
    )


def render_staffing(rows: list[Staffing], target: float, within: float) -> str:
    lines = [
        f"positions needed for {target:.0%} answered within {within:g} s (Erlang C at the peak "
        "load; 'simulated' checks it with the scenario's durations, 95 % interval)",
        f"{'centre':<20}{'load Erl':>10}{'now':>6}{'needed':>8}{'Erlang C':>10}{'simulated':>20}",
    ]
    for row in rows:
        now = "" if row.positions_now is None else str(row.positions_now)
        simulated = (
            ""
            if row.simulated is None
            else f"{row.simulated.mean * 100:.1f} [{row.simulated.low * 100:.1f}, "
            f"{row.simulated.high * 100:.1f}]"
        )
        lines.append(
            f"{row.centre:<20}{row.load_erlangs:>10.1f}{now:>6}{row.positions_needed:>8}"
            f"{row.predicted * 100:>9.1f}%{simulated:>20}"
        )
    return "\n".join(lines)
