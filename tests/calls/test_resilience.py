"""Nothing costs a caller: a lost event stream, a restarted application, a surge of calls."""

from __future__ import annotations

import asyncio

from ari_app.calls.journal import CallOutcome, JournalKind, MemoryJournal
from ari_app.sim import Answer, NoAnswer
from ari_app.vcta import SetOutgoingMutualAid
from tests.calls.harness import running
from tests.calls.topologies import three_centres
from tests.waiting import wait_until

TALKING = Answer(after_s=1.0, talk_s=None)


async def test_conversation_survives_a_lost_event_stream_and_ends_normally() -> None:
    async with running(topology=three_centres(), script=TALKING) as h:
        call = await h.call("18")
        position = await h.until_talking(call)
        connections = h.service.stats.stream_connections
        assert await h.emulator.drop_event_streams("vcta") == 1
        await wait_until(
            lambda: h.service.stats.stream_connections > connections and h.service.ready,
            what="the event stream to come back",
        )
        assert h.service.sessions[call].state == "connected"
        assert h.policy.positions[position].status == "busy"
        leg = h.service.sessions[call].leg_id
        assert leg is not None
        await h.emulator.hang_up_remote(leg)
        ended = await h.until_ended(call)
        assert ended.outcome is CallOutcome.ANSWERED
        await h.until_idle()


async def test_caller_hanging_up_while_the_stream_is_down_is_found_on_return() -> None:
    async with running(topology=three_centres(), script=TALKING) as h:
        call = await h.call("18")
        await h.until_talking(call)
        connections = h.service.stats.stream_connections
        await h.emulator.drop_event_streams("vcta")
        # The stream comes back after a fixed delay: the hang-up happens while it is down,
        # so its events are lost and only GET /channels tells.
        await h.emulator.hang_up_caller(call)
        ended = await h.until_ended(call)
        assert h.service.stats.stream_connections > connections
        assert ended.outcome is CallOutcome.ANSWERED
        assert "event stream was down" in (ended.reason or "")
        await h.until_idle()


async def test_waiting_caller_keeps_its_place_when_the_stream_is_lost() -> None:
    async with running(topology=three_centres(), script=NoAnswer(), ring_timeout_s=2.0) as h:
        call = await h.call("18")
        await h.until_journal(call, JournalKind.OFFER_FAILED)
        arrived = h.policy.calls[call].arrived_at
        connections = h.service.stats.stream_connections
        await h.emulator.drop_event_streams("vcta")
        await wait_until(
            lambda: h.service.stats.stream_connections > connections and h.service.ready,
            what="the event stream to come back",
        )
        await h.until_journal(call, JournalKind.RECOVERED)
        h.emulator.set_script("gamma-op1", TALKING)
        h.emulator.set_script("national-op1", TALKING)
        assert h.policy.calls[call].arrived_at == arrived
        await h.emulator.hang_up_caller(call)
        assert (await h.until_ended(call)).outcome is CallOutcome.ABANDONED
        await h.until_idle()


async def test_restarted_application_keeps_connected_and_waiting_calls() -> None:
    async with running(topology=three_centres(), script=TALKING, offline=("alpha-op2",)) as h:
        talking = await h.call("18")
        assert (await h.until_talking(talking)) == "alpha-op1"
        h.service.change_modes(SetOutgoingMutualAid("alpha", False), actor="t", reason="")
        waiting = await h.call("18")
        await h.until_journal(waiting, JournalKind.WAITING)
        record = h.emulator.call(waiting)
        assert record is not None
        await h.restart()
        # A new application, with an empty memory: everything comes from Asterisk.
        assert h.service.policy.calls[talking].status == "connected"
        assert h.service.policy.calls[talking].position == "alpha-op1"
        # Rebuilt waiting; the first pass after the restart may already have offered it.
        assert h.service.policy.calls[waiting].status in ("waiting", "offered")
        assert abs(h.service.policy.calls[waiting].arrived_at - record.created_at) < 0.001
        # The restart forgot the duty officer's switch (no store here): the waiting call now
        # overflows, which proves the rebuilt call is fully alive.
        assert (await h.until_talking(waiting)).startswith("beta-op")
        await h.emulator.hang_up_caller(talking)
        assert (await h.until_ended(talking)).outcome is CallOutcome.ANSWERED
        await h.emulator.hang_up_caller(waiting)
        await h.until_ended(waiting)
        await h.until_idle()


async def test_five_hundred_simultaneous_calls_are_all_answered_and_nothing_is_left() -> None:
    async with running(script=Answer(after_s=2.0, talk_s=5.0), speed=10.0) as h:
        calls = await asyncio.gather(*(h.call("18", number=f"06{i:08d}") for i in range(500)))
        await wait_until(
            lambda: all(h.entries(c, JournalKind.ENDED) for c in calls),
            within=120.0,
            what="all 500 calls to end",
        )
        outcomes = {h.entries(c, JournalKind.ENDED)[0].outcome for c in calls}
        assert outcomes == {CallOutcome.ANSWERED}
        assert all((r := h.emulator.call(c)) is not None and r.talked for c in calls)
        await h.until_idle(within=30.0)
        assert len(h.emulator.stored_recordings()) == 500


async def test_a_failure_while_waiting_hands_the_caller_back_to_the_dialplan() -> None:
    async with running(topology=three_centres(), script=NoAnswer()) as h:
        failing = h.ari.bridges.play

        async def play(*args: object, **kwargs: object) -> None:
            raise RuntimeError("a bug in playing the welcome")

        h.ari.bridges.play = play  # type: ignore[method-assign,assignment]
        call = await h.call("18")
        ended = await h.until_ended(call)
        h.ari.bridges.play = failing  # type: ignore[method-assign]
        assert ended.outcome is CallOutcome.HANDED_BACK
        assert ended.details["state"] in ("waiting", "offered")  # a position may ring already
        assert call not in h.policy.calls
        assert call not in h.service.sessions
        # Back in the dialplan, which takes it from there: never hung up by the application.
        channel = h.emulator.pbx.channels.get(call)
        assert channel is None or not channel.in_stasis
        record = h.emulator.call(call)
        assert record is not None
        assert record.ended_by != "application"


async def test_a_call_whose_arrival_was_never_written_is_journaled_once_when_rebuilt() -> None:
    async with running(topology=three_centres(), offline=("alpha-op1", "alpha-op2")) as h:
        h.service.change_modes(SetOutgoingMutualAid("alpha", False), actor="t", reason="")
        kept = await h.call("18", number="0611111111")
        lost = await h.call("18", number="0622222222")
        for call in (kept, lost):
            await h.until_journal(call, JournalKind.WAITING)
        await h.stop_application()
        # Killed before the writer took the second call's entries: only the first is on
        # record when the next instance starts.
        journal = MemoryJournal()
        for entry in h.journal.of_call(kept):
            journal.record(entry)
        h.journal = journal
        await h.start_application()
        await h.until_journal(lost, JournalKind.RECOVERED)
        await h.until_journal(kept, JournalKind.RECOVERED)
        (arrival,) = h.entries(lost, JournalKind.ARRIVED)
        record = h.emulator.call(lost)
        assert record is not None
        assert abs(arrival.at - record.created_at) < 0.001
        assert arrival.entry_id == f"arrived:{lost}"  # the id the lost entry had: never twice
        assert arrival.details["routing_key"] == "18"
        assert len(h.entries(kept, JournalKind.ARRIVED)) == 1, "on record already"
