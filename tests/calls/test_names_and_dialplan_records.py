"""Names that survive a restart, and the records the dialplan's hangup handler writes."""

from __future__ import annotations

from ari_app.calls.astdb import FallbackCall
from ari_app.calls.ids import CallNames


def test_leg_ids_of_two_runs_differ_and_both_name_their_call() -> None:
    before, after = CallNames("vcta"), CallNames("vcta")
    old, new = before.operator_leg("1733059200.42", 1), after.operator_leg("1733059200.42", 1)
    assert old != new
    assert after.call_of_leg(old) == after.call_of_leg(new) == "1733059200.42"
    assert after.call_of_leg("vcta-op-1733059200.42-3") == "1733059200.42"
    assert after.call_of_leg("1733059200.42") is None


def test_reader_of_an_earlier_run_is_stale_and_ours_is_not() -> None:
    before, after = CallNames("vcta"), CallNames("vcta")
    assert after.is_stale_reader(before.astdb_reader(1))
    assert not after.is_stale_reader(after.astdb_reader(1))
    assert not after.is_stale_reader(after.operator_leg("1.2", 1))


def test_answered_fallback_record_gives_position_and_answer_time() -> None:
    call = FallbackCall.parse(
        "1733059200.42", "1733059200.5|1733059260.5|45000|sdis77-op2-0000000a|77288|0612345678"
    )
    assert call is not None
    assert call.endpoint == "PJSIP/sdis77-op2"
    assert call.answered_at == 1733059215.5
    assert (call.routing_key, call.caller) == ("77288", "0612345678")


def test_unanswered_or_damaged_fallback_records() -> None:
    unanswered = FallbackCall.parse("1.2", "10.0|20.0|||18|")
    assert unanswered is not None
    assert unanswered.answered_at is None
    assert unanswered.endpoint is None
    assert FallbackCall.parse("1.2", "10.0|20.0") is None
    assert FallbackCall.parse("1.2", "x|20.0|||18|") is None
