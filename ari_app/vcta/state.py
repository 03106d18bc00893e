"""The live state the policy decides on: positions, calls, queues, modes.

One ``PolicyState`` is kept by the call handling layer and changed only through its methods,
one per thing that happens (a call arrives, a position answers, a duty officer switches a mode).
Indexes are kept up to date by those methods so that decisions never scan everything:
per-unit queues ordered by arrival, per-unit available positions ordered by idle time, and
counters of overflow calls held.

Records returned by the read methods (``LiveCall``, ``LivePosition``) are the state's own:
read them, never change them. A method given an unknown id or an impossible transition raises
``PolicyStateError`` and changes nothing.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from ari_app.vcta.decisions import Move, MoveKind, RoutingDecision
from ari_app.vcta.helping import OWN_LOAD_SMOOTHING_S
from ari_app.vcta.mode_changes import diversion_chain, modes_problems
from ari_app.vcta.modes import Modes
from ari_app.vcta.topology import Topology
from ari_app.vcta.units import Layout, Unit, build_layout, units_of


class PolicyStateError(ValueError):
    """A state change that does not fit the state (unknown id, impossible transition)."""


class PositionStatus(StrEnum):
    """What a position is doing, as shown to duty officers."""

    OFFLINE = "offline"  # its endpoint is not registered
    AVAILABLE = "available"  # may be offered a call
    RINGING = "ringing"  # a call is being offered to it
    BUSY = "busy"  # on a call
    WRAP_UP = "wrap_up"  # finishing the last call's paperwork
    PAUSED = "paused"  # online, but not taking calls


class Activity(StrEnum):
    """What a position does with calls, regardless of being online or paused."""

    IDLE = "idle"
    RINGING = "ringing"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class CallStatus(StrEnum):
    """Where a call is in its life, as the policy sees it."""

    ROUTED = "routed"  # its unit is chosen; the caller is not yet waiting
    WAITING = "waiting"  # in its unit's queue
    OFFERED = "offered"  # a position is ringing for it: not in the queue
    CONNECTED = "connected"  # talking to an operator


LAYOUT_MOVES = frozenset({MoveKind.VCTA, MoveKind.DIVERSION, MoveKind.TOPOLOGY})
"""Moves a change of layout makes (``put_modes``), rather than the overflow pass."""
LAYOUT_MOVABLE = (CallStatus.ROUTED, CallStatus.WAITING, CallStatus.OFFERED)
"""What a change of layout moves: every call not yet talking (an offered one rings on)."""


class OfferFailure(StrEnum):
    """Why a position did not take an offered call."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"
    REJECTED = "rejected"


@dataclass(slots=True)
class LivePosition:
    """A position as it is now. ``idle_since`` is when it last became free (or came online)."""

    id: str
    endpoint: str
    centre: str
    online: bool = False
    paused: bool = False
    activity: Activity = Activity.IDLE
    idle_since: float = 0.0
    call_id: str | None = None
    # On a call the application does not handle (the dialplan fallback rang it directly):
    # Asterisk reports a channel on its endpoint that is none of ours.
    engaged: bool = False
    # Where the position sits in the available index, if it does: (unit, (idle_since, id)).
    indexed: tuple[str, tuple[float, str]] | None = None
    # Removed by a new topology while on a call: it finishes that call, is offered nothing,
    # and is forgotten once free.
    retiring: bool = False

    @property
    def status(self) -> PositionStatus:
        if not self.online:
            return PositionStatus.OFFLINE
        if self.activity is not Activity.IDLE:
            return PositionStatus(self.activity.value)
        if self.engaged:
            return PositionStatus.BUSY
        return PositionStatus.PAUSED if self.paused else PositionStatus.AVAILABLE


@dataclass(slots=True)
class LiveCall:
    """A call as it is now.

    ``visited`` lists the units it has waited at, in order (the current one last);
    ``overflow`` is True while it sits at a unit that took it by mutual aid or last resort;
    ``skipped`` maps positions that failed to take it to the time they may be tried again.
    """

    call_id: str
    routing_key: str
    home_centre: str
    unit: str
    arrived_at: float
    status: CallStatus = CallStatus.ROUTED
    position: str | None = None
    hops: int = 0
    visited: tuple[str, ...] = ()
    overflow: bool = False
    skipped: dict[str, float] = field(default_factory=dict)

    @property
    def queue_key(self) -> tuple[float, str]:
        """Its place in a queue: oldest first, call id to break ties."""
        return (self.arrived_at, self.call_id)


class PolicyState:
    """Positions, calls and modes of one topology, with the indexes decisions need."""

    def __init__(self, topology: Topology, modes: Modes | None = None) -> None:
        """Start with every position offline and no call; ``modes`` default to the file's."""
        self.topology = topology
        self.units: Mapping[str, Unit] = MappingProxyType(units_of(topology))
        modes = modes if modes is not None else topology.initial_modes()
        problems = modes_problems(topology, modes)
        if problems:
            raise PolicyStateError("; ".join(problems))
        self._modes = modes
        self._layout = build_layout(topology, modes)
        self._positions: dict[str, LivePosition] = {}
        for centre in topology.centres:
            for position in centre.positions:
                self._positions[position.id] = LivePosition(
                    id=position.id,
                    endpoint=position.endpoint,
                    centre=centre.id,
                    paused=position.id in modes.paused_positions,
                )
        self._calls: dict[str, LiveCall] = {}
        self._queues: dict[str, list[tuple[float, str]]] = {u: [] for u in self.units}
        self._available: dict[str, list[tuple[float, str]]] = {u: [] for u in self.units}
        self._held: dict[str, int] = dict.fromkeys(self.units, 0)
        # Calls at each unit whatever their status (waiting, ringing, talking).
        self._present: dict[str, int] = dict.fromkeys(self.units, 0)
        # Overflow calls held by (unit, the unit the call first waited at).
        self._held_from: dict[tuple[str, str], int] = {}
        # Each unit's own calls in progress, smoothed over time (mutual aid sizes what a helper
        # keeps from it), and when that average was last brought up to date.
        self._own_average: dict[str, float] = dict.fromkeys(self.units, 0.0)
        self._own_since: dict[str, float] = dict.fromkeys(self.units, 0.0)
        # Routing's memo: home centre -> (centres diverted through, unit, end of the reason)
        # under the modes in force. Cleared whenever the modes change.
        self.route_cache: dict[str, tuple[tuple[str, ...], str, str]] = {}
        self.positions: Mapping[str, LivePosition] = MappingProxyType(self._positions)
        self.calls: Mapping[str, LiveCall] = MappingProxyType(self._calls)

    # -- reading ---------------------------------------------------------------------------

    @property
    def modes(self) -> Modes:
        """The modes in force."""
        return self._modes

    @property
    def layout(self) -> Layout:
        """Which unit serves which centre under the modes in force."""
        return self._layout

    def unit_of_centre(self, centre_id: str) -> str:
        """The unit in service for ``centre_id``'s calls and positions."""
        return self._layout.unit_of_centre[centre_id]

    def unit_of_position(self, position_id: str) -> str:
        """The unit ``position_id`` serves now."""
        return self._layout.unit_of_centre[self._position(position_id).centre]

    def queue_length(self, unit_id: str) -> int:
        """How many calls wait at ``unit_id`` (offered and connected calls excluded)."""
        return len(self._queues[unit_id])

    def oldest_arrival(self, unit_id: str) -> float | None:
        """Arrival time of the oldest call waiting at ``unit_id``, None when none waits."""
        queue = self._queues[unit_id]
        return queue[0][0] if queue else None

    def waiting_calls(self, unit_id: str) -> Iterator[LiveCall]:
        """Calls waiting at ``unit_id``, oldest first (lazily: stop early, it costs nothing)."""
        calls = self._calls
        for _, call_id in self._queues[unit_id]:
            yield calls[call_id]

    def available_count(self, unit_id: str) -> int:
        """How many positions serving ``unit_id`` may be offered a call now."""
        return len(self._available[unit_id])

    def available_positions(self, unit_id: str) -> Iterator[LivePosition]:
        """Positions serving ``unit_id`` that may be offered a call, longest idle first."""
        positions = self._positions
        for _, position_id in self._available[unit_id]:
            yield positions[position_id]

    def free_positions(self, unit_id: str) -> int:
        """Available positions not already needed by the calls waiting at ``unit_id``."""
        return max(0, len(self._available[unit_id]) - len(self._queues[unit_id]))

    def overflow_held(self, unit_id: str) -> int:
        """Calls at ``unit_id`` (waiting, ringing or talking) that came by mutual aid or last
        resort."""
        return self._held[unit_id]

    def overflow_held_from(self, unit_id: str, origin: str) -> int:
        """Overflow calls at ``unit_id`` that first waited at unit ``origin``."""
        return self._held_from.get((unit_id, origin), 0)

    def own_calls(self, unit_id: str) -> int:
        """Calls at ``unit_id`` (waiting, ringing or talking) that did not come by mutual aid
        or last resort: the unit's own load, which mutual aid must spare."""
        return self._present[unit_id] - self._held[unit_id]

    def own_load(self, unit_id: str, now: float) -> float:
        """``own_calls`` averaged over the last minutes (exponentially, time constant
        ``OWN_LOAD_SMOOTHING_S``): the unit's own offered load in Erlangs, as it has been."""
        current = self._present[unit_id] - self._held[unit_id]
        elapsed = max(0.0, now - self._own_since[unit_id])
        decay = math.exp(-elapsed / OWN_LOAD_SMOOTHING_S)
        return current + (self._own_average[unit_id] - current) * decay

    def units_ready(self) -> list[str]:
        """Units with at least one waiting call and one available position, in topology order."""
        return [
            unit
            for unit in self._layout.serving_units
            if self._queues[unit] and self._available[unit]
        ]

    # -- calls -----------------------------------------------------------------------------

    def call_arrived(self, call_id: str, decision: RoutingDecision, arrived_at: float) -> LiveCall:
        """Record a new call at the unit ``decision`` chose; it waits once ``call_waiting``."""
        return self.restore_call(
            call_id,
            routing_key=decision.routing_key,
            home_centre=decision.home_centre,
            unit=decision.unit,
            arrived_at=arrived_at,
            status=CallStatus.ROUTED,
        )

    def restore_call(
        self,
        call_id: str,
        *,
        routing_key: str,
        home_centre: str,
        unit: str,
        arrived_at: float,
        status: CallStatus = CallStatus.WAITING,
        position: str | None = None,
        hops: int = 0,
        overflow: bool = False,
    ) -> LiveCall:
        """Put a call back as it was (after a restart), keeping its arrival time.

        A unit no longer in service is replaced by the one serving it now. An offered or
        connected call needs its ``position``, which is marked ringing or busy.
        """
        if call_id in self._calls:
            raise PolicyStateError(f"call {call_id} is already known")
        if home_centre not in self.topology.centre_by_id:
            raise PolicyStateError(f"{home_centre!r} is not a centre")
        if unit not in self.units:
            raise PolicyStateError(f"{unit!r} is not a unit")
        needs_position = status in (CallStatus.OFFERED, CallStatus.CONNECTED)
        if needs_position != (position is not None):
            raise PolicyStateError(
                f"call {call_id}: a position goes with offered and connected calls only"
            )
        live_position = self._position(position) if position is not None else None
        if live_position is not None and live_position.call_id is not None:
            raise PolicyStateError(f"{position} already has call {live_position.call_id}")
        if status is not CallStatus.CONNECTED:
            unit = self.serving_unit_for(unit, home_centre)
        call = LiveCall(
            call_id=call_id,
            routing_key=routing_key,
            home_centre=home_centre,
            unit=unit,
            arrived_at=arrived_at,
            status=status,
            position=position,
            hops=hops,
            visited=(unit,),
            overflow=overflow,
        )
        self._calls[call_id] = call
        self._settle_load(unit, arrived_at)
        self._present[unit] += 1
        if overflow:
            self._held[unit] += 1
            self._count_from(call, unit, 1)
        if status is CallStatus.WAITING:
            bisect.insort(self._queues[unit], call.queue_key)
        if live_position is not None:
            live_position.call_id = call_id
            live_position.activity = (
                Activity.RINGING if status is CallStatus.OFFERED else Activity.BUSY
            )
            self._reindex(live_position)
        return call

    def call_waiting(self, call_id: str, now: float) -> None:
        """The caller is answered and on hold: the call joins its unit's queue."""
        call = self._call(call_id)
        if call.status is not CallStatus.ROUTED:
            raise PolicyStateError(f"call {call_id} is {call.status}, not routed")
        call.status = CallStatus.WAITING
        bisect.insort(self._queues[call.unit], call.queue_key)

    def offer_made(self, call_id: str, position_id: str, now: float) -> None:
        """``position_id`` is being rung for ``call_id`` (offered, or picked by the operator)."""
        call = self._call(call_id)
        position = self._position(position_id)
        if call.status is not CallStatus.WAITING:
            raise PolicyStateError(f"call {call_id} is {call.status}, not waiting")
        if (
            not position.online
            or position.engaged
            or position.activity in (Activity.RINGING, Activity.BUSY)
        ):
            raise PolicyStateError(f"{position_id} is {position.status} and cannot be rung")
        self._unqueue(call)
        call.status = CallStatus.OFFERED
        call.position = position_id
        position.activity = Activity.RINGING
        position.call_id = call_id
        self._reindex(position)

    def offer_failed(
        self, call_id: str, position_id: str, failure: OfferFailure, now: float
    ) -> None:
        """The position did not take the call: the call is back in line at the same place and
        the position is skipped for it for ``skip_failed_position_for`` seconds.

        The position goes to the end of the idle order; an unreachable one is marked offline
        until its endpoint is reported online again.
        """
        call = self._call(call_id)
        position = self._position(position_id)
        if call.status is not CallStatus.OFFERED or call.position != position_id:
            raise PolicyStateError(f"call {call_id} is not being offered to {position_id}")
        call.status = CallStatus.WAITING
        call.position = None
        call.skipped[position_id] = now + self.topology.skip_failed_position_for
        bisect.insort(self._queues[call.unit], call.queue_key)
        position.activity = Activity.IDLE
        position.call_id = None
        position.idle_since = now
        if failure is OfferFailure.UNREACHABLE:
            position.online = False
        self._reindex(position)
        self._forget_if_retired(position)

    def call_connected(self, call_id: str, position_id: str, now: float) -> None:
        """The operator at ``position_id`` answered: caller and operator talk."""
        call = self._call(call_id)
        position = self._position(position_id)
        if call.status is not CallStatus.OFFERED or call.position != position_id:
            raise PolicyStateError(f"call {call_id} is not being offered to {position_id}")
        call.status = CallStatus.CONNECTED
        position.activity = Activity.BUSY
        self._reindex(position)

    def call_ended(self, call_id: str, now: float) -> LiveCall:
        """The call is over, whatever its state; its position (if any) is freed.

        After a conversation the position goes to wrap-up; a position that was only ringing is
        free again at once, keeping its place in the idle order.
        """
        call = self._call(call_id)
        if call.status is CallStatus.WAITING:
            self._unqueue(call)
        if call.position is not None:
            position = self._positions[call.position]
            position.call_id = None
            if call.status is CallStatus.CONNECTED:
                position.activity = Activity.WRAP_UP
            else:
                position.activity = Activity.IDLE
            self._reindex(position)
            self._forget_if_retired(position)
        self._settle_load(call.unit, now)
        if call.overflow:
            self._held[call.unit] -= 1
            self._count_from(call, call.unit, -1)
        self._present[call.unit] -= 1
        del self._calls[call_id]
        return call

    def move_call(self, move: Move, now: float) -> None:
        """Carry out a move of the overflow pass or of a change of layout (``put_modes``): the
        call keeps its arrival time and so its place among the calls of its new unit.

        The overflow pass moves waiting calls only; a change of layout also moves a call still
        arriving (routed) or ringing a position (offered), which rings on.
        """
        call = self._call(move.call_id)
        movable = LAYOUT_MOVABLE if move.kind in LAYOUT_MOVES else (CallStatus.WAITING,)
        if call.status not in movable or call.unit != move.from_unit:
            raise PolicyStateError(
                f"call {move.call_id} is {call.status} at {call.unit}, "
                f"not {' or '.join(movable)} at {move.from_unit}: it cannot move ({move.kind})"
            )
        if move.to_unit not in self._layout.serving_units:
            raise PolicyStateError(f"{move.to_unit} is not a unit in service")
        self._relocate(call, move.to_unit, move.kind, now)

    # -- positions -------------------------------------------------------------------------

    def position_online(self, position_id: str, now: float) -> None:
        """The position's endpoint is registered (idle from now if it was offline)."""
        position = self._position(position_id)
        if not position.online:
            position.online = True
            position.idle_since = now
            self._reindex(position)

    def position_offline(self, position_id: str, now: float) -> None:
        """The position's endpoint is gone; a call it is on stays until it ends."""
        position = self._position(position_id)
        if position.online:
            position.online = False
            self._reindex(position)

    def position_engaged(self, position_id: str, engaged: bool, now: float) -> None:
        """The position is (or is no longer) on a call the application does not handle; it
        is offered nothing meanwhile, and is idle from the end of that call."""
        position = self._position(position_id)
        if position.engaged == engaged:
            return
        position.engaged = engaged
        if not engaged:
            position.idle_since = now
        self._reindex(position)

    def set_paused(self, position_id: str, paused: bool, now: float) -> None:
        """Pause or resume a position (also recorded in the modes); idle from now on resume."""
        position = self._position(position_id)
        if position.paused == paused:
            return
        paused_ids = self._modes.paused_positions
        paused_ids = paused_ids | {position_id} if paused else paused_ids - {position_id}
        self._modes = Modes(self._modes.centres, self._modes.active_vctas, paused_ids)
        self._set_paused(position, paused, now)

    def wrap_up_ended(self, position_id: str, now: float) -> None:
        """The operator finished the last call's paperwork: available from now."""
        position = self._position(position_id)
        if position.activity is not Activity.WRAP_UP:
            raise PolicyStateError(f"{position_id} is {position.status}, not in wrap-up")
        position.activity = Activity.IDLE
        position.idle_since = now
        self._reindex(position)
        self._forget_if_retired(position)

    # -- a new topology --------------------------------------------------------------------

    def carry_position(self, old: LivePosition) -> None:
        """Take over what ``old`` (of the state this one replaces) is doing: online, engaged,
        idle since, wrap-up. A position this topology no longer has is kept, retiring, while
        it is on a call or in wrap-up. Its call, if any, is carried with ``restore_call``."""
        position = self._positions.get(old.id)
        if position is None:
            if old.call_id is None and old.activity is not Activity.WRAP_UP:
                return
            position = LivePosition(id=old.id, endpoint=old.endpoint, centre=old.centre)
            position.retiring = True
            self._positions[old.id] = position
        position.online = old.online
        position.engaged = old.engaged
        position.idle_since = old.idle_since
        if old.activity is Activity.WRAP_UP:
            position.activity = Activity.WRAP_UP
        self._reindex(position)

    def _forget_if_retired(self, position: LivePosition) -> None:
        if position.retiring and position.call_id is None and position.activity is Activity.IDLE:
            del self._positions[position.id]

    # -- modes -----------------------------------------------------------------------------

    def apply_modes(self, modes: Modes, now: float) -> list[Move]:
        """Put ``modes`` in force, carry out the moves it asks for and return them (for a
        caller that owns no call of its own: the simulator, the tests)."""
        moves = self.put_modes(modes, now)
        for move in moves:
            self.move_call(move, now)
        return moves

    def put_modes(self, modes: Modes, now: float) -> list[Move]:
        """Put ``modes`` in force and return the moves the new layout asks for, in queue
        order, not yet made: the owner of each call carries its move out with ``move_call``
        (the call handling: through the call's machine) before anything else reads the state.

        Calls not yet talking follow a virtual CTA that is activated or deactivated; calls
        waiting at a centre that is newly diverted follow the diversion. Connected calls stay
        where they are.
        """
        problems = modes_problems(self.topology, modes)
        if problems:
            raise PolicyStateError("; ".join(problems))
        old = self._modes
        self._modes = modes
        self._layout = build_layout(self.topology, modes)
        self.route_cache.clear()
        for position in self._positions.values():
            paused = position.id in modes.paused_positions
            if paused != position.paused:
                self._set_paused(position, paused, now)
            else:
                self._reindex(position)

        moves: list[Move] = []
        serving = set(self._layout.serving_units)
        newly_diverted = {
            centre.id
            for centre in self.topology.centres
            if modes.of(centre.id).diverted_to is not None
            and modes.of(centre.id).diverted_to != old.of(centre.id).diverted_to
            and self._layout.unit_of_centre[centre.id] == centre.id
        }
        for call in sorted(self._calls.values(), key=lambda c: c.queue_key):
            if call.status not in LAYOUT_MOVABLE:
                continue
            if call.unit not in serving:
                target = self.serving_unit_for(call.unit, call.home_centre)
                reason = self._vcta_move_reason(call.unit, target)
                moves.append(Move(call.call_id, call.unit, target, MoveKind.VCTA, reason))
            elif call.unit in newly_diverted and call.status is not CallStatus.OFFERED:
                chain, _ = diversion_chain(modes, call.unit)
                target = self._layout.unit_of_centre[chain[-1]]
                reason = (
                    f"{call.unit} is diverted ({' -> '.join(chain)}): "
                    f"the calls waiting there go to {target}"
                )
                moves.append(Move(call.call_id, call.unit, target, MoveKind.DIVERSION, reason))
        return moves

    # -- internals -------------------------------------------------------------------------

    def _call(self, call_id: str) -> LiveCall:
        call = self._calls.get(call_id)
        if call is None:
            raise PolicyStateError(f"call {call_id} is not known")
        return call

    def _position(self, position_id: str) -> LivePosition:
        position = self._positions.get(position_id)
        if position is None:
            raise PolicyStateError(f"{position_id!r} is not a position")
        return position

    def _unqueue(self, call: LiveCall) -> None:
        queue = self._queues[call.unit]
        index = bisect.bisect_left(queue, call.queue_key)
        del queue[index]

    def _set_paused(self, position: LivePosition, paused: bool, now: float) -> None:
        position.paused = paused
        if not paused:
            position.idle_since = now
        self._reindex(position)

    def _reindex(self, position: LivePosition) -> None:
        """Keep the available index in step with the position's flags and unit."""
        wanted: tuple[str, tuple[float, str]] | None = None
        if (
            not position.retiring
            and position.online
            and not position.paused
            and not position.engaged
            and position.activity is Activity.IDLE
        ):
            unit = self._layout.unit_of_centre[position.centre]
            wanted = (unit, (position.idle_since, position.id))
        if wanted == position.indexed:
            return
        if position.indexed is not None:
            old_unit, old_key = position.indexed
            index = self._available[old_unit]
            del index[bisect.bisect_left(index, old_key)]
        if wanted is not None:
            bisect.insort(self._available[wanted[0]], wanted[1])
        position.indexed = wanted

    def serving_unit_for(self, unit_id: str, home_centre: str = "") -> str:
        """The unit in service that stands for ``unit_id`` under the current modes: a pooled
        centre's virtual CTA, or for a virtual CTA not active, the member ``home_centre`` (when
        it is one) or else its first member."""
        layout = self._layout
        if unit_id in layout.unit_of_centre:
            return layout.unit_of_centre[unit_id]
        vcta = self.topology.vcta_by_id[unit_id]
        if unit_id in layout.serving_units:
            return unit_id
        member = home_centre if home_centre in vcta.members else vcta.members[0]
        return layout.unit_of_centre[member]

    def _vcta_move_reason(self, from_unit: str, to_unit: str) -> str:
        if to_unit in self.topology.vcta_by_id:
            return f"{from_unit} is now pooled in virtual CTA {to_unit}"
        return f"virtual CTA {from_unit} is no longer active: back to {to_unit}"

    def _count_from(self, call: LiveCall, unit_id: str, change: int) -> None:
        key = (unit_id, call.visited[0])
        self._held_from[key] = self._held_from.get(key, 0) + change

    def _settle_load(self, unit_id: str, now: float) -> None:
        """Bring ``unit_id``'s smoothed own load up to ``now`` before its own count changes."""
        if now > self._own_since[unit_id]:
            self._own_average[unit_id] = self.own_load(unit_id, now)
            self._own_since[unit_id] = now

    def _relocate(self, call: LiveCall, to_unit: str, kind: MoveKind, now: float) -> None:
        self._settle_load(call.unit, now)
        self._settle_load(to_unit, now)
        waiting = call.status is CallStatus.WAITING
        if waiting:
            self._unqueue(call)
        if call.overflow:
            self._held[call.unit] -= 1
            self._count_from(call, call.unit, -1)
        self._present[call.unit] -= 1
        self._present[to_unit] += 1
        if kind in (MoveKind.MUTUAL_AID, MoveKind.LAST_RESORT):
            call.overflow = True
        elif kind is MoveKind.DIVERSION:
            call.overflow = False
        call.unit = to_unit
        call.hops += 1
        call.visited = (*call.visited, to_unit)
        call.skipped.clear()
        if call.overflow:
            self._held[to_unit] += 1
            self._count_from(call, to_unit, 1)
        if waiting:
            bisect.insort(self._queues[to_unit], call.queue_key)
