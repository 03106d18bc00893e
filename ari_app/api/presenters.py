"""The policy's and the store's values as the API's answer models."""

from __future__ import annotations

from datetime import UTC, datetime

from ari_app.api.models import (
    AuditRecord,
    CallbackState,
    CallState,
    CentreModesState,
    NenaQueueState,
    PositionState,
    UnitState,
)
from ari_app.api.ports import AuditEntry
from ari_app.store.callbacks import Callback
from ari_app.vcta import CallView, PositionView, UnitSnapshot


def present_modes(unit: UnitSnapshot) -> list[CentreModesState]:
    """The modes of each centre of ``unit``, as the API shows them."""
    return [
        CentreModesState(
            centre=centre,
            outgoing_mutual_aid=modes.outgoing_mutual_aid,
            incoming_mutual_aid=modes.incoming_mutual_aid,
            diverted_to=modes.diverted_to,
            crisis_message=modes.crisis_message,
        )
        for centre, modes in unit.modes.items()
    ]


def moment(seconds: float) -> datetime:
    """Clock seconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def unit_state(unit: UnitSnapshot) -> UnitState:
    return UnitState(
        id=unit.unit_id,
        kind=unit.kind,
        name=unit.name,
        members=list(unit.members),
        in_service=unit.in_service,
        served_by=unit.served_by,
        queue_length=unit.queue_length,
        oldest_wait_s=None if unit.oldest_wait is None else round(unit.oldest_wait, 3),
        free_positions=unit.free_positions,
        busy_positions=unit.busy_positions,
        positions=len(unit.positions),
        saturated=unit.saturated,
        saturation_reason=unit.saturation_reason,
        modes=present_modes(unit),
        overflow_held=unit.overflow_held,
        overflow_cap=unit.overflow_cap,
        reserve=unit.reserve,
        max_queue=unit.max_queue,
        max_wait_s=unit.max_wait,
        queue_state=NenaQueueState(
            queueState=unit.queue_state,
            queueLength=unit.queue_length,
            queueMaxLength=unit.queue_max_length,
        ),
    )


def call_state(call: CallView) -> CallState:
    return CallState(
        call_id=call.call_id,
        routing_key=call.routing_key,
        home_centre=call.home_centre,
        unit=call.unit,
        status=call.status,
        arrived_at=moment(call.arrived_at),
        waited_s=round(call.waited, 3),
        hops=call.hops,
        overflow=call.overflow,
        position=call.position,
    )


def position_state(position: PositionView, unit_id: str) -> PositionState:
    return PositionState(
        id=position.id,
        endpoint=position.endpoint,
        centre=position.centre,
        unit=unit_id,
        status=position.status,
        idle_for_s=None if position.idle_for is None else round(position.idle_for, 3),
        call_id=position.call_id,
    )


def audit_record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        at=entry.at,
        actor=entry.actor,
        unit=entry.unit_id,
        position=entry.position_id,
        what=entry.what,
        before=dict(entry.before) if entry.before is not None else None,
        after=dict(entry.after),
        reason=entry.reason,
        decision=entry.decision,
    )


def callback_state(callback: Callback) -> CallbackState:
    return CallbackState(
        call_id=callback.call_id,
        caller=callback.caller,
        home_centre=callback.home_centre,
        arrived_at=callback.arrived_at,
        hung_up_at=callback.hung_up_at,
        waited_s=round(callback.waited_s, 3),
        done=callback.done,
        done_at=callback.done_at,
        done_by=callback.done_by,
        done_outcome=callback.done_outcome,
        note=callback.note,
    )
