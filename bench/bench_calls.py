"""A national surge through the whole application on the emulator: a burst of simultaneous
calls, or a steady rate of new calls with the event loop's lag.

    python bench/bench_calls.py [--calls 2000] [--speed 1] [--talk 10] [--seed 1]
    python bench/bench_calls.py --rate 100 --duration 30 [--talk 10]

The national topology (94 centres, 2001 positions) on the in-process emulator; every
position answers 2 s after ringing and talks ``--talk`` seconds; callers are spread over the
departments in proportion to their positions.

Burst (default): ``--calls`` callers dial within the same second. Measured: real time until
every caller talked to an operator, CPU time and the work per call (ARI events sent, REST
requests, announcements played) over every call's whole life, answer waits, and the checks
that matter: no call lost, nothing left in Asterisk once the calls ended.

Rate (``--rate``): that many new calls a second for ``--duration`` seconds. Measured as
above, plus the lag of the event loop (how late a callback due every 10 ms runs), p50/p99/max
over the arrivals.

Emulator and application share one process and one core: the figures are a floor for the
application alone. The clock runs at real speed by default: faster, a burst that takes longer
to absorb than the callers' timers (announcement reminders every 30 s, ring timeout 20 s) do
more work per call at larger sizes, and the sizes no longer compare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ari_app.calls.config import CallSettings
from ari_app.calls.journal import MemoryJournal
from ari_app.calls.modes import MemoryModeRecorder
from ari_app.calls.running import call_handling
from ari_app.calls.service import CallService
from ari_app.clock import ScaledClock
from ari_app.sim import Answer, Emulator
from ari_app.stasis import AriConfig
from ari_app.vcta import Centre, load_topology

NATIONAL = Path(__file__).resolve().parent.parent / "ari_app" / "examples" / "national.toml"
LAG_TICK_S = 0.01


async def until(predicate: Callable[[], bool]) -> None:
    """Poll a counter: the emulator's records change without an event to wait on."""
    while not predicate():  # noqa: ASYNC110 - nothing to await but the state itself
        await asyncio.sleep(0.05)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LoopLag:
    """How late a callback due every ``LAG_TICK_S`` runs: the event loop's lag."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_TICK_S
            await asyncio.sleep(LAG_TICK_S)
            self.samples.append(loop.time() - due)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="bench-loop-lag")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def quantile_ms(self, share: float) -> float:
        ordered = sorted(self.samples)
        return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Run:
    calls: int
    arrivals_s: float  # real time from the first call to the last
    talking_after_s: float  # real time from the first call until every caller talked
    talking_after_sim_s: float
    cpu_s: float
    events: int
    requests: int
    playbacks: int
    waits: list[float]
    lost: int
    cleaned_after_s: float


async def place(
    emulator: Emulator, centres: list[Centre], rate: float | None
) -> tuple[list[str], float]:
    """Place one call per centre drawn, all at once or ``rate`` a second; (ids, seconds)."""
    started = time.perf_counter()
    if rate is None:
        handles = await asyncio.gather(
            *(
                emulator.place_call(routing_key=f"{c.department}001", number=f"06{i:08d}")
                for i, c in enumerate(centres)
            )
        )
        return [h.channel_id for h in handles], time.perf_counter() - started
    ids: list[str] = []
    for i, centre in enumerate(centres):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        handle = await emulator.place_call(
            routing_key=f"{centre.department}001", number=f"06{i:08d}"
        )
        ids.append(handle.channel_id)
    return ids, time.perf_counter() - started


async def bench(
    calls: int, speed: float, talk_s: float, seed: int, rate: float | None = None
) -> tuple[Run, LoopLag]:
    topology = load_topology(NATIONAL)
    clock = ScaledClock(speed)
    emulator = Emulator(clock=clock, users={"bench": "bench"}, app="vcta")
    for position in topology.position_by_id.values():
        emulator.add_endpoint(
            position.endpoint.split("/", 1)[1], script=Answer(after_s=2.0, talk_s=talk_s)
        )
    base_url = await emulator.start()
    rng = random.Random(seed)
    weights = [(c, len(c.positions)) for c in topology.centres if c.department]
    centres = rng.choices([c for c, _ in weights], [w for _, w in weights], k=calls)
    lag = LoopLag()
    try:
        async with call_handling(
            ari_config=AriConfig(base_url, "bench", "bench"),
            topology=topology,
            modes=None,
            journal=MemoryJournal(),
            recorder=MemoryModeRecorder(),
            clock=clock,
            # No setup guard: the emulator's dialplan has no fallback (a caller handed back
            # would be hung up), and this bench measures the cost of handling every call.
            settings=CallSettings(app_name="vcta", wrap_up_s=0.0, setup_guard_s=None),
        ) as service:
            await service.wait_ready()
            run = await measure(emulator, service, clock, centres, rate, lag)
    finally:
        lag.stop()
        await emulator.stop()
    return run, lag


async def measure(  # noqa: PLR0917 - the parts of one run
    emulator: Emulator,
    service: CallService,
    clock: ScaledClock,
    centres: list[Centre],
    rate: float | None,
    lag: LoopLag,
) -> Run:
    def counts() -> dict[str, int]:
        return emulator.pbx.history.counts()

    base = counts()
    calls = len(centres)
    if rate is not None:
        lag.start()
    cpu0, t0, sim0 = cpu_seconds(), time.perf_counter(), clock.now()
    before = emulator.stats()
    requests0 = service.ari.requests
    ids, arrivals_s = await place(emulator, centres, rate)
    lag.stop()
    # Counters, not the records: reading 2000 records every poll would be measured too.
    await until(
        lambda: (
            counts()["calls_talked"]
            - base["calls_talked"]
            + counts()["calls_unanswered"]
            - base["calls_unanswered"]
            >= calls
        )
    )
    talking_after_s = time.perf_counter() - t0
    talking_after_sim_s = clock.now() - sim0
    await until(lambda: counts()["calls_live"] == base["calls_live"])
    await until(lambda: not (emulator.channels() or emulator.bridges() or service.sessions))
    # The whole life of every call, to its clean-up: counted until all talk only, a larger
    # burst (longer to absorb) counted the hang-ups of its first calls and a smaller not.
    cpu_s = cpu_seconds() - cpu0
    after = emulator.stats()
    requests = service.ari.requests - requests0
    records = [emulator.call(i) for i in ids]
    waits = sorted(r.first_talk_at - r.created_at for r in records if r and r.first_talk_at)
    lost = sum(1 for r in records if r is not None and r.ended and not r.talked)
    return Run(
        calls=calls,
        arrivals_s=arrivals_s,
        talking_after_s=talking_after_s,
        talking_after_sim_s=talking_after_sim_s,
        cpu_s=cpu_s,
        events=after["events_sent"] - before["events_sent"],
        requests=requests,
        playbacks=after["playbacks_queued"] - before["playbacks_queued"],
        waits=waits,
        lost=lost,
        cleaned_after_s=time.perf_counter() - t0,
    )


def report(run: Run, lag: LoopLag, speed: float, rate: float | None) -> None:
    def p(share: float) -> float:
        return run.waits[min(len(run.waits) - 1, int(share * len(run.waits)))]

    n = run.calls
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    shape = "simultaneous" if rate is None else f"at {rate:g}/s over {run.arrivals_s:.1f} s"
    print(f"{n} calls {shape}, speed {speed:g}x")
    print(
        f"all callers talking to an operator after {run.talking_after_s:.1f} s real "
        f"({run.talking_after_sim_s:.0f} s simulated)"
    )
    print(
        f"CPU from the first call to the last clean-up: {run.cpu_s:.1f} s "
        f"({1000 * run.cpu_s / n:.2f} ms per call, emulator included)"
    )
    print(
        f"work per call: {run.events / n:.2f} ARI events, {run.requests / n:.2f} REST requests,"
        f" {run.playbacks / n:.2f} playbacks"
    )
    print(f"answer wait (simulated s): p50 {p(0.5):.1f}, p90 {p(0.9):.1f}, max {run.waits[-1]:.1f}")
    if rate is not None and lag.samples:
        print(
            f"event-loop lag while calls arrive ({len(lag.samples)} samples): "
            f"p50 {lag.quantile_ms(0.5):.1f} ms, p99 {lag.quantile_ms(0.99):.1f} ms, "
            f"max {1000 * max(lag.samples):.1f} ms"
        )
    print(f"lost: {run.lost}; everything cleaned up after {run.cleaned_after_s:.1f} s real")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="callers in the burst")
    parser.add_argument("--rate", type=float, help="new calls a second instead of a burst")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of arrivals")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--talk", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.calls < 1 or (args.rate is not None and (args.rate <= 0 or args.duration <= 0)):
        parser.error("--calls, --rate and --duration must be positive")
    calls = args.calls if args.rate is None else round(args.rate * args.duration)
    run, lag = asyncio.run(bench(calls, args.speed, args.talk, args.seed, args.rate))
    report(run, lag, args.speed, args.rate)


if __name__ == "__main__":
    main()
