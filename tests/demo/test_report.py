"""The demo report read by a person: columns that add up, a legend, no figure for no call."""

from __future__ import annotations

from ari_app.calls.journal import JournalEntry, JournalKind
from ari_app.demo.report import build_report, call_facts, render_report
from ari_app.settings import PACKAGED_EXAMPLE
from ari_app.sim import CallRecord
from ari_app.vcta import MoveKind, load_topology

T0 = 1_000_000.0


def answered(channel_id: str, endpoint: str, wait_s: float) -> CallRecord:
    return CallRecord(
        channel_id=channel_id,
        routing_key="18",
        number="0612345678",
        app="vcta",
        created_at=T0,
        entered_stasis=True,
        first_talk_at=T0 + wait_s,
        first_talk_endpoint=endpoint,
        ended_at=T0 + wait_s + 60,
        ended_by="caller",
    )


def sample_report() -> dict[str, object]:
    topology = load_topology(PACKAGED_EXAMPLE)  # sdis89 and sdis10 pooled in vcta-89-10
    records = [
        answered("c1", "sdis10-op1", 4.4),  # an sdis89 caller answered by the pool: at home
        answered("c2", "sdis77-op1", 7.6),
        answered("c3", "sdis91-op1", 12.2),  # an sdis77 caller moved to sdis91
    ]
    placed = {"c1": "sdis89", "c2": "sdis77", "c3": "sdis77"}
    moved = JournalEntry(
        "c3", T0 + 5, JournalKind.MOVED, unit="sdis91", details={"kind": str(MoveKind.MUTUAL_AID)}
    )
    return build_report(topology, call_facts(topology, placed, records, [moved], T0 + 100))


def test_answers_of_a_pooled_centre_add_up_as_home_plus_moved_out() -> None:
    report = sample_report()
    centres = report["centres"]
    assert isinstance(centres, dict)
    assert (centres["sdis89"]["answered"], centres["sdis89"]["answered_at_home"]) == (1, 1)
    for figures in [*centres.values(), report["total"]]:
        assert figures["answered"] == figures["answered_at_home"] + figures["overflowed_out"]


def test_rendered_report_has_a_legend_rounded_seconds_and_no_share_of_no_call() -> None:
    text = render_report(sample_report())
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    # secours-national had no call: '-' where a share or a wait would be, not 0% or 0.0.
    assert rows["secours-national"][-3:] == ["-", "-", "-"]
    assert rows["sdis77"][-3:] == ["100%", "12", "12"]
    flat = " ".join(text.split())
    assert (
        "out: moved out to a neighbour or the backup unit by the policy, wherever they were "
        "answered;" in flat
    )
    assert "home: of those, answered by the caller's own centre (or a centre pooled with it" in flat
    # The national line (the helpers' section, when any centre helped, follows it).
    assert (
        "answered within 10/15/20 s: 67% / 100% / 100%; mean answer 8 s; mean of the longest "
        "10%: 12 s; abandon rate 0.0%; lost 0"
    ) in text.splitlines()
