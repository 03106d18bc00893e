"""The lab's dialplan (extensions.conf of the reference traces), as data the emulator runs.

``from-carrier``: every number enters ``Stasis(<app>,${EXTEN})`` at priority 2, then
``Hangup()``. ``test-callers``: ``18`` sets the caller id then enters Stasis at priority
3, ``112`` at priority 2, ``wait`` answers and waits 600 s. ``operators``: ``600`` is an
echo test, any other number ``Hangup(21)``. The Stasis application is the one the call
was placed for (the trace lab hard-codes ``vcta-test``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class NoOp:
    text: str


@dataclass(frozen=True, slots=True)
class SetCallerId:
    name: str
    number: str


@dataclass(frozen=True, slots=True)
class AnswerStep:
    pass


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float


@dataclass(frozen=True, slots=True)
class StasisStep:
    """``Stasis(<app>,${EXTEN})``."""


@dataclass(frozen=True, slots=True)
class Echo:
    pass


@dataclass(frozen=True, slots=True)
class HangupStep:
    cause: int | None = None


Step = NoOp | SetCallerId | AnswerStep | Wait | StasisStep | Echo | HangupStep

_EMERGENCY: list[Step] = [NoOp("Emergency call"), StasisStep(), HangupStep()]

# context -> [(extension pattern, steps from priority 1)]
LAB_DIALPLAN: Mapping[str, list[tuple[str, list[Step]]]] = MappingProxyType(
    {
        "from-carrier": [("18", _EMERGENCY), ("112", _EMERGENCY), ("_X.", _EMERGENCY)],
        "operators": [
            ("600", [AnswerStep(), Echo(), HangupStep()]),
            ("_X.", [HangupStep(21)]),
        ],
        "test-callers": [
            (
                "18",
                [
                    NoOp("Local test caller"),
                    SetCallerId("Local test", "0600000018"),
                    StasisStep(),
                    HangupStep(),
                ],
            ),
            ("112", [NoOp("Local test caller"), StasisStep(), HangupStep()]),
            ("wait", [AnswerStep(), Wait(600.0), HangupStep()]),
        ],
    }
)


def _matches(pattern: str, exten: str) -> bool:
    if pattern.startswith("_"):
        # Only the patterns the lab uses: X is a digit, a final '.' one or more characters.
        regex = pattern[1:].replace("X", "[0-9]").replace(".", ".+")
        return re.fullmatch(regex, exten) is not None
    return pattern == exten


def lookup(context: str, exten: str, priority: int) -> Step | None:
    """The step at ``context,exten,priority``, or None where the dialplan has nothing."""
    for pattern, steps in LAB_DIALPLAN.get(context, []):
        if _matches(pattern, exten):
            return steps[priority - 1] if 1 <= priority <= len(steps) else None
    return None


def context_exists(context: str) -> bool:
    return context in LAB_DIALPLAN


def application_of(step: Step, app: str, exten: str) -> tuple[str, str]:
    """``(app_name, app_data)`` as the channel snapshot shows while the step runs."""
    match step:
        case NoOp(text=text):
            return "NoOp", text
        case SetCallerId(name=name, number=number):
            return "Set", f'CALLERID(all)="{name}" <{number}>'
        case AnswerStep():
            return "Answer", ""
        case Wait(seconds=seconds):
            return "Wait", f"{seconds:g}"
        case StasisStep():
            return "Stasis", f"{app},{exten}"
        case Echo():
            return "Echo", ""
        case HangupStep(cause=cause):
            return "Hangup", "" if cause is None else str(cause)
    raise AssertionError(f"unknown dialplan step {step!r}")
