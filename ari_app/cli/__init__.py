"""The ``ari-app`` command: one sub-command per job, each registered by its own module."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ari_app import __version__
from ari_app.settings import SettingsError, unknown_variable_warnings

# Each module defines ``register(subparsers)`` and sets ``handler`` on its parsers:
# a function taking the parsed arguments and returning the exit status.
COMMAND_MODULES: tuple[str, ...] = (
    "ari_app.cli.settings_cmd",
    "ari_app.cli.run",
    "ari_app.cli.demo",
    "ari_app.cli.emulator",
    "ari_app.cli.topology",
    "ari_app.cli.db",
    "ari_app.cli.token",
    "ari_app.cli.officer",
    "ari_app.cli.simulate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ari-app",
        description="Routes 18/112 emergency calls between fire-service call-taking centres.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        status = _run(argv)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is seen below
    except BrokenPipeError:
        # The reader went away (``ari-app status | head``): not an error of ours. Later
        # writes, Python's own flush at exit included, go nowhere instead of failing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    for warning in unknown_variable_warnings(os.environ):
        print(f"ari-app: warning: {warning}", file=sys.stderr)
    try:
        status: int = handler(args)
    except SettingsError as error:
        print(f"ari-app: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status
