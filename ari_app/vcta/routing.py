"""Route a new call: routing key -> home centre -> diversions -> the unit where it waits.

A call is never rejected: an unknown key goes to the topology's default unit.
"""

from __future__ import annotations

from ari_app.vcta.decisions import RoutingDecision
from ari_app.vcta.mode_changes import diversion_chain
from ari_app.vcta.state import PolicyState
from ari_app.vcta.topology import KeyMatch, Topology, commune_department, normalise_routing_key


def route_call(
    topology: Topology, state: PolicyState, routing_key: str, now: float
) -> RoutingDecision:
    """Decide where a new call with ``routing_key`` waits, and say why.

    1. The home centre is the centre the key belongs to (see ``Topology.home_centre``); for an
       unknown key it is the default unit (a virtual CTA's first member when the default unit
       is a virtual CTA that is not active).
    2. Diversions are followed from the home centre to the centre that takes its calls.
    3. The unit is that centre, or the active virtual CTA it belongs to.
    ``state`` must have been built on ``topology``.
    """
    key = normalise_routing_key(routing_key)
    table = topology.routing_table
    home = table.get(key)
    match = KeyMatch.EXACT
    if home is not None:
        start = f"routing key {routing_key!r} belongs to {home}"
    else:
        department = commune_department(key)
        if department is not None:
            home = table.get(department)
        if home is not None:
            match = KeyMatch.COMMUNE
            start = f"routing key {routing_key!r} is a commune of department {department}: {home}"
        else:
            match = KeyMatch.DEFAULT
            default = topology.default_unit
            if default in topology.vcta_by_id and default in state.layout.serving_units:
                home = topology.vcta_by_id[default].members[0]
                reason = f"unknown routing key {routing_key!r}: default unit {default}"
                return RoutingDecision(routing_key, home, default, match, (), reason)
            if default in topology.centre_by_id:
                home = default
            else:
                home = topology.vcta_by_id[default].members[0]
            start = f"unknown routing key {routing_key!r}: default unit {home}"

    route = state.route_cache.get(home)
    if route is None:
        route = _route_from(state, home)
        state.route_cache[home] = route
    diverted_via, unit, tail = route
    return RoutingDecision(routing_key, home, unit, match, diverted_via, start + tail)


def _route_from(state: PolicyState, home: str) -> tuple[tuple[str, ...], str, str]:
    """Where a call of ``home`` ends under the modes in force: the centres whose diversion is
    followed, the unit, and the end of the reason."""
    chain, loops = diversion_chain(state.modes, home)
    if loops:  # modes are checked when set; stop before the repeated centre all the same
        chain = chain[:-1]
    taker = chain[-1]
    unit = state.layout.unit_of_centre[taker]
    tail = ""
    if len(chain) > 1:
        tail += f"; diverted {' -> '.join(chain)}"
    if unit != taker:
        tail += f"; {taker} is pooled in virtual CTA {unit}"
    tail += f"; waits at {unit}"
    return chain[:-1], unit, tail
