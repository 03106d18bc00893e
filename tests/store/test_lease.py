"""The active instance's lease on a real PostgreSQL: taken by one instance at a time, freed
at once when its holder's connection closes, after the silence when its holder hangs, and
never claimed valid after that silence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ari_app.store.errors import DatabaseUnreachable
from ari_app.store.lease import LeaseLost, PostgresLease
from tests.pg import TcpProxy
from tests.waiting import wait_until

SILENCE_S = 1.5  # short, so that a hung holder's session ends within the test's patience


@pytest.fixture
async def leases(pg_dsn: str) -> AsyncIterator[list[PostgresLease]]:
    made: list[PostgresLease] = []
    yield made
    for lease in made:
        await lease.close()


def lease_on(made: list[PostgresLease], dsn: str, name: str) -> PostgresLease:
    lease = PostgresLease(dsn, name, f"http://127.0.0.1:80{len(made)}", silence_s=SILENCE_S)
    made.append(lease)
    return lease


async def test_one_instance_holds_the_lease_and_the_other_is_told_who(
    pg_dsn: str, leases: list[PostgresLease]
) -> None:
    first = lease_on(leases, pg_dsn, "paris")
    second = lease_on(leases, pg_dsn, "lyon")
    assert await first.try_acquire() == 1
    assert await second.try_acquire() is None
    assert first.valid()
    assert not second.valid()
    holder = await second.holder()
    assert holder is not None
    assert (holder.instance, holder.api_url, holder.term) == ("paris", "http://127.0.0.1:800", 1)


async def test_a_released_lease_goes_to_the_standby_with_a_new_term(
    pg_dsn: str, leases: list[PostgresLease]
) -> None:
    first = lease_on(leases, pg_dsn, "paris")
    second = lease_on(leases, pg_dsn, "lyon")
    await first.try_acquire()
    await first.release()
    assert not first.valid()
    assert await second.try_acquire() == 2
    holder = await first.holder()
    assert holder is not None
    assert (holder.instance, holder.term) == ("lyon", 2)


async def test_nobody_holds_a_lease_whose_holder_is_gone(
    pg_dsn: str, leases: list[PostgresLease]
) -> None:
    first = lease_on(leases, pg_dsn, "paris")
    observer = lease_on(leases, pg_dsn, "lyon")
    await first.try_acquire()
    assert await observer.holder() is not None
    await first._drop_connection()  # what a killed process's kernel does to its socket
    assert await wait_until(observer.try_acquire, what="the lease free") == 2


async def test_a_silent_holder_loses_the_lease_to_the_standby_and_knows_it(
    pg_dsn: str, leases: list[PostgresLease], tcp_proxy: TcpProxy
) -> None:
    first = lease_on(leases, tcp_proxy.dsn(pg_dsn), "paris")
    second = lease_on(leases, pg_dsn, "lyon")
    await first.try_acquire()
    tcp_proxy.stall()  # the holder is frozen or cut off: its session goes silent
    await wait_until(lambda: not first.valid(), within=SILENCE_S, what="the holder invalid")
    # The server ends the silent session: the standby takes the lease.
    assert await wait_until(second.try_acquire, within=SILENCE_S * 3, what="a take-over") == 2
    tcp_proxy.restore()
    with pytest.raises(LeaseLost, match="another instance holds it"):
        await first.renew()
    assert not first.valid()


async def test_a_holder_whose_session_ended_takes_the_free_lease_again(
    pg_dsn: str, leases: list[PostgresLease]
) -> None:
    first = lease_on(leases, pg_dsn, "paris")
    await first.try_acquire()
    await first._drop_connection()
    await first.renew()
    assert first.valid()
    assert first.term == 2


async def test_renewals_keep_the_lease_past_the_silence(
    pg_dsn: str, leases: list[PostgresLease]
) -> None:
    first = lease_on(leases, pg_dsn, "paris")
    second = lease_on(leases, pg_dsn, "lyon")
    await first.try_acquire()
    for _ in range(6):  # twice the silence, renewing as the instance does
        await first.renew()
        assert first.valid()
        assert await second.try_acquire() is None
        await asyncio.sleep(first.renew_every_s)  # sync-ok: the renewal period under test
    assert first.term == 1


async def test_without_the_database_renewal_cannot_tell_and_says_so(
    pg_dsn: str, leases: list[PostgresLease], tcp_proxy: TcpProxy
) -> None:
    first = lease_on(leases, tcp_proxy.dsn(pg_dsn), "paris")
    await first.try_acquire()
    tcp_proxy.cut()
    with pytest.raises(DatabaseUnreachable, match="PostgreSQL"):
        await first.renew()
    tcp_proxy.restore()
    await first.renew()  # nobody took it meanwhile: held again, a new term
    assert first.valid()
    assert first.term == 2


def test_a_silence_too_short_for_the_margin_is_refused() -> None:
    with pytest.raises(ValueError, match="silence_s"):
        PostgresLease("postgresql://", "paris", silence_s=1.0)
