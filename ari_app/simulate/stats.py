"""Means with 95 % confidence intervals over independent replications (Student's t)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Two-sided 95 % quantiles of Student's t by degrees of freedom; beyond 30, interpolated
# towards the normal 1.96 (the error is far below the simulation noise).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t975(degrees: int) -> float:
    """The 97.5 % quantile of Student's t with ``degrees`` degrees of freedom (>= 1)."""
    if degrees <= len(_T975):
        return _T975[degrees - 1]
    return 1.96 + (2.042 - 1.96) * 30.0 / degrees


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure's mean over replications and its 95 % confidence interval."""

    mean: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def as_json(self, digits: int = 4) -> dict[str, object]:
        return {
            "mean": round(self.mean, digits),
            "ci95": [round(self.low, digits), round(self.high, digits)],
        }


def estimate(values: Sequence[float]) -> Estimate:
    """Mean and 95 % interval of independent replications' values (at least two)."""
    count = len(values)
    mean = sum(values) / count
    if count < 2:
        return Estimate(mean, mean, mean)
    variance = sum((v - mean) ** 2 for v in values) / (count - 1)
    half = t975(count - 1) * math.sqrt(variance / count)
    return Estimate(mean, mean - half, mean + half)
