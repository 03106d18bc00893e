"""``ari-app db upgrade`` and ``ari-app db status``: the database schema's version."""

from __future__ import annotations

import argparse
import json

from ari_app.cli.store_commands import database_dsn, run_command
from ari_app.store.db import connect, describe_dsn
from ari_app.store.errors import SchemaError
from ari_app.store.migrate import schema_status, upgrade


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "db",
        help="create or upgrade the PostgreSQL schema (ARI_APP_DATABASE_DSN)",
        description="Create or upgrade the PostgreSQL schema of ARI_APP_DATABASE_DSN.",
    )
    commands = parser.add_subparsers(title="database commands", metavar="ACTION", required=True)
    up = commands.add_parser(
        "upgrade",
        help="apply the missing schema migrations (safe to run again)",
        description="Apply the schema migrations the database is missing; running it again "
        "changes nothing. A schema newer than this ari-app, or altered, is refused.",
    )
    up.set_defaults(handler=run_upgrade)
    status = commands.add_parser(
        "status",
        help="show the schema version; exit 1 unless it is up to date",
        description="Show the schema version and the migrations applied; exit with status 1 "
        "unless the schema is up to date.",
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=run_status)


def run_upgrade(args: argparse.Namespace) -> int:
    return run_command(_upgrade(database_dsn()))


async def _upgrade(dsn: str) -> int:
    async with await connect(dsn, autocommit=True) as conn:
        before = (await schema_status(conn)).current
        applied = await upgrade(conn)
    where = describe_dsn(dsn)
    if not applied:
        print(f"{where}: schema already at version {before}, nothing to do")
        return 0
    names = ", ".join(f"{m.version} {m.name}" for m in applied)
    print(f"{where}: schema upgraded from version {before} to {applied[-1].version} ({names})")
    return 0


def run_status(args: argparse.Namespace) -> int:
    return run_command(_status(database_dsn(), as_json=args.json))


async def _status(dsn: str, *, as_json: bool) -> int:
    async with await connect(dsn) as conn:
        status = await schema_status(conn)
    problem = status.problem()
    where = describe_dsn(dsn)
    if as_json:
        print(
            json.dumps(
                {
                    "database": where,
                    "version": status.current,
                    "latest": status.latest,
                    "up_to_date": status.up_to_date,
                    "pending": [m.version for m in status.pending],
                    "problem": problem,
                    "applied": [
                        {
                            "version": m.version,
                            "name": m.name,
                            "applied_at": m.applied_at.isoformat(),
                        }
                        for m in status.applied
                    ],
                },
                indent=2,
            )
        )
        return 0 if status.up_to_date else 1
    if problem:
        raise SchemaError(f"{where}: {problem}")
    print(f"{where}: schema version {status.current} (this ari-app knows up to {status.latest})")
    for migration in status.applied:
        applied_at = f"{migration.applied_at:%Y-%m-%d %H:%M:%S %Z}"
        print(f"  {migration.version:>4} {migration.name:<30} applied {applied_at}")
    if status.pending:
        pending = ", ".join(f"{m.version} {m.name}" for m in status.pending)
        print(f"pending: {pending}: run 'ari-app db upgrade'")
        return 1
    print("up to date")
    return 0
