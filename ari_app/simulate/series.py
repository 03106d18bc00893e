"""Time series of one replication (CSV) and the plots drawn from them (PNG).

Calls are binned by arrival time; a bin's figures are those of the calls that arrived in it.
Plots need matplotlib (``pip install 'ari-app[plots]'``, installed by ``scripts/setup dev``).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ari_app.simulate.engine import RunResult
from ari_app.simulate.experiment import Experiment
from ari_app.simulate.scenario import Scenario

COLUMNS = (
    "bin_start_s",
    "centre",
    "calls",
    "answered_within_15s",
    "abandon_rate",
    "overflowed_out",
    "overflowed_in",
)


@dataclass(frozen=True, slots=True)
class Row:
    bin_start_s: float
    centre: str
    calls: int
    answered_within_15s: float
    abandon_rate: float
    overflowed_out: int
    overflowed_in: int


def time_series(scenario: Scenario, result: RunResult, bin_s: float = 900.0) -> list[Row]:
    """Per centre and per ``bin_s`` of arrival time, from the start of the run to its end."""
    bins = max(1, int(-(-scenario.duration // bin_s)))
    centres = [c.id for c in scenario.topology.centres]
    counts = {c: [[0, 0, 0, 0, 0] for _ in range(bins)] for c in centres}
    for caller in result.callers:
        index = int(caller.arrived // bin_s)
        if index >= bins:
            continue  # a call-back after the end of arrivals
        cell = counts[caller.home][index]
        cell[0] += 1
        if caller.answered_at is not None and caller.answered_at - caller.arrived <= 15:
            cell[1] += 1
        if caller.abandoned:
            cell[2] += 1
        if caller.moved:
            cell[3] += 1
        if caller.answered_by is not None and caller.answered_by != caller.home:
            counts[caller.answered_by][index][4] += 1
    rows = []
    for index in range(bins):
        for centre in centres:
            calls, within, abandoned, out, helped = counts[centre][index]
            rows.append(
                Row(
                    index * bin_s,
                    centre,
                    calls,
                    within / calls if calls else 0.0,
                    abandoned / calls if calls else 0.0,
                    out,
                    helped,
                )
            )
    return rows


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    f"{row.bin_start_s:g}",
                    row.centre,
                    row.calls,
                    f"{row.answered_within_15s:.4f}",
                    f"{row.abandon_rate:.4f}",
                    row.overflowed_out,
                    row.overflowed_in,
                ]
            )


class PlotsUnavailable(RuntimeError):
    """matplotlib is not installed."""


def write_plots(experiment: Experiment, rows: list[Row], directory: Path) -> list[Path]:
    """``service-level.png`` (answered within 15 s over time, per centre) and ``flows.png``
    (calls moved between units, mean per replication). Returns the files written."""
    # Imported here, not at the top: runs without plots do not pay for loading matplotlib.
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")  # files only: never a window
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise PlotsUnavailable(
            "plots need matplotlib: install it with pip install 'ari-app[plots]'"
        ) from None
    directory.mkdir(parents=True, exist_ok=True)
    scenario = experiment.scenario
    surged = set(scenario.surged)
    by_centre: dict[str, list[Row]] = {}
    for row in rows:
        by_centre.setdefault(row.centre, []).append(row)
    busiest = sorted(by_centre, key=lambda c: -sum(r.calls for r in by_centre[c]))
    shown = [c for c in busiest if c in surged] + [c for c in busiest if c not in surged]
    shown = [c for c in shown if sum(r.calls for r in by_centre[c])][:12]

    figure, axes = plt.subplots(figsize=(10, 5.5))
    for centre in shown:
        series = [r for r in by_centre[centre] if r.calls]
        axes.plot(
            [r.bin_start_s / 3600 for r in series],
            [r.answered_within_15s * 100 for r in series],
            label=centre + (" (surged)" if centre in surged else ""),
            linewidth=2.5 if centre in surged else 1.2,
        )
    for surge in scenario.surges:
        axes.axvspan(surge.start / 3600, surge.end / 3600, color="grey", alpha=0.15)
    axes.set_xlabel("hours into the run (grey: surge)")
    axes.set_ylabel("answered within 15 s (%)")
    axes.set_ylim(0, 101)
    axes.set_title(f"{scenario.name}: service level over time (replication 1)")
    axes.legend(fontsize=7, ncol=2, loc="lower left")
    figure.tight_layout()
    service = directory / "service-level.png"
    figure.savefig(service, dpi=110)
    plt.close(figure)

    flows = _top_flows(experiment.flow_summary_means(), 20)
    figure, axes = plt.subplots(figsize=(10, 5.5))
    labels = [f"{a} → {b}" for (a, b), _ in flows]
    axes.barh(labels[::-1] or ["none"], [v for _, v in flows][::-1] or [0])
    axes.set_xlabel("calls moved per replication (mutual aid and last resort)")
    axes.set_title(f"{scenario.name}: overflow flows")
    figure.tight_layout()
    flows_path = directory / "flows.png"
    figure.savefig(flows_path, dpi=110)
    plt.close(figure)
    return [service, flows_path]


def _top_flows(
    means: Mapping[tuple[str, str], float], count: int
) -> list[tuple[tuple[str, str], float]]:
    return sorted(means.items(), key=lambda item: -item[1])[:count]
