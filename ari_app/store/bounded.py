"""Database calls with a time limit that never make their caller wait on a dead network.

A call past its limit is abandoned: it is cancelled in the background and the connection it
was using is closed after it (a query on a cut network may take long to give up). The
journal and the mode recorder use this so that a database that stops answering sends them
to their spool in bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ari_app.store.db import Connection

T = TypeVar("T")


class NoAnswer(Exception):
    """The database did not answer within the time limit."""


class BoundedCalls:
    """Runs database calls with a time limit; ``forget`` is told of each abandoned
    connection so its owner stops using it."""

    def __init__(self, name: str, forget: Callable[[Connection], None]) -> None:
        self._name = name
        self._forget = forget
        self._background: set[asyncio.Task[Any]] = set()

    async def run(
        self, work: Coroutine[Any, Any, T], timeout_s: float, conn: Connection | None
    ) -> T:
        """Await ``work`` for at most ``timeout_s``; past that, abandon it and raise NoAnswer."""
        task = asyncio.create_task(work, name=f"{self._name}-db-call")
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout_s)
        except asyncio.CancelledError:
            self._abandon(task, conn)
            raise
        if not done:
            self._abandon(task, conn)
            raise NoAnswer(f"no answer from the database within {timeout_s:g} s")
        return task.result()

    def _abandon(self, task: asyncio.Task[Any], conn: Connection | None) -> None:
        if conn is not None:
            self._forget(conn)

        async def discard() -> None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()

        cleanup = asyncio.create_task(discard(), name=f"{self._name}-discard-connection")
        self._background.add(cleanup)
        cleanup.add_done_callback(self._background.discard)

    async def close(self, timeout_s: float = 1.0) -> None:
        """Cancel the clean-ups still running, waiting at most ``timeout_s``."""
        for task in self._background:
            task.cancel()
        if self._background:
            await asyncio.wait(self._background, timeout=timeout_s)
