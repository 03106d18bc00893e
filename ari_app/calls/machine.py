"""A call's life as one table: ``decide(view, input) -> Decision(call, commands)``.

Pure: no asyncio, no ARI, no clock. ``view`` is what the call's session knows (``CallData``)
with what the policy says of the call and the time, read when the input is taken up; the
decision is the session's new data and the commands to carry out, in order
(``commands.py``), which the executor turns into ARI requests and policy changes.

Every (state, kind of input) pair is either a row of ``TRANSITIONS`` or listed in
``IGNORED`` with the reason it means nothing in that state: ``tests/calls/test_machine.py``
walks the whole product and every row, and docs/calls.md shows the table
(``markdown_table``). A row may still find its input stale (a timer replaced since, a leg
given up on): it then decides nothing, on purpose and said so in the row.

The order of commands carries the guarantees of DESIGN.md: a policy change that makes a call
offerable (waiting) comes first, one that frees a position (an offer failed, a call over)
comes after the leg's hang-up, so the policy is never ahead of the call.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import NamedTuple, get_args

from ari_app.calls import commands as c
from ari_app.calls import inputs as i
from ari_app.calls.config import CallSettings, Recording
from ari_app.calls.ids import CallNames
from ari_app.calls.journal import CallOutcome, JournalKind, JournalValue
from ari_app.calls.outcomes import failure_of_cause
from ari_app.calls.states import SessionState
from ari_app.vcta import CallStatus, OfferFailure, WaitingMedia

S = SessionState
TimerKind = i.TimerKind


class MachineError(RuntimeError):
    """The view does not fit the input (the policy lost a live call): a bug, handled as
    one (the caller is handed back to the dialplan)."""


@dataclass(frozen=True, slots=True)
class CallData:
    """What a call's session holds; only ``decide`` makes a new one."""

    call_id: str
    caller_number: str
    caller_name: str
    routing_key: str
    arrived_at: float
    state: SessionState = S.ARRIVED
    connected_at: float | None = None
    position_id: str | None = None
    leg_id: str | None = None
    attempts: int = 0  # operator legs originated, for their ids
    picked: bool = False
    hold_bridge: str | None = None  # the waiting bridge, while the caller is in it
    talk_bridge: str | None = None
    playback_id: str | None = None  # the announcement playing, if any
    playbacks: int = 0  # announcements started, for their ids
    playlist: tuple[str, ...] = ()  # announcements still to play
    moh_playing: bool = False
    timers: tuple[tuple[TimerKind, int], ...] = ()  # armed timers and their tokens
    timer_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Where:
    """What the policy says of the call when the input is taken up."""

    unit: str
    home_centre: str
    status: CallStatus
    position: str | None
    hops: int
    media: WaitingMedia


@dataclass(frozen=True, slots=True)
class View:
    call: CallData
    now: float
    where: Where | None  # None: the policy does not know the call (yet, or any more)
    settings: CallSettings
    names: CallNames


class Decision(NamedTuple):
    call: CallData
    commands: tuple[c.Command, ...]
    handled: bool  # False: the pair is in IGNORED


# -- the rows' working space -------------------------------------------------------------


@dataclass(slots=True)
class Step:
    """One decision being made: the data so far and the commands so far."""

    view: View
    call: CallData
    commands: list[c.Command] = field(default_factory=list)

    @property
    def now(self) -> float:
        return self.view.now

    @property
    def where(self) -> Where:
        where = self.view.where
        if where is None:
            raise MachineError(f"the policy does not know call {self.call.call_id}")
        return where

    def set(self, **changes: object) -> None:
        self.call = replace(self.call, **changes)  # type: ignore[arg-type]

    def do(self, *commands: c.Command) -> None:
        self.commands.extend(commands)

    def journal(
        self,
        kind: JournalKind,
        *,
        reason: str | None = None,
        outcome: CallOutcome | None = None,
        position: str | None = None,
        unit: str | None = None,
        home_centre: str | None = None,
        at: float | None = None,
        details: dict[str, JournalValue] | None = None,
    ) -> None:
        self.do(
            c.Journal(
                kind,
                at=at,
                reason=reason,
                outcome=outcome,
                position=position or self.call.position_id,
                unit=unit,
                home_centre=home_centre,
                details=details or {},
            )
        )

    def log(self, severity: c.Severity, message: str, **fields: object) -> None:
        self.do(c.Log(severity, message, fields))

    # timers: a token tells the current timer from one replaced or disarmed since
    def arm(self, kind: TimerKind, seconds: float) -> None:
        token = self.call.timer_tokens + 1
        timers = tuple((k, t) for k, t in self.call.timers if k is not kind)
        self.set(timers=(*timers, (kind, token)), timer_tokens=token)
        self.do(c.ArmTimer(kind, seconds, token))

    def disarm(self, kind: TimerKind) -> None:
        if any(k is kind for k, _ in self.call.timers):
            self.set(timers=tuple((k, t) for k, t in self.call.timers if k is not kind))
        self.do(c.DisarmTimer(kind))

    def disarm_all(self) -> None:
        self.set(timers=())
        self.do(c.DisarmTimers())

    def fired(self, kind: TimerKind, token: int) -> bool:
        """True when this is the timer armed last of its kind (it is then spent)."""
        if (kind, token) not in self.call.timers:
            return False
        self.set(timers=tuple((k, t) for k, t in self.call.timers if k is not kind))
        return True


Row = Callable[[Step, i.Input], None]


# -- arriving ------------------------------------------------------------------------------


def _begin(step: Step, item: i.Input) -> None:
    """Journal the arrival, put the call in the policy at its routed unit, answer."""
    assert isinstance(item, i.Begin)
    call = step.call
    # Stamped with the channel's creation, the moment the policy counts waits from, so that
    # the journal's waits and the policy's delays (last resort) agree.
    step.journal(
        JournalKind.ARRIVED,
        details={"routing_key": call.routing_key, "channel_id": call.call_id},
        at=call.arrived_at,
    )
    if item.route is not None:
        step.do(c.PolicyArrived(item.route, call.arrived_at))
        step.journal(JournalKind.ROUTED, reason=item.route.reason)
        step.log(c.Severity.INFO, "call routed", unit=item.route.unit, reason=item.route.reason)
    _answer_then_wait(step, item.channel_state)


def _answer_then_wait(step: Step, channel_state: str) -> None:
    if channel_state != "Up":
        step.do(c.Answer())
    else:
        _join_waiting_bridge(step)


def _join_waiting_bridge(step: Step) -> None:
    bridge = step.view.names.holding_bridge(step.call.call_id)
    # A mixing bridge, not a "holding" one: Asterisk plays music on hold and each
    # announcement through announcer channels of their own, and a holding bridge admits one
    # announcer at a time. The previous one leaves a moment after its music is stopped or its
    # PlaybackFinished is sent; the next one, joining meanwhile, was refused ("Bridge already
    # has one") although the request was answered 204, leaving the caller in silence.
    step.do(c.CreateBridge(bridge, "mixing"))
    step.set(hold_bridge=bridge)
    step.do(c.JoinWaitingBridge(bridge))


def _answered(step: Step, item: i.Input) -> None:
    """Answered: into the waiting bridge. Gone: the call ends, abandoned."""
    assert isinstance(item, i.Answered)
    if item.ok:
        _join_waiting_bridge(step)
    else:
        _left_early(step)


def _joined_waiting_bridge(step: Step, item: i.Input) -> None:
    """In the waiting bridge: the call waits in its unit's queue; announcements start."""
    assert isinstance(item, i.JoinedWaitingBridge)
    if not item.ok:
        _left_early(step)
        return
    where = step.where
    if where.status is CallStatus.ROUTED:
        step.do(c.PolicyWaiting())
    step.set(state=S.WAITING)
    step.journal(JournalKind.WAITING)
    # The routing line said where it waits: this one is for debugging only, as is each
    # offer; INFO keeps a call's milestones (routed, moved, connected, ended, failures).
    step.log(c.Severity.DEBUG, "call waiting", unit=where.unit)
    if where.hops:
        step.do(c.MarkQueue())  # a restart would route it to its first unit again
    media = where.media
    crisis = (media.crisis_message,) if media.crisis_message else ()
    step.set(playlist=(*crisis, media.welcome))
    step.do(c.Distribute())
    _play_next(step)


def _left_early(step: Step) -> None:
    _end(step, CallOutcome.ABANDONED, "the caller hung up before waiting", "caller")


# -- waiting: announcements and music --------------------------------------------------------
#
# What a waiting caller hears, in this order (vcta.waiting_media): the home centre's crisis
# message if one is set, the unit's welcome, then the unit's music on hold; every
# ``reminder_every`` seconds of music, the reminder and the music again. One announcement at
# a time, the music stopped while it plays.


def _play_next(step: Step) -> None:
    """The next announcement, or the music when none is left."""
    call = step.call
    bridge = call.hold_bridge
    if bridge is None or call.state not in (S.WAITING, S.OFFERED):
        return
    if call.playlist:
        media, *rest = call.playlist
        if call.moh_playing:
            step.set(moh_playing=False)
            step.do(c.StopMusic(bridge))
        number = call.playbacks + 1
        playback_id = step.view.names.playback(call.call_id, number)
        step.set(playlist=tuple(rest), playbacks=number, playback_id=playback_id)
        step.do(c.Register(playback_id), c.Play(bridge, media, playback_id))
        return
    _music(step)


def _music(step: Step) -> None:
    bridge = step.call.hold_bridge
    if not step.call.moh_playing and bridge is not None:
        step.do(c.StartMusic(bridge, step.where.media.music_on_hold))
    else:
        step.arm(TimerKind.REMINDER, step.where.media.reminder_every)


def _play_started(step: Step, item: i.Input) -> None:
    """Playing: guard its end. Refused: forget it, go on to the music."""
    assert isinstance(item, i.PlayStarted)
    if item.playback_id != step.call.playback_id:
        return  # no longer the one the caller hears
    if item.ok:
        step.arm(TimerKind.PLAYBACK_GUARD, step.view.settings.playback_guard_s)
        return
    step.do(c.Forget(item.playback_id))
    step.set(playback_id=None)
    _music(step)


def _music_started(step: Step, item: i.Input) -> None:
    """Music on (or refused: the reminder still comes): the reminder's timer starts."""
    assert isinstance(item, i.MusicStarted)
    step.set(moh_playing=item.ok)
    step.arm(TimerKind.REMINDER, step.where.media.reminder_every)


def _playback_ended(step: Step, item: i.Input) -> None:
    """The announcement ended: the next one, or the music."""
    assert isinstance(item, i.PlaybackEnded)
    if item.playback_id != step.call.playback_id:
        return  # stopped by its guard already
    if item.failed:
        # Asterisk skips a missing file in silence: the log is where anyone learns of it.
        step.log(
            c.Severity.WARNING,
            "announcement could not be played: is the sound on Asterisk?",
            media=item.media_uri,
        )
    step.do(c.Forget(item.playback_id))
    step.set(playback_id=None)
    step.disarm(TimerKind.PLAYBACK_GUARD)
    _play_next(step)


def _reminder_due(step: Step, item: i.Input) -> None:
    """Time for the reminder (unless an announcement plays)."""
    assert isinstance(item, i.ReminderDue)
    if step.fired(TimerKind.REMINDER, item.token) and step.call.playback_id is None:
        step.set(playlist=(*step.call.playlist, step.where.media.reminder))
        _play_next(step)


def _playback_guard(step: Step, item: i.Input) -> None:
    """An announcement never ended (an unsupported URI gives no PlaybackFinished): stop it,
    go on."""
    assert isinstance(item, i.PlaybackGuardFired)
    playback_id = step.call.playback_id
    if not step.fired(TimerKind.PLAYBACK_GUARD, item.token) or playback_id is None:
        return
    step.set(playback_id=None)
    step.do(c.Forget(playback_id), c.StopPlayback(playback_id))
    step.log(c.Severity.WARNING, "announcement did not finish; going on", playback_id=playback_id)
    _play_next(step)


def _resume(step: Step, item: i.Input) -> None:
    """Events were lost: ask whether the announcement still plays, or restart the music."""
    assert isinstance(item, i.Resume)
    if step.call.state is S.WAITING:
        step.journal(JournalKind.RECOVERED, reason="waiting; rebuilt from Asterisk")
    _resume_media(step)
    if step.call.state is S.WAITING:
        step.do(c.Distribute())


def _resume_media(step: Step) -> None:
    # The announcement may have ended unseen: if so, the next one or the music starts now
    # rather than at the playback guard, tens of seconds of silence later.
    playback_id = step.call.playback_id
    if playback_id is not None:
        step.do(c.CheckPlayback(playback_id))
        return
    step.set(moh_playing=False)  # ask again: Asterisk may have lost it (a restart)
    _play_next(step)


def _playback_checked(step: Step, item: i.Input) -> None:
    """Still playing: its end comes on the new stream. Gone: the next step now."""
    assert isinstance(item, i.PlaybackChecked)
    if item.playback_id != step.call.playback_id or item.playing:
        return
    if item.playing is None:
        # Unknown: the playback guard still ends the wait for it.
        step.log(
            c.Severity.WARNING,
            "could not check an announcement after a reconnect",
            error=item.detail,
        )
        return
    step.do(c.Forget(item.playback_id))
    step.set(playback_id=None)
    step.disarm(TimerKind.PLAYBACK_GUARD)
    step.set(moh_playing=False)
    _play_next(step)


def _resume_arrived(step: Step, item: i.Input) -> None:
    """Rebuilt before it was waiting: answer if needed, into the waiting bridge."""
    assert isinstance(item, i.Resume)
    step.journal(JournalKind.RECOVERED, reason="rebuilt from Asterisk before waiting")
    _answer_then_wait(step, item.channel_state)


def _resume_connected(step: Step, item: i.Input) -> None:
    """Rebuilt while talking: the conversation goes on; on record."""
    step.journal(JournalKind.RECOVERED, reason="talking; rebuilt from Asterisk")


# -- moves ---------------------------------------------------------------------------------


def _move(step: Step, item: i.Input) -> None:
    """Tell the policy, journal it, write the new unit on the caller's channel."""
    assert isinstance(item, i.MoveCall)
    step.do(c.PolicyMove(item.move))
    _moved(step, i.CallMoved(item.move))


def _moved(step: Step, item: i.Input) -> None:
    """Journal the move, write the new unit on the caller's channel; same waiting bridge."""
    assert isinstance(item, i.CallMoved)
    move = item.move
    step.journal(
        JournalKind.MOVED,
        reason=move.reason,
        unit=move.to_unit,
        details={"from_unit": move.from_unit, "kind": str(move.kind)},
    )
    step.log(c.Severity.INFO, "call moved", to_unit=move.to_unit, reason=move.reason)
    step.do(c.MarkQueue())


# -- offering a position -------------------------------------------------------------------


def _offer(step: Step, item: i.Input) -> None:
    """Tell the policy (first: no double offer), journal, ring the position on a new leg."""
    assert isinstance(item, i.OfferCall)
    offer = item.offer
    call = step.call
    attempts = call.attempts + 1
    leg_id = step.view.names.operator_leg(call.call_id, attempts)
    step.do(c.PolicyOfferMade(offer.position_id))
    step.set(
        state=S.OFFERED,
        attempts=attempts,
        position_id=offer.position_id,
        leg_id=leg_id,
        picked=item.picked,
    )
    step.journal(JournalKind.PICKED if item.picked else JournalKind.OFFERED, reason=offer.reason)
    step.log(c.Severity.DEBUG, "offering call", position=offer.position_id, leg=leg_id)
    # Subscribe before acting: the leg's events may arrive before the originate's answer.
    step.do(
        c.Register(leg_id),
        c.Originate(leg_id, offer.endpoint, f'"{call.caller_name}" <{call.caller_number}>'),
    )


def _originated(step: Step, item: i.Input) -> None:
    """Ringing: guard it. Refused, or no answer from Asterisk: the offer failed."""
    assert isinstance(item, i.Originated)
    if item.leg_id != step.call.leg_id:
        return
    outcome = item.outcome
    settings = step.view.settings
    if outcome is i.OriginateOutcome.RINGING:
        step.arm(TimerKind.RING_GUARD, settings.ring_timeout_s + settings.ring_guard_s)
    elif outcome is i.OriginateOutcome.ALLOCATION_FAILED:
        # Offline or unknown endpoint: no event will ever come for this leg.
        _offer_failed(step, OfferFailure.UNREACHABLE, "allocation failed")
    elif outcome is i.OriginateOutcome.NO_REPLY:
        # The leg may exist: make sure it does not ring on, and keep the position (it is not
        # known to be unreachable).
        step.do(c.HangUp(item.leg_id))
        _offer_failed(step, OfferFailure.NO_ANSWER, item.detail)
    else:
        _offer_failed(step, OfferFailure.UNREACHABLE, item.detail)


def _leg_destroyed_ringing(step: Step, item: i.Input) -> None:
    """The ringing leg ended: its cause says why the position did not take the call."""
    assert isinstance(item, i.LegDestroyed)
    if item.leg_id != step.call.leg_id:
        return  # a leg given up on earlier
    failure = failure_of_cause(item.cause)
    _offer_failed(step, failure, f"cause {item.cause} ({item.cause_txt})")


def _ring_guard(step: Step, item: i.Input) -> None:
    """Asterisk never said: hang the leg up, the offer failed (no answer)."""
    assert isinstance(item, i.RingGuardFired)
    leg_id = step.call.leg_id
    if not step.fired(TimerKind.RING_GUARD, item.token) or leg_id is None:
        return
    step.do(c.HangUp(leg_id))
    _offer_failed(step, OfferFailure.NO_ANSWER, "no verdict from Asterisk in time")


def _offer_failed(step: Step, failure: OfferFailure, detail: str) -> None:
    """Back in line at the same place; the position is skipped for this call a while."""
    call = step.call
    position_id = call.position_id
    if position_id is None:
        raise MachineError(f"call {call.call_id} has no position to fail")
    if call.leg_id is not None:
        step.do(c.Forget(call.leg_id))
    step.disarm(TimerKind.RING_GUARD)
    step.do(c.PolicyOfferFailed(position_id, failure))
    step.set(state=S.WAITING, position_id=None, leg_id=None)
    step.journal(
        JournalKind.OFFER_FAILED,
        position=position_id,
        reason=f"{position_id}: {failure} ({detail})",
        details={"failure": str(failure)},
    )
    step.log(
        c.Severity.INFO, "position did not take the call", position=position_id, failure=failure
    )
    step.do(c.Distribute())


def _leg_answered(step: Step, item: i.Input) -> None:
    """The operator answered: both into the talk bridge, in one request."""
    assert isinstance(item, i.LegAnswered)
    call = step.call
    if item.leg_id != call.leg_id:
        _late_leg(step, item)
        return
    step.disarm(TimerKind.RING_GUARD)
    talk = step.view.names.talk_bridge(call.call_id)
    step.set(talk_bridge=talk)
    # Both at once: Asterisk adds neither when one is gone, so a caller is never left
    # talking to nobody (nor an operator to a caller who just hung up).
    step.do(c.CreateBridge(talk, "mixing"), c.JoinTalkBridge(talk, item.leg_id))


def _late_leg(step: Step, item: i.Input) -> None:
    """A leg answering when it is no longer wanted (given up on, a duplicate): hang it up."""
    assert isinstance(item, i.LegAnswered)
    if item.leg_id != step.call.leg_id:
        step.do(c.HangUp(item.leg_id))


def _joined_talk_bridge(step: Step, item: i.Input) -> None:
    """Talking: tell the policy, drop the waiting bridge, record. Not joined: is the caller
    still there?"""
    assert isinstance(item, i.JoinedTalkBridge)
    call = step.call
    if not item.ok:
        if call.talk_bridge is not None:
            step.do(c.DestroyBridge(call.talk_bridge))
        step.set(talk_bridge=None)
        step.do(c.CheckCaller())
        return
    position_id = call.position_id
    if position_id is None or call.talk_bridge is None:
        raise MachineError(f"call {call.call_id} joined a talk bridge without a position")
    step.do(c.PolicyConnected(position_id))
    step.set(state=S.CONNECTED, connected_at=step.now)
    step.disarm_all()
    _stop_waiting_media(step)
    settings = step.view.settings
    if settings.recording is Recording.BRIDGE:
        step.do(c.Record(call.talk_bridge, step.view.names.recording(call.call_id)))
    else:
        # With MixMonitor the dialplan records under the same name, from the call's start.
        _connected(step, recorded=settings.recording is Recording.DIALPLAN)


def _recording_started(step: Step, item: i.Input) -> None:
    """On record, recorded or not: a recording failure never costs the call."""
    assert isinstance(item, i.RecordingStarted)
    _connected(step, recorded=item.ok)


def _connected(step: Step, *, recorded: bool) -> None:
    call = step.call
    connected_at = call.connected_at if call.connected_at is not None else step.now
    waited = connected_at - call.arrived_at
    recording = step.view.names.recording(call.call_id)
    step.journal(
        JournalKind.CONNECTED,
        reason=f"{call.position_id} answered after {waited:.0f} s",
        details={"recording": recording if recorded else None, "waited_s": round(waited, 3)},
    )
    step.log(c.Severity.INFO, "call connected", position=call.position_id, recorded=recorded)


def _caller_checked(step: Step, item: i.Input) -> None:
    """Not joined: the operator hung up as they answered (next position), or the caller
    did (the end)."""
    assert isinstance(item, i.CallerChecked)
    leg_id = step.call.leg_id
    if item.present:
        if leg_id is not None:
            step.do(c.HangUp(leg_id))
        _offer_failed(step, OfferFailure.REJECTED, "hung up on answering")
    else:
        _end(step, CallOutcome.ABANDONED, "the caller hung up as the operator answered", "caller")


def _stop_waiting_media(step: Step) -> None:
    """The caller left the waiting bridge: drop it with its music and announcement."""
    call = step.call
    if call.playback_id is not None:
        step.do(c.Forget(call.playback_id))
    step.set(playback_id=None, playlist=(), moh_playing=False, hold_bridge=None)
    if call.hold_bridge is not None:
        step.do(c.DestroyBridge(call.hold_bridge))


# -- ends ----------------------------------------------------------------------------------


def _caller_left(step: Step, item: i.Input) -> None:
    """The caller hung up: answered if they talked, abandoned otherwise."""
    assert isinstance(item, i.CallerLeft)
    if step.call.state is S.CONNECTED:
        _end(step, CallOutcome.ANSWERED, "the caller hung up", "caller")
    else:
        waited = step.now - step.call.arrived_at
        _end(
            step,
            CallOutcome.ABANDONED,
            f"the caller hung up after waiting {waited:.0f} s",
            "caller",
        )


def _operator_left(step: Step, item: i.Input) -> None:
    """The operator's leg ended while talking: the operator hung up, the call ends."""
    assert isinstance(item, i.LegLeft | i.LegDestroyed)
    if item.leg_id != step.call.leg_id:
        return
    _end(step, CallOutcome.ANSWERED, "the operator hung up", "operator")


def _channels_gone(step: Step, item: i.Input) -> None:
    """What the lost events would have said: the caller gone ends the call; the operator gone
    ends a conversation; a ringing leg gone is no answer."""
    assert isinstance(item, i.ChannelsGone)
    state = step.call.state
    if item.caller:
        outcome = CallOutcome.ANSWERED if state is S.CONNECTED else CallOutcome.ABANDONED
        _end(
            step,
            outcome,
            "the caller hung up while the event stream was down",
            "caller",
            at=item.ended_at,
        )
    elif item.leg and state is S.CONNECTED:
        _end(
            step,
            CallOutcome.ANSWERED,
            "the operator hung up while the event stream was down",
            "operator",
        )
    elif item.leg and state is S.OFFERED:
        _offer_failed(step, OfferFailure.NO_ANSWER, "the ringing ended unseen")


def _failed(step: Step, item: i.Input) -> None:
    """A failure must never strand a caller: back to the dialplan, whose fallback rings
    positions directly (asterisk/etc/extensions.conf)."""
    assert isinstance(item, i.Failed)
    step.do(c.HandBack())
    _end(
        step,
        CallOutcome.HANDED_BACK,
        "internal error: handed back to the dialplan fallback",
        "application",
    )


def _end(
    step: Step, outcome: CallOutcome, reason: str, ended_by: str, *, at: float | None = None
) -> None:
    """End the call and leave nothing of it behind in Asterisk; ``at``: when it really
    ended, if before now (its end was not seen)."""
    call = step.call
    where = step.view.where
    previous = call.state
    step.disarm_all()
    step.set(state=S.ENDED)
    # A call without a position leaves the policy at once (no offer can be made for it
    # meanwhile); one with a position frees it only once its leg is hung up, so that the
    # position is never rung again while the old leg still rings.
    holds_position = where is not None and where.position is not None
    if where is not None and not holds_position:
        step.do(c.PolicyEnded())
    if call.leg_id is not None:
        step.do(c.Forget(call.leg_id), c.HangUp(call.leg_id))
    if ended_by == "operator":
        # The end of the operator's call ends the caller's: the only time we hang up.
        step.do(c.HangUp(call.call_id))
    _stop_waiting_media(step)
    if call.talk_bridge is not None:
        step.do(c.DestroyBridge(call.talk_bridge))
    if holds_position:
        step.do(c.PolicyEnded())
    step.journal(
        JournalKind.ENDED,
        unit=where.unit if where else None,
        home_centre=where.home_centre if where else None,
        reason=reason,
        outcome=outcome,
        at=at,
        details={
            "ended_by": ended_by,
            "state": str(previous),
            "waited_s": round((call.connected_at or at or step.now) - call.arrived_at, 3),
        },
    )
    step.log(c.Severity.INFO, "call ended", outcome=outcome, reason=reason)
    talked = where is not None and where.status is CallStatus.CONNECTED
    step.do(c.Finish(where.position if talked and where is not None else None))


# -- after a restart -----------------------------------------------------------------------


def _restored(step: Step, item: i.Input) -> None:
    """Put the call back in the policy as Asterisk shows it, then carry on as if the lost
    events had come: waiting or talking goes on, an operator gone ends the call."""
    assert isinstance(item, i.Restored)
    step.do(c.PolicyRestore(item.policy, step.call.arrived_at))
    if item.state is S.CONNECTED:
        step.set(
            state=S.CONNECTED,
            talk_bridge=item.talk_bridge,
            leg_id=item.leg_id,
            position_id=item.position_id,
        )
        if item.leg_id is None:
            # The operator hung up while we were away: that ends the call.
            step.do(c.Next(i.ChannelsGone(caller=False, leg=True)))
            return
        step.do(c.Register(item.leg_id))
    elif item.state is S.WAITING:
        step.set(state=S.WAITING, hold_bridge=item.hold_bridge)
    step.do(c.Next(i.Resume(item.channel_state)))


# -- the table -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    act: Row
    to: tuple[SessionState, ...]  # the states it may lead to, for the table as documented

    @property
    def summary(self) -> str:
        """The first paragraph of the row's docstring, on one line."""
        return " ".join((self.act.__doc__ or "").split("\n\n")[0].split())


INPUTS: tuple[type[i.Input], ...] = get_args(i.Input)
LIVE = (S.WAITING, S.OFFERED, S.CONNECTED)
HOLDING = (S.WAITING, S.OFFERED)  # in the waiting bridge, hearing announcements and music
_AFTER_ENDING = (S.ENDED,)

TRANSITIONS: dict[tuple[SessionState, type[i.Input]], Transition] = {
    (S.ARRIVED, i.Begin): Transition(_begin, (S.ARRIVED,)),
    (S.ARRIVED, i.Restored): Transition(_restored, (S.ARRIVED, S.WAITING, S.CONNECTED)),
    (S.ARRIVED, i.Resume): Transition(_resume_arrived, (S.ARRIVED,)),
    (S.ARRIVED, i.Answered): Transition(_answered, (S.ARRIVED, S.ENDED)),
    (S.ARRIVED, i.JoinedWaitingBridge): Transition(_joined_waiting_bridge, (S.WAITING, S.ENDED)),
    **{(s, i.Resume): Transition(_resume, (s,)) for s in HOLDING},
    (S.CONNECTED, i.Resume): Transition(_resume_connected, (S.CONNECTED,)),
    **{(s, i.PlayStarted): Transition(_play_started, (s,)) for s in HOLDING},
    **{(s, i.MusicStarted): Transition(_music_started, (s,)) for s in HOLDING},
    **{(s, i.PlaybackEnded): Transition(_playback_ended, (s,)) for s in HOLDING},
    **{(s, i.ReminderDue): Transition(_reminder_due, (s,)) for s in HOLDING},
    **{(s, i.PlaybackGuardFired): Transition(_playback_guard, (s,)) for s in HOLDING},
    **{(s, i.PlaybackChecked): Transition(_playback_checked, (s,)) for s in HOLDING},
    (S.WAITING, i.MoveCall): Transition(_move, (S.WAITING,)),
    **{(s, i.CallMoved): Transition(_moved, (s,)) for s in HOLDING},
    (S.WAITING, i.OfferCall): Transition(_offer, (S.OFFERED,)),
    (S.OFFERED, i.Originated): Transition(_originated, (S.OFFERED, S.WAITING)),
    (S.OFFERED, i.LegDestroyed): Transition(_leg_destroyed_ringing, (S.OFFERED, S.WAITING)),
    (S.OFFERED, i.RingGuardFired): Transition(_ring_guard, (S.OFFERED, S.WAITING)),
    (S.OFFERED, i.LegAnswered): Transition(_leg_answered, (S.OFFERED,)),
    (S.OFFERED, i.JoinedTalkBridge): Transition(_joined_talk_bridge, (S.OFFERED, S.CONNECTED)),
    (S.OFFERED, i.CallerChecked): Transition(_caller_checked, (S.WAITING, S.ENDED)),
    (S.CONNECTED, i.RecordingStarted): Transition(_recording_started, (S.CONNECTED,)),
    **{(s, i.LegAnswered): Transition(_late_leg, (s,)) for s in (S.WAITING, S.CONNECTED)},
    (S.ENDED, i.LegAnswered): Transition(_late_leg, (S.ENDED,)),
    (S.CONNECTED, i.LegLeft): Transition(_operator_left, (S.CONNECTED, S.ENDED)),
    (S.CONNECTED, i.LegDestroyed): Transition(_operator_left, (S.CONNECTED, S.ENDED)),
    **{(s, i.CallerLeft): Transition(_caller_left, _AFTER_ENDING) for s in (S.ARRIVED, *LIVE)},
    (S.WAITING, i.ChannelsGone): Transition(_channels_gone, (S.WAITING, S.ENDED)),
    (S.OFFERED, i.ChannelsGone): Transition(_channels_gone, (S.OFFERED, S.WAITING, S.ENDED)),
    (S.CONNECTED, i.ChannelsGone): Transition(_channels_gone, (S.CONNECTED, S.ENDED)),
    **{
        (s, i.Failed): Transition(_failed, _AFTER_ENDING) for s in (S.ARRIVED, S.WAITING, S.OFFERED)
    },
}
"""Every transition of a call: (state, kind of input) -> what is done."""


def _ignored() -> dict[tuple[SessionState, type[i.Input]], str]:
    reasons: dict[tuple[SessionState, type[i.Input]], str] = {}

    def say(states: tuple[SessionState, ...], kinds: tuple[type[i.Input], ...], why: str) -> None:
        for state, kind in itertools.product(states, kinds):
            reasons[(state, kind)] = why

    after_start = (S.WAITING, S.OFFERED, S.CONNECTED, S.ENDED)
    say(after_start, (i.Begin,), "a caller's StasisStart is taken once, by a new session")
    say(after_start, (i.Restored,), "only a new session is restored")
    say((S.ENDED,), (i.Resume,), "an ended call has nothing to resume")
    say(
        (S.WAITING, S.OFFERED, S.CONNECTED, S.ENDED),
        (i.Answered, i.JoinedWaitingBridge),
        "a result of arriving comes before the call moves on",
    )
    say(
        (S.ARRIVED, S.CONNECTED, S.ENDED),
        (
            i.PlayStarted,
            i.MusicStarted,
            i.PlaybackEnded,
            i.ReminderDue,
            i.PlaybackGuardFired,
            i.PlaybackChecked,
        ),
        "announcements and music are for a caller in the waiting bridge only",
    )
    say(
        (S.ARRIVED, S.CONNECTED, S.ENDED),
        (i.CallMoved,),
        "only a call not yet talking moves with a change of layout",
    )
    say(
        (S.ARRIVED, S.OFFERED, S.CONNECTED, S.ENDED),
        (i.MoveCall,),
        "the overflow pass moves waiting calls only",
    )
    say(
        (S.ARRIVED, S.OFFERED, S.CONNECTED, S.ENDED),
        (i.OfferCall,),
        "only a waiting call is offered: the offer is declined",
    )
    say(
        (S.ARRIVED, S.WAITING, S.CONNECTED, S.ENDED),
        (i.Originated, i.RingGuardFired, i.JoinedTalkBridge, i.CallerChecked),
        "about ringing a position, which the call no longer does",
    )
    say(
        (S.ARRIVED, S.WAITING, S.OFFERED, S.ENDED),
        (i.RecordingStarted,),
        "recording starts once talking",
    )
    say((S.ARRIVED, S.WAITING, S.ENDED), (i.LegDestroyed,), "no leg rings or talks")
    say(
        (S.ARRIVED, S.WAITING, S.OFFERED, S.ENDED),
        (i.LegLeft,),
        "a leg's StasisEnd matters while talking only (a ringing leg ends with its"
        " ChannelDestroyed)",
    )
    say((S.ARRIVED,), (i.LegAnswered,), "no leg is rung before the call waits")
    say((S.ENDED,), (i.CallerLeft,), "the call is over already")
    say(
        (S.ARRIVED, S.ENDED),
        (i.ChannelsGone,),
        "a call still arriving learns it from its own requests; an ended one is over",
    )
    say(
        (S.CONNECTED, S.ENDED),
        (i.Failed,),
        "a conversation goes on untouched; an ended call is over",
    )
    return reasons


IGNORED: dict[tuple[SessionState, type[i.Input]], str] = _ignored()
"""Pairs that mean nothing, on purpose, each with the reason."""


def decide(view: View, item: i.Input) -> Decision:
    """What ``item`` changes for the call in ``view``, and the commands that carry it out."""
    transition = TRANSITIONS.get((view.call.state, type(item)))
    if transition is None:
        return Decision(view.call, (), False)
    step = Step(view, view.call)
    transition.act(step, item)
    return Decision(step.call, tuple(step.commands), True)


def table() -> Iterator[tuple[SessionState, type[i.Input], Transition]]:
    """The rows in the order of the states, then of the inputs (``inputs.Input``)."""
    for state, kind in itertools.product(SessionState, INPUTS):
        transition = TRANSITIONS.get((state, kind))
        if transition is not None:
            yield state, kind, transition


def markdown_table() -> str:
    """The table as docs/calls.md shows it (a test holds the page to it)."""
    lines = ["| state | input | next | what is done |", "| --- | --- | --- | --- |"]
    for state, kind, transition in table():
        to = ", ".join(str(s) for s in transition.to)
        lines.append(f"| {state} | `{kind.__name__}` | {to} | {transition.summary} |")
    return "\n".join(lines)
