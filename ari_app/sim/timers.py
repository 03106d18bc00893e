"""Delayed callbacks timed on a :class:`~ari_app.clock.Clock`: a scaled clock speeds them up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ari_app.clock import Clock

log = logging.getLogger(__name__)


class Timer:
    """One pending callback; :meth:`cancel` is safe to call at any time, even after it ran."""

    __slots__ = ("_task",)

    def __init__(self, task: asyncio.Task[None]) -> None:
        self._task = task

    def cancel(self) -> None:
        self._task.cancel()

    @property
    def done(self) -> bool:
        return self._task.done()


class Timers:
    """Runs callbacks after delays of clock time, each in its own tracked task.

    A callback that raises is logged and does not disturb the others; :meth:`close`
    cancels everything still pending (bounded shutdown).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    def after(self, delay_s: float, callback: Callable[[], None], name: str) -> Timer:
        """Call ``callback()`` once ``delay_s`` seconds of clock time have passed."""
        task = asyncio.get_running_loop().create_task(self._run(delay_s, callback), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Timer(task)

    async def _run(self, delay_s: float, callback: Callable[[], None]) -> None:
        await self._clock.sleep(delay_s)
        try:
            callback()
        except Exception:
            task = asyncio.current_task()
            name = task.get_name() if task else "?"
            log.exception("emulator timer failed", extra={"timer": name})

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
