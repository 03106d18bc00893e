"""Simulated callers and operators: Poisson arrivals per centre, a surge in one department,
operators who take a few seconds to answer and talk for a realistic time, callers who give up.

Random draws come from one seeded ``random.Random``; times run on the emulator's clock.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from ari_app.clock import Clock
from ari_app.sim.emulator import Emulator
from ari_app.sim.scripts import Answer, NoAnswer, Outcome, Ring


@dataclass(frozen=True, slots=True)
class Surge:
    """Calls to ``centre`` arrive ``factor`` times faster between ``start_s`` and ``end_s``."""

    centre: str
    factor: float
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class TrafficProfile:
    """Who calls, how often, how long they talk and how long they wait before giving up.

    Handling and patience times are log-normal with the given means (seconds); a share of
    callers hang up within seconds whatever happens (calls made by mistake, a fact of life
    for emergency numbers).
    """

    calls_per_hour: Mapping[str, float]
    routing_keys: Mapping[str, tuple[str, ...]]
    surge: Surge | None = None
    handling_mean_s: float = 90.0
    answer_delay_s: tuple[float, float] = (2.0, 6.0)
    patience_mean_s: float = 150.0
    hasty_share: float = 0.05
    missed_ring_share: float = 0.02  # an operator away from the desk lets it ring out


def _lognormal(rng: random.Random, mean: float, sigma: float = 0.6) -> float:
    """A log-normal draw with the given mean."""
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


@dataclass
class Operator:
    """A position's script drawing each answer from the profile (one per position, each with
    its own random stream)."""

    rng: random.Random
    profile: TrafficProfile

    def on_ring(self, ring: Ring) -> Outcome:
        if self.rng.random() < self.profile.missed_ring_share:
            return NoAnswer()
        low, high = self.profile.answer_delay_s
        return Answer(
            after_s=self.rng.uniform(low, high),
            talk_s=_lognormal(self.rng, self.profile.handling_mean_s),
        )


@dataclass
class CallerTraffic:
    """Places calls on the emulator until ``run`` returns.

    Each centre draws from its own random stream (seeded from ``seed`` and its id), so a surge
    in one centre does not change the calls the others receive with the same seed.
    """

    emulator: Emulator
    clock: Clock
    profile: TrafficProfile
    seed: int
    app: str
    placed: dict[str, str] = field(default_factory=dict)  # channel id -> home centre
    refused: int = 0  # calls that could not enter the application (it was not there)

    def rate_per_s(self, centre: str, elapsed_s: float) -> float:
        rate = self.profile.calls_per_hour.get(centre, 0.0) / 3600.0
        surge = self.profile.surge
        if (
            surge is not None
            and surge.centre == centre
            and surge.start_s <= elapsed_s < surge.end_s
        ):
            rate *= surge.factor
        return rate

    async def run(self, duration_s: float) -> None:
        """Generate calls for ``duration_s`` seconds of the clock, every centre at once."""
        start = self.clock.now()
        async with asyncio.TaskGroup() as group:
            for centre in sorted(self.profile.calls_per_hour):
                group.create_task(self._centre(centre, start, duration_s), name=f"traffic:{centre}")

    async def _centre(self, centre: str, start: float, duration_s: float) -> None:
        rng = random.Random(f"{self.seed}:calls:{centre}")
        boundaries = self._boundaries(centre, duration_s)
        # The planned time of the next arrival, from the random stream alone: a loop that
        # runs late (a busy machine) places the same calls, late, rather than fewer of them.
        at = 0.0
        while at < duration_s:
            rate = self.rate_per_s(centre, at)
            next_boundary = min(b for b in boundaries if b > at)
            gap = rng.expovariate(rate) if rate > 0 else math.inf
            if at + gap >= next_boundary:
                # The rate changes there; arrivals are memoryless, so start afresh from it.
                at = next_boundary
                continue
            at += gap
            await self.clock.sleep(max(0.0, start + at - self.clock.now()))
            await self._place(centre, rng)

    def _boundaries(self, centre: str, duration_s: float) -> list[float]:
        marks = [duration_s]
        surge = self.profile.surge
        if surge is not None and surge.centre == centre:
            marks += [surge.start_s, surge.end_s]
        return sorted(marks)

    async def _place(self, centre: str, rng: random.Random) -> None:
        keys = self.profile.routing_keys[centre]
        key = keys[rng.randrange(len(keys))]
        number = f"06{rng.randrange(10**8):08d}"
        if rng.random() < self.profile.hasty_share:
            patience = rng.uniform(1.0, 8.0)
        else:
            patience = _lognormal(rng, self.profile.patience_mean_s)
        handle = await self.emulator.place_call(
            routing_key=key, number=number, app=self.app, patience_s=patience
        )
        if handle.entered_stasis:
            self.placed[handle.channel_id] = centre
        else:
            self.refused += 1
