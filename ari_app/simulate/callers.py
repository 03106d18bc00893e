"""The callers of one replication: Poisson arrivals per centre, with what each caller and the
operator who answers will do, drawn up front from streams of their own.

Common random numbers: every centre has its own streams, and a surge's extra callers come from
a stream of their own, so the scenario with its surges and without them has exactly the same
ordinary callers, with the same patience and the same handling times. A paired difference then
measures the surge, not the luck of the draw.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ari_app.simulate.scenario import Scenario


class Caller:
    """One call: when it arrives, from where, and the durations drawn for it.

    The outcome fields are filled in by the engine.
    """

    __slots__ = (
        "abandoned",
        "answer_delay",
        "answered_at",
        "answered_by",
        "arrived",
        "attempt",
        "call_id",
        "callback_delay",
        "callback_u",
        "done",
        "handling",
        "home",
        "moved",
        "no_answer_u",
        "patience",
        "position",
        "retry_rng",
        "ring_start",
        "wrap_up",
    )

    def __init__(self, call_id: str, home: str, arrived: float) -> None:
        self.call_id = call_id
        self.home = home
        self.arrived = arrived
        self.patience = math.inf
        self.handling = 0.0
        self.wrap_up = 0.0
        self.answer_delay = 0.0
        self.no_answer_u = 1.0
        self.callback_u = 1.0
        self.callback_delay = 0.0
        self.answered_at: float | None = None
        self.answered_by: str | None = None
        self.abandoned = False
        self.done = False
        self.moved = False
        self.attempt = 0
        self.position: str | None = None
        self.ring_start = 0.0
        self.retry_rng: random.Random | None = None

    @property
    def wait(self) -> float:
        """Seconds from arrival to the operator's answer (answered calls only)."""
        return (self.answered_at or self.arrived) - self.arrived


def draw(caller: Caller, scenario: Scenario, rng: random.Random) -> None:
    """Draw the caller's patience and the durations of its call from ``rng``, always in the
    same order so that streams stay aligned between paired runs."""
    callers = scenario.callers
    operators = scenario.operators
    caller.patience = callers.patience.sample(rng)
    caller.handling = operators.handling.sample(rng)
    caller.wrap_up = operators.wrap_up.sample(rng)
    caller.answer_delay = operators.answer_delay.sample(rng)
    caller.no_answer_u = rng.random()
    caller.callback_u = rng.random()
    caller.callback_delay = callers.callback_delay.sample(rng)


@dataclass(frozen=True, slots=True)
class _Segment:
    start: float
    end: float
    rate_per_s: float


def _segments(scenario: Scenario, start: float, end: float, per_hour: float) -> list[_Segment]:
    """Piecewise-constant rate over ``[start, end)`` following the time-of-day profile."""
    segments: list[_Segment] = []
    t = start
    while t < end:
        hour = scenario.start_hour + t / 3600.0
        boundary = (math.floor(hour + 1e-9) + 1 - scenario.start_hour) * 3600.0
        stop = min(end, boundary)
        segments.append(_Segment(t, stop, per_hour * scenario.profile_factor(t) / 3600.0))
        t = stop
    return segments


def _poisson(rng: random.Random, segments: list[_Segment]) -> list[float]:
    times: list[float] = []
    for segment in segments:
        if segment.rate_per_s <= 0:
            continue
        t = segment.start
        while True:
            t += rng.expovariate(segment.rate_per_s)
            if t >= segment.end:
                break  # memoryless: the next segment starts afresh
            times.append(t)
    return times


def arrivals(scenario: Scenario, seed: int, *, surges: bool) -> list[Caller]:
    """Every first call of one replication, in arrival order."""
    found: list[Caller] = []
    for centre, per_hour in scenario.calls_per_hour.items():
        streams = (
            (f"{centre}:b", _segments(scenario, 0.0, scenario.duration, per_hour), "callers"),
        )
        extra = []
        if surges:
            for index, surge in enumerate(scenario.surges):
                if surge.centre != centre or surge.factor <= 1:
                    continue
                start, end = max(0.0, surge.start), min(scenario.duration, surge.end)
                if end > start:
                    extra.append(
                        (
                            f"{centre}:s{index}",
                            _segments(scenario, start, end, per_hour * (surge.factor - 1)),
                            f"surge{index}",
                        )
                    )
        for prefix, segments, stream in (*streams, *extra):
            times = _poisson(random.Random(f"{seed}:{centre}:{stream}:arrivals"), segments)
            attributes = random.Random(f"{seed}:{centre}:{stream}:draws")
            for number, t in enumerate(times):
                caller = Caller(f"{prefix}{number}", centre, t)
                draw(caller, scenario, attributes)
                found.append(caller)
    found.sort(key=lambda c: c.arrived)
    return found


def call_back(original: Caller, scenario: Scenario, seed: int, now: float) -> Caller:
    """The same person calling again after hanging up (once); its draws depend only on who it
    is, so a caller who calls back in both paired runs gets the same call both times."""
    caller = Caller(f"{original.call_id}r", original.home, now + original.callback_delay)
    draw(caller, scenario, random.Random(f"{seed}:{caller.call_id}:draws"))
    # Once only: a model of repeated redials would need data we do not have, and without a
    # bound a hopeless caller would redial for ever.
    caller.callback_u = 1.0
    return caller
