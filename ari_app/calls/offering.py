"""Ringing a position and talking: the offer, its outcomes, the answer, the talk bridge and
its recording."""

from __future__ import annotations

from ari_app.calls import commands as c
from ari_app.calls import inputs as i
from ari_app.calls.config import Recording
from ari_app.calls.endings import end, offer_failed, stop_waiting_media
from ari_app.calls.journal import CallOutcome, JournalKind
from ari_app.calls.outcomes import failure_of_cause
from ari_app.calls.step import MachineError, S, Step, TimerKind
from ari_app.vcta import OfferFailure


def offer(step: Step, item: i.Input) -> None:
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


def originated(step: Step, item: i.Input) -> None:
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
        offer_failed(step, OfferFailure.UNREACHABLE, "allocation failed")
    elif outcome is i.OriginateOutcome.NO_REPLY:
        # The leg may exist: make sure it does not ring on, and keep the position (it is not
        # known to be unreachable).
        step.do(c.HangUp(item.leg_id))
        offer_failed(step, OfferFailure.NO_ANSWER, item.detail)
    else:
        offer_failed(step, OfferFailure.UNREACHABLE, item.detail)


def leg_destroyed_ringing(step: Step, item: i.Input) -> None:
    """The ringing leg ended: its cause says why the position did not take the call."""
    assert isinstance(item, i.LegDestroyed)
    if item.leg_id != step.call.leg_id:
        return  # a leg given up on earlier
    failure = failure_of_cause(item.cause)
    offer_failed(step, failure, f"cause {item.cause} ({item.cause_txt})")


def ring_guard(step: Step, item: i.Input) -> None:
    """Asterisk never said: hang the leg up, the offer failed (no answer)."""
    assert isinstance(item, i.RingGuardFired)
    leg_id = step.call.leg_id
    if not step.fired(TimerKind.RING_GUARD, item.token) or leg_id is None:
        return
    step.do(c.HangUp(leg_id))
    offer_failed(step, OfferFailure.NO_ANSWER, "no verdict from Asterisk in time")


def leg_answered(step: Step, item: i.Input) -> None:
    """The operator answered: both into the talk bridge, in one request."""
    assert isinstance(item, i.LegAnswered)
    call = step.call
    if item.leg_id != call.leg_id:
        late_leg(step, item)
        return
    step.disarm(TimerKind.RING_GUARD)
    talk = step.view.names.talk_bridge(call.call_id)
    step.set(talk_bridge=talk)
    # Both at once: Asterisk adds neither when one is gone, so a caller is never left
    # talking to nobody (nor an operator to a caller who just hung up).
    step.do(c.CreateBridge(talk, "mixing"), c.JoinTalkBridge(talk, item.leg_id))


def late_leg(step: Step, item: i.Input) -> None:
    """A leg answering when it is no longer wanted (given up on, a duplicate): hang it up."""
    assert isinstance(item, i.LegAnswered)
    if item.leg_id != step.call.leg_id:
        step.do(c.HangUp(item.leg_id))


def joined_talk_bridge(step: Step, item: i.Input) -> None:
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
    stop_waiting_media(step)
    settings = step.view.settings
    if settings.recording is Recording.BRIDGE:
        step.do(c.Record(call.talk_bridge, step.view.names.recording(call.call_id)))
    else:
        # With MixMonitor the dialplan records under the same name, from the call's start.
        connected(step, recorded=settings.recording is Recording.DIALPLAN)


def recording_started(step: Step, item: i.Input) -> None:
    """On record, recorded or not: a recording failure never costs the call."""
    assert isinstance(item, i.RecordingStarted)
    connected(step, recorded=item.ok)


def connected(step: Step, *, recorded: bool) -> None:
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


def caller_checked(step: Step, item: i.Input) -> None:
    """Not joined: the operator hung up as they answered (next position), or the caller
    did (the end)."""
    assert isinstance(item, i.CallerChecked)
    leg_id = step.call.leg_id
    if item.present:
        if leg_id is not None:
            step.do(c.HangUp(leg_id))
        offer_failed(step, OfferFailure.REJECTED, "hung up on answering")
    else:
        end(step, CallOutcome.ABANDONED, "the caller hung up as the operator answered", "caller")


def resume_connected(step: Step, item: i.Input) -> None:
    """Rebuilt while talking: the conversation goes on; on record."""
    step.journal(JournalKind.RECOVERED, reason="talking; rebuilt from Asterisk")
