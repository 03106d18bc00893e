"""Replications with independent seeds, and paired runs on common random numbers.

A replication's seed is derived from the scenario's seed and its number, so replication ``i``
of any run of a scenario sees the same callers whatever else differs (surges off, another
policy): that is what makes a paired difference precise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ari_app.simulate.engine import RunResult, run_replication
from ari_app.simulate.figures import SHARES, differences, replication_figures
from ari_app.simulate.policies import POLICIES
from ari_app.simulate.scenario import Scenario
from ari_app.simulate.stats import Estimate, estimate

Figures = dict[str, dict[str, float]]
Progress = Callable[[int, int], None]


def replication_seed(scenario: Scenario, index: int) -> int:
    """The seed of replication ``index``: independent streams for each replication."""
    return scenario.seed * 1_000_003 + index


@dataclass(frozen=True)
class Experiment:
    """Replications of a scenario under one policy, and their paired baseline (same callers
    without the scenario's surges) when one was asked for."""

    scenario: Scenario
    policy: str
    runs: tuple[Figures, ...]
    baseline: tuple[Figures, ...] | None
    flows: tuple[dict[tuple[str, str], int], ...]
    first: RunResult

    def summary(self) -> dict[str, dict[str, Estimate]]:
        return summarise(self.runs)

    def difference(self) -> dict[str, dict[str, Estimate]] | None:
        if self.baseline is None:
            return None
        return summarise(differences(self.runs, self.baseline), differences=True)

    def flow_summary(self) -> dict[tuple[str, str], Estimate]:
        keys = sorted({key for flows in self.flows for key in flows})
        return {key: estimate([flows.get(key, 0) for flows in self.flows]) for key in keys}

    def flow_summary_means(self) -> dict[tuple[str, str], float]:
        return {key: value.mean for key, value in self.flow_summary().items()}


def summarise(
    runs: Sequence[Mapping[str, Mapping[str, float]]], *, differences: bool = False
) -> dict[str, dict[str, Estimate]]:
    """Each unit's figures as mean and 95 % interval over the replications; a share's
    interval is kept within what a share (or a difference of shares) can be."""
    low = -1.0 if differences else 0.0
    summary: dict[str, dict[str, Estimate]] = {}
    for unit, figures in runs[0].items():
        summary[unit] = {}
        for name in figures:
            value = estimate([run[unit][name] for run in runs])
            if name in SHARES:
                value = Estimate(value.mean, max(low, value.low), min(1.0, value.high))
            summary[unit][name] = value
    return summary


def run_experiment(
    scenario: Scenario,
    *,
    policy: str | None = None,
    paired: bool = True,
    replications: int | None = None,
    progress: Progress | None = None,
) -> Experiment:
    """Run the scenario's replications (and, ``paired``, the same callers without surges)."""
    chosen = POLICIES[policy or scenario.policy]
    count = replications or scenario.replications
    paired = paired and bool(scenario.surged)
    total = count * (2 if paired else 1)
    runs: list[Figures] = []
    baseline: list[Figures] = []
    flows: list[dict[tuple[str, str], int]] = []
    first: RunResult | None = None
    done = 0
    for index in range(count):
        seed = replication_seed(scenario, index)
        result = run_replication(scenario, seed, policy=chosen)
        first = first or result
        runs.append(replication_figures(scenario, result))
        flows.append(result.flows)
        done += 1
        if progress:
            progress(done, total)
        if paired:
            plain = run_replication(scenario, seed, surges=False, policy=chosen)
            baseline.append(replication_figures(scenario, plain))
            done += 1
            if progress:
                progress(done, total)
    assert first is not None
    return Experiment(
        scenario, chosen.name, tuple(runs), tuple(baseline) if paired else None, tuple(flows), first
    )
