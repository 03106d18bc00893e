"""Make the application's view match Asterisk's after a start or a lost event stream.

Asterisk replays nothing after a reconnect and sends no new ``StasisStart`` for channels
already in the application (reference trace h), so the state is read back:

- ``GET /endpoints``: which positions are online;
- ``GET /channels`` and ``GET /bridges``: which callers are waiting (in our holding bridge),
  talking (in our talk bridge, with which operator leg) or not yet settled; each caller's
  unit is read from the channel variable the session wrote (``VCTA_QUEUE``), its arrival
  time is the channel's creation time;
- sessions whose channels disappeared meanwhile are told what the lost events would have
  said; legs and bridges nobody owns any more are hung up and destroyed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import replace
from typing import Any, Protocol

from ari_app.calls.astdb import DialplanSweep
from ari_app.calls.config import RECORD_VARIABLE, CallSettings, Recording
from ari_app.calls.ids import CallNames
from ari_app.calls.inputs import ChannelsGone, Failed, LegAnswered, PolicyRecord, Restored, Resume
from ari_app.calls.journal import (
    CallOutcome,
    Journal,
    JournalEntry,
    JournalKind,
    OpenCalls,
    entry_id_for,
)
from ari_app.calls.marks import QUEUE_VARIABLE, QueueMark
from ari_app.calls.session import CallSession, SessionState
from ari_app.calls.subscriptions import subscribe_endpoints
from ari_app.clock import Clock
from ari_app.stasis import AriClient, AriError, Bridge, Channel
from ari_app.vcta import CallStatus, PolicyState, Topology, route_call

log = logging.getLogger(__name__)

EVENTS_USED = (
    "StasisStart",
    "StasisEnd",
    "ChannelDestroyed",
    "PlaybackFinished",
    "EndpointStateChange",
    "ApplicationReplaced",
)
"""The event types the call handling acts on. Asterisk is asked to send only these: an
endpoint-subscribed application otherwise gets every event of every phone's channels (some
130 per call, most of them ChannelVarset), each one parsed and dropped."""


class ResyncHost(Protocol):
    """One Asterisk node of the call service, as the resynchronisation sees it."""

    ari: AriClient
    names: CallNames
    settings: CallSettings
    journal: Journal
    clock: Clock
    open_calls: OpenCalls | None
    dialplan: DialplanSweep

    @property
    def topology(self) -> Topology: ...

    @property
    def policy(self) -> PolicyState: ...

    @property
    def sessions(self) -> Mapping[str, CallSession]: ...

    def start_session(
        self,
        call_id: str,
        *,
        caller_number: str,
        caller_name: str,
        routing_key: str,
        arrived_at: float,
    ) -> CallSession: ...

    def engaged(self, channel_ids: list[str]) -> bool: ...

    def endpoint_changed(
        self,
        endpoint: str,
        state: str | None,
        channel_ids: list[str] | None = None,
        *,
        quiet: bool = False,
        at: float | None = None,
    ) -> None: ...

    def spawn(self, coroutine: Coroutine[Any, Any, None], *, name: str) -> None: ...


class Resynchroniser:
    """Reads Asterisk's state and brings the service in line with it."""

    def __init__(self, service: ResyncHost) -> None:
        self.service = service
        self._first = True
        self._filter_refused = False

    async def run(self) -> None:
        service = self.service
        ari = service.ari
        await subscribe_endpoints(
            ari,
            service.settings.app_name,
            (p.endpoint for p in service.topology.position_by_id.values()),
        )
        await self._filter_events()
        await self._tell_dialplan_recording()
        endpoints, channels, bridges = await asyncio.gather(
            ari.endpoints.list(), ari.channels.list(), ari.bridges.list()
        )
        now = service.clock.now()
        for endpoint in endpoints:
            # Registered or not, and talking on a call we do not own (dialplan fallback while
            # we were away): busy. Merged with what the other nodes say of the same phone;
            # phones found online together are equally idle (then offered in name order).
            service.endpoint_changed(
                endpoint.ref,
                endpoint.state or "offline",
                list(endpoint.channel_ids),
                quiet=True,
                at=now,
            )
        live = {channel.id: channel for channel in channels}
        bridge_of: dict[str, Bridge] = {}
        for bridge in bridges:
            if service.names.call_of_bridge(bridge.id) is not None:
                for channel_id in bridge.channels:
                    bridge_of[channel_id] = bridge
        ended = await self._end_times(
            [call_id for call_id in service.sessions if call_id not in live]
        )
        self._reconcile_sessions(live, ended)
        await self._adopt_unknown_callers(live, bridge_of)
        if self._first:
            await self._close_calls_ended_while_stopped(live)
            self._first = False
        await self._reap(live, bridges)
        await service.dialplan.run()
        log.info(
            "resynchronised with Asterisk",
            extra={"calls": len(service.sessions), "channels": len(live)},
        )

    async def _end_times(self, call_ids: list[str]) -> dict[str, float]:
        """The real end times of calls that ended unseen, as the dialplan wrote them down
        (``astdb``); a call whose time cannot be read is dated when noticed."""
        try:
            return await self.service.dialplan.records.ended_times(call_ids)
        except AriError as error:
            log.warning("could not read end times from AstDB", extra={"error": str(error)})
            return {}

    async def _filter_events(self) -> None:
        """Ask Asterisk for the events used only; without it (an older Asterisk) every event
        still comes and the unused ones are dropped here, at a cost."""
        try:
            await self.service.ari.applications.filter_events(
                self.service.settings.app_name, EVENTS_USED
            )
        except AriError as error:
            if not self._filter_refused:
                log.warning(
                    "Asterisk refused the event filter; every event of the application's"
                    " channels will be received and the unused ones dropped",
                    extra={"error": str(error)},
                )
            self._filter_refused = True
        else:
            self._filter_refused = False

    async def _tell_dialplan_recording(self) -> None:
        """The dialplan starts MixMonitor on each new caller while this global says yes. Set
        at every connection: an Asterisk restarted since reads extensions.conf's default."""
        wanted = "yes" if self.service.settings.recording is Recording.DIALPLAN else "no"
        await self.service.ari.asterisk.set_variable(RECORD_VARIABLE, wanted)

    def _reconcile_sessions(self, live: dict[str, Channel], ended: dict[str, float]) -> None:
        """Tell running sessions what happened to their channels while we were not told."""
        service = self.service
        for session in list(service.sessions.values()):
            caller_gone = session.call_id not in live
            leg_gone = session.leg_id is not None and session.leg_id not in live
            if caller_gone or leg_gone:
                session.deliver(
                    ChannelsGone(
                        caller=caller_gone, leg=leg_gone, ended_at=ended.get(session.call_id)
                    )
                )
                if caller_gone:
                    continue
            elif session.state is SessionState.OFFERED and session.leg_id is not None:
                leg = live[session.leg_id]
                if leg.state == "Up":
                    # Answered while the stream was down: its StasisStart was lost.
                    session.deliver(LegAnswered(leg.id))
                    continue
            if session.state in (SessionState.WAITING, SessionState.OFFERED):
                # Still waiting (a ringing position too): an announcement may have ended
                # unseen, the session asks Asterisk.
                session.deliver(Resume(live[session.call_id].state))

    async def _adopt_unknown_callers(
        self, live: dict[str, Channel], bridge_of: dict[str, Bridge]
    ) -> None:
        """Callers in our application with no session: we were restarted. Rebuild them."""
        service = self.service
        app = service.settings.app_name
        callers = [
            channel
            for channel in live.values()
            if channel.id not in service.sessions
            and not service.names.is_ours(channel.id)
            and channel.dialplan.app_name == "Stasis"
            and channel.dialplan.app_data.split(",", 1)[0] == app
        ]
        if not callers:
            return
        marks = await asyncio.gather(*(self._queue_mark(channel.id) for channel in callers))
        on_record = await self._on_record()
        for channel, mark in zip(callers, marks, strict=True):
            journaled = on_record is None or channel.id in on_record
            self._adopt(channel, mark, live, bridge_of.get(channel.id), journaled=journaled)

    async def _on_record(self) -> set[str] | None:
        """The calls the journal holds open (None: not known). A caller rebuilt that is not
        among them arrived in the instant before a kill, its arrival written by nobody."""
        if self.service.open_calls is None:
            return None
        try:
            return {call.call_id for call in await self.service.open_calls.open_calls()}
        except Exception as error:  # the journal's store may be down: calls come first
            log.warning("could not read open calls from the journal", extra={"error": str(error)})
            return None

    @property
    def first(self) -> bool:
        """No resynchronisation has been done yet (this node was not in step since start)."""
        return self._first

    async def close_calls_of_lost_node(self, node: str) -> None:
        """The node is lost before this application was ever in step with it (it took over
        while the node was down): the calls the journal left open on the node ended with it.
        A caller found still there when the node answers is taken back (``recovered``)."""
        await self._close_open_calls(
            {},
            reason=f"Asterisk node {node} lost: the call ended with it",
            ended_by="node_lost",
            unanswered=CallOutcome.LOST,
            ask_node=False,  # it does not answer
        )

    async def _close_calls_ended_while_stopped(self, live: dict[str, Channel]) -> None:
        """Calls the journal left open whose caller is gone: they ended while no application
        was running. Their record gets its end, so every call is on record from arrival to end.
        """
        await self._close_open_calls(
            live,
            reason="ended while the application was stopped",
            ended_by="unknown",
            unanswered=CallOutcome.ABANDONED,
            ask_node=True,
        )

    async def _close_open_calls(
        self,
        live: Mapping[str, Channel],
        *,
        reason: str,
        ended_by: str,
        unanswered: CallOutcome,
        ask_node: bool,
    ) -> None:
        """Journal the end of the open calls of this node that are neither ``live`` nor held
        by a session; ``ask_node``: read their real end times from the node's AstDB."""
        service = self.service
        if service.open_calls is None:
            return
        try:
            open_calls = await service.open_calls.open_calls()
        except Exception as error:  # the journal's store may be down: calls come first
            log.warning("could not read open calls from the journal", extra={"error": str(error)})
            return
        gone = [
            call
            for call in open_calls
            if call.call_id not in live and call.call_id not in service.sessions
        ]
        ended = await self._end_times([call.call_id for call in gone]) if ask_node else {}
        now = service.clock.now()
        for call in gone:
            outcome = CallOutcome.ANSWERED if call.connected else unanswered
            service.journal.record(
                JournalEntry(
                    call_id=call.call_id,
                    at=ended.get(call.call_id, now),
                    kind=JournalKind.ENDED,
                    unit=call.unit,
                    home_centre=call.home_centre,
                    position=call.position,
                    caller=call.caller,
                    reason=reason,
                    outcome=outcome,
                    details={"ended_by": ended_by},
                    entry_id=entry_id_for(call.call_id, JournalKind.ENDED),
                )
            )
            log.info("call closed in the journal", extra={"call_id": call.call_id})

    async def _queue_mark(self, channel_id: str) -> QueueMark | None:
        try:
            value = await self.service.ari.channels.get_variable(channel_id, QUEUE_VARIABLE)
        except AriError:
            return None
        return QueueMark.decode(value)

    def _adopt(
        self,
        channel: Channel,
        mark: QueueMark | None,
        live: dict[str, Channel],
        bridge: Bridge | None,
        *,
        journaled: bool,
    ) -> None:
        """Start a session for a caller found without one and tell it where it is
        (``journaled``: whether the journal has its arrival)."""
        service = self.service
        policy = service.policy
        data = channel.dialplan.app_data.split(",", 1)
        routing_key = data[1] if len(data) > 1 else ""
        decision = route_call(service.topology, policy, routing_key, service.clock.now())
        unit = mark.unit if mark is not None and mark.unit in policy.units else decision.unit
        session = service.start_session(
            channel.id,
            caller_number=channel.caller.number,
            caller_name=channel.caller.name,
            routing_key=routing_key,
            arrived_at=channel.creationtime.timestamp(),
        )

        def record(status: CallStatus, position: str | None = None) -> PolicyRecord:
            return PolicyRecord(
                routing_key=routing_key,
                home_centre=decision.home_centre,
                unit=unit,
                status=status,
                position=position,
                hops=mark.hops if mark else 0,
                overflow=mark.overflow if mark else False,
            )

        kind = service.names.call_of_bridge(bridge.id) if bridge is not None else None
        restored: Restored
        if bridge is not None and kind == ("talk", channel.id):
            leg = next(
                (live[c] for c in bridge.channels if c in live and service.names.is_ours(c)),
                None,
            )
            position = (
                service.topology.position_by_endpoint.get(leg.name.rsplit("-", 1)[0])
                if leg is not None
                else None
            )
            if leg is not None and position is not None:
                restored = Restored(
                    SessionState.CONNECTED,
                    channel.state,
                    record(CallStatus.CONNECTED, position.id),
                    talk_bridge=bridge.id,
                    leg_id=leg.id,
                    position_id=position.id,
                )
            else:
                # The operator hung up while we were away: the call ends as it is restored.
                restored = Restored(
                    SessionState.CONNECTED,
                    channel.state,
                    record(CallStatus.ROUTED),
                    talk_bridge=bridge.id,
                )
        elif bridge is not None and kind == ("wait", channel.id):
            restored = Restored(
                SessionState.WAITING,
                channel.state,
                record(CallStatus.WAITING),
                hold_bridge=bridge.id,
            )
        else:
            restored = Restored(SessionState.ARRIVED, channel.state, record(CallStatus.ROUTED))
        if not journaled:
            restored = replace(restored, arrival_journaled=False)
        if not session.take(restored):
            log.error(
                "could not rebuild a call; handing it to the dialplan",
                extra={"call_id": channel.id},
            )
            session.deliver(Failed("could not rebuild the call from Asterisk"))

    async def _reap(self, live: dict[str, Channel], bridges: tuple[Bridge, ...]) -> None:
        """Hang up legs and destroy bridges that belong to no call any more."""
        service = self.service
        owned: set[str] = set()
        for session in service.sessions.values():
            owned.update(x for x in (session.leg_id, session.hold_bridge, session.talk_bridge) if x)
        stray_legs = [
            channel_id
            for channel_id in live
            if (service.names.call_of_leg(channel_id) is not None and channel_id not in owned)
            or service.names.is_stale_reader(channel_id)
        ]
        orphan_bridges = [
            bridge.id
            for bridge in bridges
            if (kind := service.names.call_of_bridge(bridge.id)) is not None
            and kind[1] not in service.sessions
        ]
        for channel_id in stray_legs:
            service.spawn(
                _quietly(service.ari.channels.hangup(channel_id)), name=f"reap:{channel_id}"
            )
        for bridge_id in orphan_bridges:
            service.spawn(
                _quietly(service.ari.bridges.destroy(bridge_id)), name=f"reap:{bridge_id}"
            )
        if stray_legs or orphan_bridges:
            log.info(
                "reaped what no call owns",
                extra={"legs": len(stray_legs), "bridges": len(orphan_bridges)},
            )


async def _quietly(request: object) -> None:
    assert asyncio.iscoroutine(request)
    try:
        await request
    except AriError as error:
        log.debug("clean-up request failed", extra={"error": str(error)})
