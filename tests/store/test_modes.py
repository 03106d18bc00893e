"""Centre modes and position pauses: persisted, audited in the same transaction."""

from __future__ import annotations

import asyncio
import dataclasses

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from ari_app.store.errors import StoreError, UnknownCentre, UnknownPosition, UnknownUnit
from ari_app.store.modes import CentreModesRow, ModeStore, insert_default_modes
from tests.store.topology import insert_small_topology

QUIET = CentreModesRow("sdis77", outgoing_mutual_aid=False, incoming_mutual_aid=True)


@pytest.fixture
async def modes(pg_pool: AsyncConnectionPool) -> ModeStore:
    await insert_small_topology(pg_pool)
    return ModeStore(pg_pool)


async def test_first_change_is_stored_and_audited_in_full(modes: ModeStore) -> None:
    wanted = dataclasses.replace(QUIET, outgoing_mutual_aid=True)
    change = await modes.apply(wanted, actor="officer77", reason="surge in the north")

    assert change is not None
    assert change.actor == "officer77"
    assert change.unit_id == "sdis77"
    assert change.reason == "surge in the north"
    assert change.before is None  # ran on the topology's defaults until now
    assert change.after == {
        "outgoing_mutual_aid": True,
        "incoming_mutual_aid": True,
        "diverted_to": None,
        "crisis_message": None,
    }
    stored = await modes.load()
    assert stored.centres["sdis77"] == wanted
    assert await modes.recent_changes() == [change]


async def test_later_change_audits_only_what_changed(modes: ModeStore) -> None:
    await modes.apply(QUIET, actor="officer77", reason="start of shift")
    diverted = dataclasses.replace(QUIET, diverted_to="nuit", crisis_message="sound:storm")
    change = await modes.apply(diverted, actor="officer77", reason="evacuation")

    assert change is not None
    assert change.what == "diverted_to, crisis_message"
    assert change.before == {"diverted_to": None, "crisis_message": None}
    assert change.after == {"diverted_to": "nuit", "crisis_message": "sound:storm"}
    assert (await modes.load()).centres["sdis77"] == diverted


async def test_change_that_changes_nothing_leaves_no_audit_row(modes: ModeStore) -> None:
    await modes.apply(QUIET, actor="officer77", reason=None)
    assert await modes.apply(QUIET, actor="someone else", reason="again") is None
    assert len(await modes.recent_changes()) == 1


async def test_change_is_not_kept_when_its_audit_row_cannot_be_written(
    pg_fresh_dsn: str,
) -> None:
    async with AsyncConnectionPool(pg_fresh_dsn, min_size=1, open=False) as pool:
        await insert_small_topology(pool)
        modes = ModeStore(pool)
        await modes.apply(QUIET, actor="officer77", reason=None)
        async with pool.connection() as conn:
            await conn.execute(
                "ALTER TABLE mode_changes ADD CONSTRAINT no_mischief CHECK (reason <> 'mischief')"
            )
        with pytest.raises(psycopg.errors.CheckViolation):
            await modes.apply(
                dataclasses.replace(QUIET, outgoing_mutual_aid=True), actor="x", reason="mischief"
            )
        assert (await modes.load()).centres["sdis77"] == QUIET


async def test_modes_and_pauses_come_back_after_a_restart(modes: ModeStore, pg_dsn: str) -> None:
    await modes.apply(
        dataclasses.replace(QUIET, diverted_to="sdis91"), actor="officer77", reason="works"
    )
    await modes.set_paused("sdis77-op2", True, actor="officer77", reason="break")

    async with AsyncConnectionPool(pg_dsn, min_size=1, open=False) as fresh_pool:
        reloaded = await ModeStore(fresh_pool).load()
    assert reloaded.centres["sdis77"].diverted_to == "sdis91"
    assert list(reloaded.paused) == ["sdis77-op2"]
    pause = reloaded.paused["sdis77-op2"]
    assert (pause.centre_id, pause.paused_by, pause.reason) == ("sdis77", "officer77", "break")


async def test_pause_and_resume_are_audited(modes: ModeStore) -> None:
    paused = await modes.set_paused("sdis91-op1", True, actor="officer91", reason="  ")
    assert "sdis91-op1" in (await modes.load()).paused
    assert await modes.set_paused("sdis91-op1", True, actor="officer91", reason=None) is None
    resumed = await modes.set_paused("sdis91-op1", False, actor="officer91", reason="back")
    assert (await modes.load()).paused == {}

    assert paused is not None
    assert resumed is not None
    assert (paused.what, paused.before, paused.after) == (
        "paused",
        {"paused": False},
        {"paused": True},
    )
    assert paused.reason is None  # a blank reason is no reason
    assert (resumed.before, resumed.after) == ({"paused": True}, {"paused": False})
    assert resumed.unit_id == "sdis91"
    assert await modes.recent_changes() == [resumed, paused]


async def test_recent_changes_of_one_centre(modes: ModeStore) -> None:
    await modes.apply(QUIET, actor="officer77", reason=None)
    await modes.set_paused("sdis91-op1", True, actor="officer91", reason=None)
    of_91 = await modes.recent_changes(unit_id="sdis91")
    assert [c.position_id for c in of_91] == ["sdis91-op1"]
    assert len(await modes.recent_changes(limit=1)) == 1


async def test_concurrent_changes_each_audit_what_they_really_replaced(modes: ModeStore) -> None:
    await modes.apply(QUIET, actor="start", reason=None)
    versions = [
        dataclasses.replace(QUIET, outgoing_mutual_aid=bool(i % 2), crisis_message=f"msg{i}")
        for i in range(6)
    ]
    await asyncio.gather(*(modes.apply(v, actor=f"officer{i}", reason=None) for i, v in
                           enumerate(versions)))  # fmt: skip
    changes = list(reversed(await modes.recent_changes()))
    state = QUIET.values()
    for change in changes[1:]:
        assert change.before == {name: state[name] for name in change.after}
        state.update(change.after)
    assert state == (await modes.load()).centres["sdis77"].values()


async def test_diversion_to_a_unit_that_does_not_exist_is_refused(modes: ModeStore) -> None:
    with pytest.raises(UnknownUnit, match="cannot be diverted to sdis99: no centre or virtual"):
        await modes.apply(dataclasses.replace(QUIET, diverted_to="sdis99"), actor="a", reason=None)
    with pytest.raises(StoreError, match="cannot be diverted to itself"):
        await modes.apply(dataclasses.replace(QUIET, diverted_to="sdis77"), actor="a", reason=None)
    assert await modes.recent_changes() == []


async def test_change_of_an_unknown_centre_names_the_known_ones(modes: ModeStore) -> None:
    with pytest.raises(
        UnknownCentre, match=r"unknown centre sdis13 .* has: sdis45, sdis77, sdis91"
    ):
        await modes.apply(dataclasses.replace(QUIET, centre_id="sdis13"), actor="a", reason=None)
    with pytest.raises(UnknownPosition, match="unknown position sdis13-op1"):
        await modes.set_paused("sdis13-op1", True, actor="a", reason=None)


async def test_default_modes_fill_in_without_overwriting_or_auditing(
    modes: ModeStore, pg_pool: AsyncConnectionPool
) -> None:
    await modes.apply(dataclasses.replace(QUIET, outgoing_mutual_aid=True), actor="o", reason=None)
    defaults = [
        CentreModesRow(centre, outgoing_mutual_aid=False, incoming_mutual_aid=True)
        for centre in ("sdis77", "sdis91", "sdis45")
    ]
    async with pg_pool.connection() as conn:
        assert await insert_default_modes(conn, defaults, actor="topology import") == 2
    stored = (await modes.load()).centres
    assert stored["sdis77"].outgoing_mutual_aid is True
    assert stored["sdis91"] == defaults[1]
    assert len(await modes.recent_changes()) == 1


async def test_virtual_cta_activation_is_stored_and_audited(modes: ModeStore) -> None:
    assert (await modes.load()).active_vctas == {"nuit": False}  # as the topology starts it
    change = await modes.set_vcta_active("nuit", True, actor="cogic", reason="night shift")
    assert await modes.set_vcta_active("nuit", True, actor="cogic", reason=None) is None

    assert change is not None
    assert (change.unit_id, change.what, change.before, change.after) == (
        "nuit",
        "active",
        {"active": False},
        {"active": True},
    )
    assert (await modes.load()).active_vctas == {"nuit": True}
    assert await modes.recent_changes(unit_id="nuit") == [change]
    with pytest.raises(UnknownUnit, match="unknown virtual CTA jour"):
        await modes.set_vcta_active("jour", True, actor="cogic", reason=None)
