"""How many free positions a neighbour keeps for its own callers before it helps another unit.

The fixed ``reserve`` of a centre does not protect its callers: an overflow call keeps one of
its operators for a whole handling time while its own callers keep arriving. So a helping unit
keeps free what its own calls may still need during that time: its own load ``L`` (its own
calls in progress, averaged over the last minutes) can rise to about ``L + z * sqrt(L)`` (the
square-root rule of call-centre staffing, Halfin and Whitt), so it keeps that many positions
minus those its own calls already hold. A small centre with a steady load therefore rarely
helps; a big one, or one that is quiet, helps more. Why these numbers: docs/policy.md
("Sparing the helpers").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Time constant of the own-load average: a few handling times, long enough not to mistake a
# lull of a minute for a quiet centre, short enough to follow the hours of the day.
OWN_LOAD_SMOOTHING_S = 900.0


@dataclass(frozen=True, slots=True)
class MutualAidRules:
    """The rules a neighbour's room is judged by.

    ``spare_own_callers`` off gives the rules before the load margin (fixed reserve and cap
    only); ``margin_z`` is the safety factor on the square root of the own load;
    ``backup_after_neighbours`` lets a saturated unit send calls to the national backup unit
    when no neighbour has room (before, only the last resort did, after ``last_resort_after``).
    """

    spare_own_callers: bool = True
    margin_z: float = 2.0
    backup_after_neighbours: bool = True

    def keep_free(self, reserve: int, own_load: float, own_calls: int) -> int:
        """Free positions a unit keeps for its own callers: never fewer than its reserve.

        ``own_load`` is its smoothed own load, ``own_calls`` its own calls in progress now.
        """
        if not self.spare_own_callers:
            return reserve
        load = max(own_load, float(own_calls))
        peak = math.ceil(load + self.margin_z * math.sqrt(load) - 1e-9)
        return max(reserve, peak - own_calls)


SPARE_HELPERS = MutualAidRules()
RESERVE_ONLY = MutualAidRules(spare_own_callers=False, backup_after_neighbours=False)
