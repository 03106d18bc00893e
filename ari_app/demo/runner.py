"""The demo: emulator, application and simulated traffic in one process, then a report."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from prometheus_client import CollectorRegistry

from ari_app.api import MemoryModeHistory, MemoryTokens, build_api, serve_api
from ari_app.api.activity import Activity, ActivityJournal
from ari_app.api.metrics import MetricsJournal
from ari_app.calls.config import CallSettings
from ari_app.calls.journal import JournalKind, MemoryJournal
from ari_app.calls.modes import MemoryModeRecorder
from ari_app.calls.running import call_handling
from ari_app.calls.service import CallService
from ari_app.clock import ScaledClock
from ari_app.demo.report import build_report, call_facts
from ari_app.sim import Emulator
from ari_app.sim.traffic import CallerTraffic, Operator, Surge, TrafficProfile
from ari_app.stasis import AriConfig
from ari_app.vcta import SetCrisisMessage, Topology, load_topology

APP = "vcta"
USER = "ari-app"
CRISIS_MESSAGE = "sound:pls-hold-while-try"
_OVERFLOW = ("mutual_aid", "last_resort")
UTILISATION = 0.5  # share of each centre's positions busy at the ordinary rate


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What the demo simulates; times in simulated seconds."""

    duration_s: float = 900.0
    seed: int = 18112
    speed: float = 20.0
    surge_centre: str | None = "sdis77"
    surge_factor: float = 4.0
    topology_path: Path | None = None
    progress_every_s: float | None = None  # default: a tenth of the duration, 30 s at least
    api_port: int | None = None  # serve the duty-officer API on 127.0.0.1:<port> meanwhile
    drain_limit_s: float = 900.0

    @property
    def surge_window(self) -> tuple[float, float]:
        """The surge covers the middle third of the run."""
        return self.duration_s / 3, 2 * self.duration_s / 3


def example_topology() -> Topology:
    with resources.as_file(resources.files("ari_app") / "examples" / "sdis77.toml") as path:
        return load_topology(path)


def traffic_profile(topology: Topology, options: DemoOptions) -> TrafficProfile:
    """Calls in proportion to each centre's positions; commune codes of its department."""
    profile = TrafficProfile(calls_per_hour={}, routing_keys={})
    per_position = UTILISATION * 3600 / profile.handling_mean_s
    calls_per_hour: dict[str, float] = {}
    keys: dict[str, tuple[str, ...]] = {}
    for centre in topology.centres:
        if centre.department is None:
            continue  # the national backup unit has no callers of its own
        calls_per_hour[centre.id] = per_position * len(centre.positions)
        communes = tuple(f"{centre.department}{n:03d}" for n in range(1, 400, 7))
        keys[centre.id] = (*centre.routing_keys, *communes)
    surge = None
    if options.surge_centre is not None:
        start, end = options.surge_window
        surge = Surge(options.surge_centre, options.surge_factor, start, end)
    return TrafficProfile(calls_per_hour=calls_per_hour, routing_keys=keys, surge=surge)


class Demo:
    """One run of the demo; ``await run()`` returns the report."""

    def __init__(self, options: DemoOptions, *, progress: TextIO | None = sys.stdout) -> None:
        self.options = options
        self.progress = progress
        self.topology = (
            load_topology(options.topology_path) if options.topology_path else example_topology()
        )
        if options.surge_centre is not None and (
            options.surge_centre not in self.topology.centre_by_id
        ):
            known = ", ".join(c.id for c in self.topology.centres)
            raise ValueError(f"surge centre {options.surge_centre!r} is not one of: {known}")
        self.clock = ScaledClock(options.speed)
        self.journal = MemoryJournal()
        self.activity = Activity()  # the last hour the dashboard shows
        self.recorder = MemoryModeRecorder()
        self.profile = traffic_profile(self.topology, options)

    async def run(self) -> dict[str, Any]:
        options = self.options
        password = secrets.token_urlsafe(16)
        emulator = Emulator(clock=self.clock, users={USER: password}, app=APP)
        for position in self.topology.position_by_id.values():
            rng = random.Random(f"{options.seed}:operator:{position.id}")
            emulator.add_endpoint(
                position.endpoint.split("/", 1)[1], script=Operator(rng, self.profile)
            )
        base_url = await emulator.start()
        traffic = CallerTraffic(emulator, self.clock, self.profile, options.seed, APP)
        registry = CollectorRegistry()
        try:
            async with (
                call_handling(
                    ari_config=AriConfig(base_url, USER, password),
                    topology=self.topology,
                    modes=None,
                    journal=MetricsJournal(ActivityJournal(self.journal, self.activity), registry),
                    recorder=self.recorder,
                    clock=self.clock,
                    # No setup guard: the emulator's dialplan has no fallback to hand a
                    # caller back to (its callers would be hung up).
                    settings=CallSettings(app_name=APP, setup_guard_s=None),
                ) as service,
                contextlib.AsyncExitStack() as stack,
            ):
                async with asyncio.timeout(10.0):
                    await service.wait_ready()
                self._say(self._scenario(base_url))
                if options.api_port is not None:
                    await self._serve_api(stack, service, registry, options.api_port)
                start = self.clock.now()
                ticker = asyncio.create_task(self._report_progress(service, start))
                officer = asyncio.create_task(self._duty_officer(service, start))
                try:
                    await traffic.run(options.duration_s)
                    self._say("arrivals stopped; waiting for the calls in progress to end")
                    await self._drain(emulator, traffic)
                finally:
                    ticker.cancel()
                    officer.cancel()
                facts = call_facts(
                    self.topology,
                    traffic.placed,
                    emulator.history(),
                    self.journal.entries,
                    self.clock.now(),
                )
                report = build_report(self.topology, facts)
                report["total"]["refused_by_asterisk"] = traffic.refused
                return report
        finally:
            await emulator.stop()

    async def _serve_api(
        self,
        stack: contextlib.AsyncExitStack,
        service: CallService,
        registry: CollectorRegistry,
        port: int,
    ) -> None:
        """The duty officers' API over the demo's calls, with a national token printed once."""
        tokens = MemoryTokens()
        token = tokens.issue("demo duty officer", ["national"])
        api = build_api(
            calls=service,
            tokens=tokens,
            history=MemoryModeHistory(self.recorder, self.topology),
            registry=registry,
            activity=self.activity,
            clock=self.clock,
        )
        try:
            served = await stack.enter_async_context(serve_api(api, "127.0.0.1", port))
        except OSError as error:
            where = f"127.0.0.1:{port}"
            raise ValueError(f"cannot serve the API on {where}: {error.strerror}") from None
        self._say(
            f"duty-officer API at {served.url} (a national token on the next line);"
            " try, in another shell:\n"
            f"  export ARI_APP_API_URL={served.url} ARI_APP_API_TOKEN={token}\n"
            "  ari-app status; ari-app mutual-aid sdis91 --in off --reason test\n"
            f"dashboard at {served.url}/dashboard/ (sign in with the token above)"
        )

    def _scenario(self, base_url: str) -> str:
        options, topology = self.options, self.topology
        lines = [
            f"emulated Asterisk at {base_url}; application {APP!r} connected",
            f"{len(topology.centres)} centres, {topology.position_count} positions; "
            f"{options.duration_s:g} s of calls simulated {options.speed:g}x faster than real "
            f"time (seed {options.seed})",
        ]
        surge = self.profile.surge
        if surge is not None:
            lines.append(
                f"surge at {surge.centre} from {surge.start_s:g} s to {surge.end_s:g} s "
                f"(x{surge.factor:g}), mutual aid on"
            )
        return "\n".join(lines)

    async def _duty_officer(self, service: CallService, start: float) -> None:
        """The surge centre's duty officer announces the crisis when it starts, clears it after."""
        surge = self.profile.surge
        if surge is None:
            return
        await self.clock.sleep(surge.start_s - (self.clock.now() - start))
        self._say(f"surge: calls to {surge.centre} arrive {surge.factor:g} times faster")
        service.change_modes(
            SetCrisisMessage(surge.centre, CRISIS_MESSAGE),
            actor=f"duty officer {surge.centre}",
            reason="storm: every crew is out",
        )
        self._say(f"{surge.centre} duty officer sets the crisis message {CRISIS_MESSAGE}")
        await self.clock.sleep(surge.end_s - (self.clock.now() - start))
        service.change_modes(
            SetCrisisMessage(surge.centre, None),
            actor=f"duty officer {surge.centre}",
            reason="storm over",
        )
        self._say(f"surge over; {surge.centre} duty officer clears the crisis message")

    async def _drain(self, emulator: Emulator, traffic: CallerTraffic) -> None:
        """Wait until every caller has reached an operator or hung up (conversations still
        going on change nothing in the report)."""
        deadline = self.clock.now() + self.options.drain_limit_s
        while self.clock.now() < deadline:
            records = (emulator.call(call_id) for call_id in traffic.placed)
            if all(record is None or record.ended or record.talked for record in records):
                return
            await self.clock.sleep(2.0)

    async def _report_progress(self, service: CallService, start: float) -> None:
        every = self.options.progress_every_s or max(30.0, self.options.duration_s / 10)
        while True:
            await self.clock.sleep(every)
            self._progress_table(service, self.clock.now() - start)

    def _progress_table(self, service: CallService, elapsed: float) -> None:
        if self.progress is None:
            return
        units = {unit.unit_id: unit for unit in service.snapshot()}
        answered: dict[str, int] = {}
        moved: dict[str, int] = {}
        for entry in self.journal.entries:
            if entry.kind is JournalKind.CONNECTED and entry.home_centre:
                answered[entry.home_centre] = answered.get(entry.home_centre, 0) + 1
            if entry.kind is JournalKind.MOVED and entry.details.get("kind") in _OVERFLOW:
                home = entry.home_centre or "?"
                moved[home] = moved.get(home, 0) + 1
        minutes, seconds = divmod(int(elapsed), 60)
        lines = [f"-- t={minutes:02d}:{seconds:02d} (simulated) --"]
        for centre in self.topology.centres:
            unit = units[service.policy.unit_of_centre(centre.id)]
            lines.append(
                f"  {centre.id:<17} queue {unit.queue_length:>3}  free {unit.free_positions:>2}"
                f"  answered {answered.get(centre.id, 0):>4}"
                f"  overflowed {moved.get(centre.id, 0):>3}"
                + ("  [saturated]" if unit.saturated else "")
                + (f"  (pooled in {unit.unit_id})" if unit.unit_id != centre.id else "")
            )
        self._say("\n".join(lines))

    def _say(self, text: str) -> None:
        if self.progress is not None:
            print(text, file=self.progress, flush=True)
