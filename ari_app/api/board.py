"""The dashboard's board: the live state and the last hour's activity in one document.

Read from the same call handling the API's other routes read (``CallControl.snapshot`` and
the live calls), so the page never holds a second copy of the state.
"""

from __future__ import annotations

from collections import Counter

from ari_app.api.activity import MINUTE_S, Activity, answered_in_time_share
from ari_app.api.framework import RequestContext
from ari_app.api.models import (
    ActivityMinute,
    ActivityQuery,
    Board,
    BoardCall,
    BoardFlow,
    BoardPosition,
    BoardUnit,
    UnitActivity,
)
from ari_app.api.ports import CallControl
from ari_app.api.presenters import moment, present_modes
from ari_app.api.state import find_unit
from ari_app.clock import Clock
from ari_app.vcta import UnitKind, UnitSnapshot

FLOW_WINDOW_MINUTES = 15


def read_board(
    calls: CallControl,
    activity: Activity,
    now: float,
    clock_speed: float,
) -> Board:
    """The board at ``now`` (the clock's time): the same for every token (what a token may
    change is the session's ``may_change``)."""
    units = calls.snapshot()
    topology = calls.topology
    live = calls.policy.calls
    unit_of_centre = {
        u.unit_id: u.served_by or u.unit_id for u in units if u.kind is UnitKind.CENTRE
    }
    # Calls of a unit's centres sitting elsewhere by mutual aid or last resort: helped now.
    held_elsewhere: Counter[tuple[str, str]] = Counter()
    for held in live.values():
        home_unit = unit_of_centre.get(held.home_centre, held.home_centre)
        if held.overflow and held.unit != home_unit:
            held_elsewhere[(home_unit, held.unit)] += 1
    helped_out_now: Counter[str] = Counter()
    for (home_unit, _), count in held_elsewhere.items():
        helped_out_now[home_unit] += count

    board_units = []
    for unit in units:
        counted = (unit.unit_id, *unit.members)
        hour = activity.minutes(counted, now, 60)
        departments = [
            d for d in (topology.centre_by_id[m].department for m in unit.members) if d is not None
        ]
        board_units.append(
            _board_unit(
                unit,
                departments=departments,
                helped_out_now=helped_out_now[unit.unit_id],
                hour_helped_out=sum(m.helped_out for m in hour),
                hour_helped_in=sum(m.helped_in for m in hour),
                share_15=answered_in_time_share(hour[-15:]),
                share_60=answered_in_time_share(hour),
            )
        )
    positions = [
        BoardPosition(
            id=p.id,
            centre=p.centre,
            unit=unit_of_centre[unit.unit_id],
            status=p.status,
            call_id=p.call_id,
        )
        for unit in units
        if unit.kind is UnitKind.CENTRE
        for p in unit.positions
    ]
    waiting = []
    for unit in units:
        for view in unit.waiting:
            call = live.get(view.call_id)
            visited = call.visited if call is not None else ()
            waiting.append(
                BoardCall(
                    call_id=view.call_id,
                    routing_key=view.routing_key,
                    home_centre=view.home_centre,
                    unit=view.unit,
                    arrived_at=moment(view.arrived_at),
                    hops=view.hops,
                    overflow=view.overflow,
                    came_from=visited[-2] if len(visited) >= 2 else None,
                )
            )
    recent = {(f.from_unit, f.to_unit): f.count for f in activity.flows(now, FLOW_WINDOW_MINUTES)}
    pairs = sorted(set(recent) | set(held_elsewhere))
    flows = [
        BoardFlow(
            from_unit=source,
            to_unit=target,
            now=held_elsewhere.get((source, target), 0),
            last_15min=recent.get((source, target), 0),
        )
        for source, target in pairs
    ]
    return Board(
        at=moment(now),
        clock_speed=clock_speed,
        units=board_units,
        positions=positions,
        waiting=waiting,
        flows=flows,
    )


def _board_unit(
    unit: UnitSnapshot,
    *,
    departments: list[str],
    helped_out_now: int,
    hour_helped_out: int,
    hour_helped_in: int,
    share_15: float | None,
    share_60: float | None,
) -> BoardUnit:
    oldest = min((c.arrived_at for c in unit.waiting), default=None)
    return BoardUnit(
        id=unit.unit_id,
        kind=unit.kind,
        name=unit.name,
        members=list(unit.members),
        departments=departments,
        in_service=unit.in_service,
        served_by=unit.served_by,
        queue_length=unit.queue_length,
        oldest_arrived_at=None if oldest is None else moment(oldest),
        free_positions=unit.free_positions,
        busy_positions=unit.busy_positions,
        positions=len(unit.positions),
        saturated=unit.saturated,
        saturation_reason=unit.saturation_reason,
        modes=present_modes(unit),
        overflow_held=unit.overflow_held,
        overflow_cap=unit.overflow_cap,
        reserve=unit.reserve,
        max_queue=unit.max_queue,
        max_wait_s=unit.max_wait,
        queue_state=unit.queue_state,
        helped_out_now=helped_out_now,
        helped_out_60min=hour_helped_out,
        helped_in_60min=hour_helped_in,
        answered_15s_share_15min=share_15,
        answered_15s_share_60min=share_60,
    )


async def get_board(context: RequestContext) -> Board:
    deps = context.deps
    return read_board(deps.calls, deps.activity, deps.clock.now(), clock_speed(deps.clock))


async def unit_activity(context: RequestContext) -> UnitActivity:
    query = context.query_as(ActivityQuery)
    unit = find_unit(context, context.path_parameter("unit_id"))
    now = context.deps.clock.now()
    first = (int(now // MINUTE_S) - query.minutes + 1) * MINUTE_S
    counted = context.deps.activity.minutes((unit.unit_id, *unit.members), now, query.minutes)
    return UnitActivity(
        unit=unit.unit_id,
        minutes=[
            ActivityMinute(
                start=moment(first + i * MINUTE_S),
                calls=m.calls,
                answered=m.answered,
                answered_15s=m.answered_in_time,
                abandoned=m.abandoned,
                helped_out=m.helped_out,
                helped_in=m.helped_in,
                waiting=m.waiting,
            )
            for i, m in enumerate(counted)
        ],
    )


def clock_speed(clock: Clock) -> float:
    """Clock seconds per real second (the page ages waiting calls between messages)."""
    return round(1.0 / clock.real_seconds(1.0), 6)
