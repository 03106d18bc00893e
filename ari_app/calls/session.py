"""One emergency call, from the moment Asterisk hands it over until it ends.

A ``CallSession`` is an explicit state machine::

    ARRIVED --route--> WAITING --offer--> OFFERED --answer--> CONNECTED --hangup--> ENDED

Its inputs (ARI events about its channels and playbacks, commands from the supervisor, its
own timers) go through one queue and are handled one at a time by the session's own task,
so a call's events are always applied in order. The handler for each (state, input) pair is
looked up in a table; a pair with no handler is logged and ignored on purpose.

The policy state (``PolicyState``) is changed synchronously, between awaits, so two sessions
never see it half changed; Asterisk is driven with awaited REST calls, and every one of them
may find the channel gone (the caller hung up meanwhile): that race is expected, not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from ari_app.calls.config import CallSettings, Recording
from ari_app.calls.ids import CallNames
from ari_app.calls.journal import CallOutcome, Journal, JournalEntry, JournalKind, JournalValue
from ari_app.calls.marks import QUEUE_VARIABLE, QueueMark
from ari_app.calls.outcomes import failure_of_cause
from ari_app.clock import Clock
from ari_app.stasis import (
    AllocationFailed,
    AriClient,
    AriConnectionError,
    AriError,
    AriHttpError,
    ChannelDestroyed,
    Conflict,
    NotFound,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
)
from ari_app.vcta import (
    CallStatus,
    LiveCall,
    Move,
    Offer,
    OfferFailure,
    PolicyState,
    Topology,
    Unit,
    route_call,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
# Real seconds between attempts of a request that got no answer (then one last attempt).
_RETRY_DELAYS_S = (0.25, 1.0)


class SessionState(StrEnum):
    """Where a call is in its life (DESIGN.md, "A call's life")."""

    ARRIVED = "arrived"
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTED = "connected"
    ENDED = "ended"


class TimerKind(StrEnum):
    RING_GUARD = "ring_guard"  # Asterisk said nothing about a ringing position for too long
    REMINDER = "reminder"  # time to remind the waiting caller that help is coming
    PLAYBACK_GUARD = "playback_guard"  # an announcement never reported its end


@dataclass(frozen=True, slots=True)
class Begin:
    """The call entered the application (``StasisStart`` of the caller)."""

    event: StasisStart


@dataclass(frozen=True, slots=True)
class Resume:
    """The session was rebuilt from Asterisk's state (restart or lost stream): carry on."""

    channel_state: str


@dataclass(frozen=True, slots=True)
class OfferCall:
    """Ring a position for this call; the policy state already says so (``offer_made``)."""

    offer: Offer
    picked: bool = False


@dataclass(frozen=True, slots=True)
class CallMoved:
    """The call was moved to another unit; the policy state already says so."""

    move: Move


@dataclass(frozen=True, slots=True)
class TimerFired:
    kind: TimerKind
    token: int


@dataclass(frozen=True, slots=True)
class ChannelsGone:
    """Found on resynchronisation: channels of this call that no longer exist (their events
    were lost while the event stream was down)."""

    caller: bool
    leg: bool
    ended_at: float | None = None  # the caller's real end, when the dialplan wrote it down


SessionInput = (
    Begin
    | Resume
    | OfferCall
    | CallMoved
    | TimerFired
    | ChannelsGone
    | StasisStart
    | StasisEnd
    | ChannelDestroyed
    | PlaybackFinished
)


class SessionHost(Protocol):
    """What a session needs from the call service around it."""

    ari: AriClient
    names: CallNames
    settings: CallSettings
    topology: Topology
    policy: PolicyState
    journal: Journal
    clock: Clock

    def register_leg(self, leg_id: str, session: CallSession) -> None: ...

    def register_playback(self, playback_id: str, session: CallSession) -> None: ...

    def forget(self, resource_id: str) -> None: ...

    def spawn(self, coroutine: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run a clean-up task the service keeps track of."""
        ...

    def policy_changed(self) -> None:
        """Something changed that may allow an offer: run the distribution."""
        ...

    def session_ended(self, session: CallSession, call: LiveCall | None) -> None: ...


Handler = Callable[["CallSession", object], Awaitable[None]]


class CallSession:
    """One emergency call. Create it, ``start()`` it, feed it with ``deliver``."""

    def __init__(
        self,
        host: SessionHost,
        call_id: str,
        *,
        caller_number: str,
        caller_name: str,
        routing_key: str,
        arrived_at: float,
    ) -> None:
        self.host = host
        self.call_id = call_id
        self.caller_number = caller_number
        self.caller_name = caller_name
        self.routing_key = routing_key
        self.arrived_at = arrived_at
        self.state = SessionState.ARRIVED
        self.connected_at: float | None = None
        self.position_id: str | None = None
        self.leg_id: str | None = None
        self.attempts = 0
        self.hold_bridge: str | None = None
        self.talk_bridge: str | None = None
        self.playback_id: str | None = None
        self.playlist: list[str] = []
        self.moh_playing = False
        self.picked = False
        self._playbacks = 0
        self._timers: dict[TimerKind, tuple[int, asyncio.TimerHandle]] = {}
        self._timer_tokens = 0
        self._queue: asyncio.Queue[SessionInput | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"call-session:{self.call_id}"
        )

    def deliver(self, item: SessionInput) -> None:
        """Queue an input; never blocks. Inputs after the end are dropped by the task."""
        self._queue.put_nowait(item)
        backlog = self._queue.qsize()
        if backlog > self.host.settings.backlog_warning:
            log.warning(
                "call session falling behind",
                extra={"call_id": self.call_id, "backlog": backlog},
            )

    async def stop(self) -> None:
        """Stop handling inputs (shutdown); the call itself stays in Asterisk."""
        self._cancel_timers()
        self._queue.put_nowait(None)
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=2.0)

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            try:
                await self._handle(item)
            except Exception:
                log.exception("call session failed", extra={"call_id": self.call_id})
                await self._recover_from_failure()
            if self.state is SessionState.ENDED:
                self._drain()
                return

    def _drain(self) -> None:
        """After the end only a late answering position matters: hang it up."""
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, StasisStart) and item.channel.id != self.call_id:
                leg = item.channel.id
                self.host.spawn(
                    self._quietly(functools.partial(self.host.ari.channels.hangup, leg)),
                    name=f"hang-up-late-leg:{leg}",
                )

    async def _handle(self, item: SessionInput) -> None:
        kind = _input_kind(self, item)
        handler = _TRANSITIONS.get((self.state, kind))
        if handler is None:
            log.debug(
                "input ignored in this state",
                extra={"call_id": self.call_id, "state": self.state, "input": kind},
            )
            return
        await handler(self, item)

    # -- arrival ---------------------------------------------------------------------------

    async def _on_begin(self, item: object) -> None:
        assert isinstance(item, Begin)
        host = self.host
        now = host.clock.now()
        # Stamped with the channel's creation, the moment the policy counts waits from, so
        # that the journal's waits and the policy's delays (last resort) agree.
        self._journal(
            JournalKind.ARRIVED,
            details={"routing_key": self.routing_key, "channel_id": self.call_id},
            at=self.arrived_at,
        )
        if self.call_id not in host.policy.calls:
            decision = route_call(host.topology, host.policy, self.routing_key, now)
            host.policy.call_arrived(self.call_id, decision, self.arrived_at)
            self._journal(JournalKind.ROUTED, reason=decision.reason)
            log.info(
                "call routed",
                extra={"call_id": self.call_id, "unit": decision.unit, "reason": decision.reason},
            )
        if item.event.channel.state != "Up" and not await self._try(
            lambda: host.ari.channels.answer(self.call_id)
        ):
            await self._caller_left_early()
            return
        await self._start_waiting()

    async def _start_waiting(self) -> None:
        """Put the caller in their own holding bridge and start the announcements."""
        host = self.host
        bridge_id = host.names.holding_bridge(self.call_id)
        # A mixing bridge, not a "holding" one: Asterisk plays music on hold and each
        # announcement through announcer channels of their own, and a holding bridge admits
        # one announcer at a time. The previous one leaves a moment after its music is stopped
        # or its PlaybackFinished is sent; the next one, joining meanwhile, was refused ("Bridge
        # already has one") although the request was answered 204, leaving the caller in
        # silence. A mixing bridge admits both for that moment.
        await self._create_bridge(bridge_id, "mixing")
        self.hold_bridge = bridge_id
        if not await self._try(
            lambda: host.ari.bridges.add_channel(bridge_id, self.call_id, role="participant")
        ):
            await self._caller_left_early()
            return
        call = host.policy.calls[self.call_id]
        if call.hops:
            await self._remember_unit()  # a restart would route it to its first unit again
        if call.status is CallStatus.ROUTED:
            host.policy.call_waiting(self.call_id, host.clock.now())
        self.state = SessionState.WAITING
        self._journal(JournalKind.WAITING)
        # The routing line said where it waits: this one is for debugging only, as is each
        # offer; INFO keeps a call's milestones (routed, moved, connected, ended, failures).
        log.debug("call waiting", extra={"call_id": self.call_id, "unit": call.unit})
        crisis = host.policy.modes.of(call.home_centre).crisis_message
        self.playlist = [*([crisis] if crisis else []), self._unit().announcements.welcome]
        host.policy_changed()
        await self._play_next()

    async def _on_resume_arrived(self, item: object) -> None:
        """Rebuilt before it was waiting: answer if needed and put it on hold."""
        assert isinstance(item, Resume)
        self._journal(JournalKind.RECOVERED, reason="rebuilt from Asterisk before waiting")
        if item.channel_state != "Up" and not await self._try(
            lambda: self.host.ari.channels.answer(self.call_id)
        ):
            await self._caller_left_early()
            return
        await self._start_waiting()

    async def _on_resume_waiting(self, item: object) -> None:
        """Rebuilt (or stream back) while waiting: music again, reminders again."""
        self._journal(JournalKind.RECOVERED, reason="waiting; rebuilt from Asterisk")
        await self._resume_media()
        self.host.policy_changed()

    async def _on_resume_offered(self, item: object) -> None:
        """Stream back while a position rings: the ringing goes on, the media may not have."""
        await self._resume_media()

    async def _resume_media(self) -> None:
        """Events were lost: the announcement may have ended unseen. Asterisk says whether it
        still plays; if not, the next announcement or the music starts now rather than at the
        playback guard, tens of seconds of silence later."""
        playback_id = self.playback_id
        if playback_id is not None:
            try:
                await self._steady(lambda: self.host.ari.playbacks.get(playback_id))
            except NotFound:
                self.host.forget(playback_id)
                self.playback_id = None
                self._disarm(TimerKind.PLAYBACK_GUARD)
            except AriError as error:
                # Unknown: the playback guard still ends the wait for it.
                log.warning(
                    "could not check an announcement after a reconnect",
                    extra={"call_id": self.call_id, "error": str(error)},
                )
                return
            else:
                return  # still playing: its PlaybackFinished comes on the new stream
        self.moh_playing = False  # ask again: Asterisk may have lost it (a restart)
        await self._play_next()

    async def _on_resume_connected(self, item: object) -> None:
        self._journal(JournalKind.RECOVERED, reason="talking; rebuilt from Asterisk")

    async def _caller_left_early(self) -> None:
        await self._end(CallOutcome.ABANDONED, "the caller hung up before waiting", "caller")

    # -- waiting: announcements and music --------------------------------------------------

    async def _play_next(self) -> None:
        """Play the next announcement to the waiting caller, or music when none is left."""
        host = self.host
        bridge = self.hold_bridge
        if bridge is None or self.state not in (SessionState.WAITING, SessionState.OFFERED):
            return
        if self.playlist:
            media = self.playlist.pop(0)
            if self.moh_playing:
                self.moh_playing = False
                await self._quietly(lambda: host.ari.bridges.stop_moh(bridge))
            self._playbacks += 1
            playback_id = host.names.playback(self.call_id, self._playbacks)
            host.register_playback(playback_id, self)
            self.playback_id = playback_id
            if await self._try(
                lambda: host.ari.bridges.play(bridge, media, playback_id=playback_id)
            ):
                self._arm(TimerKind.PLAYBACK_GUARD, host.settings.playback_guard_s)
                return
            host.forget(playback_id)
            self.playback_id = None
        if not self.moh_playing:
            moh_class = self._unit().announcements.music_on_hold
            self.moh_playing = await self._try(
                lambda: host.ari.bridges.start_moh(bridge, moh_class=moh_class)
            )
        self._arm(TimerKind.REMINDER, self._unit().announcements.reminder_every)

    async def _on_playback_finished(self, item: object) -> None:
        assert isinstance(item, PlaybackFinished)
        if item.playback.id != self.playback_id:
            return
        if item.playback.state == "failed":
            # Asterisk skips a missing file in silence: the log is where anyone learns of it.
            log.warning(
                "announcement could not be played: is the sound on Asterisk?",
                extra={"call_id": self.call_id, "media": item.playback.media_uri},
            )
        self.host.forget(item.playback.id)
        self.playback_id = None
        self._disarm(TimerKind.PLAYBACK_GUARD)
        await self._play_next()

    async def _on_reminder(self, item: object) -> None:
        if self._current_timer(item) and self.playback_id is None:
            self.playlist.append(self._unit().announcements.reminder)
            await self._play_next()

    async def _on_playback_guard(self, item: object) -> None:
        """The announcement never ended (an unsupported URI gives no PlaybackFinished)."""
        if not self._current_timer(item) or self.playback_id is None:
            return
        playback_id, self.playback_id = self.playback_id, None
        self.host.forget(playback_id)
        await self._quietly(lambda: self.host.ari.playbacks.stop(playback_id))
        log.warning(
            "announcement did not finish; going on",
            extra={"call_id": self.call_id, "playback_id": playback_id},
        )
        await self._play_next()

    # -- moves -----------------------------------------------------------------------------

    async def _on_moved(self, item: object) -> None:
        assert isinstance(item, CallMoved)
        move = item.move
        self._journal(
            JournalKind.MOVED,
            reason=move.reason,
            details={"from_unit": move.from_unit, "kind": str(move.kind)},
        )
        log.info(
            "call moved",
            extra={"call_id": self.call_id, "to_unit": move.to_unit, "reason": move.reason},
        )
        await self._remember_unit()

    async def _remember_unit(self) -> None:
        """Write where the call waits on its channel: a restart reads it back from Asterisk."""
        call = self.host.policy.calls.get(self.call_id)
        if call is not None:
            mark = QueueMark(call.unit, call.hops, call.overflow)
            await self._try(
                lambda: self.host.ari.channels.set_variable(
                    self.call_id, QUEUE_VARIABLE, mark.encode()
                )
            )

    # -- offering a position ---------------------------------------------------------------

    async def _on_offer(self, item: object) -> None:
        assert isinstance(item, OfferCall)
        host = self.host
        offer = item.offer
        self.attempts += 1
        leg_id = host.names.operator_leg(self.call_id, self.attempts)
        self.state = SessionState.OFFERED
        self.position_id = offer.position_id
        self.leg_id = leg_id
        self.picked = item.picked
        self._journal(
            JournalKind.PICKED if item.picked else JournalKind.OFFERED, reason=offer.reason
        )
        log.debug(
            "offering call",
            extra={"call_id": self.call_id, "position": offer.position_id, "leg": leg_id},
        )
        # Subscribe before acting: the leg's events may arrive before the originate answer.
        host.register_leg(leg_id, self)
        caller_id = f'"{self.caller_name}" <{self.caller_number}>'
        originate = functools.partial(
            host.ari.channels.originate,
            offer.endpoint,
            app=host.settings.app_name,
            app_args=["offer", self.call_id],
            caller_id=caller_id,
            ring_timeout=max(1, round(host.settings.ring_timeout_s)),
            channel_id=leg_id,
            variables={"VCTA_CALL_ID": self.call_id},
        )
        try:
            await self._steady(originate)
        except Conflict:
            pass  # an attempt that got no answer did create the leg: it is ringing
        except AllocationFailed:
            # Offline or unknown endpoint: no event will ever come for this leg.
            await self._offer_failed(OfferFailure.UNREACHABLE, "allocation failed")
            return
        except AriConnectionError as error:
            # Asterisk never answered: the leg may exist. Make sure it does not ring on, and
            # keep the position (it is not known to be unreachable).
            await self._quietly(lambda: host.ari.channels.hangup(leg_id))
            await self._offer_failed(OfferFailure.NO_ANSWER, str(error))
            return
        except AriError as error:
            await self._offer_failed(OfferFailure.UNREACHABLE, str(error))
            return
        self._arm(TimerKind.RING_GUARD, host.settings.ring_timeout_s + host.settings.ring_guard_s)

    async def _on_leg_destroyed(self, item: object) -> None:
        assert isinstance(item, ChannelDestroyed)
        if item.channel.id != self.leg_id:
            return
        failure = failure_of_cause(item.cause)
        await self._offer_failed(failure, f"cause {item.cause} ({item.cause_txt})")

    async def _on_ring_guard(self, item: object) -> None:
        if not self._current_timer(item) or self.leg_id is None:
            return
        leg_id = self.leg_id
        await self._quietly(lambda: self.host.ari.channels.hangup(leg_id))
        await self._offer_failed(OfferFailure.NO_ANSWER, "no verdict from Asterisk in time")

    async def _offer_failed(self, failure: OfferFailure, detail: str) -> None:
        host = self.host
        position_id = self.position_id
        assert position_id is not None
        if self.leg_id is not None:
            host.forget(self.leg_id)
        self._disarm(TimerKind.RING_GUARD)
        host.policy.offer_failed(self.call_id, position_id, failure, host.clock.now())
        self.state = SessionState.WAITING
        self.position_id = None
        self.leg_id = None
        self._journal(
            JournalKind.OFFER_FAILED,
            position=position_id,
            reason=f"{position_id}: {failure} ({detail})",
            details={"failure": str(failure)},
        )
        log.info(
            "position did not take the call",
            extra={"call_id": self.call_id, "position": position_id, "failure": failure},
        )
        host.policy_changed()

    async def _on_leg_answered(self, item: object) -> None:
        """The operator answered: bridge them with the caller and record."""
        assert isinstance(item, StasisStart)
        host = self.host
        leg_id = item.channel.id
        if leg_id != self.leg_id:
            # Answered after we gave up on it (ring guard, caller gone): not wanted.
            await self._quietly(lambda: host.ari.channels.hangup(leg_id))
            return
        if self.state is not SessionState.OFFERED:
            return  # a duplicate of the answer already handled
        position_id = self.position_id
        assert position_id is not None
        self._disarm(TimerKind.RING_GUARD)
        talk = host.names.talk_bridge(self.call_id)
        await self._create_bridge(talk, "mixing")
        self.talk_bridge = talk
        # Both at once: Asterisk adds neither when one is gone, so a caller is never left
        # talking to nobody (nor an operator to a caller who just hung up).
        if not await self._try(lambda: host.ari.bridges.add_channel(talk, [leg_id, self.call_id])):
            await self._quietly(lambda: host.ari.bridges.destroy(talk))
            self.talk_bridge = None
            if await self._caller_present():
                await self._quietly(lambda: host.ari.channels.hangup(leg_id))
                await self._offer_failed(OfferFailure.REJECTED, "hung up on answering")
            else:
                await self._end(
                    CallOutcome.ABANDONED, "the caller hung up as the operator answered", "caller"
                )
            return
        now = host.clock.now()
        host.policy.call_connected(self.call_id, position_id, now)
        self.state = SessionState.CONNECTED
        self.connected_at = now
        self._cancel_timers()
        await self._stop_waiting_media()
        recording = host.names.recording(self.call_id)
        recorded = host.settings.recording is Recording.BRIDGE and await self._try(
            lambda: host.ari.bridges.record(
                talk,
                recording,
                host.settings.recording_format,
                if_exists="overwrite",
                beep=False,
                terminate_on="none",
            )
        )
        # With MixMonitor the dialplan records under the same name, from the call's start.
        recorded = recorded or host.settings.recording is Recording.DIALPLAN
        self._journal(
            JournalKind.CONNECTED,
            position=position_id,
            reason=f"{position_id} answered after {now - self.arrived_at:.0f} s",
            details={
                "recording": recording if recorded else None,
                "waited_s": round(now - self.arrived_at, 3),
            },
        )
        log.info(
            "call connected",
            extra={"call_id": self.call_id, "position": position_id, "recorded": recorded},
        )

    async def _stop_waiting_media(self) -> None:
        """The caller left the holding bridge: drop it with its music and announcement."""
        host = self.host
        if self.playback_id is not None:
            host.forget(self.playback_id)
            self.playback_id = None
        self.playlist.clear()
        self.moh_playing = False
        bridge, self.hold_bridge = self.hold_bridge, None
        if bridge is not None:
            await self._quietly(lambda: host.ari.bridges.destroy(bridge))

    # -- ends ------------------------------------------------------------------------------

    async def _on_caller_left(self, item: object) -> None:
        """``StasisEnd`` of the caller: they hung up (or the dialplan took the call back)."""
        assert isinstance(item, StasisEnd)
        if item.channel.id != self.call_id:
            await self._on_leg_left(item)
            return
        if self.state is SessionState.CONNECTED:
            await self._end(CallOutcome.ANSWERED, "the caller hung up", "caller")
        else:
            waited = self.host.clock.now() - self.arrived_at
            await self._end(
                CallOutcome.ABANDONED, f"the caller hung up after waiting {waited:.0f} s", "caller"
            )

    async def _on_leg_left(self, item: object) -> None:
        """The operator's leg ended while talking: the operator hung up."""
        assert isinstance(item, StasisEnd | ChannelDestroyed)
        if item.channel.id != self.leg_id:
            return
        await self._end(CallOutcome.ANSWERED, "the operator hung up", "operator")

    async def _on_channels_gone(self, item: object) -> None:
        """What the lost events would have said, found on resynchronisation."""
        assert isinstance(item, ChannelsGone)
        if item.caller:
            connected = self.state is SessionState.CONNECTED
            outcome = CallOutcome.ANSWERED if connected else CallOutcome.ABANDONED
            await self._end(
                outcome,
                "the caller hung up while the event stream was down",
                "caller",
                at=item.ended_at,
            )
        elif item.leg and self.state is SessionState.CONNECTED:
            await self._end(
                CallOutcome.ANSWERED,
                "the operator hung up while the event stream was down",
                "operator",
            )
        elif item.leg and self.state is SessionState.OFFERED:
            await self._offer_failed(OfferFailure.NO_ANSWER, "the ringing ended unseen")

    async def _end(
        self, outcome: CallOutcome, reason: str, ended_by: str, *, at: float | None = None
    ) -> None:
        """End the call and leave nothing of it behind in Asterisk; ``at``: when it really
        ended, if that was before now (its end was not seen)."""
        host = self.host
        self._cancel_timers()
        previous = self.state
        self.state = SessionState.ENDED
        ari = host.ari
        leg = self.leg_id
        if leg is not None:
            host.forget(leg)
            await self._quietly(lambda: ari.channels.hangup(leg))
        if ended_by == "operator":
            # The end of the operator's call ends the caller's: the only time we hang up.
            await self._quietly(lambda: ari.channels.hangup(self.call_id))
        await self._stop_waiting_media()
        talk = self.talk_bridge
        if talk is not None:
            await self._quietly(lambda: ari.bridges.destroy(talk))
        call = None
        if self.call_id in host.policy.calls:
            call = host.policy.call_ended(self.call_id, host.clock.now())
        self._journal(
            JournalKind.ENDED,
            unit=call.unit if call else None,
            home_centre=call.home_centre if call else None,
            position=self.position_id,
            reason=reason,
            outcome=outcome,
            at=at,
            details={
                "ended_by": ended_by,
                "state": str(previous),
                "waited_s": round(
                    (self.connected_at or at or host.clock.now()) - self.arrived_at, 3
                ),
            },
        )
        log.info(
            "call ended",
            extra={"call_id": self.call_id, "outcome": outcome, "reason": reason},
        )
        host.session_ended(self, call)

    async def _recover_from_failure(self) -> None:
        """A bug (or Asterisk failing) must never strand a caller.

        A conversation goes on untouched. A caller not yet talking is handed back to the
        dialplan, whose fallback rings positions directly (asterisk/etc/extensions.conf).
        """
        if self.state in (SessionState.ENDED, SessionState.CONNECTED):
            return
        host = self.host
        with contextlib.suppress(Exception):
            await host.ari.channels.continue_in_dialplan(self.call_id)
        await self._end(
            CallOutcome.HANDED_BACK,
            "internal error: handed back to the dialplan fallback",
            "application",
        )

    # -- helpers ---------------------------------------------------------------------------

    def _unit(self) -> Unit:
        call = self.host.policy.calls[self.call_id]
        return self.host.policy.units[call.unit]

    def _journal(
        self,
        kind: JournalKind,
        *,
        unit: str | None = None,
        home_centre: str | None = None,
        position: str | None = None,
        reason: str | None = None,
        outcome: CallOutcome | None = None,
        details: dict[str, JournalValue] | None = None,
        at: float | None = None,
    ) -> None:
        call = self.host.policy.calls.get(self.call_id)
        self.host.journal.record(
            JournalEntry(
                call_id=self.call_id,
                at=self.host.clock.now() if at is None else at,
                kind=kind,
                unit=unit or (call.unit if call else None),
                home_centre=home_centre or (call.home_centre if call else None),
                position=position or self.position_id,
                caller=self.caller_number,
                reason=reason,
                outcome=outcome,
                details=details or {},
            )
        )

    async def _steady(self, request: Callable[[], Awaitable[T]]) -> T:
        """Send a request again when it got no answer (Asterisk busy, connection lost):
        a surge of calls must slow the application down, not make it give up on callers.
        Requests sent this way are idempotent, or made so by the caller's checks."""
        for delay in _RETRY_DELAYS_S:
            try:
                return await request()
            except AriConnectionError as error:
                log.warning(
                    "ARI request without answer; trying again",
                    extra={"call_id": self.call_id, "error": str(error), "in_s": delay},
                )
                await asyncio.sleep(delay)
        return await request()

    async def _try(self, request: Callable[[], Awaitable[object]]) -> bool:
        """Run an ARI request where the resource may be gone; False if it was (404/400/422)."""
        try:
            await self._steady(request)
        except AriHttpError as error:
            if error.status in (400, 404, 409, 422):
                log.info(
                    "ARI request refused",
                    extra={"call_id": self.call_id, "status": error.status, "error": error.message},
                )
                return False
            raise
        return True

    async def _create_bridge(self, bridge_id: str, bridge_type: str) -> None:
        """Create one of our bridges; one left by an attempt that got no answer is reused."""
        ari = self.host.ari
        try:
            await self._steady(
                lambda: ari.bridges.create(bridge_type=bridge_type, bridge_id=bridge_id)
            )
        except AriHttpError:
            await self._steady(lambda: ari.bridges.get(bridge_id))  # NotFound: a real failure

    async def _caller_present(self) -> bool:
        try:
            await self.host.ari.channels.get(self.call_id)
        except NotFound:
            return False
        return True

    async def _quietly(self, request: Callable[[], Awaitable[object]]) -> None:
        """Clean-up request: whatever it says, the call goes on."""
        try:
            await self._steady(request)
        except AriError as error:
            log.debug(
                "clean-up request failed", extra={"call_id": self.call_id, "error": str(error)}
            )

    def _arm(self, kind: TimerKind, seconds: float) -> None:
        self._disarm(kind)
        self._timer_tokens += 1
        token = self._timer_tokens
        handle = asyncio.get_running_loop().call_later(
            self.host.clock.real_seconds(seconds), self.deliver, TimerFired(kind, token)
        )
        self._timers[kind] = (token, handle)

    def _disarm(self, kind: TimerKind) -> None:
        timer = self._timers.pop(kind, None)
        if timer is not None:
            timer[1].cancel()

    def _current_timer(self, item: object) -> bool:
        assert isinstance(item, TimerFired)
        timer = self._timers.get(item.kind)
        if timer is None or timer[0] != item.token:
            return False
        del self._timers[item.kind]
        return True

    def _cancel_timers(self) -> None:
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()


def _input_kind(session: CallSession, item: SessionInput) -> str:
    """The input's name in the transition table; channel events say whose channel."""
    if isinstance(item, StasisStart | StasisEnd | ChannelDestroyed):
        whose = "caller" if item.channel.id == session.call_id else "leg"
        return f"{type(item).__name__}:{whose}"
    if isinstance(item, TimerFired):
        return f"TimerFired:{item.kind}"
    return type(item).__name__


S = SessionState
_ANY_LIVE = (S.WAITING, S.OFFERED, S.CONNECTED)
_TRANSITIONS: dict[tuple[SessionState, str], Handler] = {
    (S.ARRIVED, "Begin"): CallSession._on_begin,
    (S.ARRIVED, "Resume"): CallSession._on_resume_arrived,
    (S.WAITING, "Resume"): CallSession._on_resume_waiting,
    (S.OFFERED, "Resume"): CallSession._on_resume_offered,
    (S.CONNECTED, "Resume"): CallSession._on_resume_connected,
    (S.WAITING, "OfferCall"): CallSession._on_offer,
    (S.OFFERED, "StasisStart:leg"): CallSession._on_leg_answered,
    (S.OFFERED, "ChannelDestroyed:leg"): CallSession._on_leg_destroyed,
    (S.OFFERED, f"TimerFired:{TimerKind.RING_GUARD}"): CallSession._on_ring_guard,
    (S.CONNECTED, "StasisEnd:leg"): CallSession._on_leg_left,
    (S.CONNECTED, "ChannelDestroyed:leg"): CallSession._on_leg_left,
    **{
        (state, "StasisEnd:caller"): CallSession._on_caller_left
        for state in (S.ARRIVED, *_ANY_LIVE)
    },
    **{(state, "ChannelsGone"): CallSession._on_channels_gone for state in _ANY_LIVE},
    **{(state, "CallMoved"): CallSession._on_moved for state in (S.WAITING, S.OFFERED)},
    **{
        (state, "PlaybackFinished"): CallSession._on_playback_finished
        for state in (S.WAITING, S.OFFERED)
    },
    **{
        (state, f"TimerFired:{TimerKind.REMINDER}"): CallSession._on_reminder
        for state in (S.WAITING, S.OFFERED)
    },
    **{
        (state, f"TimerFired:{TimerKind.PLAYBACK_GUARD}"): CallSession._on_playback_guard
        for state in (S.WAITING, S.OFFERED)
    },
    # A leg that answers when it is no longer wanted (a late answer) is hung up.
    **{
        (state, "StasisStart:leg"): CallSession._on_leg_answered
        for state in (S.WAITING, S.CONNECTED)
    },
}
