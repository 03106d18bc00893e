"""Fixtures: a started emulator, the typed client and an event stream connected to it over
real HTTP and websockets, in this process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ari_app.sim import Emulator
from ari_app.stasis import AriClient, AriConfig, Backoff, EventStream, StreamConnected
from tests.integration.flows import until_app_bound
from tests.integration.recorder import EventRecorder
from tests.integration.world import APP, PASSWORD, USER, build_emulator

# A fixed reconnection delay (no jitter): long enough for a test to act while the stream
# is down, short enough to keep the suite quick.
RECONNECT_DELAY_S = 0.2


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = build_emulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
def config(emu: Emulator) -> AriConfig:
    return AriConfig(emu.base_url, USER, PASSWORD)


@pytest.fixture
async def ari(config: AriConfig) -> AsyncIterator[AriClient]:
    async with AriClient(config, timeout=5.0) as client:
        yield client


@pytest.fixture
async def events(emu: Emulator, config: AriConfig) -> AsyncIterator[EventRecorder]:
    """The application's event stream, connected and bound to ``APP`` in the emulator."""
    stream = EventStream(
        config,
        APP,
        backoff=Backoff(lambda: 1.0, initial=RECONNECT_DELAY_S, maximum=RECONNECT_DELAY_S),
    )
    recorder = EventRecorder(stream)
    recorder.start()
    try:
        await recorder.wait_for(StreamConnected)
        await until_app_bound(emu)
        yield recorder
    finally:
        await recorder.close()
