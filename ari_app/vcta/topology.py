"""The static description of centres, positions and virtual CTAs, and routing-key matching.

Plain frozen dataclasses with stable field names (the store persists them). A ``Topology`` is
checked by :func:`ari_app.vcta.checks.check_topology`; the policy assumes a checked one.
Durations are in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from ari_app.vcta.modes import CentreModes, Modes


@dataclass(frozen=True, slots=True)
class Announcements:
    """What a waiting caller hears.

    ``welcome`` is played once when the call starts waiting, ``reminder`` every
    ``reminder_every`` seconds after it, music on hold of class ``music_on_hold`` in between.
    Sounds are Asterisk media URIs (``sound:...``).
    """

    welcome: str
    reminder: str
    reminder_every: float
    music_on_hold: str


@dataclass(frozen=True, slots=True)
class Position:
    """One operator seat: ``id`` like ``sdis77-op1``, ``endpoint`` like ``PJSIP/sdis77-op1``."""

    id: str
    endpoint: str
    centre: str


@dataclass(frozen=True, slots=True)
class Centre:
    """A call-taking centre (CTA).

    ``neighbours`` are ranks of centre ids, best rank first: mutual aid tries rank 1, then
    rank 2, ...; within a rank the neighbour with the most free positions goes first.
    ``modes`` are the modes the centre starts with.
    """

    id: str
    name: str
    department: str | None
    routing_keys: tuple[str, ...]
    positions: tuple[Position, ...]
    max_queue: int
    max_wait: float
    reserve: int
    overflow_cap: int
    announcements: Announcements
    neighbours: tuple[tuple[str, ...], ...] = ()
    modes: CentreModes = field(default_factory=CentreModes)


@dataclass(frozen=True, slots=True)
class VirtualCta:
    """Several centres pooled into one unit: one queue served by all members' positions.

    ``active`` is the state it starts in; the limits apply to the pooled unit.
    """

    id: str
    name: str
    members: tuple[str, ...]
    active: bool
    max_queue: int
    max_wait: float
    reserve: int
    overflow_cap: int
    announcements: Announcements


class KeyMatch(StrEnum):
    """How a routing key found its home centre."""

    EXACT = "exact"  # a routing key listed by the centre, or its department code
    COMMUNE = "commune"  # an INSEE commune code of the centre's department
    DEFAULT = "default"  # nothing matched: the topology's default unit


# INSEE commune codes: 2 digits + 3 (mainland), 2A/2B + 3 (Corsica), 97x + 2 (overseas).
_COMMUNE_CODE = re.compile(r"(?:97\d{3}|2[AB]\d{3}|\d{5})")


def normalise_routing_key(key: str) -> str:
    """The form routing keys are compared in: surrounding spaces removed, letters upper-case."""
    return key.strip().upper()


def commune_department(key: str) -> str | None:
    """The department code of an INSEE commune code (``77288`` -> ``77``), else None.

    ``key`` must already be normalised. ``20xxx`` is not a commune code (Corsica uses 2A/2B)
    but a 5-digit string all the same, so it yields ``20``, which no centre should claim.
    """
    if len(key) != 5 or _COMMUNE_CODE.fullmatch(key) is None:
        return None
    return key[:3] if key.startswith("97") else key[:2]


@dataclass(frozen=True)
class Topology:
    """Centres, virtual CTAs and the national rules.

    - ``default_unit``: where calls with an unknown routing key go (a centre or a virtual CTA).
    - ``backup_unit``: the national backup unit for calls waiting longer than
      ``last_resort_after``.
    - ``skip_failed_position_for``: how long a position that failed to take a call is skipped for
      that call.
    """

    centres: tuple[Centre, ...]
    virtual_ctas: tuple[VirtualCta, ...]
    default_unit: str
    backup_unit: str
    last_resort_after: float
    skip_failed_position_for: float = 30.0

    @cached_property
    def centre_by_id(self) -> Mapping[str, Centre]:
        """Centres by id."""
        return {centre.id: centre for centre in self.centres}

    @cached_property
    def vcta_by_id(self) -> Mapping[str, VirtualCta]:
        """Virtual CTAs by id."""
        return {vcta.id: vcta for vcta in self.virtual_ctas}

    @cached_property
    def position_by_id(self) -> Mapping[str, Position]:
        """Positions by id (the first one wins if a checked topology was not used)."""
        found: dict[str, Position] = {}
        for centre in self.centres:
            for position in centre.positions:
                found.setdefault(position.id, position)
        return found

    @cached_property
    def position_by_endpoint(self) -> Mapping[str, Position]:
        """Positions by endpoint string (``PJSIP/sdis77-op1``)."""
        found: dict[str, Position] = {}
        for centre in self.centres:
            for position in centre.positions:
                found.setdefault(position.endpoint, position)
        return found

    @cached_property
    def routing_table(self) -> Mapping[str, str]:
        """Normalised routing key -> centre id: listed keys, then department codes."""
        table: dict[str, str] = {}
        for centre in self.centres:
            for key in centre.routing_keys:
                table.setdefault(normalise_routing_key(key), centre.id)
        for centre in self.centres:
            if centre.department is not None:
                table.setdefault(normalise_routing_key(centre.department), centre.id)
        return table

    @cached_property
    def unit_ids(self) -> tuple[str, ...]:
        """Every unit id: centres in file order, then virtual CTAs."""
        return tuple(c.id for c in self.centres) + tuple(v.id for v in self.virtual_ctas)

    def home_centre(self, routing_key: str) -> tuple[str | None, KeyMatch]:
        """The centre a routing key belongs to and how it matched; None when unknown.

        Rule: the normalised key as listed by a centre or equal to its department code; else,
        for an INSEE commune code, its department code looked up the same way.
        """
        key = normalise_routing_key(routing_key)
        table = self.routing_table
        centre = table.get(key)
        if centre is not None:
            return centre, KeyMatch.EXACT
        department = commune_department(key)
        if department is not None:
            centre = table.get(department)
            if centre is not None:
                return centre, KeyMatch.COMMUNE
        return None, KeyMatch.DEFAULT

    def initial_modes(self) -> Modes:
        """The modes the file declares: each centre's ``modes`` and the active virtual CTAs."""
        return Modes(
            centres={centre.id: centre.modes for centre in self.centres},
            active_vctas=frozenset(v.id for v in self.virtual_ctas if v.active),
        )

    @property
    def position_count(self) -> int:
        """How many positions all centres have together."""
        return sum(len(centre.positions) for centre in self.centres)
