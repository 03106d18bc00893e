"""Modes at start: stored modes on top of the topology's, then the changes still spooled."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from psycopg_pool import AsyncConnectionPool

from ari_app.store.db import SingleConnection, connect
from ari_app.store.errors import DatabaseUnreachable, SchemaError
from ari_app.store.mode_load import load_modes
from ari_app.store.mode_writes import ModeChangeWrite, PauseWrite, mode_change_write
from ari_app.store.modes import CentreModesRow, ModeStore
from ari_app.vcta import (
    SetCrisisMessage,
    SetOutgoingMutualAid,
    SetPositionPaused,
    SetVctaActive,
    load_topology,
)
from ari_app.vcta import modes as policy
from ari_app.vcta.mode_changes import modes_problems
from tests.store.officer import DutyOfficer
from tests.store.topologies import EXAMPLES, import_file

TOPOLOGY = load_topology(EXAMPLES / "sdis77.toml")


@pytest.fixture
async def imported(pg_pool: AsyncConnectionPool) -> AsyncConnectionPool:
    async with pg_pool.connection() as conn:
        await conn.set_autocommit(True)
        await import_file(conn, EXAMPLES / "sdis77.toml")
    return pg_pool


async def test_freshly_imported_topology_starts_with_its_own_modes(
    imported: AsyncConnectionPool,
) -> None:
    assert await load_modes(imported, TOPOLOGY) == TOPOLOGY.initial_modes()


async def test_stored_modes_pauses_and_switches_are_the_modes_at_start(
    imported: AsyncConnectionPool,
) -> None:
    store = ModeStore(imported)
    await store.apply(
        CentreModesRow("sdis45", False, True, "sdis77", "sound:crisis/flood"),
        actor="o",
        reason=None,
    )
    await store.set_paused("sdis91-op3", True, actor="o", reason="break")
    await store.set_vcta_active("vcta-89-10", False, actor="cogic", reason="day")

    modes = await load_modes(imported, TOPOLOGY)

    assert modes.of("sdis45") == policy.CentreModes(False, True, "sdis77", "sound:crisis/flood")
    assert modes.of("sdis77") == policy.CentreModes()
    assert modes.paused_positions == {"sdis91-op3"}
    assert modes.active_vctas == frozenset()


async def test_centre_without_a_stored_row_keeps_the_topology_default(
    imported: AsyncConnectionPool,
) -> None:
    async with imported.connection() as conn:
        await conn.execute("DELETE FROM centre_modes WHERE centre_id = 'sdis91'")
    diverted = dataclasses.replace(
        TOPOLOGY,
        centres=tuple(
            dataclasses.replace(c, modes=policy.CentreModes(diverted_to="sdis77"))
            if c.id == "sdis91"
            else c
            for c in TOPOLOGY.centres
        ),
    )
    modes = await load_modes(imported, diverted)
    assert modes.of("sdis91").diverted_to == "sdis77"  # the topology's, no row says otherwise
    assert modes.of("sdis45").diverted_to is None  # the row says so


async def test_ids_the_topology_in_use_does_not_have_are_ignored_with_a_warning(
    imported: AsyncConnectionPool, caplog: pytest.LogCaptureFixture
) -> None:
    store = ModeStore(imported)
    await store.apply(CentreModesRow("sdis60", False, False), actor="o", reason=None)
    await store.set_paused("sdis60-op1", True, actor="o", reason=None)
    without_60 = dataclasses.replace(
        TOPOLOGY,
        centres=tuple(c for c in TOPOLOGY.centres if c.id != "sdis60"),
    )
    with caplog.at_level(logging.WARNING):
        modes = await load_modes(imported, without_60)
    assert "sdis60" not in modes.centres
    assert modes.paused_positions == frozenset()
    ignored = {(r.__dict__["what"], r.__dict__["id"]) for r in caplog.records}
    assert ignored == {("centre modes", "sdis60"), ("pause", "sdis60-op1")}


async def test_stored_diversion_loop_is_broken_and_reported_never_used(
    imported: AsyncConnectionPool, caplog: pytest.LogCaptureFixture
) -> None:
    async with imported.connection() as conn:  # by hand: the store itself never allows it
        await conn.execute(
            "UPDATE centre_modes SET diverted_to = 'sdis91' WHERE centre_id = 'sdis77'"
        )
        await conn.execute(
            "UPDATE centre_modes SET diverted_to = 'sdis77' WHERE centre_id = 'sdis91'"
        )
    with caplog.at_level(logging.WARNING):
        modes = await load_modes(imported, TOPOLOGY)
    assert modes_problems(TOPOLOGY, modes) == []
    assert modes.of("sdis77").diverted_to == "sdis91"
    assert modes.of("sdis91").diverted_to is None
    assert "would make a loop" in caplog.records[-1].__dict__["reason"]


async def test_spooled_changes_apply_on_top_unless_already_applied(
    imported: AsyncConnectionPool,
) -> None:
    officer = DutyOfficer(TOPOLOGY, start=1_800_000_000.0)
    applied = mode_change_write(officer.change(SetOutgoingMutualAid("sdis77", False)), "applied")
    pending = [
        mode_change_write(officer.change(SetCrisisMessage("sdis91", "sound:crisis/fire")), "p1"),
        mode_change_write(officer.change(SetPositionPaused("sdis45-op2", True)), "p2"),
        mode_change_write(officer.change(SetVctaActive("vcta-89-10", False)), "p3"),
    ]
    store = ModeStore(imported)
    await store.apply(
        CentreModesRow("sdis77", False, True), actor="o", reason=None, change_id="applied"
    )
    # A later change, made after the spooled one was applied: replaying it must not undo it.
    await store.apply(CentreModesRow("sdis77", True, False), actor="o", reason=None)

    modes = await load_modes(imported, TOPOLOGY, pending=[applied, *pending])

    assert modes.of("sdis77") == policy.CentreModes(True, False)
    assert modes.of("sdis91").crisis_message == "sound:crisis/fire"
    assert modes.paused_positions == {"sdis45-op2"}
    assert modes.active_vctas == frozenset()


async def test_spooled_change_the_topology_no_longer_allows_is_left_out(
    imported: AsyncConnectionPool,
) -> None:
    gone = ModeChangeWrite("x", 1.0, "o", None, PauseWrite("sdis99-op1", True))
    assert await load_modes(imported, TOPOLOGY, pending=[gone]) == TOPOLOGY.initial_modes()


async def test_unreachable_database_is_a_store_error_naming_it() -> None:
    async with AsyncConnectionPool(
        "postgresql://postgres@127.0.0.1:1/ari_app",
        min_size=0,
        max_size=1,
        open=False,
        timeout=0.5,
        kwargs={"connect_timeout": 1},
    ) as pool:
        with pytest.raises(DatabaseUnreachable, match="cannot read the modes from PostgreSQL"):
            await load_modes(pool, TOPOLOGY)


async def test_database_without_the_schema_asks_for_an_upgrade(pg_empty_dsn: str) -> None:
    conn = await connect(pg_empty_dsn, autocommit=True)
    try:
        with pytest.raises(SchemaError, match="ari-app db upgrade"):
            await load_modes(SingleConnection(conn), TOPOLOGY)
    finally:
        await conn.close()
