"""Reading where every unit stands: units, one unit, its waiting calls, positions."""

from __future__ import annotations

from ari_app.api.errors import not_found
from ari_app.api.framework import RequestContext
from ari_app.api.models import Positions, PositionsQuery, Units, UnitState, WaitingCalls
from ari_app.api.presenters import call_state, position_state, unit_state
from ari_app.vcta import UnitKind, UnitSnapshot


def find_unit(context: RequestContext, unit_id: str) -> UnitSnapshot:
    """The unit ``unit_id`` now, or 404."""
    for unit in context.deps.calls.snapshot():
        if unit.unit_id == unit_id:
            return unit
    raise not_found(
        f"there is no unit {unit_id!r}: units are the centres and virtual CTAs of the topology "
        "(see /api/v1/units)",
        "unknown_unit",
    )


async def list_units(context: RequestContext) -> Units:
    return Units(units=[unit_state(u) for u in context.deps.calls.snapshot()])


async def get_unit(context: RequestContext) -> UnitState:
    return unit_state(find_unit(context, context.path_parameter("unit_id")))


async def waiting_calls(context: RequestContext) -> WaitingCalls:
    unit = find_unit(context, context.path_parameter("unit_id"))
    return WaitingCalls(unit=unit.unit_id, calls=[call_state(c) for c in unit.waiting])


async def list_positions(context: RequestContext) -> Positions:
    query = context.query_as(PositionsQuery)
    units = context.deps.calls.snapshot()
    serving = {u.unit_id: u.served_by or u.unit_id for u in units if u.kind is UnitKind.CENTRE}
    wanted: set[str] | None = None
    if query.unit is not None:
        wanted = set(find_unit(context, query.unit).members)
    positions = [
        position_state(p, serving[unit.unit_id])
        for unit in units
        if unit.kind is UnitKind.CENTRE and (wanted is None or unit.unit_id in wanted)
        for p in unit.positions
    ]
    return Positions(positions=positions)
