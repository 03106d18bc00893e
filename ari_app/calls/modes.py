"""Duty officers' changes: what is kept of each, and where it goes.

Every change is audited (who, when, before, after, why). The recorder must not lose one and
must not make the change wait on a database: implementations spool when they have to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ari_app.vcta import ModeChange, Modes


@dataclass(frozen=True, slots=True)
class ModeChangeRecord:
    """One accepted change of the modes, as the audit trail keeps it."""

    at: float
    actor: str
    change: ModeChange
    reason: str
    before: Modes
    after: Modes
    decision: str  # the policy's own sentence about the change


class ModeRecorder(Protocol):
    """Where accepted changes are kept; ``record`` returns at once and never raises."""

    def record(self, change: ModeChangeRecord) -> None: ...


class MemoryModeRecorder:
    """Changes kept in memory, for the demo and tests."""

    def __init__(self) -> None:
        self.changes: list[ModeChangeRecord] = []

    def record(self, change: ModeChangeRecord) -> None:
        self.changes.append(change)
