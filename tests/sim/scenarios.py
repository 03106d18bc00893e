"""For each reference trace, what happens on the SIP side and when (before which trace line)."""

from __future__ import annotations

from tests.sim.lab import CALLER_NAME, CALLER_NUMBER
from tests.sim.replay import Action, Replay, Scenario, TraceMismatch


def call(routing_key: str = "18", *, enters: bool = True) -> Action:
    """The carrier calls ``routing_key``; ``enters=False`` when no application exists."""

    async def act(replay: Replay) -> None:
        handle = await replay.emu.place_call(routing_key, CALLER_NUMBER, caller_name=CALLER_NAME)
        if handle.entered_stasis != enters:
            raise TraceMismatch(f"the call entered Stasis: {handle.entered_stasis}")
        if not enters and replay.emu.channels():
            raise TraceMismatch("a call that never reached ARI left a channel behind")

    return act


def caller_hangs_up(trace_channel_id: str) -> Action:
    async def act(replay: Replay) -> None:
        await replay.emu.hang_up_caller(replay.ids.substitute(trace_channel_id))

    return act


def dtmf(trace_channel_id: str, digits: str) -> Action:
    async def act(replay: Replay) -> None:
        await replay.emu.send_dtmf(replay.ids.substitute(trace_channel_id), digits)

    return act


def registers(endpoint: str, online: bool) -> Action:
    async def act(replay: Replay) -> None:
        replay.emu.set_online(endpoint, online)

    return act


async def close_ws(replay: Replay) -> None:
    await replay.close_ws()


async def open_ws(replay: Replay) -> None:
    await replay.open_ws()


SCENARIOS: dict[str, Scenario] = {
    "a": Scenario("a", {1: [call()]}),
    "b": Scenario("b", {1: [call()]}),
    "c": Scenario("c", {2: [call()]}),
    "d": Scenario("d", {1: [call()]}),
    "e": Scenario("e", {1: [call()], 14: [caller_hangs_up("1795887711.7")]}),
    "f": Scenario("f", {9: [registers("sdis77-op1", False)], 15: [registers("sdis77-op1", True)]}),
    "g": Scenario("g", {1: [call()]}),
    "h": Scenario(
        "h",
        {
            1: [call()],
            9: [close_ws],  # part 1: the client closes its websocket
            13: [open_ws],
            31: [call()],
            37: [close_ws, caller_hangs_up("1795887754.18")],  # part 2
            40: [open_ws],
            46: [close_ws],  # part 3: nothing left in Stasis
            48: [call(enters=False)],
            49: [open_ws],
        },
    ),
    # Slow clock: the two halves of a Local channel are hung up one after the other
    # within the 50 ms (clock) the second half takes to follow; nothing else waits.
    "i": Scenario("i", {38: [call()]}, speed=0.1),
    "j": Scenario(
        "j",
        {1: [call()], 4: [dtmf("1795887787.23", "18#")], 12: [caller_hangs_up("1795887787.23")]},
    ),
    "k": Scenario("k"),
    "l": Scenario("l", {1: [call()]}),
    "m": Scenario("m"),
    "n": Scenario(
        "n",
        {1: [registers("sdis83-op2", True)], 2: [call()], 66: [registers("sdis83-op2", False)]},
        # The operator hangs up 4 s after answering: leave the replay time to bridge it.
        speed=4.0,
    ),
}
