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
    home, match = topology.home_centre(routing_key)
    layout = state.layout
    if home is None:
        default = topology.default_unit
        if default in topology.vcta_by_id and default in layout.serving_units:
            vcta = topology.vcta_by_id[default]
            home = vcta.members[0]
            reason = f"unknown routing key {routing_key!r}: default unit {default}"
            return RoutingDecision(routing_key, home, default, match, (), reason)
        if default in topology.centre_by_id:
            home = default
        else:
            home = topology.vcta_by_id[default].members[0]
        start = f"unknown routing key {routing_key!r}: default unit {home}"
    elif match is KeyMatch.COMMUNE:
        department = commune_department(normalise_routing_key(routing_key))
        start = f"routing key {routing_key!r} is a commune of department {department}: {home}"
    else:
        start = f"routing key {routing_key!r} belongs to {home}"

    chain, loops = diversion_chain(state.modes, home)
    if loops:  # modes are checked when set; stop before the repeated centre all the same
        chain = chain[:-1]
    taker = chain[-1]
    unit = layout.unit_of_centre[taker]
    parts = [start]
    if len(chain) > 1:
        parts.append(f"diverted {' -> '.join(chain)}")
    if unit != taker:
        parts.append(f"{taker} is pooled in virtual CTA {unit}")
    parts.append(f"waits at {unit}")
    return RoutingDecision(
        routing_key=routing_key,
        home_centre=home,
        unit=unit,
        match=match,
        diverted_via=chain[:-1],
        reason="; ".join(parts),
    )
