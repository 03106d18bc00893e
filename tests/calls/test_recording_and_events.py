"""What the application asks of Asterisk once connected: only the events it uses, and who
records the calls (the dialplan's MixMonitor, the application over ARI, or nobody)."""

from __future__ import annotations

from ari_app.calls.config import RECORD_VARIABLE, Recording
from ari_app.calls.journal import JournalKind
from ari_app.calls.recovery import EVENTS_USED
from ari_app.sim import Answer
from tests.calls.harness import running

TALK = Answer(after_s=0.5, talk_s=2.0)


async def test_asterisk_is_asked_for_the_used_event_types_only() -> None:
    async with running(script=TALK) as h:
        app = h.emulator.pbx.apps.get(h.service.settings.app_name)
        assert app is not None
        assert [rule["type"] for rule in app.allowed] == list(EVENTS_USED)
        # The filter does not cost a call: one still goes from arrival to its end.
        call = await h.call("18")
        await h.until_talking(call)
        await h.until_ended(call)


async def test_recorded_over_ari_the_dialplan_is_told_not_to_record_too() -> None:
    async with running(script=TALK, recording=Recording.BRIDGE) as h:
        assert h.emulator.pbx.global_variables[RECORD_VARIABLE] == "no"
        call = await h.call("18")
        connected = await h.until_journal(call, JournalKind.CONNECTED)
        assert connected.details["recording"] == call
        await h.until_ended(call)
        assert [r["name"] for r in h.emulator.stored_recordings()] == [call]


async def test_recorded_by_the_dialplan_the_application_records_nothing_itself() -> None:
    async with running(script=TALK, recording=Recording.DIALPLAN) as h:
        assert h.emulator.pbx.global_variables[RECORD_VARIABLE] == "yes"
        call = await h.call("18")
        connected = await h.until_journal(call, JournalKind.CONNECTED)
        # The dialplan's MixMonitor file has the call id for name (asterisk/etc).
        assert connected.details["recording"] == call
        await h.until_ended(call)
        assert h.emulator.stored_recordings() == []


async def test_not_recorded_at_all_the_journal_says_so() -> None:
    async with running(script=TALK, recording=Recording.OFF) as h:
        assert h.emulator.pbx.global_variables[RECORD_VARIABLE] == "no"
        call = await h.call("18")
        connected = await h.until_journal(call, JournalKind.CONNECTED)
        assert connected.details["recording"] is None
        await h.until_ended(call)
        assert h.emulator.stored_recordings() == []
