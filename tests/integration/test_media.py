"""Playbacks on a channel and on a bridge (finished, failed, never finished), and a bridge
recorded into a stored recording that is listed, fetched and deleted."""

from __future__ import annotations

import pytest

from ari_app.sim import Emulator
from ari_app.stasis import (
    AriClient,
    NotFound,
    PlaybackFinished,
    PlaybackStarted,
    RecordingFinished,
    RecordingStarted,
)
from tests.integration.flows import answered_caller, operator_in_stasis
from tests.integration.recorder import EventRecorder, playback_id_of


async def talking_bridge(emu: Emulator, ari: AriClient, events: EventRecorder) -> str:
    """A mixing bridge with an answered caller and an operator in it."""
    caller = await answered_caller(emu, ari, events)
    operator = await operator_in_stasis(ari, events)
    bridge = await ari.bridges.create(bridge_type="mixing", bridge_id="cta-77")
    await ari.bridges.add_channel(bridge.id, [caller, operator.id])
    return bridge.id


async def test_sound_played_to_a_channel_starts_then_finishes(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    caller = await answered_caller(emu, ari, events)
    playback = await ari.channels.play(caller, "sound:hello-world", playback_id="pb-accueil")
    assert (playback.id, playback.state) == ("pb-accueil", "queued")
    assert playback.target_uri == f"channel:{caller}"
    finished = await events.wait_for(PlaybackFinished, lambda e: e.playback.id == "pb-accueil")
    assert finished.playback.state == "done"
    started = events.find(PlaybackStarted, lambda e: e.playback.id == "pb-accueil")
    assert [s.playback.state for s in started] == ["playing"]
    assert events.position(started[0]) < events.position(finished)
    with pytest.raises(NotFound):
        await ari.playbacks.get("pb-accueil")


async def test_sound_played_to_a_bridge_is_heard_by_everyone_in_it(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    bridge_id = await talking_bridge(emu, ari, events)
    playback = await ari.bridges.play(bridge_id, "sound:beep")
    assert playback.target_uri == f"bridge:{bridge_id}"
    playing = await ari.playbacks.get(playback.id)
    assert playing.state in ("queued", "playing")
    finished = await events.wait_for(PlaybackFinished, lambda e: e.playback.id == playback.id)
    assert (finished.playback.state, finished.playback.target_uri) == (
        "done",
        f"bridge:{bridge_id}",
    )


async def test_missing_sound_file_finishes_as_failed(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    caller = await answered_caller(emu, ari, events)
    playback = await ari.channels.play(caller, "sound:no-such-sound-file")
    assert playback.state == "queued"  # Asterisk accepts it: the failure comes as an event
    finished = await events.wait_for(PlaybackFinished, lambda e: e.playback.id == playback.id)
    assert finished.playback.state == "failed"
    assert len(events.find(PlaybackStarted, lambda e: e.playback.id == playback.id)) == 1


async def test_unknown_media_scheme_starts_never_finishes_and_is_unknown_to_get(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    caller = await answered_caller(emu, ari, events)
    lost = await ari.channels.play(caller, "nosuchscheme:foo")
    await events.wait_for(PlaybackStarted, lambda e: e.playback.id == lost.id)
    with pytest.raises(NotFound) as unknown:
        await ari.playbacks.get(lost.id)
    assert unknown.value.message == "Playback not found"
    # A playback queued behind it plays and finishes; the lost one never reports an end.
    after = await ari.channels.play(caller, "sound:beep")
    await events.wait_for(PlaybackFinished, lambda e: e.playback.id == after.id)
    assert [
        (item.type, playback_id_of(item))
        for item in events.items
        if isinstance(item, PlaybackStarted | PlaybackFinished)
    ] == [
        ("PlaybackStarted", lost.id),
        ("PlaybackStarted", after.id),
        ("PlaybackFinished", after.id),
    ]


async def test_recorded_bridge_becomes_a_stored_recording_until_deleted(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    bridge_id = await talking_bridge(emu, ari, events)
    live = await ari.bridges.record(
        bridge_id,
        "call-42-cta77",
        "wav",
        max_duration_seconds=3,
        if_exists="overwrite",
        beep=False,
        terminate_on="none",
    )
    assert (live.name, live.state, live.target_uri) == (
        "call-42-cta77",
        "queued",
        f"bridge:{bridge_id}",
    )
    started = await events.wait_for(RecordingStarted)
    assert started.recording.state == "recording"
    finished = await events.wait_for(RecordingFinished)
    assert (finished.recording.name, finished.recording.state) == ("call-42-cta77", "done")
    assert finished.recording.duration == 3  # seconds of the emulator's clock
    stored = await ari.recordings.list_stored()
    assert [(r.name, r.format) for r in stored] == [("call-42-cta77", "wav")]
    assert (await ari.recordings.get_stored("call-42-cta77")).format == "wav"
    await ari.recordings.delete_stored("call-42-cta77")
    with pytest.raises(NotFound) as deleted:
        await ari.recordings.get_stored("call-42-cta77")
    assert deleted.value.message == "Recording not found"
    assert await ari.recordings.list_stored() == ()


async def test_recording_stopped_by_the_application_is_kept(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    bridge_id = await talking_bridge(emu, ari, events)
    await ari.bridges.record(bridge_id, "call-43-cta77", "wav", if_exists="overwrite")
    await events.wait_for(RecordingStarted)
    assert (await ari.recordings.get_live("call-43-cta77")).state == "recording"
    assert (await ari.bridges.get(bridge_id)).technology == "softmix"
    await ari.recordings.stop_live("call-43-cta77")
    finished = await events.wait_for(RecordingFinished)
    assert finished.recording.state == "done"
    with pytest.raises(NotFound):
        await ari.recordings.get_live("call-43-cta77")
    assert [r.name for r in await ari.recordings.list_stored()] == ["call-43-cta77"]
