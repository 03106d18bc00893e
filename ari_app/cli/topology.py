"""``ari-app topology``: work with topology files (``check`` here; other modules add more).

A module listed in ``TOPOLOGY_COMMAND_MODULES`` defines ``register_topology(subparsers)`` and
adds its own ``topology`` sub-command, setting ``handler`` like any command.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ari_app.vcta.loader import read_topology_file
from ari_app.vcta.topology import Topology

# Modules adding ``topology`` sub-commands of their own (for instance ``import``).
TOPOLOGY_COMMAND_MODULES: tuple[str, ...] = ("ari_app.cli.topology_import",)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "topology",
        help="check topology files (centres, positions, neighbours) and import them",
        description="Check topology files (centres, positions, neighbours) and import them "
        "into PostgreSQL, where every instance reads them.",
    )
    parser.set_defaults(handler=lambda _args: _help(parser))
    commands = parser.add_subparsers(title="topology commands", metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="check a topology file and list every problem with its place",
        description="Check a topology file. Prints every problem with its place and exits "
        "with status 1 if there is any; prints a short summary and exits with 0 otherwise.",
    )
    check.add_argument("file", metavar="FILE", help="the topology file (TOML)")
    check.set_defaults(handler=run_check)
    for name in TOPOLOGY_COMMAND_MODULES:
        importlib.import_module(name).register_topology(commands)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_check(args: argparse.Namespace) -> int:
    """Print every problem of the file (exit 1) or a summary of a valid one (exit 0)."""
    result = read_topology_file(args.file)
    if result.topology is None:
        for problem in result.problems:
            print(problem, file=sys.stderr)
        count = len(result.problems)
        print(
            f"{args.file}: {count} problem{'s' if count > 1 else ''}; the topology was not "
            "accepted.",
            file=sys.stderr,
        )
        return 1
    print(summary(args.file, result.topology))
    return 0


def summary(name: str, topology: Topology) -> str:
    """A few lines describing a valid topology."""
    active = sum(1 for vcta in topology.virtual_ctas if vcta.active)
    vctas = len(topology.virtual_ctas)
    return "\n".join(
        [
            f"{name}: valid topology.",
            f"  {len(topology.centres)} centres, {topology.position_count} positions, "
            f"{vctas} virtual CTA{'s' if vctas != 1 else ''} ({active} active).",
            f"  Unknown routing keys go to {topology.default_unit}; calls waiting "
            f"{topology.last_resort_after:g} s go to the backup unit {topology.backup_unit}.",
        ]
    )
