"""What a call's machine asks for: one small record per kind of command.

The machine (``machine.py``) decides and the executor (``executor.py``) carries out, in the
order given. Three families:

- requests to Asterisk, about the call's own channels, bridges and playbacks. Those whose
  answer decides what comes next name the input the executor feeds back (``Answer`` gives
  ``Answered``); the others are clean-ups, whatever they meet;
- changes to the policy's live state (``Policy...``): the only way a call's status there
  changes;
- bookkeeping done at once, without awaiting: the journal, a log line, the session's timers,
  the service's registry of resources, a distribution pass, the end of the session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ari_app.calls.inputs import Input, PolicyRecord, TimerKind
from ari_app.calls.journal import CallOutcome, JournalKind, JournalValue
from ari_app.vcta import Move, OfferFailure, RoutingDecision

# -- requests to Asterisk ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer the caller's channel. Gives ``Answered``."""


@dataclass(frozen=True, slots=True)
class CreateBridge:
    """Create one of the call's bridges (one left by an attempt without answer is reused)."""

    bridge_id: str
    bridge_type: str = "mixing"


@dataclass(frozen=True, slots=True)
class JoinWaitingBridge:
    """Put the caller in their waiting bridge. Gives ``JoinedWaitingBridge``."""

    bridge_id: str


@dataclass(frozen=True, slots=True)
class JoinTalkBridge:
    """Add the operator leg and the caller to the talk bridge in one request: Asterisk adds
    neither when one is gone. Gives ``JoinedTalkBridge``."""

    bridge_id: str
    leg_id: str


@dataclass(frozen=True, slots=True)
class DestroyBridge:
    bridge_id: str


@dataclass(frozen=True, slots=True)
class Originate:
    """Ring a position on a new operator leg, the call's id in its arguments. Gives
    ``Originated``."""

    leg_id: str
    endpoint: str
    caller_id: str


@dataclass(frozen=True, slots=True)
class HangUp:
    """Hang up one of the call's channels (an operator leg; the caller only when the
    operator's end ends the call)."""

    channel_id: str


@dataclass(frozen=True, slots=True)
class Play:
    """Play an announcement on the waiting bridge. Gives ``PlayStarted``."""

    bridge_id: str
    media: str
    playback_id: str


@dataclass(frozen=True, slots=True)
class StopPlayback:
    playback_id: str


@dataclass(frozen=True, slots=True)
class CheckPlayback:
    """Ask whether an announcement still plays. Gives ``PlaybackChecked``."""

    playback_id: str


@dataclass(frozen=True, slots=True)
class StartMusic:
    """Start music on hold on the waiting bridge. Gives ``MusicStarted``."""

    bridge_id: str
    moh_class: str


@dataclass(frozen=True, slots=True)
class StopMusic:
    bridge_id: str


@dataclass(frozen=True, slots=True)
class Record:
    """Record the talk bridge under ``name``. Gives ``RecordingStarted``."""

    bridge_id: str
    name: str


@dataclass(frozen=True, slots=True)
class MarkQueue:
    """Write on the caller's channel where the policy says the call waits now, for a
    restart to read back (``marks.py``)."""


@dataclass(frozen=True, slots=True)
class CheckCaller:
    """Ask whether the caller's channel still exists. Gives ``CallerChecked``."""


@dataclass(frozen=True, slots=True)
class HandBack:
    """Send the caller back to the dialplan, whose fallback rings positions directly.
    ``reported``: gives ``HandedBack`` (the setup guard's end waits for it; a failure ends the
    call at once, whatever Asterisk says)."""

    reported: bool = False


# -- the policy's live state ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyArrived:
    """A new call, at the unit its routing chose."""

    route: RoutingDecision
    arrived_at: float


@dataclass(frozen=True, slots=True)
class PolicyRestore:
    """A call rebuilt after a restart, as it was, keeping its arrival time."""

    record: PolicyRecord
    arrived_at: float


@dataclass(frozen=True, slots=True)
class PolicyWaiting:
    """The caller is answered and on hold: the call joins its unit's queue."""


@dataclass(frozen=True, slots=True)
class PolicyOfferMade:
    position_id: str


@dataclass(frozen=True, slots=True)
class PolicyOfferFailed:
    position_id: str
    failure: OfferFailure


@dataclass(frozen=True, slots=True)
class PolicyConnected:
    position_id: str


@dataclass(frozen=True, slots=True)
class PolicyEnded:
    """The call is over; its position, if any, is freed (to wrap-up after a talk)."""


@dataclass(frozen=True, slots=True)
class PolicyMove:
    move: Move


PolicyCommand = (
    PolicyArrived
    | PolicyRestore
    | PolicyWaiting
    | PolicyOfferMade
    | PolicyOfferFailed
    | PolicyConnected
    | PolicyEnded
    | PolicyMove
)

# -- bookkeeping ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Journal:
    """One entry of the call's record; unit and home centre default to the policy's when
    written."""

    kind: JournalKind
    at: float | None = None  # None: when written
    reason: str | None = None
    outcome: CallOutcome | None = None
    position: str | None = None
    unit: str | None = None
    home_centre: str | None = None
    details: Mapping[str, JournalValue] = field(default_factory=dict)


class Severity(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Log:
    severity: Severity
    message: str
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ArmTimer:
    """Deliver the timer's input (with ``token``) in ``seconds`` of clock time; replaces a
    timer of the same kind."""

    kind: TimerKind
    seconds: float
    token: int


@dataclass(frozen=True, slots=True)
class DisarmTimer:
    kind: TimerKind


@dataclass(frozen=True, slots=True)
class DisarmTimers:
    """Every timer of the call."""


@dataclass(frozen=True, slots=True)
class Register:
    """Route the events of one of the call's resources (a leg, a playback) to this call, from
    now: before the request that creates it, whose events may come before its answer."""

    resource_id: str


@dataclass(frozen=True, slots=True)
class Forget:
    resource_id: str


@dataclass(frozen=True, slots=True)
class Distribute:
    """Something changed that may allow an offer: run the distribution."""


@dataclass(frozen=True, slots=True)
class Next:
    """Decide ``item`` next, before any other input (a restored call carries on as if its
    events had come)."""

    item: Input


@dataclass(frozen=True, slots=True)
class Finish:
    """The session is over; ``wrap_up`` is the position that talked, to put in wrap-up."""

    wrap_up: str | None


AriCommand = (
    Answer
    | CreateBridge
    | JoinWaitingBridge
    | JoinTalkBridge
    | DestroyBridge
    | Originate
    | HangUp
    | Play
    | StopPlayback
    | CheckPlayback
    | StartMusic
    | StopMusic
    | Record
    | MarkQueue
    | CheckCaller
    | HandBack
)
"""Requests to Asterisk: they are awaited."""

LocalCommand = (
    PolicyCommand
    | Journal
    | Log
    | ArmTimer
    | DisarmTimer
    | DisarmTimers
    | Register
    | Forget
    | Distribute
    | Next
    | Finish
)
"""Carried out at once, between two awaits."""

Command = AriCommand | LocalCommand
