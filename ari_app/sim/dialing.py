"""Outbound channels: originate, create and dial, and how a position's script plays out.

The event sequences follow the traces: answered (a), busy (b), offline or unknown
(c: ``500 {"error": "Allocation failed"}`` and no event), no answer (d: only
``ChannelDestroyed`` cause 19, no final ``Dial``), client-chosen ids (m), Local
callers (k). A hangup requested while dialling ends with the ``Dial`` status
Asterisk's dial API derives from the hangup cause (``main/dial.c``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ari_app.sim.endpoints import KNOWN_TECHS, PJSIP
from ari_app.sim.errors import AllocationFailed, AriError
from ari_app.sim.model import OUTGOING_LINE, Channel, ChannelKind, Location, Party
from ari_app.sim.scripts import Answer, Busy, NoAnswer, Outcome, Reject, Ring, Unreachable
from ari_app.sim.timers import Timer
from ari_app.sim.wire import CALL_REJECTED, NO_ANSWER, NORMAL_CLEARING, USER_BUSY, parse_callerid

if TYPE_CHECKING:
    from ari_app.sim.pbx import Pbx

DEFAULT_TIMEOUT_S = 30
MAX_UNIQUEID = 149  # AST_MAX_PUBLIC_UNIQUEID
SUBSCRIBER_ABSENT = 20


def dial_status(cause: int) -> str:
    """``ast_hangup_cause_to_dial_status``."""
    statuses = {USER_BUSY: "BUSY", 34: "CONGESTION", 3: "CHANUNAVAIL"}
    statuses[SUBSCRIBER_ABSENT] = "CHANUNAVAIL"
    return statuses.get(cause, "NOANSWER")


def split_args(app_args: str | None) -> list[str]:
    return app_args.split(",") if app_args else []


@dataclass(frozen=True)
class OriginateRequest:
    """The parameters of ``POST /channels`` (and ``/channels/{id}``, ``/channels/create``)."""

    endpoint: str | None
    app: str | None = None
    app_args: str | None = None
    extension: str | None = None
    context: str | None = None
    priority: int | None = None
    label: str | None = None
    caller_id: str | None = None
    timeout: int = DEFAULT_TIMEOUT_S
    channel_id: str | None = None
    other_channel_id: str | None = None
    originator: str | None = None
    formats: str | None = None
    variables: dict[str, str] = field(default_factory=dict)


class DialAttempt:
    """An outbound channel being dialled, until it answers or fails; ``channel.dial`` meanwhile."""

    def __init__(
        self,
        pbx: Pbx,
        channel: Channel,
        outcome: Outcome | None,
        *,
        timeout_s: float | None,
        dialstring: str,
        caller: Channel | None,
        on_answer: Callable[[Channel], None],
    ) -> None:
        self._pbx = pbx
        self._channel = channel
        self._outcome = outcome
        self._timeout_s = timeout_s
        self._dialstring = dialstring
        self._caller = caller
        self._on_answer = on_answer
        self._timers: list[Timer] = []
        self.finished = False

    def start(self) -> None:
        self._channel.dial = self
        self._publish_dial("")
        if self._timeout_s is not None:
            self._after(self._timeout_s, self._timeout)
        match self._outcome:
            case Answer(after_s=after):
                self._after(0.0, self._ringing)
                self._after(after, self._answer)
            case Busy(after_s=after):
                self._after(after, lambda: self._refused(USER_BUSY, 486))
            case NoAnswer():
                self._after(0.0, self._ringing)
            case Reject(after_s=after):
                self._after(0.0, self._ringing)
                self._after(after, self.reject_now)
            case _:
                pass  # a Local channel answers when its other half does

    def _after(self, delay_s: float, action: Callable[[], None]) -> None:
        self._timers.append(self._pbx.timers.after(delay_s, action, f"dial-{self._channel.id}"))

    def _end(self) -> None:
        self.finished = True
        self._channel.dial = None
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _publish_dial(self, status: str) -> None:
        channel, caller = self._channel, self._caller

        def body() -> dict[str, Any]:
            fields: dict[str, Any] = {
                "dialstatus": status,
                "forward": "",
                "dialstring": self._dialstring,
            }
            if caller is not None:
                fields["caller"] = caller.snapshot()
            fields["peer"] = channel.snapshot()
            return fields

        bus = self._pbx.bus
        bus.publish(bus.channel_recipients(channel), "Dial", body)

    def _ringing(self) -> None:
        if self.finished or self._channel.gone:
            return
        channel = self._channel
        self._pbx.set_state(channel, "Ringing", device=False)
        self._publish_dial("RINGING")
        if channel.endpoint is not None:
            self._pbx.endpoints.refresh_device(channel.endpoint)

    def _answer(self) -> None:
        if self.finished or self._channel.gone:
            return
        self._end()
        channel = self._channel
        self._pbx.set_state(channel, "Up", device_first=True)
        self._publish_dial("ANSWER")
        self._on_answer(channel)
        outcome = self._outcome
        if isinstance(outcome, Answer) and outcome.talk_s is not None and not channel.gone:
            channel.timers.append(
                self._pbx.timers.after(
                    outcome.talk_s,
                    lambda: self._pbx.remote_hangup(channel),
                    f"talk-{channel.id}",
                )
            )

    def local_peer_answered(self) -> None:
        self._answer()

    def reject_now(self) -> None:
        """The position declines (603): cause 21."""
        self._refused(CALL_REJECTED, 603)

    def _refused(self, cause: int, tech_cause: int) -> None:
        if self.finished or self._channel.gone:
            return
        self._end()
        channel = self._channel
        self._pbx.bus.channel_event(
            channel, "ChannelHangupRequest", {"cause": cause, "tech_cause": tech_cause}
        )
        self._publish_dial(dial_status(cause))
        self._pbx.hangup(channel, cause=cause, request=None, tech_cause=tech_cause)

    def _timeout(self) -> None:
        if self.finished or self._channel.gone:
            return
        self._end()
        tech_cause = 480 if self._channel.tech == PJSIP else None
        self._pbx.hangup(self._channel, cause=NO_ANSWER, request=None, tech_cause=tech_cause)

    def abort(self, cause: int) -> None:
        """A hangup was requested while dialling: the dial API reports it, then hangs up."""
        if self.finished:
            return
        self._end()
        self._publish_dial(dial_status(cause))


class Dialer:
    def __init__(self, pbx: Pbx) -> None:
        self._pbx = pbx

    # Validation shared by originate and create ---------------------------------------------

    @staticmethod
    def _split_endpoint(endpoint: str | None) -> tuple[str, str]:
        if not endpoint:
            raise AriError(400, "Endpoint must be specified")
        tech, _, resource = endpoint.partition("/")
        if not tech or not resource:
            raise AriError(400, "Invalid endpoint specified")
        return tech, resource

    def _check_ids(self, request: OriginateRequest) -> None:
        for wanted in (request.channel_id, request.other_channel_id):
            if wanted and len(wanted) > MAX_UNIQUEID:
                raise AriError(400, f"Uniqueid length exceeds maximum of {MAX_UNIQUEID}")

    @staticmethod
    def _timeout_s(timeout: int) -> float | None:
        if timeout == -1:
            return None
        return float(timeout if timeout > 0 else DEFAULT_TIMEOUT_S)

    @staticmethod
    def _caller_party(caller_id: str | None) -> Party | None:
        if not caller_id:
            return None
        name, number = parse_callerid(caller_id)
        return Party(name, number) if (name or number) else None

    def _ask_script(self, resource: str, channel_id: str, caller: Party | None) -> Outcome:
        endpoint = self._pbx.endpoints.get(resource)
        if endpoint is None or not endpoint.online:
            return Unreachable()
        ring = Ring(
            endpoint=resource,
            channel_id=channel_id,
            caller_name=caller.name if caller else "",
            caller_number=caller.number if caller else "",
            now=self._pbx.now(),
            active_calls=sum(1 for c in endpoint.channel_ids if c != channel_id),
        )
        return endpoint.script.on_ring(ring)

    # POST /channels ---------------------------------------------------------------------------

    def originate(self, request: OriginateRequest) -> dict[str, Any]:
        pbx = self._pbx
        self._check_ids(request)
        if not request.endpoint:
            raise AriError(400, "Endpoint must be specified")
        if request.originator and request.formats:
            raise AriError(400, "Originator and formats can't both be specified")
        tech_given, resource = self._split_endpoint(request.endpoint)
        if not request.app and not request.extension:
            raise AriError(400, "Application or extension must be specified")
        priority = request.priority or 1
        if request.label:
            if not request.label.isdigit():
                raise AriError(404, "Requested label can not be found")
            priority = int(request.label)
        if request.originator and request.originator not in pbx.channels:
            raise AriError(400, "Provided originator channel was not found")
        tech = KNOWN_TECHS.get(tech_given.lower())
        if tech == "Local":
            return self._originate_local(request, resource, priority)
        if tech != PJSIP:
            raise AllocationFailed()
        endpoint = pbx.endpoints.get(resource)
        if endpoint is None or not endpoint.online:
            raise AllocationFailed()
        caller = self._caller_party(request.caller_id)
        channel_id = pbx.allocate_id(request.channel_id)
        outcome = self._ask_script(resource, channel_id, caller)
        if isinstance(outcome, Unreachable):
            raise AllocationFailed()
        channel = self._new_outbound(
            channel_id,
            resource=resource,
            app=request.app,
            kind=ChannelKind.ORIGINATED,
            caller=caller,
            variables=request.variables,
        )
        if request.app:
            pbx.apps.subscribe_channel(request.app, channel.id)
        snapshot = channel.snapshot()
        DialAttempt(
            pbx,
            channel,
            outcome,
            timeout_s=self._timeout_s(request.timeout),
            dialstring=resource,
            caller=None,
            on_answer=self._answered_action(request, priority),
        ).start()
        return snapshot

    def _new_outbound(
        self,
        channel_id: str,
        *,
        resource: str,
        app: str | None,
        kind: ChannelKind,
        caller: Party | None,
        variables: dict[str, str],
    ) -> Channel:
        """A PJSIP channel to a position, with the creation events of trace f."""
        pbx = self._pbx
        endpoint = pbx.endpoints.get(resource)
        assert endpoint is not None
        channel = pbx.new_channel(
            channel_id=channel_id,
            name=pbx.ids.channel_name(PJSIP, resource),
            tech=PJSIP,
            resource=resource,
            kind=kind,
            state="Down",
            caller=endpoint.callerid,
            connected=Party(),
            location=Location(endpoint.context, "s", 1),
            home_app=app or pbx.default_app,
        )
        channel.variables.update(variables)
        pbx.bus.channel_event(channel, "ChannelCreated")
        channel.protocol_id = pbx.ids.uuid()
        pbx.set_location(channel, Location(endpoint.context, "s", 1, *OUTGOING_LINE))
        if caller is not None:
            pbx.set_caller(channel, caller)
            pbx.set_connected(channel, caller)
        return channel

    def _answered_action(
        self, request: OriginateRequest, priority: int
    ) -> Callable[[Channel], None]:
        pbx = self._pbx
        app, app_args = request.app, request.app_args

        def enter_application(channel: Channel) -> None:
            assert app is not None
            data = f"{app},{app_args}" if app_args else app
            loc = channel.location
            channel.location = Location(loc.context, loc.exten, loc.priority, "Stasis", data)
            if not pbx.enter_stasis(channel, app, split_args(app_args)):
                pbx.hangup(channel, cause=NORMAL_CLEARING, request=None)

        def run_dialplan(channel: Channel) -> None:
            assert request.extension is not None
            pbx.run_dialplan(channel, request.context or "default", request.extension, priority)

        return enter_application if app else run_dialplan

    def _originate_local(
        self, request: OriginateRequest, resource: str, priority: int
    ) -> dict[str, Any]:
        """``Local/exten@context``: ``;1`` is dialled, ``;2`` runs the dialplan (traces i, k)."""
        pbx = self._pbx
        exten, _, context = resource.partition("@")
        context = context or "default"
        first_id = pbx.allocate_id(request.channel_id)
        second_id = pbx.allocate_id(request.other_channel_id)
        if first_id == second_id:
            raise AriError(409, "Channel with given unique ID already exists")
        party = self._caller_party(request.caller_id) or Party()
        base = pbx.ids.channel_name("Local", resource)
        first = pbx.new_channel(
            channel_id=first_id,
            name=f"{base};1",
            tech="Local",
            resource=resource,
            kind=ChannelKind.ORIGINATED,
            state="Down",
            caller=party,
            connected=party,
            location=Location(context, exten, 1, *OUTGOING_LINE),
            home_app=request.app or pbx.default_app,
        )
        second = pbx.new_channel(
            channel_id=second_id,
            name=f"{base};2",
            tech="Local",
            resource=resource,
            kind=ChannelKind.LOCAL_PEER,
            state="Ring",
            caller=party,
            connected=party,
            location=Location(context, exten, 1),
            home_app=pbx.default_app,
        )
        first.local_peer, second.local_peer = second, first
        first.variables.update(request.variables)
        for channel in (first, second):
            pbx.bus.channel_event(channel, "ChannelCreated")
            if request.app:
                pbx.apps.subscribe_channel(request.app, channel.id)
        snapshot = first.snapshot()
        DialAttempt(
            pbx,
            first,
            None,
            timeout_s=self._timeout_s(request.timeout),
            dialstring=resource,
            caller=None,
            on_answer=self._answered_action(request, priority),
        ).start()
        second.timers.append(
            pbx.timers.after(
                0.0,
                lambda: pbx.run_dialplan(second, context, exten, 1),
                f"local-dialplan-{second.id}",
            )
        )
        return snapshot

    # POST /channels/create and POST /channels/{id}/dial ---------------------------------------

    def create(self, request: OriginateRequest) -> dict[str, Any]:
        pbx = self._pbx
        self._check_ids(request)
        if request.originator and request.formats:
            raise AriError(400, "Originator and formats can't both be specified")
        if not request.app:
            raise AriError(400, "Application must be specified")
        tech_given, resource = self._split_endpoint(request.endpoint)
        tech = KNOWN_TECHS.get(tech_given.lower())
        if tech == "Local":
            raise AriError(501, "The emulator creates PJSIP channels only")
        endpoint = pbx.endpoints.get(resource) if tech == PJSIP else None
        if endpoint is None or not endpoint.online:
            raise AllocationFailed()
        channel_id = pbx.allocate_id(request.channel_id)
        app, args = request.app, split_args(request.app_args)
        channel = self._new_outbound(
            channel_id,
            resource=resource,
            app=app,
            kind=ChannelKind.CREATED,
            caller=None,
            variables=request.variables,
        )
        data = f"{app},{request.app_args}" if request.app_args else app
        channel.location = Location(endpoint.context, "s", 1, "Stasis", data)
        channel.dialstring = resource
        pbx.apps.subscribe_channel(app, channel.id)
        snapshot = channel.snapshot()

        def enter() -> None:
            if not channel.gone and not pbx.enter_stasis(channel, app, args):
                pbx.hangup(channel, cause=NORMAL_CLEARING, request=None)

        channel.timers.append(pbx.timers.after(0.0, enter, f"create-{channel.id}"))
        return snapshot

    def dial(self, channel: Channel, caller_id: str | None, timeout: int) -> None:
        pbx = self._pbx
        if channel.state != "Down" or channel.dial is not None:
            raise AriError(409, "Channel is not in the 'Down' state")
        if not channel.dialstring:
            raise AriError(409, "Dialing a channel not created by ARI")
        caller = pbx.channels.get(caller_id) if caller_id else None
        if caller is not None:
            channel.connected = caller.caller
        outcome = self._ask_script(channel.dialstring, channel.id, channel.connected)
        attempt = DialAttempt(
            pbx,
            channel,
            outcome,
            timeout_s=float(timeout) if timeout > 0 else None,
            dialstring=channel.dialstring,
            caller=caller,
            on_answer=lambda _channel: None,
        )
        if isinstance(outcome, Unreachable):
            attempt.start()
            attempt.abort(SUBSCRIBER_ABSENT)
            pbx.hangup(channel, cause=SUBSCRIBER_ABSENT, request=None)
            return
        attempt.start()
