"""The simulator against queueing theory: one centre, Poisson arrivals, exponential service.

Used by the tests (small samples) and by ``bench/validate_erlang.py`` (the table in
docs/simulator.md). Each row compares a simulated figure (mean and 95 % interval over
replications) with the formula's value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ari_app.simulate.distributions import NEVER, exponential
from ari_app.simulate.engine import run_replication
from ari_app.simulate.erlang import erlang_a, erlang_c, erlang_c_mean_wait, erlang_c_within
from ari_app.simulate.experiment import replication_seed
from ari_app.simulate.figures import replication_figures
from ari_app.simulate.single import CENTRE, single_centre_scenario
from ari_app.simulate.stats import Estimate, estimate

SERVICE_MEAN_S = 60.0


@dataclass(frozen=True, slots=True)
class Check:
    """One simulated figure next to its theoretical value."""

    model: str
    positions: int
    load: float
    figure: str
    simulated: Estimate
    theory: float

    @property
    def within_interval(self) -> bool:
        return self.simulated.low <= self.theory <= self.simulated.high

    @property
    def gap(self) -> float:
        return self.simulated.mean - self.theory


def validate(
    positions: int,
    load: float,
    *,
    patience_mean: float | None = None,
    calls_per_replication: int = 20_000,
    replications: int = 10,
    seed: int = 1,
) -> list[Check]:
    """Simulate one centre and compare with Erlang C (no patience) or Erlang A."""
    rate_per_s = load / SERVICE_MEAN_S
    warmup = 200 * SERVICE_MEAN_S  # long enough for the queue to forget it started empty
    duration = warmup + calls_per_replication / rate_per_s
    patience = NEVER if patience_mean is None else exponential(patience_mean)
    scenario = single_centre_scenario(
        positions,
        load,
        exponential(SERVICE_MEAN_S),
        patience=patience,
        duration=duration,
        warmup=warmup,
        replications=replications,
        seed=seed,
    )
    # Nothing ever moves in a one-centre topology: a rare pass costs nothing and changes nothing.
    scenario = replace(scenario, tick=3600.0)
    waited: list[float] = []
    within: list[float] = []
    mean_wait: list[float] = []
    abandoned: list[float] = []
    for index in range(replications):
        result = run_replication(scenario, replication_seed(scenario, index))
        counted = [c for c in result.callers if warmup <= c.arrived < duration]
        waits = [
            (c.answered_at - c.arrived) if c.answered_at is not None else None for c in counted
        ]
        # A caller waits unless answered the instant it arrives.
        waited.append(sum(1 for w in waits if w is None or w > 0) / len(counted))
        figures = replication_figures(scenario, result)[CENTRE]
        within.append(figures["answered_within_15s"])
        abandoned.append(figures["abandon_rate"])
        answered = [w for w in waits if w is not None]
        mean_wait.append(sum(answered) / len(answered))
    if patience_mean is None:
        return [
            Check("Erlang C", positions, load, "probability of waiting", estimate(waited),
                  erlang_c(positions, load)),
            Check("Erlang C", positions, load, "answered within 15 s", estimate(within),
                  erlang_c_within(positions, load, SERVICE_MEAN_S, 15.0)),
            Check("Erlang C", positions, load, "mean wait (s)", estimate(mean_wait),
                  erlang_c_mean_wait(positions, load, SERVICE_MEAN_S)),
        ]  # fmt: skip
    theory = erlang_a(positions, load, SERVICE_MEAN_S, patience_mean)
    return [
        Check("Erlang A", positions, load, "probability of waiting", estimate(waited),
              theory.wait_probability),
        Check("Erlang A", positions, load, "abandon rate", estimate(abandoned),
              theory.abandon_rate),
    ]  # fmt: skip
