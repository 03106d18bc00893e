"""The call journal in PostgreSQL, off the call path and lossless across outages.

``record()`` only appends to an in-memory queue. A background task ("journal-writer")
takes batches (at most ``batch_size`` entries, waiting at most ``max_latency_s`` for a
batch to fill) and writes each in one transaction. When a write fails or PostgreSQL is
unreachable, that batch and every later one go to the spool file, so order is kept; a
second task ("journal-reconnect") probes the database with backoff and jitter and, once
it answers, the writer replays the spool in order (in batches of ``replay_batch_size``),
empties it and writes directly again.
A spool left by a previous run is replayed at start. Writes are idempotent on
``entry_id``, so a batch whose commit was lost in a cut is simply written again.

Single event loop: ``record()`` must be called from the loop the journal was started on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from ari_app.calls.journal import JournalEntry, JournalKind
from ari_app.store.backoff import Backoff
from ari_app.store.bounded import BoundedCalls, NoAnswer
from ari_app.store.db import Connection, connect, describe_dsn, first_line
from ari_app.store.journal_db import BatchResult, write_batch
from ari_app.store.spool import Spool

log = logging.getLogger(__name__)

T = TypeVar("T")


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


def _is_power_of_ten(n: int) -> bool:
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1


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
        backoff: Backoff | None = None,
        connector: Callable[[], Coroutine[Any, Any, Connection]] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self._dsn = dsn
        self._where = describe_dsn(dsn)
        self._spool = Spool(spool_path)
        self._batch_size = batch_size
        self._replay_batch_size = max(batch_size, replay_batch_size)
        self._max_latency_s = max_latency_s
        self._write_timeout_s = write_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._backoff = backoff or Backoff()
        self._connector = connector or self._connect

        self._queue: collections.deque[JournalEntry] = collections.deque()
        self._in_flight: list[JournalEntry] = []
        self._wakeup = asyncio.Event()
        self._db_ready = asyncio.Event()
        self._conn: Connection | None = None
        self._spooling = False
        self._stopping = False
        self._stopped = False
        self._writer: asyncio.Task[None] | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._calls = BoundedCalls("journal", self._forget_connection)

        self._recorded = 0
        self._written = 0
        self._duplicates = 0
        self._spooled = 0
        self._rejected = 0
        self._spool_depth = 0
        self._replays = 0
        self._database_up = False

    # -- the Journal interface ------------------------------------------------------------

    def record(self, entry: JournalEntry) -> None:
        """Queue ``entry`` for writing. Returns at once and never raises."""
        try:
            self._recorded += 1
            if self._stopped:
                # Too late for the writer: keep it anyway, on disk, so nothing is lost.
                self._spool.append([entry])
                self._spooled += 1
                self._spool_depth += 1
                return
            self._queue.append(entry)
            size = len(self._queue)
            if size == 1 or size >= self._batch_size:
                self._wakeup.set()
        except Exception:
            log.exception("journal entry could not be queued", extra={"call_id": entry.call_id})

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background tasks; a spool left by a previous run will be replayed."""
        if self._writer is not None:
            raise RuntimeError("the journal is already started")
        self._spool_depth = await asyncio.to_thread(self._spool.count)
        if self._spool_depth:
            log.info(
                "journal spool from a previous run found: it will be replayed first",
                extra={"spool": str(self._spool.path), "entries": self._spool_depth},
            )
            self._spooling = True
            self._start_reconnector(immediately=True)
        self._writer = asyncio.create_task(self._run_writer(), name="journal-writer")

    async def stop(self, timeout_s: float | None = None) -> None:
        """Write what can be written within ``timeout_s``, spool the rest, stop the tasks."""
        if self._stopped:
            return
        self._stopping = True
        self._wakeup.set()
        timeout = self._stop_timeout_s if timeout_s is None else timeout_s
        if self._writer is not None:
            done, _ = await asyncio.wait({self._writer}, timeout=timeout)
            if not done:
                log.warning(
                    "journal writer did not finish in time: spooling what is left",
                    extra={"timeout_s": timeout},
                )
                self._writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._writer
            elif not self._writer.cancelled() and (error := self._writer.exception()):
                log.error("journal writer failed", exc_info=error)
        self._stopped = True
        leftovers = [*self._in_flight, *self._queue]
        self._in_flight = []
        self._queue.clear()
        if leftovers:
            try:
                await asyncio.to_thread(self._spool.append, leftovers)
                self._spooled += len(leftovers)
                self._spool_depth += len(leftovers)
            except OSError as error:
                log.critical(
                    "journal entries lost: neither the database nor the spool took them",
                    extra={
                        "entries": len(leftovers),
                        "spool": str(self._spool.path),
                        "error": str(error),
                    },
                )
        if self._reconnector is not None and not self._reconnector.done():
            self._reconnector.cancel()
            await asyncio.wait({self._reconnector}, timeout=1.0)
        await self._calls.close()
        await self._drop_connection()

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
        return JournalStats(
            recorded=self._recorded,
            written=self._written,
            duplicates=self._duplicates,
            spooled=self._spooled,
            rejected=self._rejected,
            spool_depth=self._spool_depth,
            pending=len(self._queue) + len(self._in_flight),
            replays=self._replays,
            database_up=self._database_up,
        )

    def caught_up(self) -> bool:
        """Everything recorded so far is in the database: nothing spooled, queued or in flight."""
        return (
            self._database_up
            and not self._spooling
            and self._spool_depth == 0
            and not self._queue
            and not self._in_flight
        )

    def pending_calls(self, kind: JournalKind) -> set[str]:
        """Calls with an entry of ``kind`` recorded but not yet written."""
        return {e.call_id for e in (*self._in_flight, *self._queue) if e.kind is kind}

    # -- the writer -------------------------------------------------------------------------

    async def _run_writer(self) -> None:
        if not self._spooling and not await self._open_connection():
            await self._enter_spooling()
        while True:
            batch = await self._next_batch()
            if batch is None:
                return
            try:
                await self._handle(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Never die: whatever went wrong, the batch must not be lost.
                log.exception("journal writer error: spooling the batch and carrying on")
                await self._enter_spooling()
                await self._to_spool(batch)
            self._in_flight = []

    async def _next_batch(self) -> list[JournalEntry] | None:
        """The next batch; [] when only a spool replay is due; None when stopped and done."""
        while not self._queue:
            if self._replay_due():
                return []
            if self._stopping:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        if len(self._queue) < self._batch_size and not self._stopping:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._max_latency_s
            while len(self._queue) < self._batch_size and not self._stopping:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._wakeup.wait()
        count = min(self._batch_size, len(self._queue))
        self._in_flight = [self._queue.popleft() for _ in range(count)]
        return self._in_flight

    def _replay_due(self) -> bool:
        return self._spooling and self._db_ready.is_set()

    async def _handle(self, batch: list[JournalEntry]) -> None:
        if self._replay_due():
            await self._replay()
        if not batch:
            return
        if self._spooling:
            await self._to_spool(batch)
        elif not await self._write_direct(batch):
            await self._enter_spooling()
            await self._to_spool(batch)

    async def _open_connection(self) -> bool:
        if self._conn is not None and not self._conn.closed:
            return True
        try:
            self._conn = await self._calls.run(self._connector(), self._connect_timeout_s, None)
        except Exception as error:
            self._report_down(error)
            return False
        self._database_up = True
        return True

    async def _write_direct(self, batch: list[JournalEntry]) -> bool:
        if not await self._open_connection():
            return False
        assert self._conn is not None
        try:
            result = await self._calls.run(
                write_batch(self._conn, batch), self._write_timeout_s, self._conn
            )
        except Exception as error:
            self._report_down(error)
            return False
        await self._account(result)
        self._database_up = True
        return True

    async def _account(self, result: BatchResult) -> None:
        self._written += result.written
        self._duplicates += result.duplicates
        if result.rejected:
            self._rejected += len(result.rejected)
            for entry, why in result.rejected:
                log.error(
                    "journal entry refused: kept aside, not stored",
                    extra={
                        "call_id": entry.call_id,
                        "entry_id": entry.entry_id,
                        "problem": why,
                        "kept_in": str(self._spool.rejected_path),
                    },
                )
            try:
                await asyncio.to_thread(
                    self._spool.set_aside_rejected, [entry for entry, _ in result.rejected]
                )
            except OSError as error:
                log.error("refused journal entries could not be kept aside", exc_info=error)

    def _report_down(self, error: BaseException) -> None:
        if self._database_up or not self._spooling:
            log.warning(
                "journal database unavailable: entries go to the spool until it is back",
                extra={
                    "database": self._where,
                    "spool": str(self._spool.path),
                    "error": first_line(error)
                    if not isinstance(error, NoAnswer)
                    else "no answer in time",
                },
            )
        self._database_up = False

    async def _enter_spooling(self) -> None:
        self._spooling = True
        self._database_up = False
        self._db_ready.clear()
        await self._drop_connection()
        self._start_reconnector(immediately=False)

    async def _to_spool(self, batch: list[JournalEntry]) -> None:
        retry = Backoff(0.1, 5.0)
        while True:
            try:
                await asyncio.to_thread(self._spool.append, batch)
            except OSError as error:
                # Keep the batch in memory and try again: there is nowhere else to put it.
                log.error(
                    "journal spool cannot be written: entries stay in memory",
                    extra={"spool": str(self._spool.path), "error": str(error)},
                )
                if self._stopping:
                    raise
                await asyncio.sleep(retry.next_delay())
                continue
            self._spooled += len(batch)
            self._spool_depth += len(batch)
            return

    async def _replay(self) -> None:
        """Write the spool to the database in order, then empty it and leave spooling."""
        conn = self._conn
        assert conn is not None
        reader = self._spool.reader()
        try:
            while True:
                batch = await asyncio.to_thread(reader.next_batch, self._replay_batch_size)
                if not batch:
                    break
                result = await self._calls.run(
                    write_batch(conn, batch), self._write_timeout_s, conn
                )
                await self._account(result)
            await asyncio.to_thread(self._spool.truncate)
        except Exception as error:
            log.warning(
                "journal spool replay interrupted: it will start over when the database is back",
                extra={"database": self._where, "error": first_line(error)},
            )
            self._database_up = False
            self._db_ready.clear()
            await self._drop_connection()
            self._start_reconnector(immediately=False)
            return
        finally:
            reader.close()
        self._replays += 1
        self._spool_depth = 0
        self._spooling = False
        self._database_up = True
        self._backoff.reset()
        log.info(
            "journal spool replayed: writing directly again",
            extra={
                "entries": reader.entries_read,
                "corrupt_lines": reader.corrupt_lines,
                "database": self._where,
            },
        )

    # -- reconnection ---------------------------------------------------------------------

    def _start_reconnector(self, *, immediately: bool) -> None:
        if self._reconnector is not None and not self._reconnector.done():
            return
        self._reconnector = asyncio.create_task(
            self._reconnect(immediately), name="journal-reconnect"
        )

    async def _reconnect(self, immediately: bool) -> None:
        delay = 0.0 if immediately else self._backoff.next_delay()
        attempts = 0
        while True:
            if delay:
                await asyncio.sleep(delay)
            attempts += 1
            try:
                conn = await self._calls.run(self._probe(), self._connect_timeout_s, None)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Loud on attempts 1, 10, 100 ...: a reminder that thins out over time.
                level = logging.WARNING if _is_power_of_ten(attempts) else logging.DEBUG
                log.log(
                    level,
                    "journal database still unavailable: entries go to the spool",
                    extra={
                        "database": self._where,
                        "attempt": attempts,
                        "error": first_line(error),
                    },
                )
                delay = self._backoff.next_delay()
                continue
            break
        self._conn = conn
        self._db_ready.set()
        self._wakeup.set()
        log.info(
            "journal database reachable again",
            extra={"database": self._where, "attempts": attempts},
        )

    async def _probe(self) -> Connection:
        conn = await self._connector()
        try:
            # Also proves the schema is there: replaying into nothing would only fail again.
            await conn.execute("SELECT 1 FROM journal_entries LIMIT 0")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _connect(self) -> Connection:
        conn = await connect(self._dsn, timeout_s=self._connect_timeout_s, autocommit=True)
        # If this client vanishes mid-transaction (a cut network), the server drops the
        # session soon instead of holding its row locks until TCP gives up.
        await conn.execute("SET idle_in_transaction_session_timeout = '60s'")
        return conn

    # -- helpers ----------------------------------------------------------------------------

    def _forget_connection(self, conn: Connection) -> None:
        """An abandoned call's connection: it is being closed, use a new one."""
        if conn is self._conn:
            self._conn = None

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
