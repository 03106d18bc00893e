"""What a decision works on: the call's data, the view it is decided in, and ``Step``, the
decision being made (the data so far, the commands so far). Pure, like the machine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ari_app.calls import commands as c
from ari_app.calls import inputs as i
from ari_app.calls.config import CallSettings
from ari_app.calls.ids import CallNames
from ari_app.calls.journal import CallOutcome, JournalKind, JournalValue
from ari_app.calls.states import SessionState
from ari_app.vcta import CallStatus, WaitingMedia

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


class Step:
    """One decision being made: the data so far and the commands so far."""

    __slots__ = ("_call", "_changes", "commands", "view")

    def __init__(self, view: View) -> None:
        self.view = view
        self.commands: list[c.Command] = []
        self._call = view.call
        self._changes: dict[str, object] = {}

    @property
    def call(self) -> CallData:
        """The call's data with the changes made so far."""
        if self._changes:
            # One copy for the changes made since the last read, not one per change.
            self._call = replace(self._call, **self._changes)  # type: ignore[arg-type]
            self._changes = {}
        return self._call

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
        self._changes.update(changes)

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
"""A row of the table: what one (state, input) pair does."""
