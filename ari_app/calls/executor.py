"""Carries a call's commands out (``commands.py``): ARI requests, policy changes, journal,
timers. The machine decides; this does, in the order given, and says what came of it.

The rules about Asterisk live here, not in the machine:

- a request that got no answer (Asterisk busy, connection lost) is sent again after 0.25 s,
  then 1 s, then once more: a surge of calls must slow the application down, not make it give
  up on callers. Requests sent this way are idempotent, or made so (our own ids);
- a request finding the channel gone (404, and 400/409/422 for a channel that is leaving) is
  an outcome, not an error: the command that asked gives a "not ok" input, a clean-up says
  nothing; the caller's own ``StasisEnd`` ends the call;
- a bridge left by an attempt without answer is reused; a leg the originate created although
  its answer was lost (409 on the retry) is ringing.

Anything else raises, and the session hands the caller back to the dialplan.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar, get_args

from ari_app.calls import commands as c
from ari_app.calls import inputs as i
from ari_app.calls.host import EventSink, SessionHost
from ari_app.calls.journal import JournalEntry, entry_id_for
from ari_app.calls.marks import QUEUE_VARIABLE, QueueMark
from ari_app.stasis import (
    AllocationFailed,
    AriConnectionError,
    AriError,
    AriHttpError,
    Conflict,
    NotFound,
    NotPermitted,
    SlotTimeout,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
# Real seconds between attempts of a request that got no answer (then one last attempt).
RETRY_DELAYS_S = (0.25, 1.0)
# Statuses meaning the channel (or what the request is about) is gone or going.
GONE_STATUSES = (400, 404, 409, 422)

_LEVELS = {
    c.Severity.DEBUG: logging.DEBUG,
    c.Severity.INFO: logging.INFO,
    c.Severity.WARNING: logging.WARNING,
}


def is_local(command: c.Command) -> bool:
    """Carried out without awaiting (policy, journal, timers, bookkeeping)."""
    return type(command) in _LOCAL_TYPES


class Executor:
    """The hands of one call's session."""

    def __init__(
        self,
        host: SessionHost,
        call_id: str,
        caller_number: str,
        sink: EventSink,
        deliver: Callable[[i.Input], None],
    ) -> None:
        self.host = host
        self.call_id = call_id
        self.caller_number = caller_number
        self._sink = sink
        self._deliver = deliver
        self._jitter = random.Random(call_id)  # seeded by the call: a run can be replayed
        self._timers: dict[i.TimerKind, asyncio.TimerHandle] = {}
        # The session interrupted the requests in progress to give the caller back: what they
        # still create in Asterisk is to be cleaned up.
        self.given_up = False

    async def run(self, commands: tuple[c.Command, ...]) -> list[i.Input]:
        """Carry ``commands`` out in order; the inputs their results give, in order."""
        results: list[i.Input] = []
        for command in commands:
            if is_local(command):
                result = self.run_local(command)
            else:
                result = await self._request(command)
            if result is not None:
                results.append(result)
        return results

    def run_local(self, command: c.Command) -> i.Input | None:
        """Carry out a command that needs no await (``is_local``)."""
        host = self.host
        match command:
            case c.Journal():
                self._journal(command)
            case c.Log(severity=severity, message=message, fields=fields):
                log.log(_LEVELS[severity], message, extra={"call_id": self.call_id, **fields})
            case c.ArmTimer(kind=kind, seconds=seconds, token=token):
                self._disarm(kind)
                self._timers[kind] = asyncio.get_running_loop().call_later(
                    host.clock.real_seconds(seconds), self._deliver, i.TIMER_INPUTS[kind](token)
                )
            case c.DisarmTimer(kind=kind):
                self._disarm(kind)
            case c.DisarmTimers():
                self.cancel_timers()
            case c.Register(resource_id=resource_id):
                host.register(resource_id, self._sink)
            case c.Forget(resource_id=resource_id):
                host.forget(resource_id)
            case c.Distribute():
                host.policy_changed()
            case c.Next(item=item):
                return item
            case c.Finish(wrap_up=wrap_up):
                host.session_ended(self.call_id, wrap_up)
            case _:
                self._tell_policy(command)
        return None

    def cancel_timers(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def _disarm(self, kind: i.TimerKind) -> None:
        handle = self._timers.pop(kind, None)
        if handle is not None:
            handle.cancel()

    # -- the policy and the journal --------------------------------------------------------

    def _tell_policy(self, command: c.Command) -> None:
        """The only place a call's status in the policy changes (besides a change of layout,
        which moves waiting calls as a whole). Raises ``PolicyStateError``, changing nothing,
        when the change does not fit the state."""
        policy = self.host.policy
        now = self.host.clock.now()
        call_id = self.call_id
        match command:
            case c.PolicyArrived(route=route, arrived_at=arrived_at):
                policy.call_arrived(call_id, route, arrived_at)
            case c.PolicyRestore(record=record, arrived_at=arrived_at):
                policy.restore_call(
                    call_id,
                    routing_key=record.routing_key,
                    home_centre=record.home_centre,
                    unit=record.unit,
                    arrived_at=arrived_at,
                    status=record.status,
                    position=record.position,
                    hops=record.hops,
                    overflow=record.overflow,
                )
            case c.PolicyWaiting():
                policy.call_waiting(call_id, now)
            case c.PolicyOfferMade(position_id=position_id):
                policy.offer_made(call_id, position_id, now)
            case c.PolicyOfferFailed(position_id=position_id, failure=failure):
                policy.offer_failed(call_id, position_id, failure, now)
            case c.PolicyConnected(position_id=position_id):
                policy.call_connected(call_id, position_id, now)
            case c.PolicyEnded():
                if call_id in policy.calls:  # a call that never reached it (restore refused)
                    policy.call_ended(call_id, now)
            case c.PolicyMove(move=move):
                policy.move_call(move, now)
            case _:
                raise TypeError(f"not a command: {command!r}")

    def _journal(self, command: c.Journal) -> None:
        host = self.host
        call = host.policy.calls.get(self.call_id)
        host.journal.record(
            JournalEntry(
                call_id=self.call_id,
                at=host.clock.now() if command.at is None else command.at,
                kind=command.kind,
                unit=command.unit or (call.unit if call else None),
                home_centre=command.home_centre or (call.home_centre if call else None),
                position=command.position,
                caller=self.caller_number,
                reason=command.reason,
                outcome=command.outcome,
                details=dict(command.details),
                entry_id=entry_id_for(self.call_id, command.kind),
            )
        )

    # -- Asterisk ----------------------------------------------------------------------------

    async def _request(self, command: c.Command) -> i.Input | None:
        ari = self.host.ari
        call_id = self.call_id
        match command:
            case c.Answer():
                return i.Answered(await self._try(lambda: ari.channels.answer(call_id)))
            case c.CreateBridge(bridge_id=bridge_id, bridge_type=bridge_type):
                await self._create_bridge(bridge_id, bridge_type)
            case c.JoinWaitingBridge(bridge_id=bridge_id):
                joined = await self._try(
                    lambda: ari.bridges.add_channel(bridge_id, call_id, role="participant")
                )
                return i.JoinedWaitingBridge(joined)
            case c.JoinTalkBridge(bridge_id=bridge_id, leg_id=leg_id):
                joined = await self._try(
                    lambda: ari.bridges.add_channel(bridge_id, [leg_id, call_id])
                )
                return i.JoinedTalkBridge(joined)
            case c.DestroyBridge(bridge_id=bridge_id):
                await self._quietly(lambda: ari.bridges.destroy(bridge_id))
            case c.Originate():
                return await self._originate(command)
            case c.HangUp(channel_id=channel_id):
                await self._quietly(lambda: ari.channels.hangup(channel_id))
            case c.Play(bridge_id=bridge_id, media=media, playback_id=playback_id):
                played = await self._try(
                    lambda: ari.bridges.play(bridge_id, media, playback_id=playback_id)
                )
                return i.PlayStarted(playback_id, played)
            case c.StopPlayback(playback_id=playback_id):
                await self._quietly(lambda: ari.playbacks.stop(playback_id))
            case c.CheckPlayback(playback_id=playback_id):
                return await self._check_playback(playback_id)
            case c.StartMusic(bridge_id=bridge_id, moh_class=moh_class):
                started = await self._try(
                    lambda: ari.bridges.start_moh(bridge_id, moh_class=moh_class)
                )
                return i.MusicStarted(started)
            case c.StopMusic(bridge_id=bridge_id):
                await self._quietly(lambda: ari.bridges.stop_moh(bridge_id))
            case c.Record(bridge_id=bridge_id, name=name):
                settings = self.host.settings
                recorded = await self._try(
                    lambda: ari.bridges.record(
                        bridge_id,
                        name,
                        settings.recording_format,
                        if_exists="overwrite",
                        beep=False,
                        terminate_on="none",
                    )
                )
                return i.RecordingStarted(recorded)
            case c.MarkQueue():
                call = self.host.policy.calls.get(call_id)
                if call is not None:
                    mark = QueueMark(call.unit, call.hops, call.overflow).encode()
                    await self._try(
                        lambda: ari.channels.set_variable(call_id, QUEUE_VARIABLE, mark)
                    )
            case c.CheckCaller():
                try:
                    await ari.channels.get(call_id)
                except NotFound:
                    return i.CallerChecked(False)
                return i.CallerChecked(True)
            case c.HandBack(reported=reported):
                gone = await self._hand_back()
                return i.HandedBack(gone) if reported else None
            case _:
                raise TypeError(f"not a request: {command!r}")
        return None

    async def _hand_back(self) -> bool:
        """Continue the caller in the dialplan at the step after ``Stasis()``, which is the
        fallback (asterisk/etc/extensions.conf); True when Asterisk no longer had the channel.
        Any other failure is logged: the call's end is journaled whatever it says, and a
        caller left in the application is adopted by the next resynchronisation."""
        call_id = self.call_id
        try:
            await self._steady(lambda: self.host.ari.channels.continue_in_dialplan(call_id))
        except AriHttpError as error:
            if error.status in GONE_STATUSES:
                # Gone (or, after an attempt without answer, already handed back by it).
                log.info(
                    "caller gone before being handed back",
                    extra={"call_id": call_id, "status": error.status},
                )
                return True
            self._hand_back_failed(error)
        except Exception as error:
            self._hand_back_failed(error)
        return False

    def _hand_back_failed(self, error: Exception) -> None:
        log.warning(
            "could not hand the caller back to the dialplan",
            extra={"call_id": self.call_id, "error": str(error)},
        )

    async def _originate(self, command: c.Originate) -> i.Input:
        host = self.host
        settings = host.settings
        originate = functools.partial(
            host.ari.channels.originate,
            command.endpoint,
            app=settings.app_name,
            app_args=["offer", self.call_id],
            caller_id=command.caller_id,
            ring_timeout=max(1, round(settings.ring_timeout_s)),
            channel_id=command.leg_id,
            variables={"VCTA_CALL_ID": self.call_id},
        )
        outcome = i.OriginateOutcome.RINGING
        detail = ""
        try:
            await self._steady(originate)
        except Conflict:
            pass  # an attempt that got no answer did create the leg: it is ringing
        except AllocationFailed as error:
            outcome, detail = i.OriginateOutcome.ALLOCATION_FAILED, str(error)
        except AriConnectionError as error:
            outcome, detail = i.OriginateOutcome.NO_REPLY, str(error)
        except AriError as error:
            outcome, detail = i.OriginateOutcome.REFUSED, str(error)
        return i.Originated(command.leg_id, outcome, detail)

    async def _check_playback(self, playback_id: str) -> i.Input:
        try:
            await self._steady(lambda: self.host.ari.playbacks.get(playback_id))
        except NotFound:
            return i.PlaybackChecked(playback_id, False)
        except AriError as error:
            return i.PlaybackChecked(playback_id, None, str(error))
        return i.PlaybackChecked(playback_id, True)

    async def _steady(self, request: Callable[[], Awaitable[T]]) -> T:
        """Send a request again when it got no answer (``RETRY_DELAYS_S``, jittered so that
        calls failing together do not retry together). A request that was never sent (this
        instance may not command, or Asterisk's backlog kept it from its turn) is not sent
        again: that would only add to the backlog."""
        for base in RETRY_DELAYS_S:
            try:
                return await request()
            except (NotPermitted, SlotTimeout):
                raise
            except AriConnectionError as error:
                delay = base * self._jitter.uniform(0.5, 1.5)
                log.warning(
                    "ARI request without answer; trying again",
                    extra={"call_id": self.call_id, "error": str(error), "in_s": delay},
                )
                await asyncio.sleep(delay)
        return await request()

    async def _try(self, request: Callable[[], Awaitable[object]]) -> bool:
        """Run a request where the resource may be gone; False if it was."""
        try:
            await self._steady(request)
        except AriHttpError as error:
            if error.status in GONE_STATUSES:
                log.info(
                    "ARI request refused",
                    extra={"call_id": self.call_id, "status": error.status, "error": error.message},
                )
                return False
            raise
        return True

    async def _create_bridge(self, bridge_id: str, bridge_type: str) -> None:
        """Create one of our bridges; one left by an attempt that got no answer is reused.

        Interrupted (the setup guard gave up on the call), the request may still reach
        Asterisk after the call's clean-up destroyed the bridge: it is let finish, and a
        bridge it made is destroyed then."""
        creating = asyncio.ensure_future(self._create_or_find(bridge_id, bridge_type))
        try:
            await asyncio.shield(creating)
        except asyncio.CancelledError:
            if self.given_up:  # not a shutdown, which leaves calls for the next start
                creating.add_done_callback(functools.partial(self._destroy_late, bridge_id))
            raise

    async def _create_or_find(self, bridge_id: str, bridge_type: str) -> None:
        ari = self.host.ari
        try:
            await self._steady(
                lambda: ari.bridges.create(bridge_type=bridge_type, bridge_id=bridge_id)
            )
        except AriHttpError:
            await self._steady(lambda: ari.bridges.get(bridge_id))  # NotFound: a real failure

    def _destroy_late(self, bridge_id: str, creating: asyncio.Future[None]) -> None:
        if creating.cancelled() or creating.exception() is not None:
            return  # no bridge was made
        destroy = self.host.ari.bridges.destroy
        self.host.spawn(self._quietly(lambda: destroy(bridge_id)), name=f"late-bridge:{bridge_id}")

    async def _quietly(self, request: Callable[[], Awaitable[object]]) -> None:
        """Clean-up request: whatever it says, the call goes on."""
        try:
            await self._steady(request)
        except AriError as error:
            log.debug(
                "clean-up request failed", extra={"call_id": self.call_id, "error": str(error)}
            )


# Every command that is not a request to Asterisk.
_LOCAL_TYPES: frozenset[type] = frozenset(get_args(c.LocalCommand))
