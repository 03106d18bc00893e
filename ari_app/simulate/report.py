"""The simulator's report: one JSON object for scripts, a table for people.

Shares are from 0 to 1 in JSON and in points (percent) in the text; every figure comes with its
95 % interval; a difference is the scenario minus the same callers without its surges.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ari_app.simulate.experiment import Experiment
from ari_app.simulate.figures import NATIONAL, SHARES
from ari_app.simulate.stats import Estimate


def _figures_json(figures: Mapping[str, Estimate]) -> dict[str, Any]:
    return {name: value.as_json() for name, value in figures.items()}


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    """``surged``, ``centres`` and ``difference`` (per centre id), national figures, flows."""
    scenario = experiment.scenario
    summary = experiment.summary()
    difference = experiment.difference()
    centres = [c.id for c in scenario.topology.centres]
    return {
        "scenario": scenario.name,
        "topology": str(scenario.topology_path),
        "policy": experiment.policy,
        "replications": len(experiment.runs),
        "seed": scenario.seed,
        "surged": list(scenario.surged),
        "centres": {c: _figures_json(summary[c]) for c in centres},
        "national": _figures_json(summary[NATIONAL]),
        "difference": (
            {c: _figures_json(difference[c]) for c in centres} if difference is not None else {}
        ),
        "national_difference": (
            _figures_json(difference[NATIONAL]) if difference is not None else {}
        ),
        "flows": [
            {"from": source, "to": target, "calls": value.as_json(2)}
            for (source, target), value in experiment.flow_summary().items()
        ],
    }


def _share(value: Estimate) -> str:
    return f"{value.mean * 100:5.1f} ±{value.half_width * 100:4.1f}"


def _points(value: Estimate) -> str:
    return f"{value.mean * 100:+6.2f} [{value.low * 100:+6.2f}, {value.high * 100:+6.2f}]"


_TABLE = (
    ("answered_within_15s", "<=15 s %"),
    ("answered_within_60s", "<=60 s %"),
    ("abandon_rate", "abandon %"),
    ("wait_p90_s", "p90 s"),
    ("overflowed_out", "out"),
    ("overflowed_in", "in"),
    ("occupancy", "occup. %"),
)


def render_experiment(experiment: Experiment) -> str:
    """The figures per centre with intervals, then the paired differences."""
    scenario = experiment.scenario
    summary = experiment.summary()
    surged = set(scenario.surged)
    lines = [
        f"scenario {scenario.name!r}: {len(experiment.runs)} replications, policy "
        f"{experiment.policy}, seed {scenario.seed}; counted calls arrive from "
        f"{scenario.warmup:g} s to {scenario.duration:g} s; means ± 95 % half-interval",
        "",
        f"{'centre':<20}" + "".join(f"{title:>14}" for _, title in _TABLE),
    ]
    rows = [*(c.id for c in scenario.topology.centres), NATIONAL]
    for unit in rows:
        cells = []
        for name, _ in _TABLE:
            value = summary[unit][name]
            if name in SHARES:
                cells.append(f"{_share(value):>14}")
            else:
                cells.append(f"{value.mean:>8.1f} ±{value.half_width:4.1f}")
        mark = " *" if unit in surged else ""
        lines.append(f"{unit + mark:<20}" + "".join(cells))
    difference = experiment.difference()
    if difference is not None:
        lines += [
            "",
            "paired difference, scenario minus the same callers without its surges "
            "(points, 95 % interval); * surged",
            f"{'centre':<20}{'<=15 s':>26}{'<=60 s':>26}{'abandon':>26}",
        ]
        for unit in rows:
            mark = " *" if unit in surged else ""
            figures = difference[unit]
            lines.append(
                f"{unit + mark:<20}"
                + "".join(
                    f"{_points(figures[name]):>26}"
                    for name in ("answered_within_15s", "answered_within_60s", "abandon_rate")
                )
            )
        others = [u for u in rows[:-1] if u not in surged and summary[u]["calls"].mean > 0]
        if others:
            worst = min(others, key=lambda u: difference[u]["answered_within_15s"].low)
            low = difference[worst]["answered_within_15s"].low
            lines.append(
                f"\nworst centre not surged: {worst}, answered within 15 s drops by at most "
                f"{max(0.0, -low) * 100:.2f} points (upper end of the 95 % interval)"
            )
    flows = experiment.flow_summary()
    if flows:
        lines += ["", "calls moved by mutual aid or last resort (mean per replication)"]
        ranked = sorted(flows.items(), key=lambda item: -item[1].mean)
        for (source, target), value in ranked[:15]:
            lines.append(
                f"  {source:>18} -> {target:<18} {value.mean:8.1f} ±{value.half_width:.1f}"
            )
        if len(ranked) > 15:
            lines.append(f"  ... and {len(ranked) - 15} more flows (see --json)")
    return "\n".join(lines)


def comparison_json(experiments: Mapping[str, Experiment]) -> dict[str, Any]:
    """The four policies on the same callers: each policy's own JSON report."""
    return {name: experiment_json(experiment) for name, experiment in experiments.items()}


def render_comparison(experiments: Mapping[str, Experiment]) -> str:
    """One line per centre: answered within 15 s under each policy, and its paired drop."""
    first = next(iter(experiments.values()))
    scenario = first.scenario
    surged = set(scenario.surged)
    names = list(experiments)
    summaries = {name: e.summary() for name, e in experiments.items()}
    diffs = {name: e.difference() for name, e in experiments.items()}
    lines = [
        f"scenario {scenario.name!r}: {len(first.runs)} replications per policy, the same "
        "callers under every policy",
        "answered within 15 s, % (paired difference with the same callers without surges, "
        "upper end of the drop's 95 % interval in points)",
        f"{'centre':<20}" + "".join(f"{name:>24}" for name in names),
    ]
    for centre in [*(c.id for c in scenario.topology.centres), NATIONAL]:
        cells = []
        for name in names:
            value = summaries[name][centre]["answered_within_15s"]
            diff = diffs[name]
            drop = (
                f" ({max(0.0, -diff[centre]['answered_within_15s'].low) * 100:4.1f})"
                if diff
                else ""
            )
            cells.append(f"{value.mean * 100:>17.1f}{drop}")
        mark = " *" if centre in surged else ""
        lines.append(f"{centre + mark:<20}" + "".join(f"{c:>24}" for c in cells))
    for centre in sorted(surged):
        lines.append("")
        lines.append(f"{centre} (surged): answered within 60 s / abandon rate, %")
        for name in names:
            figures = summaries[name][centre]
            lines.append(
                f"  {name:<16} {_share(figures['answered_within_60s'])}   "
                f"{_share(figures['abandon_rate'])}"
            )
    return "\n".join(lines)
