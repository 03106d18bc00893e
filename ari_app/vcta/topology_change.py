"""A new topology taken while calls are in progress: what changed, what it would strand, and
the live state carried over to it.

- ``limit_changes`` lists what changed for a person, limit by limit
  (``sdis77 max_queue 8 → 9``), for the import's summary, the audit and the log.
- ``stranded`` says which calls in progress the new topology cannot carry, and why: the
  import is refused then (the only case is a position's endpoint given to another position
  while a call is on it: the phone would be offered a second call).
- ``carry_over`` builds the state on the new topology: positions keep what they are doing
  (a removed one finishes its call, retiring); calls keep their arrival time, status and
  position; a call waiting at a unit the topology no longer has is routed again by the
  normal rules, and that move is returned for the call handling to carry out.
Pure: no I/O, time passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ari_app.vcta.decisions import Move, MoveKind
from ari_app.vcta.modes import Modes
from ari_app.vcta.routing import route_call
from ari_app.vcta.state import CallStatus, PolicyState, PolicyStateError
from ari_app.vcta.topology import Centre, Topology, VirtualCta

ARROW = "→"

_UNIT_LIMITS = ("max_queue", "max_wait", "reserve", "overflow_cap")
_POLICY_LIMITS = ("default_unit", "backup_unit", "last_resort_after", "skip_failed_position_for")


@dataclass(frozen=True, slots=True)
class CallInProgress:
    """A call as the import sees it: which position (if any) it rings or talks to."""

    call_id: str
    position: str | None


@dataclass(frozen=True, slots=True)
class LimitChange:
    """One value of a unit (or of the policy, ``unit`` "policy") that a new topology changes."""

    unit: str
    name: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.unit} {self.name} {self.before} {ARROW} {self.after}"


@dataclass(frozen=True, slots=True)
class CarriedOver:
    """The state on the new topology and the moves already made in it."""

    state: PolicyState
    moves: tuple[Move, ...]


def _value(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def _changed(unit_id: str, name: str, before: object, after: object) -> LimitChange | None:
    if before == after:
        return None
    return LimitChange(unit_id, name, _value(before), _value(after))


def _centre_changes(old: Centre, new: Centre) -> list[LimitChange]:
    changes = [
        _changed(old.id, name, getattr(old, name), getattr(new, name)) for name in _UNIT_LIMITS
    ]
    changes.append(_changed(old.id, "routing_keys", old.routing_keys, new.routing_keys))
    changes.append(
        _changed(
            old.id,
            "neighbours",
            tuple(tuple(rank) for rank in old.neighbours),
            tuple(tuple(rank) for rank in new.neighbours),
        )
    )
    for name in ("welcome", "reminder", "reminder_every", "music_on_hold"):
        changes.append(
            _changed(
                old.id, name, getattr(old.announcements, name), getattr(new.announcements, name)
            )
        )
    return [c for c in changes if c is not None]


def _vcta_changes(old: VirtualCta, new: VirtualCta) -> list[LimitChange]:
    changes = [
        _changed(old.id, name, getattr(old, name), getattr(new, name)) for name in _UNIT_LIMITS
    ]
    changes.append(_changed(old.id, "members", old.members, new.members))
    return [c for c in changes if c is not None]


def limit_changes(old: Topology, new: Topology) -> list[LimitChange]:
    """What changed between ``old`` and ``new`` for the units both have, the positions both
    have (centre, endpoint) and the policy; each reads ``sdis77 max_queue 8 → 9``."""
    changes = [
        c
        for name in _POLICY_LIMITS
        if (c := _changed("policy", name, getattr(old, name), getattr(new, name))) is not None
    ]
    for centre in new.centres:
        before = old.centre_by_id.get(centre.id)
        if before is not None:
            changes.extend(_centre_changes(before, centre))
    for vcta in new.virtual_ctas:
        before_vcta = old.vcta_by_id.get(vcta.id)
        if before_vcta is not None:
            changes.extend(_vcta_changes(before_vcta, vcta))
    for position in new.position_by_id.values():
        was = old.position_by_id.get(position.id)
        if was is not None and was.centre != position.centre:
            changes.append(LimitChange(position.id, "centre", was.centre, position.centre))
        if was is not None and was.endpoint != position.endpoint:
            changes.append(LimitChange(position.id, "endpoint", was.endpoint, position.endpoint))
    return changes


def stranded(old: Topology, new: Topology, calls: Iterable[CallInProgress]) -> list[str]:
    """Why calls in progress could not be carried to ``new``, one sentence per call."""
    owner = {p.endpoint: p.id for p in new.position_by_id.values()}
    reasons = []
    for call in calls:
        position = old.position_by_id.get(call.position or "")
        if position is None:
            continue
        taken_by = owner.get(position.endpoint)
        if taken_by is not None and taken_by != position.id:
            reasons.append(
                f"call {call.call_id} is on {position.endpoint} (position {position.id}), "
                f"which the new topology gives to position {taken_by}: import it once that "
                "call has ended"
            )
    return reasons


def carry_over(old: PolicyState, topology: Topology, modes: Modes, now: float) -> CarriedOver:
    """The live state of ``old`` on ``topology`` with ``modes`` (valid for it); see the
    module doc. Raises PolicyStateError when ``stranded`` would name a call."""
    calls = [CallInProgress(c.call_id, c.position) for c in old.calls.values()]
    reasons = stranded(old.topology, topology, calls)
    if reasons:
        raise PolicyStateError("; ".join(reasons))
    state = PolicyState(topology, modes)
    for position in old.positions.values():
        state.carry_position(position)
    moves: list[Move] = []
    movable = (CallStatus.ROUTED, CallStatus.WAITING, CallStatus.OFFERED)
    for call in sorted(old.calls.values(), key=lambda c: c.queue_key):
        decision = route_call(topology, state, call.routing_key, now)
        home = (
            call.home_centre if call.home_centre in topology.centre_by_id else decision.home_centre
        )
        gone = call.unit not in state.units
        restored = state.restore_call(
            call.call_id,
            routing_key=call.routing_key,
            home_centre=home,
            # A unit the topology no longer has: routed again, by the normal rules.
            unit=decision.unit if gone else call.unit,
            arrived_at=call.arrived_at,
            status=call.status,
            position=call.position,
            hops=call.hops,
            overflow=call.overflow and not gone,
        )
        # Where it has been, and which positions it must not ring again yet, go with it.
        restored.visited = call.visited
        restored.skipped.update(
            {p: until for p, until in call.skipped.items() if p in state.positions}
        )
        if restored.unit != call.unit and call.status in movable:
            restored.hops += 1
            restored.visited = (*call.visited, restored.unit)
            reason = (
                f"{call.unit} is no longer in the topology: {decision.reason}"
                if gone
                else f"the new topology has {call.unit}'s calls served by {restored.unit}"
            )
            moves.append(Move(call.call_id, call.unit, restored.unit, MoveKind.TOPOLOGY, reason))
    return CarriedOver(state, tuple(moves))
