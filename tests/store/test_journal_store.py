"""Journal batches in PostgreSQL: entries, the per-call row, the callback list."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from psycopg_pool import AsyncConnectionPool

from ari_app.calls.journal import CallOutcome, JournalEntry, JournalKind, entry_id_for
from ari_app.store.callbacks import CallbackOutcome, CallbackStore
from ari_app.store.db import Connection, connect
from ari_app.store.errors import CallbackAlreadyDone, CallbackNotFound
from ari_app.store.history import CallHistory
from ari_app.store.journal_db import write_batch
from tests.store.entries import call_entries

START = 1_800_000_000.0


def ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@pytest.fixture
async def conn(pg_dsn: str) -> AsyncIterator[Connection]:
    async with await connect(pg_dsn, autocommit=True) as connection:
        yield connection


async def test_batch_stores_every_entry_and_sums_up_the_call(
    conn: Connection, pg_pool: AsyncConnectionPool
) -> None:
    entries = call_entries("c1", start=START, moves=("sdis91",))
    result = await write_batch(conn, entries)
    assert (result.written, result.duplicates, result.rejected) == (len(entries), 0, [])

    history = CallHistory(pg_pool)
    call = await history.call("c1")
    assert call is not None
    assert call.caller == "+33612345678"
    assert call.routing_key == "77288"
    assert call.channel_id == "chan-c1"
    assert call.home_centre == "sdis77"
    assert call.unit == "sdis91"
    assert call.position == "sdis91-op1"
    assert call.arrived_at == ts(START)
    assert call.connected_at == ts(START + 27)
    assert call.ended_at == ts(START + 90)
    assert call.outcome == "answered"
    assert call.hops == 1
    assert call.entries == len(entries)
    stored = await history.entries("c1")
    assert [e.entry_id for e in stored] == [e.entry_id for e in entries]
    assert stored[0].details == {"routing_key": "77288", "channel_id": "chan-c1"}


async def test_writing_a_batch_again_stores_nothing_twice(
    conn: Connection, pg_pool: AsyncConnectionPool
) -> None:
    entries = call_entries("c1", start=START)
    await write_batch(conn, entries)
    again = await write_batch(conn, entries)
    assert (again.written, again.duplicates) == (0, len(entries))
    call = await CallHistory(pg_pool).call("c1")
    assert call is not None
    assert call.entries == len(entries)


async def test_call_row_is_the_same_whatever_order_batches_arrive_in(
    conn: Connection, pg_pool: AsyncConnectionPool
) -> None:
    in_order = call_entries("a", start=START, moves=("sdis91", "sdis45"))
    same_call = call_entries("b", start=START, moves=("sdis91", "sdis45"))
    await write_batch(conn, in_order)
    await write_batch(conn, same_call[4:])  # the later half first
    await write_batch(conn, same_call[:4])
    history = CallHistory(pg_pool)
    a, b = await history.call("a"), await history.call("b")
    assert a is not None
    assert b is not None
    assert (b.unit, b.hops, b.outcome, b.arrived_at, b.ended_at, b.entries) == (
        a.unit,
        a.hops,
        a.outcome,
        a.arrived_at,
        a.ended_at,
        a.entries,
    )
    assert b.unit == "sdis45"


async def test_abandoned_caller_is_put_on_the_callback_list(
    conn: Connection, pg_pool: AsyncConnectionPool
) -> None:
    await write_batch(conn, call_entries("gone", start=START, outcome=CallOutcome.ABANDONED))
    await write_batch(conn, call_entries("served", start=START))
    [callback] = await CallbackStore(pg_pool).list()
    assert callback.call_id == "gone"
    assert callback.caller == "+33612345678"
    assert callback.home_centre == "sdis77"
    assert callback.arrived_at == ts(START)
    assert callback.hung_up_at == ts(START + 20)
    assert callback.waited_s == pytest.approx(20.0)
    assert not callback.done


async def test_callback_marked_done_stays_done_when_the_call_is_replayed(
    conn: Connection, pg_pool: AsyncConnectionPool
) -> None:
    entries = call_entries("gone", start=START, outcome=CallOutcome.ABANDONED)
    await write_batch(conn, entries)
    callbacks = CallbackStore(pg_pool)
    done = await callbacks.mark_done(
        "gone", CallbackOutcome.REACHED, by="officer77", note="false alarm"
    )
    assert (done.done_by, done.done_outcome, done.note) == ("officer77", "reached", "false alarm")

    await write_batch(conn, entries)  # a spool replay delivers the call again

    assert await callbacks.list() == []
    [kept] = await callbacks.list(pending_only=False)
    assert kept == done
    with pytest.raises(CallbackAlreadyDone, match="already marked done by officer77"):
        await callbacks.mark_done("gone", CallbackOutcome.NO_ANSWER, by="someone")
    with pytest.raises(CallbackNotFound, match="call nope is not on the callback list"):
        await callbacks.mark_done("nope", CallbackOutcome.NO_ANSWER, by="someone")


async def test_callback_list_of_one_centre(conn: Connection, pg_pool: AsyncConnectionPool) -> None:
    await write_batch(conn, call_entries("a", outcome=CallOutcome.ABANDONED))
    await write_batch(conn, call_entries("b", outcome=CallOutcome.ABANDONED, home_centre="sdis91"))
    listed = await CallbackStore(pg_pool).list(centre_id="sdis91")
    assert [c.call_id for c in listed] == ["b"]


async def test_every_kind_and_outcome_the_call_handling_knows_can_be_stored(
    conn: Connection,
) -> None:
    entries = [JournalEntry("k", START + i, kind) for i, kind in enumerate(JournalKind)]
    entries += [
        JournalEntry(f"o-{outcome}", START, JournalKind.ENDED, outcome=outcome)
        for outcome in CallOutcome
    ]
    result = await write_batch(conn, entries)
    assert result.rejected == []
    assert result.written == len(entries)


async def test_awkward_text_is_stored_rather_than_lost(
    conn: Connection, pg_pool: AsyncConnectionPool
) -> None:
    entry = JournalEntry(
        "odd",
        START,
        JournalKind.ARRIVED,
        caller="+33\x00612",
        reason="lone surrogate \ud800 and emoji 🚒",
        details={"nan": math.nan, "inf": -math.inf, "nul\x00key": "a\x00b"},
    )
    result = await write_batch(conn, [entry])
    assert result.rejected == []
    [stored] = await CallHistory(pg_pool).entries("odd")
    assert stored.caller == "+33\ufffd612"
    assert stored.reason is not None
    assert stored.reason.endswith("emoji 🚒")
    assert stored.details == {"nan": "nan", "inf": "-inf", "nul\ufffdkey": "a\ufffdb"}


async def test_entry_the_database_refuses_is_set_apart_and_the_others_written(
    pg_fresh_dsn: str,
) -> None:
    async with await connect(pg_fresh_dsn, autocommit=True) as conn:
        # A rule of the database's own that the entry breaks: a data exception (22023).
        await conn.execute(
            """
            CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.reason = 'poison' THEN
                    RAISE EXCEPTION 'poisoned entry' USING ERRCODE = '22023';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_poison BEFORE INSERT ON journal_entries
                FOR EACH ROW EXECUTE FUNCTION refuse_poison();
            """
        )
        entries = call_entries("c1", start=START)
        poison = JournalEntry("c1", START + 1, JournalKind.WAITING, reason="poison")
        out_of_range = JournalEntry("c1", 1e20, JournalKind.WAITING)
        batch = [*entries[:2], poison, out_of_range, *entries[2:]]

        result = await write_batch(conn, batch)

        assert [(e, why.split(":")[0]) for e, why in result.rejected] == [
            (out_of_range, "cannot be stored"),
            (poison, "refused by PostgreSQL"),
        ]
        assert "poisoned entry" in result.rejected[1][1]
        assert result.written == len(entries)
        rows = await (
            await conn.execute("SELECT entry_id FROM journal_entries ORDER BY id")
        ).fetchall()
        assert [r[0] for r in rows] == [e.entry_id for e in entries]


async def test_a_call_ends_once_whichever_instance_writes_its_end_first(
    conn: Connection, pg_pool: AsyncConnectionPool
) -> None:
    # The instance that took over closed the call as lost; the killed one's own end, replayed
    # from its spool later, is the same entry (same id) and is not stored a second time.
    arrived = JournalEntry(
        "c9", START, JournalKind.ARRIVED, entry_id=entry_id_for("c9", JournalKind.ARRIVED)
    )
    closed = JournalEntry(
        "c9",
        START + 40,
        JournalKind.ENDED,
        outcome=CallOutcome.LOST,
        reason="ended while the application was stopped",
        entry_id=entry_id_for("c9", JournalKind.ENDED),
    )
    replayed = JournalEntry(
        "c9",
        START + 30,
        JournalKind.ENDED,
        outcome=CallOutcome.ABANDONED,
        entry_id=entry_id_for("c9", JournalKind.ENDED),
    )
    await write_batch(conn, [arrived, closed])
    result = await write_batch(conn, [arrived, replayed])
    assert (result.written, result.duplicates) == (0, 2)
    stored = await CallHistory(pg_pool).entries("c9")
    assert [(e.kind, e.outcome) for e in stored] == [
        (JournalKind.ARRIVED, None),
        (JournalKind.ENDED, CallOutcome.LOST),
    ]
