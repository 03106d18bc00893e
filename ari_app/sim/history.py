"""Ground truth about each caller, kept by the emulator independently of the application.

The demo and benchmarks count unanswered calls and waiting times from these records,
not from what the application believes happened.

Words: ``unanswered`` here is every caller who never talked to an operator, whoever ended the
call (abandons included). The demo's and the journal's ``lost`` is narrower: unanswered and
not ended by the caller, the failure that must never happen.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

EndedBy = Literal["caller", "operator", "application", "dialplan", "no-application", "emulator"]


@dataclass(slots=True)
class CallRecord:
    """One caller's life, in clock seconds since the epoch.

    ``first_talk_at`` is the first moment the caller shared a mixing bridge with an
    originated channel (an operator), ``first_talk_endpoint`` that operator's
    position. ``ended_by`` says who ended the call: the caller (hung up or ran out of
    patience), the operator (hung up first while talking), the application (hung the
    caller up), the dialplan (after ``continue``), ``no-application`` (the Stasis
    application did not exist) or the emulator (stopped).
    """

    channel_id: str
    routing_key: str
    number: str
    app: str
    created_at: float
    entered_stasis: bool = False
    answered_at: float | None = None
    first_talk_at: float | None = None
    first_talk_endpoint: str | None = None
    talk_s: float = 0.0
    ended_at: float | None = None
    ended_by: EndedBy | None = None
    cause: int | None = None
    abandoned_by_patience: bool = False
    operator_hung_up: bool = False
    talking_since: float | None = None

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    @property
    def talked(self) -> bool:
        return self.first_talk_at is not None

    @property
    def unanswered(self) -> bool:
        """Ended without ever talking to an operator (by anyone, the caller included)."""
        return self.ended and not self.talked

    def wait_s(self, now: float) -> float:
        """Seconds from arrival to the first operator, or to now / the end if none."""
        until = self.first_talk_at or self.ended_at or now
        return until - self.created_at


class CallHistory:
    """All caller records, with running counts (``counts()`` costs nothing per call)."""

    def __init__(self) -> None:
        self._records: dict[str, CallRecord] = {}
        self._live = 0
        self._talked = 0
        self._unanswered = 0

    def open(self, record: CallRecord) -> CallRecord:
        self._records[record.channel_id] = record
        self._live += 1
        return record

    def get(self, channel_id: str) -> CallRecord | None:
        record = self._records.get(channel_id)
        return dataclasses.replace(record) if record is not None else None

    def records(self) -> list[CallRecord]:
        """Copies, oldest first: safe to keep while calls go on."""
        return [dataclasses.replace(r) for r in self._records.values()]

    def __len__(self) -> int:
        return len(self._records)

    def counts(self) -> dict[str, int]:
        """Calls so far, still live, that talked to an operator, ended unanswered."""
        return {
            "calls": len(self._records),
            "calls_live": self._live,
            "calls_talked": self._talked,
            "calls_unanswered": self._unanswered,
        }

    def start_talking(self, record: CallRecord, now: float, endpoint: str) -> None:
        if record.talking_since is not None:
            return
        record.talking_since = now
        if record.first_talk_at is None:
            record.first_talk_at = now
            record.first_talk_endpoint = endpoint
            self._talked += 1

    @staticmethod
    def stop_talking(record: CallRecord, now: float) -> None:
        if record.talking_since is not None:
            record.talk_s += now - record.talking_since
            record.talking_since = None

    def close(self, record: CallRecord, now: float, ended_by: EndedBy, cause: int) -> None:
        if record.ended_at is not None:
            return
        self.stop_talking(record, now)
        if ended_by == "application" and record.operator_hung_up:
            ended_by = "operator"
        record.ended_at = now
        record.ended_by = ended_by
        record.cause = cause
        self._live -= 1
        self._unanswered += not record.talked


def record_to_json(record: CallRecord) -> dict[str, Any]:
    """A record as the control API shows it, with ``unanswered``."""
    body = dataclasses.asdict(record)
    body.pop("talking_since", None)
    body["unanswered"] = record.unanswered
    return body
