"""The values policy decisions return: what to do, and why in words a duty officer reads.

Each ``reason`` is journaled with the call and shown on the duty officers' screens.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ari_app.vcta.topology import KeyMatch


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """Where a new call queues.

    ``home_centre`` is the centre the routing key belongs to (for an unknown key, the default
    unit's centre); ``diverted_via`` lists the centres whose diversion was followed, in order;
    ``unit`` is where the call waits.
    """

    routing_key: str
    home_centre: str
    unit: str
    match: KeyMatch
    diverted_via: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Offer:
    """Ring ``position`` (at ``endpoint``) for ``call`` waiting at ``unit``."""

    call_id: str
    position_id: str
    endpoint: str
    unit: str
    reason: str


class MoveKind(StrEnum):
    """Why a call changes unit."""

    MUTUAL_AID = "mutual_aid"  # its unit is saturated and a neighbour has room
    LAST_RESORT = "last_resort"  # it waited past last_resort_after: the national backup unit
    DIVERSION = "diversion"  # its centre was diverted while it waited
    VCTA = "vcta"  # a virtual CTA was activated or deactivated
    TOPOLOGY = "topology"  # a new topology no longer has its unit, or pools it elsewhere


@dataclass(frozen=True, slots=True)
class Move:
    """Take ``call_id`` from ``from_unit`` to ``to_unit``; it keeps its arrival time."""

    call_id: str
    from_unit: str
    to_unit: str
    kind: MoveKind
    reason: str


@dataclass(frozen=True, slots=True)
class PickDecision:
    """Whether a position may take a waiting call it chose, and why (or why not)."""

    allowed: bool
    reason: str
