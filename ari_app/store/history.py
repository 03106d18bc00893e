"""Reading the call journal back: one call's record and entries, and calls still open.

The call handling reads open calls after a restart to rebuild its sessions (waiting
calls keep their arrival time); reports and the API read single calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row

from ari_app.store.db import ConnectionSource


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A call as the journal sums it up."""

    call_id: str
    caller: str | None
    routing_key: str | None
    channel_id: str | None
    home_centre: str | None
    unit: str | None
    position: str | None
    arrived_at: datetime | None
    connected_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    hops: int
    entries: int
    node: str | None = None  # the Asterisk node that carried it


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A journal entry as stored; ``id`` gives the order entries were recorded in."""

    id: int
    entry_id: str
    call_id: str
    at: datetime
    kind: str
    unit: str | None
    home_centre: str | None
    position: str | None
    caller: str | None
    reason: str | None
    outcome: str | None
    details: dict[str, Any]
    node: str | None = None


_CALL_COLUMNS = (
    "call_id, caller, routing_key, channel_id, home_centre, unit, position, arrived_at,"
    " connected_at, ended_at, outcome, hops, entries, node"
)
_ENTRY_COLUMNS = (
    "id, entry_id, call_id, at, kind, unit, home_centre, position, caller, reason, outcome,"
    " details, node"
)


class CallHistory:
    """Read access to the journal."""

    def __init__(self, pool: ConnectionSource) -> None:
        self._pool = pool

    async def call(self, call_id: str) -> CallRecord | None:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(CallRecord))
            await cursor.execute(
                f"SELECT {_CALL_COLUMNS} FROM calls WHERE call_id = %s", (call_id,)
            )
            return await cursor.fetchone()

    async def entries(self, call_id: str) -> list[StoredEntry]:
        """The call's entries in the order they happened."""
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(StoredEntry))
            await cursor.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM journal_entries WHERE call_id = %s ORDER BY at, id",
                (call_id,),
            )
            return await cursor.fetchall()

    async def open_calls(self) -> list[CallRecord]:
        """Calls with no ENDED entry yet, oldest arrival first."""
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(CallRecord))
            await cursor.execute(
                f"SELECT {_CALL_COLUMNS} FROM calls WHERE ended_at IS NULL"
                " ORDER BY arrived_at, call_id"
            )
            return await cursor.fetchall()
