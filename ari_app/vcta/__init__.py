"""Pure routing policy: topology, live state, routing, saturation, mutual aid, distribution.

No I/O (except :mod:`ari_app.vcta.loader`, which reads a topology file), no asyncio, no clock:
time is passed in as ``now`` (seconds since the epoch). Every decision is a function of the
topology, the state and ``now``, and says why in a sentence. The rules are in docs/policy.md.
"""

from ari_app.vcta.decisions import Move, MoveKind, Offer, PickDecision, RoutingDecision
from ari_app.vcta.distribution import may_pick, next_offer
from ari_app.vcta.helping import RESERVE_ONLY, SPARE_HELPERS, MutualAidRules
from ari_app.vcta.loader import load_topology, read_topology_file
from ari_app.vcta.media import WaitingMedia, waiting_media
from ari_app.vcta.mode_changes import (
    ModeChange,
    ModeChangeResult,
    SetCrisisMessage,
    SetDiversion,
    SetIncomingMutualAid,
    SetOutgoingMutualAid,
    SetPositionPaused,
    SetVctaActive,
    change_modes,
    modes_problems,
)
from ari_app.vcta.modes import CentreModes, Modes
from ari_app.vcta.overflow import Saturation, overflow_pass, saturation
from ari_app.vcta.problems import TopologyError, TopologyProblem
from ari_app.vcta.routing import route_call
from ari_app.vcta.snapshot import (
    CallView,
    PositionView,
    QueueState,
    UnitSnapshot,
    snapshot,
    snapshot_unit,
)
from ari_app.vcta.state import (
    CallStatus,
    LiveCall,
    LivePosition,
    OfferFailure,
    PolicyState,
    PolicyStateError,
    PositionStatus,
)
from ari_app.vcta.toml_format import parse_topology, read_topology
from ari_app.vcta.topology import (
    Announcements,
    Centre,
    KeyMatch,
    Position,
    Topology,
    VirtualCta,
)
from ari_app.vcta.units import Unit, UnitKind

__all__ = [
    "RESERVE_ONLY",
    "SPARE_HELPERS",
    "Announcements",
    "CallStatus",
    "CallView",
    "Centre",
    "CentreModes",
    "KeyMatch",
    "LiveCall",
    "LivePosition",
    "ModeChange",
    "ModeChangeResult",
    "Modes",
    "Move",
    "MoveKind",
    "MutualAidRules",
    "Offer",
    "OfferFailure",
    "PickDecision",
    "PolicyState",
    "PolicyStateError",
    "Position",
    "PositionStatus",
    "PositionView",
    "QueueState",
    "RoutingDecision",
    "Saturation",
    "SetCrisisMessage",
    "SetDiversion",
    "SetIncomingMutualAid",
    "SetOutgoingMutualAid",
    "SetPositionPaused",
    "SetVctaActive",
    "Topology",
    "TopologyError",
    "TopologyProblem",
    "Unit",
    "UnitKind",
    "UnitSnapshot",
    "VirtualCta",
    "WaitingMedia",
    "change_modes",
    "load_topology",
    "may_pick",
    "modes_problems",
    "next_offer",
    "overflow_pass",
    "parse_topology",
    "read_topology",
    "read_topology_file",
    "route_call",
    "saturation",
    "snapshot",
    "snapshot_unit",
    "waiting_media",
]
