"""Time the policy's hot paths on the national topology: 2000 positions, 2000 waiting calls.

    python bench/bench_policy.py [--iterations N] [--seed S]

The scene: every position online; in the northern half of the departments (a surge) all
positions are busy and calls wait, 2000 in all, up to 90 s old; elsewhere a few positions are
free so mutual aid has somewhere to go. Timed, each many times with time.perf_counter_ns:
- one routing decision (random commune codes and a few unknown keys);
- one full overflow pass (decisions only; the state is not changed, so every run sees the
  same 2000 waiting calls);
- one next_offer for a unit (what the call handling layer asks after each change).
Figures are printed as p50 / p99 / max in microseconds.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from ari_app.vcta import (
    CallStatus,
    PolicyState,
    Topology,
    load_topology,
    next_offer,
    overflow_pass,
    route_call,
)

NATIONAL = Path(__file__).resolve().parent.parent / "ari_app" / "examples" / "national.toml"
WAITING_CALLS = 2000
NOW = 1_700_000_000.0


def build_scene(topology: Topology, rng: random.Random) -> PolicyState:
    """The state described in the module docstring."""
    state = PolicyState(topology)
    for position_id in sorted(state.positions):
        state.position_online(position_id, NOW - rng.uniform(0, 600))
    centres = [c for c in topology.centres if c.department is not None]
    surge = {c.id for c in centres if c.department is not None and c.department < "50"}
    talk = 0
    for centre in topology.centres:
        free = 0 if centre.id in surge else min(3, len(centre.positions))
        for position in centre.positions[free:]:
            talk += 1
            state.restore_call(
                f"talk{talk}",
                routing_key=centre.department or "",
                home_centre=centre.id,
                unit=state.unit_of_centre(centre.id),
                arrived_at=NOW - rng.uniform(60, 600),
                status=CallStatus.CONNECTED,
                position=position.id,
            )
    weights = [len(c.positions) for c in centres if c.id in surge]
    surge_centres = [c for c in centres if c.id in surge]
    for index in range(WAITING_CALLS):
        centre = rng.choices(surge_centres, weights)[0]
        state.restore_call(
            f"wait{index}",
            routing_key=f"{centre.department}{rng.randrange(1, 999):03d}",
            home_centre=centre.id,
            unit=state.unit_of_centre(centre.id),
            arrived_at=NOW - rng.uniform(0, 90),
        )
    return state


def timed(action: Callable[[], object], iterations: int) -> list[float]:
    """Microseconds taken by each of ``iterations`` runs of ``action``."""
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        action()
        samples.append((clock() - start) / 1000)
    return samples


def report(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<28} n={len(ordered):>6}  p50 {p50:9.1f} us  p99 {p99:9.1f} us  "
        f"max {ordered[-1]:9.1f} us"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20_000, help="routing decisions")
    parser.add_argument("--passes", type=int, default=300, help="overflow passes")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    topology = load_topology(NATIONAL)
    state = build_scene(topology, rng)

    departments = [c.department for c in topology.centres if c.department is not None]
    keys = [f"{rng.choice(departments)}{rng.randrange(1, 999):03d}" for _ in range(1000)]
    keys += ["18", "112", "unknown-key"] * 10
    rng.shuffle(keys)
    key_iter = itertools.cycle(keys)

    waiting = sum(state.queue_length(u) for u in state.units)
    moves = overflow_pass(topology, state, NOW)
    units = list(state.layout.serving_units)
    unit_iter = itertools.cycle(units)
    print(f"national topology: {len(topology.centres)} centres, {len(state.positions)} positions")
    print(f"scene: {waiting} waiting calls; one overflow pass decides {len(moves)} moves")
    print(f"python {platform.python_version()} on {platform.machine()}")

    timed(lambda: route_call(topology, state, next(key_iter), NOW), 2000)  # warm-up
    print(
        report(
            "routing decision",
            timed(lambda: route_call(topology, state, next(key_iter), NOW), args.iterations),
        )
    )
    print(
        report(
            "overflow pass (2000 waiting)",
            timed(lambda: overflow_pass(topology, state, NOW), args.passes),
        )
    )
    print(
        report(
            "next_offer (one unit)",
            timed(lambda: next_offer(topology, state, next(unit_iter), NOW), args.iterations),
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
