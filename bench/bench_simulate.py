"""Time the simulator on one simulated national day (more than 100,000 calls).

    python bench/bench_simulate.py [--scenario FILE] [--runs N]

One replication of examples/scenarios/normal-day-national.toml (the national topology, 94
centres, 2001 positions, a time-of-day profile) per run, in this process, on one core: the
simulator is single-threaded. Prints calls, events and seconds (wall and CPU) per run.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from ari_app.simulate import read_scenario, run_replication
from ari_app.simulate.experiment import replication_seed

DAY = (
    Path(__file__).resolve().parent.parent
    / "ari_app"
    / "examples"
    / "scenarios"
    / "normal-day-national.toml"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DAY, help="scenario to time")
    parser.add_argument("--runs", type=int, default=3, help="replications to time, one by one")
    args = parser.parse_args()
    scenario = read_scenario(args.scenario)
    print(f"{scenario.name}: {scenario.topology.position_count} positions, "
          f"{len(scenario.topology.centres)} centres; {platform.python_implementation()} "
          f"{platform.python_version()} on {platform.machine()}")  # fmt: skip
    for index in range(args.runs):
        wall = time.perf_counter()
        cpu = time.process_time()
        result = run_replication(scenario, replication_seed(scenario, index))
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        answered = sum(1 for c in result.callers if c.answered_at is not None)
        print(
            f"run {index + 1}: {len(result.callers)} calls ({answered} answered), "
            f"{result.events} events, {result.moves} moves: {wall:.2f} s wall, {cpu:.2f} s CPU, "
            f"{len(result.callers) / wall:,.0f} calls/s"
        )


if __name__ == "__main__":
    main()
