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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple, get_args

from ari_app.calls import arriving, endings, holding, offering
from ari_app.calls import commands as c
from ari_app.calls import inputs as i
from ari_app.calls.states import SessionState
from ari_app.calls.step import CallData, MachineError, Row, Step, View, Where

__all__ = ["CallData", "Decision", "MachineError", "View", "Where", "decide"]

S = SessionState


class Decision(NamedTuple):
    call: CallData
    commands: tuple[c.Command, ...]
    handled: bool  # False: the pair is in IGNORED


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
    (S.ARRIVED, i.Begin): Transition(arriving.begin, (S.ARRIVED,)),
    (S.ARRIVED, i.Restored): Transition(arriving.restored, (S.ARRIVED, S.WAITING, S.CONNECTED)),
    (S.ARRIVED, i.Resume): Transition(arriving.resume_arrived, (S.ARRIVED,)),
    (S.ARRIVED, i.Answered): Transition(arriving.answered, (S.ARRIVED, S.ENDED)),
    (S.ARRIVED, i.JoinedWaitingBridge): Transition(
        arriving.joined_waiting_bridge, (S.WAITING, S.ENDED)
    ),
    (S.ARRIVED, i.SetupGuardFired): Transition(arriving.setup_guard, (S.ARRIVED,)),
    (S.ARRIVED, i.HandedBack): Transition(arriving.handed_back, _AFTER_ENDING),
    **{(s, i.Resume): Transition(holding.resume, (s,)) for s in HOLDING},
    (S.CONNECTED, i.Resume): Transition(offering.resume_connected, (S.CONNECTED,)),
    **{(s, i.PlayStarted): Transition(holding.play_started, (s,)) for s in HOLDING},
    **{(s, i.MusicStarted): Transition(holding.music_started, (s,)) for s in HOLDING},
    **{(s, i.PlaybackEnded): Transition(holding.playback_ended, (s,)) for s in HOLDING},
    **{(s, i.ReminderDue): Transition(holding.reminder_due, (s,)) for s in HOLDING},
    **{(s, i.PlaybackGuardFired): Transition(holding.playback_guard, (s,)) for s in HOLDING},
    **{(s, i.PlaybackChecked): Transition(holding.playback_checked, (s,)) for s in HOLDING},
    (S.ARRIVED, i.MoveCall): Transition(arriving.move, (S.ARRIVED,)),
    (S.ARRIVED, i.CallMoved): Transition(arriving.moved, (S.ARRIVED,)),
    **{(s, i.MoveCall): Transition(holding.move, (s,)) for s in HOLDING},
    **{(s, i.CallMoved): Transition(holding.moved, (s,)) for s in HOLDING},
    (S.WAITING, i.OfferCall): Transition(offering.offer, (S.OFFERED,)),
    (S.OFFERED, i.Originated): Transition(offering.originated, (S.OFFERED, S.WAITING)),
    (S.OFFERED, i.LegDestroyed): Transition(offering.leg_destroyed_ringing, (S.OFFERED, S.WAITING)),
    (S.OFFERED, i.RingGuardFired): Transition(offering.ring_guard, (S.OFFERED, S.WAITING)),
    (S.OFFERED, i.LegAnswered): Transition(offering.leg_answered, (S.OFFERED,)),
    (S.OFFERED, i.JoinedTalkBridge): Transition(
        offering.joined_talk_bridge, (S.OFFERED, S.CONNECTED)
    ),
    (S.OFFERED, i.CallerChecked): Transition(offering.caller_checked, (S.WAITING, S.ENDED)),
    (S.CONNECTED, i.RecordingStarted): Transition(offering.recording_started, (S.CONNECTED,)),
    **{(s, i.LegAnswered): Transition(offering.late_leg, (s,)) for s in (S.WAITING, S.CONNECTED)},
    (S.ENDED, i.LegAnswered): Transition(offering.late_leg, (S.ENDED,)),
    (S.CONNECTED, i.LegLeft): Transition(endings.operator_left, (S.CONNECTED, S.ENDED)),
    (S.CONNECTED, i.LegDestroyed): Transition(endings.operator_left, (S.CONNECTED, S.ENDED)),
    **{
        (s, i.CallerLeft): Transition(endings.caller_left, _AFTER_ENDING)
        for s in (S.ARRIVED, *LIVE)
    },
    (S.WAITING, i.ChannelsGone): Transition(endings.channels_gone, (S.WAITING, S.ENDED)),
    (S.OFFERED, i.ChannelsGone): Transition(endings.channels_gone, (S.OFFERED, S.WAITING, S.ENDED)),
    (S.CONNECTED, i.ChannelsGone): Transition(endings.channels_gone, (S.CONNECTED, S.ENDED)),
    **{(s, i.NodeLost): Transition(endings.node_lost, _AFTER_ENDING) for s in (S.ARRIVED, *LIVE)},
    **{
        (s, i.Failed): Transition(endings.failed, _AFTER_ENDING)
        for s in (S.ARRIVED, S.WAITING, S.OFFERED)
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
        (S.CONNECTED, S.ENDED),
        (i.MoveCall, i.CallMoved),
        "a call talking or over stays where it is",
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
    say(
        (S.WAITING, S.OFFERED, S.CONNECTED, S.ENDED),
        (i.SetupGuardFired,),
        "the caller reached the waiting bridge as the guard fired (it is disarmed there), or"
        " the call is over",
    )
    say(
        (S.WAITING, S.OFFERED, S.CONNECTED, S.ENDED),
        (i.HandedBack,),
        "only the setup guard waits for the hand-back's answer; a failure ends the call at once",
    )
    say((S.ENDED,), (i.CallerLeft,), "the call is over already")
    say((S.ENDED,), (i.NodeLost,), "the call is over already")
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
    step = Step(view)
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
