"""The abandoned-callers callback list: every caller who hung up before reaching an operator.

Rows are added by the journal writer when a call ends ``abandoned``; a duty officer marks
each one done, with an outcome, once the caller was called back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from psycopg.rows import class_row

from ari_app.store.db import ConnectionSource
from ari_app.store.errors import CallbackAlreadyDone, CallbackNotFound


class CallbackOutcome(StrEnum):
    """What came of calling an abandoned caller back."""

    REACHED = "reached"  # the caller answered; their need was handled
    NO_ANSWER = "no_answer"  # nobody answered
    VOICEMAIL = "voicemail"  # a message was left
    INVALID_NUMBER = "invalid_number"  # the number cannot be called (withheld, unreachable)
    NOT_NEEDED = "not_needed"  # e.g. the caller got through again meanwhile


@dataclass(frozen=True, slots=True)
class Callback:
    """One abandoned call on the list."""

    call_id: str
    caller: str | None
    home_centre: str | None
    arrived_at: datetime
    hung_up_at: datetime
    waited_s: float
    done_at: datetime | None
    done_by: str | None
    done_outcome: str | None
    note: str | None

    @property
    def done(self) -> bool:
        return self.done_at is not None


_COLUMNS = (
    "call_id, caller, home_centre, arrived_at, hung_up_at, waited_s, done_at, done_by,"
    " done_outcome, note"
)


class CallbackStore:
    """Lists abandoned calls and records that they were called back."""

    def __init__(self, pool: ConnectionSource) -> None:
        self._pool = pool

    async def list(
        self, *, pending_only: bool = True, centre_id: str | None = None, limit: int = 500
    ) -> list[Callback]:
        """Callbacks, oldest hang-up first, optionally only those not done or of one centre."""
        conditions = []
        params: list[object] = []
        if pending_only:
            conditions.append("done_at IS NULL")
        if centre_id is not None:
            conditions.append("home_centre = %s")
            params.append(centre_id)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        params.append(limit)
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(Callback))
            await cursor.execute(
                f"SELECT {_COLUMNS} FROM callbacks{where} ORDER BY hung_up_at, call_id LIMIT %s",
                params,
            )
            return await cursor.fetchall()

    async def find(self, call_id: str) -> Callback | None:
        """The callback of ``call_id``, done or not; None when it is not on the list."""
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(Callback))
            await cursor.execute(f"SELECT {_COLUMNS} FROM callbacks WHERE call_id = %s", (call_id,))
            return await cursor.fetchone()

    async def mark_done(
        self, call_id: str, outcome: CallbackOutcome, *, by: str, note: str | None = None
    ) -> Callback:
        """Record that the caller of ``call_id`` was called back.

        Raises CallbackNotFound, or CallbackAlreadyDone (naming who did it and when).
        """
        if not by.strip():
            raise ValueError("marking a callback done needs the name of who called back")
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(Callback))
            await cursor.execute(
                "UPDATE callbacks SET done_at = now(), done_by = %s, done_outcome = %s,"
                f" note = %s WHERE call_id = %s AND done_at IS NULL RETURNING {_COLUMNS}",
                (by, CallbackOutcome(outcome).value, (note or "").strip() or None, call_id),
            )
            updated = await cursor.fetchone()
            if updated is not None:
                return updated
            await cursor.execute(f"SELECT {_COLUMNS} FROM callbacks WHERE call_id = %s", (call_id,))
            existing = await cursor.fetchone()
        if existing is None:
            raise CallbackNotFound(
                f"call {call_id} is not on the callback list: only abandoned calls are"
            )
        raise CallbackAlreadyDone(
            f"the callback of call {call_id} was already marked done by {existing.done_by} "
            f"at {existing.done_at:%Y-%m-%d %H:%M:%S %Z} ({existing.done_outcome})"
        )
