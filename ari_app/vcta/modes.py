"""What duty officers switch: per-centre modes, active virtual CTAs, paused positions.

Plain frozen data with stable field names: the store persists them as they are. Validation and
the rules for changing them live in :mod:`ari_app.vcta.mode_changes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class CentreModes:
    """The switches of one centre.

    - ``outgoing_mutual_aid``: this centre's waiting calls may go to a neighbour when it is
      saturated.
    - ``incoming_mutual_aid``: this centre accepts neighbours' calls when it has room.
    - ``diverted_to``: id of the centre that receives every new call of this one, or None.
    - ``crisis_message``: media played to this centre's waiting callers (``sound:...`` or
      ``recording:...``), or None.
    """

    outgoing_mutual_aid: bool = True
    incoming_mutual_aid: bool = True
    diverted_to: str | None = None
    crisis_message: str | None = None


NORMAL_MODES = CentreModes()


@dataclass(frozen=True, slots=True, eq=True)
class Modes:
    """Every duty-officer switch at one moment.

    ``centres`` has an entry for every centre of the topology (missing ones read as
    :data:`NORMAL_MODES`); ``active_vctas`` and ``paused_positions`` are ids. Not hashable.
    """

    centres: Mapping[str, CentreModes]
    active_vctas: frozenset[str] = frozenset()
    paused_positions: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # A read-only copy, so a Modes value cannot change behind the state's back.
        object.__setattr__(self, "centres", MappingProxyType(dict(self.centres)))

    def of(self, centre_id: str) -> CentreModes:
        """The modes of ``centre_id`` (normal modes when it has no entry)."""
        return self.centres.get(centre_id, NORMAL_MODES)

    def with_centre(self, centre_id: str, modes: CentreModes) -> Modes:
        """A copy where ``centre_id`` has ``modes``."""
        centres = dict(self.centres)
        centres[centre_id] = modes
        return replace(self, centres=centres)
