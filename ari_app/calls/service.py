"""Every emergency call of one Stasis application: dispatcher, supervisor and registry.

- The dispatcher reads the event stream and hands each event to the session it concerns
  (it only enqueues), starts a session for each new caller, follows positions' endpoints,
  and drops the duplicates Asterisk sends to applications subscribed to endpoints.
- The supervisor wakes every ``policy_interval_s``: it ends wrap-ups, runs the mutual-aid pass
  and offers waiting calls to available positions. Distribution also runs at once whenever a
  session reports a change.
- Each time the event stream (re)connects, the service resynchronises from Asterisk
  (``recovery``), because Asterisk replays nothing and starts no session anew.

No offer is made while the stream is down: its answer would be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from ari_app.calls.astdb import DialplanSweep
from ari_app.calls.config import CallSettings
from ari_app.calls.host import EventSink
from ari_app.calls.ids import CallNames
from ari_app.calls.inputs import Begin, MoveCall, OfferCall
from ari_app.calls.journal import Journal, OpenCalls
from ari_app.calls.modes import ModeChangeRecord, ModeRecorder
from ari_app.calls.recovery import Resynchroniser
from ari_app.calls.session import CallSession
from ari_app.calls.subscriptions import subscribe_endpoints
from ari_app.clock import Clock
from ari_app.stasis import (
    AriClient,
    AriError,
    ChannelDestroyed,
    EndpointStateChange,
    Event,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
)
from ari_app.stasis.stream import StreamConnected, StreamDisconnected, StreamItem
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
    route_call,
    snapshot,
)

log = logging.getLogger(__name__)

_RECENT_EVENTS = 4096  # window for dropping duplicated events


@dataclass(slots=True)
class ServiceStats:
    """Counters for metrics and reports."""

    events: int = 0
    duplicates: int = 0
    stream_connections: int = 0
    stream_losses: int = 0
    resyncs: int = 0
    moves: int = 0
    ticks: int = 0  # supervisor passes


class CallService:
    """The call handling of one application. ``run()`` until cancelled, then ``stop()``."""

    def __init__(
        self,
        *,
        ari: AriClient,
        events: AsyncIterator[StreamItem],
        topology: Topology,
        policy: PolicyState,
        journal: Journal,
        recorder: ModeRecorder,
        clock: Clock,
        settings: CallSettings,
        open_calls: OpenCalls | None = None,
    ) -> None:
        self.ari = ari
        self.open_calls = open_calls
        self.events = events
        self.topology = topology
        self.policy = policy
        self.journal = journal
        self.recorder = recorder
        self.clock = clock
        self.settings = settings
        self.names = CallNames(settings.app_name)
        self.sessions: dict[str, CallSession] = {}
        self.stats = ServiceStats()
        self._ready = asyncio.Event()  # the stream is up and the state matches Asterisk's
        self._by_resource: dict[str, EventSink] = {}  # operator legs and playbacks
        self._wrap_ups: list[tuple[float, str]] = []
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._resync_wanted = False
        self._resync = Resynchroniser(self)
        self.dialplan = DialplanSweep(self)
        self._next_sweep = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    # -- life ------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Connected to Asterisk and in step with it: offers can be made."""
        return self._ready.is_set()

    @ready.setter
    def ready(self, value: bool) -> None:
        if value:
            self._ready.set()
        else:
            self._ready.clear()

    async def wait_ready(self) -> None:
        """Return once the service is ready (at once if it is)."""
        await self._ready.wait()

    async def run(self) -> None:
        """Handle calls until cancelled; the two loops log failures and carry on."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._consume_events(), name="calls:dispatcher")
            group.create_task(self._supervise(), name="calls:supervisor")

    async def stop(self) -> None:
        """Stop the sessions (bounded); calls stay in Asterisk for the next start."""
        self.ready = False
        await asyncio.gather(*(s.stop() for s in list(self.sessions.values())))
        for task in list(self._tasks):
            task.cancel()

    # -- dispatcher ------------------------------------------------------------------------

    async def _consume_events(self) -> None:
        async for item in self.events:
            try:
                if isinstance(item, StreamConnected):
                    self.stats.stream_connections += 1
                    await self.resynchronise()
                elif isinstance(item, StreamDisconnected):
                    self.stats.stream_losses += 1
                    self.ready = False
                    log.warning("event stream lost; no offers until it is back")
                elif isinstance(item, Event):
                    self.dispatch(item)
            except Exception:
                log.exception("event handling failed", extra={"item": type(item).__name__})

    async def resynchronise(self) -> None:
        """Make our state match Asterisk's, then allow offers again."""
        self.ready = False
        try:
            await self._resync.run()
        except AriError as error:
            self._resync_wanted = True
            log.warning("resynchronisation failed; retrying", extra={"error": str(error)})
            return
        self._resync_wanted = False
        self.stats.resyncs += 1
        self.ready = True
        self.policy_changed()

    @property
    def ari_requests(self) -> int:
        """ARI REST requests sent so far."""
        return self.ari.requests

    def dispatch(self, event: Event) -> None:
        """Hand one event to whoever it concerns; never awaits."""
        self.stats.events += 1
        if self._is_duplicate(event):
            self.stats.duplicates += 1
            return
        if isinstance(event, StasisStart):
            self._on_stasis_start(event)
        elif isinstance(event, StasisEnd | ChannelDestroyed):
            channel_id = event.channel.id
            sink = self.sessions.get(channel_id) or self._by_resource.get(channel_id)
            if sink is not None:
                sink.on_event(event)
        elif isinstance(event, PlaybackFinished):
            sink = self._by_resource.get(event.playback.id)
            if sink is not None:
                sink.on_event(event)
        elif isinstance(event, EndpointStateChange):
            self.endpoint_changed(
                event.endpoint.ref, event.endpoint.state, event.endpoint.channel_ids
            )

    def _is_duplicate(self, event: Event) -> bool:
        """Asterisk sends an endpoint-subscribed application every event of the endpoint's
        channels once per matching subscription: the copies are identical."""
        # A 64-bit hash of the whole event: copies are byte-identical, distinct events differ.
        key = event.digest
        if key in self._recent:
            return True
        self._recent[key] = None
        if len(self._recent) > _RECENT_EVENTS:
            self._recent.popitem(last=False)
        return False

    def _on_stasis_start(self, event: StasisStart) -> None:
        channel = event.channel
        sink = self._by_resource.get(channel.id)
        if sink is not None:
            sink.on_event(event)
        elif channel.id in self.sessions or self.names.is_astdb_reader(channel.id):
            pass  # already ours (seen again after a resynchronisation), or reading AstDB
        elif self.names.is_ours(channel.id) or (event.args[:1] == ["offer"]):
            # A position answered for a call that is gone: nobody is waiting on that line.
            self.spawn(self._hang_up(channel.id), name=f"hang-up-stray:{channel.id}")
        else:
            routing_key = event.args[0] if event.args else ""
            route = (
                None
                if channel.id in self.policy.calls
                else route_call(self.topology, self.policy, routing_key, self.clock.now())
            )
            self.start_session(
                channel.id,
                caller_number=channel.caller.number,
                caller_name=channel.caller.name,
                routing_key=routing_key,
                arrived_at=channel.creationtime.timestamp(),
            ).deliver(Begin(channel.state, route))

    def start_session(
        self,
        call_id: str,
        *,
        caller_number: str,
        caller_name: str,
        routing_key: str,
        arrived_at: float,
    ) -> CallSession:
        session = CallSession(
            self,
            call_id,
            caller_number=caller_number,
            caller_name=caller_name,
            routing_key=routing_key,
            arrived_at=arrived_at,
        )
        self.sessions[call_id] = session
        session.start()
        return session

    def endpoint_changed(
        self, endpoint: str, state: str | None, channel_ids: list[str] | None = None
    ) -> None:
        """A position's phone registered or went away, or its calls changed."""
        position = self.topology.position_by_endpoint.get(endpoint)
        if position is None:
            return
        now = self.clock.now()
        live = self.policy.positions[position.id]
        changed = False
        if channel_ids is not None:
            engaged = self.engaged(channel_ids)
            changed = live.engaged != engaged
            self.policy.position_engaged(position.id, engaged, now)
        # Asterisk sends EndpointStateChange on every channel change of the endpoint, not only
        # when it registers or goes away: only a change of reachability is worth a log line,
        # and only a change of either is worth a distribution pass.
        online = state == "online"
        if state is not None and live.online != online:
            if online:
                self.policy.position_online(position.id, now)
                log.info("position online", extra={"position": position.id})
            else:
                self.policy.position_offline(position.id, now)
                log.info("position offline", extra={"position": position.id})
            changed = True
        if changed:
            self.policy_changed()

    async def watch_endpoints(self, endpoints: Sequence[str]) -> None:
        """Subscribe to positions' endpoints added while running (a topology imported) and
        take their state now: a phone already registered is online at once."""
        try:
            await subscribe_endpoints(self.ari, self.settings.app_name, endpoints)
            found = await self.ari.endpoints.list()
        except AriError as error:
            log.warning(
                "new positions' phones not watched yet: they are seen at the next"
                " resynchronisation",
                extra={"endpoints": len(endpoints), "error": str(error)},
            )
            return
        added = set(endpoints)
        for endpoint in found:
            if endpoint.ref in added:
                self.endpoint_changed(endpoint.ref, endpoint.state, list(endpoint.channel_ids))

    def engaged(self, channel_ids: list[str]) -> bool:
        """A position whose endpoint has a channel that is none of ours is on a call the
        application does not handle (the dialplan fallback rang it): it must not be offered
        one until that ends."""
        return any(not self.names.is_ours(channel_id) for channel_id in channel_ids)

    async def _hang_up(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.ari.channels.hangup(channel_id)

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
            while (offer := next_offer(self.topology, policy, unit, now)) is not None:
                if not self._offer(offer):
                    break

    def _offer(self, offer: Offer, *, picked: bool = False) -> bool:
        """Hand ``offer`` to its call, which tells the policy before returning: the next
        decision sees it (no call offered twice)."""
        session = self.sessions.get(offer.call_id)
        if session is None:
            log.error("an offer for a call without a session", extra={"call_id": offer.call_id})
            return False
        return session.take(OfferCall(offer, picked=picked))

    # -- supervisor ------------------------------------------------------------------------

    async def _supervise(self) -> None:
        while True:
            await self.clock.sleep(self.settings.policy_interval_s)
            try:
                if self._resync_wanted:
                    await self.resynchronise()
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
                if session is not None and session.take(MoveCall(move)):
                    self.stats.moves += 1
        self.policy_changed()

    def _sweep_dialplan(self) -> None:
        """Now and then, journal the fallback's calls that ended since the last look."""
        now = self.clock.now()
        if not self.ready or now < self._next_sweep:
            return
        self._next_sweep = now + self.settings.dialplan_sweep_s
        self.spawn(self.dialplan.run(), name="dialplan-sweep")

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
        if not self.ready:
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
