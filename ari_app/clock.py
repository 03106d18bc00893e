"""Time as the application sees it: real, or simulated faster than real for the demo.

Policy code never reads a clock; it is handed ``now`` from one of these.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Seconds since the epoch, possibly running faster than the wall clock."""

    def now(self) -> float:
        """Current time, in (simulated) seconds since the epoch."""
        ...

    def real_seconds(self, seconds: float) -> float:
        """Wall-clock duration of ``seconds`` of this clock's time."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's time."""
        ...


class ScaledClock:
    """A clock that starts at the wall time and runs ``speed`` times faster.

    ``speed=1`` is the real clock used in production.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, not {speed}")
        self.speed = speed
        self._origin_wall = time.time()
        self._origin_mono = time.monotonic()

    def now(self) -> float:
        return self._origin_wall + (time.monotonic() - self._origin_mono) * self.speed

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


def real_clock() -> ScaledClock:
    """The wall clock."""
    return ScaledClock(1.0)
