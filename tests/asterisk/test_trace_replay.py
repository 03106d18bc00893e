"""The emulator against a live Asterisk 22: the happy path recorded now, with the reference
lab's configuration and sipp peers, replays on the emulator with the same events and
answers. Keeps the comparison of tests/sim/test_conformance.py alive beyond the recordings
kept in the repository."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.asterisk.bed import SipPeers, start_lab_asterisk
from tests.asterisk.traces import Lab, lab_ready, record
from tests.sim.lab import lab_emulator
from tests.sim.replay import Replay
from tests.sim.scenarios import SCENARIOS


@pytest.fixture
async def lab(asterisk_image: str, tmp_path: Path) -> AsyncIterator[Lab]:
    with start_lab_asterisk(asterisk_image) as node:
        await lab_ready(node)
        peers = SipPeers(node, tmp_path)
        try:
            the_lab = Lab(node, peers)
            await peers.position("sdis77-op1", "answer", ring_ms=1000)
            yield the_lab
        finally:
            peers.stop()


@pytest.mark.timeout(60)
async def test_happy_path_recorded_now_replays_identically_on_the_emulator(lab: Lab) -> None:
    lines = await record("a", lab)
    assert next(line["type"] for line in lines if line["kind"] == "event") == "StasisStart"

    scenario = SCENARIOS["a"]
    emu = lab_emulator(scenario.speed)
    await emu.start()
    try:
        async with aiohttp.ClientSession() as session:
            replay = Replay(emu, session, lines, scenario)
            try:
                await replay.run()
            finally:
                await replay.aclose()
    finally:
        await emu.stop()
