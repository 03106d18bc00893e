"""How many free positions a neighbour keeps for its own callers before it helps another unit.

The fixed ``reserve`` of a centre does not protect its callers: an overflow call keeps one of
its operators for a whole handling time while its own callers keep arriving. So a helping unit
keeps free what its own calls may still need during that time. Its own calls in progress are
counted now (``n``) and averaged over the last minutes (``L``, its own offered load); over the
next handling time they behave like an infinite-server queue started at ``n``: the calls now
in progress end one by one while new ones arrive at the rate ``L`` stands for. The helper keeps
the positions that count may reach, its mean plus ``z`` standard deviations at the worst moment
of that handling time (the square-root rule of call-centre staffing, Halfin and Whitt, here
conditioned on the calls in progress now), minus those its own calls already hold. A small
centre with a steady load therefore rarely helps; a big one, or one quiet at the moment, helps
more. Why these numbers: docs/policy.md ("Sparing the helpers").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Time constant of the own-load average: a few handling times, long enough not to mistake a
# lull of a minute for a quiet centre, short enough to follow the hours of the day.
OWN_LOAD_SMOOTHING_S = 900.0

# The moments of one handling time at which the helper's own demand is judged, as the share of
# its own calls in progress now still in progress then (exp(-t / handling time)).
_STILL_IN_PROGRESS = tuple(math.exp(-step / 8) for step in range(1, 9))


def own_demand_peak(own_load: float, own_calls: int, z: float) -> float:
    """How high a unit's own calls in progress may go during one handling time from now.

    ``own_calls`` are in progress now, ``own_load`` is their usual number (Erlangs). At a
    moment where a share ``p`` of today's calls is still in progress, the count has mean
    ``n p + L (1 - p)`` and variance ``n p (1 - p) + L (1 - p)``; the peak is the largest mean
    plus ``z`` deviations over the handling time, and never below the calls there now.
    """
    peak = float(own_calls)
    for still in _STILL_IN_PROGRESS:
        arrived = own_load * (1.0 - still)
        mean = own_calls * still + arrived
        spread = math.sqrt(own_calls * still * (1.0 - still) + arrived)
        peak = max(peak, mean + z * spread)
    return peak


@dataclass(frozen=True, slots=True)
class MutualAidRules:
    """The rules a neighbour's room is judged by.

    ``spare_own_callers`` off gives the rules before the load margin (fixed reserve and cap
    only); ``margin_z`` is the safety factor on the spread of the own demand;
    ``backup_after_neighbours`` lets a saturated unit send calls to the national backup unit
    when no neighbour has room (before, only the last resort did, after ``last_resort_after``);
    ``share_backup`` keeps the national backup unit shared between the units that need it: a
    call leaves a free position there for each other unit that may need one now, and by mutual
    aid one unit's calls hold at most half of its positions (rounded down).
    """

    spare_own_callers: bool = True
    margin_z: float = 3.0
    backup_after_neighbours: bool = True
    share_backup: bool = True

    def keep_free(self, reserve: int, own_load: float, own_calls: int) -> int:
        """Free positions a unit keeps for its own callers: never fewer than its reserve.

        ``own_load`` is its smoothed own load, ``own_calls`` its own calls in progress now.
        """
        if not self.spare_own_callers:
            return reserve
        peak = own_demand_peak(own_load, own_calls, self.margin_z)
        return max(reserve, math.ceil(peak - 1e-9) - own_calls)


SPARE_HELPERS = MutualAidRules()
RESERVE_ONLY = MutualAidRules(
    spare_own_callers=False, backup_after_neighbours=False, share_backup=False
)
