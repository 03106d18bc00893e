"""The last hour of each centre, minute by minute, counted from the call journal.

The dashboard shows what the live state cannot say: the share of calls answered within 15 s
over the last 15 and 60 minutes, the calls helped out (sent to a neighbour or the backup
unit) and in, and a small chart of the last hour. ``ActivityJournal`` is a ``Journal``
decorator that counts each entry into an ``Activity`` and passes it on unchanged; the live
feed samples queue lengths into the same minutes. Times are the clock's (simulated in the
demo), taken from the entries and from the caller of ``sample``: nothing here reads a clock.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ari_app.calls.journal import CallOutcome, Journal, JournalEntry, JournalKind
from ari_app.vcta import MoveKind

log = logging.getLogger(__name__)

MINUTE_S = 60.0
KEPT_MINUTES = 61  # the chart's hour and the minute in progress
ANSWERED_WITHIN_S = 15.0  # the service level duty officers are judged on
HELP = frozenset({str(MoveKind.MUTUAL_AID), str(MoveKind.LAST_RESORT)})


@dataclass(slots=True)
class MinuteCounts:
    """What happened at one unit (or to one home centre's callers) during one minute."""

    calls: int = 0  # routed, counted at the caller's home centre
    answered: int = 0
    answered_in_time: int = 0  # within ANSWERED_WITHIN_S
    abandoned: int = 0
    helped_out: int = 0  # calls moved away from this unit by mutual aid or last resort
    helped_in: int = 0  # calls this unit took by mutual aid or last resort
    waiting: int = 0  # the most calls seen waiting at this unit during the minute


@dataclass(frozen=True, slots=True)
class Flow:
    """Calls moved by mutual aid or last resort from one unit to another."""

    from_unit: str
    to_unit: str
    count: int


class Activity:
    """Rolling minute counts per unit id (a centre counts its callers; a unit its queue)."""

    def __init__(self) -> None:
        self._minutes: dict[str, dict[int, MinuteCounts]] = defaultdict(dict)
        self._flows: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
        self._latest = 0

    def _at(self, unit_id: str, at: float) -> MinuteCounts:
        minute = int(at // MINUTE_S)
        if minute > self._latest:
            self._latest = minute
            self._prune()
        counts = self._minutes[unit_id].get(minute)
        if counts is None:
            counts = self._minutes[unit_id][minute] = MinuteCounts()
        return counts

    def _prune(self) -> None:
        oldest = self._latest - KEPT_MINUTES
        for minutes in self._minutes.values():
            for minute in [m for m in minutes if m <= oldest]:
                del minutes[minute]
        for flows in self._flows.values():
            for minute in [m for m in flows if m <= oldest]:
                del flows[minute]

    def count(self, entry: JournalEntry) -> None:
        """Count one journal entry (entries of other kinds change nothing)."""
        if entry.kind is JournalKind.ROUTED and entry.home_centre:
            self._at(entry.home_centre, entry.at).calls += 1
        elif entry.kind is JournalKind.CONNECTED and entry.home_centre:
            counts = self._at(entry.home_centre, entry.at)
            counts.answered += 1
            waited = entry.details.get("waited_s")
            if isinstance(waited, int | float) and waited <= ANSWERED_WITHIN_S:
                counts.answered_in_time += 1
        elif (
            entry.kind is JournalKind.ENDED
            and entry.outcome is CallOutcome.ABANDONED
            and entry.home_centre
        ):
            self._at(entry.home_centre, entry.at).abandoned += 1
        elif entry.kind is JournalKind.MOVED and entry.details.get("kind") in HELP:
            source = entry.details.get("from_unit")
            if isinstance(source, str) and source and entry.unit:
                self._at(source, entry.at).helped_out += 1
                self._at(entry.unit, entry.at).helped_in += 1
                minute = int(entry.at // MINUTE_S)
                flows = self._flows[(source, entry.unit)]
                flows[minute] = flows.get(minute, 0) + 1

    def sample(self, waiting: Mapping[str, int], now: float) -> None:
        """Record how many calls wait at each unit now (the chart keeps each minute's most)."""
        for unit_id, length in waiting.items():
            if length or unit_id in self._minutes:
                counts = self._at(unit_id, now)
                counts.waiting = max(counts.waiting, length)

    def minutes(self, unit_ids: Iterable[str], now: float, count: int) -> list[MinuteCounts]:
        """The last ``count`` minutes up to ``now`` (oldest first), summed over ``unit_ids``.

        ``waiting`` is summed too: for a virtual CTA, its members' callers wait at the unit
        itself, so give the unit's own id with its members.
        """
        last = int(now // MINUTE_S)
        ids = list(dict.fromkeys(unit_ids))
        summed = []
        for minute in range(last - count + 1, last + 1):
            total = MinuteCounts()
            for unit_id in ids:
                counts = self._minutes.get(unit_id, {}).get(minute)
                if counts is not None:
                    total.calls += counts.calls
                    total.answered += counts.answered
                    total.answered_in_time += counts.answered_in_time
                    total.abandoned += counts.abandoned
                    total.helped_out += counts.helped_out
                    total.helped_in += counts.helped_in
                    total.waiting += counts.waiting
            summed.append(total)
        return summed

    def flows(self, now: float, window_minutes: int) -> list[Flow]:
        """Moves between units during the last ``window_minutes`` minutes, busiest first."""
        first = int(now // MINUTE_S) - window_minutes + 1
        found = []
        for (source, target), minutes in self._flows.items():
            moved = sum(n for minute, n in minutes.items() if minute >= first)
            if moved:
                found.append(Flow(source, target, moved))
        return sorted(found, key=lambda f: (-f.count, f.from_unit, f.to_unit))


def answered_in_time_share(minutes: Iterable[MinuteCounts]) -> float | None:
    """Calls answered within 15 s over calls answered or abandoned; None when there were none."""
    answered_in_time = handled = 0
    for counts in minutes:
        answered_in_time += counts.answered_in_time
        handled += counts.answered + counts.abandoned
    return round(answered_in_time / handled, 3) if handled else None


class ActivityJournal:
    """A ``Journal`` decorator: counts each entry into ``activity``, then records it in
    ``inner``. Counting never raises: a failure is logged and the entry still reaches
    ``inner``."""

    def __init__(self, inner: Journal, activity: Activity) -> None:
        self._inner = inner
        self.activity = activity

    def record(self, entry: JournalEntry) -> None:
        try:
            self.activity.count(entry)
        except Exception:
            log.exception(
                "journal entry not counted for the dashboard", extra={"call_id": entry.call_id}
            )
        self._inner.record(entry)
