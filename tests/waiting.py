"""The tests' one way to wait for a state that changes without an event to await (an
emulator's records, counters, Asterisk's REST state, a database): poll it, with a deadline
that names what was awaited. Every other waiting helper of the tests delegates here."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

POLL_S = 0.005


async def wait_until(
    condition: Callable[[], Any],
    *,
    within: float = 5.0,
    what: str = "the condition",
    interval: float = POLL_S,
) -> Any:
    """Return the first truthy value of ``condition()`` (sync or async); fail naming
    ``what`` (and the last value, unless a plain true/false) after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = condition()
        last = await value if inspect.isawaitable(value) else value
        if last:
            return last
        if loop.time() > deadline:
            shown = "" if last is None or isinstance(last, bool) else f" (last: {last!r})"
            raise AssertionError(f"timed out after {within:g} s waiting for {what}{shown}")
        await asyncio.sleep(interval)  # sync-ok: the polling interval, not a settling delay
