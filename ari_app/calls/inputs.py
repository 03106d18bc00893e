"""What a call's machine is told: one small record per kind of input.

Three sources, one queue per call (``session.py``):

- the world: ARI events about the call's channels and playbacks, turned into these records by
  the session (``CallerLeft`` rather than "a StasisEnd whose channel is the caller's");
- the call service: a new call, an offer, a move, a resynchronisation, a restart (``Restored``);
- the executor: the result of a request that decides what comes next (``Answered``,
  ``Originated`` ...), and the session's timers.

Every input is a frozen dataclass; the machine's table is keyed on their types, so a
misspelt kind is a name error, not an input silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ari_app.calls.states import SessionState
from ari_app.vcta import CallStatus, Move, Offer, RoutingDecision

# -- from the call service -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Begin:
    """The caller entered the application (their ``StasisStart``); ``route`` is the policy's
    routing of the call, None when the policy knows the call already."""

    channel_state: str
    route: RoutingDecision | None


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """What the policy is to hold for a call rebuilt after a restart."""

    routing_key: str
    home_centre: str
    unit: str
    status: CallStatus
    position: str | None = None
    hops: int = 0
    overflow: bool = False


@dataclass(frozen=True, slots=True)
class Restored:
    """A caller found in the application with no session (a restart): carry on from what
    Asterisk shows. ``state`` is where the call is (arrived, waiting, connected); a connected
    call found without its operator leg (``leg_id`` None) ended while nobody watched."""

    state: SessionState  # arrived, waiting or connected
    channel_state: str
    policy: PolicyRecord
    hold_bridge: str | None = None
    talk_bridge: str | None = None
    leg_id: str | None = None
    position_id: str | None = None
    arrival_journaled: bool = True  # False: the journal has no arrival for it (a kill's instant)


@dataclass(frozen=True, slots=True)
class Resume:
    """The event stream is back (or a restart found the call): events may have been lost."""

    channel_state: str


@dataclass(frozen=True, slots=True)
class OfferCall:
    """The distribution chose a position for this call (or its operator picked it)."""

    offer: Offer
    picked: bool = False


@dataclass(frozen=True, slots=True)
class MoveCall:
    """Move the call to another unit: the overflow pass moves a waiting call (mutual aid,
    last resort), a duty officer's change of layout any call not yet talking."""

    move: Move


@dataclass(frozen=True, slots=True)
class CallMoved:
    """A new topology moved the call: the policy, rebuilt on it in one piece, already says
    where it waits."""

    move: Move


@dataclass(frozen=True, slots=True)
class ChannelsGone:
    """Found on resynchronisation: channels of this call that no longer exist (their events
    were lost while the event stream was down)."""

    caller: bool
    leg: bool
    ended_at: float | None = None  # the caller's real end, when the dialplan wrote it down


@dataclass(frozen=True, slots=True)
class NodeLost:
    """The Asterisk node carrying this call is lost (its event stream gone for longer than
    the node-down delay): the call's channels ended with it, or can no longer be reached."""

    node: str


@dataclass(frozen=True, slots=True)
class Failed:
    """Handling this call raised: the caller must not be stranded."""

    error: str


# -- from Asterisk's events ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerLeft:
    """The caller's ``StasisEnd``: they hung up (or the dialplan took the call back)."""


@dataclass(frozen=True, slots=True)
class LegAnswered:
    """An operator leg of this call entered the application: its position answered."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class LegLeft:
    """An operator leg's ``StasisEnd``."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class LegDestroyed:
    """An operator leg's ``ChannelDestroyed``, with the Q.850 cause of its end."""

    leg_id: str
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class PlaybackEnded:
    """An announcement's ``PlaybackFinished`` (``failed``: Asterisk could not play it)."""

    playback_id: str
    failed: bool
    media_uri: str


# -- the session's timers ------------------------------------------------------------------


class TimerKind(StrEnum):
    RING_GUARD = "ring_guard"  # Asterisk said nothing about a ringing position for too long
    REMINDER = "reminder"  # time to remind the waiting caller that help is coming
    PLAYBACK_GUARD = "playback_guard"  # an announcement never reported its end
    SETUP_GUARD = "setup_guard"  # a new caller is still not in their waiting bridge


@dataclass(frozen=True, slots=True)
class RingGuardFired:
    """A position rang past its ring timeout and a margin without any word from Asterisk."""

    token: int


@dataclass(frozen=True, slots=True)
class ReminderDue:
    """The caller has heard music for ``reminder_every`` seconds."""

    token: int


@dataclass(frozen=True, slots=True)
class PlaybackGuardFired:
    """An announcement ran past ``playback_guard_s`` without its ``PlaybackFinished``."""

    token: int


@dataclass(frozen=True, slots=True)
class SetupGuardFired:
    """``setup_guard_s`` after the caller's arrival, they are not in their waiting bridge yet
    (answering or bridging them is stuck behind a saturated Asterisk, or our own backlog)."""

    token: int


TimerInput = RingGuardFired | ReminderDue | PlaybackGuardFired | SetupGuardFired

TIMER_INPUTS: dict[TimerKind, type[TimerInput]] = {
    TimerKind.RING_GUARD: RingGuardFired,
    TimerKind.REMINDER: ReminderDue,
    TimerKind.PLAYBACK_GUARD: PlaybackGuardFired,
    TimerKind.SETUP_GUARD: SetupGuardFired,
}


# -- results of requests, fed back by the executor -----------------------------------------


@dataclass(frozen=True, slots=True)
class Answered:
    """The caller's channel was answered (``ok``), or was gone."""

    ok: bool


@dataclass(frozen=True, slots=True)
class JoinedWaitingBridge:
    """The caller is in their waiting bridge (``ok``), or was gone."""

    ok: bool


@dataclass(frozen=True, slots=True)
class PlayStarted:
    """Asterisk accepted to play announcement ``playback_id`` (``ok``), or refused."""

    playback_id: str
    ok: bool


@dataclass(frozen=True, slots=True)
class MusicStarted:
    """Music on hold started on the waiting bridge (``ok``), or was refused."""

    ok: bool


@dataclass(frozen=True, slots=True)
class PlaybackChecked:
    """Asked after a reconnect whether announcement ``playback_id`` still plays: ``playing``
    True or False, None when Asterisk could not say."""

    playback_id: str
    playing: bool | None
    detail: str = ""


class OriginateOutcome(StrEnum):
    RINGING = "ringing"  # accepted (or already created by an attempt that got no answer)
    ALLOCATION_FAILED = "allocation_failed"  # offline or unknown endpoint: no event will come
    NO_REPLY = "no_reply"  # Asterisk never answered: the leg may exist
    REFUSED = "refused"  # any other refusal


@dataclass(frozen=True, slots=True)
class Originated:
    """What became of the request ringing a position."""

    leg_id: str
    outcome: OriginateOutcome
    detail: str = ""


@dataclass(frozen=True, slots=True)
class JoinedTalkBridge:
    """Operator leg and caller were added to the talk bridge in one request (``ok``), or
    neither was (one of them is gone)."""

    ok: bool


@dataclass(frozen=True, slots=True)
class CallerChecked:
    """Whether the caller's channel still exists."""

    present: bool


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    """The talk bridge's recording started (``ok``), or was refused."""

    ok: bool


@dataclass(frozen=True, slots=True)
class HandedBack:
    """The caller was sent back to the dialplan, or ``caller_gone``: Asterisk no longer had
    their channel (they hung up meanwhile)."""

    caller_gone: bool


Input = (
    Begin
    | Restored
    | Resume
    | OfferCall
    | MoveCall
    | CallMoved
    | ChannelsGone
    | NodeLost
    | Failed
    | CallerLeft
    | LegAnswered
    | LegLeft
    | LegDestroyed
    | PlaybackEnded
    | RingGuardFired
    | ReminderDue
    | PlaybackGuardFired
    | SetupGuardFired
    | Answered
    | JoinedWaitingBridge
    | PlayStarted
    | MusicStarted
    | PlaybackChecked
    | Originated
    | JoinedTalkBridge
    | CallerChecked
    | RecordingStarted
    | HandedBack
)
"""Every kind of input a call's machine takes."""
