"""Schema migrations against a real PostgreSQL: fresh, repeated, refused, locked."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from ari_app.store.db import connect
from ari_app.store.errors import MigrationLocked, SchemaError
from ari_app.store.migrate import (
    ADVISORY_LOCK_KEY,
    Migration,
    known_migrations,
    require_current_schema,
    schema_status,
    upgrade,
)

EXPECTED_TABLES = {
    "units",
    "centres",
    "virtual_ctas",
    "virtual_cta_members",
    "positions",
    "routing_keys",
    "neighbours",
    "topology",
    "centre_modes",
    "vcta_modes",
    "position_pauses",
    "mode_changes",
    "applied_mode_changes",
    "api_tokens",
    "calls",
    "journal_entries",
    "callbacks",
    "schema_migrations",
}


async def tables(dsn: str) -> set[str]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        rows = await (
            await conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        ).fetchall()
    return {r[0] for r in rows}


async def test_upgrade_of_an_empty_database_applies_every_migration(pg_empty_dsn: str) -> None:
    async with await connect(pg_empty_dsn, autocommit=True) as conn:
        before = await schema_status(conn)
        assert before.current == 0
        assert [m.version for m in before.pending] == [m.version for m in known_migrations()]

        applied = await upgrade(conn)

        after = await schema_status(conn)
    assert [m.version for m in applied] == [m.version for m in known_migrations()]
    assert after.up_to_date
    assert after.current == after.latest
    assert await tables(pg_empty_dsn) >= EXPECTED_TABLES


async def test_second_upgrade_changes_nothing(pg_empty_dsn: str) -> None:
    async with await connect(pg_empty_dsn, autocommit=True) as conn:
        await upgrade(conn)
        first = await schema_status(conn)
        assert await upgrade(conn) == []
        second = await schema_status(conn)
    assert second.applied == first.applied


async def test_upgrade_refuses_a_schema_newer_than_the_code(pg_empty_dsn: str) -> None:
    async with await connect(pg_empty_dsn, autocommit=True) as conn:
        await upgrade(conn)
        newer = len(known_migrations()) + 1
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, 'future', 'x')",
            (newer,),
        )
        with pytest.raises(SchemaError, match=f"at version {newer}, newer than this ari-app"):
            await upgrade(conn)
        with pytest.raises(SchemaError, match="newer than this ari-app"):
            await require_current_schema(conn)


async def test_newer_schema_is_refused_before_anything_is_applied(pg_empty_dsn: str) -> None:
    async with await connect(pg_empty_dsn, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'future', 'x')"
        )
        with pytest.raises(SchemaError, match="newer"):
            await upgrade(conn)
    assert "units" not in await tables(pg_empty_dsn)


async def test_upgrade_refuses_a_migration_applied_from_another_text(pg_empty_dsn: str) -> None:
    async with await connect(pg_empty_dsn, autocommit=True) as conn:
        await upgrade(conn)
        await conn.execute("UPDATE schema_migrations SET checksum = 'other' WHERE version = 1")
        with pytest.raises(SchemaError, match=r"migration 1 \(initial\) was applied from a"):
            await upgrade(conn)


async def test_failed_migration_is_rolled_back_and_the_version_kept(pg_empty_dsn: str) -> None:
    first = Migration(1, "first", "CREATE TABLE first_table (a integer);")
    broken = Migration(2, "broken", "CREATE TABLE half_done (a integer); SELECT 1 / 0;")
    async with await connect(pg_empty_dsn, autocommit=True) as conn:
        with pytest.raises(SchemaError, match=r"migration 2 \(broken\) failed.*at version 1"):
            await upgrade(conn, [first, broken])
        status = await schema_status(conn, [first, broken])
    assert status.current == 1
    present = await tables(pg_empty_dsn)
    assert "first_table" in present
    assert "half_done" not in present


async def test_two_upgrades_at_once_apply_each_migration_once(pg_empty_dsn: str) -> None:
    # The migration takes a while, so the second upgrade arrives while the first runs;
    # without the lock it would try the same migration again and fail on the table.
    slow = [Migration(1, "slow", "CREATE TABLE slow (a integer); SELECT pg_sleep(0.3);")]
    async with (
        await connect(pg_empty_dsn, autocommit=True) as one,
        await connect(pg_empty_dsn, autocommit=True) as two,
    ):
        results = await asyncio.gather(upgrade(one, slow), upgrade(two, slow))
        status = await schema_status(one, slow)
    assert sorted(len(r) for r in results) == [0, 1]
    assert [m.version for m in status.applied] == [1]


async def test_upgrade_gives_up_clearly_while_another_holds_the_lock(pg_empty_dsn: str) -> None:
    async with (
        await connect(pg_empty_dsn, autocommit=True) as holder,
        await connect(pg_empty_dsn, autocommit=True) as conn,
    ):
        await holder.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        with pytest.raises(MigrationLocked, match="another process has been upgrading"):
            await upgrade(conn, lock_timeout_s=0.2)
        await holder.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
        assert len(await upgrade(conn)) == len(known_migrations())


async def test_schema_check_names_the_command_to_run(pg_empty_dsn: str) -> None:
    async with await connect(pg_empty_dsn, autocommit=True) as conn:
        with pytest.raises(SchemaError, match="run 'ari-app db upgrade'"):
            await require_current_schema(conn)
        await upgrade(conn)
        await require_current_schema(conn)
