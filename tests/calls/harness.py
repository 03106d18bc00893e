"""The application against the emulator, in-process: the fixture of the call-handling tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ari_app.calls.config import CallSettings
from ari_app.calls.journal import Journal, JournalEntry, JournalKind, MemoryJournal
from ari_app.calls.modes import MemoryModeRecorder
from ari_app.calls.service import CallService
from ari_app.clock import ScaledClock
from ari_app.sim import Answer, Emulator
from ari_app.sim.scripts import PositionScript
from ari_app.stasis import AriClient, AriConfig, Backoff, EventStream
from ari_app.stasis.stream import StreamTimings
from ari_app.vcta import PolicyState, Topology, load_topology
from tests.waiting import wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "ari_app" / "examples" / "sdis77.toml"
APP = "vcta"
USER, PASSWORD = "ari-app", "secret"
# Simulated time runs this much faster than real time: a 20 s ring timeout takes 0.4 s.
SPEED = 50.0
RECONNECT_S = 0.3  # real seconds before the event stream comes back after a drop


class TeeJournal(MemoryJournal):
    """Keeps entries in memory (for the tests' waits) and also records them in ``also``."""

    def __init__(self, also: Journal) -> None:
        super().__init__()
        self.also = also

    def record(self, entry: JournalEntry) -> None:
        super().record(entry)
        self.also.record(entry)


@dataclass
class Harness:
    emulator: Emulator
    service: CallService
    journal: MemoryJournal
    recorder: MemoryModeRecorder
    topology: Topology
    clock: ScaledClock
    ari: AriClient
    _stream: EventStream | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def policy(self) -> PolicyState:
        return self.service.policy

    async def restart(self) -> None:
        """Stop the application as a crash would, and start a new one with an empty memory."""
        await self.stop_application()
        await self.start_application()

    async def start_application(self) -> None:
        """Start a new application with an empty memory (everything from Asterisk)."""
        service, ari, stream = new_service(
            emulator=self.emulator,
            topology=self.topology,
            clock=self.clock,
            journal=self.journal,
            recorder=self.recorder,
            settings=self.service.settings,
        )
        self.service, self.ari, self._stream = service, ari, stream
        self._task = asyncio.create_task(service.run(), name="test:call-service")
        await wait_until(lambda: service.ready, what="the restarted application to be ready")

    async def stop_application(self) -> None:
        """Stop the application as a crash would: calls stay in Asterisk."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.service.stop()
        if self._stream is not None:
            await self._stream.close()
        await self.ari.close()

    async def call(
        self, routing_key: str = "18", number: str = "0612345678", patience_s: float | None = None
    ) -> str:
        handle = await self.emulator.place_call(
            routing_key=routing_key, number=number, app=APP, patience_s=patience_s
        )
        assert handle.entered_stasis, "the call did not reach the application"
        return handle.channel_id

    def entries(self, call_id: str, kind: JournalKind | None = None) -> list[JournalEntry]:
        return [e for e in self.journal.of_call(call_id) if kind is None or e.kind is kind]

    def kinds(self, call_id: str) -> list[JournalKind]:
        return [e.kind for e in self.journal.of_call(call_id)]

    async def until_journal(
        self, call_id: str, kind: JournalKind, within: float = 5.0
    ) -> JournalEntry:
        await wait_until(
            lambda: bool(self.entries(call_id, kind)), within=within, what=f"{kind} of {call_id}"
        )
        return self.entries(call_id, kind)[-1]

    async def until_talking(self, call_id: str, within: float = 5.0) -> str:
        """Wait until the caller talks to an operator; returns the position's endpoint."""
        await wait_until(
            lambda: (r := self.emulator.call(call_id)) is not None and r.talked,
            within=within,
            what=f"{call_id} talking to an operator",
        )
        record = self.emulator.call(call_id)
        assert record is not None
        assert record.first_talk_endpoint is not None
        return record.first_talk_endpoint

    async def until_ended(self, call_id: str, within: float = 5.0) -> JournalEntry:
        return await self.until_journal(call_id, JournalKind.ENDED, within)

    async def until_idle(self, within: float = 5.0) -> None:
        """Wait until no call is left, in the application and in Asterisk."""
        await wait_until(
            lambda: (
                not self.service.sessions
                and not self.emulator.channels()
                and not self.emulator.bridges()
                and not self.emulator.playbacks()
                and not self.emulator.live_recordings()
            ),
            within=within,
            what="nothing left in the application and in Asterisk",
        )

    def left_behind(self) -> dict[str, list[Any]]:
        return {
            "channels": self.emulator.channels(),
            "bridges": self.emulator.bridges(),
            "playbacks": self.emulator.playbacks(),
            "live_recordings": self.emulator.live_recordings(),
        }


def new_service(
    *,
    emulator: Emulator,
    topology: Topology,
    clock: ScaledClock,
    journal: MemoryJournal,
    recorder: MemoryModeRecorder,
    settings: CallSettings,
) -> tuple[CallService, AriClient, EventStream]:
    config = AriConfig(emulator.base_url, USER, PASSWORD)
    ari = AriClient(config, max_connections=128)
    # A fixed, short reconnection delay: tests act while the stream is down, then see it back.
    backoff = Backoff(lambda: 1.0, initial=RECONNECT_S, maximum=RECONNECT_S)
    stream = EventStream(config, APP, timings=StreamTimings(), backoff=backoff)
    service = CallService(
        ari=ari,
        events=stream,
        topology=topology,
        policy=PolicyState(topology),
        journal=journal,
        recorder=recorder,
        clock=clock,
        settings=settings,
        open_calls=journal,
    )
    return service, ari, stream


@contextlib.asynccontextmanager
async def running(
    *,
    topology: Topology | None = None,
    script: PositionScript | None = None,
    scripts: dict[str, PositionScript] | None = None,
    offline: tuple[str, ...] = (),
    speed: float = SPEED,
    sounds: dict[str, float | None] | None = None,
    journal_also: Journal | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """The emulator with every position of the topology, and the application connected.

    Positions answer after 1 s unless ``scripts`` (by endpoint resource) or ``script`` says
    otherwise; those in ``offline`` are not registered. Entries are also recorded in
    ``journal_also`` when given.
    """
    topology = topology or load_topology(EXAMPLE)
    clock = ScaledClock(speed)
    emulator = Emulator(clock=clock, users={USER: PASSWORD}, app=APP, sounds=sounds)
    await emulator.start()
    for position in topology.position_by_id.values():
        resource = position.endpoint.split("/", 1)[1]
        chosen = (scripts or {}).get(resource) or script or Answer(after_s=1.0)
        emulator.add_endpoint(resource, script=chosen, online=resource not in offline)
    journal = MemoryJournal() if journal_also is None else TeeJournal(journal_also)
    recorder = MemoryModeRecorder()
    # No setup guard unless a test asks: the emulator's dialplan has no fallback (a caller
    # handed back is hung up), and at SPEED a few clock seconds are a fraction of a real one.
    defaults = {"wrap_up_s": 0.0, "setup_guard_s": None}
    call_settings = CallSettings(app_name=APP, **{**defaults, **settings})
    service, ari, stream = new_service(
        emulator=emulator,
        topology=topology,
        clock=clock,
        journal=journal,
        recorder=recorder,
        settings=call_settings,
    )
    harness = Harness(emulator, service, journal, recorder, topology, clock, ari, stream)
    harness._task = asyncio.create_task(service.run(), name="test:call-service")
    try:
        await wait_until(lambda: service.ready, what="the application to be ready")
        yield harness
    finally:
        await harness.stop_application()
        await emulator.stop()
