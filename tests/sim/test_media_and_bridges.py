"""Playbacks, recordings, bridges, subscriptions and the less common channel operations."""

from __future__ import annotations

from typing import Any

import aiohttp

from ari_app.sim import Answer, Emulator
from tests.sim.conftest import EventLog
from tests.sim.lab import LAB_APP
from tests.sim.test_control_api import answered_caller, bridge_with, originate


async def post(http: aiohttp.ClientSession, url: str, **params: Any) -> tuple[int, Any]:
    async with http.post(url, params={k: str(v) for k, v in params.items()}) as response:
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


async def operator_in_stasis(emu: Emulator, http: aiohttp.ClientSession, log: EventLog) -> str:
    emu.set_script("sdis77-op1", Answer(after_s=0.1))
    _, channel = await originate(http, emu, "sdis77-op1")
    await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == channel["id"])
    return str(channel["id"])


async def test_playbacks_on_a_channel_play_one_after_another(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    url = f"{emu.base_url}/channels/{caller}/play"
    _, first = await post(http, url, media="tone:ring")  # plays until stopped
    _, second = await post(http, url, media="sound:beep")
    assert (first["state"], second["state"]) == ("queued", "queued")
    async with http.get(f"{emu.base_url}/playbacks/{second['id']}") as response:
        assert (await response.json())["state"] == "queued"
    async with http.delete(f"{emu.base_url}/playbacks/{first['id']}") as response:
        assert response.status == 204
    await log.wait_for("PlaybackFinished", lambda e: e["playback"]["id"] == second["id"])
    order = [
        (e["type"], e["playback"]["id"]) for e in log.events if e["type"].startswith("Playback")
    ]
    assert order == [
        ("PlaybackStarted", first["id"]),
        ("PlaybackFinished", first["id"]),
        ("PlaybackStarted", second["id"]),
        ("PlaybackFinished", second["id"]),
    ]
    async with http.get(f"{emu.base_url}/playbacks/{first['id']}") as response:
        assert response.status == 404


async def test_stopping_a_playback_finishes_it_and_forgets_the_queued_one(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    url = f"{emu.base_url}/channels/{caller}/play"
    _, playing = await post(http, url, media="tone:ring")
    _, queued = await post(http, url, media="sound:beep", playbackId="my-playback")
    assert queued["id"] == "my-playback"
    async with http.delete(f"{emu.base_url}/playbacks/{queued['id']}") as response:
        assert response.status == 204
    async with http.delete(f"{emu.base_url}/playbacks/{playing['id']}") as response:
        assert response.status == 204
    finished = await log.wait_for("PlaybackFinished")
    assert (finished["playback"]["id"], finished["playback"]["state"]) == (playing["id"], "done")
    assert emu.playbacks() == []
    assert not any(e["playback"]["id"] == "my-playback" for e in log.events if "playback" in e)


async def test_playback_on_a_bridge_targets_the_bridge(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    bridge = await bridge_with(emu, http, caller)
    status, playback = await post(http, f"{emu.base_url}/bridges/{bridge}/play", media="sound:beep")
    assert status == 201
    assert playback["target_uri"] == f"bridge:{bridge}"
    await log.wait_for("PlaybackFinished", lambda e: e["playback"]["id"] == playback["id"])
    async with http.get(f"{emu.base_url}/bridges/{bridge}") as response:
        snapshot = await response.json()
    # The announcer stays in the bridge, hidden from REST, and the bridge mixes in softmix.
    assert (snapshot["channels"], snapshot["technology"]) == ([caller], "softmix")


async def test_bridge_recording_is_stored_and_served_as_a_wav_file(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    operator = await operator_in_stasis(emu, http, log)
    bridge = await bridge_with(emu, http, caller, operator)
    status, live = await post(
        http, f"{emu.base_url}/bridges/{bridge}/record", name="call-1", format="wav"
    )
    assert (status, live["state"], live["target_uri"]) == (201, "queued", f"bridge:{bridge}")
    await log.wait_for("RecordingStarted")
    assert (await post(http, f"{emu.base_url}/recordings/live/call-1/stop"))[0] == 204
    finished = await log.wait_for("RecordingFinished")
    assert finished["recording"]["state"] == "done"
    assert isinstance(finished["recording"]["duration"], int)
    assert emu.stored_recordings() == [{"name": "call-1", "format": "wav"}]
    async with http.get(f"{emu.base_url}/recordings/stored/call-1/file") as response:
        assert response.content_type == "audio/wav"
        assert (await response.read())[:4] == b"RIFF"
    async with http.get(f"{emu.base_url}/recordings/live/call-1") as response:
        assert response.status == 404


async def test_recording_requests_are_checked_like_asterisk(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    bridge = await bridge_with(emu, http, caller)
    url = f"{emu.base_url}/bridges/{bridge}/record"
    assert (await post(http, url, name="r", format="mp9"))[0] == 422
    assert (await post(http, url, name="r", format="wav", ifExists="maybe"))[0] == 400
    assert (await post(http, url, name="r", format="wav", terminateOn="x"))[0] == 400
    assert (await post(http, url, name="r", format="wav"))[0] == 201
    status, body = await post(http, url, name="r", format="wav")
    assert (status, body) == (
        409,
        {"message": "Recording 'r' already exists and can not be overwritten"},
    )


async def test_recording_ends_when_the_last_channel_leaves_the_bridge(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    bridge = await bridge_with(emu, http, caller)
    await post(http, f"{emu.base_url}/bridges/{bridge}/record", name="alone", format="wav")
    await emu.hang_up_caller(caller)
    finished = await log.wait_for("RecordingFinished")
    assert finished["recording"]["state"] == "done"
    assert [r["name"] for r in emu.stored_recordings()] == ["alone"]


async def test_recording_stops_at_its_maximum_duration(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    await post(
        http,
        f"{emu.base_url}/channels/{caller}/record",
        name="short",
        format="wav",
        maxDurationSeconds=1,
    )
    finished = await log.wait_for("RecordingFinished")
    assert (finished["recording"]["state"], finished["recording"]["duration"]) == ("done", 1)


async def test_canceled_recording_is_not_stored(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    await post(http, f"{emu.base_url}/channels/{caller}/record", name="gone", format="wav")
    async with http.delete(f"{emu.base_url}/recordings/live/gone") as response:
        assert response.status == 204
    assert (await log.wait_for("RecordingFinished"))["recording"]["state"] == "canceled"
    assert emu.stored_recordings() == []


async def test_channel_recording_stops_on_its_terminating_digit(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    await post(
        http,
        f"{emu.base_url}/channels/{caller}/record",
        name="until-hash",
        format="wav",
        terminateOn="#",
    )
    await emu.send_dtmf(caller, "1#", between_s=0.1)
    assert (await log.wait_for("RecordingFinished"))["recording"]["name"] == "until-hash"


async def test_created_channel_enters_stasis_down_and_dials_later(emu, http, connect):
    log = await connect()
    emu.set_script("sdis77-op1", Answer(after_s=0.2))
    status, channel = await post(
        http, f"{emu.base_url}/channels/create", endpoint="PJSIP/sdis77-op1", app=LAB_APP
    )
    assert status == 200
    start = await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == channel["id"])
    assert start["channel"]["state"] == "Down"
    # A channel not answered yet refuses media operations.
    assert (await post(http, f"{emu.base_url}/channels/{channel['id']}/answer"))[0] == 412
    assert (await post(http, f"{emu.base_url}/channels/{channel['id']}/dial"))[0] == 204
    await log.wait_for("Dial", lambda e: e["dialstatus"] == "ANSWER")
    assert log.of(channel["id"]).count("StasisStart") == 1
    assert (await post(http, f"{emu.base_url}/channels/{channel['id']}/dial"))[0] == 409


async def test_moving_a_channel_to_another_application(emu, http, connect):
    log = await connect(f"{LAB_APP},supervision")
    caller = await answered_caller(emu, http, log)
    status, _ = await post(
        http, f"{emu.base_url}/channels/{caller}/move", app="supervision", appArgs="x,y"
    )
    assert status == 204
    start = await log.wait_for("StasisStart", lambda e: e["application"] == "supervision")
    assert start["args"] == ["x", "y"]
    ended = [e["application"] for e in log.events if e["type"] == "StasisEnd"]
    assert ended == [LAB_APP]


async def test_continue_back_to_the_stasis_priority_reenters_the_application(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    status, _ = await post(http, f"{emu.base_url}/channels/{caller}/continue", priority=2)
    assert status == 204
    first = await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == caller)
    again = await log.wait_for(
        "StasisStart", lambda e: e["channel"]["id"] == caller, after=log.events.index(first) + 1
    )
    assert again["args"] == ["18"]
    assert log.of(caller)[-2:] == ["StasisEnd", "StasisStart"]


async def test_hangup_reason_sets_the_destroy_cause(emu, http, connect):
    log = await connect()
    operator = await operator_in_stasis(emu, http, log)
    url = f"{emu.base_url}/channels/{operator}"
    async with http.delete(url, params={"reason": "sideways"}) as response:
        assert (response.status, response.reason) == (400, "Invalid Reason")
    async with http.delete(url, params={"reason": "busy"}) as response:
        assert response.status == 204
    destroyed = await log.wait_for("ChannelDestroyed")
    assert (destroyed["cause"], destroyed["cause_txt"]) == (17, "User busy")
    request = await log.wait_for("ChannelHangupRequest")
    assert (request["cause"], request["soft"]) == (32, True)


async def test_subscription_errors_say_what_is_wrong(emu, http, connect):
    await connect()
    url = f"{emu.base_url}/applications/{LAB_APP}/subscription"
    assert (await post(http, url, eventSource="nonsense:x"))[0] == 400
    assert (await post(http, url, eventSource="channel:nope"))[0] == 422
    assert (await post(http, url, eventSource="endpoint:PJSIP/nobody"))[0] == 422
    assert (
        await post(
            http, f"{emu.base_url}/applications/nope/subscription", eventSource="endpoint:PJSIP"
        )
    )[0] == 404
    async with http.delete(url, params={"eventSource": "deviceState:PJSIP/sdis77-op1"}) as r:
        assert (r.status, await r.json()) == (
            409,
            {"message": "Application not subscribed to event source"},
        )


async def test_event_filter_holds_back_disallowed_events(emu, http, connect):
    log = await connect()
    async with http.put(
        f"{emu.base_url}/applications/{LAB_APP}/eventFilter",
        json={"disallowed": [{"type": "ChannelStateChange"}]},
    ) as response:
        assert (await response.json())["events_disallowed"] == [{"type": "ChannelStateChange"}]
    caller = await answered_caller(emu, http, log)
    await emu.hang_up_caller(caller)
    await log.wait_for("StasisEnd")
    assert "ChannelStateChange" not in log.of(caller)


async def test_endpoint_subscription_duplicates_channel_events(emu, http, connect):
    log = await connect()
    url = f"{emu.base_url}/applications/{LAB_APP}/subscription"
    status, app = await post(http, url, eventSource="endpoint:PJSIP/sdis77-op1")
    assert (status, app["endpoint_ids"]) == (200, ["PJSIP/sdis77-op1"])
    operator = await operator_in_stasis(emu, http, log)
    types = log.of(operator)
    assert types.count("Dial") == 6  # "", RINGING, ANSWER, each delivered twice
    assert types.count("StasisStart") == 1
    assert types[0] == "ChannelCreated"


async def test_destroying_a_bridge_lets_its_channels_leave_first(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    bridge = await bridge_with(emu, http, caller, kind="holding")
    async with http.delete(f"{emu.base_url}/bridges/{bridge}") as response:
        assert response.status == 204
    await log.wait_for("BridgeDestroyed")
    assert [e["type"] for e in log.events][-2:] == ["ChannelLeftBridge", "BridgeDestroyed"]
    assert caller in {c["id"] for c in emu.channels()}  # still in Stasis, bridged nowhere


async def test_local_caller_not_answered_within_the_originate_timeout_goes(emu, http, connect):
    log = await connect()
    params = {
        "endpoint": "Local/112@test-callers",
        "context": "test-callers",
        "extension": "wait",
        "timeout": "2",
    }
    status, first = await post(http, f"{emu.base_url}/channels", **params)
    assert status == 200
    start = await log.wait_for("StasisStart")
    assert (start["args"], start["channel"]["state"]) == (["112"], "Ring")
    second = start["channel"]["id"]
    await log.wait_for("StasisEnd", lambda e: e["channel"]["id"] == second)
    assert emu.channels() == []
    record = emu.call(second)
    assert record is not None
    assert (record.routing_key, record.unanswered) == ("112", True)
    assert first["name"].endswith(";1")
