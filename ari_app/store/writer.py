"""One spooling writer: records written to PostgreSQL off the caller's path, lossless across
outages. The call journal and the mode recorder are two configurations of it.

``record()`` only appends to an in-memory queue. A task ("<name>-writer") takes batches (at
most ``batch_size`` records, waiting at most ``max_latency_s`` for a batch to fill) and hands
each to the ``Sink``, which writes it in one transaction (or, ``one_at_a_time``, each record
in its own). When PostgreSQL is unreachable or does not answer in time, that batch and
every later one go to the spool file, so order is kept; a second task ("<name>-reconnect")
probes the database with backoff and jitter and, once it answers, the writer replays the
spool in order (``replay_batch_size`` records at a time), empties it and writes directly
again. A spool left by a previous run is replayed at start. Sinks write idempotently (an id
per record), so a batch whose commit was lost in a cut is simply written again.

One rule sorts every failure (``classify``): the database's condition (unreachable, no
answer, missing schema, a server-side error not about the data) keeps the records for later;
a fault of a record (PostgreSQL refuses its content, the store refuses it, an unexpected
error) sets that record aside in ``<spool>.rejected`` with an error in the log, and the
others go on (a batch is retried one record at a time to find the culprit).

The spool is bounded (``LineSpool.max_bytes``) and rotated; a log line says when it grows
past ``spool_warn_bytes``. A spool write the disk refuses is retried with backoff for
``spool_retry_s``, the records kept in memory meanwhile. A record that the spool cannot take,
past that time or past its bound, is never dropped silently: it is written to the log at
CRITICAL level with its spool line (``record`` field), to be appended to the spool by hand,
and counted in ``overflowed``.

Single event loop: ``record()`` must be called from the loop the writer was started on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import psycopg

from ari_app.store.backoff import Backoff
from ari_app.store.bounded import BoundedCalls, NoAnswer
from ari_app.store.db import Connection, connect, describe_dsn, first_line, is_record_caused
from ari_app.store.errors import DatabaseUnreachable, SchemaError, StoreError
from ari_app.store.spool import LineSpool

log = logging.getLogger(__name__)

R = TypeVar("R")

# A spool write the disk refuses: retried from this delay up to this one.
_SPOOL_RETRY_FIRST_S = 0.1
_SPOOL_RETRY_MAX_S = 5.0


class Failure(enum.Enum):
    """What a failed write means for its records."""

    DOWN = "down"  # the database's condition: keep the records, spool them, retry later
    RECORD = "record"  # the record's own fault: set it aside, go on with the others


def classify(error: BaseException) -> Failure:
    """The one rule the writer applies to every error a write raises."""
    if isinstance(error, DatabaseUnreachable | SchemaError | NoAnswer | OSError):
        return Failure.DOWN
    if isinstance(error, psycopg.Error):
        return Failure.RECORD if is_record_caused(error) else Failure.DOWN
    # The store refusing a record (StoreError, ValueError), or a bug: retrying would hold
    # every later record behind this one, so it is kept aside for a person instead.
    return Failure.RECORD


def _why(error: BaseException) -> str:
    """The reason a record was set aside, as the log and the operator read it."""
    if isinstance(error, psycopg.Error):
        return f"refused by PostgreSQL: {first_line(error)}"
    if isinstance(error, StoreError | ValueError):
        return str(error)
    return f"unexpected error: {error!r}"


@dataclass(slots=True)
class Written(Generic[R]):
    """What became of records handed to a sink: ``written`` newly stored, ``unchanged``
    already there (a replay) or changing nothing, ``rejected`` refused, each with why."""

    written: int = 0
    unchanged: int = 0
    rejected: list[tuple[R, str]] = field(default_factory=list)


class Sink(Protocol[R]):
    """What a writer is configured with: how its records reach PostgreSQL."""

    async def write(self, conn: Connection, records: Sequence[R]) -> Written[R]:
        """Write ``records`` in order, idempotently; raise for a failure (``classify``
        sorts it). ``conn`` is in autocommit mode."""
        ...

    async def probe(self, conn: Connection) -> None:
        """Raise unless the database can take records now (its schema is there)."""
        ...

    def about(self, record: R) -> Mapping[str, object]:
        """Fields that name ``record`` in log lines (ids, who)."""
        ...


@dataclass(frozen=True, slots=True)
class WriterSettings:
    """How one writer behaves; ``name`` names its tasks and log lines, ``what`` and
    ``many`` one and several of its records in messages."""

    name: str
    what: str
    many: str
    batch_size: int = 500
    max_latency_s: float = 0.1
    replay_batch_size: int = 2000
    one_at_a_time: bool = False
    write_timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    stop_timeout_s: float = 5.0
    spool_retry_s: float = 60.0
    spool_warn_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters since the writer started."""

    recorded: int  # records handed to record()
    written: int  # records newly stored in PostgreSQL
    unchanged: int  # records PostgreSQL already had, or that changed nothing
    spooled: int  # records appended to the spool file
    rejected: int  # records refused for their content, set aside
    overflowed: int  # records the spool could not take: in the log only
    spool_depth: int  # records now in the spool
    spool_bytes: int  # bytes the spool now takes on disk
    pending: int  # records in memory, not yet written or spooled
    replays: int  # spool replays completed
    database_up: bool  # the last write or probe succeeded


def _is_power_of_ten(n: int) -> bool:
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1


class SpoolingWriter(Generic[R]):
    """Records to PostgreSQL through ``sink``, with ``spool`` while it cannot take them.
    See the module doc."""

    def __init__(
        self,
        dsn: str,
        spool: LineSpool[R],
        sink: Sink[R],
        settings: WriterSettings,
        *,
        backoff: Backoff | None = None,
        connector: Callable[[], Coroutine[Any, Any, Connection]] | None = None,
    ) -> None:
        self._dsn = dsn
        self._where = describe_dsn(dsn)
        self._spool = spool
        self._sink = sink
        self._settings = settings
        # One-at-a-time sinks still read the spool in batches; _write splits them.
        self._replay_batch_size = (
            settings.replay_batch_size
            if settings.one_at_a_time
            else max(settings.batch_size, settings.replay_batch_size)
        )
        self._backoff = backoff or Backoff()
        self._connector = connector or self._connect

        self._queue: collections.deque[R] = collections.deque()
        self._in_flight: list[R] = []
        self._wakeup = asyncio.Event()
        self._db_ready = asyncio.Event()
        self._conn: Connection | None = None
        self._spooling = False
        self._stopping = False
        self._stopped = False
        self._warned_growth = False
        self._writer: asyncio.Task[None] | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._calls = BoundedCalls(settings.name, self._forget_connection)

        self._recorded = 0
        self._written = 0
        self._unchanged = 0
        self._spooled = 0
        self._rejected = 0
        self._overflowed = 0
        self._spool_depth = 0
        self._spool_bytes = 0
        self._replays = 0
        self._database_up = False

    @property
    def spool_path(self) -> Path:
        return self._spool.path

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The writer task once started: what a supervisor watches."""
        return self._writer

    # -- recording ----------------------------------------------------------------------

    def record(self, record: R) -> None:
        """Queue ``record`` for writing. Returns at once and never raises."""
        try:
            self._recorded += 1
            if self._stopped:
                # Too late for the writer: keep it anyway, on disk, so nothing is lost.
                self._append_now([record])
                return
            self._queue.append(record)
            size = len(self._queue)
            if size == 1 or size >= self._settings.batch_size:
                self._wakeup.set()
        except Exception:
            log.exception(
                f"{self._settings.what} could not be queued", extra=dict(self._about(record))
            )

    def unwritten(self) -> list[R]:
        """Records recorded but neither written nor spooled yet, oldest first."""
        return [*self._in_flight, *self._queue]

    def caught_up(self) -> bool:
        """Everything recorded so far is in the database: nothing spooled, queued or in flight."""
        return (
            self._database_up
            and not self._spooling
            and self._spool_depth == 0
            and not self._queue
            and not self._in_flight
        )

    def stats(self) -> WriterStats:
        return WriterStats(
            recorded=self._recorded,
            written=self._written,
            unchanged=self._unchanged,
            spooled=self._spooled,
            rejected=self._rejected,
            overflowed=self._overflowed,
            spool_depth=self._spool_depth,
            spool_bytes=self._spool_bytes,
            pending=len(self._queue) + len(self._in_flight),
            replays=self._replays,
            database_up=self._database_up,
        )

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background tasks; a spool left by a previous run will be replayed."""
        if self._writer is not None:
            raise RuntimeError(f"the {self._settings.name} is already started")
        self._spool_depth = await asyncio.to_thread(self._spool.count)
        self._spool_bytes = await asyncio.to_thread(self._spool.size_bytes)
        if self._spool_depth:
            log.info(
                f"{self._settings.many} spooled by a previous run found: replayed first",
                extra={"spool": str(self._spool.path), "records": self._spool_depth},
            )
            self._spooling = True
            self._start_reconnector(immediately=True)
        self._writer = asyncio.create_task(self._run_writer(), name=f"{self._settings.name}-writer")

    async def stop(self, timeout_s: float | None = None) -> None:
        """Write what can be written within ``timeout_s``, spool the rest, stop the tasks."""
        if self._stopped:
            return
        self._stopping = True
        self._wakeup.set()
        timeout = self._settings.stop_timeout_s if timeout_s is None else timeout_s
        if self._writer is not None:
            done, _ = await asyncio.wait({self._writer}, timeout=timeout)
            if not done:
                log.warning(
                    f"{self._settings.name} writer did not finish in time: spooling what is left",
                    extra={"timeout_s": timeout},
                )
                self._writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._writer
            elif not self._writer.cancelled() and (error := self._writer.exception()):
                log.error(f"{self._settings.name} writer failed", exc_info=error)
        self._stopped = True
        leftovers = self.unwritten()
        self._in_flight = []
        self._queue.clear()
        if leftovers:
            try:
                left_out, self._spool_bytes = await asyncio.to_thread(self._append, leftovers)
            except OSError as error:
                self._to_log(leftovers, f"neither the database nor the spool took it: {error}")
            else:
                self._count_spooled(len(leftovers) - len(left_out))
                self._to_log(left_out, "the spool is full")
        if self._reconnector is not None and not self._reconnector.done():
            self._reconnector.cancel()
            await asyncio.wait({self._reconnector}, timeout=1.0)
        await self._calls.close()
        await self._drop_connection()

    # -- the writer -----------------------------------------------------------------------

    async def _run_writer(self) -> None:
        if not self._spooling and await self._open_connection() is None:
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
                log.exception(
                    f"{self._settings.name} writer error: spooling the batch and carrying on"
                )
                await self._enter_spooling()
                await self._to_spool(batch)
            self._in_flight = []

    async def _next_batch(self) -> list[R] | None:
        """The next batch; [] when only a spool replay is due; None when stopped and done."""
        while not self._queue:
            if self._replay_due():
                return []
            if self._stopping:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        batch_size = self._settings.batch_size
        if len(self._queue) < batch_size and not self._stopping:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._settings.max_latency_s
            while len(self._queue) < batch_size and not self._stopping:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._wakeup.wait()
        count = min(batch_size, len(self._queue))
        self._in_flight = [self._queue.popleft() for _ in range(count)]
        return self._in_flight

    def _replay_due(self) -> bool:
        return self._spooling and self._db_ready.is_set()

    async def _handle(self, batch: list[R]) -> None:
        if self._replay_due():
            await self._replay()
        if not batch:
            return
        if self._spooling:
            await self._to_spool(batch)
            return
        conn = await self._open_connection()
        handled = 0 if conn is None else await self._write(conn, batch)
        if handled < len(batch):
            await self._enter_spooling()
            await self._to_spool(batch[handled:])

    async def _write(self, conn: Connection, records: list[R], *, singly: bool = False) -> int:
        """Write ``records`` in order; how many were dealt with (written, found unchanged or
        set aside). Fewer than all: the database went down at the first one not dealt with."""
        one_each = singly or self._settings.one_at_a_time
        chunks = [[r] for r in records] if one_each else [records]
        handled = 0
        for chunk in chunks:
            try:
                result = await self._calls.run(
                    self._sink.write(conn, chunk), self._settings.write_timeout_s, conn
                )
            except Exception as error:
                if classify(error) is Failure.DOWN:
                    self._report_down(error)
                    return handled
                if len(chunk) > 1:
                    # One record spoils the batch: find it by writing them one at a time.
                    done = await self._write(conn, chunk, singly=True)
                    handled += done
                    if done < len(chunk):
                        return handled
                    continue
                if not isinstance(error, psycopg.Error | StoreError | ValueError):
                    log.exception(
                        f"unexpected error writing a {self._settings.what}",
                        extra=dict(self._about(chunk[0])),
                    )
                result = Written(rejected=[(chunk[0], _why(error))])
            await self._account(result)
            handled += len(chunk)
            self._database_up = True
        return handled

    async def _account(self, result: Written[R]) -> None:
        self._written += result.written
        self._unchanged += result.unchanged
        if not result.rejected:
            return
        self._rejected += len(result.rejected)
        for record, why in result.rejected:
            log.error(
                f"{self._settings.what} refused: kept aside, not stored",
                extra={
                    **self._about(record),
                    "problem": why,
                    "kept_in": str(self._spool.rejected_path),
                },
            )
        try:
            await asyncio.to_thread(
                self._spool.set_aside_rejected, [record for record, _ in result.rejected]
            )
        except OSError as error:
            log.error(f"refused {self._settings.many} could not be kept aside", exc_info=error)
            self._to_log([record for record, _ in result.rejected], "refused, not kept aside")

    def _report_down(self, error: BaseException) -> None:
        if self._database_up or not self._spooling:
            log.warning(
                f"{self._settings.name} database unavailable: "
                f"{self._settings.many} go to the spool until it is back",
                extra={
                    "database": self._where,
                    "spool": str(self._spool.path),
                    "error": "no answer in time"
                    if isinstance(error, NoAnswer)
                    else first_line(error),
                },
            )
        self._database_up = False

    async def _enter_spooling(self) -> None:
        self._spooling = True
        self._database_up = False
        self._db_ready.clear()
        await self._drop_connection()
        self._start_reconnector(immediately=False)

    # -- the spool ------------------------------------------------------------------------

    def _append(self, records: Sequence[R]) -> tuple[list[R], int]:
        """In a thread: append, and measure the spool after (records left out, bytes)."""
        left_out = self._spool.append(records)
        return left_out, self._spool.size_bytes()

    def _append_now(self, records: Sequence[R]) -> None:
        """Append from the event loop (after stop, when no task is left to do it)."""
        try:
            left_out, self._spool_bytes = self._append(records)
        except OSError as error:
            self._to_log(records, f"the spool cannot be written: {error}")
            return
        self._count_spooled(len(records) - len(left_out))
        self._to_log(left_out, "the spool is full")

    async def _to_spool(self, records: list[R]) -> None:
        """Append ``records`` to the spool, retrying a refusing disk for ``spool_retry_s``;
        what it cannot take goes to the log (module doc)."""
        retry = Backoff(
            _SPOOL_RETRY_FIRST_S, _SPOOL_RETRY_MAX_S, deadline_s=self._settings.spool_retry_s
        )
        loop = asyncio.get_running_loop()
        while True:
            try:
                left_out, self._spool_bytes = await asyncio.to_thread(self._append, records)
            except OSError as error:
                now = loop.time()
                delay = retry.next_delay(now)
                if self._stopping or retry.exhausted(now):
                    self._to_log(records, f"the spool cannot be written: {error}")
                    return
                # Keep the records in memory and try again: the disk may come back.
                log.error(
                    f"{self._settings.name} spool cannot be written: "
                    f"{self._settings.many} stay in memory",
                    extra={"spool": str(self._spool.path), "error": str(error)},
                )
                await asyncio.sleep(delay)
                continue
            self._count_spooled(len(records) - len(left_out))
            self._to_log(left_out, f"the spool is full ({self._spool.max_bytes} bytes)")
            return

    def _count_spooled(self, count: int) -> None:
        self._spooled += count
        self._spool_depth += count
        if not self._warned_growth and self._spool_bytes >= self._settings.spool_warn_bytes:
            self._warned_growth = True
            log.warning(
                f"{self._settings.name} spool is growing: PostgreSQL has not taken "
                f"{self._settings.many} for a while",
                extra={
                    "spool": str(self._spool.path),
                    "spool_bytes": self._spool_bytes,
                    "max_bytes": self._spool.max_bytes,
                    "records": self._spool_depth,
                },
            )

    def _to_log(self, records: Sequence[R], why: str) -> None:
        """The last resort: each record's spool line in the log, so none is lost unsaid."""
        for record in records:
            self._overflowed += 1
            reason = why
            try:
                line = self._spool.encode(record)
            except Exception as error:  # a record that cannot even be encoded
                line = repr(record)
                reason = f"{why}; not encodable: {error}"
            log.critical(
                f"{self._settings.what} kept in the log only: {reason}; append its 'record'"
                f" line to {self._spool.path} to replay it",
                extra={**self._about(record), "record": line, "spool": str(self._spool.path)},
            )

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
                if await self._write(conn, batch) < len(batch):
                    raise DatabaseUnreachable("the database went away during the replay")
            await asyncio.to_thread(self._spool.truncate)
        except Exception as error:
            log.warning(
                f"{self._settings.name} spool replay interrupted: "
                "it will start over when the database is back",
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
        self._spool_bytes = 0
        self._warned_growth = False
        self._spooling = False
        self._database_up = True
        self._backoff.reset()
        log.info(
            f"{self._settings.name} spool replayed: writing directly again",
            extra={
                "records": reader.entries_read,
                "corrupt_lines": reader.corrupt_lines,
                "database": self._where,
            },
        )

    # -- the connection -------------------------------------------------------------------

    def _start_reconnector(self, *, immediately: bool) -> None:
        if self._reconnector is not None and not self._reconnector.done():
            return
        self._reconnector = asyncio.create_task(
            self._reconnect(immediately), name=f"{self._settings.name}-reconnect"
        )

    async def _reconnect(self, immediately: bool) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.0 if immediately else self._backoff.next_delay(loop.time())
        attempts = 0
        while True:
            if delay:
                await asyncio.sleep(delay)
            attempts += 1
            try:
                conn = await self._calls.run(self._probe(), self._settings.connect_timeout_s, None)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Loud on attempts 1, 10, 100 ...: a reminder that thins out over time.
                level = logging.WARNING if _is_power_of_ten(attempts) else logging.DEBUG
                log.log(
                    level,
                    f"{self._settings.name} database still unavailable: "
                    f"{self._settings.many} go to the spool",
                    extra={
                        "database": self._where,
                        "attempt": attempts,
                        "error": first_line(error),
                    },
                )
                delay = self._backoff.next_delay(loop.time())
                continue
            break
        self._conn = conn
        self._db_ready.set()
        self._wakeup.set()
        log.info(
            f"{self._settings.name} database reachable again",
            extra={"database": self._where, "attempts": attempts},
        )

    async def _probe(self) -> Connection:
        conn = await self._connector()
        try:
            await self._sink.probe(conn)
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _open_connection(self) -> Connection | None:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            self._conn = await self._calls.run(
                self._connector(), self._settings.connect_timeout_s, None
            )
        except Exception as error:
            self._report_down(error)
            return None
        self._database_up = True
        return self._conn

    async def _connect(self) -> Connection:
        conn = await connect(self._dsn, timeout_s=self._settings.connect_timeout_s, autocommit=True)
        # If this client vanishes mid-transaction (a cut network), the server drops the
        # session soon instead of holding its row locks until TCP gives up.
        await conn.execute("SET idle_in_transaction_session_timeout = '60s'")
        return conn

    def _forget_connection(self, conn: Connection) -> None:
        """An abandoned call's connection: it is being closed, use a new one."""
        if conn is self._conn:
            self._conn = None

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def _about(self, record: R) -> Mapping[str, object]:
        try:
            return self._sink.about(record)
        except Exception:
            return {}
