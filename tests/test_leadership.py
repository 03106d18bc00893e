"""The role of an instance over a lease that a test controls: standby until the lease is
taken, active while it is valid or PostgreSQL is away, fenced for good once it is lost or
Asterisk gives the application to another client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from ari_app.leadership import Fenced, Leadership, stop_leadership
from ari_app.roles import Role
from ari_app.store.errors import DatabaseUnreachable
from ari_app.store.lease import LeaseHolder, LeaseLost
from tests.waiting import wait_until

OTHER = LeaseHolder("lyon", "http://127.0.0.1:8081", 4, datetime(2026, 12, 1, tzinfo=UTC))


class ScriptedLease:
    """A lease whose answers the test sets: ``free``, ``database_up``, ``lost``, ``valid_now``."""

    instance = "paris"
    silence_s = 0.3
    renew_every_s = 0.01

    def __init__(self) -> None:
        self.free = False
        self.database_up = True
        self.lost = False
        self.valid_now = True
        self.term: int | None = None
        self.renewals = 0
        self.attempts = 0
        self.released = False

    def valid(self) -> bool:
        return self.term is not None and self.valid_now

    async def try_acquire(self) -> int | None:
        self.attempts += 1
        if not self.database_up:
            raise DatabaseUnreachable("cannot connect to PostgreSQL")
        if not self.free:
            return None
        self.term = 5
        return self.term

    async def renew(self) -> None:
        self.renewals += 1
        if not self.database_up:
            raise DatabaseUnreachable("cannot connect to PostgreSQL")
        if self.lost:
            raise LeaseLost("the lease of term 5 was lost and another instance holds it now")

    async def release(self) -> None:
        self.released = True

    async def holder(self) -> LeaseHolder | None:
        return None if self.free else OTHER


@pytest.fixture
async def lease() -> ScriptedLease:
    return ScriptedLease()


@pytest.fixture
async def leadership(lease: ScriptedLease) -> AsyncIterator[Leadership]:
    leading = Leadership(lease, poll_s=0.01)
    task = asyncio.create_task(leading.run())
    yield leading
    if task.done() and leading.fenced.is_set():
        with pytest.raises(Fenced):
            task.result()
    await stop_leadership(leading, task)


async def test_a_standby_names_the_active_instance_and_may_not_command(
    lease: ScriptedLease, leadership: Leadership
) -> None:
    await wait_until(lambda: leadership.view().active_instance == "lyon", what="the holder read")
    view = leadership.view()
    assert (view.role, view.active_api_url) == (Role.STANDBY, "http://127.0.0.1:8081")
    assert not leadership.permits()
    assert not leadership.active.is_set()


async def test_the_free_lease_makes_the_standby_active(
    lease: ScriptedLease, leadership: Leadership
) -> None:
    lease.free = True
    await asyncio.wait_for(leadership.active.wait(), 2)
    assert leadership.permits()
    assert (leadership.view().role, leadership.view().term) == (Role.ACTIVE, 5)


async def test_an_invalid_lease_refuses_commands_until_renewed(
    lease: ScriptedLease, leadership: Leadership
) -> None:
    lease.free = True
    await asyncio.wait_for(leadership.active.wait(), 2)
    lease.valid_now = False  # a frozen instance waking up: too long since the last renewal
    assert not leadership.permits()
    lease.valid_now = True
    assert leadership.permits()


async def test_a_lost_lease_fences_the_instance_for_good(
    lease: ScriptedLease, leadership: Leadership
) -> None:
    lease.free = True
    await asyncio.wait_for(leadership.active.wait(), 2)
    lease.lost = True
    await asyncio.wait_for(leadership.fenced.wait(), 2)
    assert not leadership.permits()
    lease.lost = False
    assert not leadership.permits()
    view = leadership.view()
    assert view.role is Role.FENCED
    assert view.fenced_because is not None
    assert "another instance holds it" in view.fenced_because


async def test_without_the_database_the_active_instance_holds_on(
    lease: ScriptedLease, leadership: Leadership
) -> None:
    lease.free = True
    await asyncio.wait_for(leadership.active.wait(), 2)
    lease.database_up = False
    lease.valid_now = False  # no renewal gets through
    await wait_until(lambda: leadership.view().without_database, what="the outage noticed")
    assert leadership.permits()
    lease.database_up = True
    lease.valid_now = True
    await wait_until(lambda: not leadership.view().without_database, what="the lease renewed")
    assert leadership.permits()


async def test_an_application_taken_over_in_asterisk_fences_even_through_an_outage(
    lease: ScriptedLease, leadership: Leadership
) -> None:
    lease.free = True
    await asyncio.wait_for(leadership.active.wait(), 2)
    lease.database_up = False
    await wait_until(lambda: leadership.view().without_database, what="the outage noticed")
    leadership.replaced()
    assert leadership.fenced.is_set()
    assert not leadership.permits()


async def test_a_standby_back_from_an_outage_lets_the_active_instance_renew_first(
    lease: ScriptedLease, leadership: Leadership
) -> None:
    lease.database_up = False
    await wait_until(lambda: lease.attempts >= 2, what="attempts during the outage")
    lease.database_up = True
    lease.free = True  # the active instance has not renewed yet
    # Not within the holder's silence (0.3 s), though the standby polls every 0.01 s ...
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(leadership.active.wait(), lease.silence_s / 2)
    # ... but then, since nobody took the lease back.
    await asyncio.wait_for(leadership.active.wait(), 2)


async def test_a_clean_stop_releases_the_lease(lease: ScriptedLease) -> None:
    lease.free = True
    leading = Leadership(lease, poll_s=0.01)
    task = asyncio.create_task(leading.run())
    await asyncio.wait_for(leading.active.wait(), 2)
    await stop_leadership(leading, task)
    assert lease.released
