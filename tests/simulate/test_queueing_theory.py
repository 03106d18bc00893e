"""The simulator agrees with queueing theory for one centre, Poisson arrivals and exponential
service: Erlang C without abandonment, Erlang A with exponential patience.

Each check: the formula's value lies in the simulated 95 % interval, and the simulated mean is
within one point of it (shares) or within 10 % (mean wait). Samples are sized so that the whole
file runs in about fifteen seconds; docs/simulator.md has the table with larger samples.
"""

from __future__ import annotations

import pytest

from ari_app.simulate.erlang import erlang_a, erlang_b, erlang_c, positions_needed
from ari_app.simulate.validation import Check, validate


def _assert_agrees(checks: list[Check]) -> None:
    for check in checks:
        where = f"{check.model} n={check.positions} a={check.load} {check.figure}"
        simulated = check.simulated
        assert check.within_interval, (
            f"{where}: {check.theory:.4f} outside [{simulated.low:.4f}, {simulated.high:.4f}]"
        )
        if check.figure.startswith("mean wait"):
            assert abs(check.gap) <= 0.1 * check.theory, where
        else:
            assert abs(check.gap) <= 0.01, f"{where}: off by {check.gap * 100:.2f} points"


def test_the_formulas_match_published_values() -> None:
    # Erlang B(10, 5) = 0.01838 and Erlang C(10, 8) = 0.4092 (standard tables).
    assert erlang_b(10, 5.0) == pytest.approx(0.018384, abs=1e-5)
    assert erlang_c(10, 8.0) == pytest.approx(0.40918, abs=1e-4)
    # With very patient callers Erlang A tends to Erlang C.
    assert erlang_a(10, 8.0, 60.0, 1e9).wait_probability == pytest.approx(0.40918, abs=1e-3)
    assert positions_needed(8.0, 60.0, 0.8, 20.0) == 11


def test_light_load_matches_erlang_c() -> None:
    _assert_agrees(validate(5, 3.0, calls_per_replication=20_000, replications=8, seed=1))


def test_heavy_load_matches_erlang_c() -> None:
    _assert_agrees(validate(10, 8.5, calls_per_replication=40_000, replications=10, seed=2))


def test_abandonment_matches_erlang_a() -> None:
    _assert_agrees(
        validate(10, 9.0, patience_mean=120.0, calls_per_replication=20_000, replications=8)
    )


def test_overload_with_abandonment_matches_erlang_a() -> None:
    # 22 Erlangs on 20 positions: only abandonment keeps the queue finite.
    _assert_agrees(
        validate(
            20, 22.0, patience_mean=120.0, calls_per_replication=20_000, replications=8, seed=3
        )
    )
