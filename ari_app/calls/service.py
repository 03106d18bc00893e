"""Every emergency call of one Stasis application, on every Asterisk node: registry,
national policy, supervisor and distribution.

- Each node (``node.py``) reads its event stream and hands each event to the session it
  concerns (it only enqueues), starts a session for each new caller, follows positions'
  endpoints, and drops the duplicates Asterisk sends to applications subscribed to endpoints.
  A call belongs to the node it arrived on.
- The supervisor wakes every ``policy_interval_s``: it ends wrap-ups, runs the mutual-aid pass
  and offers waiting calls to available positions. Distribution also runs at once whenever a
  session reports a change.
- Each time a node's event stream (re)connects, the node resynchronises from its Asterisk
  (``recovery``), because Asterisk replays nothing and starts no session anew.

No offer is made through a node while its stream is down: its answer would be lost. The
other nodes go on. A position is online while its phone is registered to any node up.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from ari_app.calls.astdb import DialplanSweep
from ari_app.calls.config import CallSettings
from ari_app.calls.host import EventSink
from ari_app.calls.ids import CallNames
from ari_app.calls.inputs import MoveCall, OfferCall
from ari_app.calls.journal import Journal, OpenCalls
from ari_app.calls.modes import ModeChangeRecord, ModeRecorder
from ari_app.calls.node import Node, NodeLink, NodeStat, NodeState
from ari_app.calls.session import CallSession
from ari_app.calls.subscriptions import subscribe_endpoints
from ari_app.clock import Clock
from ari_app.stasis import AriClient, AriError
from ari_app.stasis.stream import StreamItem
from ari_app.vcta import (
    ModeChange,
    ModeChangeResult,
    Move,
    Offer,
    PickDecision,
    PolicyState,
    PolicyStateError,
    Topology,
    UnitSnapshot,
    change_modes,
    may_pick,
    next_offer,
    overflow_pass,
    snapshot,
)

log = logging.getLogger(__name__)

DEFAULT_NODE = "asterisk"  # the name of the one node when none is named


@dataclass(slots=True)
class ServiceStats:
    """Counters for metrics and reports (every node together)."""

    events: int = 0
    duplicates: int = 0
    stream_connections: int = 0
    stream_losses: int = 0
    resyncs: int = 0
    moves: int = 0
    ticks: int = 0  # supervisor passes


class CallService:
    """The call handling of one application. ``run()`` until cancelled, then ``stop()``.

    Either ``ari`` and ``events`` (one node, named ``node_name``) or ``nodes``."""

    def __init__(
        self,
        *,
        ari: AriClient | None = None,
        events: AsyncIterator[StreamItem] | None = None,
        nodes: Sequence[NodeLink] = (),
        node_name: str = DEFAULT_NODE,
        topology: Topology,
        policy: PolicyState,
        journal: Journal,
        recorder: ModeRecorder,
        clock: Clock,
        settings: CallSettings,
        open_calls: OpenCalls | None = None,
    ) -> None:
        self.open_calls = open_calls
        self.topology = topology
        self.policy = policy
        self.journal = journal
        self.recorder = recorder
        self.clock = clock
        self.settings = settings
        self.names = CallNames(settings.app_name)
        self.sessions: dict[str, CallSession] = {}
        self.stats = ServiceStats()
        self._ready = asyncio.Event()  # some node is up and in step: offers can be made
        self._by_resource: dict[str, EventSink] = {}  # operator legs and playbacks
        self._wrap_ups: list[tuple[float, str]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        links = list(nodes)
        if ari is not None and events is not None:
            links.insert(0, NodeLink(node_name, ari, events))
        if not links:
            raise ValueError("a call service needs at least one Asterisk node")
        alone = len(links) == 1
        self.nodes: tuple[Node, ...] = tuple(Node(self, link, alone=alone) for link in links)

    # -- life ------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Connected to at least one Asterisk node and in step with it: offers can be made."""
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        """Return once the service is ready (at once if it is)."""
        await self._ready.wait()

    @property
    def ari(self) -> AriClient:
        """The first node's client (the only one of a single node)."""
        return self.nodes[0].ari

    @property
    def dialplan(self) -> DialplanSweep:
        return self.nodes[0].dialplan

    def node_states(self) -> dict[str, str]:
        """Each node's state (up, connecting, down), by name."""
        return {node.name: node.state.value for node in self.nodes}

    def node_changed(self) -> None:
        """A node became ready, unready or down: the service is ready while one is up."""
        if any(node.state is NodeState.UP for node in self.nodes):
            self._ready.set()
        else:
            self._ready.clear()

    def count(self, stat: NodeStat) -> None:
        """One more of ``stat``, for the nodes together."""
        setattr(self.stats, stat, getattr(self.stats, stat) + 1)

    async def run(self) -> None:
        """Handle calls until cancelled; the loops log failures and carry on."""
        async with asyncio.TaskGroup() as group:
            for node in self.nodes:
                node.start()
                group.create_task(node.consume(), name=f"calls:node:{node.name}")
            group.create_task(self._supervise(), name="calls:supervisor")

    async def stop(self) -> None:
        """Stop the sessions (bounded); calls stay in Asterisk for the next start."""
        for node in self.nodes:
            node.stop()
        self.node_changed()
        await asyncio.gather(*(s.stop() for s in list(self.sessions.values())))
        for task in list(self._tasks):
            task.cancel()

    async def resynchronise(self) -> None:
        """Make our state match every node's, then allow offers again."""
        for node in self.nodes:
            await node.resynchronise()

    @property
    def ari_requests(self) -> int:
        """ARI REST requests sent so far (every node)."""
        return sum(node.ari.requests for node in self.nodes)

    def endpoint_changed(
        self, endpoint: str, state: str | None, channel_ids: list[str] | None = None
    ) -> None:
        """A position's phone registered to the first node or went away, or its calls
        changed (as that node's event says)."""
        self.nodes[0].endpoint_changed(endpoint, state, channel_ids)

    def presence_changed(
        self,
        position_id: str,
        *,
        reach: bool = True,
        calls: bool = True,
        quiet: bool = False,
        at: float | None = None,
    ) -> bool:
        """Put in the policy what the nodes up say of a position's phone together: online
        when registered to any, engaged when on a call not ours on any. ``reach`` and
        ``calls`` say which of the two changed, ``at`` when (default now). True when the
        policy changed."""
        live = self.policy.positions.get(position_id)
        if live is None:
            return False
        now = self.clock.now() if at is None else at
        said = [node.presence[position_id] for node in self.nodes if position_id in node.presence]
        changed = False
        if calls:
            engaged = any(p.engaged for p in said)
            changed = live.engaged != engaged
            self.policy.position_engaged(position_id, engaged, now)
        # Asterisk sends EndpointStateChange on every channel change of the endpoint, not only
        # when it registers or goes away: only a change of reachability is worth a log line,
        # and only a change of either is worth a distribution pass.
        online = any(p.online for p in said)
        if reach and live.online != online:
            if online:
                self.policy.position_online(position_id, now)
                if not quiet:
                    log.info("position online", extra={"position": position_id})
            else:
                self.policy.position_offline(position_id, now)
                if not quiet:
                    log.info("position offline", extra={"position": position_id})
            changed = True
        return changed

    async def watch_endpoints(self, endpoints: Sequence[str]) -> None:
        """Subscribe to positions' endpoints added while running (a topology imported) and
        take their state now: a phone already registered is online at once."""
        await asyncio.gather(*(self._watch_on(node, endpoints) for node in self.nodes))

    async def _watch_on(self, node: Node, endpoints: Sequence[str]) -> None:
        try:
            await subscribe_endpoints(node.ari, self.settings.app_name, endpoints)
            found = await node.ari.endpoints.list()
        except AriError as error:
            log.warning(
                "new positions' phones not watched yet: they are seen at the next"
                " resynchronisation",
                extra={"endpoints": len(endpoints), "error": str(error), "node": node.name},
            )
            return
        added = set(endpoints)
        for endpoint in found:
            if endpoint.ref in added:
                node.endpoint_changed(endpoint.ref, endpoint.state, list(endpoint.channel_ids))

    def start_session(
        self,
        call_id: str,
        *,
        caller_number: str,
        caller_name: str,
        routing_key: str,
        arrived_at: float,
    ) -> CallSession:
        """A session for a call on the first node (the only one of a single node)."""
        return self.nodes[0].start_session(
            call_id,
            caller_number=caller_number,
            caller_name=caller_name,
            routing_key=routing_key,
            arrived_at=arrived_at,
        )

    def add_session(self, session: CallSession) -> None:
        self.sessions[session.call_id] = session

    def resource_sink(self, resource_id: str) -> EventSink | None:
        return self._by_resource.get(resource_id)

    def spawn(self, coroutine: Coroutine[Any, Any, None], *, name: str) -> None:
        """A fire-and-forget clean-up task, tracked so shutdown can cancel it."""
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what sessions call ----------------------------------------------------------------

    def register(self, resource_id: str, sink: EventSink) -> None:
        self._by_resource[resource_id] = sink

    def forget(self, resource_id: str) -> None:
        self._by_resource.pop(resource_id, None)

    def session_ended(self, call_id: str, wrap_up: str | None) -> None:
        self.sessions.pop(call_id, None)
        if wrap_up is not None:
            if self.settings.wrap_up_s <= 0:
                self._end_wrap_up(wrap_up)
            else:
                deadline = self.clock.now() + self.settings.wrap_up_s
                heapq.heappush(self._wrap_ups, (deadline, wrap_up))
        self.policy_changed()

    def policy_changed(self) -> None:
        """Offer every waiting call that can be offered now (synchronous: no await)."""
        if not self.ready:
            return
        now = self.clock.now()
        policy = self.policy
        for unit in policy.units_ready():
            # A call whose node is out of step is passed over, keeping its place: the unit's
            # other calls are still offered meanwhile.
            while (
                offer := next_offer(self.topology, policy, unit, now, self._offerable)
            ) is not None:
                if not self._offer(offer):
                    break

    def _offer(self, offer: Offer, *, picked: bool = False) -> bool:
        """Hand ``offer`` to its call, which tells the policy before returning: the next
        decision sees it (no call offered twice)."""
        session = self.sessions.get(offer.call_id)
        if session is None:
            log.error("an offer for a call without a session", extra={"call_id": offer.call_id})
            return False
        if not self._node_ready(session):
            # Its node's stream is down: the offer's answer would be lost. The unit waits
            # until the node is back or counted down (its calls then end).
            return False
        return session.take(OfferCall(offer, picked=picked))

    def _offerable(self, call_id: str) -> bool:
        session = self.sessions.get(call_id)
        return session is not None and self._node_ready(session)

    def _node_ready(self, session: CallSession) -> bool:
        """Whether the node carrying ``session`` is in step: requests about it can be made."""
        return any(node.ready and session.call_id in node.sessions for node in self.nodes)

    # -- supervisor ------------------------------------------------------------------------

    async def _supervise(self) -> None:
        while True:
            await self.clock.sleep(self.settings.policy_interval_s)
            try:
                for node in self.nodes:
                    if node.resync_wanted:
                        await node.resynchronise()
                self.tick()
                self._sweep_dialplan()
            except Exception:
                log.exception("supervisor pass failed")

    def tick(self) -> None:
        """One pass: wrap-ups that ended, mutual aid and last resort, then distribution."""
        now = self.clock.now()
        self.stats.ticks += 1
        while self._wrap_ups and self._wrap_ups[0][0] <= now:
            _, position_id = heapq.heappop(self._wrap_ups)
            self._end_wrap_up(position_id)
        if self.ready:
            for move in overflow_pass(self.topology, self.policy, now):
                # The call tells the policy before the next move is carried out, as the pass
                # requires.
                session = self.sessions.get(move.call_id)
                if session is None or not self._node_ready(session):
                    continue  # its node is out of reach: the call stays (more room elsewhere)
                if session.take(MoveCall(move)):
                    self.stats.moves += 1
        self.policy_changed()

    def _sweep_dialplan(self) -> None:
        """Now and then, journal the fallback's calls that ended since the last look."""
        now = self.clock.now()
        for node in self.nodes:
            if not node.ready or now < node.next_sweep:
                continue
            node.next_sweep = now + self.settings.dialplan_sweep_s
            self.spawn(node.dialplan.run(), name=f"dialplan-sweep:{node.name}")

    def _end_wrap_up(self, position_id: str) -> None:
        # It may have picked a call meanwhile: then there is no wrap-up left to end.
        with contextlib.suppress(PolicyStateError):
            self.policy.wrap_up_ended(position_id, self.clock.now())

    # -- duty officers and operators -------------------------------------------------------

    def change_modes(self, change: ModeChange, *, actor: str, reason: str) -> ModeChangeResult:
        """Apply a duty officer's change now; the next decision follows it. Audited."""
        before = self.policy.modes
        result = change_modes(self.topology, before, change)
        if not result.accepted or not result.changed:
            return result
        now = self.clock.now()
        moves = self.policy.put_modes(result.modes, now)
        self._follow_layout(moves)
        self.recorder.record(
            ModeChangeRecord(
                at=now,
                actor=actor,
                change=change,
                reason=reason,
                before=before,
                after=result.modes,
                decision=result.reason,
            )
        )
        log.info("modes changed", extra={"actor": actor, "change": result.reason})
        self.policy_changed()
        return result

    def _follow_layout(self, moves: Sequence[Move]) -> None:
        """Each call the new layout moves tells the policy through its own machine, before
        anything else reads the policy (no await in between)."""
        for move in moves:
            session = self.sessions.get(move.call_id)
            if session is None or not session.take(MoveCall(move)):
                # Cannot happen: every call in the policy has its session, in step with it
                # (the policy learns of a call from its session and forgets it the same way).
                log.error(
                    "policy and sessions disagree; a call did not follow the change of modes",
                    extra={"call_id": move.call_id, "to_unit": move.to_unit},
                )

    def pick(self, position_id: str, call_id: str) -> PickDecision:
        """Let the operator at ``position_id`` take waiting call ``call_id``: it rings there."""
        now = self.clock.now()
        decision = may_pick(self.topology, self.policy, position_id, call_id, now)
        if not decision.allowed:
            return decision
        session = self.sessions.get(call_id)
        if not self.ready or (session is not None and not self._node_ready(session)):
            return PickDecision(False, "Asterisk's event stream is down; try again shortly")
        position = self.policy.positions[position_id]
        unit = self.policy.calls[call_id].unit
        offer = Offer(call_id, position_id, position.endpoint, unit, decision.reason)
        if not self._offer(offer, picked=True):
            return PickDecision(False, f"call {call_id} cannot be offered right now")
        return decision

    def snapshot(self) -> tuple[UnitSnapshot, ...]:
        """Every unit as duty officers see it, now."""
        return snapshot(self.topology, self.policy, self.clock.now())
