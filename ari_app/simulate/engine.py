"""One replication: a discrete-event simulation driving the product's own policy functions.

The event loop plays what ``ari_app.calls`` does around the policy, with a simulated clock:
a call is routed (``route_call``) and waits; after every change the units concerned are asked
``next_offer`` and the offers are made; every ``policy_interval`` seconds while calls wait,
``overflow_pass`` decides mutual aid and last resort and the moves are carried out;
duty-officer changes go through ``change_modes`` and ``apply_modes``. Nothing of the policy is
re-implemented here: a rule changed in ``vcta`` changes what is simulated.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ari_app.simulate.callers import Caller, arrivals, call_back
from ari_app.simulate.policies import POLICIES, Policy
from ari_app.simulate.scenario import Scenario
from ari_app.vcta import (
    MoveKind,
    OfferFailure,
    PolicyState,
    change_modes,
    next_offer,
    overflow_pass,
    route_call,
)

# Event kinds, ordered only by time and then by the order they were scheduled in.
_ANSWER, _RING_TIMEOUT, _ABANDON, _END, _WRAP_END, _TICK, _CHANGE, _CALLBACK = range(8)
_OVERFLOW_KINDS = (MoveKind.MUTUAL_AID, MoveKind.LAST_RESORT)


@dataclass(slots=True)
class RunResult:
    """What one replication produced: every call (call-backs included), position time spent
    on calls per centre within the counted window, and the calls moved between units."""

    callers: list[Caller]
    busy_s: dict[str, float]
    flows: dict[tuple[str, str], int] = field(default_factory=dict)
    moves: int = 0
    events: int = 0


def run_replication(
    scenario: Scenario,
    seed: int,
    *,
    surges: bool = True,
    policy: Policy | None = None,
) -> RunResult:
    """Simulate ``scenario`` once with ``seed``; ``surges`` off gives the paired baseline."""
    return _Run(scenario, seed, surges, policy or POLICIES[scenario.policy]).run()


class _Run:
    def __init__(self, scenario: Scenario, seed: int, surges: bool, policy: Policy) -> None:
        self.scenario = scenario
        self.seed = seed
        self.rules = policy.rules
        self.topology = policy.topology(scenario.topology)
        self.state = PolicyState(
            self.topology, policy.modes(self.topology, self.topology.initial_modes())
        )
        self.first_calls = arrivals(scenario, seed, surges=surges)
        self.callers: list[Caller] = []
        self.by_id: dict[str, Caller] = {}
        self.heap: list[tuple[float, int, int, object, int]] = []
        self.sequence = itertools.count()
        self.waiting = 0
        self.tick_pending = False
        self.centre_of_position = {
            p.id: p.centre for c in self.topology.centres for p in c.positions
        }
        self.busy_s = dict.fromkeys(self.centre_of_position.values(), 0.0)
        self.flows: dict[tuple[str, str], int] = {}
        self.moves = 0
        self.window = (scenario.warmup, scenario.duration)
        self.routing_key = {
            c.id: c.department or (c.routing_keys[0] if c.routing_keys else c.id)
            for c in self.topology.centres
        }

    # -- loop ------------------------------------------------------------------------------

    def run(self) -> RunResult:
        state = self.state
        for position_id in self.centre_of_position:
            state.position_online(position_id, 0.0)
        for index, timed in enumerate(self.scenario.changes):
            self._push(timed.at, _CHANGE, None, index)
        handlers: dict[int, Callable[[float, object, int], None]] = {
            _ANSWER: self._answer,
            _RING_TIMEOUT: self._ring_timeout,
            _ABANDON: self._abandon,
            _END: self._end,
            _WRAP_END: self._wrap_end,
            _TICK: self._tick,
            _CHANGE: self._change,
            _CALLBACK: self._callback,
        }
        first = self.first_calls
        heap = self.heap
        pop = heapq.heappop
        count = len(first)
        index = 0
        events = 0
        while True:
            next_arrival = first[index].arrived if index < count else math.inf
            if heap and heap[0][0] <= next_arrival:
                now, _, kind, subject, detail = pop(heap)
                handlers[kind](now, subject, detail)
            elif index < count:
                caller = first[index]
                index += 1
                self._arrive(caller, caller.arrived)
            else:
                break
            events += 1
        return RunResult(self.callers, self.busy_s, self.flows, self.moves, events)

    def _push(self, at: float, kind: int, subject: object, detail: int = 0) -> None:
        heapq.heappush(self.heap, (at, next(self.sequence), kind, subject, detail))

    def _busy(self, position: str, start: float, end: float) -> None:
        """Count the time ``position`` spent on a call, within the counted window."""
        low, high = self.window
        span = min(end, high) - max(start, low)
        if span > 0:
            self.busy_s[self.centre_of_position[position]] += span

    # -- calls -----------------------------------------------------------------------------

    def _arrive(self, caller: Caller, now: float) -> None:
        state = self.state
        self.callers.append(caller)
        self.by_id[caller.call_id] = caller
        decision = route_call(self.topology, state, self.routing_key[caller.home], now)
        state.call_arrived(caller.call_id, decision, now)
        state.call_waiting(caller.call_id, now)
        self.waiting += 1
        if caller.patience != math.inf:
            self._push(now + caller.patience, _ABANDON, caller)
        self._dispatch(decision.unit, now)
        self._want_tick(now)

    def _callback(self, now: float, subject: object, detail: int) -> None:
        assert isinstance(subject, Caller)
        self._arrive(subject, now)

    def _dispatch(self, unit: str, now: float) -> None:
        """Make every offer the policy has for ``unit`` now, as the call handling does."""
        state = self.state
        topology = self.topology
        while (offer := next_offer(topology, state, unit, now)) is not None:
            state.offer_made(offer.call_id, offer.position_id, now)
            self.waiting -= 1
            caller = self.by_id[offer.call_id]
            caller.attempt += 1
            caller.position = offer.position_id
            caller.ring_start = now
            if caller.attempt == 1:
                missed = caller.no_answer_u
            else:
                if caller.retry_rng is None:
                    caller.retry_rng = random.Random(f"{self.seed}:{caller.call_id}:retries")
                missed = caller.retry_rng.random()
            if missed < self.scenario.operators.no_answer_share:
                timeout = now + self.scenario.operators.ring_timeout
                self._push(timeout, _RING_TIMEOUT, caller, caller.attempt)
            else:
                self._push(now + caller.answer_delay, _ANSWER, caller, caller.attempt)

    def _answer(self, now: float, subject: object, attempt: int) -> None:
        assert isinstance(subject, Caller)
        caller = subject
        if caller.done or caller.attempt != attempt:
            return  # the caller hung up while it rang
        position = caller.position
        assert position is not None
        self.state.call_connected(caller.call_id, position, now)
        caller.answered_at = now
        caller.answered_by = self.centre_of_position[position]
        self._busy(position, caller.ring_start, now)
        self._push(now + caller.handling, _END, caller)

    def _ring_timeout(self, now: float, subject: object, attempt: int) -> None:
        assert isinstance(subject, Caller)
        caller = subject
        if caller.done or caller.attempt != attempt:
            return
        position = caller.position
        assert position is not None
        state = self.state
        state.offer_failed(caller.call_id, position, OfferFailure.NO_ANSWER, now)
        self._busy(position, caller.ring_start, now)
        caller.position = None
        self.waiting += 1
        self._dispatch(state.calls[caller.call_id].unit, now)
        self._dispatch(state.unit_of_position(position), now)
        self._want_tick(now)

    def _abandon(self, now: float, subject: object, detail: int) -> None:
        assert isinstance(subject, Caller)
        caller = subject
        if caller.done or caller.answered_at is not None:
            return
        state = self.state
        ringing = caller.position
        if ringing is None:
            self.waiting -= 1
        state.call_ended(caller.call_id, now)
        caller.done = True
        caller.abandoned = True
        del self.by_id[caller.call_id]
        if ringing is not None:
            self._busy(ringing, caller.ring_start, now)
            self._dispatch(state.unit_of_position(ringing), now)
        if caller.callback_u < self.scenario.callers.callback_share:
            again = call_back(caller, self.scenario, self.seed, now)
            self._push(again.arrived, _CALLBACK, again)

    def _end(self, now: float, subject: object, detail: int) -> None:
        assert isinstance(subject, Caller)
        caller = subject
        position = caller.position
        assert position is not None
        state = self.state
        state.call_ended(caller.call_id, now)
        caller.done = True
        del self.by_id[caller.call_id]
        self._busy(position, now - caller.handling, now + caller.wrap_up)
        if caller.wrap_up > 0:
            self._push(now + caller.wrap_up, _WRAP_END, position)
        else:
            self._wrap_end(now, position, 0)

    def _wrap_end(self, now: float, subject: object, detail: int) -> None:
        assert isinstance(subject, str)
        self.state.wrap_up_ended(subject, now)
        self._dispatch(self.state.unit_of_position(subject), now)

    # -- the once-a-second pass and duty officers ------------------------------------------

    def _want_tick(self, now: float) -> None:
        # With no call waiting anywhere the pass has nothing to decide: skipping it is exact.
        if not self.tick_pending and self.waiting > 0:
            tick = self.scenario.tick
            self._push((math.floor(now / tick) + 1) * tick, _TICK, None)
            self.tick_pending = True

    def _tick(self, now: float, subject: object, detail: int) -> None:
        self.tick_pending = False
        state = self.state
        moves = overflow_pass(self.topology, state, now, self.rules)
        if moves:
            targets: list[str] = []
            for move in moves:
                state.move_call(move, now)
                self.moves += 1
                if move.kind in _OVERFLOW_KINDS:
                    self.by_id[move.call_id].moved = True
                    key = (move.from_unit, move.to_unit)
                    self.flows[key] = self.flows.get(key, 0) + 1
                if move.to_unit not in targets:
                    targets.append(move.to_unit)
            for unit in targets:
                self._dispatch(unit, now)
        self._want_tick(now)

    def _change(self, now: float, subject: object, index: int) -> None:
        state = self.state
        change = self.scenario.changes[index].change
        result = change_modes(self.topology, state.modes, change)
        if not result.accepted or not result.changed:
            return
        state.apply_modes(result.modes, now)
        for unit in state.layout.serving_units:
            self._dispatch(unit, now)
        self._want_tick(now)
