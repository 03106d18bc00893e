"""Topology import: the tables replaced in one transaction, read back equal, modes carried over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from ari_app.cli import main
from ari_app.store.db import Connection, SingleConnection, connect
from ari_app.store.errors import TopologyInvalid, UnknownCentre
from ari_app.store.migrate import known_migrations, upgrade
from ari_app.store.modes import CentreModesRow, ModeStore
from ari_app.store.tokens import TokenStore
from ari_app.store.topology_read import read_topology, topology_source
from ari_app.vcta import load_topology
from tests.store.topologies import EXAMPLES, HEADER, RICH, centre, import_file, vcta, write

Capture = pytest.CaptureFixture[str]


@pytest.fixture
async def conn(pg_dsn: str) -> AsyncIterator[Connection]:
    async with await connect(pg_dsn, autocommit=True) as connection:
        yield connection


async def rows(conn: Connection, query: str) -> list[tuple[object, ...]]:
    return await (await conn.execute(query)).fetchall()


async def audit(conn: Connection) -> list[tuple[object, ...]]:
    return await rows(
        conn,
        # Without the limits an import changed (topology.*): these tests are about modes.
        "SELECT actor, unit_id, position_id, what, before, after FROM mode_changes"
        " WHERE what NOT LIKE 'topology.%' ORDER BY id",
    )


def run(monkeypatch: pytest.MonkeyPatch, dsn: str, *argv: str) -> int:
    monkeypatch.setenv("ARI_APP_DATABASE_DSN", dsn)
    return main(list(argv))


# -- reading back what was imported ---------------------------------------------------------


@pytest.mark.parametrize("example", ["sdis77.toml", "national.toml"])
async def test_imported_example_reads_back_equal_to_the_file(
    conn: Connection, example: str
) -> None:
    path = EXAMPLES / example
    await import_file(conn, path)
    assert await read_topology(conn) == load_topology(path)


async def test_every_detail_of_the_format_survives_the_round_trip(
    conn: Connection, tmp_path: Path
) -> None:
    path = write(tmp_path, "rich.toml", RICH)
    await import_file(conn, path)
    stored = await read_topology(conn)
    assert stored == load_topology(path)
    assert stored is not None
    # Equality already covers these; spelled out, they say what a careless store loses.
    sdis77 = stored.centre_by_id["sdis77"]
    assert sdis77.routing_keys == ("18", "112", "18", "77")
    assert [p.id for p in sdis77.positions] == ["sdis77-op2", "sdis77-chef", "sdis77-op1"]
    assert sdis77.neighbours == (("sdis91", "sdis60"), ("sdis45",))
    assert sdis77.modes.crisis_message == "sound:crisis/flood"
    assert [v.id for v in stored.virtual_ctas] == ["vcta-sud", "vcta-nord"]


async def test_nothing_imported_reads_as_none(conn: Connection) -> None:
    assert await read_topology(conn) is None


async def test_topology_reads_the_same_through_a_pool_connection(
    conn: Connection, pg_pool: AsyncConnectionPool
) -> None:
    await import_file(conn, EXAMPLES / "sdis77.toml")
    async with pg_pool.connection() as pooled:  # not autocommit: a transaction of its own
        assert await read_topology(pooled) == load_topology(EXAMPLES / "sdis77.toml")
        async with pooled.transaction():  # inside the caller's transaction
            assert await read_topology(pooled) == load_topology(EXAMPLES / "sdis77.toml")


async def test_topology_edited_by_hand_into_nonsense_is_refused_when_read(
    conn: Connection,
) -> None:
    await import_file(conn, EXAMPLES / "sdis77.toml")
    await conn.execute("UPDATE centres SET reserve = 40 WHERE id = 'sdis45'")
    with pytest.raises(TopologyInvalid) as refused:
        await read_topology(conn)
    message = str(refused.value)
    assert "[centres.sdis45] reserve" in message
    assert "import the topology file again" in message


# -- importing ------------------------------------------------------------------------------


async def test_first_import_stores_source_digest_and_the_modes_the_file_declares(
    conn: Connection, tmp_path: Path
) -> None:
    path = write(tmp_path, "rich.toml", RICH)
    report = await import_file(conn, path)

    assert (report.unchanged, report.centres, report.positions, report.virtual_ctas) == (
        False,
        5,
        9,
        2,
    )
    assert report.modes_created == 5
    source = await topology_source(conn)
    assert source is not None
    assert source.source == str(path.resolve())
    assert len(source.digest) == 64
    modes = (await ModeStore(SingleConnection(conn)).load()).centres
    assert modes["sdis77"] == CentreModesRow("sdis77", False, True, None, "sound:crisis/flood")
    assert modes["sdis91"] == CentreModesRow("sdis91", True, False, "sdis45", None)
    assert await audit(conn) == []  # nothing a duty officer chose has changed


async def test_importing_the_same_file_again_changes_nothing(
    conn: Connection, tmp_path: Path
) -> None:
    path = write(tmp_path, "rich.toml", RICH)
    await import_file(conn, path)
    before = await topology_source(conn)
    report = await import_file(conn, path)
    assert report.unchanged
    assert await topology_source(conn) == before
    assert await read_topology(conn) == load_topology(path)


async def test_reimport_keeps_chosen_modes_and_drops_and_audits_what_no_longer_fits(
    conn: Connection, tmp_path: Path
) -> None:
    first = HEADER + "".join(
        [
            centre("a77", "a77-op1", "a77-op2"),
            centre("b91", "b91-op1", "b91-op2"),
            centre("c45", "c45-op1"),
            centre("d60", "d60-op1", "d60-op2"),
            vcta("nuit", "b91", "c45"),
        ]
    )
    second = HEADER + "".join(
        [
            centre("a77", "a77-op1", "a77-op2"),
            centre("b91", "b91-op1", "b91-op2"),
            centre("d60", "d60-op2", "d60-op3"),
            centre("e10", "e10-op1", extra="[centres.e10.modes]\noutgoing_mutual_aid = false"),
        ]
    )
    await import_file(conn, write(tmp_path, "v1.toml", first))
    store = ModeStore(SingleConnection(conn))
    await store.apply(CentreModesRow("a77", True, True, "c45"), actor="officer77", reason="works")
    await store.apply(CentreModesRow("b91", False, True), actor="officer91", reason="surge")
    for position in ("c45-op1", "d60-op1", "d60-op2"):
        await store.set_paused(position, True, actor="chef", reason="break")
    await store.set_vcta_active("nuit", True, actor="cogic", reason="night")
    await TokenStore(SingleConnection(conn)).create("c45 officer", ["centre:c45"], created_by="x")
    audited_before = len(await audit(conn))

    report = await import_file(conn, write(tmp_path, "v2.toml", second), actor="admin")

    assert report.added_centres == ("e10",)
    assert report.removed_centres == ("c45",)
    assert report.removed_positions == ("c45-op1", "d60-op1")
    assert report.added_positions == ("d60-op3", "e10-op1")
    assert report.removed_virtual_ctas == ("nuit",)
    assert (report.modes_kept, report.modes_created, report.pauses_kept) == (3, 1, 1)
    assert report.removed_modes == ("c45",)
    assert len(report.dropped) == 4
    [warning] = report.warnings
    assert "scoped to c45, which is no longer a centre" in warning

    stored = await store.load()
    assert stored.centres["a77"] == CentreModesRow("a77", True, True, None)  # target removed
    assert stored.centres["b91"] == CentreModesRow("b91", False, True)  # kept as chosen
    assert stored.centres["e10"] == CentreModesRow("e10", False, True)  # from the file
    assert set(stored.paused) == {"d60-op2"}
    assert stored.paused["d60-op2"].paused_by == "chef"
    updated_by = await rows(conn, "SELECT centre_id, updated_by FROM centre_modes ORDER BY 1")
    assert ("b91", "officer91") in updated_by  # a kept row keeps who set it

    dropped = (await audit(conn))[audited_before:]
    assert all(row[0] == "admin" for row in dropped)
    assert {(row[1], row[2], row[3]) for row in dropped} == {
        ("a77", None, "diverted_to"),
        ("c45", None, "removed"),
        ("c45", "c45-op1", "paused"),
        ("d60", "d60-op1", "paused"),
        ("nuit", None, "removed"),
    }
    diversion = next(row for row in dropped if row[3] == "diverted_to")
    assert (diversion[4], diversion[5]) == ({"diverted_to": "c45"}, {"diverted_to": None})


async def test_virtual_cta_a_duty_officer_activated_yields_to_one_the_file_starts_active(
    conn: Connection, tmp_path: Path
) -> None:
    centres = "".join(centre(c, f"{c}-op1") for c in ("a77", "b91", "c45", "d60"))
    first = HEADER + centres + vcta("n1", "a77", "b91") + vcta("n2", "c45", "d60", active=True)
    second = HEADER + centres + vcta("n1", "a77", "b91") + vcta("n2", "b91", "c45", active=True)
    await import_file(conn, write(tmp_path, "v1.toml", first))
    store = ModeStore(SingleConnection(conn))
    await store.set_vcta_active("n1", True, actor="cogic", reason="night")

    report = await import_file(conn, write(tmp_path, "v2.toml", second))

    assert report.dropped == ("virtual CTA n1 deactivated: b91 already pooled in n2",)
    assert (await store.load()).active_vctas == {"n1": False, "n2": True}
    last = (await audit(conn))[-1]
    assert (last[1], last[3], last[4], last[5]) == (
        "n1",
        "active",
        {"active": True},
        {"active": False},
    )


async def test_import_whose_kept_modes_would_loop_is_refused_and_changes_nothing(
    conn: Connection, tmp_path: Path
) -> None:
    first = HEADER + centre("a77", "a77-op1") + centre("b91", "b91-op1") + vcta("x", "a77", "b91")
    # x becomes a centre diverted to a77, while a77 stays diverted to x.
    second = (
        HEADER
        + centre("a77", "a77-op1")
        + centre("b91", "b91-op1")
        + centre("x", "x-op1", extra='[centres.x.modes]\ndiverted_to = "a77"')
    )
    v1 = write(tmp_path, "v1.toml", first)
    await import_file(conn, v1)
    await ModeStore(SingleConnection(conn)).apply(
        CentreModesRow("a77", True, True, "x"), actor="officer", reason=None
    )
    with pytest.raises(TopologyInvalid) as refused:
        await import_file(conn, write(tmp_path, "v2.toml", second))
    assert "diversions make a loop" in str(refused.value)
    assert await read_topology(conn) == load_topology(v1)


async def test_mode_change_made_during_an_import_waits_and_meets_the_new_topology(
    pg_dsn: str, conn: Connection, tmp_path: Path
) -> None:
    await import_file(
        conn,
        write(tmp_path, "v1.toml", HEADER + centre("a77", "a77-op1") + centre("b91", "b91-op1")),
    )
    v2 = write(tmp_path, "v2.toml", HEADER.replace('"b91"', '"a77"') + centre("a77", "a77-op1"))
    importer = await connect(pg_dsn)  # not autocommit: the import stays open until we commit
    watcher = await connect(pg_dsn, autocommit=True)
    try:
        async with importer.transaction():
            await import_file(importer, v2)
            change = asyncio.create_task(
                ModeStore(SingleConnection(conn)).apply(
                    CentreModesRow("b91", False, True), actor="officer91", reason="surge"
                )
            )
            waiting = "SELECT count(*) > 0 FROM pg_locks WHERE NOT granted"
            while await (await watcher.execute(waiting)).fetchone() != (True,):
                assert not change.done(), "the change did not wait for the import"
                await asyncio.sleep(0.01)  # sync-ok: polling pg_locks for the waiting change
        with pytest.raises(UnknownCentre):
            await change
    finally:
        await importer.close()
        await watcher.close()
    assert [row[0] for row in await audit(conn)] == ["admin"]  # the import's, none of officer91


# -- the command ----------------------------------------------------------------------------


def test_import_command_prints_a_summary_and_is_idempotent(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    path = str(EXAMPLES / "sdis77.toml")
    assert run(monkeypatch, pg_dsn, "topology", "import", path, "--by", "admin") == 0
    out = capsys.readouterr().out
    assert f"{path}: imported into" in out
    assert "8 centres, 40 positions, 1 virtual CTA." in out
    assert "taken from the file for 8" in out

    assert run(monkeypatch, pg_dsn, "topology", "import", path) == 0
    assert "already imported" in capsys.readouterr().out


def test_import_of_a_file_with_problems_lists_them_all_and_writes_nothing(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture, tmp_path: Path
) -> None:
    bad = HEADER.replace('backup_unit = "b91"', 'backup_unit = "nowhere"') + centre(
        "a77", "a77-op1", extra="reserve = 3"
    ).replace("reserve = 0\n", "")
    path = write(tmp_path, "bad.toml", bad)
    assert run(monkeypatch, pg_dsn, "topology", "import", str(path)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert any("[policy] backup_unit" in line for line in err)
    assert any("[centres.a77] reserve" in line for line in err)
    assert err[-1] == f"{path}: 2 problems; nothing was imported."
    with psycopg.connect(pg_dsn) as check:
        assert check.execute("SELECT count(*) FROM units").fetchone() == (0,)


def test_import_into_an_old_schema_asks_for_an_upgrade_in_one_line(
    pg_empty_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    async def upgrade_to_2() -> None:
        async with await connect(pg_empty_dsn, autocommit=True) as conn:
            await upgrade(conn, known_migrations()[:2])

    asyncio.run(upgrade_to_2())
    path = str(EXAMPLES / "sdis77.toml")
    assert run(monkeypatch, pg_empty_dsn, "topology", "import", path) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "run 'ari-app db upgrade'" in err


def test_import_with_the_database_unreachable_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    dsn = "postgresql://postgres@127.0.0.1:1/ari_app"
    assert run(monkeypatch, dsn, "topology", "import", str(EXAMPLES / "sdis77.toml")) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "cannot connect to PostgreSQL at 127.0.0.1:1/ari_app" in err


def test_import_summary_names_each_changed_limit_and_says_running_instances_take_it(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture, tmp_path: Path
) -> None:
    text = (EXAMPLES / "sdis77.toml").read_text()
    first = write(tmp_path, "v1.toml", text)
    assert run(monkeypatch, pg_dsn, "topology", "import", str(first)) == 0
    capsys.readouterr()
    raised = text.replace("max_queue = 8\n", "max_queue = 9\n", 1)
    second = write(tmp_path, "v2.toml", raised)
    assert run(monkeypatch, pg_dsn, "topology", "import", str(second)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:] == [
        "  same centres, positions and virtual CTAs as before.",
        "  changed: sdis77 max_queue 8 → 9.",
        "  modes: kept for 8 centres, taken from the file for 0; 0 pauses and 0 virtual CTA "
        "switches kept.",
        "  every running 'ari-app run' takes it within a second; calls in progress are kept.",
    ]


def test_import_that_would_strand_a_call_in_progress_is_refused_with_the_reason(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture, tmp_path: Path
) -> None:
    text = (EXAMPLES / "sdis77.toml").read_text()
    first = write(tmp_path, "v1.toml", text)
    assert run(monkeypatch, pg_dsn, "topology", "import", str(first)) == 0
    capsys.readouterr()
    with psycopg.connect(pg_dsn, autocommit=True) as db:
        db.execute("INSERT INTO calls (call_id, position) VALUES ('c1', 'sdis77-op1')")
    # sdis77-op1's phone renamed while its operator talks: it would be offered a second call.
    renamed = text.replace(
        '"PJSIP/sdis77-op1"', '{ id = "sdis77-new", endpoint = "PJSIP/sdis77-op1" }'
    )
    assert "sdis77-new" in renamed
    path = write(tmp_path, "v2.toml", renamed)
    assert run(monkeypatch, pg_dsn, "topology", "import", str(path)) == 1
    assert capsys.readouterr().err.strip() == (
        "ari-app: the topology was not imported: call c1 is on PJSIP/sdis77-op1 (position "
        "sdis77-op1), which the new topology gives to position sdis77-new: import it once that "
        "call has ended"
    )
    with psycopg.connect(pg_dsn) as check:
        assert check.execute(
            "SELECT count(*) FROM positions WHERE id = 'sdis77-new'"
        ).fetchone() == (0,)
