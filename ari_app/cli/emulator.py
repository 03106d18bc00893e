"""``ari-app emulator``: run the Asterisk emulator as a standalone server until Ctrl-C/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import sys
from pathlib import Path

from ari_app import logs
from ari_app.clock import ScaledClock
from ari_app.sim import Emulator, EmulatorError
from ari_app.sim.config import (
    ConfigError,
    EmulatorConfig,
    load_config,
    parse_endpoint,
    parse_sound,
)
from ari_app.sim.scripts import SCRIPT_SYNTAX
from ari_app.vcta import TopologyError, load_topology


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="run the Asterisk emulator (ARI under /ari, controls under /sim)",
        description="Serve an emulated Asterisk speaking ARI like the reference traces, with "
        "scripted operator positions; place calls through the /sim controls.",
    )
    parser.add_argument("--config", type=Path, help="TOML file (see docs/emulator.md)")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind (default 8088, 0: any free port)")
    parser.add_argument("--user", help="ARI user (default ari-app)")
    parser.add_argument("--password", help="ARI password (default: a random one, printed)")
    parser.add_argument("--app", help="Stasis application of the dialplan (default vcta)")
    parser.add_argument("--speed", type=float, help="simulated seconds per real second")
    parser.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="NAME=SCRIPT",
        help=f"an operator position; SCRIPT is {SCRIPT_SYNTAX} (repeatable)",
    )
    parser.add_argument(
        "--positions-from",
        type=Path,
        metavar="TOPOLOGY",
        help="declare every position of this topology file (with --position-script)",
    )
    parser.add_argument(
        "--position-script",
        default="answer:3:60",
        metavar="SCRIPT",
        help="script of the positions of --positions-from (default %(default)s: answer "
        "after 3 s, talk 60 s)",
    )
    parser.add_argument(
        "--offline",
        action="append",
        default=[],
        metavar="NAME",
        help="a position that starts unregistered (repeatable)",
    )
    parser.add_argument(
        "--sound",
        action="append",
        default=[],
        metavar="NAME[=SECONDS]",
        help="a sound file that exists, with its duration (repeatable)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
        help="logging level (default %(default)s)",
    )
    parser.set_defaults(handler=run)


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    """The file's settings, overridden by the command line; ConfigError names what is wrong."""
    config = load_config(args.config) if args.config else EmulatorConfig()
    for name in ("host", "port", "app", "speed"):
        value = getattr(args, name)
        if value is not None:
            setattr(config, name, value)
    if config.speed <= 0:
        raise ConfigError(f"--speed must be positive, not {config.speed}")
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"--port {config.port} is not between 0 and 65535")
    if args.positions_from is not None:
        for name in topology_positions(args.positions_from):
            config.endpoints[name] = parse_endpoint(
                f"{name}={args.position_script}", "--position-script"
            )
    for spec in args.endpoint:
        endpoint = parse_endpoint(spec)
        config.endpoints[endpoint.name] = endpoint
    for name in args.offline:
        if name not in config.endpoints:
            raise ConfigError(f"--offline {name}: no such position (declare it with --endpoint)")
        config.endpoints[name].online = False
    for spec in args.sound:
        name, seconds = parse_sound(spec)
        config.sounds[name] = seconds
    if args.user or args.password or not config.users:
        user = args.user or "ari-app"
        config.users = {user: args.password or secrets.token_urlsafe(9)}
    return config


def topology_positions(path: Path) -> list[str]:
    """The endpoint resources of a topology's positions (``sdis77-op1`` ...)."""
    try:
        topology = load_topology(path)
    except TopologyError as error:
        raise ConfigError(f"--positions-from {path}: {error}") from None
    return [p.endpoint.split("/", 1)[1] for p in topology.position_by_id.values()]


def build_emulator(config: EmulatorConfig) -> Emulator:
    emu = Emulator(
        ScaledClock(config.speed), users=config.users, app=config.app, sounds=config.sounds
    )
    for endpoint in config.endpoints.values():
        emu.add_endpoint(
            endpoint.name, endpoint.script, online=endpoint.online, callerid=endpoint.callerid
        )
    return emu


def banner(emu: Emulator, config: EmulatorConfig) -> str:
    user, password = next(iter(config.users.items()))
    events = emu.base_url.replace("http://", "ws://") + f"/events?app={config.app}"
    positions = ", ".join(
        f"{e['resource']} ({e['script']}, {e['state']})"
        for e in emu.endpoints()
        if e["resource"] != emu.pbx.trunk.resource
    )
    lines = [
        f"Asterisk emulator: ARI {emu.base_url} (events {events})",
        f"  credentials: user {user!r}, password {password!r}",
        f"  controls: {emu.control_url} (same credentials), speed x{config.speed:g}",
        "  positions: " + (positions or "none (add some with --endpoint NAME=SCRIPT)"),
        f"  for the application: ARI_APP_ARI_URL={emu.base_url} ARI_APP_ARI_USER={user} "
        f"ARI_APP_ARI_PASSWORD={password} ARI_APP_APP_NAME={config.app}",
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


async def serve(config: EmulatorConfig, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set, or SIGINT/SIGTERM."""
    emu = build_emulator(config)
    await emu.start(config.host, config.port)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    print(banner(emu, config), flush=True)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        await emu.stop()
        print("Asterisk emulator stopped.", flush=True)


def run(args: argparse.Namespace) -> int:
    logs.configure(args.log_level.upper())
    try:
        config = build_config(args)
        asyncio.run(serve(config))
    except (ConfigError, EmulatorError) as error:
        print(f"ari-app emulator: {error}", file=sys.stderr)
        return 2
    return 0
