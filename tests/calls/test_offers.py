"""Offering a call to positions: busy, no answer, unreachable, refused, and callers who leave."""

from __future__ import annotations

from ari_app.calls.journal import CallOutcome, JournalKind
from ari_app.sim import Answer, Busy, NoAnswer, Reject
from ari_app.vcta import SetOutgoingMutualAid
from tests.calls.harness import Harness, running
from tests.calls.topologies import three_centres
from tests.waiting import wait_until

TALKING = Answer(after_s=1.0, talk_s=None)


def failures(h: Harness, call: str) -> list[tuple[str | None, object]]:
    return [(e.position, e.details["failure"]) for e in h.entries(call, JournalKind.OFFER_FAILED)]


async def test_busy_position_is_skipped_and_the_next_one_answers() -> None:
    async with running(
        topology=three_centres(), scripts={"alpha-op1": Busy(), "alpha-op2": TALKING}
    ) as h:
        call = await h.call("18")
        assert (await h.until_talking(call)) == "alpha-op2"
        assert failures(h, call) == [("alpha-op1", "busy")]


async def test_position_that_does_not_answer_rings_until_the_timeout_then_the_next_one() -> None:
    async with running(
        topology=three_centres(),
        scripts={"alpha-op1": NoAnswer(), "alpha-op2": TALKING},
        ring_timeout_s=8.0,
    ) as h:
        call = await h.call("18")
        assert (await h.until_talking(call)) == "alpha-op2"
        assert failures(h, call) == [("alpha-op1", "no_answer")]
        offered = h.entries(call, JournalKind.OFFERED)[0].at
        failed = h.entries(call, JournalKind.OFFER_FAILED)[0].at
        assert failed - offered >= 8.0


async def test_operator_refusing_the_call_puts_it_back_in_line() -> None:
    async with running(
        topology=three_centres(), scripts={"alpha-op1": Reject(), "alpha-op2": TALKING}
    ) as h:
        call = await h.call("18")
        assert (await h.until_talking(call)) == "alpha-op2"
        assert failures(h, call) == [("alpha-op1", "rejected")]


async def test_unreachable_position_fails_at_once_and_is_marked_offline() -> None:
    # The policy believes alpha-op1 is online, but Asterisk has no phone registered there:
    # the originate fails with 500 "Allocation failed" and no event at all.
    async with running(topology=three_centres(), script=TALKING, offline=("alpha-op1",)) as h:
        h.policy.position_online("alpha-op1", h.clock.now() - 1000)
        call = await h.call("18")
        assert (await h.until_talking(call)) == "alpha-op2"
        assert failures(h, call) == [("alpha-op1", "unreachable")]
        assert not h.policy.positions["alpha-op1"].online


async def test_caller_hanging_up_while_waiting_is_abandoned_and_leaves_nothing() -> None:
    async with running(topology=three_centres(), script=TALKING, offline=("alpha-op1",)) as h:
        busy = await h.call("18")
        await h.until_talking(busy)
        h.service.change_modes(SetOutgoingMutualAid("alpha", False), actor="t", reason="")
        waiting = await h.call("18")
        await h.until_journal(waiting, JournalKind.WAITING)
        await h.emulator.hang_up_caller(waiting)
        ended = await h.until_ended(waiting)
        assert ended.outcome is CallOutcome.ABANDONED
        assert ended.details["ended_by"] == "caller"
        await wait_until(
            lambda: all(
                b["id"] != h.service.names.holding_bridge(waiting) for b in h.emulator.bridges()
            ),
            what="the holding bridge to be destroyed",
        )
        assert waiting not in h.policy.calls


async def test_caller_hanging_up_while_a_position_rings_stops_the_ringing() -> None:
    async with running(topology=three_centres(), script=NoAnswer(), ring_timeout_s=60.0) as h:
        call = await h.call("18")
        offered = await h.until_journal(call, JournalKind.OFFERED)
        await h.emulator.hang_up_caller(call)
        ended = await h.until_ended(call)
        assert ended.outcome is CallOutcome.ABANDONED
        await h.until_idle()
        position = h.policy.positions[offered.position or ""]
        assert position.status == "available"


async def test_operator_hanging_up_ends_the_call_and_the_position_wraps_up() -> None:
    async with running(
        topology=three_centres(), script=Answer(after_s=1.0, talk_s=3.0), wrap_up_s=30.0
    ) as h:
        call = await h.call("18")
        position = await h.until_talking(call)
        ended = await h.until_ended(call)
        assert ended.outcome is CallOutcome.ANSWERED
        assert ended.details["ended_by"] == "operator"
        assert h.policy.positions[position].status == "wrap_up"
        await wait_until(
            lambda: h.policy.positions[position].status == "available",
            what="the wrap-up to end",
        )
        await h.until_idle()


async def test_caller_hanging_up_during_the_conversation_ends_the_operator_leg() -> None:
    async with running(topology=three_centres(), script=TALKING) as h:
        call = await h.call("18")
        await h.until_talking(call)
        await h.emulator.hang_up_caller(call)
        ended = await h.until_ended(call)
        assert ended.outcome is CallOutcome.ANSWERED
        assert ended.details["ended_by"] == "caller"
        await h.until_idle()
        assert [r["name"] for r in h.emulator.stored_recordings()] == [call]


async def test_call_no_home_operator_answers_goes_to_a_neighbour_before_the_last_resort() -> None:
    async with running(
        topology=three_centres(),
        script=TALKING,
        scripts={"alpha-op1": NoAnswer(), "alpha-op2": NoAnswer()},
        ring_timeout_s=5.0,
    ) as h:
        call = await h.call("18")
        moved = await h.until_journal(call, JournalKind.MOVED, within=10.0)
        assert moved.unit == "beta"
        assert "failed to take this call" in (moved.reason or "")
        assert (await h.until_talking(call)).startswith("beta-op")
        assert {p for p, _ in failures(h, call)} == {"alpha-op1", "alpha-op2"}
