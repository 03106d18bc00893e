"""What the call handling writes to the call journal, and the interface the store implements.

Recording an entry never blocks and never fails: the journal is not on the call path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

JournalValue = str | int | float | bool | None


class JournalKind(StrEnum):
    """The moments of a call's life that are put on record."""

    ARRIVED = "arrived"  # the call entered the application
    ROUTED = "routed"  # the policy chose its first unit
    WAITING = "waiting"  # the caller is answered and in the unit's holding bridge
    OFFERED = "offered"  # a position is being rung
    OFFER_FAILED = "offer_failed"  # that position did not take it (busy, no answer, ...)
    CONNECTED = "connected"  # caller and operator talk, recording started
    MOVED = "moved"  # the call went to another unit (mutual aid, last resort, diversion)
    PICKED = "picked"  # an operator chose this call from the waiting list
    RECOVERED = "recovered"  # the session was rebuilt after a restart or a stream loss
    ENDED = "ended"  # the call is over; ``outcome`` says how


class CallOutcome(StrEnum):
    """How a call ended, as the journal and the reports count it."""

    ANSWERED = "answered"  # it was connected to an operator
    ABANDONED = "abandoned"  # the caller hung up before reaching an operator
    LOST = "lost"  # it ended without being connected and without the caller hanging up
    # An internal failure handed the caller back to the dialplan, whose fallback rings
    # positions directly: not lost, but no longer followed by the application.
    HANDED_BACK = "handed_back"
    # Taken by a position the dialplan fallback rang directly while no application ran:
    # answered, but not by the application's distribution (found in AstDB afterwards).
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One line of a call's record. ``entry_id`` makes replays idempotent."""

    call_id: str
    at: float  # seconds since the epoch
    kind: JournalKind
    unit: str | None = None
    home_centre: str | None = None
    position: str | None = None
    caller: str | None = None
    reason: str | None = None
    outcome: CallOutcome | None = None
    details: Mapping[str, JournalValue] = field(default_factory=dict)
    entry_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    node: str | None = None  # the Asterisk node that carried the call


ONCE_PER_CALL = frozenset({JournalKind.ARRIVED, JournalKind.ENDED})
"""Kinds a call has one of: their ``entry_id`` is the call's own (``entry_id_for``)."""


def entry_id_for(call_id: str, kind: JournalKind) -> str:
    """The id of a new entry. A call arrives once and ends once, so those two entries have
    an id made from the call's: whichever instance writes one first (the one that took the
    call, or the one that rebuilt it after a kill, or a spool replayed late) is the one kept,
    never two. Every other entry has an id of its own."""
    if kind in ONCE_PER_CALL:
        return f"{kind}:{call_id}"
    return uuid.uuid4().hex


class Journal(Protocol):
    """Where call entries go. ``record`` returns at once and never raises."""

    def record(self, entry: JournalEntry) -> None: ...


@dataclass(frozen=True, slots=True)
class OpenCall:
    """A call the journal has no end for (read back after a restart)."""

    call_id: str
    connected: bool
    unit: str | None = None
    home_centre: str | None = None
    position: str | None = None
    caller: str | None = None
    node: str | None = None  # the Asterisk node that carried it (None: journaled before)


class OpenCalls(Protocol):
    """Calls the journal holds no end for; the store implements it over PostgreSQL."""

    async def open_calls(self) -> list[OpenCall]: ...


class MemoryJournal:
    """A journal kept in memory, for the demo and tests."""

    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []
        self._by_call: dict[str, list[JournalEntry]] = {}

    def record(self, entry: JournalEntry) -> None:
        self.entries.append(entry)
        self._by_call.setdefault(entry.call_id, []).append(entry)

    def of_call(self, call_id: str) -> list[JournalEntry]:
        return list(self._by_call.get(call_id, ()))

    async def open_calls(self) -> list[OpenCall]:
        """Calls with entries and no ``ENDED`` one, in order of arrival."""
        open_calls = []
        for call_id, entries in self._by_call.items():
            kinds = {entry.kind for entry in entries}
            if JournalKind.ENDED in kinds:
                continue
            last = entries[-1]
            open_calls.append(
                OpenCall(
                    call_id,
                    JournalKind.CONNECTED in kinds,
                    last.unit,
                    last.home_centre,
                    last.position,
                    last.caller,
                    next((e.node for e in entries if e.node is not None), None),
                )
            )
        return open_calls
