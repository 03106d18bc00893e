"""The validation table of docs/simulator.md: the simulator against Erlang C and Erlang A.

    python bench/validate_erlang.py [--calls N] [--replications R]

One centre, Poisson arrivals, exponential service (mean 60 s); Erlang C with callers who never
hang up, Erlang A with exponential patience (mean 120 s). Prints a Markdown table.
"""

from __future__ import annotations

import argparse

from ari_app.simulate.validation import validate

POINTS = (
    (5, 3.0, None),
    (10, 8.0, None),
    (10, 9.0, None),
    (20, 18.0, None),
    (50, 47.0, None),
    (10, 9.0, 120.0),
    (20, 22.0, 120.0),
    (50, 55.0, 120.0),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000, help="calls per replication")
    parser.add_argument("--replications", type=int, default=10, help="replications per point")
    args = parser.parse_args()
    print(
        "| model | positions | load (Erl) | figure | simulated (95 % interval) | theory "
        "| in interval | gap |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for positions, load, patience in POINTS:
        checks = validate(
            positions,
            load,
            patience_mean=patience,
            calls_per_replication=args.calls,
            replications=args.replications,
        )
        for check in checks:
            seconds = check.figure.startswith("mean wait")
            scale, unit = (1.0, " s") if seconds else (100.0, " pt")
            sim = check.simulated
            print(
                f"| {check.model} | {positions} | {load:g} | {check.figure} | "
                f"{sim.mean * scale:.2f} [{sim.low * scale:.2f}, {sim.high * scale:.2f}] | "
                f"{check.theory * scale:.2f} | {'yes' if check.within_interval else 'no'} | "
                f"{check.gap * scale:+.2f}{unit} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
