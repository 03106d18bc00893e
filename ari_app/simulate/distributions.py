"""The random durations a scenario chooses: constant, exponential, log-normal, or never.

A distribution is written in a scenario as a table such as
``{ distribution = "lognormal", mean = 90, sd = 45 }``; parameters are the mean and standard
deviation of the duration itself (not of its logarithm), in seconds, because that is what an
analyst measures in call records.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ari_app.simulate.errors import ScenarioError


@dataclass(frozen=True, slots=True)
class Distribution:
    """A non-negative random duration. ``kind`` is constant, exponential, lognormal or never."""

    kind: str
    mean: float
    sd: float = 0.0
    # Log-normal parameters of the underlying normal, precomputed for the hot path.
    mu: float = 0.0
    sigma: float = 0.0

    def sample(self, rng: random.Random) -> float:
        """One draw; ``never`` is infinite (a caller who never hangs up)."""
        kind = self.kind
        if kind == "lognormal":
            return rng.lognormvariate(self.mu, self.sigma)
        if kind == "exponential":
            return rng.expovariate(1.0 / self.mean) if self.mean > 0 else 0.0
        if kind == "constant":
            return self.mean
        return math.inf

    def describe(self) -> str:
        """A short human description, for reports."""
        if self.kind == "never":
            return "never"
        if self.kind == "constant":
            return f"constant {self.mean:g} s"
        if self.kind == "exponential":
            return f"exponential, mean {self.mean:g} s"
        return f"log-normal, mean {self.mean:g} s, sd {self.sd:g} s"


def constant(value: float) -> Distribution:
    return Distribution("constant", value)


def exponential(mean: float) -> Distribution:
    return Distribution("exponential", mean, mean)


def lognormal(mean: float, sd: float) -> Distribution:
    """Log-normal with the given mean and standard deviation (both > 0)."""
    sigma2 = math.log(1.0 + (sd / mean) ** 2)
    return Distribution("lognormal", mean, sd, math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


NEVER = Distribution("never", math.inf)

_KINDS = ("constant", "exponential", "lognormal", "never")


def parse_distribution(raw: Any, where: str) -> Distribution:
    """The distribution a scenario table describes; ``where`` names it in error messages."""
    if not isinstance(raw, Mapping):
        raise ScenarioError(
            f"{where} must be a table such as "
            '{ distribution = "lognormal", mean = 90, sd = 45 }, not ' + repr(raw)
        )
    kind = raw.get("distribution")
    if kind not in _KINDS:
        raise ScenarioError(
            f"{where}: distribution must be one of {', '.join(_KINDS)}, not {kind!r}"
        )
    allowed = {"constant": {"value"}, "exponential": {"mean"}, "lognormal": {"mean", "sd"}}
    expected = allowed.get(kind, set())
    unknown = set(raw) - expected - {"distribution"}
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key {sorted(unknown)[0]!r} for a {kind} distribution "
            f"(expected: {', '.join(sorted(expected)) or 'nothing'})"
        )
    values: dict[str, float] = {}
    for key in expected:
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(f"{where}: a {kind} distribution needs {key} as a number")
        if not math.isfinite(value) or value < 0 or (kind != "constant" and value <= 0):
            bound = "0 or more" if kind == "constant" else "more than 0"
            raise ScenarioError(f"{where}: {key} must be {bound} seconds, not {value!r}")
        values[key] = float(value)
    if kind == "constant":
        return constant(values["value"])
    if kind == "exponential":
        return exponential(values["mean"])
    if kind == "lognormal":
        return lognormal(values["mean"], values["sd"])
    return NEVER
