"""The call journal in PostgreSQL, off the call path and lossless across outages.

A configuration of the store's one spooling writer (:mod:`ari_app.store.writer`): journal
entries are written in batches (at most ``batch_size`` entries, waiting at most
``max_latency_s`` for a batch to fill), each batch in one transaction
(:func:`ari_app.store.journal_db.write_batch`), spooled while PostgreSQL cannot take them
and replayed in order (``replay_batch_size`` at a time) once it can. Writes are idempotent
on ``entry_id``, so a batch whose commit was lost in a cut is simply written again.

Single event loop: ``record()`` must be called from the loop the journal was started on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ari_app.calls.ports import JournalEntry, JournalKind
from ari_app.store.backoff import Backoff
from ari_app.store.db import Connection
from ari_app.store.journal_db import write_batch
from ari_app.store.spool import MAX_BYTES, SEGMENT_BYTES, Spool
from ari_app.store.writer import SpoolingWriter, WriterSettings, Written


@dataclass(frozen=True, slots=True)
class JournalStats:
    """Counters for metrics, since the journal started."""

    recorded: int  # entries handed to record()
    written: int  # entries newly stored in PostgreSQL
    duplicates: int  # entries found already stored (replays of a cut commit)
    spooled: int  # entries appended to the spool file
    rejected: int  # entries PostgreSQL refused for their content, set aside
    spool_depth: int  # entries now in the spool file
    pending: int  # entries in memory, not yet written or spooled
    replays: int  # spool replays completed
    database_up: bool  # the last write or probe succeeded
    spool_bytes: int = 0  # bytes the spool takes on disk
    overflowed: int = 0  # entries the spool could not take: in the log only


class _JournalSink:
    """Journal entries to PostgreSQL: a batch per transaction."""

    async def write(
        self, conn: Connection, records: Sequence[JournalEntry]
    ) -> Written[JournalEntry]:
        # Looked up at each call so that tests can count the batches.
        result = await write_batch(conn, records)
        return Written(result.written, result.duplicates, result.rejected)

    async def probe(self, conn: Connection) -> None:
        # Also proves the schema is there: replaying into nothing would only fail again.
        await conn.execute("SELECT 1 FROM journal_entries LIMIT 0")

    def about(self, record: JournalEntry) -> Mapping[str, object]:
        return {"call_id": record.call_id, "entry_id": record.entry_id}


class PostgresJournal:
    """A ``Journal`` backed by PostgreSQL with a durable local spool. See the module doc."""

    def __init__(
        self,
        dsn: str,
        spool_path: Path,
        *,
        batch_size: int = 500,
        max_latency_s: float = 0.1,
        replay_batch_size: int = 2000,
        write_timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        stop_timeout_s: float = 5.0,
        spool_retry_s: float = 60.0,
        spool_segment_bytes: int = SEGMENT_BYTES,
        spool_max_bytes: int = MAX_BYTES,
        spool_warn_bytes: int = MAX_BYTES // 4,
        backoff: Backoff | None = None,
        connector: Callable[[], Coroutine[Any, Any, Connection]] | None = None,
    ) -> None:
        self._writer = SpoolingWriter(
            dsn,
            Spool(spool_path, segment_bytes=spool_segment_bytes, max_bytes=spool_max_bytes),
            _JournalSink(),
            WriterSettings(
                name="journal",
                what="journal entry",
                many="journal entries",
                batch_size=batch_size,
                max_latency_s=max_latency_s,
                replay_batch_size=replay_batch_size,
                write_timeout_s=write_timeout_s,
                connect_timeout_s=connect_timeout_s,
                stop_timeout_s=stop_timeout_s,
                spool_retry_s=spool_retry_s,
                spool_warn_bytes=spool_warn_bytes,
            ),
            backoff=backoff,
            connector=connector,
        )

    # -- the Journal interface ------------------------------------------------------------

    def record(self, entry: JournalEntry) -> None:
        """Queue ``entry`` for writing. Returns at once and never raises."""
        self._writer.record(entry)

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background tasks; a spool left by a previous run will be replayed."""
        await self._writer.start()

    async def stop(self, timeout_s: float | None = None) -> None:
        """Write what can be written within ``timeout_s``, spool the rest, stop the tasks."""
        await self._writer.stop(timeout_s)

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The writer task once started: what the application's supervision watches."""
        return self._writer.task

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def stats(self) -> JournalStats:
        stats = self._writer.stats()
        return JournalStats(
            recorded=stats.recorded,
            written=stats.written,
            duplicates=stats.unchanged,
            spooled=stats.spooled,
            rejected=stats.rejected,
            spool_depth=stats.spool_depth,
            pending=stats.pending,
            replays=stats.replays,
            database_up=stats.database_up,
            spool_bytes=stats.spool_bytes,
            overflowed=stats.overflowed,
        )

    def caught_up(self) -> bool:
        """Everything recorded so far is in the database: nothing spooled, queued or in flight."""
        return self._writer.caught_up()

    def pending_calls(self, kind: JournalKind) -> set[str]:
        """Calls with an entry of ``kind`` recorded but not yet written."""
        return {e.call_id for e in self._writer.unwritten() if e.kind is kind}
