"""A call arriving: routed, answered, into its waiting bridge; or rebuilt after a restart."""

from __future__ import annotations

from ari_app.calls import commands as c
from ari_app.calls import inputs as i
from ari_app.calls.endings import end, left_early
from ari_app.calls.holding import journal_move, play_next
from ari_app.calls.journal import CallOutcome, JournalKind
from ari_app.calls.step import S, Step, TimerKind
from ari_app.vcta import CallStatus


def begin(step: Step, item: i.Input) -> None:
    """Journal the arrival, put the call in the policy at its routed unit, arm the setup guard,
    answer."""
    assert isinstance(item, i.Begin)
    call = step.call
    journal_arrival(step)
    if item.route is not None:
        step.do(c.PolicyArrived(item.route, call.arrived_at))
        step.journal(JournalKind.ROUTED, reason=item.route.reason)
        step.log(c.Severity.INFO, "call routed", unit=item.route.unit, reason=item.route.reason)
    arm_setup_guard(step)
    answer_then_wait(step, item.channel_state)


def arm_setup_guard(step: Step) -> None:
    guard = step.view.settings.setup_guard_s
    if guard is not None:
        step.arm(TimerKind.SETUP_GUARD, guard)


def journal_arrival(step: Step, reason: str | None = None) -> None:
    # Stamped with the channel's creation, the moment the policy counts waits from, so that
    # the journal's waits and the policy's delays (last resort) agree.
    call = step.call
    step.journal(
        JournalKind.ARRIVED,
        reason=reason,
        details={"routing_key": call.routing_key, "channel_id": call.call_id},
        at=call.arrived_at,
    )


def answer_then_wait(step: Step, channel_state: str) -> None:
    if channel_state != "Up":
        step.do(c.Answer())
    else:
        join_waiting_bridge(step)


def join_waiting_bridge(step: Step) -> None:
    bridge = step.view.names.holding_bridge(step.call.call_id)
    # A mixing bridge, not a "holding" one: Asterisk plays music on hold and each
    # announcement through announcer channels of their own, and a holding bridge admits one
    # announcer at a time. The previous one leaves a moment after its music is stopped or its
    # PlaybackFinished is sent; the next one, joining meanwhile, was refused ("Bridge already
    # has one") although the request was answered 204, leaving the caller in silence.
    step.do(c.CreateBridge(bridge, "mixing"))
    step.set(hold_bridge=bridge)
    step.do(c.JoinWaitingBridge(bridge))


def answered(step: Step, item: i.Input) -> None:
    """Answered: into the waiting bridge. Gone: the call ends, abandoned."""
    assert isinstance(item, i.Answered)
    if item.ok:
        join_waiting_bridge(step)
    else:
        left_early(step)


def joined_waiting_bridge(step: Step, item: i.Input) -> None:
    """In the waiting bridge: the call waits in its unit's queue; announcements start."""
    assert isinstance(item, i.JoinedWaitingBridge)
    if not item.ok:
        left_early(step)
        return
    where = step.where
    if where.status is CallStatus.ROUTED:
        step.do(c.PolicyWaiting())
    step.set(state=S.WAITING)
    step.disarm(TimerKind.SETUP_GUARD)
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
    play_next(step)


def move(step: Step, item: i.Input) -> None:
    """A change of layout moves it before it waits: the policy told (an overflow move it
    refuses: nothing is done), journaled; its channel is marked once it waits."""
    assert isinstance(item, i.MoveCall)
    step.do(c.PolicyMove(item.move))
    journal_move(step, item.move)


def moved(step: Step, item: i.Input) -> None:
    """Moved by a new topology before it waits (the policy is rebuilt moved): journaled; its
    channel is marked once it waits."""
    assert isinstance(item, i.CallMoved)
    journal_move(step, item.move)


def resume_arrived(step: Step, item: i.Input) -> None:
    """Rebuilt before it was waiting: the setup guard armed, answer if needed, into the waiting
    bridge."""
    assert isinstance(item, i.Resume)
    step.journal(JournalKind.RECOVERED, reason="rebuilt from Asterisk before waiting")
    arm_setup_guard(step)
    answer_then_wait(step, item.channel_state)


def setup_guard(step: Step, item: i.Input) -> None:
    """Not in the waiting bridge in time: back to the dialplan, whose fallback rings positions
    directly, rather than silence behind requests Asterisk is slow to take."""
    assert isinstance(item, i.SetupGuardFired)
    if not step.fired(TimerKind.SETUP_GUARD, item.token):
        return
    # The requests it was waiting for were interrupted (``CallSession``, ``_preempt``):
    # the caller is handed back now, and the call ends once Asterisk says whether they were
    # still there.
    step.log(
        c.Severity.WARNING,
        "caller not in a waiting bridge in time: handed back to the dialplan",
        guard_s=step.view.settings.setup_guard_s,
    )
    step.do(c.HandBack(reported=True))


def handed_back(step: Step, item: i.Input) -> None:
    """Handed back by the setup guard: the call ends, handed back (or abandoned, the caller
    gone meanwhile); nothing of it is left in Asterisk."""
    assert isinstance(item, i.HandedBack)
    if item.caller_gone:
        end(step, CallOutcome.ABANDONED, "the caller hung up before waiting", "caller")
        return
    guard = step.view.settings.setup_guard_s
    end(
        step,
        CallOutcome.HANDED_BACK,
        f"not in its waiting bridge {guard:g} s after arriving: handed back to the dialplan"
        " fallback",
        "application",
    )


def restored(step: Step, item: i.Input) -> None:
    """Put the call back in the policy as Asterisk shows it, then carry on as if the lost
    events had come: waiting or talking goes on, an operator gone ends the call."""
    assert isinstance(item, i.Restored)
    if not item.arrival_journaled:
        # Taken in the instant before a kill, its arrival never written: on record now,
        # dated from its channel (the id is the call's: never twice).
        journal_arrival(step, reason="journaled when the call was rebuilt from Asterisk")
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
