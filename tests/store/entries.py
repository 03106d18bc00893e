"""Journal entries as the call handling writes them, for the store's tests."""

from __future__ import annotations

from ari_app.calls.journal import CallOutcome, JournalEntry, JournalKind


def call_entries(
    call_id: str,
    *,
    start: float = 1_800_000_000.0,
    caller: str = "+33612345678",
    home_centre: str = "sdis77",
    outcome: CallOutcome = CallOutcome.ANSWERED,
    moves: tuple[str, ...] = (),
) -> list[JournalEntry]:
    """A whole call's entries, in order: arrival to end, with ``moves`` to other units."""
    at = start
    entries = [
        JournalEntry(
            call_id,
            at,
            JournalKind.ARRIVED,
            caller=caller,
            details={"routing_key": "77288", "channel_id": f"chan-{call_id}"},
        ),
        JournalEntry(
            call_id, at + 0.1, JournalKind.ROUTED, unit=home_centre, home_centre=home_centre,
            reason="routing key 77288 -> sdis77",
        ),
        JournalEntry(call_id, at + 0.5, JournalKind.WAITING, unit=home_centre),
    ]  # fmt: skip
    unit = home_centre
    for i, target in enumerate(moves, start=1):
        unit = target
        entries.append(
            JournalEntry(call_id, at + 10 * i, JournalKind.MOVED, unit=target, reason="mutual aid")
        )
    end = at + 10 * len(moves) + 20
    if outcome is CallOutcome.ANSWERED:
        position = f"{unit}-op1"
        entries += [
            JournalEntry(call_id, end - 5, JournalKind.OFFERED, unit=unit, position=position),
            JournalEntry(call_id, end - 3, JournalKind.CONNECTED, unit=unit, position=position),
        ]
        end += 60
    entries.append(JournalEntry(call_id, end, JournalKind.ENDED, unit=unit, outcome=outcome))
    return entries
