"""One Asterisk node of the national platform, as the call service sees it.

The policy, the topology, the registry of calls and the distribution are national (the call
service); what only one Asterisk can tell or do is here: its ARI client and event stream,
whether it is in step (``ready``) or lost (``down``), its resynchronisation and AstDB sweep,
the presence of positions' phones registered to it, and the filter of the duplicated events
it sends. A call belongs to the node it arrived on: its session's host is that node, so every
request about the call goes to that node's client.

A node whose event stream is lost and not back within ``node_down_after_s`` (real seconds)
is down: its calls ended with it at the SIP level (or cannot be reached any more), so they
end in the policy and the journal (``NodeLost``), freeing their positions, and its phones'
registrations no longer count. When its stream comes back, the usual resynchronisation
reconciles it (docs/two-datacentres.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Coroutine, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal, Protocol

from ari_app.calls.astdb import DialplanSweep
from ari_app.calls.config import CallSettings
from ari_app.calls.host import EventSink
from ari_app.calls.ids import CallNames
from ari_app.calls.inputs import Begin, NodeLost
from ari_app.calls.journal import Journal, JournalEntry, OpenCall, OpenCalls
from ari_app.calls.recovery import Resynchroniser
from ari_app.calls.session import CallSession
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
from ari_app.vcta import PolicyState, Topology, route_call

log = logging.getLogger(__name__)

_RECENT_EVENTS = 4096  # window for dropping duplicated events

NodeStat = Literal["events", "duplicates", "stream_connections", "stream_losses", "resyncs"]
"""The service's counters a node adds to."""


class NodeState(StrEnum):
    """What ``/readyz`` and the logs say of a node."""

    UP = "up"  # its stream is connected and the state matches its own: offers are made
    CONNECTING = "connecting"  # not connected, or resynchronising, since less than the delay
    DOWN = "down"  # lost for longer than the delay: its calls ended, its phones do not count


@dataclass(frozen=True, slots=True)
class NodeLink:
    """How the application reaches one node: its name, its ARI client and its event stream."""

    name: str
    ari: AriClient
    events: AsyncIterator[StreamItem]


@dataclass(slots=True)
class Presence:
    """What one node says of a position's phone: registered, and on a call not ours."""

    online: bool = False
    engaged: bool = False


class NodeHost(Protocol):
    """The national call service, as one node sees it."""

    names: CallNames
    settings: CallSettings
    topology: Topology
    policy: PolicyState
    journal: Journal
    clock: Clock
    open_calls: OpenCalls | None

    @property
    def sessions(self) -> Mapping[str, CallSession]: ...

    def resource_sink(self, resource_id: str) -> EventSink | None: ...

    def add_session(self, session: CallSession) -> None: ...

    def register(self, resource_id: str, sink: EventSink) -> None: ...

    def forget(self, resource_id: str) -> None: ...

    def spawn(self, coroutine: Coroutine[Any, Any, None], *, name: str) -> None: ...

    def policy_changed(self) -> None: ...

    def session_ended(self, call_id: str, wrap_up: str | None) -> None: ...

    def presence_changed(
        self,
        position_id: str,
        *,
        reach: bool = True,
        calls: bool = True,
        quiet: bool = False,
        at: float | None = None,
    ) -> bool: ...

    def node_changed(self) -> None: ...

    def count(self, stat: NodeStat) -> None: ...


class NodeJournal:
    """The service's journal, each entry stamped with the node that carried the call."""

    def __init__(self, journal: Journal, node: str) -> None:
        self._journal = journal
        self._node = node

    def record(self, entry: JournalEntry) -> None:
        self._journal.record(entry if entry.node is not None else replace(entry, node=self._node))


class NodeOpenCalls:
    """The journal's open calls that this node carried (one node alone: also those written
    before calls were journaled with their node)."""

    def __init__(self, open_calls: OpenCalls, node: str, *, alone: bool) -> None:
        self._open_calls = open_calls
        self._node = node
        self._alone = alone

    async def open_calls(self) -> list[OpenCall]:
        found = await self._open_calls.open_calls()
        return [
            call for call in found if call.node == self._node or (self._alone and call.node is None)
        ]


class Node:
    """One Asterisk: its link, its state, its presence; the host of the calls it carries."""

    def __init__(self, service: NodeHost, link: NodeLink, *, alone: bool = True) -> None:
        self.service = service
        self.name = link.name
        self.ari = link.ari
        self.events = link.events
        self.names: CallNames = service.names
        self.settings: CallSettings = service.settings
        self.clock: Clock = service.clock
        self.journal: Journal = NodeJournal(service.journal, link.name)
        self.open_calls: OpenCalls | None = (
            NodeOpenCalls(service.open_calls, link.name, alone=alone)
            if service.open_calls is not None
            else None
        )
        self.sessions: dict[str, CallSession] = {}  # the calls this node carries
        self.presence: dict[str, Presence] = {}  # by position id
        self.ready = False  # connected and in step with this node: offers can be made
        self.down = False
        self.resync_wanted = False
        self.next_sweep = 0.0
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._down_timer: asyncio.TimerHandle | None = None
        self._alone = alone  # the only node: its calls are kept while it is down
        self._resync = Resynchroniser(self)
        self.dialplan = DialplanSweep(self)

    # -- what sessions, the resynchronisation and the sweep read through their host -------

    @property
    def topology(self) -> Topology:
        return self.service.topology

    @property
    def policy(self) -> PolicyState:
        return self.service.policy

    @property
    def state(self) -> NodeState:
        if self.down:
            return NodeState.DOWN
        return NodeState.UP if self.ready else NodeState.CONNECTING

    def register(self, resource_id: str, sink: EventSink) -> None:
        self.service.register(resource_id, sink)

    def forget(self, resource_id: str) -> None:
        self.service.forget(resource_id)

    def spawn(self, coroutine: Coroutine[Any, Any, None], *, name: str) -> None:
        self.service.spawn(coroutine, name=name)

    def policy_changed(self) -> None:
        self.service.policy_changed()

    def session_ended(self, call_id: str, wrap_up: str | None) -> None:
        self.sessions.pop(call_id, None)
        self.service.session_ended(call_id, wrap_up)

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
        self.service.add_session(session)
        session.start()
        return session

    def engaged(self, channel_ids: list[str]) -> bool:
        """A position whose endpoint has a channel that is none of ours is on a call the
        application does not handle (the dialplan fallback rang it): it must not be offered
        one until that ends."""
        return any(not self.names.is_ours(channel_id) for channel_id in channel_ids)

    # -- the event stream ------------------------------------------------------------------

    def start(self) -> None:
        """Count the node down if it does not connect within the delay."""
        self._arm_down_timer()

    def stop(self) -> None:
        self.ready = False
        self._disarm_down_timer()

    async def consume(self) -> None:
        """Read this node's event stream until cancelled; failures are logged, not raised."""
        async for item in self.events:
            try:
                if isinstance(item, StreamConnected):
                    self.service.count("stream_connections")
                    self._disarm_down_timer()
                    if self.down:
                        self.down = False
                        log.warning(
                            "Asterisk node is back: reconciling it", extra={"node": self.name}
                        )
                    await self.resynchronise()
                elif isinstance(item, StreamDisconnected):
                    self.service.count("stream_losses")
                    self.ready = False
                    self._arm_down_timer()
                    self.service.node_changed()
                    log.warning(
                        "event stream lost; no offers through this node until it is back",
                        extra={"node": self.name},
                    )
                elif isinstance(item, Event):
                    self.dispatch(item)
            except Exception:
                log.exception(
                    "event handling failed", extra={"item": type(item).__name__, "node": self.name}
                )

    async def resynchronise(self) -> None:
        """Make our state match this node's, then allow offers through it again."""
        self.ready = False
        self.service.node_changed()
        try:
            await self._resync.run()
        except AriError as error:
            self.resync_wanted = True
            log.warning(
                "resynchronisation failed; retrying",
                extra={"error": str(error), "node": self.name},
            )
            return
        self.resync_wanted = False
        self.service.count("resyncs")
        self.ready = True
        self.service.node_changed()
        self.service.policy_changed()

    def _arm_down_timer(self) -> None:
        if self.down or self._down_timer is not None:
            return
        self._down_timer = asyncio.get_running_loop().call_later(
            self.settings.node_down_after_s, self._declare_down
        )

    def _disarm_down_timer(self) -> None:
        if self._down_timer is not None:
            self._down_timer.cancel()
            self._down_timer = None

    def _declare_down(self) -> None:
        """Lost for longer than the delay: its calls end in the policy and the journal, its
        phones' registrations stop counting (unless it is the only node). Nothing is asked
        of the node."""
        self._down_timer = None
        if self.ready or self.down:
            return
        self.down = True
        calls = list(self.sessions.values())
        if self._alone:
            # No other node's callers need its positions, and an outage Asterisk lived
            # through (a network cut) is reconciled from its calls when it is back.
            log.warning(
                "Asterisk node down: no offer until it is back; its calls are kept and"
                " reconciled then",
                extra={"node": self.name, "calls": len(calls)},
            )
            self.service.node_changed()
            return
        log.warning(
            "Asterisk node down: its calls are ended, no offer through it until it is back",
            extra={
                "node": self.name,
                "calls": len(calls),
                "after_s": self.settings.node_down_after_s,
            },
        )
        for session in calls:
            session.take(NodeLost(self.name))
        if self._resync.first:
            # Never in step since this application started (it took over while the node
            # was down): the journal's open calls of the node have no session to end them.
            self.spawn(
                self._resync.close_calls_of_lost_node(self.name),
                name=f"close-lost-calls:{self.name}",
            )
        self._recent.clear()
        lost = list(self.presence)
        self.presence.clear()
        for position_id in lost:
            self.service.presence_changed(position_id)
        self.service.node_changed()
        self.service.policy_changed()

    # -- events ----------------------------------------------------------------------------

    def dispatch(self, event: Event) -> None:
        """Hand one event to whoever it concerns; never awaits."""
        self.service.count("events")
        if self._is_duplicate(event):
            self.service.count("duplicates")
            return
        if isinstance(event, StasisStart):
            self._on_stasis_start(event)
        elif isinstance(event, StasisEnd | ChannelDestroyed):
            channel_id = event.channel.id
            sink = self.sessions.get(channel_id) or self.service.resource_sink(channel_id)
            if sink is not None:
                sink.on_event(event)
        elif isinstance(event, PlaybackFinished):
            sink = self.service.resource_sink(event.playback.id)
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
        sink = self.service.resource_sink(channel.id)
        if sink is not None:
            sink.on_event(event)
        elif channel.id in self.service.sessions or self.names.is_astdb_reader(channel.id):
            pass  # already ours (seen again after a resynchronisation), or reading AstDB
        elif self.names.is_ours(channel.id) or (event.args[:1] == ["offer"]):
            # A position answered for a call that is gone: nobody is waiting on that line.
            self.spawn(self._hang_up(channel.id), name=f"hang-up-stray:{channel.id}")
        else:
            routing_key = event.args[0] if event.args else ""
            policy = self.policy
            route = (
                None
                if channel.id in policy.calls
                else route_call(self.topology, policy, routing_key, self.clock.now())
            )
            self.start_session(
                channel.id,
                caller_number=channel.caller.number,
                caller_name=channel.caller.name,
                routing_key=routing_key,
                arrived_at=channel.creationtime.timestamp(),
            ).deliver(Begin(channel.state, route))

    async def _hang_up(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):  # gone already: what was wanted
            await self.ari.channels.hangup(channel_id)

    # -- presence --------------------------------------------------------------------------

    def endpoint_changed(
        self,
        endpoint: str,
        state: str | None,
        channel_ids: list[str] | None = None,
        *,
        quiet: bool = False,
        at: float | None = None,
    ) -> None:
        """A position's phone registered to this node or went away, or its calls changed;
        ``quiet``: a resynchronisation's reading, distributed once it is over, ``at`` its
        time (phones found online together are equally idle)."""
        position = self.topology.position_by_endpoint.get(endpoint)
        if position is None or self.down:
            return
        presence = self.presence.setdefault(position.id, Presence())
        if channel_ids is not None:
            presence.engaged = self.engaged(channel_ids)
        if state is not None:
            presence.online = state == "online"
        changed = self.service.presence_changed(
            position.id,
            reach=state is not None,
            calls=channel_ids is not None,
            quiet=quiet,
            at=at,
        )
        if changed and not quiet:
            self.service.policy_changed()
