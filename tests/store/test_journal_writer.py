"""PostgresJournal with the database up: batching, latency, stop, counters."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from ari_app.calls.journal import JournalEntry
from ari_app.store import journal as journal_module
from ari_app.store.db import Connection
from ari_app.store.journal import PostgresJournal
from ari_app.store.journal_db import BatchResult, write_batch
from ari_app.store.spool import Spool
from tests.store.entries import call_entries
from tests.store.traffic import assert_journal_complete
from tests.store.waiting import wait_until


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch the journal writes."""
    sizes: list[int] = []

    async def counting(conn: Connection, entries: Sequence[JournalEntry]) -> BatchResult:
        sizes.append(len(entries))
        return await write_batch(conn, entries)

    monkeypatch.setattr(journal_module, "write_batch", counting)
    return sizes


def many_calls(count: int) -> list[JournalEntry]:
    return [e for n in range(count) for e in call_entries(f"c{n:04d}", start=1.8e9 + n)]


async def test_entries_recorded_in_a_burst_are_written_in_full_batches(
    pg_dsn: str, tmp_path: Path, batch_sizes: list[int]
) -> None:
    entries = many_calls(100)[:500]
    journal = PostgresJournal(pg_dsn, tmp_path / "spool", batch_size=50, max_latency_s=1.0)
    await journal.start()
    for entry in entries:
        journal.record(entry)
    await wait_until(lambda: journal.stats().written == 500, "all 500 entries are written")
    await journal.stop()

    assert batch_sizes == [50] * 10
    assert_journal_complete(pg_dsn, entries, calls_ended=False)


async def test_lone_entry_is_written_once_its_latency_bound_expires(
    pg_dsn: str, tmp_path: Path, batch_sizes: list[int]
) -> None:
    journal = PostgresJournal(pg_dsn, tmp_path / "spool", batch_size=500, max_latency_s=0.2)
    await journal.start()
    await wait_until(lambda: journal.stats().database_up, "the journal is connected")
    [entry] = call_entries("c1")[:1]
    recorded_at = time.monotonic()
    journal.record(entry)
    await wait_until(lambda: journal.stats().written == 1, "the entry is written", 5)
    waited = time.monotonic() - recorded_at
    await journal.stop()

    assert batch_sizes == [1]
    assert 0.15 <= waited < 2.0


async def test_record_returns_at_once_even_before_the_journal_starts(
    pg_dsn: str, tmp_path: Path
) -> None:
    journal = PostgresJournal(pg_dsn, tmp_path / "spool")
    entries = many_calls(100)
    began = time.perf_counter()
    for entry in entries:
        journal.record(entry)
    per_entry = (time.perf_counter() - began) / len(entries)
    assert per_entry < 50e-6
    assert journal.stats().pending == len(entries)

    await journal.start()
    await journal.stop()
    assert_journal_complete(pg_dsn, entries)


async def test_stop_writes_what_is_still_queued(pg_dsn: str, tmp_path: Path) -> None:
    journal = PostgresJournal(pg_dsn, tmp_path / "spool", max_latency_s=5.0)
    await journal.start()
    entries = many_calls(30)
    for entry in entries:
        journal.record(entry)
    await journal.stop()

    stats = journal.stats()
    assert (stats.written, stats.pending, stats.spooled) == (len(entries), 0, 0)
    assert_journal_complete(pg_dsn, entries)


async def test_entry_recorded_after_stop_is_kept_in_the_spool(pg_dsn: str, tmp_path: Path) -> None:
    async with PostgresJournal(pg_dsn, tmp_path / "spool") as journal:
        pass
    [late] = call_entries("late")[:1]
    journal.record(late)
    assert journal.stats().spool_depth == 1

    async with PostgresJournal(pg_dsn, tmp_path / "spool") as again:
        await wait_until(lambda: again.stats().replays == 1, "the spool is replayed")
    assert_journal_complete(pg_dsn, [late], calls_ended=False)


async def test_counters_add_up(pg_dsn: str, tmp_path: Path) -> None:
    entries = many_calls(5)
    async with PostgresJournal(pg_dsn, tmp_path / "spool", max_latency_s=0.01) as journal:
        for entry in entries:
            journal.record(entry)
        await wait_until(lambda: journal.stats().written == len(entries), "all are written")
        for entry in entries[:3]:
            journal.record(entry)  # delivered twice: stored once
        await wait_until(lambda: journal.stats().duplicates == 3, "duplicates are counted")
        stats = journal.stats()
    assert stats.recorded == len(entries) + 3
    assert (stats.spooled, stats.spool_depth, stats.rejected, stats.replays) == (0, 0, 0, 0)
    assert stats.database_up


async def test_stop_without_start_keeps_the_recorded_entries_in_the_spool(tmp_path: Path) -> None:
    journal = PostgresJournal("postgresql://nobody@127.0.0.1:1/none", tmp_path / "spool")
    entries = call_entries("c1")
    for entry in entries:
        journal.record(entry)
    await journal.stop()
    assert journal.stats().spool_depth == len(entries)
    with Spool(tmp_path / "spool").reader() as reader:
        assert reader.next_batch(100) == entries
