"""Steps that many situations start from: a caller in the application, answered, on hold;
an operator in the application. Each waits for the events that prove the step is done."""

from __future__ import annotations

from collections.abc import Callable

from ari_app.sim import Emulator
from ari_app.stasis import AriClient, Channel, ChannelEnteredBridge, StasisStart
from tests.integration.recorder import WAIT_S, EventRecorder
from tests.integration.world import ANSWERS, APP, CALLER_NUMBER
from tests.waiting import wait_until

# The lab dialplan sends any number to the application; this one is used by no other step.
SENTINEL_ROUTING_KEY = "999"


def app_bound(emu: Emulator, app: str = APP) -> bool:
    """True while ``app`` has an event websocket in the emulator."""
    found = emu.pbx.apps.get(app)
    return found is not None and found.sink is not None


async def until(condition: Callable[[], bool], within: float = WAIT_S) -> None:
    """Wait for a state of the emulator, which changes without telling the test (polling)."""
    await wait_until(condition, within=within, what="the emulator's state")


async def until_app_bound(emu: Emulator, app: str = APP) -> None:
    await until(lambda: app_bound(emu, app))


async def caller_in_stasis(
    emu: Emulator, events: EventRecorder, routing_key: str = "18"
) -> StasisStart:
    """A caller dials ``routing_key`` and enters the application (not answered)."""
    caller = await emu.place_call(routing_key, CALLER_NUMBER)
    assert caller.entered_stasis
    return await events.wait_for(StasisStart, lambda e: e.channel.id == caller.channel_id)


async def answered_caller(emu: Emulator, ari: AriClient, events: EventRecorder) -> str:
    start = await caller_in_stasis(emu, events)
    await ari.channels.answer(start.channel.id)
    return start.channel.id


async def caller_on_hold(
    emu: Emulator, ari: AriClient, events: EventRecorder, bridge_id: str = "wait-77"
) -> tuple[str, str]:
    """An answered caller in holding bridge ``bridge_id`` with music on hold: (caller, bridge)."""
    caller = await answered_caller(emu, ari, events)
    await ari.bridges.create(bridge_type="holding", bridge_id=bridge_id, name="attente-18")
    await ari.bridges.add_channel(bridge_id, caller, role="participant")
    await ari.bridges.start_moh(bridge_id, moh_class="default")
    await events.wait_for(
        ChannelEnteredBridge,
        lambda e: e.bridge.id == bridge_id and e.channel is not None and e.channel.id == caller,
    )
    return caller, bridge_id


async def operator_in_stasis(
    ari: AriClient, events: EventRecorder, endpoint: str = ANSWERS, channel_id: str | None = None
) -> Channel:
    """An operator position originated into the application, answered (``StasisStart``)."""
    channel = await ari.channels.originate(
        f"PJSIP/{endpoint}", app=APP, app_args="operator", channel_id=channel_id
    )
    await events.wait_for(StasisStart, lambda e: e.channel.id == channel.id)
    return channel


async def sentinel_call(emu: Emulator, events: EventRecorder) -> StasisStart:
    """A new call whose ``StasisStart`` marks a point in the stream: whatever was not received
    before it did not happen (events of one connection come in order)."""
    return await caller_in_stasis(emu, events, routing_key=SENTINEL_ROUTING_KEY)
