"""Originating calls to operator positions through the client: answered, busy, never
answered, offline, with an id chosen by the application and with a duplicate id."""

from __future__ import annotations

import pytest

from ari_app.sim import Emulator
from ari_app.stasis import (
    AllocationFailed,
    AriClient,
    ChannelDestroyed,
    Conflict,
    Dial,
    NotFound,
    StasisStart,
    StreamConnected,
)
from tests.integration.flows import sentinel_call
from tests.integration.recorder import EventRecorder
from tests.integration.world import ANSWERS, APP, BUSY, NEVER_ANSWERS, OFFLINE


async def test_position_that_answers_enters_the_application_with_the_originate_args(
    ari: AriClient, events: EventRecorder
) -> None:
    channel = await ari.channels.originate(
        f"PJSIP/{ANSWERS}",
        app=APP,
        app_args=["operator", "call-42"],
        caller_id='"Appel 18" <0612345678>',
        ring_timeout=30,
        variables={"VCTA_CALL": "call-42"},
    )
    assert channel.state == "Down"
    assert channel.name.startswith(f"PJSIP/{ANSWERS}-")
    start = await events.wait_for(StasisStart, lambda e: e.channel.id == channel.id)
    assert start.args == ["operator", "call-42"]
    assert start.channel.state == "Up"
    assert start.application == APP
    # The connection marker comes before every event, and the channel's events are in order.
    assert events.items[0] == StreamConnected(connection=1, reconnect=False)
    assert events.types_about_channel(channel.id) == [
        "Dial",
        "ChannelStateChange",
        "Dial",
        "ChannelStateChange",
        "Dial",
        "StasisStart",
    ]
    dials = [e.dialstatus for e in events.find(Dial, lambda e: e.peer.id == channel.id)]
    assert dials == ["", "RINGING", "ANSWER"]
    assert await ari.channels.get_variable(channel.id, "VCTA_CALL") == "call-42"


async def test_busy_position_ends_with_channel_destroyed_cause_17_and_no_stasis_start(
    ari: AriClient, events: EventRecorder
) -> None:
    channel = await ari.channels.originate(f"PJSIP/{BUSY}", app=APP, app_args="operator")
    destroyed = await events.wait_for(ChannelDestroyed, lambda e: e.channel.id == channel.id)
    assert (destroyed.cause, destroyed.cause_txt, destroyed.tech_cause) == (17, "User busy", 486)
    assert [e.dialstatus for e in events.find(Dial)] == ["", "BUSY"]
    assert "StasisStart" not in events.types_about_channel(channel.id)
    with pytest.raises(NotFound) as gone:
        await ari.channels.get(channel.id)
    assert gone.value.message == "Channel not found"


async def test_position_that_never_answers_ends_with_cause_19_and_no_final_dial(
    ari: AriClient, events: EventRecorder
) -> None:
    channel = await ari.channels.originate(
        f"PJSIP/{NEVER_ANSWERS}", app=APP, app_args="operator", ring_timeout=2
    )
    destroyed = await events.wait_for(ChannelDestroyed, lambda e: e.channel.id == channel.id)
    assert (destroyed.cause, destroyed.tech_cause) == (19, 480)
    assert destroyed.cause_txt == "User alerting, no answer"
    assert destroyed.channel.state == "Ringing"
    # Dial reports the ringing but no outcome: ChannelDestroyed is the only signal.
    assert [e.dialstatus for e in events.find(Dial)] == ["", "RINGING"]
    assert events.types_about_channel(channel.id)[-1] == "ChannelDestroyed"


@pytest.mark.parametrize("endpoint", [f"PJSIP/{OFFLINE}", "PJSIP/sdis99-op9"])
async def test_offline_or_unknown_position_fails_allocation_without_any_event(
    emu: Emulator, ari: AriClient, events: EventRecorder, endpoint: str
) -> None:
    before = events.mark()
    with pytest.raises(AllocationFailed) as failed:
        await ari.channels.originate(endpoint, app=APP, app_args="operator")
    assert (failed.value.status, failed.value.message) == (500, "Allocation failed")
    assert failed.value.path == "/channels"
    assert await ari.channels.list() == ()
    sentinel = await sentinel_call(emu, events)
    assert events.since(before) == [sentinel]


async def test_channel_id_chosen_by_the_application_is_used_by_every_event(
    ari: AriClient, events: EventRecorder
) -> None:
    channel = await ari.channels.originate(
        f"PJSIP/{ANSWERS}", app=APP, app_args="operator", channel_id="vcta-op-0001"
    )
    assert channel.id == "vcta-op-0001"
    await events.wait_for(StasisStart, lambda e: e.channel.id == "vcta-op-0001")
    assert (await ari.channels.get("vcta-op-0001")).state == "Up"
    assert len(events.about_channel("vcta-op-0001")) == 6


async def test_duplicate_channel_id_of_a_live_channel_is_a_conflict(
    ari: AriClient, events: EventRecorder
) -> None:
    await ari.channels.originate(
        f"PJSIP/{NEVER_ANSWERS}", app=APP, app_args="operator", channel_id="vcta-op-0002"
    )
    with pytest.raises(Conflict) as refused:
        await ari.channels.originate(
            f"PJSIP/{ANSWERS}", app=APP, app_args="operator", channel_id="vcta-op-0002"
        )
    assert refused.value.message == "Channel with given unique ID already exists"
    assert not refused.value.not_in_stasis
    # The first call is untouched: still ringing its position.
    ringing = await ari.channels.get("vcta-op-0002")
    assert (ringing.state, ringing.name.rsplit("-", 1)[0]) == ("Ringing", f"PJSIP/{NEVER_ANSWERS}")
