"""Queueing theory the simulator is checked against, and staffing is sized with.

- Erlang C (M/M/n): Poisson arrivals, exponential service, callers who never hang up.
- Erlang A (M/M/n+M): the same with exponential patience, solved as a birth-death chain.
Loads are offered loads in Erlangs (arrival rate times mean service time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(positions: int, load: float) -> float:
    """Probability that all ``positions`` are busy in a loss system offered ``load`` Erlangs."""
    blocking = 1.0
    for k in range(1, positions + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def erlang_c(positions: int, load: float) -> float:
    """Probability that a caller waits (M/M/n); 1 when the load is at or above capacity."""
    if load >= positions:
        return 1.0
    blocking = erlang_b(positions, load)
    return positions * blocking / (positions - load * (1 - blocking))


def erlang_c_within(positions: int, load: float, service_mean: float, t: float) -> float:
    """Share of callers answered within ``t`` seconds (M/M/n, FCFS)."""
    if load >= positions:
        return 0.0
    decay = (positions - load) / service_mean
    return 1.0 - erlang_c(positions, load) * math.exp(-decay * t)


def erlang_c_mean_wait(positions: int, load: float, service_mean: float) -> float:
    """Mean wait of all callers, answered at once included (M/M/n)."""
    if load >= positions:
        return math.inf
    return erlang_c(positions, load) * service_mean / (positions - load)


@dataclass(frozen=True, slots=True)
class ErlangA:
    """The M/M/n+M figures: probability of waiting, of abandoning, mean queue length."""

    wait_probability: float
    abandon_rate: float
    mean_queue: float


def erlang_a(positions: int, load: float, service_mean: float, patience_mean: float) -> ErlangA:
    """Solve M/M/n+M exactly enough (the chain is cut where its tail is below 1e-15)."""
    arrival = load / service_mean
    service = 1.0 / service_mean
    patience = 1.0 / patience_mean
    weights = [1.0]
    k = 0
    while True:
        k += 1
        death = min(k, positions) * service + max(k - positions, 0) * patience
        weights.append(weights[-1] * arrival / death)
        if k > positions and weights[-1] < 1e-15 * sum(weights):
            break
        if weights[-1] > 1e250:  # rescale to stay in floating-point range
            weights = [w / 1e250 for w in weights]
    total = sum(weights)
    wait = sum(weights[positions:]) / total
    queue = sum((j - positions) * w for j, w in enumerate(weights) if j > positions) / total
    return ErlangA(wait, patience * queue / arrival, queue)


def positions_needed(load: float, service_mean: float, target: float, within: float) -> int:
    """Fewest positions answering ``target`` of callers within ``within`` seconds (Erlang C)."""
    positions = max(1, math.floor(load) + 1)
    while erlang_c_within(positions, load, service_mean, within) < target:
        positions += 1
    return positions
