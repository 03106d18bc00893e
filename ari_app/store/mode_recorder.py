"""Duty officers' changes written to PostgreSQL with their audit, in order, across outages.

``record()`` (the ``ModeRecorder`` protocol of ``ari_app.calls.modes``) turns the accepted
change into a ``ModeWrite`` with a fresh ``change_id`` and queues it; it returns at once and
never raises. One named task ("mode-recorder") writes the queue in order, each change in
its own transaction with its audit row (``ModeStore.apply`` / ``set_paused`` /
``set_vcta_active``, actor, reason and time from the record).

When PostgreSQL cannot be reached (or answers nothing in time), the change at hand and
every later one go to the spool file (fsync'd JSON lines), so order is kept. The task
retries with backoff and jitter; once the database answers, it replays the spool in order,
empties it and writes directly again. Each write claims its ``change_id`` in the same
transaction, so a change is applied once however often it is replayed. A spool left by a
previous run is replayed first at start; ``pending()`` gives its changes to
``load_modes`` so they are in force from the start.

A change PostgreSQL refuses for its content (a centre the imported topology no longer has),
or one whose write fails in an unexpected way, is set aside in ``<spool>.rejected`` with an
error in the log; the others go on.

Single event loop: ``record()`` must be called from the loop the recorder runs on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from ari_app.calls.modes import ModeChangeRecord
from ari_app.store.backoff import Backoff
from ari_app.store.bounded import BoundedCalls, NoAnswer
from ari_app.store.db import Connection, SingleConnection, connect, describe_dsn, first_line
from ari_app.store.errors import DatabaseUnreachable, SchemaError, StoreError
from ari_app.store.journal_db import is_entry_caused
from ari_app.store.mode_writes import (
    CentreModesWrite,
    ModeSpool,
    ModeWrite,
    PauseWrite,
    VctaWrite,
    mode_write,
)
from ari_app.store.modes import CentreModes, ModeChange, ModeStore

log = logging.getLogger(__name__)

T = TypeVar("T")

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


class _Outcome(enum.Enum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"
    DOWN = "down"


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
        backoff: Backoff | None = None,
        connector: Callable[[], Coroutine[Any, Any, Connection]] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._dsn = dsn
        self._where = describe_dsn(dsn)
        self._spool = ModeSpool(spool_path)
        self._write_timeout_s = write_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._backoff = backoff or Backoff()
        self._error_backoff = Backoff(0.1, 5.0)
        self._connector = connector or self._connect
        self._new_id = new_id or (lambda: uuid.uuid4().hex)

        self._queue: collections.deque[ModeWrite] = collections.deque()
        self._wakeup = asyncio.Event()
        self._conn: Connection | None = None
        self._spooling = False
        self._retry_at = 0.0
        self._stopping = False
        self._stopped = False
        self._task: asyncio.Task[None] | None = None
        self._calls = BoundedCalls("mode-recorder", self._forget_connection)

        self._recorded = 0
        self._written = 0
        self._unchanged = 0
        self._spooled = 0
        self._rejected = 0
        self._spool_depth = 0
        self._replays = 0
        self._database_up = False

    # -- the ModeRecorder interface --------------------------------------------------------

    def record(self, change: ModeChangeRecord) -> None:
        """Queue an accepted change for writing. Returns at once and never raises."""
        try:
            write = mode_write(change, self._new_id())
            self._recorded += 1
            if self._stopped:
                # Too late for the writer: keep it anyway, on disk, for the next start.
                self._spool.append([write])
                self._spooled += 1
                self._spool_depth += 1
                return
            self._queue.append(write)
            self._wakeup.set()
        except Exception:
            log.exception(
                "mode change could not be queued: it is in force but not recorded",
                extra={"actor": change.actor, "change": change.decision},
            )

    # -- life cycle -------------------------------------------------------------------------

    async def pending(self) -> list[ModeWrite]:
        """The changes a previous run left in the spool, in order (for ``load_modes``)."""
        return await asyncio.to_thread(self._spool.read_all)

    async def start(self) -> None:
        """Start writing; changes spooled by a previous run are replayed first."""
        if self._task is not None:
            raise RuntimeError("the mode recorder is already started")
        self._spool_depth = await asyncio.to_thread(self._spool.count)
        if self._spool_depth:
            log.info(
                "mode changes spooled by a previous run found: they are replayed first",
                extra={"spool": str(self._spool.path), "changes": self._spool_depth},
            )
            self._spooling = True
        self._task = asyncio.create_task(self._run(), name="mode-recorder")

    async def stop(self, timeout_s: float | None = None) -> None:
        """Write what can be written within ``timeout_s``, spool the rest, stop the task."""
        if self._stopped:
            return
        self._stopping = True
        self._wakeup.set()
        timeout = self._stop_timeout_s if timeout_s is None else timeout_s
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=timeout)
            if not done:
                log.warning(
                    "mode recorder did not finish in time: spooling what is left",
                    extra={"timeout_s": timeout},
                )
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=1.0)
            elif not self._task.cancelled() and self._task.exception() is not None:
                log.error("mode recorder failed", exc_info=self._task.exception())
        self._stopped = True
        leftovers = list(self._queue)
        self._queue.clear()
        if leftovers:
            try:
                await asyncio.to_thread(self._spool.append, leftovers)
                self._spooled += len(leftovers)
                self._spool_depth += len(leftovers)
            except OSError as error:
                log.critical(
                    "mode changes lost: neither the database nor the spool took them",
                    extra={
                        "changes": len(leftovers),
                        "spool": str(self._spool.path),
                        "error": str(error),
                    },
                )
        await self._calls.close()
        await self._drop_connection()

    def stats(self) -> ModeRecorderStats:
        return ModeRecorderStats(
            recorded=self._recorded,
            written=self._written,
            unchanged=self._unchanged,
            spooled=self._spooled,
            rejected=self._rejected,
            spool_depth=self._spool_depth,
            pending=len(self._queue),
            replays=self._replays,
            database_up=self._database_up,
        )

    # -- the writer -------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                if self._spooling:
                    await self._spool_queued()
                    if self._stopping:
                        return  # no replay on the way out: the next start does it
                    if loop.time() >= self._retry_at:
                        if await self._replay():
                            continue
                        self._retry_at = loop.time() + self._backoff.next_delay()
                    await self._wait_until(self._retry_at)
                    continue
                if not self._queue:
                    if self._stopping:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                outcome = await self._write(self._queue[0])
                if outcome is _Outcome.DOWN:
                    await self._enter_spooling()  # this change is spooled next, first
                    continue
                self._queue.popleft()
                self._error_backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Never die: the changes stay queued (or spooled) and are tried again.
                log.exception("mode recorder error: retrying shortly")
                await self._enter_spooling()
                await asyncio.sleep(self._error_backoff.next_delay())

    async def _wait_until(self, deadline: float) -> None:
        """Sleep until ``deadline``, or until a change is recorded or the recorder stops."""
        self._wakeup.clear()
        if self._queue or self._stopping:
            return
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wakeup.wait()

    async def _spool_queued(self) -> None:
        if not self._queue:
            return
        batch = list(self._queue)
        await asyncio.to_thread(self._spool.append, batch)
        for _ in batch:  # changes recorded meanwhile stay queued, behind these
            self._queue.popleft()
        self._spooled += len(batch)
        self._spool_depth += len(batch)

    async def _enter_spooling(self) -> None:
        if not self._spooling:
            log.warning(
                "mode changes go to the spool until PostgreSQL is back",
                extra={"database": self._where, "spool": str(self._spool.path)},
            )
        self._spooling = True
        self._database_up = False
        self._retry_at = asyncio.get_running_loop().time() + self._backoff.next_delay()
        await self._drop_connection()

    async def _replay(self) -> bool:
        """Write the spool in order, then empty it and leave spooling; False if the database
        failed on the way (the spool is kept whole, to be replayed again)."""
        with self._spool.reader() as reader:
            while batch := await asyncio.to_thread(reader.next_batch, _REPLAY_BATCH):
                for write in batch:
                    if await self._write(write) is _Outcome.DOWN:
                        await self._drop_connection()
                        return False
        await asyncio.to_thread(self._spool.truncate)
        self._replays += 1
        self._spool_depth = 0
        self._spooling = False
        self._backoff.reset()
        log.info(
            "mode change spool replayed: writing directly again",
            extra={
                "changes": reader.entries_read,
                "corrupt_lines": reader.corrupt_lines,
                "database": self._where,
            },
        )
        return True

    async def _write(self, write: ModeWrite) -> _Outcome:
        """Apply one change in PostgreSQL and say what became of it."""
        conn = await self._open_connection()
        if conn is None:
            return _Outcome.DOWN
        store = ModeStore(SingleConnection(conn))
        try:
            change = await self._calls.run(_apply(store, write), self._write_timeout_s, conn)
        except (DatabaseUnreachable, SchemaError, NoAnswer, OSError) as error:
            return self._down(error)
        except psycopg.errors.UniqueViolation:
            # Only the change id is unique among what a change writes: it is there already.
            self._unchanged += 1
            return _Outcome.UNCHANGED
        except psycopg.Error as error:
            if not is_entry_caused(error):
                return self._down(error)
            await self._reject(write, f"refused by PostgreSQL: {first_line(error)}")
            return _Outcome.REJECTED
        except (StoreError, ValueError) as error:
            await self._reject(write, str(error))
            return _Outcome.REJECTED
        except Exception as error:
            # Not the database's condition (those are psycopg errors): retrying would stop
            # every later change behind this one. It is kept aside for a person instead.
            log.exception("unexpected error writing a mode change", extra={"id": write.change_id})
            await self._reject(write, f"unexpected error: {error!r}")
            return _Outcome.REJECTED
        self._database_up = True
        if change is None:
            self._unchanged += 1
            return _Outcome.UNCHANGED
        self._written += 1
        return _Outcome.WRITTEN

    def _down(self, error: BaseException) -> _Outcome:
        if self._database_up or not self._spooling:
            log.warning(
                "mode change not written: PostgreSQL unavailable",
                extra={"database": self._where, "error": first_line(error)},
            )
        self._database_up = False
        return _Outcome.DOWN

    async def _reject(self, write: ModeWrite, why: str) -> None:
        self._rejected += 1
        log.error(
            "mode change refused by the database: kept aside, not stored",
            extra={
                "change_id": write.change_id,
                "actor": write.actor,
                "problem": why,
                "kept_in": str(self._spool.rejected_path),
            },
        )
        try:
            await asyncio.to_thread(self._spool.set_aside_rejected, [write])
        except OSError as error:
            log.error("a refused mode change could not be kept aside", exc_info=error)

    # -- the connection ---------------------------------------------------------------------

    async def _open_connection(self) -> Connection | None:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            self._conn = await self._calls.run(self._connector(), self._connect_timeout_s, None)
        except Exception as error:
            self._down(error)
            return None
        return self._conn

    async def _connect(self) -> Connection:
        conn = await connect(self._dsn, timeout_s=self._connect_timeout_s, autocommit=True)
        # If this client vanishes mid-transaction (a cut network), the server drops the
        # session soon instead of holding the centre's row lock until TCP gives up.
        await conn.execute("SET idle_in_transaction_session_timeout = '60s'")
        return conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def _forget_connection(self, conn: Connection) -> None:
        """An abandoned call's connection: it is being closed, use a new one."""
        if conn is self._conn:
            self._conn = None


def _timestamp(at: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(at, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None  # the audit then takes the time of the write


async def _apply(store: ModeStore, write: ModeWrite) -> ModeChange | None:
    at = _timestamp(write.at)
    match write.change:
        case CentreModesWrite(centre_id=centre, modes=modes):
            return await store.apply(
                CentreModes(
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
