"""Accepted mode changes as the store writes them, their spool format, and replaying them.

A ``ModeChangeWrite`` is what is left of a ``ModeChangeRecord`` once accepted by the policy: the
state it put in force for one centre (all four switches), one position (paused or not) or
one virtual CTA (active or not), with who, when, why and the id that makes it idempotent.
Writing a state rather than a toggle means replaying a change twice does no harm.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ari_app.calls.ports import ModeChangeRecord
from ari_app.store.spool import MAX_BYTES, SEGMENT_BYTES, CorruptLine, LineSpool, read_line
from ari_app.vcta import (
    CentreModes,
    ModeChange,
    Modes,
    SetCrisisMessage,
    SetDiversion,
    SetIncomingMutualAid,
    SetOutgoingMutualAid,
    SetPositionPaused,
    SetVctaActive,
    Topology,
    change_modes,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class CentreModesWrite:
    """Centre ``centre_id`` now has ``modes``."""

    centre_id: str
    modes: CentreModes


@dataclass(frozen=True, slots=True)
class PauseWrite:
    """Position ``position_id`` is now paused (or not)."""

    position_id: str
    paused: bool


@dataclass(frozen=True, slots=True)
class VctaWrite:
    """Virtual CTA ``vcta_id`` is now active (or not)."""

    vcta_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class ModeChangeWrite:
    """One accepted change to write: ``at`` in seconds since the epoch (the application's
    clock), ``change_id`` unique to the change."""

    change_id: str
    at: float
    actor: str
    reason: str | None
    change: CentreModesWrite | PauseWrite | VctaWrite


def mode_change_write(record: ModeChangeRecord, change_id: str) -> ModeChangeWrite:
    """The write an accepted change calls for."""
    change: CentreModesWrite | PauseWrite | VctaWrite
    match record.change:
        case (
            SetOutgoingMutualAid(centre=centre)
            | SetIncomingMutualAid(centre=centre)
            | SetDiversion(centre=centre)
            | SetCrisisMessage(centre=centre)
        ):
            change = CentreModesWrite(centre, record.after.of(centre))
        case SetPositionPaused(position=position, paused=paused):
            change = PauseWrite(position, paused)
        case SetVctaActive(vcta=vcta, active=active):
            change = VctaWrite(vcta, active)
    return ModeChangeWrite(change_id, record.at, record.actor, record.reason or None, change)


# -- the spool format -----------------------------------------------------------------------


def write_to_json(write: ModeChangeWrite) -> str:
    """One spool line (without the newline)."""
    data: dict[str, object] = {
        "v": FORMAT_VERSION,
        "change_id": write.change_id,
        "at": write.at,
        "actor": write.actor,
    }
    if write.reason is not None:
        data["reason"] = write.reason
    match write.change:
        case CentreModesWrite(centre_id=centre, modes=modes):
            data["centre"] = centre
            data["modes"] = {
                "outgoing_mutual_aid": modes.outgoing_mutual_aid,
                "incoming_mutual_aid": modes.incoming_mutual_aid,
                "diverted_to": modes.diverted_to,
                "crisis_message": modes.crisis_message,
            }
        case PauseWrite(position_id=position, paused=paused):
            data["position"] = position
            data["paused"] = paused
        case VctaWrite(vcta_id=vcta, active=active):
            data["vcta"] = vcta
            data["active"] = active
    # ASCII-only output: a stray surrogate in some string cannot make the write fail.
    return json.dumps(data, separators=(",", ":"))


def _text(data: Mapping[str, object], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise CorruptLine(f"field {name!r} is not a non-empty string")
    return value


def _flag(data: Mapping[str, object], name: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise CorruptLine(f"field {name!r} is not true or false")
    return value


def write_from_json(line: str) -> ModeChangeWrite:
    """The write a spool line holds; CorruptLine says what is wrong with it."""
    data, at = read_line(line, FORMAT_VERSION)
    change: CentreModesWrite | PauseWrite | VctaWrite
    if "centre" in data:
        modes = data.get("modes")
        if not isinstance(modes, dict):
            raise CorruptLine("field 'modes' is not an object")
        change = CentreModesWrite(
            _text(data, "centre") or "",
            CentreModes(
                _flag(modes, "outgoing_mutual_aid"),
                _flag(modes, "incoming_mutual_aid"),
                _text(modes, "diverted_to", required=False),
                _text(modes, "crisis_message", required=False),
            ),
        )
    elif "position" in data:
        change = PauseWrite(_text(data, "position") or "", _flag(data, "paused"))
    elif "vcta" in data:
        change = VctaWrite(_text(data, "vcta") or "", _flag(data, "active"))
    else:
        raise CorruptLine("names no centre, position or virtual CTA")
    return ModeChangeWrite(
        change_id=_text(data, "change_id") or "",
        at=float(at),
        actor=_text(data, "actor") or "",
        reason=_text(data, "reason", required=False),
        change=change,
    )


class ModeSpool(LineSpool[ModeChangeWrite]):
    """The mode recorder's spool: one accepted change per line."""

    def __init__(
        self, path: Path, *, segment_bytes: int = SEGMENT_BYTES, max_bytes: int = MAX_BYTES
    ) -> None:
        super().__init__(
            path,
            encode=write_to_json,
            decode=write_from_json,
            what="mode change",
            segment_bytes=segment_bytes,
            max_bytes=max_bytes,
        )


# -- replaying writes on top of modes -------------------------------------------------------


def centre_changes(centre_id: str, modes: CentreModes) -> list[ModeChange]:
    """The policy's changes that give ``centre_id`` the switches of ``modes``."""
    return [
        SetOutgoingMutualAid(centre_id, modes.outgoing_mutual_aid),
        SetIncomingMutualAid(centre_id, modes.incoming_mutual_aid),
        SetCrisisMessage(centre_id, modes.crisis_message),
        SetDiversion(centre_id, modes.diverted_to),
    ]


def apply_changes(
    topology: Topology, modes: Modes, changes: Iterable[ModeChange], *, source: str
) -> Modes:
    """``modes`` with each change the policy accepts applied in order; a refused one is
    skipped with a warning naming ``source`` and the policy's reason."""
    for change in changes:
        result = change_modes(topology, modes, change)
        if not result.accepted:
            log.warning(
                "mode change refused, left out",
                extra={"source": source, "change": repr(change), "reason": result.reason},
            )
            continue
        modes = result.modes
    return modes


def policy_change(write: ModeChangeWrite) -> list[ModeChange]:
    """The policy's changes that a write stands for."""
    match write.change:
        case CentreModesWrite(centre_id=centre, modes=centre_modes):
            return centre_changes(centre, centre_modes)
        case PauseWrite(position_id=position, paused=paused):
            return [SetPositionPaused(position, paused)]
        case VctaWrite(vcta_id=vcta, active=active):
            return [SetVctaActive(vcta, active)]


def apply_writes(topology: Topology, modes: Modes, writes: Iterable[ModeChangeWrite]) -> Modes:
    """``modes`` with ``writes`` applied in order, each checked by the policy as a duty
    officer's change is (a refused one is skipped with a warning)."""
    for write in writes:
        modes = apply_changes(
            topology, modes, policy_change(write), source=f"spooled change {write.change_id}"
        )
    return modes
