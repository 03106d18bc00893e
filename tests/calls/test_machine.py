"""The call machine as a table, without asyncio or ARI: every (state, input) pair is a row
or ignored on purpose, and every row does what its line of the table says.

Each case is one line: the call as it is, what the policy says of it, the input, and the
commands expected in order with the state reached. A row's commands are the contract the
executor carries out (tests/calls/test_call_life.py and the others hold the executor to it
against the emulator; tests/asterisk against a real Asterisk).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from ari_app.calls import commands as c
from ari_app.calls import inputs as i
from ari_app.calls.config import CallSettings, Recording
from ari_app.calls.executor import is_local
from ari_app.calls.ids import CallNames
from ari_app.calls.journal import CallOutcome, JournalKind
from ari_app.calls.machine import (
    IGNORED,
    INPUTS,
    TRANSITIONS,
    CallData,
    View,
    Where,
    decide,
    markdown_table,
)
from ari_app.calls.states import SessionState
from ari_app.vcta import (
    CallStatus,
    KeyMatch,
    Move,
    MoveKind,
    Offer,
    OfferFailure,
    RoutingDecision,
    WaitingMedia,
)

S = SessionState
NAMES = CallNames("vcta", run="r1")
SETTINGS = CallSettings(app_name="vcta", ring_timeout_s=20.0, ring_guard_s=5.0)
CALL = "1700000000.1"
HOLD = NAMES.holding_bridge(CALL)
TALK = NAMES.talk_bridge(CALL)
LEG = NAMES.operator_leg(CALL, 1)
PB1 = NAMES.playback(CALL, 1)
PB2 = NAMES.playback(CALL, 2)
MEDIA = WaitingMedia(
    welcome="sound:welcome",
    crisis_message=None,
    reminder="sound:reminder",
    reminder_every=30.0,
    music_on_hold="default",
)
ROUTE = RoutingDecision("18", "sdis77", "sdis77", KeyMatch.EXACT, (), "18 is sdis77's")
OFFER = Offer(CALL, "p1", "PJSIP/sdis77-op1", "sdis77", "longest idle")
MOVE = Move(CALL, "sdis77", "sdis91", MoveKind.MUTUAL_AID, "sdis77 saturated")
LAYOUT_MOVE = Move(CALL, "sdis77", "vcta-night", MoveKind.VCTA, "sdis77 is now pooled")
RECORD = i.PolicyRecord("18", "sdis77", "sdis77", CallStatus.WAITING)


def call(**fields: object) -> CallData:
    base = CallData(CALL, "0612345678", "Alice", "18", arrived_at=100.0)
    return replace(base, **fields)  # type: ignore[arg-type]


def waiting(**fields: object) -> CallData:
    """In the waiting bridge, music playing, the reminder armed."""
    defaults: dict[str, object] = {
        "hold_bridge": HOLD,
        "moh_playing": True,
        "playbacks": 1,
        "timers": ((i.TimerKind.REMINDER, 3),),
        "timer_tokens": 3,
    }
    return call(**({"state": S.WAITING} | defaults | fields))


def offered(**fields: object) -> CallData:
    """A position rings: the ring guard armed, music playing in the waiting bridge."""
    defaults: dict[str, object] = {
        "hold_bridge": HOLD,
        "moh_playing": True,
        "playbacks": 1,
        "attempts": 1,
        "position_id": "p1",
        "leg_id": LEG,
        "timers": ((i.TimerKind.REMINDER, 3), (i.TimerKind.RING_GUARD, 4)),
        "timer_tokens": 4,
    }
    return call(**({"state": S.OFFERED} | defaults | fields))


def connected(**fields: object) -> CallData:
    defaults: dict[str, object] = {
        "attempts": 1,
        "position_id": "p1",
        "leg_id": LEG,
        "talk_bridge": TALK,
        "connected_at": 130.0,
    }
    return call(**({"state": S.CONNECTED} | defaults | fields))


def where(
    status: CallStatus = CallStatus.WAITING,
    position: str | None = None,
    hops: int = 0,
    crisis: str | None = None,
) -> Where:
    media = replace(MEDIA, crisis_message=crisis)
    return Where("sdis77", "sdis77", status, position, hops, media)


RINGING = where(CallStatus.OFFERED, "p1")
TALKING = where(CallStatus.CONNECTED, "p1")


@dataclass(frozen=True)
class Case:
    name: str
    call: CallData
    item: i.Input
    commands: list[c.Command]
    state: SessionState
    where: Where | None = field(default_factory=where)
    settings: CallSettings = SETTINGS
    now: float = 110.0

    def decide(self) -> tuple[CallData, list[c.Command]]:
        view = View(self.call, self.now, self.where, self.settings, NAMES)
        decision = decide(view, self.item)
        assert decision.handled
        return decision.call, list(decision.commands)


def ended(
    outcome: CallOutcome,
    reason: str,
    ended_by: str,
    previous: SessionState,
    *,
    waited: float = 10.0,
    wrap_up: str | None = None,
    unit: str | None = "sdis77",
    position: str | None = None,
    at: float | None = None,
) -> list[c.Command]:
    """The journal entry, the log line and the end of the session that close every end."""
    return [
        c.Journal(
            JournalKind.ENDED,
            at=at,
            reason=reason,
            outcome=outcome,
            position=position,
            unit=unit,
            home_centre=unit,
            details={"ended_by": ended_by, "state": str(previous), "waited_s": waited},
        ),
        c.Log(c.Severity.INFO, "call ended", {"outcome": outcome, "reason": reason}),
        c.Finish(wrap_up),
    ]


def lost_with_node(
    outcome: CallOutcome,
    previous: SessionState,
    *,
    waited: float = 10.0,
    wrap_up: str | None = None,
    position: str | None = None,
) -> list[c.Command]:
    """The end of a call whose node is lost: journal naming the node, log, end of session."""
    reason = "Asterisk node paris lost: the call ended with it"
    return [
        c.Journal(
            JournalKind.ENDED,
            reason=reason,
            outcome=outcome,
            position=position,
            unit="sdis77",
            home_centre="sdis77",
            details={
                "ended_by": "node_lost",
                "node": "paris",
                "state": str(previous),
                "waited_s": waited,
            },
        ),
        c.Log(c.Severity.WARNING, "call ended", {"outcome": outcome, "reason": reason}),
        c.Finish(wrap_up),
    ]


def offer_failed(failure: OfferFailure, detail: str) -> list[c.Command]:
    return [
        c.Forget(LEG),
        c.DisarmTimer(i.TimerKind.RING_GUARD),
        c.PolicyOfferFailed("p1", failure),
        c.Journal(
            JournalKind.OFFER_FAILED,
            reason=f"p1: {failure} ({detail})",
            position="p1",
            details={"failure": str(failure)},
        ),
        c.Log(
            c.Severity.INFO,
            "position did not take the call",
            {"position": "p1", "failure": failure},
        ),
        c.Distribute(),
    ]


def moved_entries(move: Move, position: str | None = None) -> list[c.Command]:
    """The journal entry and the log line of a move."""
    return [
        c.Journal(
            JournalKind.MOVED,
            reason=move.reason,
            unit=move.to_unit,
            position=position,
            details={"from_unit": move.from_unit, "kind": str(move.kind)},
        ),
        c.Log(c.Severity.INFO, "call moved", {"to_unit": move.to_unit, "reason": move.reason}),
    ]


ABANDONED_WAITING = "the caller hung up after waiting 10 s"
ARRIVED_ENTRY = c.Journal(
    JournalKind.ARRIVED, at=100.0, details={"routing_key": "18", "channel_id": CALL}
)
JOIN: list[c.Command] = [c.CreateBridge(HOLD, "mixing"), c.JoinWaitingBridge(HOLD)]
GUARD = c.ArmTimer(i.TimerKind.SETUP_GUARD, 5.0, 1)
GUARDED: dict[str, object] = {"timers": ((i.TimerKind.SETUP_GUARD, 1),), "timer_tokens": 1}
HANDED_BACK = "not in its waiting bridge 5 s after arriving: handed back to the dialplan fallback"
MUSIC: list[c.Command] = [c.StartMusic(HOLD, "default")]


def media_cases(state: SessionState) -> list[Case]:
    """Announcements and music behave the same while waiting and while a position rings."""
    base = waiting if state is S.WAITING else offered
    w = where() if state is S.WAITING else RINGING
    playing = base(
        playback_id=PB1,
        moh_playing=False,
        timers=((i.TimerKind.PLAYBACK_GUARD, 9),),
        timer_tokens=9,
    )
    return [
        Case(
            f"{state}: an announcement plays: its guard is armed",
            playing,
            i.PlayStarted(PB1, ok=True),
            [c.ArmTimer(i.TimerKind.PLAYBACK_GUARD, 60.0, 10)],
            state,
            w,
        ),
        Case(
            f"{state}: an announcement refused: forgotten, music instead",
            playing,
            i.PlayStarted(PB1, ok=False),
            [c.Forget(PB1), *MUSIC],
            state,
            w,
        ),
        Case(
            f"{state}: music started: the reminder's timer runs",
            base(moh_playing=False),
            i.MusicStarted(ok=True),
            [c.ArmTimer(i.TimerKind.REMINDER, 30.0, base().timer_tokens + 1)],
            state,
            w,
        ),
        Case(
            f"{state}: the last announcement ended: music",
            playing,
            i.PlaybackEnded(PB1, failed=False, media_uri="sound:welcome"),
            [c.Forget(PB1), c.DisarmTimer(i.TimerKind.PLAYBACK_GUARD), *MUSIC],
            state,
            w,
        ),
        Case(
            f"{state}: the reminder is due while music plays: music stopped, reminder played",
            base(),
            i.ReminderDue(3),
            [c.StopMusic(HOLD), c.Register(PB2), c.Play(HOLD, "sound:reminder", PB2)],
            state,
            w,
        ),
        Case(
            f"{state}: an announcement never ended: stopped, music",
            playing,
            i.PlaybackGuardFired(9),
            [
                c.Forget(PB1),
                c.StopPlayback(PB1),
                c.Log(
                    c.Severity.WARNING,
                    "announcement did not finish; going on",
                    {"playback_id": PB1},
                ),
                *MUSIC,
            ],
            state,
            w,
        ),
        Case(
            f"{state}: after a reconnect the announcement is found gone: music now",
            playing,
            i.PlaybackChecked(PB1, playing=False),
            [c.Forget(PB1), c.DisarmTimer(i.TimerKind.PLAYBACK_GUARD), *MUSIC],
            state,
            w,
        ),
        Case(
            f"{state}: moved with a change of layout: journaled, marked",
            base(),
            i.CallMoved(MOVE),
            [
                c.Journal(
                    JournalKind.MOVED,
                    reason="sdis77 saturated",
                    unit="sdis91",
                    position=base().position_id,
                    details={"from_unit": "sdis77", "kind": "mutual_aid"},
                ),
                c.Log(
                    c.Severity.INFO,
                    "call moved",
                    {"to_unit": "sdis91", "reason": "sdis77 saturated"},
                ),
                c.MarkQueue(),
            ],
            state,
            w,
        ),
    ]


CASES: list[Case] = [
    # -- arriving --------------------------------------------------------------------------
    Case(
        "a new call ringing: journaled, routed in the policy, guarded, answered",
        call(),
        i.Begin("Ring", ROUTE),
        [
            ARRIVED_ENTRY,
            c.PolicyArrived(ROUTE, 100.0),
            c.Journal(JournalKind.ROUTED, reason="18 is sdis77's"),
            c.Log(c.Severity.INFO, "call routed", {"unit": "sdis77", "reason": "18 is sdis77's"}),
            GUARD,
            c.Answer(),
        ],
        S.ARRIVED,
        where=None,
    ),
    Case(
        "a new call already up and known to the policy: straight into its waiting bridge",
        call(),
        i.Begin("Up", None),
        [ARRIVED_ENTRY, GUARD, *JOIN],
        S.ARRIVED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "answered: into the waiting bridge",
        call(),
        i.Answered(ok=True),
        JOIN,
        S.ARRIVED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "gone before the answer: abandoned, the policy told first",
        call(),
        i.Answered(ok=False),
        [
            c.DisarmTimers(),
            c.PolicyEnded(),
            *ended(CallOutcome.ABANDONED, "the caller hung up before waiting", "caller", S.ARRIVED),
        ],
        S.ENDED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "in the waiting bridge: waits in the policy first, then the welcome",
        call(hold_bridge=HOLD, **GUARDED),
        i.JoinedWaitingBridge(ok=True),
        [
            c.PolicyWaiting(),
            c.DisarmTimer(i.TimerKind.SETUP_GUARD),
            c.Journal(JournalKind.WAITING),
            c.Log(c.Severity.DEBUG, "call waiting", {"unit": "sdis77"}),
            c.Distribute(),
            c.Register(PB1),
            c.Play(HOLD, "sound:welcome", PB1),
        ],
        S.WAITING,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "in the waiting bridge after a move, a crisis set: marked, the crisis message first",
        call(hold_bridge=HOLD, **GUARDED),
        i.JoinedWaitingBridge(ok=True),
        [
            c.PolicyWaiting(),
            c.DisarmTimer(i.TimerKind.SETUP_GUARD),
            c.Journal(JournalKind.WAITING),
            c.Log(c.Severity.DEBUG, "call waiting", {"unit": "sdis77"}),
            c.MarkQueue(),
            c.Distribute(),
            c.Register(PB1),
            c.Play(HOLD, "sound:crisis", PB1),
        ],
        S.WAITING,
        where=where(CallStatus.ROUTED, hops=1, crisis="sound:crisis"),
    ),
    Case(
        "gone before joining its bridge: abandoned, the bridge destroyed",
        call(hold_bridge=HOLD),
        i.JoinedWaitingBridge(ok=False),
        [
            c.DisarmTimers(),
            c.PolicyEnded(),
            c.DestroyBridge(HOLD),
            *ended(CallOutcome.ABANDONED, "the caller hung up before waiting", "caller", S.ARRIVED),
        ],
        S.ENDED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "hangs up while arriving: abandoned",
        call(),
        i.CallerLeft(),
        [
            c.DisarmTimers(),
            c.PolicyEnded(),
            *ended(CallOutcome.ABANDONED, ABANDONED_WAITING, "caller", S.ARRIVED),
        ],
        S.ENDED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "a failure while arriving: handed back to the dialplan, journaled",
        call(),
        i.Failed("boom"),
        [
            c.HandBack(),
            c.DisarmTimers(),
            *ended(
                CallOutcome.HANDED_BACK,
                "internal error: handed back to the dialplan fallback",
                "application",
                S.ARRIVED,
                unit=None,
            ),
        ],
        S.ENDED,
        where=None,
    ),
    Case(
        "not in the waiting bridge when the setup guard fires: handed back to the dialplan",
        call(hold_bridge=HOLD, **GUARDED),
        i.SetupGuardFired(1),
        [
            c.Log(
                c.Severity.WARNING,
                "caller not in a waiting bridge in time: handed back to the dialplan",
                {"guard_s": 5.0},
            ),
            c.HandBack(reported=True),
        ],
        S.ARRIVED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "handed back by the guard: journaled handed back, the policy told, the bridge destroyed",
        call(hold_bridge=HOLD),
        i.HandedBack(caller_gone=False),
        [
            c.DisarmTimers(),
            c.PolicyEnded(),
            c.DestroyBridge(HOLD),
            *ended(CallOutcome.HANDED_BACK, HANDED_BACK, "application", S.ARRIVED),
        ],
        S.ENDED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "the caller gone when handed back (404): abandoned, nothing left",
        call(),
        i.HandedBack(caller_gone=True),
        [
            c.DisarmTimers(),
            c.PolicyEnded(),
            *ended(CallOutcome.ABANDONED, "the caller hung up before waiting", "caller", S.ARRIVED),
        ],
        S.ENDED,
        where=where(CallStatus.ROUTED),
    ),
    # -- after a restart -------------------------------------------------------------------
    Case(
        "restored talking: the policy holds it connected, the leg is followed, then Resume",
        call(),
        i.Restored(
            S.CONNECTED,
            "Up",
            replace(RECORD, status=CallStatus.CONNECTED, position="p1"),
            talk_bridge=TALK,
            leg_id=LEG,
            position_id="p1",
        ),
        [
            c.PolicyRestore(replace(RECORD, status=CallStatus.CONNECTED, position="p1"), 100.0),
            c.Register(LEG),
            c.Next(i.Resume("Up")),
        ],
        S.CONNECTED,
        where=None,
    ),
    Case(
        "restored in its talk bridge without its operator: ends as if the leg were seen gone",
        call(),
        i.Restored(S.CONNECTED, "Up", replace(RECORD, status=CallStatus.ROUTED), talk_bridge=TALK),
        [
            c.PolicyRestore(replace(RECORD, status=CallStatus.ROUTED), 100.0),
            c.Next(i.ChannelsGone(caller=False, leg=True)),
        ],
        S.CONNECTED,
        where=None,
    ),
    Case(
        "restored waiting, its arrival never written (a kill's instant): journaled first",
        call(),
        i.Restored(S.WAITING, "Up", RECORD, hold_bridge=HOLD, arrival_journaled=False),
        [
            c.Journal(
                JournalKind.ARRIVED,
                at=100.0,
                reason="journaled when the call was rebuilt from Asterisk",
                details={"routing_key": "18", "channel_id": CALL},
            ),
            c.PolicyRestore(RECORD, 100.0),
            c.Next(i.Resume("Up")),
        ],
        S.WAITING,
        where=None,
    ),
    Case(
        "restored waiting in its bridge",
        call(),
        i.Restored(S.WAITING, "Up", RECORD, hold_bridge=HOLD),
        [c.PolicyRestore(RECORD, 100.0), c.Next(i.Resume("Up"))],
        S.WAITING,
        where=None,
    ),
    Case(
        "restored before waiting",
        call(),
        i.Restored(S.ARRIVED, "Ring", replace(RECORD, status=CallStatus.ROUTED)),
        [
            c.PolicyRestore(replace(RECORD, status=CallStatus.ROUTED), 100.0),
            c.Next(i.Resume("Ring")),
        ],
        S.ARRIVED,
        where=None,
    ),
    Case(
        "resumed before waiting: on record, answered",
        call(),
        i.Resume("Ring"),
        [
            c.Journal(JournalKind.RECOVERED, reason="rebuilt from Asterisk before waiting"),
            GUARD,
            c.Answer(),
        ],
        S.ARRIVED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "resumed waiting, no announcement: on record, the music asked again, distribution",
        waiting(),
        i.Resume("Up"),
        [
            c.Journal(JournalKind.RECOVERED, reason="waiting; rebuilt from Asterisk"),
            *MUSIC,
            c.Distribute(),
        ],
        S.WAITING,
    ),
    Case(
        "resumed ringing, an announcement playing: Asterisk is asked whether it still plays",
        offered(playback_id=PB1),
        i.Resume("Up"),
        [c.CheckPlayback(PB1)],
        S.OFFERED,
        where=RINGING,
    ),
    Case(
        "resumed talking: on record",
        connected(),
        i.Resume("Up"),
        [c.Journal(JournalKind.RECOVERED, reason="talking; rebuilt from Asterisk", position="p1")],
        S.CONNECTED,
        where=TALKING,
    ),
    # -- waiting ---------------------------------------------------------------------------
    *media_cases(S.WAITING),
    *media_cases(S.OFFERED),
    Case(
        "moved by the overflow pass: the policy told first, journaled at the new unit",
        waiting(),
        i.MoveCall(MOVE),
        [
            c.PolicyMove(MOVE),
            c.Journal(
                JournalKind.MOVED,
                reason="sdis77 saturated",
                unit="sdis91",
                details={"from_unit": "sdis77", "kind": "mutual_aid"},
            ),
            c.Log(
                c.Severity.INFO, "call moved", {"to_unit": "sdis91", "reason": "sdis77 saturated"}
            ),
            c.MarkQueue(),
        ],
        S.WAITING,
    ),
    Case(
        "ringing, moved with a change of layout: the policy told first, rings on",
        offered(),
        i.MoveCall(LAYOUT_MOVE),
        [c.PolicyMove(LAYOUT_MOVE), *moved_entries(LAYOUT_MOVE, position="p1"), c.MarkQueue()],
        S.OFFERED,
        where=RINGING,
    ),
    Case(
        "still arriving, moved with a change of layout: the policy told, journaled, not marked",
        call(),
        i.MoveCall(LAYOUT_MOVE),
        [c.PolicyMove(LAYOUT_MOVE), *moved_entries(LAYOUT_MOVE)],
        S.ARRIVED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "still arriving, moved by a new topology: journaled only (the policy is rebuilt)",
        call(),
        i.CallMoved(LAYOUT_MOVE),
        moved_entries(LAYOUT_MOVE),
        S.ARRIVED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "offered: the policy told first, the leg followed before it is originated",
        waiting(),
        i.OfferCall(OFFER),
        [
            c.PolicyOfferMade("p1"),
            c.Journal(JournalKind.OFFERED, reason="longest idle", position="p1"),
            c.Log(c.Severity.DEBUG, "offering call", {"position": "p1", "leg": LEG}),
            c.Register(LEG),
            c.Originate(LEG, "PJSIP/sdis77-op1", '"Alice" <0612345678>'),
        ],
        S.OFFERED,
    ),
    Case(
        "a stray leg answers a waiting call: hung up",
        waiting(),
        i.LegAnswered("vcta-op-x-1-r0"),
        [c.HangUp("vcta-op-x-1-r0")],
        S.WAITING,
    ),
    Case(
        "hangs up while waiting: abandoned, the policy told first, the bridge destroyed",
        waiting(),
        i.CallerLeft(),
        [
            c.DisarmTimers(),
            c.PolicyEnded(),
            c.DestroyBridge(HOLD),
            *ended(CallOutcome.ABANDONED, ABANDONED_WAITING, "caller", S.WAITING),
        ],
        S.ENDED,
    ),
    Case(
        "found gone while waiting: abandoned at its real end",
        waiting(playback_id=PB1),
        i.ChannelsGone(caller=True, leg=False, ended_at=105.0),
        [
            c.DisarmTimers(),
            c.PolicyEnded(),
            c.Forget(PB1),
            c.DestroyBridge(HOLD),
            *ended(
                CallOutcome.ABANDONED,
                "the caller hung up while the event stream was down",
                "caller",
                S.WAITING,
                waited=5.0,
                at=105.0,
            ),
        ],
        S.ENDED,
    ),
    Case(
        "a failure while waiting: handed back",
        waiting(),
        i.Failed("boom"),
        [
            c.HandBack(),
            c.DisarmTimers(),
            c.PolicyEnded(),
            c.DestroyBridge(HOLD),
            *ended(
                CallOutcome.HANDED_BACK,
                "internal error: handed back to the dialplan fallback",
                "application",
                S.WAITING,
            ),
        ],
        S.ENDED,
    ),
    # -- ringing a position ----------------------------------------------------------------
    Case(
        "the position rings: the ring guard is armed",
        offered(),
        i.Originated(LEG, i.OriginateOutcome.RINGING),
        [c.ArmTimer(i.TimerKind.RING_GUARD, 25.0, 5)],
        S.OFFERED,
        where=RINGING,
    ),
    Case(
        "allocation failed: unreachable, back in line",
        offered(),
        i.Originated(LEG, i.OriginateOutcome.ALLOCATION_FAILED, "Allocation failed"),
        offer_failed(OfferFailure.UNREACHABLE, "allocation failed"),
        S.WAITING,
        where=RINGING,
    ),
    Case(
        "no answer to the originate: the leg hung up in case, no answer",
        offered(),
        i.Originated(LEG, i.OriginateOutcome.NO_REPLY, "timeout"),
        [c.HangUp(LEG), *offer_failed(OfferFailure.NO_ANSWER, "timeout")],
        S.WAITING,
        where=RINGING,
    ),
    Case(
        "the originate refused: unreachable",
        offered(),
        i.Originated(LEG, i.OriginateOutcome.REFUSED, "400 bad endpoint"),
        offer_failed(OfferFailure.UNREACHABLE, "400 bad endpoint"),
        S.WAITING,
        where=RINGING,
    ),
    Case(
        "the leg ends busy (cause 17)",
        offered(),
        i.LegDestroyed(LEG, 17, "User busy"),
        offer_failed(OfferFailure.BUSY, "cause 17 (User busy)"),
        S.WAITING,
        where=RINGING,
    ),
    Case(
        "the ring guard fires: the leg hung up, no answer",
        offered(),
        i.RingGuardFired(4),
        [c.HangUp(LEG), *offer_failed(OfferFailure.NO_ANSWER, "no verdict from Asterisk in time")],
        S.WAITING,
        where=RINGING,
    ),
    Case(
        "the operator answers: both into the talk bridge in one request",
        offered(),
        i.LegAnswered(LEG),
        [
            c.DisarmTimer(i.TimerKind.RING_GUARD),
            c.CreateBridge(TALK, "mixing"),
            c.JoinTalkBridge(TALK, LEG),
        ],
        S.OFFERED,
        where=RINGING,
    ),
    Case(
        "a leg of an earlier attempt answers: hung up",
        offered(),
        i.LegAnswered("vcta-op-old"),
        [c.HangUp("vcta-op-old")],
        S.OFFERED,
        where=RINGING,
    ),
    Case(
        "talking (recorded by the application): connected in the policy, bridge recorded",
        offered(talk_bridge=TALK, playback_id=PB1),
        i.JoinedTalkBridge(ok=True),
        [
            c.PolicyConnected("p1"),
            c.DisarmTimers(),
            c.Forget(PB1),
            c.DestroyBridge(HOLD),
            c.Record(TALK, CALL),
        ],
        S.CONNECTED,
        where=RINGING,
        settings=replace(SETTINGS, recording=Recording.BRIDGE),
    ),
    Case(
        "talking (recorded by the dialplan): on record at once, under the call's name",
        offered(talk_bridge=TALK),
        i.JoinedTalkBridge(ok=True),
        [
            c.PolicyConnected("p1"),
            c.DisarmTimers(),
            c.DestroyBridge(HOLD),
            c.Journal(
                JournalKind.CONNECTED,
                reason="p1 answered after 10 s",
                position="p1",
                details={"recording": CALL, "waited_s": 10.0},
            ),
            c.Log(c.Severity.INFO, "call connected", {"position": "p1", "recorded": True}),
        ],
        S.CONNECTED,
        where=RINGING,
        settings=replace(SETTINGS, recording=Recording.DIALPLAN),
    ),
    Case(
        "not joined: the talk bridge destroyed, is the caller still there?",
        offered(talk_bridge=TALK),
        i.JoinedTalkBridge(ok=False),
        [c.DestroyBridge(TALK), c.CheckCaller()],
        S.OFFERED,
        where=RINGING,
    ),
    Case(
        "the caller is there: the operator hung up on answering, next position",
        offered(),
        i.CallerChecked(present=True),
        [c.HangUp(LEG), *offer_failed(OfferFailure.REJECTED, "hung up on answering")],
        S.WAITING,
        where=RINGING,
    ),
    Case(
        "the caller is gone: abandoned, the position freed after its leg is hung up",
        offered(),
        i.CallerChecked(present=False),
        [
            c.DisarmTimers(),
            c.Forget(LEG),
            c.HangUp(LEG),
            c.DestroyBridge(HOLD),
            c.PolicyEnded(),
            *ended(
                CallOutcome.ABANDONED,
                "the caller hung up as the operator answered",
                "caller",
                S.OFFERED,
                position="p1",
            ),
        ],
        S.ENDED,
        where=RINGING,
    ),
    Case(
        "the ringing leg found gone after a reconnect: no answer",
        offered(),
        i.ChannelsGone(caller=False, leg=True),
        offer_failed(OfferFailure.NO_ANSWER, "the ringing ended unseen"),
        S.WAITING,
        where=RINGING,
    ),
    Case(
        "hangs up while a position rings: the leg hung up, then the position freed",
        offered(),
        i.CallerLeft(),
        [
            c.DisarmTimers(),
            c.Forget(LEG),
            c.HangUp(LEG),
            c.DestroyBridge(HOLD),
            c.PolicyEnded(),
            *ended(CallOutcome.ABANDONED, ABANDONED_WAITING, "caller", S.OFFERED, position="p1"),
        ],
        S.ENDED,
        where=RINGING,
    ),
    Case(
        "a failure while ringing: handed back",
        offered(),
        i.Failed("boom"),
        [
            c.HandBack(),
            c.DisarmTimers(),
            c.Forget(LEG),
            c.HangUp(LEG),
            c.DestroyBridge(HOLD),
            c.PolicyEnded(),
            *ended(
                CallOutcome.HANDED_BACK,
                "internal error: handed back to the dialplan fallback",
                "application",
                S.OFFERED,
                position="p1",
            ),
        ],
        S.ENDED,
        where=RINGING,
    ),
    # -- talking ---------------------------------------------------------------------------
    Case(
        "the recording started: on record with its name",
        connected(),
        i.RecordingStarted(ok=True),
        [
            c.Journal(
                JournalKind.CONNECTED,
                reason="p1 answered after 30 s",
                position="p1",
                details={"recording": CALL, "waited_s": 30.0},
            ),
            c.Log(c.Severity.INFO, "call connected", {"position": "p1", "recorded": True}),
        ],
        S.CONNECTED,
        where=TALKING,
    ),
    Case(
        "the recording refused: on record without one, the call goes on",
        connected(),
        i.RecordingStarted(ok=False),
        [
            c.Journal(
                JournalKind.CONNECTED,
                reason="p1 answered after 30 s",
                position="p1",
                details={"recording": None, "waited_s": 30.0},
            ),
            c.Log(c.Severity.INFO, "call connected", {"position": "p1", "recorded": False}),
        ],
        S.CONNECTED,
        where=TALKING,
    ),
    Case(
        "a duplicate answer of the talking leg: nothing",
        connected(),
        i.LegAnswered(LEG),
        [],
        S.CONNECTED,
        where=TALKING,
    ),
    Case(
        "the operator hangs up: the caller hung up too (the only time), wrap-up",
        connected(),
        i.LegLeft(LEG),
        [
            c.DisarmTimers(),
            c.Forget(LEG),
            c.HangUp(LEG),
            c.HangUp(CALL),
            c.DestroyBridge(TALK),
            c.PolicyEnded(),
            *ended(
                CallOutcome.ANSWERED,
                "the operator hung up",
                "operator",
                S.CONNECTED,
                waited=30.0,
                wrap_up="p1",
                position="p1",
            ),
        ],
        S.ENDED,
        where=TALKING,
    ),
    Case(
        "the talking leg destroyed: the operator hung up",
        connected(),
        i.LegDestroyed(LEG, 16, "Normal Clearing"),
        [
            c.DisarmTimers(),
            c.Forget(LEG),
            c.HangUp(LEG),
            c.HangUp(CALL),
            c.DestroyBridge(TALK),
            c.PolicyEnded(),
            *ended(
                CallOutcome.ANSWERED,
                "the operator hung up",
                "operator",
                S.CONNECTED,
                waited=30.0,
                wrap_up="p1",
                position="p1",
            ),
        ],
        S.ENDED,
        where=TALKING,
    ),
    Case(
        "the caller hangs up while talking: answered, wrap-up",
        connected(),
        i.CallerLeft(),
        [
            c.DisarmTimers(),
            c.Forget(LEG),
            c.HangUp(LEG),
            c.DestroyBridge(TALK),
            c.PolicyEnded(),
            *ended(
                CallOutcome.ANSWERED,
                "the caller hung up",
                "caller",
                S.CONNECTED,
                waited=30.0,
                wrap_up="p1",
                position="p1",
            ),
        ],
        S.ENDED,
        where=TALKING,
    ),
    Case(
        "the operator found gone after a reconnect: ended, the caller hung up",
        connected(),
        i.ChannelsGone(caller=False, leg=True),
        [
            c.DisarmTimers(),
            c.Forget(LEG),
            c.HangUp(LEG),
            c.HangUp(CALL),
            c.DestroyBridge(TALK),
            c.PolicyEnded(),
            *ended(
                CallOutcome.ANSWERED,
                "the operator hung up while the event stream was down",
                "operator",
                S.CONNECTED,
                waited=30.0,
                wrap_up="p1",
                position="p1",
            ),
        ],
        S.ENDED,
        where=TALKING,
    ),
    # -- the node carrying the call lost: nothing asked of it -----------------------------
    Case(
        "node lost while arriving: lost, out of the policy",
        call(),
        i.NodeLost("paris"),
        [c.DisarmTimers(), c.PolicyEnded(), *lost_with_node(CallOutcome.LOST, S.ARRIVED)],
        S.ENDED,
        where=where(CallStatus.ROUTED),
    ),
    Case(
        "node lost while waiting: lost, no bridge destroyed on the lost node",
        waiting(playback_id=PB1),
        i.NodeLost("paris"),
        [
            c.DisarmTimers(),
            c.Forget(PB1),
            c.PolicyEnded(),
            *lost_with_node(CallOutcome.LOST, S.WAITING),
        ],
        S.ENDED,
    ),
    Case(
        "node lost while ringing: the position freed, no hang-up sent",
        offered(),
        i.NodeLost("paris"),
        [
            c.DisarmTimers(),
            c.Forget(LEG),
            c.PolicyEnded(),
            *lost_with_node(CallOutcome.LOST, S.OFFERED, position="p1"),
        ],
        S.ENDED,
        where=RINGING,
    ),
    Case(
        "node lost while talking: answered, the operator in wrap-up",
        connected(),
        i.NodeLost("paris"),
        [
            c.DisarmTimers(),
            c.Forget(LEG),
            c.PolicyEnded(),
            *lost_with_node(
                CallOutcome.ANSWERED, S.CONNECTED, waited=30.0, wrap_up="p1", position="p1"
            ),
        ],
        S.ENDED,
        where=TALKING,
    ),
    # -- over ------------------------------------------------------------------------------
    Case(
        "a leg answering an ended call: hung up",
        call(state=S.ENDED),
        i.LegAnswered(LEG),
        [c.HangUp(LEG)],
        S.ENDED,
        where=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_row_does_what_its_line_says(case: Case) -> None:
    after, commands = case.decide()
    assert commands == case.commands
    assert after.state is case.state


def test_every_state_and_input_is_a_row_or_ignored_on_purpose() -> None:
    pairs = set(itertools.product(SessionState, INPUTS))
    assert set(TRANSITIONS) | set(IGNORED) == pairs
    assert set(TRANSITIONS) & set(IGNORED) == set()
    assert all(reason for reason in IGNORED.values())


def test_every_row_has_a_case_here() -> None:
    covered = {(case.call.state, type(case.item)) for case in CASES}
    assert set(TRANSITIONS) - covered == set()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_row_leads_only_to_the_states_the_table_shows(case: Case) -> None:
    after, _ = case.decide()
    assert after.state in TRANSITIONS[(case.call.state, type(case.item))].to


RESULT_GIVING = (
    c.Answer,
    c.JoinWaitingBridge,
    c.JoinTalkBridge,
    c.Originate,
    c.Play,
    c.CheckPlayback,
    c.StartMusic,
    c.Record,
    c.CheckCaller,
    c.Next,
)


def gives_a_result(command: c.Command) -> bool:
    return isinstance(command, RESULT_GIVING) or (
        isinstance(command, c.HandBack) and command.reported
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_command_giving_a_result_comes_last_but_for_bookkeeping(case: Case) -> None:
    # Its result is decided once the decision's commands are carried out: nothing may be
    # asked of Asterisk after it that the result would change.
    _, commands = case.decide()
    giving = [n for n, command in enumerate(commands) if gives_a_result(command)]
    assert len(giving) <= 1
    if giving:
        assert all(is_local(command) for command in commands[giving[0] + 1 :])


SAMPLES: dict[type[i.Input], i.Input] = {type(case.item): case.item for case in CASES} | {
    i.LegLeft: i.LegLeft(LEG),
}


def test_every_kind_of_input_has_a_sample() -> None:
    assert set(INPUTS) - set(SAMPLES) == set()


@pytest.mark.parametrize(("state", "kind"), sorted(IGNORED, key=str))
def test_an_ignored_pair_changes_nothing(state: SessionState, kind: type[i.Input]) -> None:
    before = offered(state=state, talk_bridge=TALK)
    decision = decide(View(before, 110.0, RINGING, SETTINGS, NAMES), SAMPLES[kind])
    assert decision == (before, (), False)


def test_stale_inputs_are_rows_that_decide_nothing() -> None:
    stale: list[tuple[CallData, i.Input]] = [
        (waiting(), i.ReminderDue(2)),  # replaced by a later reminder
        (waiting(playback_id=PB2), i.PlaybackEnded(PB1, False, "sound:welcome")),
        (offered(), i.RingGuardFired(1)),
        (offered(), i.LegDestroyed("vcta-op-old", 17, "User busy")),
        (offered(), i.Originated("vcta-op-old", i.OriginateOutcome.RINGING)),
        (connected(), i.LegLeft("vcta-op-old")),
        (call(timers=((i.TimerKind.SETUP_GUARD, 2),), timer_tokens=2), i.SetupGuardFired(1)),
    ]
    for before, item in stale:
        decision = decide(View(before, 110.0, RINGING, SETTINGS, NAMES), item)
        assert decision.handled
        assert decision.commands == ()
        assert decision.call.state is before.state


def test_the_guard_firing_as_the_caller_reaches_the_waiting_bridge_changes_nothing() -> None:
    # The guard's input may already be queued when the caller's joining is decided: that
    # decision disarms the guard, and the input then finds the call waiting.
    arriving = call(hold_bridge=HOLD, **GUARDED)
    joined = decide(
        View(arriving, 104.9, where(CallStatus.ROUTED), SETTINGS, NAMES),
        i.JoinedWaitingBridge(ok=True),
    )
    assert joined.call.state is S.WAITING
    assert all(kind is not i.TimerKind.SETUP_GUARD for kind, _ in joined.call.timers)
    late = decide(View(joined.call, 105.0, where(), SETTINGS, NAMES), i.SetupGuardFired(1))
    assert late == (joined.call, (), False)


def test_no_guard_is_armed_when_the_setting_is_off() -> None:
    unguarded = replace(SETTINGS, setup_guard_s=None)
    decision = decide(View(call(), 100.0, None, unguarded, NAMES), i.Begin("Ring", ROUTE))
    assert not any(isinstance(command, c.ArmTimer) for command in decision.commands)
    assert decision.call.timers == ()


def test_a_reminder_while_an_announcement_plays_is_spent_and_plays_nothing() -> None:
    before = waiting(playback_id=PB1)
    decision = decide(View(before, 110.0, where(), SETTINGS, NAMES), i.ReminderDue(3))
    assert decision.commands == ()
    assert decision.call.timers == ()


def test_the_welcome_then_the_music_then_the_reminder_and_the_music_again() -> None:
    # What a waiting caller hears, in order: the crisis message, the welcome, the music;
    # at each reminder, the reminder then the music again (vcta.waiting_media).
    view_where = where(CallStatus.ROUTED, crisis="sound:crisis")
    heard: list[str] = []
    now = call(hold_bridge=HOLD)
    item: i.Input | None = i.JoinedWaitingBridge(ok=True)
    for _ in range(12):
        assert item is not None
        decision = decide(View(now, 110.0, view_where, SETTINGS, NAMES), item)
        now = decision.call
        view_where = replace(view_where, status=CallStatus.WAITING)
        item = None
        for command in decision.commands:
            if isinstance(command, c.Play):
                heard.append(command.media)
                item = i.PlaybackEnded(command.playback_id, False, command.media)
            elif isinstance(command, c.StartMusic):
                heard.append("music")
                item = i.MusicStarted(ok=True)
            elif isinstance(command, c.ArmTimer) and command.kind is i.TimerKind.REMINDER:
                item = i.ReminderDue(command.token)
        if len(heard) >= 6:
            break
    assert heard == [
        "sound:crisis",
        "sound:welcome",
        "music",
        "sound:reminder",
        "music",
        "sound:reminder",
    ]


def test_docs_show_the_table_as_it_is() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "calls.md").read_text()
    assert markdown_table() in page
