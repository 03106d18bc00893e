"""The demo report names the centres that helped, whom they helped, and their own service."""

from __future__ import annotations

from ari_app.demo.report import CallFact, build_report, render_report
from ari_app.vcta import load_topology
from tests.simulate.helpers import EXAMPLES


def _fact(call_id: str, home: str, answered_by: str | None, wait: float) -> CallFact:
    return CallFact(
        call_id=call_id,
        home_centre=home,
        answered_by=answered_by,
        answered_at_home=answered_by == home,
        wait_s=wait,
        answered=answered_by is not None,
        abandoned=answered_by is None,
        lost=False,
        in_progress=False,
        overflowed=answered_by not in (None, home),
    )


def test_the_report_says_who_helped_whom_and_how_their_own_callers_fared() -> None:
    topology = load_topology(EXAMPLES / "sdis77.toml")
    facts = [
        _fact("a", "sdis77", "sdis91", 40.0),
        _fact("b", "sdis77", "sdis91", 45.0),
        _fact("c", "sdis77", "secours-national", 130.0),
        _fact("d", "sdis91", "sdis91", 3.0),
        _fact("e", "sdis91", None, 60.0),
        _fact("f", "sdis77", "sdis77", 2.0),
    ]
    report = build_report(topology, facts)
    helped = report["helped"]
    assert set(helped) == {"sdis91", "secours-national"}
    assert helped["sdis91"]["calls"] == 2
    assert helped["sdis91"]["for"] == {"sdis77": 2}
    assert helped["sdis91"]["own_answered_within_15s"] == 0.5
    assert helped["sdis91"]["own_abandon_rate"] == 0.5
    text = render_report(report)
    assert "sdis91: 2 calls (2 of sdis77); own callers 50% answered within 15 s" in text
    assert "secours-national: 1 call (1 of sdis77); no callers of its own" in text


def test_a_centre_pooled_with_the_callers_is_not_listed_as_helping() -> None:
    topology = load_topology(EXAMPLES / "sdis77.toml")
    pooled = CallFact(
        call_id="p",
        home_centre="sdis89",
        answered_by="sdis10",  # both in the night virtual CTA: its own queue
        answered_at_home=True,
        wait_s=4.0,
        answered=True,
        abandoned=False,
        lost=False,
        in_progress=False,
        overflowed=False,
    )
    report = build_report(topology, [pooled, _fact("h", "sdis77", "sdis91", 20.0)])
    assert set(report["helped"]) == {"sdis91"}
    assert "  sdis91: 1 call (1 of sdis77);" in render_report(report)
