"""Reconnection delays: exponential backoff with full jitter, capped.

A pure object: the random source is handed in and the current time is passed to
each call, so the arithmetic is tested without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable


class Backoff:
    """How long to wait before the next connection attempt.

    The n-th consecutive failure waits a uniform random time in
    ``[0, min(maximum, initial * multiplier**n))`` ("full jitter": many clients
    restarting together do not reconnect in step). A connection that stayed up
    ``healthy_after`` seconds resets the sequence; a connection that drops sooner
    counts as one more failure, so a server that accepts and at once closes is
    not hammered.
    """

    def __init__(
        self,
        random: Callable[[], float],
        *,
        initial: float = 0.5,
        maximum: float = 30.0,
        multiplier: float = 2.0,
        healthy_after: float = 10.0,
    ) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("backoff needs 0 < initial <= maximum")
        if multiplier < 1:
            raise ValueError("backoff multiplier must be at least 1")
        self._random = random
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.healthy_after = healthy_after
        self._failures = 0
        self._connected_at: float | None = None

    @property
    def failures(self) -> int:
        """Consecutive failures counted so far."""
        return self._failures

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        # min() before the power would overflow only after ~1000 failures; cap the exponent.
        exponent = min(self._failures, 64)
        return min(self.maximum, self.initial * self.multiplier**exponent)

    def connected(self, now: float) -> None:
        """A connection was established at ``now``."""
        self._connected_at = now

    def next_delay(self, now: float) -> float:
        """An attempt failed, or the connection was lost, at ``now``: seconds to wait."""
        if self._connected_at is not None and now - self._connected_at >= self.healthy_after:
            self._failures = 0
        self._connected_at = None
        delay = self._random() * self.ceiling()
        self._failures += 1
        return delay
