"""Inbound callers answered, waiting in a holding bridge with music on hold, talking to an
operator in a mixing bridge, and moved from one bridge to the other."""

from __future__ import annotations

import pytest

from ari_app.sim import Emulator
from ari_app.stasis import (
    AriClient,
    BridgeDestroyed,
    ChannelConnectedLine,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelLeftBridge,
    ChannelStateChange,
    Conflict,
    StasisEnd,
)
from tests.integration.flows import (
    answered_caller,
    caller_in_stasis,
    caller_on_hold,
    operator_in_stasis,
    sentinel_call,
)
from tests.integration.recorder import EventRecorder, about
from tests.integration.world import APP, CALLER_NUMBER


async def test_inbound_caller_enters_with_its_routing_key_and_is_answered(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    start = await caller_in_stasis(emu, events, routing_key="18")
    caller = start.channel
    assert start.args == ["18"]
    assert caller.state == "Ring"
    assert caller.caller.number == CALLER_NUMBER
    assert (caller.dialplan.app_name, caller.dialplan.app_data) == ("Stasis", f"{APP},18")
    await ari.channels.answer(caller.id)
    up = await events.wait_for(ChannelStateChange, lambda e: e.channel.id == caller.id)
    assert up.channel.state == "Up"
    assert (await ari.channels.get(caller.id)).state == "Up"


async def test_caller_waits_in_a_holding_bridge_with_music_on_hold(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    caller, bridge_id = await caller_on_hold(emu, ari, events)
    bridge = await ari.bridges.get(bridge_id)
    assert (bridge.bridge_type, bridge.technology) == ("holding", "holding_bridge")
    assert bridge.name == "attente-18"
    assert bridge.channels == [caller]  # the music player is not listed
    assert [b.id for b in await ari.bridges.list()] == [bridge_id]
    await ari.bridges.stop_moh(bridge_id)
    with pytest.raises(Conflict) as silent:
        await ari.bridges.stop_moh(bridge_id)
    assert silent.value.message == "Bridge isn't playing music"
    await ari.bridges.start_moh(bridge_id)


async def test_caller_abandoning_on_hold_leaves_an_empty_bridge_without_music(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    caller, bridge_id = await caller_on_hold(emu, ari, events)
    before = events.mark()
    await emu.hang_up_caller(caller)
    await events.wait_for(StasisEnd, lambda e: e.channel.id == caller, after=before)
    request = events.find(ChannelHangupRequest, after=before)[0]
    assert (request.cause, request.soft) == (None, None)  # a BYE carries no cause
    assert events.types_about_channel(caller, after=before) == [
        "ChannelHangupRequest",
        "ChannelLeftBridge",
        "StasisEnd",
    ]
    await sentinel_call(emu, events)
    # An inbound caller gets no ChannelDestroyed: StasisEnd was its last event.
    assert events.types_about_channel(caller)[-1] == "StasisEnd"
    assert (await ari.bridges.get(bridge_id)).channels == []
    with pytest.raises(Conflict):
        await ari.bridges.stop_moh(bridge_id)
    await ari.bridges.destroy(bridge_id)
    await events.wait_for(BridgeDestroyed, lambda e: e.bridge.id == bridge_id)


async def test_caller_and_operator_talk_in_a_mixing_bridge(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    caller = await answered_caller(emu, ari, events)
    bridge = await ari.bridges.create(bridge_type="mixing", bridge_id="cta-77", name="cta-sdis77")
    assert (bridge.id, bridge.bridge_type, bridge.channels) == ("cta-77", "mixing", [])
    await ari.bridges.add_channel(bridge.id, caller)
    operator = await operator_in_stasis(ari, events)
    await ari.bridges.add_channel(bridge.id, operator.id)
    joined = await events.wait_for(
        ChannelEnteredBridge, lambda e: e.channel is not None and e.channel.id == operator.id
    )
    assert sorted(joined.bridge.channels) == sorted([caller, operator.id])
    # Each leg learns who it is connected to.
    for leg in (caller, operator.id):
        await events.wait_for(ChannelConnectedLine, about(leg))
    talking = await ari.bridges.get(bridge.id)
    assert sorted(talking.channels) == sorted([caller, operator.id])
    assert talking.bridge_type == "mixing"


async def test_caller_moves_from_the_holding_bridge_to_the_operators_bridge(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    caller, holding = await caller_on_hold(emu, ari, events)
    mixing = await ari.bridges.create(bridge_type="mixing", bridge_id="cta-77")
    before = events.mark()
    await ari.bridges.add_channel(mixing.id, caller)
    entered = await events.wait_for(ChannelEnteredBridge, after=before)
    left = events.find(ChannelLeftBridge, after=before)
    assert [e.bridge.id for e in left] == [holding]
    assert entered.bridge.id == mixing.id
    assert events.position(left[0]) < events.position(entered)
    assert (await ari.bridges.get(holding)).channels == []
    assert (await ari.bridges.get(mixing.id)).channels == [caller]
