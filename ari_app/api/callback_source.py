"""The callback list as the API uses it: ``CallbackStore`` plus finding one callback by call.

The API must know a callback's home centre before a duty officer marks it done (a centre's
officer may mark only their centre's callers), which ``CallbackStore`` has no query for yet:
``find`` is that one read-only query.
"""

from __future__ import annotations

from psycopg.rows import class_row

from ari_app.store.callbacks import Callback, CallbackOutcome, CallbackStore
from ari_app.store.db import ConnectionSource

_COLUMNS = (
    "call_id, caller, home_centre, arrived_at, hung_up_at, waited_s, done_at, done_by,"
    " done_outcome, note"
)


class StoreCallbacks:
    """A ``CallbackList`` over PostgreSQL."""

    def __init__(self, pool: ConnectionSource) -> None:
        self._pool = pool
        self._store = CallbackStore(pool)

    async def list(
        self, *, pending_only: bool = True, centre_id: str | None = None, limit: int = 500
    ) -> list[Callback]:
        return await self._store.list(pending_only=pending_only, centre_id=centre_id, limit=limit)

    async def find(self, call_id: str) -> Callback | None:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(Callback))
            await cursor.execute(f"SELECT {_COLUMNS} FROM callbacks WHERE call_id = %s", (call_id,))
            return await cursor.fetchone()

    async def mark_done(
        self, call_id: str, outcome: CallbackOutcome, *, by: str, note: str | None = None
    ) -> Callback:
        return await self._store.mark_done(call_id, outcome, by=by, note=note)
