"""The active instance's lease: a session-level advisory lock held on a connection of its own.

Why an advisory lock rather than a lease row with an expiry: PostgreSQL itself ends the
lease when its holder is gone, without comparing clocks between hosts and without a row to
clean up. When the holder's process dies its connection closes and the lock is free at once;
when it hangs (frozen, swapping, cut off from the database) its session stays silent and the
server ends it after ``idle_session_timeout``, which this connection sets to ``silence_s``.
The holder renews by a round trip every ``silence_s / 3`` and counts itself active only
until ``silence_s - margin`` after the last round trip it sent (``PostgresLease.valid``): it
stops acting before the server may hand the lock to another instance.

The ``leadership`` row names the holder and counts the terms (one more at each take-over),
so a standby can say who is active and log lines and metrics tell two terms apart. It is
written only by the instance that has just taken the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ari_app.store.db import Connection, connect, first_line
from ari_app.store.errors import DatabaseUnreachable, StoreError

log = logging.getLogger(__name__)

# An arbitrary constant, distinct from the migration lock's: "the active instance".
LEASE_KEY = 0x61726901
DEFAULT_SILENCE_S = 3.0
# How long before the server may end a silent session the holder stops counting itself
# active: a round trip's latency and a scheduler's hiccup.
VALIDITY_MARGIN_S = 0.5


class LeaseLost(StoreError):
    """The lease is gone and another instance may hold it: stop commanding at once."""


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """The instance holding the lease, as the ``leadership`` row says."""

    instance: str
    api_url: str | None
    term: int
    since: datetime


class PostgresLease:
    """One instance's claim to be the active one.

    ``try_acquire`` takes the lock if it is free; ``renew`` proves the session alive;
    ``valid`` says, without I/O, whether the instance may still act. Every method raises
    ``DatabaseUnreachable`` when PostgreSQL cannot be reached.
    """

    def __init__(
        self,
        dsn: str,
        instance: str,
        api_url: str | None = None,
        *,
        silence_s: float = DEFAULT_SILENCE_S,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if silence_s <= VALIDITY_MARGIN_S * 2:
            raise ValueError(f"silence_s must be more than {VALIDITY_MARGIN_S * 2:g} s")
        self._dsn = dsn
        self.instance = instance
        self.api_url = api_url
        self.silence_s = silence_s
        self._now = now
        self._conn: Connection | None = None
        self._held = False  # PostgreSQL said so at the last round trip
        self._claimed = False  # taken, and not known to be lost (the database may be away)
        self._valid_until = float("-inf")
        self.term: int | None = None

    @property
    def renew_every_s(self) -> float:
        return self.silence_s / 3

    @property
    def held(self) -> bool:
        """Whether the last word from PostgreSQL was that this instance holds the lock."""
        return self._held

    @property
    def claimed(self) -> bool:
        """Whether this instance took the lease and was not told since that it lost it
        (true through a database outage)."""
        return self._claimed

    def valid(self) -> bool:
        """Whether the instance may act now: it held the lock at a round trip recent enough
        that the server cannot have ended its session yet."""
        return self._held and self._now() < self._valid_until

    async def try_acquire(self) -> int | None:
        """Take the lease if it is free: the new term, or None when another instance holds
        it. Raises ``DatabaseUnreachable``."""
        if self._claimed:
            raise RuntimeError("the lease is already taken by this instance")
        return await self._acquire()

    async def _acquire(self) -> int | None:
        sent_at = self._now()
        acquired = await self._fetch("SELECT pg_try_advisory_lock(%s)", (LEASE_KEY,), "taken")
        if acquired is None or not acquired[0]:
            return None
        term_row = await self._fetch(
            """
            INSERT INTO leadership (instance, api_url, term) VALUES (%s, %s, 1)
            ON CONFLICT (id) DO UPDATE
                SET instance = EXCLUDED.instance, api_url = EXCLUDED.api_url,
                    term = leadership.term + 1, since = now()
            RETURNING term
            """,
            (self.instance, self.api_url),
            "recorded",
            retry=False,  # a new connection would not hold the lock just taken
        )
        self._held = self._claimed = True
        self._valid_until = sent_at + self.silence_s - VALIDITY_MARGIN_S
        self.term = int(str(term_row[0])) if term_row is not None else None
        return self.term

    async def renew(self) -> None:
        """Prove the holder's session alive, which keeps the lease.

        When the session is gone (the server ended it after a silence, or the connection
        broke), the lease is taken again if it is still free (a new term), else
        ``LeaseLost`` is raised. Raises ``DatabaseUnreachable`` when PostgreSQL cannot be
        reached (the holder may be the only one left: see ari_app.leadership)."""
        if not self._claimed:
            raise LeaseLost("the lease is not held")
        sent_at = self._now()
        conn = self._conn
        if conn is not None:
            try:
                await asyncio.wait_for(conn.execute("SELECT 1"), self.renew_every_s)
            except (psycopg.OperationalError, TimeoutError):
                await self._drop_connection()
            else:
                self._valid_until = sent_at + self.silence_s - VALIDITY_MARGIN_S
                return
        # The session is gone, and the lock with it (or it will be, once the server notices).
        self._held = False
        previous = self.term
        term = await self._acquire()
        if term is None:
            self._claimed = False
            raise LeaseLost(
                f"the lease of term {previous} was lost and another instance holds it now"
            )
        log.warning(
            "lease taken again after its session was lost",
            extra={"term": term, "previous_term": previous},
        )

    async def release(self) -> None:
        """Give the lease up (at a clean stop): the standby takes over at once."""
        self._held = self._claimed = False
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(psycopg.Error, TimeoutError):
                await asyncio.wait_for(
                    conn.execute("SELECT pg_advisory_unlock(%s)", (LEASE_KEY,)), 1.0
                )
        await self._drop_connection()

    async def holder(self) -> LeaseHolder | None:
        """The instance holding the lease now, or None when nobody does."""
        row = await self._fetch(
            """
            SELECT instance, api_url, term, since FROM leadership
            WHERE EXISTS (
                SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = %s
                  AND database = (SELECT oid FROM pg_database
                                  WHERE datname = current_database()))
            """,
            (LEASE_KEY,),
            "read",
        )
        if row is None:
            return None
        instance, api_url, term, since = row
        assert isinstance(since, datetime)
        return LeaseHolder(str(instance), str(api_url) if api_url else None, int(str(term)), since)

    async def close(self) -> None:
        await self.release()

    async def _fetch(
        self, query: str, params: tuple[object, ...], doing: str, *, retry: bool = True
    ) -> tuple[object, ...] | None:
        """One row of ``query``. A connection kept from before may have been ended by the
        server (``idle_session_timeout``): then once more on a new one, if ``retry``."""
        for attempt in range(2 if retry else 1):
            reused = self._conn is not None
            conn = await self._connection()
            try:
                cursor = await conn.execute(query, params)
                return await cursor.fetchone()
            except psycopg.OperationalError as error:
                await self._drop_connection()
                if not (reused and retry and attempt == 0):
                    raise DatabaseUnreachable(
                        f"the lease could not be {doing}: {first_line(error)}"
                    ) from None
        return None

    async def _connection(self) -> Connection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = await connect(self._dsn, timeout_s=max(1.0, self.silence_s / 2), autocommit=True)
        try:
            await conn.execute(
                "SELECT set_config('idle_session_timeout', %s, false),"
                " set_config('application_name', %s, false)",
                (f"{int(self.silence_s * 1000)}ms", f"ari-app lease {self.instance}"[:63]),
            )
        except psycopg.OperationalError as error:
            await conn.close()
            raise DatabaseUnreachable(f"the lease connection failed: {first_line(error)}") from None
        self._conn = conn
        return conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # A connection cut off may not answer a goodbye: do not wait for it.
            with contextlib.suppress(psycopg.Error, TimeoutError, OSError):
                await asyncio.wait_for(conn.close(), 1.0)
