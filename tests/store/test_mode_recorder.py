"""The store-backed mode recorder under live conditions: outages, no answer, restarts."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from ari_app.calls.modes import ModeRecorder
from ari_app.store.backoff import Backoff
from ari_app.store.db import connect
from ari_app.store.mode_load import load_modes
from ari_app.store.mode_recorder import StoreModeRecorder
from ari_app.store.mode_writes import ModeSpool, mode_change_write
from ari_app.store.modes import CentreModesRow, ModeStore
from ari_app.vcta import (
    SetCrisisMessage,
    SetDiversion,
    SetIncomingMutualAid,
    SetOutgoingMutualAid,
    SetPositionPaused,
    SetVctaActive,
    load_topology,
)
from tests.pg import TcpProxy
from tests.store.officer import DutyOfficer
from tests.store.topologies import EXAMPLES, import_file
from tests.store.waiting import wait_until

TOPOLOGY = load_topology(EXAMPLES / "sdis77.toml")
START = 1_800_000_000.0


@pytest.fixture
async def imported(pg_dsn: str) -> str:
    async with await connect(pg_dsn, autocommit=True) as conn:
        await import_file(conn, EXAMPLES / "sdis77.toml")
    return pg_dsn


@pytest.fixture
def officer() -> DutyOfficer:
    return DutyOfficer(TOPOLOGY, start=START)


class Recorders:
    """Makes recorders that retry quickly and name their changes c1, c2, ... (one count for
    all); those it made are stopped after the test, whatever happens. ``spool`` is the spool
    file they share."""

    def __init__(self, directory: Path) -> None:
        self.spool = directory / "modes.spool"
        self.made: list[StoreModeRecorder] = []
        self._ids = itertools.count(1)

    def make(self, dsn: str, **options: float) -> StoreModeRecorder:
        counter = self._ids
        recorder = StoreModeRecorder(
            dsn,
            self.spool,
            backoff=Backoff(0.05, 0.2),
            new_id=lambda: f"c{next(counter)}",
            **options,  # type: ignore[arg-type]
        )
        self.made.append(recorder)
        return recorder


@pytest.fixture
async def recorders(tmp_path: Path) -> AsyncIterator[Recorders]:
    made = Recorders(tmp_path)
    yield made
    for recorder in made.made:
        await recorder.stop(timeout_s=1.0)


async def audited(pool: AsyncConnectionPool) -> list[tuple[object, ...]]:
    async with pool.connection() as conn:
        return await (
            await conn.execute(
                "SELECT change_id, actor, unit_id, position_id, what, reason, at"
                " FROM mode_changes ORDER BY id"
            )
        ).fetchall()


def change_ids(rows: list[tuple[object, ...]]) -> list[object]:
    return [row[0] for row in rows]


async def test_each_change_is_written_in_order_with_its_audit(
    imported: str,
    pg_pool: AsyncConnectionPool,
    officer: DutyOfficer,
    recorders: Recorders,
) -> None:
    recorder = recorders.make(imported)
    await recorder.start()
    handed: ModeRecorder = recorder  # what CallService is given
    handed.record(officer.change(SetDiversion("sdis45", "sdis77"), reason="evacuation"))
    handed.record(officer.change(SetCrisisMessage("sdis45", "sound:crisis/flood")))
    handed.record(officer.change(SetPositionPaused("sdis91-op2", True), actor="chef91"))
    handed.record(officer.change(SetVctaActive("vcta-89-10", False), actor="cogic"))
    await wait_until(lambda: recorder.stats().written == 4, "four changes are written")

    rows = await audited(pg_pool)
    assert change_ids(rows) == ["c1", "c2", "c3", "c4"]
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("officer77", "sdis45", None, "diverted_to"),
        ("officer77", "sdis45", None, "crisis_message"),
        ("chef91", "sdis91", "sdis91-op2", "paused"),
        ("cogic", "vcta-89-10", None, "active"),
    ]
    assert rows[0][5] == "evacuation"
    assert rows[0][6] == datetime.fromtimestamp(START + 1, tz=UTC)  # when it was made
    assert await load_modes(pg_pool, TOPOLOGY) == officer.modes
    stats = recorder.stats()
    assert (stats.spooled, stats.pending, stats.database_up) == (0, 0, True)


async def test_changes_made_while_the_database_is_cut_are_audited_once_in_order_on_its_return(
    imported: str,
    pg_pool: AsyncConnectionPool,
    officer: DutyOfficer,
    tcp_proxy: TcpProxy,
    recorders: Recorders,
) -> None:
    spool = recorders.spool
    recorder = recorders.make(tcp_proxy.dsn(imported))
    await recorder.start()
    recorder.record(officer.change(SetOutgoingMutualAid("sdis77", False)))
    await wait_until(lambda: recorder.stats().written == 1, "the first change is written")

    tcp_proxy.cut()
    recorder.record(officer.change(SetDiversion("sdis45", "sdis91")))
    recorder.record(officer.change(SetPositionPaused("sdis77-op3", True)))
    recorder.record(officer.change(SetOutgoingMutualAid("sdis77", True)))
    await wait_until(lambda: recorder.stats().spooled == 3, "three changes are spooled")
    assert [w.change_id for w in ModeSpool(spool).read_all()] == ["c2", "c3", "c4"]
    assert change_ids(await audited(pg_pool)) == ["c1"]
    assert not recorder.stats().database_up

    tcp_proxy.restore()
    await wait_until(lambda: recorder.stats().replays == 1, "the spool is replayed")
    recorder.record(officer.change(SetPositionPaused("sdis77-op3", False)))
    await wait_until(lambda: recorder.stats().written == 5, "every change is written")

    assert change_ids(await audited(pg_pool)) == ["c1", "c2", "c3", "c4", "c5"]
    assert ModeSpool(spool).read_all() == []
    assert recorder.stats().spool_depth == 0
    assert await load_modes(pg_pool, TOPOLOGY) == officer.modes


async def test_change_the_database_does_not_answer_is_spooled_then_written_once(
    imported: str,
    pg_pool: AsyncConnectionPool,
    officer: DutyOfficer,
    tcp_proxy: TcpProxy,
    recorders: Recorders,
) -> None:
    recorder = recorders.make(
        tcp_proxy.dsn(imported),
        write_timeout_s=0.5,
        connect_timeout_s=0.5,
    )
    await recorder.start()
    recorder.record(officer.change(SetOutgoingMutualAid("sdis91", False)))
    await wait_until(lambda: recorder.stats().written == 1, "the first change is written")

    tcp_proxy.stall()
    recorder.record(officer.change(SetVctaActive("vcta-89-10", False)))
    await wait_until(lambda: recorder.stats().spooled == 1, "the unanswered change is spooled")
    tcp_proxy.restore()
    await wait_until(lambda: recorder.stats().replays == 1, "the spool is replayed")

    assert change_ids(await audited(pg_pool)) == ["c1", "c2"]
    assert await load_modes(pg_pool, TOPOLOGY) == officer.modes


async def test_restart_during_an_outage_keeps_the_change(
    imported: str,
    pg_pool: AsyncConnectionPool,
    officer: DutyOfficer,
    tcp_proxy: TcpProxy,
    recorders: Recorders,
) -> None:
    before = recorders.make(tcp_proxy.dsn(imported))
    await before.start()
    tcp_proxy.cut()
    before.record(officer.change(SetDiversion("sdis45", "sdis77"), reason="evacuation"))
    await wait_until(lambda: before.stats().spooled == 1, "the change is spooled")
    await before.stop()

    after = recorders.make(tcp_proxy.dsn(imported))
    pending = await after.pending()
    modes = await load_modes(pg_pool, TOPOLOGY, pending=pending)
    assert modes == officer.modes  # in force from the start, though not yet in the database
    await after.start()
    assert change_ids(await audited(pg_pool)) == []

    tcp_proxy.restore()
    await wait_until(lambda: after.stats().replays == 1, "the previous run's spool is replayed")
    [row] = await audited(pg_pool)
    assert (row[1], row[2], row[5]) == ("officer77", "sdis45", "evacuation")
    assert await load_modes(pg_pool, TOPOLOGY) == officer.modes


async def test_replay_after_a_crash_midway_applies_nothing_twice_and_undoes_nothing(
    imported: str,
    pg_pool: AsyncConnectionPool,
    officer: DutyOfficer,
    recorders: Recorders,
) -> None:
    off = mode_change_write(officer.change(SetOutgoingMutualAid("sdis77", False)), "a")
    on = mode_change_write(officer.change(SetOutgoingMutualAid("sdis77", True)), "b")
    pause = mode_change_write(officer.change(SetPositionPaused("sdis77-op1", True)), "c")
    spool = recorders.spool
    ModeSpool(spool).append([off, on, pause])
    # Someone had switched it off already; then the crash: the first two were written (the
    # first changing nothing, so audited by no row), the spool not yet emptied.
    store = ModeStore(pg_pool)
    await store.apply(CentreModesRow("sdis77", False, True), actor="o", reason=None)
    assert (
        await store.apply(
            CentreModesRow("sdis77", False, True), actor="o", reason=None, change_id="a"
        )
        is None
    )
    await store.apply(CentreModesRow("sdis77", True, True), actor="o", reason=None, change_id="b")

    recorder = recorders.make(imported)
    await recorder.start()
    await wait_until(lambda: recorder.stats().replays == 1, "the spool is replayed")

    assert change_ids(await audited(pg_pool)) == [None, "b", "c"]
    stats = recorder.stats()
    assert (stats.written, stats.unchanged) == (1, 2)
    assert await load_modes(pg_pool, TOPOLOGY) == officer.modes


async def test_change_the_database_refuses_is_set_aside_and_the_next_ones_go_on(
    imported: str,
    pg_pool: AsyncConnectionPool,
    recorders: Recorders,
) -> None:
    # An officer on a larger topology than the imported one: sdis01 is unknown to the store.
    national = DutyOfficer(load_topology(EXAMPLES / "national.toml"), start=START)
    spool = recorders.spool
    recorder = recorders.make(imported)
    await recorder.start()
    recorder.record(national.change(SetPositionPaused("sdis01-op1", True)))
    recorder.record(national.change(SetPositionPaused("sdis77-op1", True)))
    await wait_until(lambda: recorder.stats().written == 1, "the valid change is written")

    assert recorder.stats().rejected == 1
    assert change_ids(await audited(pg_pool)) == ["c2"]
    rejected = ModeSpool(spool.with_name("modes.spool.rejected")).read_all()
    assert [w.change_id for w in rejected] == ["c1"]


async def test_stop_with_the_database_unanswering_is_bounded_and_keeps_every_change(
    imported: str,
    officer: DutyOfficer,
    tcp_proxy: TcpProxy,
    recorders: Recorders,
) -> None:
    spool = recorders.spool
    tcp_proxy.stall()
    recorder = recorders.make(tcp_proxy.dsn(imported), connect_timeout_s=30.0)
    await recorder.start()
    recorder.record(officer.change(SetOutgoingMutualAid("sdis77", False)))
    recorder.record(officer.change(SetIncomingMutualAid("sdis91", False)))

    began = time.monotonic()
    await recorder.stop(timeout_s=0.3)
    assert time.monotonic() - began < 2.0
    recorder.record(officer.change(SetOutgoingMutualAid("sdis77", True)))  # after stop

    assert [w.change_id for w in ModeSpool(spool).read_all()] == ["c1", "c2", "c3"]
    assert recorder.stats().spool_depth == 3


async def test_change_whose_write_fails_unexpectedly_is_set_aside_not_retried_forever(
    imported: str,
    pg_pool: AsyncConnectionPool,
    officer: DutyOfficer,
    recorders: Recorders,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ModeStore, "apply", broken)
    recorder = recorders.make(imported)
    await recorder.start()
    recorder.record(officer.change(SetOutgoingMutualAid("sdis77", False)))
    recorder.record(officer.change(SetPositionPaused("sdis77-op1", True)))
    await wait_until(lambda: recorder.stats().written == 1, "the next change is written")

    assert recorder.stats().rejected == 1
    assert change_ids(await audited(pg_pool)) == ["c2"]
    rejected = ModeSpool(recorders.spool.with_name("modes.spool.rejected")).read_all()
    assert [w.change_id for w in rejected] == ["c1"]
