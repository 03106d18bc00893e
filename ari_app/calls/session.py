"""One emergency call, from the moment Asterisk hands it over until it ends: a queue, the
machine (``machine.py``) and an executor (``executor.py``).

Inputs (ARI events about the call's channels and playbacks, the service's offers and moves,
the session's own timers) go through one queue and are taken one at a time by the session's
task, so a call's events are applied in order: the machine decides, the executor carries the
commands out, and an input a command's result gives (the answer was refused: the caller is
gone) is decided next, before the queue's.

An offer, a move of the overflow pass and a restart's ``Restored`` are decided at once
instead (``take``): the distribution decides for many calls in one pass and must see each
decision in the policy before the next, so that no call is offered twice. Their policy
change, journal and bookkeeping are done before ``take`` returns; their requests to Asterisk
queue behind those in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from ari_app.calls import inputs as i
from ari_app.calls.commands import Command, Next
from ari_app.calls.executor import Executor, is_local
from ari_app.calls.host import SessionHost
from ari_app.calls.inputs import CallMoved, ChannelsGone, Input, Resume
from ari_app.calls.machine import CallData, View, Where, decide
from ari_app.calls.states import SessionState
from ari_app.stasis import ChannelDestroyed, Event, PlaybackFinished, StasisEnd, StasisStart
from ari_app.vcta import PolicyStateError, waiting_media

log = logging.getLogger(__name__)

__all__ = ["CallMoved", "CallSession", "ChannelsGone", "Resume", "SessionState"]


@dataclass(frozen=True, slots=True)
class _Decided:
    """Requests of a decision taken at once (``take``), waiting for their turn."""

    commands: tuple[Command, ...]
    ending: bool  # the decision ended the call: carried out even though the call is over


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
        self.call = CallData(call_id, caller_number, caller_name, routing_key, arrived_at)
        self._executor = Executor(host, call_id, caller_number, self, self.deliver)
        self._queue: asyncio.Queue[Input | _Decided | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # While arriving, each input is handled in a task of its own that the setup guard may
        # interrupt: its requests may be stuck behind a saturated Asterisk.
        self._setting_up: asyncio.Task[None] | None = None

    # -- what the service, the resynchronisation and the tests read -----------------------

    @property
    def call_id(self) -> str:
        return self.call.call_id

    @property
    def arrived_at(self) -> float:
        return self.call.arrived_at

    @property
    def state(self) -> SessionState:
        return self.call.state

    @property
    def leg_id(self) -> str | None:
        return self.call.leg_id

    @property
    def position_id(self) -> str | None:
        return self.call.position_id

    @property
    def hold_bridge(self) -> str | None:
        return self.call.hold_bridge

    @property
    def talk_bridge(self) -> str | None:
        return self.call.talk_bridge

    @property
    def playback_id(self) -> str | None:
        return self.call.playback_id

    @property
    def moh_playing(self) -> bool:
        return self.call.moh_playing

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"call-session:{self.call_id}"
        )

    def deliver(self, item: Input) -> None:
        """Queue an input; never blocks. Inputs after the end are dropped by the task."""
        self._queue.put_nowait(item)
        if isinstance(item, i.SetupGuardFired):
            self._preempt(item)
        backlog = self._queue.qsize()
        if backlog > self.host.settings.backlog_warning:
            log.warning(
                "call session falling behind",
                extra={"call_id": self.call_id, "backlog": backlog},
            )

    def on_event(self, event: Event) -> None:
        """Queue what an ARI event about one of the call's resources means for it."""
        item = input_of_event(self.call_id, event)
        if item is not None:
            self.deliver(item)

    def take(self, item: Input) -> bool:
        """Decide ``item`` now (an offer, a move, a restart); False when the call declines it
        (not in a state for it) or the policy refuses it (nothing is then changed)."""
        decision = decide(self._view(), item)
        if not decision.handled:
            log.debug(
                "input declined in this state",
                extra={"call_id": self.call_id, "state": self.state, "input": _name(item)},
            )
            return False
        commands = list(decision.commands)
        # The policy's change comes first in such a decision: refused, nothing happened.
        if commands and is_local(commands[0]) and not isinstance(commands[0], Next):
            try:
                self._executor.run_local(commands[0])
            except PolicyStateError as error:
                log.error(
                    "the policy refused a change of the call",
                    extra={"call_id": self.call_id, "input": _name(item), "error": str(error)},
                )
                return False
            del commands[0]
        self.call = decision.call
        while commands and is_local(commands[0]):
            following = self._executor.run_local(commands.pop(0))
            if following is not None:  # a Next: decided now too, and last of its decision
                self.take(following)
        if commands:
            self._queue.put_nowait(
                _Decided(tuple(commands), decision.call.state is SessionState.ENDED)
            )
        elif self.state is SessionState.ENDED:
            self._queue.put_nowait(None)  # nothing left to carry out: the task stops
        return True

    async def stop(self) -> None:
        """Stop handling inputs (shutdown); the call itself stays in Asterisk."""
        self._executor.cancel_timers()
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
            if self.state is SessionState.ARRIVED and self.host.settings.setup_guard_s:
                await self._interruptibly(item)
            else:
                await self._safely(item)
            if self.state is SessionState.ENDED:
                self._drain()
                return

    async def _interruptibly(self, item: Input | _Decided) -> None:
        self._setting_up = asyncio.get_running_loop().create_task(
            self._safely(item), name=f"call-setup:{self.call_id}"
        )
        try:
            await self._setting_up
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the session itself is cancelled
            # Interrupted by the guard, whose input is next in the queue.
        finally:
            self._setting_up = None

    def _preempt(self, item: i.SetupGuardFired) -> None:
        """The setup guard fired: stop waiting for the requests in progress (answering,
        bridging), so that its decision hands the caller back now. A guard disarmed since
        (the caller reached the waiting bridge meanwhile) interrupts nothing."""
        setting_up = self._setting_up
        if setting_up is None or setting_up.done():
            return
        if (i.TimerKind.SETUP_GUARD, item.token) not in self.call.timers:
            return
        log.info("call setup interrupted by its guard", extra={"call_id": self.call_id})
        self._executor.given_up = True
        setting_up.cancel()

    async def _safely(self, item: Input | _Decided) -> None:
        try:
            await self._process(item)
        except Exception as error:
            log.exception("call session failed", extra={"call_id": self.call_id})
            try:
                await self._process(i.Failed(str(error) or type(error).__name__))
            except Exception:
                log.exception("call session could not end", extra={"call_id": self.call_id})

    async def _process(self, item: Input | _Decided) -> None:
        if isinstance(item, _Decided):
            if self.state is SessionState.ENDED and not item.ending:
                return  # decided before the end came: nothing left to do
            pending = await self._executor.run(item.commands)
        else:
            pending = [item]
        while pending:
            current = pending.pop(0)
            decision = decide(self._view(), current)
            if not decision.handled:
                log.debug(
                    "input ignored in this state",
                    extra={"call_id": self.call_id, "state": self.state, "input": _name(current)},
                )
                continue
            self.call = decision.call
            pending[0:0] = await self._executor.run(decision.commands)

    def _drain(self) -> None:
        """After the end only a late answering position matters: it is hung up."""
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, i.LegAnswered):
                commands = decide(self._view(), item).commands
                self.host.spawn(self._carry_out(commands), name=f"hang-up-late-leg:{item.leg_id}")

    async def _carry_out(self, commands: tuple[Command, ...]) -> None:
        await self._executor.run(commands)

    def _view(self) -> View:
        host = self.host
        policy = host.policy
        live = policy.calls.get(self.call.call_id)
        where = (
            None
            if live is None
            else Where(
                unit=live.unit,
                home_centre=live.home_centre,
                status=live.status,
                position=live.position,
                hops=live.hops,
                media=waiting_media(policy, live.unit, live.home_centre),
            )
        )
        return View(self.call, host.clock.now(), where, host.settings, host.names)


def input_of_event(call_id: str, event: Event) -> Input | None:
    """What an ARI event about one of the call's resources means for the call."""
    if isinstance(event, StasisStart):
        # The caller's own StasisStart begins the session (``Begin``); seen again, nothing.
        return None if event.channel.id == call_id else i.LegAnswered(event.channel.id)
    if isinstance(event, StasisEnd):
        return i.CallerLeft() if event.channel.id == call_id else i.LegLeft(event.channel.id)
    if isinstance(event, ChannelDestroyed):
        if event.channel.id == call_id:
            return None  # follows the caller's StasisEnd, which ended the call
        return i.LegDestroyed(event.channel.id, event.cause, event.cause_txt)
    if isinstance(event, PlaybackFinished):
        playback = event.playback
        return i.PlaybackEnded(playback.id, playback.state == "failed", playback.media_uri)
    return None


def _name(item: Input) -> str:
    return type(item).__name__
