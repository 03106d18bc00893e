"""What duty officers see of each unit, as frozen values, and its NG112 / NENA i3 queue state.

NENA i3 QueueState (NENA-STA-010) values and how a unit maps to them, first rule that applies:
- ``Disabled``: the unit takes no new calls by management action: a centre pooled in an active
  virtual CTA, a diverted centre, a virtual CTA that is not active.
- ``Full``: the unit is saturated (new calls go to neighbours when mutual aid allows).
- ``Inactive``: no position is online and taking calls (available, ringing, busy or wrap-up).
- ``Standby``: positions are available but no call is waiting, ringing or talking there.
- ``Active``: otherwise (calls are being handled).
``queueLength`` is the number of waiting calls and ``queueMaxLength`` the unit's ``max_queue``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ari_app.vcta.modes import CentreModes
from ari_app.vcta.overflow import saturation
from ari_app.vcta.state import CallStatus, LiveCall, LivePosition, PolicyState, PositionStatus
from ari_app.vcta.topology import Topology
from ari_app.vcta.units import UnitKind


class QueueState(StrEnum):
    """NENA i3 ``emergency-QueueState`` values."""

    ACTIVE = "Active"
    INACTIVE = "Inactive"
    DISABLED = "Disabled"
    FULL = "Full"
    STANDBY = "Standby"


@dataclass(frozen=True, slots=True)
class CallView:
    """A call as shown to duty officers; ``waited`` is seconds since it arrived."""

    call_id: str
    routing_key: str
    home_centre: str
    unit: str
    status: CallStatus
    arrived_at: float
    waited: float
    hops: int
    overflow: bool
    position: str | None

    @staticmethod
    def of(call: LiveCall, now: float) -> CallView:
        return CallView(
            call_id=call.call_id,
            routing_key=call.routing_key,
            home_centre=call.home_centre,
            unit=call.unit,
            status=call.status,
            arrived_at=call.arrived_at,
            waited=now - call.arrived_at,
            hops=call.hops,
            overflow=call.overflow,
            position=call.position,
        )


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position as shown to duty officers; ``idle_for`` only when available."""

    id: str
    endpoint: str
    centre: str
    status: PositionStatus
    idle_for: float | None
    call_id: str | None

    @staticmethod
    def of(position: LivePosition, now: float) -> PositionView:
        status = position.status
        idle_for = now - position.idle_since if status is PositionStatus.AVAILABLE else None
        return PositionView(
            position.id, position.endpoint, position.centre, status, idle_for, position.call_id
        )


@dataclass(frozen=True, slots=True)
class UnitSnapshot:
    """One unit at one moment.

    ``in_service`` is False for a centre pooled in an active virtual CTA (``served_by`` names
    it) and for a virtual CTA that is not active. ``positions`` are the unit's own (a virtual
    CTA's are its members'); ``waiting`` is oldest first (what a picking operator chooses from).
    ``modes`` has the modes of the unit's centres (one for a centre).
    """

    unit_id: str
    kind: UnitKind
    name: str
    members: tuple[str, ...]
    in_service: bool
    served_by: str
    queue_length: int
    oldest_wait: float | None
    waiting: tuple[CallView, ...]
    positions: tuple[PositionView, ...]
    free_positions: int
    busy_positions: int
    saturated: bool
    saturation_reason: str
    modes: Mapping[str, CentreModes]
    overflow_held: int
    overflow_cap: int
    reserve: int
    max_queue: int
    max_wait: float
    queue_state: QueueState

    @property
    def queue_max_length(self) -> int:
        """NENA ``queueMaxLength``."""
        return self.max_queue


_TAKING_CALLS = (
    PositionStatus.AVAILABLE,
    PositionStatus.RINGING,
    PositionStatus.BUSY,
    PositionStatus.WRAP_UP,
)
_ON_A_CALL = (PositionStatus.RINGING, PositionStatus.BUSY, PositionStatus.WRAP_UP)


def snapshot_unit(topology: Topology, state: PolicyState, unit_id: str, now: float) -> UnitSnapshot:
    """What duty officers see of ``unit_id`` now."""
    unit = state.units[unit_id]
    layout = state.layout
    if unit.kind is UnitKind.CENTRE:
        served_by = layout.unit_of_centre[unit_id]
    else:
        served_by = unit_id if unit_id in layout.serving_units else ""
    in_service = unit_id in layout.serving_units
    positions = tuple(
        PositionView.of(state.positions[p.id], now)
        for member in unit.members
        for p in topology.centre_by_id[member].positions
    )
    waiting = tuple(CallView.of(call, now) for call in state.waiting_calls(unit_id))
    oldest = state.oldest_arrival(unit_id)
    status = saturation(state, unit_id, now)
    modes = {member: state.modes.of(member) for member in unit.members}
    statuses = [p.status for p in positions]
    busy = sum(1 for s in statuses if s in _ON_A_CALL)
    calls_here = bool(waiting) or busy > 0
    diverted = unit.kind is UnitKind.CENTRE and modes[unit_id].diverted_to is not None
    if not in_service or diverted:
        queue_state = QueueState.DISABLED
    elif status.saturated:
        queue_state = QueueState.FULL
    elif not any(s in _TAKING_CALLS for s in statuses):
        queue_state = QueueState.INACTIVE
    elif not calls_here:
        queue_state = QueueState.STANDBY
    else:
        queue_state = QueueState.ACTIVE
    return UnitSnapshot(
        unit_id=unit_id,
        kind=unit.kind,
        name=unit.name,
        members=unit.members,
        in_service=in_service,
        served_by=served_by,
        queue_length=len(waiting),
        oldest_wait=None if oldest is None else now - oldest,
        waiting=waiting,
        positions=positions,
        free_positions=sum(1 for s in statuses if s is PositionStatus.AVAILABLE),
        busy_positions=busy,
        saturated=status.saturated,
        saturation_reason=status.reason,
        modes=modes,
        overflow_held=state.overflow_held(unit_id),
        overflow_cap=unit.overflow_cap,
        reserve=unit.reserve,
        max_queue=unit.max_queue,
        max_wait=unit.max_wait,
        queue_state=queue_state,
    )


def snapshot(topology: Topology, state: PolicyState, now: float) -> tuple[UnitSnapshot, ...]:
    """Every unit (centres in file order, then virtual CTAs) as duty officers see it now."""
    return tuple(snapshot_unit(topology, state, unit_id, now) for unit_id in state.units)
