"""The emulated Asterisk core: channels, Stasis, bridges, the dialplan, with the traces' events.

Everything here runs synchronously on the event loop; delays go through
:class:`~ari_app.sim.timers.Timers` on the emulator's clock. Lookups are by id in
dicts, so the cost of an operation does not grow with the number of calls.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ari_app.clock import Clock
from ari_app.sim import dialplan
from ari_app.sim.apps import Applications
from ari_app.sim.bus import EventBus
from ari_app.sim.dialing import Dialer
from ari_app.sim.endpoints import Endpoints
from ari_app.sim.errors import AriError, not_found
from ari_app.sim.history import CallHistory, CallRecord, EndedBy
from ari_app.sim.ids import Ids
from ari_app.sim.media import Media
from ari_app.sim.model import OUTGOING_LINE, Bridge, Channel, ChannelKind, Location, Party
from ari_app.sim.sounds import SoundLibrary
from ari_app.sim.timers import Timers
from ari_app.sim.wire import NORMAL_CLEARING, cause_text

# Bridge type attributes ``POST /bridges?type=`` accepts.
BRIDGE_ATTRIBUTES = frozenset(
    {
        "mixing",
        "holding",
        "dtmf_events",
        "proxy_media",
        "video_sfu",
        "video_single",
        "sdp_label",
    }
)
# A Local channel's other half learns of the hangup a moment later: both halves can be
# hung up one after the other (trace i).
LOCAL_TEARDOWN_S = 0.05


class Pbx:
    """State and behaviour of the emulated Asterisk, shared by the REST layer and the controls."""

    def __init__(
        self,
        clock: Clock,
        *,
        asterisk_id: str,
        default_app: str,
        sounds: SoundLibrary,
        trunk: str = "carrier",
        system_name: str = "",
    ) -> None:
        self.clock = clock
        self.default_app = default_app
        self.timers = Timers(clock)
        self.ids = Ids(clock, system_name)
        self.apps = Applications()
        self.bus = EventBus(self.apps, clock, asterisk_id)
        self.endpoints = Endpoints(self.bus)
        self.history = CallHistory()
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.global_variables: dict[str, str] = {}
        self.custom_devices: dict[str, str] = {}  # Stasis:<name> device states
        self.started_at = clock.now()
        self.media = Media(self, sounds)
        self.dialer = Dialer(self)
        self.trunk = self.endpoints.add_trunk(trunk)

    def now(self) -> float:
        return self.clock.now()

    # Lookups, with the errors ARI answers --------------------------------------------------

    def channel(self, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise not_found("Channel")
        return channel

    def control(self, channel_id: str) -> Channel:
        """A channel the application controls: 404 if unknown, 409 if not in Stasis."""
        channel = self.channel(channel_id)
        if not channel.in_stasis:
            raise AriError(409, "Channel not in Stasis application")
        return channel

    def control_usable(self, channel_id: str) -> Channel:
        """As :meth:`control`, and 412 for an outbound channel not answered yet."""
        channel = self.control(channel_id)
        if channel.state in ("Down", "Ringing"):
            raise AriError(412, "Channel in invalid state")
        return channel

    def bridge(self, bridge_id: str) -> Bridge:
        bridge = self.bridges.get(bridge_id)
        if bridge is None:
            raise AriError(404, "Bridge not found", reason="Not found")
        return bridge

    # Channels -------------------------------------------------------------------------------

    def allocate_id(self, wanted: str | None) -> str:
        """A unique id, or the client's; allocation consumes a counter value either way."""
        generated = self.ids.unique_id()
        if wanted:
            if wanted in self.channels:
                raise AriError(409, "Channel with given unique ID already exists")
            return wanted
        return generated

    def new_channel(
        self,
        *,
        channel_id: str,
        name: str,
        tech: str,
        resource: str,
        kind: ChannelKind,
        state: str,
        caller: Party,
        connected: Party,
        location: Location,
        home_app: str,
        protocol_id: str = "",
    ) -> Channel:
        endpoint = self.endpoints.get(resource) if tech == "PJSIP" else None
        channel = Channel(
            id=channel_id,
            name=name,
            tech=tech,
            resource=resource,
            kind=kind,
            state=state,
            protocol_id=protocol_id,
            caller=caller,
            connected=connected,
            location=location,
            created_at=self.now(),
            home_app=home_app,
            endpoint=endpoint,
        )
        self.channels[channel_id] = channel
        if endpoint is not None:
            self.endpoints.channel_added(endpoint, channel_id, state)
        return channel

    def set_state(
        self, channel: Channel, state: str, *, device_first: bool = False, device: bool = True
    ) -> None:
        """Change the state with ``ChannelStateChange``; the device state is published after
        (before with ``device_first``, not at all with ``device=False``)."""
        old, channel.state = channel.state, state
        endpoint = channel.endpoint
        if endpoint is not None:
            self.endpoints.state_changed(endpoint, old, state)
            if device_first:
                self.endpoints.refresh_device(endpoint)
        self.bus.channel_event(channel, "ChannelStateChange")
        if endpoint is not None and device and not device_first:
            self.endpoints.refresh_device(endpoint)

    def set_location(self, channel: Channel, location: Location) -> None:
        channel.location = location
        self.bus.channel_event(
            channel,
            "ChannelDialplan",
            {"dialplan_app": location.app_name, "dialplan_app_data": location.app_data},
        )

    def set_caller(self, channel: Channel, caller: Party) -> None:
        channel.caller = caller
        self.bus.channel_event(
            channel,
            "ChannelCallerId",
            {
                "caller_presentation": 0,
                "caller_presentation_txt": "Presentation Allowed, Not Screened",
            },
        )

    def set_connected(self, channel: Channel, connected: Party) -> None:
        if channel.connected == connected:
            return
        channel.connected = connected
        self.bus.channel_event(channel, "ChannelConnectedLine")

    def answer(self, channel: Channel) -> None:
        """Answer an inbound channel (or a Local half): state Up, the other half learns it."""
        if channel.state == "Up":
            return
        self.set_state(channel, "Up")
        if channel.record is not None and channel.record.answered_at is None:
            channel.record.answered_at = self.now()
        peer = channel.local_peer
        if peer is not None and not peer.gone and peer.dial is not None:
            peer.dial.local_peer_answered()

    # Stasis ---------------------------------------------------------------------------------

    def enter_stasis(self, channel: Channel, app_name: str, args: list[str]) -> bool:
        """``StasisStart``; False (nothing happens) when the application does not exist."""
        if self.apps.get(app_name) is None:
            return False
        channel.stasis_app = app_name
        self.apps.subscribe_channel(app_name, channel.id)
        if channel.record is not None:
            channel.record.entered_stasis = True
        self.bus.stasis_event(app_name, channel, "StasisStart", args)
        return True

    def leave_stasis(self, channel: Channel) -> None:
        app_name = channel.stasis_app
        if app_name is None:
            return
        self.media.stop_channel_playbacks(channel)
        channel.stasis_app = None
        self.bus.stasis_event(app_name, channel, "StasisEnd")
        self.apps.unsubscribe_channel(app_name, channel.id)
        if channel.kind in (ChannelKind.ORIGINATED, ChannelKind.CREATED):
            # The dial thread gets the channel back: its snapshot shows AppDial2 again.
            loc = channel.location
            channel.location = Location(loc.context, loc.exten, loc.priority, *OUTGOING_LINE)

    def move(self, channel: Channel, app_name: str, args: list[str]) -> None:
        """``POST /channels/{id}/move``: to another application, or ApplicationMoveFailed."""
        old = channel.stasis_app
        if old is None:
            return
        if self.apps.get(app_name) is None:
            self.bus.publish(
                self.bus.app_recipients(old),
                "ApplicationMoveFailed",
                lambda: {"destination": app_name, "args": args, "channel": channel.snapshot()},
            )
            return
        if channel.bridge is not None:
            self.leave_bridge(channel, unsubscribe=True)
        self.leave_stasis(channel)
        self.enter_stasis(channel, app_name, args)

    def continue_in_dialplan(
        self, channel: Channel, context: str, exten: str, priority: int
    ) -> None:
        if channel.bridge is not None:
            self.leave_bridge(channel, unsubscribe=False)
        self.leave_stasis(channel)
        if channel.kind in (ChannelKind.ORIGINATED, ChannelKind.CREATED):
            # Launched by pbx_exec, not by a PBX: nothing runs the dialplan afterwards.
            self.hangup(channel, cause=NORMAL_CLEARING, request=None, ended_by="dialplan")
            return
        self.run_dialplan(channel, context, exten, priority)

    # Dialplan -------------------------------------------------------------------------------

    def run_dialplan(self, channel: Channel, context: str, exten: str, priority: int) -> None:
        """Execute the lab dialplan from ``context,exten,priority`` until the channel waits."""
        while not channel.gone:
            step = dialplan.lookup(context, exten, priority)
            ended_by: EndedBy = "dialplan"
            if channel.record is not None and not channel.record.entered_stasis:
                ended_by = "no-application"
            if step is None:
                self.hangup(channel, cause=NORMAL_CLEARING, request=None, ended_by=ended_by)
                return
            app_name, app_data = dialplan.application_of(step, channel.home_app, exten)
            self.set_location(channel, Location(context, exten, priority, app_name, app_data))
            match step:
                case dialplan.SetCallerId(name=name, number=number):
                    self.set_caller(channel, Party(name, number))
                case dialplan.AnswerStep():
                    self.answer(channel)
                case dialplan.Wait(seconds=seconds):
                    resume = functools.partial(
                        self.run_dialplan, channel, context, exten, priority + 1
                    )
                    channel.timers.append(
                        self.timers.after(seconds, resume, f"dialplan-wait-{channel.id}")
                    )
                    return
                case dialplan.StasisStep():
                    if channel.record is None and channel.kind is ChannelKind.LOCAL_PEER:
                        self.open_record(channel, routing_key=exten, app=channel.home_app)
                    if self.enter_stasis(channel, channel.home_app, [exten]):
                        return
                case dialplan.Echo():
                    return
                case dialplan.HangupStep(cause=cause):
                    self.hangup(
                        channel,
                        cause=cause or NORMAL_CLEARING,
                        request=None,
                        ended_by=ended_by,
                    )
                    return
            priority += 1

    def open_record(self, channel: Channel, *, routing_key: str, app: str) -> None:
        """Start the ground-truth record of a caller."""
        channel.record = self.history.open(
            CallRecord(
                channel_id=channel.id,
                routing_key=routing_key,
                number=channel.caller.number,
                app=app,
                created_at=channel.created_at,
            )
        )

    # Hangup ---------------------------------------------------------------------------------

    def remote_hangup(self, channel: Channel) -> None:
        """The far end hangs up (BYE): no cause in ``ChannelHangupRequest``.

        A position still ringing declines instead (603); an operator hanging up while
        talking is remembered on the callers' records.
        """
        if channel.gone:
            return
        if channel.dial is not None:
            channel.dial.reject_now()
            return
        bridge = channel.bridge
        if channel.kind is ChannelKind.ORIGINATED and bridge is not None:
            for member in bridge.members.values():
                if member.record is not None and member.record.talking_since is not None:
                    member.record.operator_hung_up = True
        self.hangup(channel, cause=NORMAL_CLEARING, request={}, ended_by="caller")

    def hangup(
        self,
        channel: Channel,
        *,
        cause: int,
        request: Mapping[str, Any] | None,
        tech_cause: int | None = None,
        ended_by: EndedBy | None = None,
    ) -> None:
        """Tear a channel down with Asterisk's sequence of events.

        ``request`` is the body of ``ChannelHangupRequest`` (``{}`` for a remote BYE,
        cause 32 soft for ``DELETE``), or None when Asterisk sends none.
        """
        if channel.gone or channel.hanging_up:
            return
        channel.hanging_up = True
        if request is not None:
            self.bus.channel_event(channel, "ChannelHangupRequest", request)
        if channel.dial is not None:
            channel.dial.abort(cause)
        self.media.channel_ending(channel)
        channel.cancel_timers()
        if channel.bridge is not None:
            self.leave_bridge(channel, unsubscribe=False)
        if channel.in_stasis:
            self.leave_stasis(channel)
        self._destroy(channel, cause, tech_cause, ended_by)

    def _destroy(
        self, channel: Channel, cause: int, tech_cause: int | None, ended_by: EndedBy | None
    ) -> None:
        channel.gone = True
        fields: dict[str, Any] = {"cause": cause, "cause_txt": cause_text(cause)}
        if tech_cause is not None:
            fields["tech_cause"] = tech_cause
        self.bus.channel_event(channel, "ChannelDestroyed", fields)
        del self.channels[channel.id]
        if channel.endpoint is not None:
            self.endpoints.channel_removed(channel.endpoint, channel.id, channel.state)
        self.apps.forget_channel(channel.id)
        if channel.record is not None:
            self.history.close(channel.record, self.now(), ended_by or "caller", cause)
        peer = channel.local_peer
        if peer is not None and not peer.gone:
            peer.local_peer = None
            self.timers.after(
                LOCAL_TEARDOWN_S,
                lambda: self.hangup(peer, cause=cause, request={}, ended_by="caller"),
                f"local-teardown-{peer.id}",
            )

    # Bridges --------------------------------------------------------------------------------

    def create_bridge(self, type_spec: str | None, name: str, bridge_id: str | None) -> Bridge:
        if bridge_id and bridge_id in self.bridges:
            raise AriError(409, f"Bridge with id '{bridge_id}' already exists")
        attributes = [a.strip() for a in (type_spec or "mixing").split(",") if a.strip()]
        if not attributes or any(a not in BRIDGE_ATTRIBUTES for a in attributes):
            shown = bridge_id or "(null)"
            raise AriError(
                500,
                f"Unable to create bridge. Possible duplicate bridge id '{shown}'",
                reason="Internal Error",
            )
        bridge = Bridge(
            id=bridge_id or self.ids.uuid(),
            name=name,
            bridge_type="holding" if "holding" in attributes else "mixing",
            created_at=self.now(),
        )
        self.bridges[bridge.id] = bridge
        return bridge

    def add_to_bridge(self, bridge: Bridge, channel: Channel) -> None:
        """Enter ``bridge``, leaving the current one first (a move, or a re-join: trace i)."""
        if channel.bridge is not None:
            self.leave_bridge(channel, unsubscribe=True)
        if channel.stasis_app is not None:
            self.apps.subscribe_bridge(channel.stasis_app, bridge.id)
        bridge.members[channel.id] = channel
        bridge.order[channel.id] = False
        channel.bridge = bridge
        self.bus.bridge_event(bridge, "ChannelEnteredBridge", channel)
        bridge.technology = bridge.resting_technology()
        if bridge.bridge_type == "mixing" and len(bridge.members) == 2:
            other = next(c for c in bridge.members.values() if c is not channel)
            joiner_caller, other_caller = channel.caller, other.caller
            self.set_connected(channel, other_caller)
            self.set_connected(other, joiner_caller)
        self._update_talk(bridge)

    def leave_bridge(self, channel: Channel, *, unsubscribe: bool) -> None:
        """Leave the current bridge; ``unsubscribe`` for removeChannel and moves (trace l)."""
        bridge = channel.bridge
        if bridge is None:
            return
        channel.bridge = None
        del bridge.members[channel.id]
        del bridge.order[channel.id]
        self.bus.bridge_event(bridge, "ChannelLeftBridge", channel)
        if unsubscribe and channel.stasis_app is not None:
            self.apps.unsubscribe_bridge(channel.stasis_app, bridge.id)
        if channel.record is not None:
            self.history.stop_talking(channel.record, self.now())
        if not bridge.members:
            self.media.bridge_emptied(bridge)
        bridge.technology = bridge.resting_technology()
        self._update_talk(bridge)

    def destroy_bridge(self, bridge: Bridge) -> None:
        for channel in list(bridge.members.values()):
            self.leave_bridge(channel, unsubscribe=False)
        self.media.bridge_emptied(bridge)
        bridge.gone = True
        del self.bridges[bridge.id]
        self.bus.bridge_event(bridge, "BridgeDestroyed")
        self.apps.forget_bridge(bridge.id)

    def _update_talk(self, bridge: Bridge) -> None:
        """Ground truth: a caller talks while in a mixing bridge with an originated channel."""
        if bridge.bridge_type != "mixing":
            return
        operator = next(
            (
                c
                for c in bridge.members.values()
                if c.kind is ChannelKind.ORIGINATED and c.endpoint is not None
            ),
            None,
        )
        now = self.now()
        for member in bridge.members.values():
            if member.record is None:
                continue
            if operator is not None and operator.endpoint is not None:
                self.history.start_talking(member.record, now, operator.endpoint.resource)
            else:
                self.history.stop_talking(member.record, now)

    # Shutdown -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop every timer; open caller records end as ended by the emulator."""
        await self.timers.close()
        now = self.now()
        for channel in self.channels.values():
            channel.cancel_timers()
            if channel.record is not None:
                self.history.close(channel.record, now, "emulator", NORMAL_CLEARING)
