"""Live journal traffic: many calls at once, their entries interleaved, and the check that
the database holds every one of them exactly once, in order."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict

import psycopg

from ari_app.calls.journal import CallOutcome, Journal, JournalEntry
from tests.store.entries import call_entries


class Traffic:
    """Records the entries of ``concurrent`` calls at a time, one entry per step, until
    ``finish()``; then completes the calls in progress so that every call has ended."""

    def __init__(self, journal: Journal, *, concurrent: int = 20, step_s: float = 0.001) -> None:
        self.journal = journal
        self.concurrent = concurrent
        self.step_s = step_s
        self.recorded: list[JournalEntry] = []
        self._finish = asyncio.Event()
        self._numbers = itertools.count()

    def finish(self) -> None:
        self._finish.set()

    def _new_call(self) -> list[JournalEntry]:
        n = next(self._numbers)
        outcome = CallOutcome.ABANDONED if n % 5 == 0 else CallOutcome.ANSWERED
        moves = ("sdis91",) if n % 3 == 0 else ()
        return call_entries(f"call-{n:05d}", start=1_800_000_000.0 + n, outcome=outcome,
                            moves=moves)  # fmt: skip

    def _record(self, entry: JournalEntry) -> None:
        self.journal.record(entry)
        self.recorded.append(entry)

    async def run(self) -> None:
        calls: list[list[JournalEntry]] = []
        turn = 0
        while not self._finish.is_set():
            while len(calls) < self.concurrent:
                calls.append(self._new_call())
            turn = (turn + 1) % len(calls)
            self._record(calls[turn].pop(0))
            if not calls[turn]:
                calls.pop(turn)
            await asyncio.sleep(self.step_s)
        for remaining in calls:
            for entry in remaining:
                self._record(entry)


def assert_journal_complete(
    dsn: str, recorded: list[JournalEntry], *, calls_ended: bool = True
) -> None:
    """Every recorded entry is stored exactly once, in recorded order per call, and every
    call has its row with the right number of entries (and has ended, by default)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT call_id, entry_id FROM journal_entries ORDER BY id").fetchall()
        query = "SELECT call_id, entries FROM calls"
        if calls_ended:
            query += " WHERE ended_at IS NOT NULL"
        calls = {str(r[0]): int(r[1]) for r in conn.execute(query)}
        callbacks = {r[0] for r in conn.execute("SELECT call_id FROM callbacks")}
    stored: dict[str, list[str]] = defaultdict(list)
    for call_id, entry_id in rows:
        stored[call_id].append(entry_id)
    expected: dict[str, list[str]] = defaultdict(list)
    for entry in recorded:
        expected[entry.call_id].append(entry.entry_id)
    assert len(rows) == len(recorded), f"{len(rows)} entries stored, {len(recorded)} recorded"
    assert set(stored) == set(expected)
    for call_id, entry_ids in expected.items():
        assert stored[call_id] == entry_ids, f"entries of {call_id} missing or out of order"
    assert calls == {call_id: len(ids) for call_id, ids in expected.items()}
    abandoned = {e.call_id for e in recorded if e.outcome is CallOutcome.ABANDONED}
    assert callbacks == abandoned
