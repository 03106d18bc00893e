"""For each reference scenario, what happens on the SIP side and when (before which step)."""

from __future__ import annotations

from tests.sim.lab import CALLER_NAME, CALLER_NUMBER
from tests.sim.replay import Action, At, Replay, Scenario, TraceMismatch


def call(routing_key: str = "18", *, enters: bool = True) -> Action:
    """The carrier calls ``routing_key``; ``enters=False`` when no application exists."""

    async def act(replay: Replay) -> None:
        handle = await replay.emu.place_call(routing_key, CALLER_NUMBER, caller_name=CALLER_NAME)
        if handle.entered_stasis != enters:
            raise TraceMismatch(f"the call entered Stasis: {handle.entered_stasis}")
        if not enters and replay.emu.channels():
            raise TraceMismatch("a call that never reached ARI left a channel behind")
        replay.callers.append(handle.channel_id)

    return act


async def caller_hangs_up(replay: Replay) -> None:
    """The latest caller sends BYE."""
    await replay.emu.hang_up_caller(replay.callers[-1])


def dtmf(digits: str) -> Action:
    async def act(replay: Replay) -> None:
        await replay.emu.send_dtmf(replay.callers[-1], digits)

    return act


def registers(endpoint: str, online: bool) -> Action:
    async def act(replay: Replay) -> None:
        replay.emu.set_online(endpoint, online)

    return act


async def close_ws(replay: Replay) -> None:
    await replay.close_ws()


async def open_ws(replay: Replay) -> None:
    await replay.open_ws()


# Keyed on the step labels the recordings share (tests/asterisk/traces.py writes the same
# ones), so that one table serves every recording.
CALLS = At("carrier calls 18")
SCENARIOS: dict[str, Scenario] = {
    "a": Scenario("a", {CALLS: [call()]}),
    "b": Scenario("b", {CALLS: [call()]}),
    "c": Scenario("c", {CALLS: [call()]}),
    "d": Scenario("d", {CALLS: [call()]}),
    "e": Scenario("e", {CALLS: [call()], At("caller abandons"): [caller_hangs_up]}),
    "f": Scenario(
        "f",
        {
            At("sdis77-op1 unregisters"): [registers("sdis77-op1", False)],
            At("sdis77-op1 registers again"): [registers("sdis77-op1", True)],
        },
    ),
    "g": Scenario("g", {CALLS: [call()]}),
    "h": Scenario(
        "h",
        {
            CALLS: [call()],
            At("while disconnected"): [close_ws],  # part 1: the client closes its websocket
            At("websocket reconnected with the same app name"): [open_ws],
            At("part 2: websocket closed"): [close_ws, caller_hangs_up],
            At("part 2: websocket reconnected"): [open_ws],
            At("part 3: websocket closed"): [close_ws],  # nothing left in Stasis
            At("part 3: a call to 18 arrives"): [call(enters=False)],
            At("part 3: websocket reconnected"): [open_ws],
        },
    ),
    # Slow clock: the two halves of a Local channel are hung up one after the other
    # within the 50 ms (clock) the second half takes to follow; nothing else waits.
    "i": Scenario("i", {CALLS: [call()]}, speed=0.1),
    "j": Scenario(
        "j",
        {
            CALLS: [call()],
            At("answer caller; sipp sends", "ChannelDtmfReceived"): [dtmf("18#")],
            At("answer caller; sipp sends", "ChannelHangupRequest"): [caller_hangs_up],
        },
    ),
    "k": Scenario("k"),
    "l": Scenario("l", {CALLS: [call()]}),
    "m": Scenario("m"),
    "n": Scenario(
        "n",
        {
            At("position sdis83-op2 comes online"): [registers("sdis83-op2", True)],
            CALLS: [call()],
            At("position sdis83-op2 unregisters again"): [registers("sdis83-op2", False)],
        },
        # The operator hangs up 4 s after answering: leave the replay time to bridge it.
        speed=4.0,
    ),
}
