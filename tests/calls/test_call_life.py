"""A call's life through the application, against the emulator."""

from __future__ import annotations

from ari_app.calls.journal import CallOutcome, JournalKind
from ari_app.sim import Answer
from tests.calls.harness import running


async def test_call_is_answered_at_home_recorded_and_leaves_nothing_behind() -> None:
    async with running(script=Answer(after_s=1.0, talk_s=5.0)) as h:
        call = await h.call("18")
        endpoint = await h.until_talking(call)
        assert endpoint.startswith("sdis77-op")
        ended = await h.until_ended(call)
        assert ended.outcome is CallOutcome.ANSWERED
        assert ended.details["ended_by"] == "operator"
        assert h.kinds(call)[:4] == [
            JournalKind.ARRIVED,
            JournalKind.ROUTED,
            JournalKind.WAITING,
            JournalKind.OFFERED,
        ]
        assert JournalKind.CONNECTED in h.kinds(call)
        assert [r["name"] for r in h.emulator.stored_recordings()] == [call]
        await h.until_idle()
