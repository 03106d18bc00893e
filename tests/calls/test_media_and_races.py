"""What waiting callers hear, picking, and the races the reference traces show."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ari_app.calls.journal import CallOutcome, JournalKind
from ari_app.sim import Answer, NoAnswer
from ari_app.vcta import SetCrisisMessage, SetOutgoingMutualAid, SetPositionPaused
from tests.calls.harness import Harness, running
from tests.calls.topologies import three_centres
from tests.waiting import wait_until

TALKING = Answer(after_s=1.0, talk_s=None)


def record_plays(h: Harness) -> list[tuple[str, str]]:
    """Every ``POST /bridges/{id}/play`` the application sends, as (bridge, media)."""
    plays: list[tuple[str, str]] = []
    original: Callable[..., Awaitable[Any]] = h.service.ari.bridges.play

    async def play(bridge_id: str, media: Any, **kwargs: Any) -> Any:
        plays.append((bridge_id, str(media)))
        return await original(bridge_id, media, **kwargs)

    h.service.ari.bridges.play = play  # type: ignore[method-assign]
    return plays


async def test_crisis_message_is_played_before_the_welcome_then_reminders_repeat() -> None:
    async with running(topology=three_centres(), script=NoAnswer(), ring_timeout_s=600) as h:
        plays = record_plays(h)
        h.service.change_modes(
            SetCrisisMessage("alpha", "sound:pls-hold-while-try"), actor="officer", reason="storm"
        )
        call = await h.call("18")
        bridge = h.service.names.holding_bridge(call)
        await wait_until(
            lambda: len([p for p in plays if p[0] == bridge]) >= 4,
            what="the crisis message, the welcome and two reminders",
        )
        media = [m for b, m in plays if b == bridge]
        assert media[:4] == [
            "sound:pls-hold-while-try",
            "sound:hello-world",
            "sound:queue-thankyou",
            "sound:queue-thankyou",
        ]
        await h.emulator.hang_up_caller(call)
        await h.until_idle()


async def test_crisis_message_that_fails_to_play_is_logged_with_the_call_and_the_sound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running(topology=three_centres(), script=NoAnswer(), ring_timeout_s=600) as h:
        plays = record_plays(h)
        h.service.change_modes(
            SetCrisisMessage("alpha", "sound:crisis/missing"), actor="officer", reason="storm"
        )
        call = await h.call("18")
        bridge = h.service.names.holding_bridge(call)
        # The welcome follows: the caller is not left in silence by the missing file.
        await wait_until(
            lambda: (
                [m for b, m in plays if b == bridge][:2]
                == ["sound:crisis/missing", "sound:hello-world"]
            ),
            what="the failed crisis message, then the welcome",
        )
        failed = [r for r in caplog.records if r.getMessage().startswith("announcement could not")]
        assert [(r.levelname, r.__dict__["call_id"], r.__dict__["media"]) for r in failed] == [
            ("WARNING", call, "sound:crisis/missing")
        ]
        await h.emulator.hang_up_caller(call)
        await h.until_idle()


async def test_announcement_that_never_ends_gives_way_to_music_after_the_guard() -> None:
    # hello-world lasts an hour here: its PlaybackFinished would come far too late.
    async with running(
        topology=three_centres(),
        script=NoAnswer(),
        ring_timeout_s=600,
        sounds={"hello-world": 3600.0},
        playback_guard_s=15.0,
    ) as h:
        call = await h.call("18")
        await h.until_journal(call, JournalKind.WAITING)
        session = h.service.sessions[call]
        await wait_until(lambda: session.moh_playing, what="music on hold after the guard")
        assert session.playback_id is None
        await h.emulator.hang_up_caller(call)
        await h.until_idle()


async def test_operator_picks_a_waiting_call_and_that_position_rings() -> None:
    async with running(
        topology=three_centres(), script=TALKING, offline=("alpha-op1", "alpha-op2")
    ) as h:
        h.service.change_modes(SetOutgoingMutualAid("alpha", False), actor="t", reason="")
        call = await h.call("18")
        await h.until_journal(call, JournalKind.WAITING)
        # The operator comes in paused (not offered calls) and chooses one from the list.
        h.service.change_modes(SetPositionPaused("alpha-op2", True), actor="t", reason="")
        h.emulator.set_online("alpha-op2", True)
        await wait_until(
            lambda: h.policy.positions["alpha-op2"].status == "paused",
            what="alpha-op2 online but paused",
        )
        refused = h.service.pick("beta-op1", call)
        assert not refused.allowed
        assert "alpha" in refused.reason
        decision = h.service.pick("alpha-op2", call)
        assert decision.allowed, decision.reason
        assert (await h.until_talking(call)) == "alpha-op2"
        assert h.kinds(call).count(JournalKind.PICKED) == 1


async def test_each_event_is_handled_once_although_asterisk_sends_duplicates() -> None:
    async with running(topology=three_centres(), script=Answer(after_s=1.0, talk_s=2.0)) as h:
        call = await h.call("18")
        await h.until_ended(call)
        assert h.service.stats.duplicates > 0
        kinds = h.kinds(call)
        assert kinds.count(JournalKind.CONNECTED) == 1
        assert kinds.count(JournalKind.ENDED) == 1


async def test_position_answering_for_a_call_that_does_not_exist_is_hung_up() -> None:
    async with running(topology=three_centres(), script=TALKING) as h:
        stray = "vcta-op-no-such-call-1"
        await h.service.ari.channels.originate(
            "PJSIP/beta-op1", app="vcta", app_args=["offer", "no-such-call"], channel_id=stray
        )
        await wait_until(
            lambda: all(c["id"] != stray for c in h.emulator.channels()),
            what="the stray operator leg to be hung up",
        )


@pytest.mark.parametrize("stage", ["waiting", "talking"])
async def test_restart_after_the_caller_left_reaps_what_is_left(stage: str) -> None:
    script = TALKING if stage == "talking" else NoAnswer()
    async with running(topology=three_centres(), script=script, ring_timeout_s=600) as h:
        call = await h.call("18")
        if stage == "talking":
            await h.until_talking(call)
        else:
            await h.until_journal(call, JournalKind.WAITING)
        await h.stop_application()
        await h.emulator.hang_up_caller(call)
        leftovers = [b["id"] for b in h.emulator.bridges()]
        assert any(call in b for b in leftovers), "the call's bridge outlives the caller"
        await h.start_application()
        await h.until_idle()
        record = h.emulator.call(call)
        assert record is not None
        assert record.ended_by == "caller"
        # The new application also closed the call's record in the journal.
        ended = await h.until_ended(call)
        assert ended.reason == "ended while the application was stopped"
        expected = CallOutcome.ANSWERED if stage == "talking" else CallOutcome.ABANDONED
        assert ended.outcome is expected


async def test_welcome_ending_while_the_stream_is_down_gives_way_to_music_on_its_return() -> None:
    # Real time: the welcome (1 s) ends while the stream is silent, long before the playback
    # guard (60 s). The position rings on, so the call stays offered throughout.
    async with running(
        topology=three_centres(),
        script=NoAnswer(),
        ring_timeout_s=600,
        speed=1.0,
        sounds={"hello-world": 1.0},
    ) as h:
        call = await h.call("18")
        await h.until_journal(call, JournalKind.OFFERED)
        session = h.service.sessions[call]
        assert session.playback_id is not None
        connections = h.service.stats.stream_connections
        assert h.emulator.freeze_event_streams("vcta") == 1
        await wait_until(lambda: not h.emulator.playbacks(), what="the end of the welcome")
        await wait_until(
            lambda: h.service.stats.stream_connections > connections and h.service.ready,
            within=10.0,
            what="the event stream to come back",
        )
        # Its PlaybackFinished was lost with the stream: Asterisk is asked instead.
        await wait_until(lambda: session.moh_playing, within=2.0, what="music on hold")
        assert session.playback_id is None
        await h.emulator.hang_up_caller(call)
        await h.until_idle()
