"""``ari-app run``: take emergency calls from the Asterisk the settings name."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ari_app import logs
from ari_app.app import StartError, run_application, stop_on_signals
from ari_app.settings import Settings, load_settings
from ari_app.store import StoreError
from ari_app.supervision import ServiceFailed
from ari_app.vcta import TopologyError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="take emergency calls from Asterisk (ARI_APP_ARI_*) and serve the duty-officer API",
        description=(
            "Connects to Asterisk's ARI as the Stasis application ARI_APP_APP_NAME, routes "
            "every call the dialplan hands it, journals calls in PostgreSQL "
            "(ARI_APP_DATABASE_DSN, spooled locally while it is unreachable) and serves the "
            "duty-officer API on ARI_APP_API_HOST:ARI_APP_API_PORT until SIGINT or SIGTERM. "
            "'ari-app settings' shows the settings in effect."
        ),
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    logs.configure(settings.log_level)
    try:
        asyncio.run(_main(settings))
    except (StartError, StoreError, TopologyError) as error:
        print(f"ari-app run: {error}", file=sys.stderr)
        return 2
    except ServiceFailed as error:
        print(f"ari-app run: {error}", file=sys.stderr)
        return 1
    return 0


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    await run_application(settings, stop)
