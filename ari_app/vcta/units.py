"""Units (what calls queue at) and how the current modes lay them out.

A centre is a unit of its own unless it belongs to an active virtual CTA: then the virtual CTA is
the unit that serves it (its calls queue there, its positions serve that queue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ari_app.vcta.modes import Modes
from ari_app.vcta.topology import Announcements, Centre, Topology, VirtualCta


class UnitKind(StrEnum):
    """A unit is a centre or a virtual CTA."""

    CENTRE = "centre"
    VCTA = "vcta"


@dataclass(frozen=True, slots=True)
class Unit:
    """The limits and sounds of a unit; ``members`` are the centres whose positions serve it."""

    id: str
    kind: UnitKind
    name: str
    members: tuple[str, ...]
    max_queue: int
    max_wait: float
    reserve: int
    overflow_cap: int
    announcements: Announcements

    @staticmethod
    def of_centre(centre: Centre) -> Unit:
        return Unit(
            id=centre.id,
            kind=UnitKind.CENTRE,
            name=centre.name,
            members=(centre.id,),
            max_queue=centre.max_queue,
            max_wait=centre.max_wait,
            reserve=centre.reserve,
            overflow_cap=centre.overflow_cap,
            announcements=centre.announcements,
        )

    @staticmethod
    def of_vcta(vcta: VirtualCta) -> Unit:
        return Unit(
            id=vcta.id,
            kind=UnitKind.VCTA,
            name=vcta.name,
            members=vcta.members,
            max_queue=vcta.max_queue,
            max_wait=vcta.max_wait,
            reserve=vcta.reserve,
            overflow_cap=vcta.overflow_cap,
            announcements=vcta.announcements,
        )


def units_of(topology: Topology) -> dict[str, Unit]:
    """Every unit of the topology by id, centres first, in file order."""
    units = {centre.id: Unit.of_centre(centre) for centre in topology.centres}
    units.update({vcta.id: Unit.of_vcta(vcta) for vcta in topology.virtual_ctas})
    return units


@dataclass(frozen=True, slots=True)
class Layout:
    """How units serve each other under given modes.

    - ``unit_of_centre``: the unit serving each centre (itself, or its active virtual CTA).
    - ``serving_units``: units in service (centres not pooled, active virtual CTAs), in
      topology order.
    - ``neighbour_ranks``: for each unit in service, its neighbour units by rank.
    - ``outgoing`` / ``incoming``: whether a unit in service may send / receive mutual aid.
    """

    unit_of_centre: Mapping[str, str]
    serving_units: tuple[str, ...]
    neighbour_ranks: Mapping[str, tuple[tuple[str, ...], ...]]
    outgoing: Mapping[str, bool]
    incoming: Mapping[str, bool]


def build_layout(topology: Topology, modes: Modes) -> Layout:
    """Lay the units out for ``modes`` (assumed valid: no centre in two active virtual CTAs).

    A virtual CTA sends mutual aid only when every member's outgoing switch is on and accepts it
    only when every member's incoming switch is on. A diverted centre accepts none.
    """
    unit_of_centre = {centre.id: centre.id for centre in topology.centres}
    active = [vcta for vcta in topology.virtual_ctas if vcta.id in modes.active_vctas]
    for vcta in active:
        for member in vcta.members:
            unit_of_centre[member] = vcta.id
    pooled = {member for vcta in active for member in vcta.members}
    serving = tuple(c.id for c in topology.centres if c.id not in pooled) + tuple(
        v.id for v in active
    )

    ranks: dict[str, tuple[tuple[str, ...], ...]] = {}
    outgoing: dict[str, bool] = {}
    incoming: dict[str, bool] = {}
    centre_by_id = topology.centre_by_id
    for unit_id in serving:
        pool = topology.vcta_by_id.get(unit_id)
        members = pool.members if pool is not None else (unit_id,)
        member_centres = [centre_by_id[m] for m in members if m in centre_by_id]
        ranks[unit_id] = _merged_ranks(unit_id, member_centres, unit_of_centre)
        member_modes = [modes.of(c.id) for c in member_centres]
        outgoing[unit_id] = all(m.outgoing_mutual_aid for m in member_modes)
        if pool is None:
            incoming[unit_id] = all(
                m.incoming_mutual_aid and m.diverted_to is None for m in member_modes
            )
        else:
            incoming[unit_id] = all(m.incoming_mutual_aid for m in member_modes)
    return Layout(
        unit_of_centre=unit_of_centre,
        serving_units=serving,
        neighbour_ranks=ranks,
        outgoing=outgoing,
        incoming=incoming,
    )


def _merged_ranks(
    unit_id: str, members: list[Centre], unit_of_centre: Mapping[str, str]
) -> tuple[tuple[str, ...], ...]:
    """Neighbour units by rank: rank i holds the members' rank-i neighbours, mapped to their
    serving unit, without the unit itself and without units already in a better rank."""
    seen = {unit_id}
    merged: list[tuple[str, ...]] = []
    depth = max((len(c.neighbours) for c in members), default=0)
    for index in range(depth):
        rank: list[str] = []
        for centre in members:
            if index >= len(centre.neighbours):
                continue
            for neighbour in centre.neighbours[index]:
                unit = unit_of_centre.get(neighbour)
                if unit is None or unit in seen:
                    continue
                seen.add(unit)
                rank.append(unit)
        if rank:
            merged.append(tuple(rank))
    return tuple(merged)
