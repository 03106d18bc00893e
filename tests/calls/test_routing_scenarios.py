"""Where calls are answered: at home, in a neighbour, after a diversion, in a virtual CTA."""

from __future__ import annotations

import pytest

from ari_app.calls.journal import JournalKind
from ari_app.calls.marks import QUEUE_VARIABLE, QueueMark
from ari_app.calls.states import SessionState
from ari_app.sim import Answer, NoAnswer
from ari_app.stasis import NotFound
from ari_app.vcta import (
    CallStatus,
    SetDiversion,
    SetIncomingMutualAid,
    SetOutgoingMutualAid,
    SetVctaActive,
)
from tests.calls.harness import running
from tests.calls.topologies import pooled_at_night, three_centres
from tests.waiting import wait_until

TALKING = Answer(after_s=1.0, talk_s=None)  # answers and stays on the line
ALL_POSITIONS = tuple(
    p.endpoint.split("/", 1)[1] for p in pooled_at_night().position_by_id.values()
)


async def test_saturated_home_sends_the_waiting_call_to_its_first_neighbour() -> None:
    async with running(topology=three_centres(), script=TALKING, offline=("alpha-op2",)) as h:
        first = await h.call("18")
        assert (await h.until_talking(first)) == "alpha-op1"
        second = await h.call("18")
        moved = await h.until_journal(second, JournalKind.MOVED)
        assert moved.unit == "beta"
        assert "beta" in (moved.reason or "")
        assert (await h.until_talking(second)).startswith("beta-op")
        assert h.policy.overflow_held("beta") == 1
        record = h.emulator.call(second)
        assert record is not None
        assert h.policy.calls[second].arrived_at == pytest.approx(record.created_at, abs=0.001)


async def test_outgoing_mutual_aid_off_keeps_the_call_waiting_at_home() -> None:
    async with running(topology=three_centres(), script=TALKING, offline=("alpha-op2",)) as h:
        h.service.change_modes(
            SetOutgoingMutualAid("alpha", False), actor="officer-77", reason="test"
        )
        assert (await h.until_talking(await h.call("18"))) == "alpha-op1"
        waiting = await h.call("18")
        await h.until_journal(waiting, JournalKind.WAITING)
        start = h.service.stats.ticks
        await wait_until(lambda: h.service.stats.ticks >= start + 10, what="ten policy passes")
        assert JournalKind.MOVED not in h.kinds(waiting)
        assert h.policy.calls[waiting].unit == "alpha"


async def test_neighbour_with_incoming_mutual_aid_off_is_skipped() -> None:
    async with running(topology=three_centres(), script=TALKING, offline=("alpha-op2",)) as h:
        h.service.change_modes(
            SetIncomingMutualAid("beta", False), actor="officer-91", reason="test"
        )
        assert (await h.until_talking(await h.call("18"))) == "alpha-op1"
        second = await h.call("18")
        moved = await h.until_journal(second, JournalKind.MOVED)
        assert moved.unit == "gamma"
        assert (await h.until_talking(second)) == "gamma-op1"


async def test_diverted_centre_sends_its_new_calls_to_the_target() -> None:
    async with running(topology=three_centres(), script=TALKING) as h:
        result = h.service.change_modes(
            SetDiversion("alpha", "beta"), actor="officer-77", reason="evacuation"
        )
        assert result.accepted
        call = await h.call("18")
        routed = await h.until_journal(call, JournalKind.ROUTED)
        assert routed.unit == "beta"
        assert routed.home_centre == "alpha"
        assert (await h.until_talking(call)).startswith("beta-op")
        assert h.recorder.changes[-1].actor == "officer-77"
        assert h.recorder.changes[-1].before.of("alpha").diverted_to is None
        assert h.recorder.changes[-1].after.of("alpha").diverted_to == "beta"


async def test_diversion_that_would_loop_is_refused_and_changes_nothing() -> None:
    async with running(topology=three_centres(), script=TALKING) as h:
        assert h.service.change_modes(SetDiversion("alpha", "beta"), actor="a", reason="").accepted
        result = h.service.change_modes(SetDiversion("beta", "alpha"), actor="b", reason="")
        assert not result.accepted
        assert "loop" in result.reason
        assert h.policy.modes.of("beta").diverted_to is None
        assert len(h.recorder.changes) == 1


async def test_virtual_cta_calls_reach_the_other_members_positions() -> None:
    async with running(
        topology=pooled_at_night(), script=TALKING, offline=("alpha-op1", "alpha-op2")
    ) as h:
        call = await h.call("18")
        routed = await h.until_journal(call, JournalKind.ROUTED)
        assert routed.unit == "night"
        assert routed.home_centre == "alpha"
        assert (await h.until_talking(call)).startswith("beta-op")


async def test_call_nobody_takes_goes_to_the_national_backup_after_the_neighbours() -> None:
    async with running(
        topology=three_centres(last_resort_after=60),
        scripts={"national-op1": TALKING},
        script=NoAnswer(),
        ring_timeout_s=5.0,
    ) as h:
        call = await h.call("18")
        # Nobody answers at home nor in the neighbours it is sent to; once no neighbour is
        # left, the national backup unit comes after them (it has no callers of its own to
        # spare), by mutual aid, without waiting for the last resort delay.
        await wait_until(
            lambda: any(e.unit == "national" for e in h.entries(call, JournalKind.MOVED)),
            within=10.0,
            what="the move to the national backup unit",
        )
        moved = h.entries(call, JournalKind.MOVED)
        last = moved[-1]
        assert last.unit == "national"
        assert last.details["kind"] == "mutual_aid"
        # alpha's rank-1 neighbour first; beta has no neighbour left for it but the backup.
        assert [e.unit for e in moved[:-1]] == ["beta"]
        assert last.at - h.entries(call, JournalKind.ARRIVED)[0].at < 60
        assert (await h.until_talking(call, within=10.0)) == "national-op1"
        failed = h.entries(call, JournalKind.OFFER_FAILED)
        assert {e.details["failure"] for e in failed} == {"no_answer"}


async def test_deactivated_virtual_cta_moves_its_waiting_and_ringing_calls_through_them() -> None:
    async with running(
        topology=pooled_at_night(),
        scripts={"alpha-op1": NoAnswer()},
        offline=tuple(p for p in ALL_POSITIONS if p != "alpha-op1"),
        ring_timeout_s=60.0,
    ) as h:
        ringing = await h.call("18")
        await h.until_journal(ringing, JournalKind.OFFERED)
        waiting = await h.call("18")
        await h.until_journal(waiting, JournalKind.WAITING)
        result = h.service.change_modes(
            SetVctaActive("night", False), actor="officer-77", reason="morning"
        )
        assert result.accepted
        # Each call made its own move before change_modes returned: policy and journal agree.
        for call_id in (ringing, waiting):
            assert h.policy.calls[call_id].unit == "alpha"
            moved = h.entries(call_id, JournalKind.MOVED)
            assert [(e.unit, e.details["kind"]) for e in moved] == [("alpha", "vcta")]
        assert h.service.sessions[ringing].state is SessionState.OFFERED
        assert h.policy.calls[ringing].status is CallStatus.OFFERED
        assert [c.call_id for c in h.policy.waiting_calls("alpha")] == [waiting]

        async def marked_alpha() -> bool:
            try:
                text = await h.ari.channels.get_variable(waiting, QUEUE_VARIABLE)
            except NotFound:  # not written yet
                return False
            mark = QueueMark.decode(text)
            return mark is not None and mark.unit == "alpha"

        await wait_until(marked_alpha, what="the waiting caller's channel marked alpha")
