"""Versioned schema migrations: which exist, which a database has, and applying the missing ones.

Migrations are the ``NNNN_name.sql`` files of ``ari_app.store.migrations``, applied in
version order, each in its own transaction together with its row in ``schema_migrations``.
An advisory lock serialises concurrent upgrades of one database. A database that carries a
version this code does not know, or a migration whose text differs from ours, is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

import psycopg
from psycopg import errors as pg_errors

from ari_app.store.db import Connection, first_line
from ari_app.store.errors import MigrationLocked, SchemaError

MIGRATIONS_PACKAGE = "ari_app.store.migrations"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

# An arbitrary constant: the advisory lock key of "migrating this database".
# (The lock is per database, so two databases on one server do not contend.)
ADVISORY_LOCK_KEY = 0x41524941_5050_0001  # "ARIAPP", 1


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step, as shipped with this code."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """One schema step, as recorded in a database."""

    version: int
    name: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database's schema stands against the migrations this code knows."""

    applied: tuple[AppliedMigration, ...]
    known: tuple[Migration, ...]

    @property
    def current(self) -> int:
        """Highest applied version; 0 for an empty database."""
        return max((m.version for m in self.applied), default=0)

    @property
    def latest(self) -> int:
        """Highest version this code knows."""
        return max((m.version for m in self.known), default=0)

    @property
    def pending(self) -> tuple[Migration, ...]:
        done = {m.version for m in self.applied}
        return tuple(m for m in self.known if m.version not in done)

    @property
    def unknown(self) -> tuple[AppliedMigration, ...]:
        """Applied versions this code does not know: the database is newer than the code."""
        known = {m.version for m in self.known}
        return tuple(m for m in self.applied if m.version not in known)

    @property
    def altered(self) -> tuple[AppliedMigration, ...]:
        """Applied versions whose recorded checksum differs from this code's file."""
        ours = {m.version: m.checksum for m in self.known}
        return tuple(m for m in self.applied if m.version in ours and ours[m.version] != m.checksum)

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.unknown and not self.altered

    def problem(self) -> str | None:
        """A sentence saying why this schema must not be used or upgraded, or None."""
        if self.unknown:
            versions = ", ".join(str(m.version) for m in self.unknown)
            return (
                f"the database schema is at version {self.current}, newer than this ari-app "
                f"knows (up to {self.latest}; unknown: {versions}): run a newer ari-app, "
                "or point ARI_APP_DATABASE_DSN at the right database"
            )
        if self.altered:
            names = ", ".join(f"{m.version} ({m.name})" for m in self.altered)
            return (
                f"migration {names} was applied from a different text than this ari-app "
                "ships: the database was set up by another build; do not upgrade it with "
                "this one"
            )
        return None


def known_migrations() -> tuple[Migration, ...]:
    """The migrations shipped in the package, in version order (1, 2, ... without gaps)."""
    found: list[Migration] = []
    for item in resources.files(MIGRATIONS_PACKAGE).iterdir():
        if not item.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(item.name)
        if match is None:
            raise SchemaError(
                f"migration file {item.name!r} is not named NNNN_short_name.sql: rename it"
            )
        found.append(Migration(int(match[1]), match[2], item.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise SchemaError(
                f"migration versions must run 1, 2, 3 ... without gaps or repeats; "
                f"found {migration.version} where {expected} was expected"
            )
    return tuple(found)


async def schema_status(
    conn: Connection, migrations: Sequence[Migration] | None = None
) -> SchemaStatus:
    """Read which migrations the database has (none when it was never upgraded)."""
    known = tuple(migrations) if migrations is not None else known_migrations()
    exists = await (
        await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    ).fetchone()
    applied: list[AppliedMigration] = []
    if exists and exists[0]:
        rows = await (
            await conn.execute(
                "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
            )
        ).fetchall()
        applied = [AppliedMigration(int(v), str(n), str(c), a) for v, n, c, a in rows]
    if not conn.autocommit:
        await conn.rollback()  # leave no transaction open behind a read
    return SchemaStatus(tuple(applied), known)


async def upgrade(
    conn: Connection,
    migrations: Sequence[Migration] | None = None,
    *,
    lock_timeout_s: float = 60.0,
) -> list[Migration]:
    """Apply the missing migrations in order; return those applied (empty when up to date).

    ``conn`` must be in autocommit mode. Raises SchemaError when the database is newer
    than this code or a migration was altered, MigrationLocked when another upgrade holds
    the lock longer than ``lock_timeout_s``. A failing migration leaves the database at
    the previous version.
    """
    if not conn.autocommit:
        raise ValueError("upgrade() needs a connection in autocommit mode")
    known = tuple(migrations) if migrations is not None else known_migrations()
    await conn.execute(
        "SELECT set_config('lock_timeout', %s, false)", (f"{int(lock_timeout_s * 1000)}ms",)
    )
    try:
        await conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    except pg_errors.LockNotAvailable:
        raise MigrationLocked(
            f"another process has been upgrading this database for more than "
            f"{lock_timeout_s:g} s: wait for it to finish, then run 'ari-app db upgrade' again"
        ) from None
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        status = await schema_status(conn, known)
        problem = status.problem()
        if problem:
            raise SchemaError(problem)
        applied: list[Migration] = []
        for migration in status.pending:
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql.encode("utf-8"))
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum)"
                        " VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
            except psycopg.DatabaseError as error:
                raise SchemaError(
                    f"migration {migration.version} ({migration.name}) failed and was rolled "
                    f"back, the schema stays at version {migration.version - 1}: "
                    f"{first_line(error)}"
                ) from None
            applied.append(migration)
        return applied
    finally:
        # On a broken connection the session, and with it the lock, is gone anyway.
        with contextlib.suppress(psycopg.OperationalError):
            await conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
            await conn.execute("RESET lock_timeout")


async def require_current_schema(conn: Connection) -> None:
    """Raise SchemaError unless the database is exactly at this code's latest version."""
    status = await schema_status(conn)
    problem = status.problem()
    if problem:
        raise SchemaError(problem)
    if status.pending:
        raise SchemaError(
            f"the database schema is at version {status.current} but this ari-app needs "
            f"version {status.latest}: run 'ari-app db upgrade'"
        )
