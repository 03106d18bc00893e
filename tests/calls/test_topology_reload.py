"""A topology imported while calls are in progress reaches the running application within a
second: limits apply to the next decision, a removed position finishes its call, a removed
centre's waiting caller is routed again and answered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import psycopg
from psycopg_pool import AsyncConnectionPool

from ari_app.calls.journal import JournalKind
from ari_app.calls.session import SessionState
from ari_app.diagnosis import Problems
from ari_app.sim import Answer
from ari_app.store.db import open_pool
from ari_app.store.mode_writes import ModeChangeWrite
from ari_app.store.topology_import import import_topology
from ari_app.topology_reload import StoredTopology, TopologyReloader, store_readers
from ari_app.vcta import SetOutgoingMutualAid, Topology, parse_topology
from tests.calls.harness import Harness, running
from tests.calls.topologies import THREE_CENTRES
from tests.waiting import wait_until

TALKING = Answer(after_s=1.0, talk_s=None)  # answers and stays on the line


def without(text: str, position: str) -> str:
    """THREE_CENTRES with alpha taking two calls in line, without ``position`` and gamma."""
    return (
        text.replace(f'"PJSIP/{position}", ', "")
        .replace(f', "PJSIP/{position}"', "")
        .replace("max_queue = 1\nmax_wait = 3600\nreserve = 0\noverflow_cap = 5\n"
                 'neighbours = [["beta"], ["gamma"]]',
                 "max_queue = 2\nmax_wait = 3600\nreserve = 0\noverflow_cap = 5\n"
                 'neighbours = [["beta"]]')
        .replace(
            '[centres.gamma]\nname = "Gamma"\ndepartment = "45"\npositions = ["PJSIP/gamma-op1"]\n'
            "max_queue = 1\nmax_wait = 3600\nreserve = 0\noverflow_cap = 5\n"
            'neighbours = [["alpha"]]\n',
            "",
        )
    )  # fmt: skip


async def store(dsn: str, topology: Topology, digest: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await import_topology(conn, topology, source="test.toml", digest=digest, actor="deployer")


async def no_pending() -> list[ModeChangeWrite]:
    return []


@contextlib.asynccontextmanager
async def reloading(h: Harness, dsn: str, applied: str) -> AsyncIterator[TopologyReloader]:
    pool: AsyncConnectionPool = await open_pool(dsn)
    read_digest, read_topology = store_readers(pool, no_pending)
    reloader = TopologyReloader(
        h.service, dsn, applied=applied, read_digest=read_digest, read_topology=read_topology
    )
    task = asyncio.create_task(reloader.run(), name="test:topology-reload")
    try:
        await asyncio.wait_for(reloader.listening.wait(), 10)
        yield reloader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pool.close()


async def test_import_reaches_the_running_application_within_a_second_keeping_calls(
    pg_dsn: str,
) -> None:
    first = parse_topology(THREE_CENTRES, "first")
    await store(pg_dsn, first, "first")
    async with (
        running(topology=first, script=TALKING, offline=("gamma-op1",)) as h,
        reloading(h, pg_dsn, applied="first") as reloader,
    ):
        talking = await h.call("18")
        endpoint = await h.until_talking(talking)
        busy = endpoint.removeprefix("alpha-")  # the position the new topology removes
        # gamma keeps its caller waiting (no operator online, no mutual aid out).
        h.service.change_modes(SetOutgoingMutualAid("gamma", False), actor="t", reason="test")
        waiting = await h.call("45")
        await h.until_journal(waiting, JournalKind.WAITING)

        second = parse_topology(without(THREE_CENTRES, f"alpha-{busy}"), "second")
        loop = asyncio.get_running_loop()
        imported_at = loop.time()
        await store(pg_dsn, second, "second")
        await wait_until(
            lambda: h.service.topology.centre_by_id["alpha"].max_queue == 2,
            within=1.0,
            what="the new topology in force",
        )
        assert loop.time() - imported_at < 1.0
        assert reloader.applied == "second"

        # The removed position finishes its call, offered nothing more.
        assert h.service.sessions[talking].state is SessionState.CONNECTED
        assert h.service.policy.positions[f"alpha-{busy}"].retiring
        assert JournalKind.ENDED not in h.kinds(talking)
        # gamma's caller is routed again (its key is now unknown: the default unit, alpha)
        # and answered by the position alpha keeps.
        moved = await h.until_journal(waiting, JournalKind.MOVED)
        assert moved.details["kind"] == "topology"
        assert str(moved.reason).startswith("gamma is no longer in the topology: ")
        kept = await h.until_talking(waiting)
        assert kept.startswith("alpha-")
        assert kept != endpoint

        await h.emulator.hang_up_caller(talking)
        await h.until_ended(talking)
        await wait_until(
            lambda: f"alpha-{busy}" not in h.service.policy.positions,
            what="the removed position forgotten once free",
        )
        await h.emulator.hang_up_caller(waiting)
        await h.until_idle()

    async with await psycopg.AsyncConnection.connect(pg_dsn) as conn:
        audit = await (
            await conn.execute(
                "SELECT unit_id, what, before, after FROM mode_changes"
                " WHERE what = 'topology.max_queue'"
            )
        ).fetchall()
    assert audit == [("alpha", "topology.max_queue", {"max_queue": "1"}, {"max_queue": "2"})]


async def test_topology_that_would_strand_a_call_started_since_the_import_is_not_applied() -> None:
    first = parse_topology(THREE_CENTRES, "first")
    renamed = parse_topology(
        THREE_CENTRES.replace(
            '"PJSIP/alpha-op1", "PJSIP/alpha-op2"',
            '{ id = "alpha-new", endpoint = "PJSIP/alpha-op1" }, "PJSIP/alpha-op2"',
        ),
        "renamed",
    )
    async with running(topology=first, script=TALKING, offline=("alpha-op2",)) as h:
        talking = await h.call("18")
        assert await h.until_talking(talking) == "alpha-op1"

        async def read_digest() -> str | None:
            return "renamed"

        async def read_topology() -> StoredTopology:
            return StoredTopology("renamed", renamed, renamed.initial_modes())

        problems = Problems()
        reloader = TopologyReloader(
            h.service,
            "unused",
            applied="first",
            read_digest=read_digest,
            read_topology=read_topology,
            problems=problems,
        )
        await reloader.catch_up()
        assert h.service.topology is first  # kept, with its call
        assert reloader.applied == "first"
        assert problems.current() == {
            "topology": "the imported topology (sha256 renamed) is not in force: call "
            f"{talking} is on PJSIP/alpha-op1 (position alpha-op1), which the new topology "
            "gives to position alpha-new: import it once that call has ended"
        }
        await h.emulator.hang_up_caller(talking)
        await h.until_idle()
        await reloader.catch_up()  # the call has ended: it goes through now
        assert h.service.topology is renamed
        assert problems.current() == {}


async def test_import_made_while_the_listener_was_away_is_taken_when_it_listens(
    pg_dsn: str,
) -> None:
    first = parse_topology(THREE_CENTRES, "first")
    await store(pg_dsn, first, "first")
    async with running(topology=first, script=TALKING) as h:
        # Announced while nobody listened: NOTIFY is not replayed, the digest tells.
        await store(pg_dsn, parse_topology(without(THREE_CENTRES, "alpha-op2"), "x"), "second")
        async with reloading(h, pg_dsn, applied="first") as reloader:
            await wait_until(lambda: reloader.applied == "second", within=1.0, what="catch-up")
        assert "alpha-op2" not in h.service.topology.position_by_id
