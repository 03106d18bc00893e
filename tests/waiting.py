"""Waiting in tests for a state that changes without an event to await (an emulator's
records, counters): poll it, with a deadline that names what was awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

POLL_S = 0.005


async def wait_until(
    condition: Callable[[], bool], *, within: float = 5.0, what: str = "the condition"
) -> None:
    """Return as soon as ``condition()`` holds; fail naming ``what`` after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(POLL_S)  # sync-ok: the polling interval, not a settling delay
