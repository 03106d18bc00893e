"""The journal across database outages: nothing lost, nothing twice, order kept.

Faults: a TCP proxy between the journal and PostgreSQL that is cut (connections closed,
new ones refused) or stalled (accepts, never answers), a server really stopped and
started, and a restart of the application with a spool left behind.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ari_app.store.backoff import Backoff
from ari_app.store.db import connect
from ari_app.store.journal import PostgresJournal
from ari_app.store.migrate import upgrade
from ari_app.store.spool import Spool
from tests.pg import LocalCluster, TcpProxy
from tests.store.entries import call_entries
from tests.store.traffic import Traffic, assert_journal_complete
from tests.store.waiting import wait_until


def journal_for(dsn: str, spool: Path) -> PostgresJournal:
    """A journal with short timeouts and retries, so outages play out in test time."""
    return PostgresJournal(
        dsn,
        spool,
        batch_size=25,
        max_latency_s=0.01,
        write_timeout_s=1.0,
        connect_timeout_s=1.0,
        stop_timeout_s=5.0,
        backoff=Backoff(0.05, 0.3),
    )


async def test_every_call_is_journaled_once_and_in_order_across_a_cut(
    pg_dsn: str, tcp_proxy: TcpProxy, tmp_path: Path
) -> None:
    journal = journal_for(tcp_proxy.dsn(pg_dsn), tmp_path / "journal.spool")
    await journal.start()
    traffic = Traffic(journal)
    producer = asyncio.create_task(traffic.run(), name="traffic")

    await wait_until(lambda: journal.stats().written >= 200, "traffic reaches the database")
    tcp_proxy.cut()
    await wait_until(lambda: not journal.stats().database_up, "the journal notices the cut")
    spooled_at_cut = journal.stats().spooled
    await wait_until(
        lambda: journal.stats().spooled >= spooled_at_cut + 200, "traffic goes to the spool"
    )
    tcp_proxy.restore()
    await wait_until(lambda: journal.stats().replays == 1, "the spool is replayed")
    written_after_replay = journal.stats().written
    await wait_until(
        lambda: journal.stats().written >= written_after_replay + 100, "direct writes resume"
    )
    traffic.finish()
    await producer
    await wait_until(lambda: journal.stats().pending == 0, "everything is written")
    await journal.stop()

    stats = journal.stats()
    assert stats.spool_depth == 0
    assert not (tmp_path / "journal.spool").read_text()
    assert stats.written == len(traffic.recorded)
    assert_journal_complete(pg_dsn, traffic.recorded)


async def test_journal_is_not_held_up_by_a_database_that_stops_answering(
    pg_dsn: str, tcp_proxy: TcpProxy, tmp_path: Path
) -> None:
    journal = journal_for(tcp_proxy.dsn(pg_dsn), tmp_path / "journal.spool")
    await journal.start()
    traffic = Traffic(journal)
    producer = asyncio.create_task(traffic.run(), name="traffic")

    await wait_until(lambda: journal.stats().written >= 100, "traffic reaches the database")
    tcp_proxy.stall()
    # The write in progress gets no answer: after its timeout the journal spools, and
    # keeps up with the traffic while the reconnection probes wait for answers in vain.
    await wait_until(lambda: journal.stats().spooled >= 200, "traffic goes to the spool")
    await wait_until(lambda: journal.stats().pending < 50, "the spool keeps up with traffic")
    spooled = journal.stats().spooled
    await wait_until(lambda: journal.stats().spooled >= spooled + 200, "spooling goes on")
    tcp_proxy.restore()
    await wait_until(lambda: journal.stats().replays == 1, "the spool is replayed")
    traffic.finish()
    await producer
    await wait_until(lambda: journal.stats().pending == 0, "everything is written")
    await journal.stop()

    assert_journal_complete(pg_dsn, traffic.recorded)


async def test_spool_left_by_a_previous_run_is_replayed_at_start(
    pg_dsn: str, tcp_proxy: TcpProxy, tmp_path: Path
) -> None:
    spool = tmp_path / "journal.spool"
    tcp_proxy.cut()  # the first run never reaches the database
    first_run = journal_for(tcp_proxy.dsn(pg_dsn), spool)
    await first_run.start()
    entries = [e for n in range(20) for e in call_entries(f"c{n}", start=1.8e9 + n)]
    for entry in entries[:60]:
        first_run.record(entry)
    await wait_until(lambda: first_run.stats().spooled == 60, "the first entries are spooled")
    for entry in entries[60:]:
        first_run.record(entry)
    await first_run.stop()  # whatever was still in memory is spooled too
    assert Spool(spool).count() == len(entries)

    tcp_proxy.restore()
    second_run = journal_for(tcp_proxy.dsn(pg_dsn), spool)
    await second_run.start()
    await wait_until(lambda: second_run.stats().replays == 1, "the old spool is replayed")
    later = call_entries("after-restart")
    for entry in later:
        second_run.record(entry)
    await second_run.stop()

    assert Spool(spool).count() == 0
    assert_journal_complete(pg_dsn, entries + later)


async def test_corrupt_spool_line_is_kept_aside_and_the_rest_replayed(
    pg_dsn: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path / "journal.spool")
    first, second = call_entries("c1"), call_entries("c2")
    spool.append(first)
    with spool.path.open("a") as file:
        file.write('{"v": 1, "call_id": "c1", "at": "yesterday"\n')
    spool.append(second)

    journal = journal_for(pg_dsn, spool.path)
    await journal.start()
    await wait_until(lambda: journal.stats().replays == 1, "the spool is replayed")
    third = call_entries("c3")
    for entry in third:
        journal.record(entry)
    await journal.stop()

    assert_journal_complete(pg_dsn, first + second + third)
    assert spool.corrupt_path.read_text() == '{"v": 1, "call_id": "c1", "at": "yesterday"\n'
    assert any(
        getattr(r, "line", None) == len(first) + 1 and r.levelname == "ERROR"
        for r in caplog.records
    )


async def test_stop_spools_what_an_unanswering_database_cannot_take_in_time(
    pg_dsn: str, tcp_proxy: TcpProxy, tmp_path: Path
) -> None:
    spool = tmp_path / "journal.spool"
    journal = PostgresJournal(
        tcp_proxy.dsn(pg_dsn), spool, write_timeout_s=30.0, connect_timeout_s=30.0
    )
    await journal.start()
    await wait_until(lambda: journal.stats().database_up, "the journal is connected")
    tcp_proxy.stall()
    entries = call_entries("c1")
    for entry in entries:
        journal.record(entry)
    await wait_until(lambda: journal.stats().pending == len(entries), "a write is under way")

    loop = asyncio.get_running_loop()
    began = loop.time()
    await journal.stop(timeout_s=0.5)
    assert loop.time() - began < 3.0
    assert Spool(spool).count() == len(entries)

    tcp_proxy.restore()
    async with PostgresJournal(pg_dsn, spool) as again:
        await wait_until(lambda: again.stats().replays == 1, "the spool is replayed")
    assert_journal_complete(pg_dsn, entries)


async def test_every_call_is_journaled_across_a_real_server_stop_and_start(
    local_cluster: LocalCluster, tmp_path: Path
) -> None:
    dsn = local_cluster.dsn("postgres")
    async with await connect(dsn, autocommit=True) as conn:
        await upgrade(conn)
    journal = journal_for(dsn, tmp_path / "journal.spool")
    await journal.start()
    traffic = Traffic(journal)
    producer = asyncio.create_task(traffic.run(), name="traffic")

    await wait_until(lambda: journal.stats().written >= 100, "traffic reaches the database")
    await asyncio.to_thread(local_cluster.stop, "immediate")
    await wait_until(lambda: journal.stats().spooled >= 100, "traffic goes to the spool")
    await asyncio.to_thread(local_cluster.start)
    await wait_until(lambda: journal.stats().replays == 1, "the spool is replayed", 30)
    traffic.finish()
    await producer
    await wait_until(lambda: journal.stats().pending == 0, "everything is written")
    await journal.stop()

    assert_journal_complete(dsn, traffic.recorded)
