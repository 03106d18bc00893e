"""Small topologies and states for policy tests, built the way a duty officer describes them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ari_app.vcta import (
    Announcements,
    Centre,
    CentreModes,
    PolicyState,
    Position,
    Topology,
    VirtualCta,
    next_offer,
    route_call,
)
from ari_app.vcta.checks import check_topology
from ari_app.vcta.state import CallStatus

SOUNDS = Announcements("sound:welcome", "sound:reminder", 30.0, "default")


def centre(
    centre_id: str,
    positions: int = 3,
    *,
    department: str | None = None,
    routing_keys: Iterable[str] = (),
    neighbours: Sequence[Sequence[str] | str] = (),
    max_queue: int = 5,
    max_wait: float = 30.0,
    reserve: int = 0,
    overflow_cap: int = 5,
    modes: CentreModes | None = None,
) -> Centre:
    """A centre with ``positions`` positions named ``<id>-op1`` ..."""
    return Centre(
        id=centre_id,
        name=f"CTA {centre_id}",
        department=department,
        routing_keys=tuple(routing_keys),
        positions=tuple(
            Position(f"{centre_id}-op{i}", f"PJSIP/{centre_id}-op{i}", centre_id)
            for i in range(1, positions + 1)
        ),
        max_queue=max_queue,
        max_wait=max_wait,
        reserve=reserve,
        overflow_cap=overflow_cap,
        announcements=SOUNDS,
        neighbours=tuple((n,) if isinstance(n, str) else tuple(n) for n in neighbours),
        modes=modes or CentreModes(),
    )


def vcta(
    vcta_id: str,
    members: Sequence[str],
    *,
    active: bool = True,
    max_queue: int = 5,
    max_wait: float = 30.0,
    reserve: int = 0,
    overflow_cap: int = 5,
) -> VirtualCta:
    return VirtualCta(
        id=vcta_id,
        name=f"vCTA {vcta_id}",
        members=tuple(members),
        active=active,
        max_queue=max_queue,
        max_wait=max_wait,
        reserve=reserve,
        overflow_cap=overflow_cap,
        announcements=SOUNDS,
    )


def topology(
    *centres: Centre,
    vctas: Sequence[VirtualCta] = (),
    default_unit: str | None = None,
    backup_unit: str | None = None,
    last_resort_after: float = 120.0,
    skip_failed_position_for: float = 30.0,
) -> Topology:
    """A checked topology; the first centre is the default and backup unit unless told."""
    built = Topology(
        centres=tuple(centres),
        virtual_ctas=tuple(vctas),
        default_unit=default_unit or centres[0].id,
        backup_unit=backup_unit or centres[0].id,
        last_resort_after=last_resort_after,
        skip_failed_position_for=skip_failed_position_for,
    )
    problems = check_topology(built)
    assert not problems, [str(p) for p in problems]
    return built


def all_online(state: PolicyState, now: float = 0.0) -> PolicyState:
    for position_id in state.positions:
        state.position_online(position_id, now)
    return state


def online(state: PolicyState, *position_ids: str, now: float = 0.0) -> None:
    for position_id in position_ids:
        state.position_online(position_id, now)


def arrive(state: PolicyState, call_id: str, routing_key: str, at: float) -> str:
    """A call arrives and waits; returns the unit it waits at."""
    decision = route_call(state.topology, state, routing_key, at)
    state.call_arrived(call_id, decision, at)
    state.call_waiting(call_id, at)
    return decision.unit


def put_waiting(state: PolicyState, call_id: str, centre_id: str, at: float) -> None:
    """A call of ``centre_id`` waits at the unit serving that centre since ``at``."""
    state.restore_call(
        call_id,
        routing_key=centre_id,
        home_centre=centre_id,
        unit=state.unit_of_centre(centre_id),
        arrived_at=at,
    )


def occupy(state: PolicyState, position_id: str, now: float = 0.0) -> str:
    """The position is on a call (one that came to it directly); returns the call id."""
    call_id = f"talk-{position_id}"
    centre_id = state.positions[position_id].centre
    state.position_online(position_id, now)
    state.restore_call(
        call_id,
        routing_key=centre_id,
        home_centre=centre_id,
        unit=state.unit_of_position(position_id),
        arrived_at=now,
        status=CallStatus.CONNECTED,
        position=position_id,
    )
    return call_id


def occupy_all(state: PolicyState, centre_id: str, now: float = 0.0) -> None:
    for position in state.topology.centre_by_id[centre_id].positions:
        occupy(state, position.id, now)


def serve(state: PolicyState, now: float) -> list[tuple[str, str]]:
    """Offer every call that can be offered now and connect it; returns (call, position)."""
    served: list[tuple[str, str]] = []
    for unit in state.units_ready():
        while (offer := next_offer(state.topology, state, unit, now)) is not None:
            state.offer_made(offer.call_id, offer.position_id, now)
            state.call_connected(offer.call_id, offer.position_id, now)
            served.append((offer.call_id, offer.position_id))
    return served
