"""Duty officers' changes written to PostgreSQL with their audit, in order, across outages.

A configuration of the store's one spooling writer (:mod:`ari_app.store.writer`), one change
at a time. ``record()`` (the ``ModeRecorder`` protocol of ``ari_app.calls.modes``) turns the
accepted change into a ``ModeChangeWrite`` with a fresh ``change_id`` and queues it; it returns at
once and never raises. The writer applies each change in its own transaction with its audit
row (``ModeStore.apply`` / ``set_paused`` / ``set_vcta_active``, actor, reason and time from
the record).

While PostgreSQL cannot be reached (or answers nothing in time), changes go to the spool
file, so order is kept, and are replayed in order once it answers. Each write claims its
``change_id`` in the same transaction, so a change is applied once however often it is
replayed. A spool left by a previous run is replayed first at start; ``pending()`` gives
its changes to ``load_modes`` so they are in force from the start.

A change PostgreSQL refuses for its content (a centre the imported topology no longer has),
or one whose write fails in an unexpected way, is set aside in ``<spool>.rejected`` with an
error in the log; the others go on.

Single event loop: ``record()`` must be called from the loop the recorder runs on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from ari_app.calls.ports import ModeChangeRecord
from ari_app.store.backoff import Backoff
from ari_app.store.db import Connection, SingleConnection
from ari_app.store.mode_writes import (
    CentreModesWrite,
    ModeChangeWrite,
    ModeSpool,
    PauseWrite,
    VctaWrite,
    mode_change_write,
)
from ari_app.store.modes import CentreModesRow, ModeAuditRow, ModeStore
from ari_app.store.spool import MAX_BYTES, SEGMENT_BYTES
from ari_app.store.writer import SpoolingWriter, WriterSettings, Written

log = logging.getLogger(__name__)

# Changes read from the spool at a time during a replay.
_REPLAY_BATCH = 100


@dataclass(frozen=True, slots=True)
class ModeRecorderStats:
    """Counters for metrics, since the recorder started."""

    recorded: int  # changes handed to record()
    written: int  # changes applied in PostgreSQL, each with its audit row
    unchanged: int  # changes PostgreSQL already had (applied before, or nothing to change)
    spooled: int  # changes appended to the spool file
    rejected: int  # changes PostgreSQL refused for their content, set aside
    spool_depth: int  # changes now in the spool file
    pending: int  # changes in memory, not yet written or spooled
    replays: int  # spool replays completed
    database_up: bool  # the last write succeeded
    spool_bytes: int = 0  # bytes the spool takes on disk
    overflowed: int = 0  # changes the spool could not take: in the log only


class _ModeSink:
    """Accepted changes to PostgreSQL, each with its audit row, one per transaction."""

    async def write(
        self, conn: Connection, records: Sequence[ModeChangeWrite]
    ) -> Written[ModeChangeWrite]:
        result: Written[ModeChangeWrite] = Written()
        store = ModeStore(SingleConnection(conn))
        for write in records:
            try:
                change = await _apply(store, write)
            except psycopg.errors.UniqueViolation:
                # Only the change id is unique among what a change writes: it is there already.
                result.unchanged += 1
                continue
            if change is None:
                result.unchanged += 1
            else:
                result.written += 1
        return result

    async def probe(self, conn: Connection) -> None:
        # Also proves the schema is there: replaying into nothing would only fail again.
        await conn.execute("SELECT 1 FROM mode_changes LIMIT 0")

    def about(self, record: ModeChangeWrite) -> Mapping[str, object]:
        return {"change_id": record.change_id, "actor": record.actor}


class StoreModeRecorder:
    """A ``ModeRecorder`` backed by PostgreSQL with a durable local spool (module doc)."""

    def __init__(
        self,
        dsn: str,
        spool_path: Path,
        *,
        write_timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        stop_timeout_s: float = 5.0,
        spool_retry_s: float = 60.0,
        spool_segment_bytes: int = SEGMENT_BYTES,
        spool_max_bytes: int = MAX_BYTES,
        spool_warn_bytes: int = MAX_BYTES // 4,
        backoff: Backoff | None = None,
        connector: Callable[[], Coroutine[Any, Any, Connection]] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._spool = ModeSpool(
            spool_path, segment_bytes=spool_segment_bytes, max_bytes=spool_max_bytes
        )
        self._writer = SpoolingWriter(
            dsn,
            self._spool,
            _ModeSink(),
            WriterSettings(
                name="mode-recorder",
                what="mode change",
                many="mode changes",
                batch_size=1,
                max_latency_s=0.0,
                replay_batch_size=_REPLAY_BATCH,
                one_at_a_time=True,
                write_timeout_s=write_timeout_s,
                connect_timeout_s=connect_timeout_s,
                stop_timeout_s=stop_timeout_s,
                spool_retry_s=spool_retry_s,
                spool_warn_bytes=spool_warn_bytes,
            ),
            backoff=backoff,
            connector=connector,
        )
        self._new_id = new_id or (lambda: uuid.uuid4().hex)

    # -- the ModeRecorder interface --------------------------------------------------------

    def record(self, change: ModeChangeRecord) -> None:
        """Queue an accepted change for writing. Returns at once and never raises."""
        try:
            write = mode_change_write(change, self._new_id())
        except Exception:
            log.exception(
                "mode change could not be queued: it is in force but not recorded",
                extra={"actor": change.actor, "change": change.decision},
            )
            return
        self._writer.record(write)

    # -- life cycle -------------------------------------------------------------------------

    async def pending(self) -> list[ModeChangeWrite]:
        """The changes a previous run left in the spool, in order (for ``load_modes``)."""
        return await asyncio.to_thread(self._spool.read_all)

    async def start(self) -> None:
        """Start writing; changes spooled by a previous run are replayed first."""
        await self._writer.start()

    async def stop(self, timeout_s: float | None = None) -> None:
        """Write what can be written within ``timeout_s``, spool the rest, stop the task."""
        await self._writer.stop(timeout_s)

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The writer task once started: what the application's supervision watches."""
        return self._writer.task

    def stats(self) -> ModeRecorderStats:
        stats = self._writer.stats()
        return ModeRecorderStats(
            recorded=stats.recorded,
            written=stats.written,
            unchanged=stats.unchanged,
            spooled=stats.spooled,
            rejected=stats.rejected,
            spool_depth=stats.spool_depth,
            pending=stats.pending,
            replays=stats.replays,
            database_up=stats.database_up,
            spool_bytes=stats.spool_bytes,
            overflowed=stats.overflowed,
        )


def _timestamp(at: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(at, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None  # the audit then takes the time of the write


async def _apply(store: ModeStore, write: ModeChangeWrite) -> ModeAuditRow | None:
    at = _timestamp(write.at)
    match write.change:
        case CentreModesWrite(centre_id=centre, modes=modes):
            return await store.apply(
                CentreModesRow(
                    centre,
                    modes.outgoing_mutual_aid,
                    modes.incoming_mutual_aid,
                    modes.diverted_to,
                    modes.crisis_message,
                ),
                actor=write.actor,
                reason=write.reason,
                change_id=write.change_id,
                at=at,
            )
        case PauseWrite(position_id=position, paused=paused):
            return await store.set_paused(
                position,
                paused,
                actor=write.actor,
                reason=write.reason,
                change_id=write.change_id,
                at=at,
            )
        case VctaWrite(vcta_id=vcta, active=active):
            return await store.set_vcta_active(
                vcta,
                active,
                actor=write.actor,
                reason=write.reason,
                change_id=write.change_id,
                at=at,
            )
