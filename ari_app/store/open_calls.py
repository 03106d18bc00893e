"""Calls the journal holds no end for, as the call handling asks after a restart.

Read from PostgreSQL only once the journal has caught up: entries of the previous run may
still sit in the spool, and an ``ENDED`` among them means the call is not open. If the
journal cannot catch up in time (the database is down), no call is reported open: closing a
call wrongly (an answered call recorded as abandoned, a false callback) is worse than
leaving it open until the next start.
"""

from __future__ import annotations

import asyncio
import logging

from ari_app.calls.ports import JournalKind, OpenCall
from ari_app.store.history import CallHistory
from ari_app.store.journal import PostgresJournal

log = logging.getLogger(__name__)


class JournalOpenCalls:
    """``OpenCalls`` over the PostgreSQL journal."""

    def __init__(
        self, journal: PostgresJournal, history: CallHistory, *, catch_up_s: float = 10.0
    ) -> None:
        self._journal = journal
        self._history = history
        self._catch_up_s = catch_up_s

    async def open_calls(self) -> list[OpenCall]:
        try:
            async with asyncio.timeout(self._catch_up_s):
                while not self._journal.caught_up():  # noqa: ASYNC110 - the writer has no event for it
                    await asyncio.sleep(0.1)
        except TimeoutError:
            log.warning(
                "journal not caught up: calls left open by the previous run stay open for now"
            )
            return []
        records = await self._history.open_calls()
        ending = self._journal.pending_calls(JournalKind.ENDED)
        return [
            OpenCall(
                call_id=record.call_id,
                connected=record.connected_at is not None,
                unit=record.unit,
                home_centre=record.home_centre,
                position=record.position,
                caller=record.caller,
                node=record.node,
            )
            for record in records
            if record.call_id not in ending
        ]
