"""The in-process controls: position scripts, callers, patience, DTMF, and the ground truth."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from ari_app.clock import ScaledClock
from ari_app.sim import Answer, Emulator, EmulatorError, NoAnswer, Reject, Ring, Unreachable
from tests.sim.conftest import EventLog, until
from tests.sim.lab import CALLER_NUMBER, LAB_APP, basic_auth


async def originate(
    http: aiohttp.ClientSession, emu: Emulator, endpoint: str, **params: str
) -> tuple[int, Any]:
    query = {"endpoint": f"PJSIP/{endpoint}", "app": LAB_APP, "appArgs": "operator", **params}
    async with http.post(f"{emu.base_url}/channels", params=query) as response:
        return response.status, await response.json()


async def answered_caller(
    emu: Emulator, http: aiohttp.ClientSession, log: EventLog, **kwargs: Any
) -> str:
    caller = await emu.place_call("18", CALLER_NUMBER, **kwargs)
    assert caller.entered_stasis
    await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == caller.channel_id)
    async with http.post(f"{emu.base_url}/channels/{caller.channel_id}/answer") as response:
        assert response.status == 204
    return caller.channel_id


async def bridge_with(
    emu: Emulator, http: aiohttp.ClientSession, *channel_ids: str, kind: str = "mixing"
) -> str:
    async with http.post(f"{emu.base_url}/bridges", params={"type": kind}) as response:
        bridge_id: str = (await response.json())["id"]
    for channel_id in channel_ids:
        url = f"{emu.base_url}/bridges/{bridge_id}/addChannel"
        async with http.post(url, params={"channel": channel_id}) as response:
            assert response.status == 204
    return bridge_id


async def test_answering_position_enters_stasis_with_the_originate_args(emu, http, connect):
    log = await connect()
    status, channel = await originate(http, emu, "sdis77-op1")
    assert status == 200
    start = await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == channel["id"])
    assert start["args"] == ["operator"]
    assert start["channel"]["state"] == "Up"
    assert log.of(channel["id"])[-1] == "StasisStart"
    assert "Dial" in log.of(channel["id"])


async def test_rejecting_position_declines_with_cause_21_after_ringing(emu, http, connect):
    log = await connect()
    emu.set_script("sdis77-op1", Reject(after_s=0.5))
    _, _channel = await originate(http, emu, "sdis77-op1")
    destroyed = await log.wait_for("ChannelDestroyed")
    assert (destroyed["cause"], destroyed["tech_cause"]) == (21, 603)
    assert destroyed["cause_txt"] == "Call Rejected"
    assert destroyed["channel"]["state"] == "Ringing"
    request = await log.wait_for("ChannelHangupRequest")
    assert request["cause"] == 21
    statuses = [e["dialstatus"] for e in log.events if e["type"] == "Dial"]
    assert statuses == ["", "RINGING", "NOANSWER"]


async def test_unreachable_script_fails_the_originate_without_events(emu, http, connect):
    log = await connect()
    emu.set_script("sdis77-op1", Unreachable())
    status, body = await originate(http, emu, "sdis77-op1")
    assert (status, body) == (500, {"error": "Allocation failed"})
    assert emu.channels() == []
    assert log.events == []


async def test_unregistered_position_fails_allocation_until_it_registers(emu, http, connect):
    await connect()
    emu.set_online("sdis77-op1", False)
    assert (await originate(http, emu, "sdis77-op1"))[0] == 500
    emu.set_online("sdis77-op1", True)
    assert (await originate(http, emu, "sdis77-op1"))[0] == 200


async def test_no_answer_rings_until_the_originate_timeout(emu, http, connect):
    log = await connect()
    _, channel = await originate(http, emu, "sdis83-op1", timeout="2")
    destroyed = await log.wait_for("ChannelDestroyed")
    assert (destroyed["cause"], destroyed["tech_cause"]) == (19, 480)
    assert [e["dialstatus"] for e in log.events if e["type"] == "Dial"] == ["", "RINGING"]
    assert "ChannelHangupRequest" not in log.of(channel["id"])


async def test_application_hanging_up_a_ringing_position_ends_the_dial(emu, http, connect):
    log = await connect()
    _, channel = await originate(http, emu, "sdis83-op1")
    await log.wait_for("Dial", lambda e: e["dialstatus"] == "RINGING")
    async with http.delete(f"{emu.base_url}/channels/{channel['id']}") as response:
        assert response.status == 204
    destroyed = await log.wait_for("ChannelDestroyed")
    assert destroyed["cause"] == 16
    assert log.of(channel["id"])[-3:] == ["ChannelHangupRequest", "Dial", "ChannelDestroyed"]
    assert [e["dialstatus"] for e in log.events if e["type"] == "Dial"][-1] == "NOANSWER"


async def test_operator_hangs_up_after_talk_time_and_the_caller_stays(emu, http, connect):
    log = await connect()
    emu.set_script("sdis77-op1", Answer(after_s=0.5, talk_s=10.0))
    caller = await answered_caller(emu, http, log)
    _, operator = await originate(http, emu, "sdis77-op1")
    await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == operator["id"])
    await bridge_with(emu, http, caller, operator["id"])
    destroyed = await log.wait_for("ChannelDestroyed")
    assert destroyed["channel"]["id"] == operator["id"]
    request = next(e for e in log.events if e["type"] == "ChannelHangupRequest")
    assert "cause" not in request  # a BYE from the position
    assert emu.call(caller) is not None
    assert not emu.call(caller).ended
    async with http.delete(f"{emu.base_url}/channels/{caller}") as response:
        assert response.status == 204
    record = emu.call(caller)
    assert record is not None
    assert record.ended_by == "operator"
    assert record.first_talk_endpoint == "sdis77-op1"
    assert record.talk_s > 0
    assert not record.unanswered


@dataclass
class Alternating:
    """A custom script: answers one call in two, busy otherwise; keeps what it was told."""

    rings: list[Ring] = field(default_factory=list)

    def on_ring(self, ring: Ring) -> Answer | NoAnswer:
        self.rings.append(ring)
        return Answer(after_s=0.1) if len(self.rings) % 2 else NoAnswer()


async def test_custom_script_decides_each_ring(emu, http, connect):
    log = await connect()
    script = Alternating()
    emu.set_script("sdis77-op2", script)
    _, first = await originate(http, emu, "sdis77-op2", callerId='"Appel 18" <0612345678>')
    _, second = await originate(http, emu, "sdis77-op2", timeout="1")
    await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == first["id"])
    await log.wait_for("ChannelDestroyed", lambda e: e["channel"]["id"] == second["id"])
    assert [r.channel_id for r in script.rings] == [first["id"], second["id"]]
    assert (script.rings[0].caller_name, script.rings[0].caller_number) == (
        "Appel 18",
        "0612345678",
    )
    assert script.rings[0].endpoint == "sdis77-op2"
    assert (script.rings[0].active_calls, script.rings[1].active_calls) == (0, 1)


async def test_caller_without_an_operator_hangs_up_when_patience_runs_out(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log, patience_s=2.0)
    await log.wait_for("StasisEnd", lambda e: e["channel"]["id"] == caller)
    record = emu.call(caller)
    assert record is not None
    assert (record.ended_by, record.abandoned_by_patience, record.unanswered) == (
        "caller",
        True,
        True,
    )
    assert log.of(caller) == [
        "StasisStart",
        "ChannelStateChange",
        "ChannelHangupRequest",
        "StasisEnd",
    ]


async def test_caller_talking_to_an_operator_keeps_waiting_past_patience(emu, http, connect):
    log = await connect()
    emu.set_script("sdis77-op1", Answer(after_s=0.1))
    caller = await answered_caller(emu, http, log, patience_s=20.0)
    _, operator = await originate(http, emu, "sdis77-op1")
    await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == operator["id"])
    await bridge_with(emu, http, caller, operator["id"])
    other = await answered_caller(emu, http, log, patience_s=25.0)
    # The second caller gives up after 25 s: the first, talking since, is still there.
    await log.wait_for("StasisEnd", lambda e: e["channel"]["id"] == other)
    assert caller in {c["id"] for c in emu.channels()}
    record = emu.call(caller)
    assert record is not None
    assert record.talked
    assert not record.ended


async def test_ground_truth_follows_the_call_from_arrival_to_end(emu, http, connect):
    log = await connect()
    emu.set_script("sdis77-op1", Answer(after_s=1.0))
    before = emu.clock.now()
    caller = await answered_caller(emu, http, log)
    _, operator = await originate(http, emu, "sdis77-op1")
    await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == operator["id"])
    await bridge_with(emu, http, caller, operator["id"])
    await emu.hang_up_caller(caller)
    record = emu.call(caller)
    assert record is not None
    assert record.routing_key == "18"
    assert record.number == CALLER_NUMBER
    assert record.app == LAB_APP
    assert record.entered_stasis
    assert before <= record.created_at <= record.answered_at <= record.first_talk_at
    assert record.first_talk_at <= record.ended_at
    assert record.first_talk_at - record.created_at >= 1.0  # waited for the answer delay
    assert (record.ended_by, record.cause, record.unanswered) == ("caller", 16, False)
    assert [r.channel_id for r in emu.history()] == [caller]


async def test_call_to_an_application_without_websocket_never_reaches_ari(emu):
    handle = await emu.place_call("18", CALLER_NUMBER)
    assert not handle.entered_stasis
    assert emu.channels() == []
    record = emu.call(handle.channel_id)
    assert record is not None
    assert (record.ended_by, record.unanswered) == ("no-application", True)


async def test_dtmf_from_the_caller_arrives_digit_by_digit(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    await emu.send_dtmf(caller, "18#", between_s=0.2)
    await log.wait_for("ChannelDtmfReceived", lambda e: e["digit"] == "#")
    digits = [e["digit"] for e in log.events if e["type"] == "ChannelDtmfReceived"]
    assert digits == ["1", "8", "#"]
    with pytest.raises(EmulatorError, match="DTMF digits"):
        await emu.send_dtmf(caller, "1x")


async def test_controls_refuse_unknown_channels_and_endpoints(emu):
    with pytest.raises(EmulatorError, match="no live channel"):
        await emu.hang_up_caller("nope")
    with pytest.raises(EmulatorError, match="no endpoint named 'nope'"):
        emu.set_online("nope", True)
    with pytest.raises(EmulatorError, match="already exists"):
        emu.add_endpoint("sdis77-op1")
    with pytest.raises(EmulatorError, match="routing key"):
        await emu.place_call("", CALLER_NUMBER)
    with pytest.raises(ValueError, match="answer delay"):
        Answer(after_s=-1)


async def test_durations_run_on_the_emulator_clock():
    emu = Emulator(ScaledClock(50.0), users={"u": "p"}, app=LAB_APP)
    emu.add_endpoint("slow", Answer(after_s=10.0))
    await emu.start()
    try:
        async with aiohttp.ClientSession(headers=basic_auth("u", "p")) as http:
            root = emu.base_url.replace("http://", "ws://")
            ws = await http.ws_connect(f"{root}/events?app={LAB_APP}&api_key=u:p")
            log = EventLog(ws)
            started = time.monotonic()
            status, channel = await originate(http, emu, "slow")
            assert status == 200
            await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == channel["id"])
            elapsed = time.monotonic() - started
            await log.close()
        # 10 s of answer delay at 50x: 0.2 s of real time, far less than 10.
        assert elapsed < 2.0
    finally:
        await emu.stop()


async def test_server_side_drop_keeps_the_application_while_it_has_channels(emu, http, connect):
    log = await connect()
    caller = await answered_caller(emu, http, log)
    assert await emu.drop_event_streams(LAB_APP) == 1
    await log._reader  # the client sees its websocket closed
    apps = emu.applications()
    assert [a["name"] for a in apps] == [LAB_APP]
    assert apps[0]["channel_ids"] == [caller]
    await emu.hang_up_caller(caller)  # its events are lost: nobody listens
    await until(lambda: emu.applications() == [])
    assert not (await emu.place_call("18", CALLER_NUMBER)).entered_stasis


async def test_second_websocket_takes_the_application_over(emu, http, connect):
    first = await connect()
    second = await connect()
    replaced = await first.wait_for("ApplicationReplaced")
    assert replaced["application"] == LAB_APP
    caller = await emu.place_call("18", CALLER_NUMBER)
    await second.wait_for("StasisStart", lambda e: e["channel"]["id"] == caller.channel_id)
    assert [e["type"] for e in first.events] == ["ApplicationReplaced"]


async def test_one_websocket_serves_several_applications(emu, connect):
    log = await connect(f"{LAB_APP},other-app")
    one = await emu.place_call("18", CALLER_NUMBER)
    two = await emu.place_call("112", CALLER_NUMBER, app="other-app")
    assert one.entered_stasis
    assert two.entered_stasis
    started = [
        (e["application"], e["args"])
        for e in [
            await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == one.channel_id),
            await log.wait_for("StasisStart", lambda e: e["channel"]["id"] == two.channel_id),
        ]
    ]
    assert started == [(LAB_APP, ["18"]), ("other-app", ["112"])]


async def test_stop_closes_event_websockets_and_ends_open_calls():
    emu = Emulator(ScaledClock(20.0), users={"u": "p"}, app=LAB_APP)
    await emu.start()
    root = emu.base_url.replace("http://", "ws://")
    async with aiohttp.ClientSession() as http:
        await stop_while_connected(emu, http, f"{root}/events?app={LAB_APP}&api_key=u:p")


async def stop_while_connected(emu: Emulator, http: aiohttp.ClientSession, url: str) -> None:
    log = EventLog(await http.ws_connect(url))
    await until(lambda: emu.applications() != [])
    caller = await emu.place_call("18", CALLER_NUMBER, patience_s=600.0)
    await log.wait_for("StasisStart")
    started = time.monotonic()
    await emu.stop()
    await log._reader  # the server closed the websocket
    assert time.monotonic() - started < 5.0
    record = emu.call(caller.channel_id)
    assert record is not None
    assert record.ended_by == "emulator"
    assert emu.pbx.timers.pending == 0
