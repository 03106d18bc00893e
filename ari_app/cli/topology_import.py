"""``ari-app topology import FILE``: check a topology file and store it in PostgreSQL.

The file is checked exactly as ``topology check`` does; with any problem, every problem is
printed, nothing is written and the exit status is 1. Otherwise the stored topology is
replaced in one transaction (see ``ari_app.store.topology_import``) and a summary printed.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import sys
from pathlib import Path

from ari_app.cli.store_commands import database_dsn, run_command, with_connection
from ari_app.store.db import ConnectionSource, describe_dsn
from ari_app.store.migrate import require_current_schema
from ari_app.store.topology_import import ImportReport, import_topology
from ari_app.vcta.loader import read_topology_file
from ari_app.vcta.topology import Topology


def register_topology(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "import",
        help="check a topology file and store it in PostgreSQL (ARI_APP_DATABASE_DSN)",
        description="Check a topology file as 'topology check' does, then replace the stored "
        "topology with it in one transaction. Modes duty officers have set are kept for the "
        "centres, positions and virtual CTAs that remain; what no longer fits is dropped and "
        "audited. Importing the same file again changes nothing. With any problem in the "
        "file, every problem is printed, nothing is written and the exit status is 1.",
    )
    parser.add_argument("file", metavar="FILE", help="the topology file (TOML)")
    parser.add_argument(
        "--by",
        default=None,
        help="who imports it, named in the audit of what is dropped (default: the system user)",
    )
    parser.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    """Check the file (exit 1 listing every problem), then import it (exit 0)."""
    result = read_topology_file(args.file)
    if result.topology is None:
        for problem in result.problems:
            print(problem, file=sys.stderr)
        count = len(result.problems)
        print(
            f"{args.file}: {count} problem{'s' if count > 1 else ''}; nothing was imported.",
            file=sys.stderr,
        )
        return 1
    path = Path(args.file)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        print(f"{args.file}: cannot read: {error.strerror or error}.", file=sys.stderr)
        return 1
    topology = result.topology
    source = str(path.resolve())
    actor = args.by or getpass.getuser()
    dsn = database_dsn()

    async def store(pool: ConnectionSource) -> int:
        async with pool.connection() as conn:
            await require_current_schema(conn)
            report = await import_topology(
                conn, topology, source=source, digest=digest, actor=actor
            )
        print(summary(args.file, describe_dsn(dsn), digest, topology, report))
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        return 0

    return run_command(with_connection(dsn, store))


# Naming every position of a national topology would drown the summary.
_MAX_NAMED = 8


def _ids(kind: tuple[str, str], ids: tuple[str, ...]) -> str:
    named = ", ".join(ids[:_MAX_NAMED])
    if len(ids) > _MAX_NAMED:
        named += f" and {len(ids) - _MAX_NAMED} more"
    return f"{len(ids)} {kind[0] if len(ids) == 1 else kind[1]} ({named})"


def summary(name: str, database: str, digest: str, topology: Topology, report: ImportReport) -> str:
    """What the import did, in a few lines."""
    vctas = len(topology.virtual_ctas)
    contents = (
        f"  {report.centres} centres, {report.positions} positions, "
        f"{vctas} virtual CTA{'s' if vctas != 1 else ''}."
    )
    if report.unchanged:
        return "\n".join(
            [
                f"{name}: already imported into {database} (same file, sha256 {digest[:12]}): "
                "nothing changed.",
                contents,
            ]
        )
    lines = [f"{name}: imported into {database} (sha256 {digest[:12]}).", contents]
    added = [
        _ids(kind, ids)
        for kind, ids in (
            (("centre", "centres"), report.added_centres),
            (("position", "positions"), report.added_positions),
            (("virtual CTA", "virtual CTAs"), report.added_virtual_ctas),
        )
        if ids
    ]
    removed = [
        _ids(kind, ids)
        for kind, ids in (
            (("centre", "centres"), report.removed_centres),
            (("position", "positions"), report.removed_positions),
            (("virtual CTA", "virtual CTAs"), report.removed_virtual_ctas),
        )
        if ids
    ]
    if added:
        lines.append(f"  added: {'; '.join(added)}.")
    if removed:
        lines.append(f"  removed: {'; '.join(removed)}.")
    if not added and not removed:
        lines.append("  same centres, positions and virtual CTAs as before.")
    if report.changes:
        lines.append(f"  changed: {'; '.join(report.changes)}.")
    lines.append(
        f"  modes: kept for {report.modes_kept} centre{'s' if report.modes_kept != 1 else ''}, "
        f"taken from the file for {report.modes_created}; "
        f"{report.pauses_kept} pause{'s' if report.pauses_kept != 1 else ''} and "
        f"{report.activations_kept} virtual CTA switch"
        f"{'es' if report.activations_kept != 1 else ''} kept."
    )
    if report.removed_modes:
        gone = _ids(("removed centre", "removed centres"), report.removed_modes)
        lines.append(f"  audited: modes of {gone} dropped.")
    lines.extend(f"  audited: {sentence}." for sentence in report.dropped)
    lines.append(
        "  every running 'ari-app run' takes it within a second; calls in progress are kept."
    )
    return "\n".join(lines)
