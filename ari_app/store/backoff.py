"""Delays between attempts: exponential, capped, with jitter, and an optional deadline.

Jitter keeps several application instances from probing a recovering server in step.
The random source is handed in and the current time is passed to each call, so the
arithmetic (and when to give up) is tested without sleeping.

The store keeps its own rather than ``ari_app.stasis.Backoff``: ``stasis`` is an ARI client
that imports nothing else of the application and the store has no business importing it,
and the rules differ on purpose. The event stream uses full jitter and forgives failures
after a connection stayed up a while; the store's writers reset after a successful write
and need a deadline, after which a spool write is given up (``exhausted``).
"""

from __future__ import annotations

import random


class Backoff:
    """``next_delay(now)`` grows from ``initial_s`` by ``factor`` up to ``maximum_s``, each
    delay spread by +/- ``jitter`` (a fraction); ``reset()`` starts over after a success.

    With ``deadline_s``, ``exhausted(now)`` says whether that long has passed since the
    first failure after the last reset: the caller's signal to stop retrying.
    """

    def __init__(
        self,
        initial_s: float = 0.5,
        maximum_s: float = 30.0,
        *,
        factor: float = 2.0,
        jitter: float = 0.2,
        deadline_s: float | None = None,
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
        if deadline_s is not None and deadline_s < 0:
            raise ValueError(f"backoff needs deadline_s >= 0, not {deadline_s}")
        self.initial_s = initial_s
        self.maximum_s = maximum_s
        self.factor = factor
        self.jitter = jitter
        self.deadline_s = deadline_s
        self._rng = rng or random.Random()
        self._base = initial_s
        self._first_failure_at: float | None = None

    def next_delay(self, now: float) -> float:
        """An attempt failed at ``now``: the delay before the next one, in seconds."""
        if self._first_failure_at is None:
            self._first_failure_at = now
        base = self._base
        self._base = min(self.maximum_s, self._base * self.factor)
        return base * (1 + self._rng.uniform(-self.jitter, self.jitter))

    def exhausted(self, now: float) -> bool:
        """Whether ``deadline_s`` has passed at ``now`` since the first failure (never
        without a deadline, nor before any failure)."""
        if self.deadline_s is None or self._first_failure_at is None:
            return False
        return now - self._first_failure_at >= self.deadline_s

    def reset(self) -> None:
        """An attempt succeeded: the next failure starts from ``initial_s`` again."""
        self._base = self.initial_s
        self._first_failure_at = None
