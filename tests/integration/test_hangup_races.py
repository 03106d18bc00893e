"""Races with hangups: commands on a channel that is already gone raise the typed errors,
whether its last events arrived before the command's answer or after it; commands on a
channel outside the application are refused as not in Stasis."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from ari_app.sim import Answer, Emulator
from ari_app.stasis import (
    AriClient,
    AriHttpError,
    BadRequest,
    ChannelDestroyed,
    Conflict,
    NotFound,
    StasisEnd,
    StasisStart,
    Unprocessable,
)
from tests.integration.flows import answered_caller, caller_in_stasis
from tests.integration.recorder import EventRecorder
from tests.integration.world import ANSWERS, APP

Command = Callable[[AriClient, str], Awaitable[object]]


async def add_to_new_bridge(ari: AriClient, channel_id: str) -> None:
    bridge = await ari.bridges.create(bridge_type="mixing")
    await ari.bridges.add_channel(bridge.id, channel_id)


@dataclass(frozen=True)
class Refusal:
    """A command and how Asterisk refuses it once the channel is gone."""

    command: Command
    error: type[AriHttpError]
    status: int


COMMANDS_ON_A_GONE_CALLER = {
    "answer": Refusal(lambda ari, c: ari.channels.answer(c), NotFound, 404),
    "play": Refusal(lambda ari, c: ari.channels.play(c, "sound:hello-world"), NotFound, 404),
    "hangup": Refusal(lambda ari, c: ari.channels.hangup(c), NotFound, 404),
    "start_moh": Refusal(lambda ari, c: ari.channels.start_moh(c), NotFound, 404),
    # addChannel names the bridge in its path: an unknown channel is a bad parameter.
    "add_channel": Refusal(add_to_new_bridge, BadRequest, 400),
}


@pytest.mark.parametrize("events_first", [True, False], ids=["event-first", "answer-first"])
@pytest.mark.parametrize(
    "refusal", COMMANDS_ON_A_GONE_CALLER.values(), ids=COMMANDS_ON_A_GONE_CALLER.keys()
)
async def test_command_on_a_caller_who_just_hung_up_raises_the_typed_error(
    emu: Emulator, ari: AriClient, events: EventRecorder, refusal: Refusal, events_first: bool
) -> None:
    start = await caller_in_stasis(emu, events)
    caller = start.channel.id
    await emu.hang_up_caller(caller)
    if events_first:
        # The application already saw StasisEnd but had the command in flight.
        await events.wait_for(StasisEnd, lambda e: e.channel.id == caller)
    # Otherwise the command goes at once: its answer may come before the hangup's events.
    with pytest.raises(refusal.error) as refused:
        await refusal.command(ari, caller)
    assert type(refused.value) is refusal.error
    assert (refused.value.status, refused.value.message) == (refusal.status, "Channel not found")
    assert not refused.value.not_in_stasis
    await events.wait_for(StasisEnd, lambda e: e.channel.id == caller)
    assert events.types_about_channel(caller).count("StasisEnd") == 1


async def test_operator_answers_after_caller_hung_up(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    emu.set_script(ANSWERS, Answer(after_s=4.0))  # room to hang up while it rings
    caller = await answered_caller(emu, ari, events)
    bridge = await ari.bridges.create(bridge_type="mixing", bridge_id="cta-77")
    operator = await ari.channels.originate(
        f"PJSIP/{ANSWERS}", app=APP, app_args="operator", channel_id="vcta-op-0003"
    )
    await emu.hang_up_caller(caller)  # while the position rings
    assert not events.find(StasisStart, lambda e: e.channel.id == operator.id)
    answered = await events.wait_for(StasisStart, lambda e: e.channel.id == operator.id)
    assert answered.args == ["operator"]
    await ari.bridges.add_channel(bridge.id, operator.id)
    with pytest.raises(BadRequest):
        await ari.bridges.add_channel(bridge.id, caller)
    # Nobody to talk to: the application releases the operator.
    await ari.channels.hangup(operator.id)
    destroyed = await events.wait_for(ChannelDestroyed, lambda e: e.channel.id == operator.id)
    assert destroyed.cause == 16
    assert await ari.channels.list() == ()


async def test_commands_on_a_channel_outside_the_application_are_refused_as_not_in_stasis(
    ari: AriClient, events: EventRecorder
) -> None:
    # A Local caller: the ;1 half stays in the dialplan, the ;2 half enters the application.
    outside = await ari.channels.originate(
        "Local/18@test-callers", context="test-callers", extension="wait", priority=1
    )
    await events.wait_for(StasisStart, lambda e: e.channel.name.endswith(";2"))
    with pytest.raises(Conflict) as answer_refused:
        await ari.channels.answer(outside.id)
    assert answer_refused.value.not_in_stasis
    assert answer_refused.value.status == 409
    bridge = await ari.bridges.create(bridge_type="mixing")
    with pytest.raises(Unprocessable) as add_refused:
        await ari.bridges.add_channel(bridge.id, outside.id)
    assert add_refused.value.not_in_stasis
    assert add_refused.value.message == "Channel not in Stasis application"
