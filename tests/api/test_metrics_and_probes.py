"""/metrics moves with the calls; /healthz and /readyz; changes wait for readiness."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from ari_app.api import MetricsJournal
from ari_app.calls.journal import CallOutcome, JournalEntry, JournalKind, MemoryJournal
from ari_app.sim import Answer
from tests.api.world import api_world, caller_waiting_at_alpha


async def test_metrics_count_calls_waits_and_follow_the_queues(pg_dsn: str, tmp_path: Path) -> None:
    async with api_world(
        pg_dsn, offline=("alpha-op2",), journal_spool=tmp_path / "journal.spool"
    ) as world:
        assert await world.metric("ari_app_ready") == 1
        assert await world.metric("ari_app_queue_length", unit="alpha") == 0
        assert await world.metric("ari_app_free_positions", unit="alpha") == 1
        assert await world.metric("ari_app_queue_state", unit="alpha", state="Standby") == 1
        assert await world.metric("ari_app_calls_total") is None
        assert await world.metric("ari_app_journal_spool_depth") == 0
        assert await world.metric("ari_app_journal_database_up") == 1

        talking, waiting = await caller_waiting_at_alpha(world)
        assert await world.metric("ari_app_queue_length", unit="alpha") == 1
        assert await world.metric("ari_app_busy_positions", unit="alpha") == 1
        assert await world.metric("ari_app_saturated", unit="alpha") == 1
        assert await world.metric("ari_app_queue_state", unit="alpha", state="Full") == 1
        assert (await world.metric("ari_app_oldest_wait_seconds", unit="alpha") or 0) > 0
        assert await world.metric("ari_app_calls_routed_total", centre="alpha", unit="alpha") == 2

        await world.calls.emulator.hang_up_caller(waiting)
        labels = {"outcome": "abandoned", "centre": "alpha"}
        await world.until_metric("ari_app_calls_total", lambda v: v == 1, **labels)
        assert await world.metric("ari_app_call_wait_seconds_count", **labels) == 1
        assert (await world.metric("ari_app_call_wait_seconds_sum", **labels) or 0) > 0
        assert await world.metric("ari_app_queue_length", unit="alpha") == 0

        await world.calls.emulator.hang_up_caller(talking)
        labels = {"outcome": "answered", "centre": "alpha"}
        await world.until_metric("ari_app_calls_total", lambda v: v == 1, **labels)
        assert await world.metric("ari_app_journal_entries_total", kind="arrived") == 2


async def test_mutual_aid_moves_are_counted_by_kind_and_receiving_unit(pg_dsn: str) -> None:
    async with api_world(pg_dsn, offline=("alpha-op2",)) as world:
        talking = await world.calls.call("18")
        await world.calls.until_talking(talking)
        await world.calls.call("18")
        await world.until_metric(
            "ari_app_call_moves_total", lambda v: v == 1, kind="mutual_aid", unit="beta"
        )
        await world.until_metric("ari_app_overflow_held", lambda v: v == 1, unit="beta")


async def test_lost_event_stream_counts_as_an_ari_reconnect(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        assert await world.metric("ari_app_ari_reconnects_total") == 0
        await world.calls.emulator.drop_event_streams()
        await world.until_metric("ari_app_ari_reconnects_total", lambda v: v == 1)
        await world.until_metric("ari_app_ready", lambda v: v == 1)
        assert await world.metric("ari_app_ari_stream_losses_total") == 1


def test_metrics_journal_counts_ended_calls_and_ignores_a_wait_that_is_not_a_number() -> None:
    registry = CollectorRegistry()
    inner = MemoryJournal()
    journal = MetricsJournal(inner, registry)
    ended = JournalEntry(
        "c1",
        1.0,
        JournalKind.ENDED,
        home_centre="alpha",
        outcome=CallOutcome.LOST,
        details={"waited_s": "not a number"},
    )
    journal.record(ended)
    assert inner.entries == [ended]
    text = generate_latest(registry).decode()
    assert 'ari_app_calls_total{centre="alpha",outcome="lost"} 1.0' in text
    assert 'ari_app_call_wait_seconds_count{centre="alpha",outcome="lost"}' not in text


def test_metrics_journal_passes_the_entry_on_when_counting_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inner = MemoryJournal()
    journal = MetricsJournal(inner, CollectorRegistry())

    def broken(*labels: str) -> None:
        raise RuntimeError("counter broken")

    monkeypatch.setattr(journal.entries, "labels", broken)
    entry = JournalEntry("c2", 2.0, JournalKind.ARRIVED)
    journal.record(entry)
    assert inner.entries == [entry]


async def test_not_ready_until_connected_reads_work_and_changes_wait(pg_dsn: str) -> None:
    async with api_world(pg_dsn, start=False, script=Answer(after_s=1.0)) as world:
        assert (await world.get("/healthz", None)).body == {"status": "alive"}
        reply = await world.get("/readyz", None)
        assert (reply.status, reply.body["error_id"]) == (503, "not_ready")
        assert reply.headers["Retry-After"] == "2"
        assert (await world.get("/api/v1/units")).status == 200
        assert await world.metric("ari_app_ready") == 0

        change = {"to": "beta", "reason": "evacuation"}
        reply = await world.put("/api/v1/centres/alpha/diversion", change)
        assert (reply.status, reply.body["error_id"]) == (503, "not_ready")
        assert world.service.policy.modes.of("alpha").diverted_to is None

        await world.start_calls()
        reply = await world.get("/readyz", None)
        assert (reply.status, reply.body["ready"]) == (200, True)
        assert (await world.put("/api/v1/centres/alpha/diversion", change)).status == 200
