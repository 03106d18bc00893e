"""Guarantee 2: every call is on record from arrival to end, across a database outage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from ari_app.calls.journal import JournalKind
from ari_app.sim import Answer
from ari_app.store import PostgresJournal
from tests.calls.harness import running
from tests.pg import TcpProxy
from tests.waiting import wait_until


async def test_calls_during_a_database_outage_are_all_in_the_journal_afterwards(
    pg_dsn: str, tcp_proxy: TcpProxy, tmp_path: Path
) -> None:
    journal = PostgresJournal(
        tcp_proxy.dsn(pg_dsn), tmp_path / "journal.spool", write_timeout_s=1.0,
        connect_timeout_s=1.0,
    )  # fmt: skip
    await journal.start()
    try:
        async with running(script=Answer(after_s=1.0, talk_s=3.0), journal_also=journal) as h:
            before = await asyncio.gather(*(h.call("18", number=f"061{i:07d}") for i in range(10)))
            await wait_until(lambda: journal.stats().written > 0, what="entries written")
            tcp_proxy.cut()  # PostgreSQL unreachable while calls come and go
            during = await asyncio.gather(*(h.call("18", number=f"062{i:07d}") for i in range(20)))
            calls = [*before, *during]
            await wait_until(
                lambda: all(h.entries(c, JournalKind.ENDED) for c in calls),
                within=30,
                what="every call to end",
            )
            assert journal.stats().spooled > 0
            tcp_proxy.restore()
            await wait_until(journal.caught_up, within=30, what="the spool to be replayed")
    finally:
        await journal.stop()
    recorded = {c: [e.entry_id for e in h.journal.of_call(c)] for c in calls}
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute("SELECT call_id, entry_id FROM journal_entries ORDER BY id").fetchall()
        outcomes: dict[str, str] = dict(
            conn.execute("SELECT call_id, outcome FROM calls").fetchall()
        )
    stored: dict[str, list[str]] = {}
    for call_id, entry_id in rows:
        stored.setdefault(call_id, []).append(entry_id)
    # Every entry of every call, exactly once and in the order it was recorded.
    assert stored == recorded
    assert {outcomes[c] for c in calls} == {"answered"}
