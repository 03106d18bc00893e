"""Each reference trace (a to n) replayed against the emulator gives the same events and answers."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ari_app.sim import Emulator, NoAnswer
from tests.reference_dir import recording_name, reference_dirs
from tests.sim.lab import lab_emulator
from tests.sim.reference import TRACE_LETTERS, load_trace
from tests.sim.replay import Replay, TraceMismatch
from tests.sim.scenarios import SCENARIOS


async def replay(
    letter: str,
    lines: list[dict[str, Any]] | None = None,
    setup: Callable[[Emulator], None] | None = None,
) -> None:
    scenario = SCENARIOS[letter]
    emu = lab_emulator(scenario.speed)
    if setup is not None:
        setup(emu)
    await emu.start()
    try:
        async with aiohttp.ClientSession() as session:
            run = Replay(emu, session, lines or load_trace(letter), scenario)
            try:
                await run.run()
            finally:
                await run.aclose()
    finally:
        await emu.stop()


RECORDINGS = [pytest.param(base, id=recording_name(base)) for base in reference_dirs()]


@pytest.mark.parametrize("base", RECORDINGS)
def test_every_trace_has_a_scenario(base: Path) -> None:
    letters = sorted(path.name[0] for path in (base / "traces").glob("*.jsonl"))
    assert letters == list(TRACE_LETTERS) == sorted(SCENARIOS)


@pytest.mark.parametrize("letter", list(TRACE_LETTERS))
@pytest.mark.parametrize("base", RECORDINGS)
async def test_emulator_reproduces_trace(base: Path, letter: str) -> None:
    await replay(letter, load_trace(letter, base))


async def test_replay_fails_when_a_cause_code_drifts() -> None:
    lines = copy.deepcopy(load_trace("b"))
    destroyed = next(line for line in lines if line.get("type") == "ChannelDestroyed")
    destroyed["event"]["cause"] = 18
    with pytest.raises(TraceMismatch, match="cause"):
        await replay("b", lines)


async def test_replay_fails_when_an_error_body_drifts() -> None:
    lines = copy.deepcopy(load_trace("c"))
    failed = next(line for line in lines if line.get("status") == 500)
    failed["response"] = {"message": "Allocation failed"}
    with pytest.raises(TraceMismatch, match="keys differ"):
        await replay("c", lines)


async def test_replay_fails_when_the_emulator_sends_an_event_the_trace_lacks() -> None:
    lines = copy.deepcopy(load_trace("a"))
    last = max(i for i, line in enumerate(lines) if line.get("type") == "BridgeDestroyed")
    del lines[last]
    with pytest.raises(TraceMismatch, match="unexpected event"):
        await replay("a", lines)


async def test_replay_fails_when_the_emulator_sends_other_events() -> None:
    # The busy position rings instead: ChannelStateChange where the trace has
    # ChannelHangupRequest.
    with pytest.raises(TraceMismatch, match="instead"):
        await replay("b", setup=lambda emu: emu.set_script("sdis77-op2", NoAnswer()))


async def test_replay_fails_when_a_device_state_drifts() -> None:
    # Device states are compared apart from the channel events, but still compared.
    lines = copy.deepcopy(load_trace("f"))
    changed = next(line for line in lines if line.get("type") == "DeviceStateChanged")
    changed["event"]["device_state"]["state"] = "BUSY"
    with pytest.raises(TraceMismatch, match=r"device_state\.state"):
        await replay("f", lines)
