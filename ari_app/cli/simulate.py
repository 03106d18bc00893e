"""``ari-app simulate``: the discrete-event simulator, and ``ari-app simulate staffing``."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

from ari_app.simulate.errors import ScenarioError
from ari_app.simulate.experiment import Experiment, run_experiment
from ari_app.simulate.policies import POLICIES
from ari_app.simulate.progress import ProgressBar
from ari_app.simulate.report import (
    comparison_json,
    experiment_json,
    render_comparison,
    render_experiment,
)
from ari_app.simulate.scenario import read_scenario
from ari_app.simulate.series import PlotsUnavailable, time_series, write_csv, write_plots
from ari_app.simulate.staffing import national_platform, render_staffing, staffing

STAFFING = "staffing"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a scenario on the routing policy, with confidence intervals",
        description=(
            "Runs a scenario (a TOML file, see examples/scenarios/) in a discrete-event "
            "simulation of callers and operators driving the product's own routing policy. "
            "Each replication is paired with the same callers without the scenario's surges, "
            "and every figure comes with its 95 %% confidence interval. "
            "'ari-app simulate staffing' sizes the centres instead."
        ),
    )
    parser.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="scenario file (examples/scenarios/storm-77.toml), or 'staffing'",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument(
        "--replications", type=int, metavar="N", help="replications (default: the scenario's)"
    )
    parser.add_argument(
        "--policy",
        choices=tuple(POLICIES),
        help="mutual-aid policy to run under (default: the scenario's, normally spare_helpers)",
    )
    parser.add_argument(
        "--compare-policies",
        action="store_true",
        help="run the four policies on the same callers and compare them",
    )
    parser.add_argument(
        "--csv", type=Path, metavar="FILE", help="write replication 1's time series as CSV"
    )
    parser.add_argument(
        "--plots",
        type=Path,
        metavar="DIR",
        help="directory for the PNG plots (default: simulation-plots/<scenario name>)",
    )
    parser.add_argument("--no-plots", action="store_true", help="write no plots")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    staff = parser.add_argument_group("staffing (with 'ari-app simulate staffing')")
    staff.add_argument(
        "--scenario-file",
        type=Path,
        metavar="FILE",
        help="scenario giving the loads and durations (default: the national normal day)",
    )
    staff.add_argument(
        "--target", type=float, default=0.9, help="share to answer in time (default 0.9)"
    )
    staff.add_argument(
        "--within", type=float, default=15.0, help="seconds to answer within (default 15)"
    )
    staff.add_argument(
        "--simultaneous",
        type=float,
        default=2000.0,
        help="simultaneous calls the national platform must take (default 2000)",
    )
    staff.add_argument(
        "--check", action="store_true", help="check each Erlang C answer by simulation"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.scenario == STAFFING:
            return _staffing(args)
        return _simulate(args)
    except ScenarioError as error:
        print(f"ari-app simulate: {error}", file=sys.stderr)
        return 2


def _progress(args: argparse.Namespace, label: str) -> ProgressBar | None:
    # Redrawn lines only make sense on a terminal; a log file gets the report alone.
    if args.quiet or not sys.stderr.isatty():
        return None
    return ProgressBar(sys.stderr, label)


def _simulate(args: argparse.Namespace) -> int:
    if args.replications is not None and args.replications < 2:
        print("ari-app simulate: --replications must be 2 or more", file=sys.stderr)
        return 2
    scenario = read_scenario(args.scenario)
    if args.compare_policies:
        experiments: dict[str, Experiment] = {}
        for name in ("off", "reserve_only", "spare_helpers", "national_queue"):
            experiments[name] = run_experiment(
                scenario,
                policy=name,
                replications=args.replications,
                progress=_progress(args, f"{name:>14}"),
            )
        if args.json:
            print(json.dumps(comparison_json(experiments), indent=2))
        else:
            print(render_comparison(experiments))
        return 0
    experiment = run_experiment(
        scenario,
        policy=args.policy,
        replications=args.replications,
        progress=_progress(args, "simulating"),
    )
    rows = time_series(scenario, experiment.first)
    notes = []
    if args.csv is not None:
        write_csv(rows, args.csv)
        notes.append(f"time series written to {args.csv}")
    if not args.no_plots:
        directory = args.plots or Path("simulation-plots") / Path(args.scenario).stem
        try:
            written = write_plots(experiment, rows, directory)
            notes.append("plots written: " + ", ".join(str(p) for p in written))
        except PlotsUnavailable as error:
            notes.append(f"no plots: {error}")
    if args.json:
        print(json.dumps(experiment_json(experiment), indent=2))
        for note in notes:
            print(note, file=sys.stderr)
    else:
        print(render_experiment(experiment))
        for note in notes:
            print(note)
    return 0


def default_staffing_scenario() -> Path:
    return Path(
        str(resources.files("ari_app") / "examples" / "scenarios" / "normal-day-national.toml")
    )


def _staffing(args: argparse.Namespace) -> int:
    if not 0 < args.target < 1:
        print("ari-app simulate staffing: --target must be between 0 and 1", file=sys.stderr)
        return 2
    if not args.within > 0 or not args.simultaneous > 0:
        print(
            "ari-app simulate staffing: --within and --simultaneous must be positive",
            file=sys.stderr,
        )
        return 2
    scenario = read_scenario(args.scenario_file or default_staffing_scenario())
    rows = staffing(scenario, target=args.target, within=args.within, check=args.check)
    platform = national_platform(
        scenario, args.simultaneous, target=args.target, within=args.within, check=args.check
    )
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "centre": r.centre,
                        "load_erlangs": round(r.load_erlangs, 2),
                        "positions_now": r.positions_now,
                        "positions_needed": r.positions_needed,
                        "erlang_c": round(r.predicted, 4),
                        "simulated": r.simulated.as_json() if r.simulated else None,
                    }
                    for r in [*rows, platform]
                ],
                indent=2,
            )
        )
    else:
        print(render_staffing([*rows, platform], args.target, args.within))
    return 0
