"""A national surge through the whole application: N simultaneous calls on the emulator.

    python bench/bench_calls.py [--calls 2000] [--speed 5] [--talk 60]

The national topology (94 centres, 2001 positions) on the in-process emulator; every
position answers 2 s after ringing and talks ``--talk`` seconds; ``--calls`` callers, spread
over the departments in proportion to their positions, all dial within the same second.
Measured: real time until every caller talked to an operator, CPU time, ARI events and
requests handled per second, answer waits (simulated seconds), and the checks that matter:
no call lost, nothing left in Asterisk once the calls ended.

Emulator and application share one process and one core: the figures are a floor for the
application alone.
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
from pathlib import Path

from ari_app.calls.config import CallSettings
from ari_app.calls.journal import MemoryJournal
from ari_app.calls.modes import MemoryModeRecorder
from ari_app.calls.running import call_handling
from ari_app.clock import ScaledClock
from ari_app.sim import Answer, Emulator
from ari_app.stasis import AriConfig
from ari_app.vcta import load_topology

NATIONAL = Path(__file__).resolve().parent.parent / "ari_app" / "examples" / "national.toml"


async def until(predicate: Callable[[], bool]) -> None:
    """Poll: the emulator's records change without an event to wait on."""
    while not predicate():  # noqa: ASYNC110 - nothing to await but the state itself
        await asyncio.sleep(0.05)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def bench(calls: int, speed: float, talk_s: float, seed: int) -> None:
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
    journal = MemoryJournal()
    try:
        async with call_handling(
            ari_config=AriConfig(base_url, "bench", "bench"),
            topology=topology,
            modes=None,
            journal=journal,
            recorder=MemoryModeRecorder(),
            clock=clock,
            settings=CallSettings(app_name="vcta", wrap_up_s=0.0),
        ) as service:
            await service.wait_ready()
            cpu0, t0, sim0 = cpu_seconds(), time.perf_counter(), clock.now()
            events0 = emulator.stats()["events_sent"]
            handles = await asyncio.gather(
                *(
                    emulator.place_call(routing_key=f"{c.department}001", number=f"06{i:08d}")
                    for i, c in enumerate(centres)
                )
            )
            ids = [h.channel_id for h in handles]
            await until(
                lambda: all(
                    (r := emulator.call(i)) is not None and (r.talked or r.ended) for i in ids
                )
            )
            answered_t = time.perf_counter() - t0
            answered_sim = clock.now() - sim0
            answered_cpu = cpu_seconds() - cpu0
            events = emulator.stats()["events_sent"] - events0
            records = [emulator.call(i) for i in ids]
            waits = sorted(r.first_talk_at - r.created_at for r in records if r and r.first_talk_at)
            lost = sum(1 for r in records if r is not None and r.ended and not r.talked)
            await until(lambda: all((r := emulator.call(i)) is None or r.ended for i in ids))
            await until(lambda: not (emulator.channels() or emulator.bridges() or service.sessions))
            total_t = time.perf_counter() - t0
    finally:
        await emulator.stop()

    def p(share: float) -> float:
        return waits[min(len(waits) - 1, int(share * len(waits)))]

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(f"{calls} simultaneous calls, {topology.position_count} positions, speed {speed:g}x")
    print(
        f"all callers talking to an operator after {answered_t:.1f} s real "
        f"({answered_sim:.0f} s simulated), CPU {answered_cpu:.1f} s "
        f"({1000 * answered_cpu / calls:.1f} ms per call, emulator included)"
    )
    print(f"ARI events sent: {events} ({events / answered_t:.0f}/s)")
    print(f"answer wait (simulated s): p50 {p(0.5):.1f}, p90 {p(0.9):.1f}, max {waits[-1]:.1f}")
    print(f"lost: {lost}; everything cleaned up after {total_t:.1f} s real")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--speed", type=float, default=5.0)
    parser.add_argument("--talk", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(bench(args.calls, args.speed, args.talk, args.seed))


if __name__ == "__main__":
    main()
