"""The figures of one replication, per centre and nationally, named as in the demo report.

Every figure counts the calls that arrived in the counted window (``warmup`` to ``duration``),
by their home centre, each call-back being a call of its own as in a real call log:
- ``answered_within_10s`` / ``15s`` / ``20s`` / ``60s``: share of the calls answered by an
  operator within that many seconds of arriving (0 to 1);
- ``abandon_rate``: share of the calls whose caller hung up before an operator answered;
- ``mean_answer_s``, ``wait_p90_s``: mean and 90th percentile of the wait of answered calls;
- ``overflowed_out``: calls of the centre moved elsewhere by mutual aid or last resort
  (helped out); ``overflowed_in``: calls of other centres its operators answered (helped in);
- ``occupancy``: share of its positions' time spent ringing, talking or in wrap-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ari_app.simulate.callers import Caller
from ari_app.simulate.engine import RunResult
from ari_app.simulate.scenario import Scenario

THRESHOLDS_S = (10, 15, 20, 60)
FIGURES = (
    "calls",
    "answered_within_10s",
    "answered_within_15s",
    "answered_within_20s",
    "answered_within_60s",
    "abandon_rate",
    "mean_answer_s",
    "wait_p90_s",
    "overflowed_out",
    "overflowed_in",
    "occupancy",
)
SHARES = frozenset({f"answered_within_{t}s" for t in THRESHOLDS_S} | {"abandon_rate", "occupancy"})
NATIONAL = "national"


def _p90(waits: list[float]) -> float:
    if not waits:
        return 0.0
    waits.sort()
    return waits[max(1, math.ceil(0.9 * len(waits))) - 1]


def _figures(
    calls: Iterable[Caller], helped_in: int, busy_s: float, positions: int, span: float
) -> dict[str, float]:
    count = 0
    abandoned = 0
    moved = 0
    waits: list[float] = []
    within = dict.fromkeys(THRESHOLDS_S, 0)
    for caller in calls:
        count += 1
        if caller.abandoned:
            abandoned += 1
        if caller.moved:
            moved += 1
        if caller.answered_at is not None:
            wait = caller.answered_at - caller.arrived
            waits.append(wait)
            for threshold in THRESHOLDS_S:
                if wait <= threshold:
                    within[threshold] += 1
    result: dict[str, float] = {"calls": float(count)}
    for threshold in THRESHOLDS_S:
        result[f"answered_within_{threshold}s"] = within[threshold] / count if count else 0.0
    result["abandon_rate"] = abandoned / count if count else 0.0
    result["mean_answer_s"] = sum(waits) / len(waits) if waits else 0.0
    result["wait_p90_s"] = _p90(waits)
    result["overflowed_out"] = float(moved)
    result["overflowed_in"] = float(helped_in)
    result["occupancy"] = busy_s / (positions * span) if positions and span > 0 else 0.0
    return result


def replication_figures(scenario: Scenario, result: RunResult) -> dict[str, dict[str, float]]:
    """``{centre id: {figure: value}}`` for every centre, plus ``national`` for all calls."""
    low, high = scenario.warmup, scenario.duration
    counted = [c for c in result.callers if low <= c.arrived < high]
    by_centre: dict[str, list[Caller]] = {c.id: [] for c in scenario.topology.centres}
    helped_in = dict.fromkeys(by_centre, 0)
    for caller in counted:
        by_centre[caller.home].append(caller)
        if caller.answered_by is not None and caller.answered_by != caller.home:
            helped_in[caller.answered_by] += 1
    span = high - low
    figures: dict[str, dict[str, float]] = {}
    for centre in scenario.topology.centres:
        figures[centre.id] = _figures(
            by_centre[centre.id],
            helped_in[centre.id],
            result.busy_s.get(centre.id, 0.0),
            len(centre.positions),
            span,
        )
    figures[NATIONAL] = _figures(
        counted,
        sum(helped_in.values()),
        sum(result.busy_s.values()),
        scenario.topology.position_count,
        span,
    )
    return figures


def differences(
    scenario: Sequence[dict[str, dict[str, float]]], baseline: Sequence[dict[str, dict[str, float]]]
) -> list[dict[str, dict[str, float]]]:
    """Per replication, scenario minus baseline, figure by figure (the pairs share a seed)."""
    paired = []
    for ours, theirs in zip(scenario, baseline, strict=True):
        paired.append(
            {
                unit: {name: value - theirs[unit][name] for name, value in figures.items()}
                for unit, figures in ours.items()
            }
        )
    return paired
