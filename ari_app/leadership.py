"""Which instance commands Asterisk when several run against one PostgreSQL (docs/failover.md).

An instance is a **standby** until it takes the lease (``ari_app.store.lease``), then
**active** until it stops or is **fenced**: its lease lost to another instance, or its ARI
application taken over in Asterisk by another websocket (``ApplicationReplaced``). Fenced is
final: the instance sends nothing more to Asterisk and the application stops (its service
manager starts it again, as a standby).

``permits()`` is asked before every request to Asterisk and before every connection of the
event stream. It is true while the instance is active and either its lease is valid (a
round trip to PostgreSQL recent enough that no other instance can hold it) or PostgreSQL is
unreachable since the last renewal and Asterisk has not given the application to another
instance: without a database nobody can take the lease over, and the calls must go on. A
frozen instance that wakes up has neither a valid lease nor an outage noticed: it is refused
until its renewal says whether it still holds the lease.

A standby that saw PostgreSQL unreachable waits ``silence_s`` plus one renewal period after
it answers again before it competes for the lease, so the active instance, which kept the
calls through the outage, takes its lease back first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from ari_app.roles import Role, RoleView
from ari_app.store.errors import DatabaseUnreachable
from ari_app.store.lease import LeaseHolder, LeaseLost

log = logging.getLogger(__name__)

STANDBY_POLL_S = 0.5  # how often a standby tries the lease: part of the take-over time


class Lease(Protocol):
    """What leadership needs of ``PostgresLease``."""

    instance: str
    silence_s: float
    term: int | None

    @property
    def renew_every_s(self) -> float: ...

    def valid(self) -> bool: ...

    async def try_acquire(self) -> int | None: ...

    async def renew(self) -> None: ...

    async def release(self) -> None: ...

    async def holder(self) -> LeaseHolder | None: ...


class Fenced(Exception):
    """This instance is no longer the active one; the message says why."""


class Leadership:
    """The role of this instance, kept by ``run()`` (a task for the application's life)."""

    def __init__(
        self,
        lease: Lease,
        *,
        poll_s: float = STANDBY_POLL_S,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lease = lease
        self._poll_s = poll_s
        self._now = now
        self.role = Role.STANDBY
        self.active = asyncio.Event()  # set once the lease is taken
        self.fenced = asyncio.Event()  # set once the instance must stop commanding
        self._without_database = False
        self._fenced_because: str | None = None
        self._holder: LeaseHolder | None = None

    def permits(self) -> bool:
        """Whether this instance may send a request to Asterisk now."""
        if self.role is not Role.ACTIVE:
            return False
        return self._without_database or self._lease.valid()

    def view(self) -> RoleView:
        holder = self._holder
        return RoleView(
            role=self.role,
            instance=self._lease.instance,
            term=self._lease.term if self.role is not Role.STANDBY else None,
            active_instance=holder.instance if holder is not None else None,
            active_api_url=holder.api_url if holder is not None else None,
            without_database=self._without_database and self.role is Role.ACTIVE,
            fenced_because=self._fenced_because,
        )

    def replaced(self) -> None:
        """Asterisk gave the ARI application to another websocket: another instance is
        active (or believes it is). Stop commanding at once."""
        self._fence("another instance connected to Asterisk with the same application name")

    async def run(self) -> None:
        """Compete for the lease, then keep it; raise ``Fenced`` once fenced (the
        application then stops). Cancel to stop."""
        await self._until_active()
        await self._keep()
        raise Fenced(self._fenced_because or "fenced")

    async def release(self) -> None:
        """At a clean stop: hand the lease to the standby at once."""
        if self.role is Role.ACTIVE:
            await self._lease.release()

    async def _until_active(self) -> None:
        database_away = False
        while True:
            try:
                if database_away:
                    # Back from an outage? The active instance held on meanwhile: let it
                    # renew before competing.
                    self._holder = await self._lease.holder()
                    database_away = False
                    log.warning("standby: PostgreSQL answers again")
                    await asyncio.sleep(self._lease.silence_s + self._lease.renew_every_s)
                    continue
                term = await self._lease.try_acquire()
                if term is not None:
                    break
                self._holder = await self._lease.holder()
            except DatabaseUnreachable as error:
                if not database_away:
                    log.warning(
                        "standby: PostgreSQL unreachable, the lease cannot be taken: %s", error
                    )
                database_away = True
            await asyncio.sleep(self._poll_s)
        self.role = Role.ACTIVE
        self._holder = None
        log.warning(
            "this instance is now the active one",
            extra={"instance": self._lease.instance, "term": term},
        )
        self.active.set()

    async def _keep(self) -> None:
        while self.role is Role.ACTIVE:
            try:
                await self._lease.renew()
            except LeaseLost as error:
                self._fence(str(error))
                return
            except DatabaseUnreachable as error:
                if not self._without_database:
                    log.error(
                        "PostgreSQL unreachable: holding on to the calls without the lease"
                        " (nobody can take it meanwhile): %s",
                        error,
                    )
                self._without_database = True
            else:
                if self._without_database:
                    log.warning(
                        "PostgreSQL back: the lease is renewed", extra={"term": self._lease.term}
                    )
                self._without_database = False
            await asyncio.sleep(self._lease.renew_every_s)

    def _fence(self, why: str) -> None:
        if self.role is Role.FENCED:
            return
        self.role = Role.FENCED
        self._fenced_because = why
        log.critical(
            "this instance is no longer the active one and sends nothing more to Asterisk: %s",
            why,
            extra={"instance": self._lease.instance},
        )
        self.fenced.set()


async def stop_leadership(leadership: Leadership, task: asyncio.Task[None]) -> None:
    """Stop the keeping task, then give the lease up if still held."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Fenced):  # Fenced: the supervisor said it
        await task
    await leadership.release()
