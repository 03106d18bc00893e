"""The ``/sim`` control routes: positions, calls, DTMF, hangups, dropped streams, state."""

from __future__ import annotations

import aiohttp

from tests.sim.conftest import until
from tests.sim.lab import CALLER_NUMBER, LAB_APP


async def test_controls_need_the_ari_credentials(emu):
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emu.control_url}/state") as response,
    ):
        assert response.status == 401


async def test_positions_are_created_updated_and_listed(emu, http, connect):
    url = f"{emu.control_url}/endpoints/sdis01-op1"
    async with http.put(url, json={"script": "answer:1:30", "callerid": "Poste 1 <0101>"}) as r:
        assert r.status == 201
        assert (await r.json())["script"] == "answer:1:30"
    async with http.put(url, json={"script": "busy", "online": False}) as r:
        body = await r.json()
        assert (r.status, body["script"], body["state"]) == (200, "busy:0.05", "offline")
    async with http.put(url, json={"script": "dance"}) as r:
        assert r.status == 400
        assert "unknown kind 'dance'" in (await r.json())["message"]
    async with http.get(f"{emu.control_url}/endpoints") as r:
        names = [e["resource"] for e in await r.json()]
    assert "sdis01-op1" in names
    assert "carrier" in names


async def test_calls_are_placed_followed_and_hung_up_over_http(emu, http, connect):
    log = await connect()
    async with http.post(
        f"{emu.control_url}/calls",
        json={"routing_key": "112", "number": CALLER_NUMBER, "patience_s": 60},
    ) as r:
        assert r.status == 201
        placed = await r.json()
    assert placed["entered_stasis"] is True
    channel_id = placed["channel_id"]
    start = await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == channel_id)
    assert start["args"] == ["112"]
    async with http.post(
        f"{emu.control_url}/channels/{channel_id}/dtmf", json={"digits": "1#", "between_s": 0}
    ) as r:
        assert r.status == 204
    await log.wait_for("ChannelDtmfReceived", lambda e: e["digit"] == "#")
    async with http.delete(f"{emu.control_url}/calls/{channel_id}") as r:
        assert r.status == 204
    await log.wait_for("StasisEnd", lambda e: e["channel"]["id"] == channel_id)
    async with http.get(f"{emu.control_url}/calls/{channel_id}") as r:
        record = await r.json()
    assert (record["ended_by"], record["unanswered"], record["routing_key"]) == (
        "caller",
        True,
        "112",
    )
    async with http.get(f"{emu.control_url}/calls") as r:
        assert [c["channel_id"] for c in await r.json()] == [channel_id]
    # The caller who hung up is unanswered, a word of its own: the demo's "lost" (must be 0)
    # leaves such callers out, so the emulator does not use that word.
    async with http.get(f"{emu.control_url}/state") as r:
        state = await r.json()
    assert (state["calls"], state["calls_unanswered"]) == (1, 1)
    assert "calls_lost" not in state
    assert "lost" not in record


async def test_unknown_call_or_bad_request_is_refused_clearly(emu, http):
    async with http.delete(f"{emu.control_url}/calls/nope") as r:
        assert (r.status, await r.json()) == (404, {"message": "no live channel 'nope'"})
    async with http.post(f"{emu.control_url}/calls", json={"number": CALLER_NUMBER}) as r:
        assert (r.status, await r.json()) == (400, {"message": "Missing parameter routing_key"})
    async with http.post(
        f"{emu.control_url}/calls", json={"routing_key": "18", "number": "1", "patience_s": "x"}
    ) as r:
        assert r.status == 400
        assert "patience_s must be a number" in (await r.json())["message"]


async def test_remote_hangup_and_stream_drop_over_http(emu, http, connect):
    log = await connect()
    async with http.post(
        f"{emu.control_url}/calls", json={"routing_key": "18", "number": "1"}
    ) as r:
        channel_id = (await r.json())["channel_id"]
    async with http.post(f"{emu.control_url}/event-streams/drop", json={"app": LAB_APP}) as r:
        assert await r.json() == {"dropped": 1}
    await log._reader
    async with http.post(f"{emu.control_url}/channels/{channel_id}/hangup") as r:
        assert r.status == 204
    await until(lambda: emu.channels() == [] and emu.applications() == [])
    async with http.get(f"{emu.control_url}/state") as r:
        state = await r.json()
    assert (state["channels"], state["calls"], state["event_streams"]) == (0, 1, 0)
