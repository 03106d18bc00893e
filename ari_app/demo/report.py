"""What the demo measured, per centre and in total, from the emulator's ground truth.

Every figure comes from what the callers lived (the emulator's records: when each call
arrived, when it first talked to an operator and where, who ended it), not from what the
application believes; the journal only says which calls were moved by mutual aid.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ari_app.calls.journal import JournalEntry, JournalKind
from ari_app.sim import CallRecord
from ari_app.vcta import MoveKind, Topology

SERVICE_THRESHOLDS_S = (10, 15, 20)
_OVERFLOW_KINDS = {str(MoveKind.MUTUAL_AID), str(MoveKind.LAST_RESORT)}


@dataclass(frozen=True, slots=True)
class CallFact:
    """One caller's experience, reduced to what the report counts."""

    call_id: str
    home_centre: str
    answered_by: str | None  # centre of the position that answered
    answered_at_home: bool  # by the home centre, or by a centre pooled with it
    wait_s: float  # until answered, or until the caller hung up, or until now
    answered: bool
    abandoned: bool
    lost: bool
    in_progress: bool
    overflowed: bool  # moved to a neighbour or the backup unit by the policy


def call_facts(
    topology: Topology,
    placed: Mapping[str, str],
    records: Iterable[CallRecord],
    journal: Iterable[JournalEntry],
    now: float,
) -> list[CallFact]:
    """Facts of the calls ``placed`` (channel id -> home centre)."""
    overflowed = {
        entry.call_id
        for entry in journal
        if entry.kind is JournalKind.MOVED and entry.details.get("kind") in _OVERFLOW_KINDS
    }
    by_endpoint = {p.endpoint.split("/", 1)[1]: p.centre for p in topology.position_by_id.values()}
    # A centre pooled in an active virtual CTA is served by every member's positions: an
    # answer there is an answer at home, or answered = home + moved out would not add up.
    home_of = {c.id: c.id for c in topology.centres}
    for vcta in topology.virtual_ctas:
        if vcta.active:
            home_of.update(dict.fromkeys(vcta.members, vcta.id))
    facts = []
    for record in records:
        home = placed.get(record.channel_id)
        if home is None:
            continue
        answered = record.talked
        ended = record.ended
        abandoned = ended and not answered and record.ended_by == "caller"
        end = record.first_talk_at or record.ended_at or now
        answered_by = by_endpoint.get(record.first_talk_endpoint or "")
        at_home = answered_by is not None and home_of.get(answered_by) == home_of.get(home)
        facts.append(
            CallFact(
                call_id=record.channel_id,
                home_centre=home,
                answered_by=answered_by,
                answered_at_home=answered and at_home,
                wait_s=max(0.0, end - record.created_at),
                answered=answered,
                abandoned=abandoned,
                lost=ended and not answered and not abandoned,
                in_progress=not ended and not answered,
                overflowed=record.channel_id in overflowed,
            )
        )
    return facts


def _nearest_rank(sorted_values: Sequence[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def indicators(facts: Sequence[CallFact], overflowed_in: int) -> dict[str, Any]:
    """The report's figures for a set of calls (one centre's home calls, or all)."""
    calls = len(facts)
    answered = sorted(f.wait_s for f in facts if f.answered)
    abandoned = sum(f.abandoned for f in facts)
    longest = answered[-max(1, math.ceil(len(answered) / 10)) :] if answered else []
    report: dict[str, Any] = {
        "calls": calls,
        "answered": len(answered),
        "answered_at_home": sum(f.answered_at_home for f in facts),
        "abandoned": abandoned,
        "in_progress": sum(f.in_progress for f in facts),
        "lost": sum(f.lost for f in facts),
        "overflowed_in": overflowed_in,
        "overflowed_out": sum(f.overflowed for f in facts),
        "wait_p50_s": round(_nearest_rank(answered, 0.5), 1),
        "wait_p90_s": round(_nearest_rank(answered, 0.9), 1),
        "wait_max_s": round(answered[-1], 1) if answered else 0.0,
        "mean_answer_s": round(sum(answered) / len(answered), 1) if answered else 0.0,
        "mean_longest_10pct_s": round(sum(longest) / len(longest), 1) if longest else 0.0,
        "abandon_rate": round(abandoned / calls, 3) if calls else 0.0,
    }
    for threshold in SERVICE_THRESHOLDS_S:
        within = sum(1 for wait in answered if wait <= threshold)
        report[f"answered_within_{threshold}s"] = round(within / calls, 3) if calls else 0.0
    return report


def build_report(topology: Topology, facts: Sequence[CallFact]) -> dict[str, Any]:
    """``{"total": {...}, "centres": {"<centre id>": {...}}, "helped": {...}}``, centres in
    topology order; ``helped`` lists the centres that answered other centres' calls."""
    centres: dict[str, Any] = {}
    for centre in topology.centres:
        home = [f for f in facts if f.home_centre == centre.id]
        taken_in = sum(
            1 for f in facts if f.overflowed and f.answered and f.answered_by == centre.id
        )
        centres[centre.id] = indicators(home, taken_in)
    total = indicators(facts, sum(1 for f in facts if f.overflowed and f.answered))
    return {"total": total, "centres": centres, "helped": helpers(facts, centres)}


def helpers(facts: Sequence[CallFact], centres: Mapping[str, Any]) -> dict[str, Any]:
    """Who helped whom, and what it cost them: the calls of other centres each one answered,
    by centre, next to its own callers' service (the simulator measures the cost paired)."""
    helped: dict[str, Any] = {}
    for fact in facts:
        helper = fact.answered_by
        # A centre pooled with the caller's in a virtual CTA answers its own queue: no help.
        if not fact.answered or helper is None or fact.answered_at_home:
            continue
        entry = helped.setdefault(helper, {"calls": 0, "for": {}})
        entry["calls"] += 1
        entry["for"][fact.home_centre] = entry["for"].get(fact.home_centre, 0) + 1
    for helper, entry in helped.items():
        own = centres.get(helper)
        entry["own_calls"] = own["calls"] if own else 0
        entry["own_answered_within_15s"] = own["answered_within_15s"] if own else 0.0
        entry["own_abandon_rate"] = own["abandon_rate"] if own else 0.0
    return helped


_COLUMNS = (
    ("calls", "calls"),
    ("answered", "answ"),
    ("answered_at_home", "home"),
    ("overflowed_out", "out"),
    ("overflowed_in", "in"),
    ("abandoned", "aband"),
    ("lost", "lost"),
    ("answered_within_15s", "<=15s"),
    ("wait_p90_s", "p90 s"),
    ("wait_max_s", "max s"),
)


LEGEND = (
    "calls: reached the application; answ: talked to an operator; home: of those, answered by"
    " the caller's own centre (or a centre pooled with it in a virtual CTA); out: moved out to"
    " a neighbour or the backup unit by the policy, wherever they were answered; in: other"
    " centres' moved calls answered here; aband: the caller hung up before an operator; lost:"
    " ended without an operator and not by the caller (must be 0); <=15s: share of all calls"
    " answered within 15 s; p90 s, max s: seconds to answer of answered calls. '-': no call."
)


def _cell(key: str, figures: Mapping[str, Any]) -> str:
    value = figures[key]
    if key.startswith("answered_within") or key.startswith("wait_"):
        if not figures["calls"] or (key.startswith("wait_") and not figures["answered"]):
            return "-"  # a share or a wait of no call is not 0% nor 0 s
        if key.startswith("answered_within"):
            return f"{value:.0%}"
        return f"{value:.0f}"
    return str(value)


def _seconds(value: float) -> str:
    return f"{value:.0f} s"


def render_report(report: Mapping[str, Any]) -> str:
    """The report as a table a person reads, with the legend of its columns."""
    header = f"{'centre':<18}" + "".join(f"{title:>8}" for _, title in _COLUMNS)
    lines = [header, "-" * len(header)]
    rows = [*report["centres"].items(), ("total", report["total"])]
    for name, figures in rows:
        lines.append(f"{name:<18}" + "".join(f"{_cell(key, figures):>8}" for key, _ in _COLUMNS))
    total = report["total"]
    lines.append("")
    lines.extend(textwrap.wrap(LEGEND, width=len(header)))
    lines.append("")
    if not total["calls"]:
        lines.append("no call was placed; lost 0")
        return "\n".join(lines)
    lines.append(
        "answered within 10/15/20 s: "
        f"{total['answered_within_10s']:.0%} / {total['answered_within_15s']:.0%} / "
        f"{total['answered_within_20s']:.0%}; mean answer {_seconds(total['mean_answer_s'])}; "
        f"mean of the longest 10%: {_seconds(total['mean_longest_10pct_s'])}; "
        f"abandon rate {total['abandon_rate']:.1%}; lost {total['lost']}"
    )
    helped = report.get("helped", {})
    if helped:
        lines.append("")
        lines.append("centres that answered other centres' calls, and their own callers meanwhile:")
        for helper, entry in helped.items():
            origins = ", ".join(f"{n} of {home}" for home, n in entry["for"].items())
            own = (
                f"own callers {entry['own_answered_within_15s']:.0%} answered within 15 s, "
                f"abandon {entry['own_abandon_rate']:.1%}"
                if entry["own_calls"]
                else "no callers of its own"
            )
            calls = f"{entry['calls']} call" + ("s" if entry["calls"] != 1 else "")
            lines.append(f"  {helper}: {calls} ({origins}); {own}")
        lines.append(
            "  (what helping cost each of them is measured paired, with intervals, by "
            "ari-app simulate examples/scenarios/storm-77.toml)"
        )
    return "\n".join(lines)
