"""Within a unit: which position to ring for which call, and whether an operator may pick a call.

Oldest call first; the longest-idle available position first; a position that recently failed
to take a call is skipped for that call (the next position is tried, and if every available
position is skipped for the oldest call, the next call is considered so no position stays idle
while someone waits). A call the call handling cannot ring for now (``offerable`` says no: its
Asterisk node is out of step) is passed over the same way, keeping its place.
"""

from __future__ import annotations

from collections.abc import Callable

from ari_app.vcta.decisions import Offer, PickDecision
from ari_app.vcta.state import CallStatus, PolicyState, PositionStatus
from ari_app.vcta.topology import Topology


def next_offer(
    topology: Topology,
    state: PolicyState,
    unit_id: str,
    now: float,
    offerable: Callable[[str], bool] | None = None,
) -> Offer | None:
    """The next call of ``unit_id`` to ring and the position to ring, or None; calls for
    which ``offerable(call_id)`` is false are passed over.

    Cheap when nothing can be offered (no waiting call or no available position): the call
    handling layer may ask for every unit each time something changes.
    """
    if not state.available_count(unit_id) or not state.queue_length(unit_id):
        return None
    for call in state.waiting_calls(unit_id):
        if offerable is not None and not offerable(call.call_id):
            continue
        skipped = call.skipped
        for position in state.available_positions(unit_id):
            if skipped and skipped.get(position.id, now) > now:
                continue
            waited = now - call.arrived_at
            reason = (
                f"oldest call at {unit_id} that {position.id} may take (waiting {waited:.0f} s); "
                f"{position.id} is the longest idle available position "
                f"(free since {now - position.idle_since:.0f} s)"
            )
            return Offer(call.call_id, position.id, position.endpoint, unit_id, reason)
    return None


_MAY_PICK = (PositionStatus.AVAILABLE, PositionStatus.PAUSED, PositionStatus.WRAP_UP)


def may_pick(
    topology: Topology, state: PolicyState, position_id: str, call_id: str, now: float
) -> PickDecision:
    """Whether the operator at ``position_id`` may take waiting call ``call_id``.

    Allowed for any call waiting at the unit the position serves, when the position is online
    and not already ringing or on a call (a paused or wrapping-up operator who picks a call is
    ready for it). Then carry it out with ``offer_made`` and ``call_connected``.
    """
    position = state.positions.get(position_id)
    if position is None:
        return PickDecision(False, f"{position_id!r} is not a position")
    call = state.calls.get(call_id)
    if call is None:
        return PickDecision(False, f"call {call_id} is over or unknown")
    status = position.status
    if status not in _MAY_PICK:
        return PickDecision(False, f"{position_id} is {status} and cannot take another call")
    if call.status is not CallStatus.WAITING:
        return PickDecision(
            False, f"call {call_id} is {call.status}, no longer waiting to be answered"
        )
    unit = state.unit_of_position(position_id)
    if call.unit != unit:
        return PickDecision(
            False, f"call {call_id} waits at {call.unit}; {position_id} serves {unit}"
        )
    waited = now - call.arrived_at
    return PickDecision(
        True, f"{position_id} picks call {call_id} waiting at {unit} for {waited:.0f} s"
    )
