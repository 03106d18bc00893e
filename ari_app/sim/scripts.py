"""What an operator position does when it is rung: answer, refuse, let it ring, or not be there.

A position's script is any object with ``on_ring(ring) -> Outcome``; it is asked once
per originated call, when the call is placed, so a script may draw random delays.
The outcome classes are scripts themselves (they always return themselves).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Ring:
    """One call offered to a position; ``active_calls`` counts its other channels (a script
    may refuse busy when the operator is already on a call)."""

    endpoint: str
    channel_id: str
    caller_name: str
    caller_number: str
    now: float
    active_calls: int = 0


def _check_delay(name: str, value: float | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{name} must be zero or more seconds, not {value}")


@dataclass(frozen=True, slots=True)
class Answer:
    """Rings, answers after ``after_s``; hangs up ``talk_s`` later (never when ``None``)."""

    after_s: float = 2.0
    talk_s: float | None = None

    def __post_init__(self) -> None:
        _check_delay("answer delay", self.after_s)
        _check_delay("talk time", self.talk_s)

    def on_ring(self, ring: Ring) -> Outcome:
        return self


@dataclass(frozen=True, slots=True)
class Busy:
    """``486 Busy Here`` after ``after_s``: cause 17, ``Dial`` BUSY, no ringing."""

    after_s: float = 0.05

    def __post_init__(self) -> None:
        _check_delay("busy delay", self.after_s)

    def on_ring(self, ring: Ring) -> Outcome:
        return self


@dataclass(frozen=True, slots=True)
class NoAnswer:
    """Rings until the originate timeout: ``ChannelDestroyed`` cause 19, no final ``Dial``."""

    def on_ring(self, ring: Ring) -> Outcome:
        return self


@dataclass(frozen=True, slots=True)
class Reject:
    """Rings, then the operator refuses: ``603 Decline``, cause 21."""

    after_s: float = 1.0

    def __post_init__(self) -> None:
        _check_delay("reject delay", self.after_s)

    def on_ring(self, ring: Ring) -> Outcome:
        return self


@dataclass(frozen=True, slots=True)
class Unreachable:
    """The channel cannot be created: ``500 {"error": "Allocation failed"}`` and no event."""

    def on_ring(self, ring: Ring) -> Outcome:
        return self


Outcome = Answer | Busy | NoAnswer | Reject | Unreachable


class PositionScript(Protocol):
    """Decides, per offered call, what the position does."""

    def on_ring(self, ring: Ring) -> Outcome: ...


SCRIPT_SYNTAX = (
    "answer[:AFTER_S[:TALK_S]], busy[:AFTER_S], noanswer, reject[:AFTER_S] or unreachable"
)


def parse_script(spec: str) -> Outcome:
    """``answer:2:60`` -> ``Answer(after_s=2, talk_s=60)``; raise ValueError naming the problem."""
    kind, *numbers = spec.strip().lower().split(":")
    try:
        values = [float(n) for n in numbers]
    except ValueError:
        raise ValueError(
            f"position script {spec!r}: durations must be numbers of seconds ({SCRIPT_SYNTAX})"
        ) from None
    limits = {"answer": 2, "busy": 1, "noanswer": 0, "reject": 1, "unreachable": 0}
    if kind not in limits:
        raise ValueError(f"position script {spec!r}: unknown kind {kind!r} ({SCRIPT_SYNTAX})")
    if len(values) > limits[kind]:
        raise ValueError(f"position script {spec!r}: too many values ({SCRIPT_SYNTAX})")
    try:
        if kind == "answer":
            return Answer(*values)
        if kind == "busy":
            return Busy(*values)
        if kind == "reject":
            return Reject(*values)
    except ValueError as error:
        raise ValueError(f"position script {spec!r}: {error}") from None
    return NoAnswer() if kind == "noanswer" else Unreachable()


def describe_script(script: PositionScript) -> str:
    """The spec string of a built-in script, or the class name of a custom one."""
    match script:
        case Answer(after_s=after, talk_s=None):
            return f"answer:{after:g}"
        case Answer(after_s=after, talk_s=talk):
            return f"answer:{after:g}:{talk:g}"
        case Busy(after_s=after):
            return f"busy:{after:g}"
        case NoAnswer():
            return "noanswer"
        case Reject(after_s=after):
            return f"reject:{after:g}"
        case Unreachable():
            return "unreachable"
    return type(script).__name__
