"""Saturation, mutual aid between neighbours, and the last resort: the once-a-second pass.

- A unit is saturated when it has no free position and its queue is at ``max_queue`` or its
  oldest call has waited ``max_wait``. Free positions are the available positions not already
  needed by the calls waiting there.
- A saturated unit whose outgoing mutual aid is on sends its oldest calls, one by one while it
  stays saturated, to the best eligible neighbour: incoming mutual aid on, not saturated, more
  free positions than it keeps for its own callers (its reserve, or more when its own load
  asks for more: :mod:`ari_app.vcta.helping`), fewer overflow calls held than its cap, and not
  a unit the call has already waited at. Best: lowest rank first, then most free positions,
  then id.
- A call that has waited ``last_resort_after`` goes to the national backup unit when that unit
  has more free positions than its reserve and holds fewer overflow calls than its cap, oldest
  calls first, whatever the mutual-aid switches say (a caller waiting that long comes first).
- The national backup unit is shared: a call goes there only if it leaves a free position for
  each other unit that may need one now (mutual aid out on, no free position, calls waiting or
  every position on a call) and holds no more there; and by mutual aid the calls of one unit
  hold at most half of its positions, rounded down, while another unit may send calls there.
- A call that every available position of its unit has failed to take lately (they are all
  skipped for it: busy, no answer, refused) is not held there by positions that will not
  answer it: it may go to a neighbour by mutual aid, under the same conditions, even though
  its unit is not saturated.
- A unit that receives calls in a pass does not send any in the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from ari_app.vcta.decisions import Move, MoveKind
from ari_app.vcta.helping import SPARE_HELPERS, MutualAidRules
from ari_app.vcta.state import LiveCall, PolicyState
from ari_app.vcta.topology import Topology


@dataclass(frozen=True, slots=True)
class Saturation:
    """Whether a unit is saturated, and a sentence saying why or why not."""

    saturated: bool
    reason: str


def _saturation(
    free: int, waiting: int, oldest_wait: float | None, max_queue: int, max_wait: float
) -> Saturation:
    if free > 0:
        return Saturation(False, f"{free} free position{'s' if free > 1 else ''}")
    if waiting >= max_queue:
        return Saturation(True, f"no free position and {waiting} calls waiting (limit {max_queue})")
    if oldest_wait is not None and oldest_wait >= max_wait:
        return Saturation(
            True,
            f"no free position and the oldest call has waited {oldest_wait:.0f} s "
            f"(limit {max_wait:.0f} s)",
        )
    return Saturation(False, "no free position, but the queue is within its limits")


def saturation(state: PolicyState, unit_id: str, now: float) -> Saturation:
    """Whether ``unit_id`` is saturated now, and why."""
    unit = state.units[unit_id]
    oldest = state.oldest_arrival(unit_id)
    return _saturation(
        state.free_positions(unit_id),
        state.queue_length(unit_id),
        None if oldest is None else now - oldest,
        unit.max_queue,
        unit.max_wait,
    )


def _is_saturated(
    free: int, waiting: int, oldest_wait: float, max_queue: int, max_wait: float
) -> bool:
    """``_saturation`` without the sentence, for the hot path."""
    return free <= 0 and (waiting >= max_queue or oldest_wait >= max_wait)


class _Pass:
    """Book-keeping of one pass: calls planned to arrive at each unit."""

    def __init__(
        self, topology: Topology, state: PolicyState, now: float, rules: MutualAidRules
    ) -> None:
        self.state = state
        self.rules = rules
        self.backup = state.serving_unit_for(topology.backup_unit, "")
        # The backup unit's positions, of which the calls of one unit may hold half (rounded
        # down: with three positions one unit holds one, so the others still find two).
        self.backup_share = max(
            1,
            sum(
                len(topology.centre_by_id[m].positions)
                for m in state.units[self.backup].members
                if m in topology.centre_by_id
            )
            // 2,
        )
        self._pressed: tuple[str, ...] | None = None
        self._senders: frozenset[str] | None = None
        self.kept: dict[str, int] = {}
        # Origins whose calls the backup unit may not take: planned moves only fill it more
        # during a pass, so a closed origin stays closed.
        self.backup_closed: set[str] = set()
        self.last_resort_closed: set[str] = set()
        self.planned_from: dict[tuple[str, str], int] = {}
        self.units = state.units
        self.now = now
        self.planned_in: dict[str, int] = {}
        self.moving: set[str] = set()
        self.moves: list[Move] = []
        self.full: set[str] = set()

    def free(self, unit_id: str) -> int:
        state = self.state
        return (
            state.available_count(unit_id)
            - state.queue_length(unit_id)
            - self.planned_in.get(unit_id, 0)
        )

    def held(self, unit_id: str) -> int:
        return self.state.overflow_held(unit_id) + self.planned_in.get(unit_id, 0)

    def ranks_of(self, unit_id: str) -> tuple[tuple[str, ...], ...]:
        """Where ``unit_id`` may send calls: its neighbours by rank, then (when the rules say
        so) the national backup unit, which has no callers of its own to spare."""
        ranks = self.state.layout.neighbour_ranks[unit_id]
        backup = self.backup
        if (
            not self.rules.backup_after_neighbours
            or backup == unit_id
            or any(backup in rank for rank in ranks)
        ):
            return ranks
        return (*ranks, (backup,))

    def where(self, neighbour: str, rank: int) -> str:
        """How a reason names the unit chosen at ``rank``."""
        if neighbour == self.backup and rank > 0:
            return f"the national backup unit {neighbour}, after the neighbours,"
        return f"{neighbour}: rank {rank} neighbour"

    def keep(self, unit_id: str) -> int:
        """Free positions ``unit_id`` keeps for its own callers (its reserve at least); its own
        calls do not change during a pass, so it is worked out once."""
        kept = self.kept.get(unit_id)
        if kept is None:
            state = self.state
            kept = self.rules.keep_free(
                self.units[unit_id].reserve,
                state.own_load(unit_id, self.now),
                state.own_calls(unit_id),
            )
            self.kept[unit_id] = kept
        return kept

    def has_room(self, unit_id: str) -> bool:
        """Whether ``unit_id`` may take one more call: more free positions than it keeps for its
        own callers (so it has a free position and is not saturated) and fewer overflow calls
        than its cap.
        """
        if unit_id in self.full:
            return False
        unit = self.units[unit_id]
        if self.free(unit_id) > self.keep(unit_id) and self.held(unit_id) < unit.overflow_cap:
            return True
        # Planned arrivals only grow during a pass: a unit without room stays without.
        self.full.add(unit_id)
        return False

    def held_from(self, origin: str) -> int:
        """Overflow calls of unit ``origin`` at the backup unit, those planned included."""
        key = (self.backup, origin)
        return self.state.overflow_held_from(*key) + self.planned_from.get(key, 0)

    def pressed(self) -> tuple[str, ...]:
        """Units that may need the backup unit at any moment: mutual aid out on, no free
        position, and calls waiting or every online position taken by a call (computed once
        a pass, when the backup unit is first considered)."""
        if self._pressed is None:
            state = self.state
            outgoing = state.layout.outgoing
            self._pressed = tuple(
                unit
                for unit in state.layout.serving_units
                if unit != self.backup
                and outgoing[unit]
                and state.available_count(unit) <= state.queue_length(unit)
                and (state.queue_length(unit) > 0 or state.own_calls(unit) > 0)
            )
        return self._pressed

    def others_may_send(self, origin: str, unit_id: str) -> bool:
        """Whether a unit other than ``origin`` and ``unit_id`` may send calls to the backup
        unit by mutual aid (its outgoing switch is on): if none may, the share of one unit
        would only leave the backup's positions idle while callers wait."""
        if self._senders is None:
            outgoing = self.state.layout.outgoing
            self._senders = frozenset(
                unit
                for unit in self.state.layout.serving_units
                if unit != self.backup and outgoing[unit]
            )
        return bool(self._senders - {origin, unit_id})

    def backup_open_to(self, call: LiveCall, *, last_resort: bool = False) -> bool:
        """Whether the backup unit may take ``call`` without depriving the other units: a free
        position stays for each other unit that may need one now and holds no more there, and
        by mutual aid the calls of one unit hold fewer than its share (a caller past the last
        resort limit has waited long enough to take what no other unit needs now)."""
        if not self.rules.share_backup:
            return True
        origin = call.visited[0]
        closed = self.last_resort_closed if last_resort else self.backup_closed
        if origin in closed:
            return False
        held = self.held_from(origin)
        if (
            not last_resort
            and held >= self.backup_share
            and self.others_may_send(origin, call.unit)
        ):
            closed.add(origin)
            return False
        spare = self.free(self.backup) - 1  # positions left once this call is there
        for unit in self.pressed():
            if unit not in (origin, call.unit) and self.held_from(unit) <= held:
                spare -= 1
                if spare < 0:  # an other unit in need would find none
                    closed.add(origin)
                    return False
        return True

    def plan(self, call: LiveCall, to_unit: str, kind: MoveKind, reason: str) -> None:
        self.moves.append(Move(call.call_id, call.unit, to_unit, kind, reason))
        self.planned_in[to_unit] = self.planned_in.get(to_unit, 0) + 1
        key = (to_unit, call.visited[0])
        self.planned_from[key] = self.planned_from.get(key, 0) + 1
        self.moving.add(call.call_id)


def overflow_pass(
    topology: Topology, state: PolicyState, now: float, rules: MutualAidRules = SPARE_HELPERS
) -> list[Move]:
    """The moves to make now (mutual aid first, then last resort), each with its reason.

    Nothing is changed: carry the moves out in order with ``PolicyState.move_call``. ``rules``
    are the product's unless a comparison asks for others (the simulator does).
    """
    book = _Pass(topology, state, now, rules)
    for unit_id in state.layout.serving_units:
        if state.queue_length(unit_id) and unit_id not in book.planned_in:
            _mutual_aid_from(state, book, unit_id, now)
            _refused_calls_from(state, book, unit_id, now)
    _last_resort(topology, state, book, now)
    return book.moves


def _mutual_aid_from(state: PolicyState, book: _Pass, unit_id: str, now: float) -> None:
    layout = state.layout
    ranks = book.ranks_of(unit_id)
    if not ranks or not layout.outgoing[unit_id]:
        return
    unit = book.units[unit_id]
    available = state.available_count(unit_id)
    remaining = state.queue_length(unit_id)
    oldest_kept: float | None = None
    # Once a call that never left this unit finds no neighbour, none of the later ones will:
    # rooms only fill during a pass and they have all waited at the same units (this one).
    home_calls_refused = False
    for call in state.waiting_calls(unit_id):
        oldest = call.arrived_at if oldest_kept is None else oldest_kept
        free = available - remaining
        if not _is_saturated(free, remaining, now - oldest, unit.max_queue, unit.max_wait):
            return
        never_moved = len(call.visited) == 1
        if never_moved and home_calls_refused:
            continue
        neighbour, rank, any_room = _best_neighbour(book, ranks, call)
        if neighbour is None:
            if not any_room:
                return  # no neighbour can take any call: the others stay too
            if oldest_kept is None:
                oldest_kept = call.arrived_at
            home_calls_refused = home_calls_refused or never_moved
            continue
        status = _saturation(max(free, 0), remaining, now - oldest, unit.max_queue, unit.max_wait)
        neighbour_unit = book.units[neighbour]
        reason = (
            f"{unit_id} saturated ({status.reason}); mutual aid to "
            f"{book.where(neighbour, rank)} with {book.free(neighbour)} free positions "
            f"({_kept(book, neighbour)}) holding {book.held(neighbour)} of "
            f"{neighbour_unit.overflow_cap} overflow calls"
        )
        book.plan(call, neighbour, MoveKind.MUTUAL_AID, reason)
        remaining -= 1


def _refused_calls_from(state: PolicyState, book: _Pass, unit_id: str, now: float) -> None:
    """Calls every available position of ``unit_id`` is skipped for go to a neighbour."""
    layout = state.layout
    ranks = book.ranks_of(unit_id)
    if not ranks or not layout.outgoing[unit_id]:
        return
    available = [position.id for position in state.available_positions(unit_id)]
    if not available:
        return  # nobody free: the saturation rule decides
    for call in state.waiting_calls(unit_id):
        skipped = call.skipped
        if not skipped or call.call_id in book.moving:
            continue
        if any(skipped.get(position, now) <= now for position in available):
            continue
        neighbour, rank, any_room = _best_neighbour(book, ranks, call)
        if neighbour is None:
            if not any_room:
                return
            continue
        neighbour_unit = book.units[neighbour]
        reason = (
            f"every available position of {unit_id} ({', '.join(available)}) failed to take "
            f"this call lately; mutual aid to {book.where(neighbour, rank)} with "
            f"{book.free(neighbour)} free positions ({_kept(book, neighbour)}) "
            f"holding {book.held(neighbour)} of {neighbour_unit.overflow_cap} overflow calls"
        )
        book.plan(call, neighbour, MoveKind.MUTUAL_AID, reason)


def _kept(book: _Pass, unit_id: str) -> str:
    """What the reason says about the positions a neighbour keeps for its own callers."""
    reserve = book.units[unit_id].reserve
    keep = book.keep(unit_id)
    if keep <= reserve:
        return f"reserve {reserve}"
    state = book.state
    return (
        f"keeps {keep} for its own callers: {state.own_calls(unit_id)} own calls in progress, "
        f"own load {state.own_load(unit_id, book.now):.1f}, reserve {reserve}"
    )


def _best_neighbour(
    book: _Pass, ranks: tuple[tuple[str, ...], ...], call: LiveCall
) -> tuple[str | None, int, bool]:
    """The best neighbour for ``call`` and its rank; the flag says whether any neighbour has
    room at all (it may have none for this call only because the call was there already)."""
    incoming = book.state.layout.incoming
    visited = call.visited
    backup = book.backup if book.rules.backup_after_neighbours else None
    any_room = False
    for index, rank in enumerate(ranks, start=1):
        best: tuple[int, str] | None = None
        for neighbour in rank:
            if not incoming[neighbour] or not book.has_room(neighbour):
                continue
            any_room = True
            if neighbour in visited:
                continue
            if neighbour == backup and not book.backup_open_to(call):
                continue
            candidate = (-book.free(neighbour), neighbour)
            if best is None or candidate < best:
                best = candidate
        if best is not None:
            return best[1], index, True
    return None, 0, any_room


def _last_resort(topology: Topology, state: PolicyState, book: _Pass, now: float) -> None:
    threshold = topology.last_resort_after
    backup = state.serving_unit_for(topology.backup_unit, "")
    candidates: list[LiveCall] = []
    for unit_id in state.layout.serving_units:
        if unit_id == backup:
            continue
        for call in state.waiting_calls(unit_id):
            if now - call.arrived_at < threshold:
                break
            if call.call_id not in book.moving:
                candidates.append(call)
    if not candidates:
        return
    candidates.sort(key=lambda c: c.queue_key)
    for call in candidates:
        if not book.has_room(backup):
            return
        if not book.backup_open_to(call, last_resort=True):
            continue
        waited = now - call.arrived_at
        reason = (
            f"waited {waited:.0f} s, past the last resort limit of {threshold:.0f} s: "
            f"national backup unit {backup} has {book.free(backup)} free positions"
        )
        book.plan(call, backup, MoveKind.LAST_RESORT, reason)
