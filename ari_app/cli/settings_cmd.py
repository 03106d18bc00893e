"""``ari-app settings``: show the effective settings, secrets masked."""

from __future__ import annotations

import argparse
import json

from ari_app.settings import ENV_PREFIX, load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "settings",
        help="show the effective settings (secrets masked) and exit",
        description="Show the settings in effect, from ARI_APP_* variables and .env, with "
        "secrets masked.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    # mode="json" renders SecretStr as "**********", so secrets never reach the output.
    values = settings.model_dump(mode="json")
    if args.json:
        print(json.dumps(values, indent=2))
    else:
        for name, value in values.items():
            print(f"{ENV_PREFIX}{name.upper()}={value}")
    return 0
