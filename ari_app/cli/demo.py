"""``ari-app demo``: the application on the built-in emulator, simulated traffic, a report."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from ari_app import logs
from ari_app.demo.report import render_report
from ari_app.demo.runner import Demo, DemoOptions

MAX_SPEED = 40.0  # faster, and the real time the process needs becomes part of the story


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    defaults = DemoOptions()
    parser = subparsers.add_parser(
        "demo",
        help="run the application on the built-in Asterisk emulator with simulated callers",
        description=(
            "Starts the Asterisk emulator in this process, registers the example topology's "
            "positions, connects the application, places simulated emergency calls (with a "
            "surge in one department while mutual aid is on), shows progress per centre and "
            "ends with a report. Needs nothing but this package."
        ),
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=defaults.duration_s,
        metavar="SECONDS",
        help=f"simulated time during which calls arrive (default {defaults.duration_s:g})",
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="random seed (default %(default)s)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=defaults.speed,
        metavar="FACTOR",
        help=f"simulated seconds per real second, at most {MAX_SPEED:g} (default %(default)s)",
    )
    parser.add_argument(
        "--surge",
        default=defaults.surge_centre,
        metavar="CENTRE",
        help="centre whose calls surge in the middle third of the run; 'none' for no surge",
    )
    parser.add_argument(
        "--surge-factor",
        type=float,
        default=defaults.surge_factor,
        metavar="F",
        help="how many times faster calls arrive during the surge (default %(default)s)",
    )
    parser.add_argument(
        "--topology", type=Path, help="topology file (default: the packaged sdis77 example)"
    )
    parser.add_argument(
        "--serve-api",
        type=int,
        metavar="PORT",
        help="also serve the duty-officer API on 127.0.0.1:PORT (a token is printed)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON only")
    parser.add_argument(
        "--log-level",
        default="ERROR",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
        help="logging level (default %(default)s)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    problem = _check(args)
    if problem:
        print(f"ari-app demo: {problem}", file=sys.stderr)
        return 2
    logs.configure(args.log_level.upper())
    options = DemoOptions(
        duration_s=args.duration,
        seed=args.seed,
        speed=args.speed,
        surge_centre=None if args.surge.lower() == "none" else args.surge,
        surge_factor=args.surge_factor,
        topology_path=args.topology,
        api_port=args.serve_api,
    )
    try:
        demo = Demo(options, progress=sys.stderr if args.json else sys.stdout)
    except (ValueError, OSError) as error:
        print(f"ari-app demo: {error}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(demo.run())
    except ValueError as error:
        print(f"ari-app demo: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print()
        print(render_report(report))
    # The one figure that must be zero: a call ended unanswered without the caller hanging up.
    return 0 if report["total"]["lost"] == 0 else 1


def _check(args: argparse.Namespace) -> str | None:
    if not args.duration > 0:
        return f"--duration must be a positive number of seconds, not {args.duration:g}"
    if not 0 < args.speed <= MAX_SPEED:
        return f"--speed must be above 0 and at most {MAX_SPEED:g}, not {args.speed:g}"
    if not args.surge_factor >= 1:
        return f"--surge-factor must be 1 or more, not {args.surge_factor:g}"
    if args.serve_api is not None and not 0 < args.serve_api <= 65535:
        return f"--serve-api must be a port between 1 and 65535, not {args.serve_api}"
    return None
