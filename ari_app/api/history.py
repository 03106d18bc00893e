"""Where the API reads recent duty-officer changes: the store's audit trail, or memory."""

from __future__ import annotations

from datetime import UTC, datetime

from ari_app.api.ports import AuditEntry, ModeValue
from ari_app.calls.modes import MemoryModeRecorder, ModeChangeRecord
from ari_app.store.modes import ModeStore
from ari_app.vcta import (
    SetCrisisMessage,
    SetDiversion,
    SetIncomingMutualAid,
    SetOutgoingMutualAid,
    SetPositionPaused,
    SetVctaActive,
    Topology,
)


class StoreModeHistory:
    """The audit trail kept in PostgreSQL (``mode_changes``)."""

    def __init__(self, store: ModeStore) -> None:
        self._store = store

    async def recent(self, *, limit: int = 50, unit_id: str | None = None) -> list[AuditEntry]:
        rows = await self._store.recent_changes(limit=limit, unit_id=unit_id)
        return [
            AuditEntry(
                at=row.at,
                actor=row.actor,
                unit_id=row.unit_id,
                position_id=row.position_id,
                what=row.what,
                before=row.before,
                after=row.after,
                reason=row.reason,
            )
            for row in rows
        ]


class MemoryModeHistory:
    """The changes an in-memory recorder kept (the demo without a database)."""

    def __init__(self, recorder: MemoryModeRecorder, topology: Topology) -> None:
        self._recorder = recorder
        self._topology = topology

    async def recent(self, *, limit: int = 50, unit_id: str | None = None) -> list[AuditEntry]:
        found: list[AuditEntry] = []
        for record in reversed(self._recorder.changes):
            entry = audit_entry(record, self._topology)
            if unit_id is None or entry.unit_id == unit_id:
                found.append(entry)
                if len(found) >= limit:
                    break
        return found


def audit_entry(record: ModeChangeRecord, topology: Topology) -> AuditEntry:
    """``record`` in the audit trail's terms: the unit, the changed field, before and after."""
    before, after = record.before, record.after
    position_id: str | None = None
    values: tuple[ModeValue, ModeValue]
    match record.change:
        case SetOutgoingMutualAid(centre=unit_id):
            what = "outgoing_mutual_aid"
            values = (before.of(unit_id).outgoing_mutual_aid, after.of(unit_id).outgoing_mutual_aid)
        case SetIncomingMutualAid(centre=unit_id):
            what = "incoming_mutual_aid"
            values = (before.of(unit_id).incoming_mutual_aid, after.of(unit_id).incoming_mutual_aid)
        case SetDiversion(centre=unit_id):
            what = "diverted_to"
            values = (before.of(unit_id).diverted_to, after.of(unit_id).diverted_to)
        case SetCrisisMessage(centre=unit_id):
            what = "crisis_message"
            values = (before.of(unit_id).crisis_message, after.of(unit_id).crisis_message)
        case SetVctaActive(vcta=unit_id):
            what = "active"
            values = (unit_id in before.active_vctas, unit_id in after.active_vctas)
        case SetPositionPaused(position=position_id):
            position = topology.position_by_id.get(position_id)
            unit_id = position.centre if position is not None else ""
            what = "paused"
            values = (position_id in before.paused_positions, position_id in after.paused_positions)
    return AuditEntry(
        at=datetime.fromtimestamp(record.at, UTC),
        actor=record.actor,
        unit_id=unit_id,
        position_id=position_id,
        what=what,
        before={what: values[0]},
        after={what: values[1]},
        reason=record.reason or None,
        decision=record.decision,
    )
