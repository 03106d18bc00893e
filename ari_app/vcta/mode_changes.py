"""A duty officer's change of modes: validated, then a new ``Modes`` or a refusal with a reason.

The rules (also in docs/policy.md):
- a diversion targets another centre of the topology; one that would make a loop is refused;
- a crisis message is a media URI Asterisk can play: ``sound:...`` or ``recording:...``, one line,
  at most 200 characters;
- a virtual CTA cannot be activated while one of its members is in another active virtual CTA;
- only positions of the topology can be paused.
Setting a switch to the value it already has is accepted and reported as no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ari_app.vcta.modes import CentreModes, Modes
from ari_app.vcta.topology import Topology

CRISIS_MESSAGE_SCHEMES = ("sound:", "recording:")
CRISIS_MESSAGE_MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class SetOutgoingMutualAid:
    """Let ``centre``'s waiting calls go to neighbours when it is saturated (or stop it)."""

    centre: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class SetIncomingMutualAid:
    """Let ``centre`` take neighbours' calls when it has room (or stop it)."""

    centre: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class SetDiversion:
    """Send every new call of ``centre`` to centre ``target``; None ends the diversion."""

    centre: str
    target: str | None


@dataclass(frozen=True, slots=True)
class SetCrisisMessage:
    """Play ``message`` to ``centre``'s waiting callers; None clears it."""

    centre: str
    message: str | None


@dataclass(frozen=True, slots=True)
class SetVctaActive:
    """Pool the members of virtual CTA ``vcta`` into one unit (or split them again)."""

    vcta: str
    active: bool


@dataclass(frozen=True, slots=True)
class SetPositionPaused:
    """Stop offering calls to ``position`` (or start again)."""

    position: str
    paused: bool


ModeChange = (
    SetOutgoingMutualAid
    | SetIncomingMutualAid
    | SetDiversion
    | SetCrisisMessage
    | SetVctaActive
    | SetPositionPaused
)


@dataclass(frozen=True, slots=True)
class ModeChangeResult:
    """The outcome of a change: ``modes`` are the new modes (the old ones when refused)."""

    accepted: bool
    changed: bool
    modes: Modes
    reason: str


def diversion_chain(modes: Modes, centre_id: str) -> tuple[tuple[str, ...], bool]:
    """The centres a new call of ``centre_id`` passes through, ending with the one that takes it.

    The second value is True when the chain loops (the repeated centre ends the chain).
    """
    chain = [centre_id]
    seen = {centre_id}
    current = centre_id
    while True:
        target = modes.of(current).diverted_to
        if target is None:
            return tuple(chain), False
        chain.append(target)
        if target in seen:
            return tuple(chain), True
        seen.add(target)
        current = target


def crisis_message_problem(message: str) -> str | None:
    """Why ``message`` cannot be a crisis message, or None when it can."""
    if not message.startswith(CRISIS_MESSAGE_SCHEMES) or message in CRISIS_MESSAGE_SCHEMES:
        return (
            f"the crisis message {message!r} must be a media Asterisk can play, "
            "such as 'sound:crisis/flood' or 'recording:crisis-77'"
        )
    if len(message) > CRISIS_MESSAGE_MAX_LENGTH or "\n" in message or "\r" in message:
        return (
            f"the crisis message must be one line of at most {CRISIS_MESSAGE_MAX_LENGTH} characters"
        )
    return None


def modes_problems(topology: Topology, modes: Modes) -> list[str]:
    """Every reason why ``modes`` cannot be used with ``topology`` (empty when valid)."""
    problems: list[str] = []
    centres = topology.centre_by_id
    for centre_id in sorted(modes.centres):
        if centre_id not in centres:
            problems.append(f"modes are given for {centre_id!r}, which is not a centre")
            continue
        centre_modes = modes.centres[centre_id]
        target = centre_modes.diverted_to
        if target is not None:
            if target not in centres:
                problems.append(
                    f"{centre_id} is diverted to {target!r}, which is not a centre "
                    "(a diversion targets a centre)"
                )
            elif target == centre_id:
                problems.append(f"{centre_id} is diverted to itself")
        if centre_modes.crisis_message is not None:
            problem = crisis_message_problem(centre_modes.crisis_message)
            if problem is not None:
                problems.append(f"{centre_id}: {problem}")
    reported_loops: set[frozenset[str]] = set()
    for centre_id in sorted(modes.centres):
        chain, loops = diversion_chain(modes, centre_id)
        if loops:
            cycle = chain[chain.index(chain[-1]) :]
            key = frozenset(cycle)
            if key not in reported_loops:
                reported_loops.add(key)
                problems.append(f"diversions make a loop: {' -> '.join(cycle)}")
    for vcta_id in sorted(modes.active_vctas):
        if vcta_id not in topology.vcta_by_id:
            problems.append(f"{vcta_id!r} is active but is not a virtual CTA")
    pooled_by: dict[str, str] = {}
    for vcta in topology.virtual_ctas:
        if vcta.id not in modes.active_vctas:
            continue
        for member in vcta.members:
            other = pooled_by.setdefault(member, vcta.id)
            if other != vcta.id:
                problems.append(
                    f"{member} would be in two active virtual CTAs: {other} and {vcta.id}"
                )
    for position_id in sorted(modes.paused_positions):
        if position_id not in topology.position_by_id:
            problems.append(f"{position_id!r} is paused but is not a position")
    return problems


def change_modes(topology: Topology, modes: Modes, change: ModeChange) -> ModeChangeResult:
    """Apply one duty-officer change to ``modes``, or refuse it with a reason."""
    match change:
        case SetOutgoingMutualAid(centre=centre, enabled=enabled):
            return _set_centre(
                topology,
                modes,
                centre=centre,
                what="outgoing mutual aid",
                update=lambda m: replace(m, outgoing_mutual_aid=enabled),
                value="on" if enabled else "off",
            )
        case SetIncomingMutualAid(centre=centre, enabled=enabled):
            return _set_centre(
                topology,
                modes,
                centre=centre,
                what="incoming mutual aid",
                update=lambda m: replace(m, incoming_mutual_aid=enabled),
                value="on" if enabled else "off",
            )
        case SetDiversion(centre=centre, target=target):
            return _set_diversion(topology, modes, centre, target)
        case SetCrisisMessage(centre=centre, message=message):
            if message is not None:
                problem = crisis_message_problem(message)
                if problem is not None:
                    return _refused(modes, f"{centre}: {problem}")
            return _set_centre(
                topology,
                modes,
                centre=centre,
                what="crisis message",
                update=lambda m: replace(m, crisis_message=message),
                value=message if message is not None else "cleared",
            )
        case SetVctaActive(vcta=vcta_id, active=active):
            return _set_vcta(topology, modes, vcta_id, active)
        case SetPositionPaused(position=position_id, paused=paused):
            if position_id not in topology.position_by_id:
                return _refused(modes, f"{position_id!r} is not a position of this topology")
            already = position_id in modes.paused_positions
            if already == paused:
                if paused:
                    return _unchanged(modes, f"{position_id} is already paused")
                return _unchanged(modes, f"{position_id} is not paused")
            paused_set = (
                modes.paused_positions | {position_id}
                if paused
                else modes.paused_positions - {position_id}
            )
            verb = "paused" if paused else "resumed"
            return ModeChangeResult(
                True, True, replace(modes, paused_positions=paused_set), f"{position_id} {verb}"
            )


def _refused(modes: Modes, reason: str) -> ModeChangeResult:
    return ModeChangeResult(accepted=False, changed=False, modes=modes, reason=reason)


def _unchanged(modes: Modes, reason: str) -> ModeChangeResult:
    return ModeChangeResult(accepted=True, changed=False, modes=modes, reason=reason)


def _set_centre(
    topology: Topology,
    modes: Modes,
    *,
    centre: str,
    what: str,
    update: Callable[[CentreModes], CentreModes],
    value: str,
) -> ModeChangeResult:
    if centre not in topology.centre_by_id:
        return _refused(modes, f"{centre!r} is not a centre of this topology")
    before = modes.of(centre)
    after = update(before)
    if after == before:
        return _unchanged(modes, f"{centre}: {what} is already {value}")
    return ModeChangeResult(
        True, True, modes.with_centre(centre, after), f"{centre}: {what} {value}"
    )


def _set_diversion(
    topology: Topology, modes: Modes, centre: str, target: str | None
) -> ModeChangeResult:
    centres = topology.centre_by_id
    if centre not in centres:
        return _refused(modes, f"{centre!r} is not a centre of this topology")
    if target is not None:
        if target == centre:
            return _refused(modes, f"{centre} cannot be diverted to itself")
        if target not in centres:
            hint = (
                " (a diversion targets a centre; the virtual CTA takes the call when that "
                "centre is pooled)"
                if target in topology.vcta_by_id
                else ""
            )
            return _refused(modes, f"{target!r} is not a centre of this topology{hint}")
    before = modes.of(centre)
    if before.diverted_to == target:
        value = f"diverted to {target}" if target else "not diverted"
        return _unchanged(modes, f"{centre} is already {value}")
    new_modes = modes.with_centre(centre, replace(before, diverted_to=target))
    if target is not None:
        chain, loops = diversion_chain(new_modes, centre)
        if loops:
            return _refused(
                modes,
                f"diverting {centre} to {target} would make a loop: {' -> '.join(chain)}; "
                f"end the diversion of {chain[-2]} first",
            )
        reason = f"{centre} diverted to {target}"
        if len(chain) > 2:
            reason += f" (its calls reach {chain[-1]} through {' -> '.join(chain)})"
    else:
        reason = f"{centre}: diversion ended"
    return ModeChangeResult(True, True, new_modes, reason)


def _set_vcta(topology: Topology, modes: Modes, vcta_id: str, active: bool) -> ModeChangeResult:
    vcta = topology.vcta_by_id.get(vcta_id)
    if vcta is None:
        return _refused(modes, f"{vcta_id!r} is not a virtual CTA of this topology")
    if (vcta_id in modes.active_vctas) == active:
        state = "active" if active else "inactive"
        return _unchanged(modes, f"{vcta_id} is already {state}")
    if not active:
        return ModeChangeResult(
            True,
            True,
            replace(modes, active_vctas=modes.active_vctas - {vcta_id}),
            f"{vcta_id} deactivated: {', '.join(vcta.members)} answer their own calls again",
        )
    for other in topology.virtual_ctas:
        if other.id == vcta_id or other.id not in modes.active_vctas:
            continue
        shared = [m for m in vcta.members if m in other.members]
        if shared:
            return _refused(
                modes,
                f"{vcta_id} cannot be activated: {', '.join(shared)} already pooled in "
                f"{other.id}; deactivate {other.id} first",
            )
    return ModeChangeResult(
        True,
        True,
        replace(modes, active_vctas=modes.active_vctas | {vcta_id}),
        f"{vcta_id} activated: calls of {', '.join(vcta.members)} queue together",
    )
