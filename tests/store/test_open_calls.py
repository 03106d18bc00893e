"""Calls left open by a previous run, as the call handling reads them after a restart."""

from __future__ import annotations

from pathlib import Path

from ari_app.calls.journal import CallOutcome, JournalEntry, JournalKind
from ari_app.store import CallHistory, PostgresJournal
from ari_app.store.db import open_pool
from ari_app.store.open_calls import JournalOpenCalls
from ari_app.store.spool import Spool
from tests.store.entries import call_entries
from tests.store.waiting import wait_until


def until(entries: list[JournalEntry], kind: JournalKind) -> list[JournalEntry]:
    """The entries of a call up to (not including) the first of ``kind``."""
    return entries[: [e.kind for e in entries].index(kind)]


async def test_a_call_whose_end_is_still_spooled_is_not_reported_open(
    pg_dsn: str, tmp_path: Path
) -> None:
    talking = call_entries("talking", outcome=CallOutcome.ANSWERED)
    ended_late = call_entries("ended-late", outcome=CallOutcome.ABANDONED)
    waiting = call_entries("waiting", outcome=CallOutcome.ABANDONED)
    spool_path = tmp_path / "journal.spool"
    # The previous run wrote three calls' beginnings, then lost the database: the end of
    # "ended-late" only reached its spool. "talking" was connected, "waiting" was not.
    first = PostgresJournal(pg_dsn, spool_path)
    await first.start()
    for entry in [*until(talking, JournalKind.ENDED), *until(ended_late, JournalKind.ENDED)]:
        first.record(entry)
    for entry in until(waiting, JournalKind.ENDED):
        first.record(entry)
    await wait_until(first.caught_up, "the first run's entries are written")
    await first.stop()
    Spool(spool_path).append([ended_late[-1]])

    journal = PostgresJournal(pg_dsn, spool_path)
    await journal.start()
    pool = await open_pool(pg_dsn)
    try:
        open_calls = await JournalOpenCalls(journal, CallHistory(pool)).open_calls()
    finally:
        await pool.close()
        await journal.stop()
    by_id = {call.call_id: call for call in open_calls}
    assert set(by_id) == {"talking", "waiting"}
    assert by_id["talking"].connected
    assert not by_id["waiting"].connected


async def test_nothing_is_reported_open_while_the_journal_cannot_catch_up(
    tmp_path: Path, pg_dsn: str
) -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=1"
    journal = PostgresJournal(unreachable, tmp_path / "journal.spool", connect_timeout_s=0.5)
    await journal.start()
    pool = await open_pool(pg_dsn)
    try:
        reader = JournalOpenCalls(journal, CallHistory(pool), catch_up_s=0.5)
        assert await reader.open_calls() == []
    finally:
        await pool.close()
        await journal.stop()
