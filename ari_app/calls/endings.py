"""How a call ends, and the offer that fails: the consequences several rows share, and the
rows of the call's end (the caller or the operator gone, a failure)."""

from __future__ import annotations

from ari_app.calls import commands as c
from ari_app.calls import inputs as i
from ari_app.calls.journal import CallOutcome, JournalKind, JournalValue
from ari_app.calls.step import MachineError, S, Step, TimerKind
from ari_app.vcta import CallStatus, OfferFailure


def left_early(step: Step) -> None:
    """The caller hung up before reaching the waiting bridge."""
    end(step, CallOutcome.ABANDONED, "the caller hung up before waiting", "caller")


def offer_failed(step: Step, failure: OfferFailure, detail: str) -> None:
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


def stop_waiting_media(step: Step) -> None:
    """The caller left the waiting bridge: drop it with its music and announcement."""
    call = step.call
    if call.playback_id is not None:
        step.do(c.Forget(call.playback_id))
    step.set(playback_id=None, playlist=(), moh_playing=False, hold_bridge=None)
    if call.hold_bridge is not None:
        step.do(c.DestroyBridge(call.hold_bridge))


def caller_left(step: Step, item: i.Input) -> None:
    """The caller hung up: answered if they talked, abandoned otherwise."""
    assert isinstance(item, i.CallerLeft)
    if step.call.state is S.CONNECTED:
        end(step, CallOutcome.ANSWERED, "the caller hung up", "caller")
    else:
        waited = step.now - step.call.arrived_at
        end(
            step,
            CallOutcome.ABANDONED,
            f"the caller hung up after waiting {waited:.0f} s",
            "caller",
        )


def operator_left(step: Step, item: i.Input) -> None:
    """The operator's leg ended while talking: the operator hung up, the call ends."""
    assert isinstance(item, i.LegLeft | i.LegDestroyed)
    if item.leg_id != step.call.leg_id:
        return
    end(step, CallOutcome.ANSWERED, "the operator hung up", "operator")


def channels_gone(step: Step, item: i.Input) -> None:
    """What the lost events would have said: the caller gone ends the call; the operator gone
    ends a conversation; a ringing leg gone is no answer."""
    assert isinstance(item, i.ChannelsGone)
    state = step.call.state
    if item.caller:
        outcome = CallOutcome.ANSWERED if state is S.CONNECTED else CallOutcome.ABANDONED
        end(
            step,
            outcome,
            "the caller hung up while the event stream was down",
            "caller",
            at=item.ended_at,
        )
    elif item.leg and state is S.CONNECTED:
        end(
            step,
            CallOutcome.ANSWERED,
            "the operator hung up while the event stream was down",
            "operator",
        )
    elif item.leg and state is S.OFFERED:
        offer_failed(step, OfferFailure.NO_ANSWER, "the ringing ended unseen")


def node_lost(step: Step, item: i.Input) -> None:
    """The call's Asterisk node is lost, and the call with it: out of the policy (its
    position freed), journaled ended naming the node; nothing is asked of the lost node."""
    assert isinstance(item, i.NodeLost)
    call = step.call
    where = step.view.where
    previous = call.state
    step.disarm_all()
    for resource in (call.leg_id, call.playback_id):
        if resource is not None:
            step.do(c.Forget(resource))
    step.set(
        state=S.ENDED,
        leg_id=None,
        playback_id=None,
        playlist=(),
        moh_playing=False,
        hold_bridge=None,
        talk_bridge=None,
    )
    if where is not None:
        step.do(c.PolicyEnded())
    outcome = CallOutcome.ANSWERED if previous is S.CONNECTED else CallOutcome.LOST
    reason = f"Asterisk node {item.node} lost: the call ended with it"
    close(
        step,
        previous,
        outcome,
        reason,
        "node_lost",
        severity=c.Severity.WARNING,
        node=item.node,
    )


def failed(step: Step, item: i.Input) -> None:
    """A failure must never strand a caller: back to the dialplan, whose fallback rings
    positions directly (asterisk/etc/extensions.conf)."""
    assert isinstance(item, i.Failed)
    step.do(c.HandBack())
    end(
        step,
        CallOutcome.HANDED_BACK,
        "internal error: handed back to the dialplan fallback",
        "application",
    )


def end(
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
    stop_waiting_media(step)
    if call.talk_bridge is not None:
        step.do(c.DestroyBridge(call.talk_bridge))
    if holds_position:
        step.do(c.PolicyEnded())
    close(step, previous, outcome, reason, ended_by, at=at)


def close(
    step: Step,
    previous: S,
    outcome: CallOutcome,
    reason: str,
    ended_by: str,
    *,
    at: float | None = None,
    severity: c.Severity = c.Severity.INFO,
    node: str | None = None,
) -> None:
    """Journal and log the end of a call that was ``previous``, and finish its session
    (its position to wrap-up if it talked); ``node``: the node it was lost with."""
    call = step.call
    where = step.view.where
    details: dict[str, JournalValue] = {"ended_by": ended_by}
    if node is not None:
        details["node"] = node
    details["state"] = str(previous)
    details["waited_s"] = round((call.connected_at or at or step.now) - call.arrived_at, 3)
    step.journal(
        JournalKind.ENDED,
        unit=where.unit if where else None,
        home_centre=where.home_centre if where else None,
        reason=reason,
        outcome=outcome,
        at=at,
        details=details,
    )
    step.log(severity, "call ended", outcome=outcome, reason=reason)
    talked = where is not None and where.status is CallStatus.CONNECTED
    step.do(c.Finish(where.position if talked and where is not None else None))
