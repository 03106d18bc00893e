"""Properties of the policy over random topologies and random sequences of events.

A scenario is a list of events drawn independently of the state (indices pick among the calls and
positions present at that moment), so the same scenario can be replayed to check determinism.
After every event the invariants are checked; every overflow pass is checked move by move.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ari_app.vcta import (
    SPARE_HELPERS,
    CallStatus,
    MoveKind,
    OfferFailure,
    PolicyState,
    PositionStatus,
    SetDiversion,
    SetIncomingMutualAid,
    SetOutgoingMutualAid,
    SetPositionPaused,
    SetVctaActive,
    Topology,
    change_modes,
    modes_problems,
    next_offer,
    overflow_pass,
    route_call,
)
from ari_app.vcta.mode_changes import ModeChange, diversion_chain

from .builders import centre, occupy_all, put_waiting, topology, vcta

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def topologies(draw: st.DrawFn) -> Topology:
    count = draw(st.integers(2, 6))
    ids = [f"c{i}" for i in range(count)]
    centres = []
    for index, centre_id in enumerate(ids):
        positions = draw(st.integers(1, 4))
        others = [other for other in ids if other != centre_id]
        chosen = draw(st.lists(st.sampled_from(others), unique=True, max_size=len(others)))
        split = draw(st.integers(0, len(chosen)))
        ranks = [r for r in (chosen[:split], chosen[split:]) if r]
        centres.append(
            centre(
                centre_id,
                positions,
                department=f"{index + 1:02d}",
                neighbours=ranks,
                max_queue=draw(st.integers(1, 4)),
                max_wait=draw(st.sampled_from([5.0, 10.0, 30.0])),
                reserve=draw(st.integers(0, positions - 1)),
                overflow_cap=draw(st.integers(0, 3)),
            )
        )
    vctas = []
    if draw(st.booleans()):
        members = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=3, unique=True))
        vctas.append(
            vcta(
                "pool",
                members,
                active=draw(st.booleans()),
                reserve=draw(st.integers(0, 1)),
                overflow_cap=draw(st.integers(0, 3)),
            )
        )
    return topology(
        *centres,
        vctas=vctas,
        default_unit=draw(st.sampled_from([*ids, *(v.id for v in vctas)])),
        backup_unit=draw(st.sampled_from(ids)),
        last_resort_after=draw(st.sampled_from([20.0, 60.0])),
        skip_failed_position_for=10.0,
    )


_ARRIVE = st.tuples(st.just("arrive"), st.integers(0, 99))
_TICK = st.tuples(st.just("tick"), st.sampled_from([0.5, 1.0, 3.0, 10.0, 30.0, 60.0]))
_PASS = st.tuples(st.just("pass"), st.just(0))
_OFFER = st.tuples(st.just("offer"), st.integers(0, 99))
# Arrivals, time passing, offers and overflow passes are drawn more often than the rest.
_EVENT = st.one_of(
    _ARRIVE,
    _ARRIVE,
    _ARRIVE,
    _TICK,
    _TICK,
    _PASS,
    _PASS,
    _OFFER,
    st.tuples(st.just("online"), st.integers(0, 99)),
    st.tuples(st.just("offline"), st.integers(0, 99)),
    st.tuples(st.just("answer"), st.integers(0, 99)),
    st.tuples(st.just("fail"), st.integers(0, 99)),
    st.tuples(st.just("end"), st.integers(0, 99)),
    st.tuples(st.just("wrap_up_ended"), st.integers(0, 99)),
    st.tuples(st.just("mode"), st.integers(0, 9999)),
)
_SCENARIO = st.lists(_EVENT, min_size=20, max_size=120)
# Which positions are online at the start (drawn per position, most of them online).
_STAFFING = st.lists(st.integers(0, 3), min_size=30, max_size=30)


def _mode_change(state: PolicyState, pick: int) -> ModeChange:
    topology = state.topology
    centres = [c.id for c in topology.centres]
    some = centres[pick % len(centres)]
    other = centres[(pick // 7) % len(centres)]
    positions = sorted(state.positions)
    choices: list[ModeChange] = [
        SetOutgoingMutualAid(some, bool(pick % 2)),
        SetIncomingMutualAid(some, bool(pick % 3)),
        SetDiversion(some, other if pick % 5 else None),
        SetPositionPaused(positions[pick % len(positions)], bool(pick % 2)),
    ]
    if topology.virtual_ctas:
        choices.append(SetVctaActive(topology.virtual_ctas[0].id, bool(pick % 2)))
    return choices[(pick // 11) % len(choices)]


@dataclass
class _Run:
    """Plays a scenario, checking invariants, and logs every decision made."""

    topology: Topology
    state: PolicyState = field(init=False)
    now: float = 1000.0
    log: list[object] = field(default_factory=list)
    arrivals: dict[str, float] = field(default_factory=dict)
    counter: int = 0

    def __post_init__(self) -> None:
        self.state = PolicyState(self.topology)

    def pick(self, items: list[str], index: int) -> str | None:
        return sorted(items)[index % len(items)] if items else None

    def play(self, staffing: list[int], scenario: list[tuple[str, int | float]]) -> list[object]:
        for index, position in enumerate(sorted(self.state.positions)):
            if staffing[index % len(staffing)]:
                self.state.position_online(position, self.now - index)
        for kind, value in scenario:
            getattr(self, f"on_{kind}")(value)
            self.check_invariants()
        return self.log

    # -- events ----------------------------------------------------------------------------

    def on_arrive(self, key: int | float) -> None:
        keys = [f"{i + 1:02d}" for i in range(len(self.topology.centres))] + ["unknown", "77288"]
        routing_key = keys[int(key) % len(keys)]
        for _ in range(1 + int(key) % 3):  # calls come in small bursts
            decision = route_call(self.topology, self.state, routing_key, self.now)
            # Every call gets a decision: a unit in service, never a refusal.
            assert decision.unit in self.state.layout.serving_units
            self.counter += 1
            call_id = f"call{self.counter:04d}"
            self.state.call_arrived(call_id, decision, self.now)
            self.state.call_waiting(call_id, self.now)
            self.arrivals[call_id] = self.now
            self.log.append(decision)

    def on_tick(self, seconds: int | float) -> None:
        self.now += seconds

    def on_online(self, index: int | float) -> None:
        position = self.pick(list(self.state.positions), int(index))
        assert position is not None
        self.state.position_online(position, self.now)

    def on_offline(self, index: int | float) -> None:
        position = self.pick(list(self.state.positions), int(index))
        assert position is not None
        self.state.position_offline(position, self.now)

    def on_offer(self, index: int | float) -> None:
        units = self.state.units_ready()
        unit = self.pick(units, int(index))
        if unit is None:
            return
        offer = next_offer(self.topology, self.state, unit, self.now)
        self.log.append(offer)
        if offer is None:
            return
        call = self.state.calls[offer.call_id]
        # Oldest first: no older call at this unit could have taken that position.
        for other in self.state.waiting_calls(unit):
            if other.call_id == offer.call_id:
                break
            assert other.skipped.get(offer.position_id, self.now) > self.now
        assert call.status is CallStatus.WAITING
        assert self.state.positions[offer.position_id].status is PositionStatus.AVAILABLE
        self.state.offer_made(offer.call_id, offer.position_id, self.now)

    def offered(self) -> list[str]:
        calls = self.state.calls.values()
        return [c.call_id for c in calls if c.status is CallStatus.OFFERED]

    def on_answer(self, index: int | float) -> None:
        call_id = self.pick(self.offered(), int(index))
        if call_id is not None:
            position = self.state.calls[call_id].position
            assert position is not None
            self.state.call_connected(call_id, position, self.now)

    def on_fail(self, index: int | float) -> None:
        call_id = self.pick(self.offered(), int(index))
        if call_id is not None:
            position = self.state.calls[call_id].position
            assert position is not None
            failure = list(OfferFailure)[int(index) % len(OfferFailure)]
            self.state.offer_failed(call_id, position, failure, self.now)

    def on_end(self, index: int | float) -> None:
        call_id = self.pick(list(self.state.calls), int(index))
        if call_id is not None:
            self.state.call_ended(call_id, self.now)
            del self.arrivals[call_id]

    def on_wrap_up_ended(self, index: int | float) -> None:
        wrapping = [
            p.id for p in self.state.positions.values() if p.status is PositionStatus.WRAP_UP
        ]
        position = self.pick(wrapping, int(index))
        if position is not None:
            self.state.wrap_up_ended(position, self.now)

    def on_mode(self, pick: int | float) -> None:
        change = _mode_change(self.state, int(pick))
        result = change_modes(self.topology, self.state.modes, change)
        self.log.append(result)
        # Diversions never loop: whatever was asked, the modes in force stay valid.
        assert modes_problems(self.topology, result.modes) == []
        moves = self.state.apply_modes(result.modes, self.now)
        self.log.extend(moves)

    def on_pass(self, _: int | float) -> None:
        state = self.state
        moves = overflow_pass(self.topology, state, self.now)
        self.log.extend(moves)
        for move in moves:
            call = state.calls[move.call_id]
            source, target = move.from_unit, move.to_unit
            assert call.status is CallStatus.WAITING
            assert call.unit == source
            unit = state.units[target]
            free = state.available_count(target) - state.queue_length(target)
            # Never at or below the reserve, never at the cap.
            assert free > unit.reserve, move
            # Never into what the helper keeps for its own callers' load.
            keep = SPARE_HELPERS.keep_free(
                unit.reserve, state.own_load(target, self.now), state.own_calls(target)
            )
            assert free > keep, move
            assert state.overflow_held(target) < unit.overflow_cap, move
            if move.kind is MoveKind.MUTUAL_AID:
                assert state.layout.outgoing[source], move
                assert state.layout.incoming[target], move
                assert target not in call.visited
                # A neighbour, or the national backup unit once no neighbour has room.
                backup = state.serving_unit_for(self.topology.backup_unit)
                assert target == backup or any(
                    target in rank for rank in state.layout.neighbour_ranks[source]
                )
            else:
                assert move.kind is MoveKind.LAST_RESORT
                assert self.now - call.arrived_at >= self.topology.last_resort_after
            state.move_call(move, self.now)
            assert call.arrived_at == self.arrivals[move.call_id]

    # -- invariants ------------------------------------------------------------------------

    def check_invariants(self) -> None:
        state = self.state
        serving = set(state.layout.serving_units)
        for unit in state.units:
            waiting = list(state.waiting_calls(unit))
            # Oldest first within a unit.
            assert [c.queue_key for c in waiting] == sorted(c.queue_key for c in waiting)
            assert all(c.status is CallStatus.WAITING and c.unit == unit for c in waiting)
            held = [c for c in state.calls.values() if c.unit == unit and c.overflow]
            assert state.overflow_held(unit) == len(held)
            available = list(state.available_positions(unit))
            assert [p.idle_since for p in available] == sorted(p.idle_since for p in available)
            assert all(p.status is PositionStatus.AVAILABLE for p in available)
            assert all(state.unit_of_position(p.id) == unit for p in available)
        for call in state.calls.values():
            # No call is dropped or loses its arrival time.
            assert call.arrived_at == self.arrivals[call.call_id]
            if call.status is not CallStatus.CONNECTED:
                assert call.unit in serving
        assert set(state.calls) == set(self.arrivals)
        for position in state.positions.values():
            if position.status is PositionStatus.AVAILABLE:
                assert position.id in {
                    p.id for p in state.available_positions(state.unit_of_position(position.id))
                }


@PROPERTY_SETTINGS
@given(topology=topologies(), staffing=_STAFFING, scenario=_SCENARIO)
def test_random_scenarios_keep_every_rule(
    topology: Topology, staffing: list[int], scenario: list[tuple[str, int | float]]
) -> None:
    _Run(topology).play(staffing, scenario)


@PROPERTY_SETTINGS
@given(topology=topologies(), staffing=_STAFFING, scenario=_SCENARIO)
def test_decisions_are_deterministic_for_equal_inputs(
    topology: Topology, staffing: list[int], scenario: list[tuple[str, int | float]]
) -> None:
    first = _Run(topology).play(staffing, scenario)
    assert first == _Run(topology).play(staffing, scenario)


@PROPERTY_SETTINGS
@given(topology=topologies(), key=st.text(max_size=12))
def test_every_routing_key_gets_a_unit_in_service(topology: Topology, key: str) -> None:
    state = PolicyState(topology)
    decision = route_call(topology, state, key, 0.0)
    assert decision.unit in state.layout.serving_units
    assert decision.reason


@PROPERTY_SETTINGS
@given(topology=topologies(), wishes=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6))))
def test_diversions_are_followed_and_never_loop(
    topology: Topology, wishes: list[tuple[int, int]]
) -> None:
    state = PolicyState(topology)
    centres = [c.id for c in topology.centres]
    modes = state.modes
    for source, target in wishes:
        wish = SetDiversion(
            centres[source % len(centres)],
            centres[target] if target < len(centres) else None,
        )
        modes = change_modes(topology, modes, wish).modes
    state.apply_modes(modes, 0.0)
    for index, centre_id in enumerate(centres):
        chain, loops = diversion_chain(modes, centre_id)
        assert not loops
        decision = route_call(topology, state, f"{index + 1:02d}", 0.0)
        assert decision.unit == state.unit_of_centre(chain[-1])
        assert decision.diverted_via == chain[:-1]


@PROPERTY_SETTINGS
@given(topology=topologies())
def test_virtual_cta_calls_reach_every_members_positions(topology: Topology) -> None:
    if not topology.virtual_ctas:
        return
    pool = topology.virtual_ctas[0]
    state = PolicyState(topology)
    if pool.id not in state.modes.active_vctas:
        state.apply_modes(
            change_modes(topology, state.modes, SetVctaActive(pool.id, True)).modes, 0.0
        )
    member_positions = [p.id for m in pool.members for p in topology.centre_by_id[m].positions]
    for position in member_positions:
        state.position_online(position, 0.0)
    for index in range(len(member_positions)):
        state.restore_call(
            f"call{index}",
            routing_key="x",
            home_centre=pool.members[index % len(pool.members)],
            unit=pool.id,
            arrived_at=float(index),
        )
    answered_by = set()
    while (offer := next_offer(topology, state, pool.id, 10.0)) is not None:
        state.offer_made(offer.call_id, offer.position_id, 10.0)
        answered_by.add(offer.position_id)
    assert answered_by == set(member_positions)


@PROPERTY_SETTINGS
@given(
    backup_positions=st.integers(1, 5),
    online=st.integers(0, 5),
    reserve=st.integers(0, 4),
    cap=st.integers(0, 3),
    waits=st.lists(st.sampled_from([0.0, 50.0, 119.0, 120.0, 300.0]), min_size=1, max_size=6),
)
def test_last_resort_moves_exactly_the_calls_the_backup_has_room_for(
    backup_positions: int, online: int, reserve: int, cap: int, waits: list[float]
) -> None:
    reserve = min(reserve, backup_positions - 1)
    topo = topology(
        centre("sdis77", 1, max_queue=100, max_wait=1000.0),
        centre("backup", backup_positions, reserve=reserve, overflow_cap=cap),
        backup_unit="backup",
        last_resort_after=120.0,
    )
    state = PolicyState(topo)
    occupy_all(state, "sdis77")
    for index in range(min(online, backup_positions)):
        state.position_online(f"backup-op{index + 1}", 0.0)
    now = 1000.0
    for index, waited in enumerate(waits):
        put_waiting(state, f"c{index}", "sdis77", at=now - waited + index * 1e-3)
    moves = overflow_pass(topo, state, now)
    old_enough = sorted(
        (c for c in state.waiting_calls("sdis77") if now - c.arrived_at >= 120.0),
        key=lambda c: c.queue_key,
    )
    room = max(0, min(min(online, backup_positions) - reserve, cap))
    assert [m.call_id for m in moves] == [c.call_id for c in old_enough][:room]
    assert all(m.kind is MoveKind.LAST_RESORT for m in moves)
