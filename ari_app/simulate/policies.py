"""The mutual-aid policies a scenario can be run under, for comparing them on the same callers.

- ``spare_helpers``: the product's rules (a neighbour helps only with the slack its own callers
  do not need; see docs/policy.md).
- ``reserve_only``: the rules before that change (a neighbour helps while it has more free
  positions than its fixed reserve and holds fewer overflow calls than its cap).
- ``off``: no mutual aid (every centre's outgoing switch off); the last resort still applies.
- ``national_queue``: every position serves one national queue (a virtual CTA of all centres),
  the theoretical best for waiting times, where no centre is spared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ari_app.vcta import (
    RESERVE_ONLY,
    SPARE_HELPERS,
    CentreModes,
    Modes,
    MutualAidRules,
    Topology,
    VirtualCta,
)

NATIONAL_QUEUE = "national-queue"


@dataclass(frozen=True, slots=True)
class Policy:
    """How a policy changes the topology and starting modes, and the rules of the pass."""

    name: str
    description: str
    rules: MutualAidRules
    topology: Callable[[Topology], Topology]
    modes: Callable[[Topology, Modes], Modes]


def _same_topology(topology: Topology) -> Topology:
    return topology


def _same_modes(topology: Topology, modes: Modes) -> Modes:
    return modes


def _no_outgoing(topology: Topology, modes: Modes) -> Modes:
    centres = {c.id: replace(modes.of(c.id), outgoing_mutual_aid=False) for c in topology.centres}
    return Modes(centres, modes.active_vctas, modes.paused_positions)


def _national_queue_topology(topology: Topology) -> Topology:
    first = topology.centres[0]
    pool = VirtualCta(
        id=NATIONAL_QUEUE,
        name="One national queue",
        members=tuple(c.id for c in topology.centres),
        active=True,
        max_queue=sum(c.max_queue for c in topology.centres),
        max_wait=min(c.max_wait for c in topology.centres),
        reserve=0,
        overflow_cap=0,
        announcements=first.announcements,
    )
    others = tuple(replace(v, active=False) for v in topology.virtual_ctas)
    return replace(topology, virtual_ctas=(*others, pool))


def _national_queue_modes(topology: Topology, modes: Modes) -> Modes:
    centres = {c.id: CentreModes() for c in topology.centres}
    return Modes(centres, frozenset({NATIONAL_QUEUE}), modes.paused_positions)


POLICIES: dict[str, Policy] = {
    "spare_helpers": Policy(
        "spare_helpers",
        "mutual aid sparing the helpers (the product's rules)",
        SPARE_HELPERS,
        _same_topology,
        _same_modes,
    ),
    "reserve_only": Policy(
        "reserve_only",
        "mutual aid with fixed reserve and cap only (the rules before)",
        RESERVE_ONLY,
        _same_topology,
        _same_modes,
    ),
    "off": Policy("off", "no mutual aid", SPARE_HELPERS, _same_topology, _no_outgoing),
    "national_queue": Policy(
        "national_queue",
        "one national queue served by every position",
        SPARE_HELPERS,
        _national_queue_topology,
        _national_queue_modes,
    ),
}
