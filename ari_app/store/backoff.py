"""Delays between reconnection attempts: exponential, capped, with jitter.

Jitter keeps several application instances from probing a recovering server in step.
The random source is handed in so tests can pin the delays without sleeping.
"""

from __future__ import annotations

import random


class Backoff:
    """``next_delay()`` grows from ``initial_s`` by ``factor`` up to ``maximum_s``, each delay
    spread by +/- ``jitter`` (a fraction); ``reset()`` starts over after a success."""

    def __init__(
        self,
        initial_s: float = 0.5,
        maximum_s: float = 30.0,
        *,
        factor: float = 2.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < initial_s <= maximum_s:
            raise ValueError(
                f"backoff needs 0 < initial_s <= maximum_s, not {initial_s}, {maximum_s}"
            )
        if factor < 1 or not 0 <= jitter < 1:
            raise ValueError(
                f"backoff needs factor >= 1 and 0 <= jitter < 1, not {factor}, {jitter}"
            )
        self.initial_s = initial_s
        self.maximum_s = maximum_s
        self.factor = factor
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._base = initial_s

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds."""
        base = self._base
        self._base = min(self.maximum_s, self._base * self.factor)
        return base * (1 + self._rng.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        self._base = self.initial_s
