"""Waiting for a condition in tests, without fixed sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    """Return as soon as ``condition()`` holds; fail naming ``what`` after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting until {what}")
        await asyncio.sleep(0.005)
