"""Calls through a real Asterisk 22: what Asterisk itself reports, and the journal."""

from __future__ import annotations

from tests.asterisk.bed import (
    Application,
    AsteriskNode,
    SipPeers,
    caller_channel,
    eventually,
    journal,
    kinds,
    running,
)


async def test_happy_path_connects_records_and_leaves_nothing(
    ready_asterisk: AsteriskNode, peers: SipPeers, app: Application
) -> None:
    await peers.position("sdis77-op1", "answer", ring_ms=300)
    async with running(app):
        await eventually(
            lambda: ready_asterisk.endpoint("sdis77-op1"),
            what="the position's endpoint",
        )
        call = await peers.call("77288", caller="0611111111", hold_s=6)
        channel = await caller_channel(ready_asterisk, "0611111111")
        call_id = channel["id"]

        async def talking() -> bool:
            bridges = await ready_asterisk.bridges()
            return any(
                b["id"] == f"vcta-talk-{call_id}" and len(b["channels"]) == 2 for b in bridges
            )

        await eventually(talking, within=15, what="caller and operator in the talk bridge")
        assert await call.wait(30) == 0, call.output()

        async def nothing_left() -> bool:
            return not await ready_asterisk.channels() and not await ready_asterisk.bridges()

        await eventually(nothing_left, within=10, what="no channel and no bridge left")
        recordings = await ready_asterisk.stored_recordings()
        assert call_id in recordings
        audio = await ready_asterisk.recording_file(call_id)
        assert audio[:4] == b"RIFF", "the recording is not a WAV file"
        assert len(audio) > 44, "the recording has no audio"
        rows = await eventually(
            lambda: (
                (r := journal(app.env["ARI_APP_DATABASE_DSN"], call_id))
                and r[-1]["kind"] == "ended"
                and r
            ),
            what="the call's end in the journal",
        )
        assert kinds(rows)[:2] == ["arrived", "routed"]
        assert "connected" in kinds(rows)
        assert rows[-1]["outcome"] == "answered"
        assert rows[-1]["position"] == "sdis77-op1"
