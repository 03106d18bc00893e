"""The event stream losing its websocket: closed by Asterisk, or Asterisk gone silent with
the TCP connection open. The client reports the loss, reconnects, replays nothing, and the
calls it had survive; what happened meanwhile is only visible through REST."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from ari_app.sim import Emulator
from ari_app.stasis import (
    AriClient,
    BridgeDestroyed,
    NotFound,
    PlaybackFinished,
    PlaybackStarted,
    StasisStart,
    StreamConnected,
    StreamDisconnected,
    StreamTimings,
)
from ari_app.stasis.events import ChannelUserevent
from tests.integration.flows import app_bound, caller_on_hold, until_app_bound
from tests.integration.recorder import EventRecorder, channel_id_of, playback_id_of
from tests.integration.world import APP, PASSWORD, USER
from tests.waiting import wait_until


async def lost_then_back(events: EventRecorder, after: int, within: float = 5.0) -> int:
    """Wait for the loss and the reconnection markers; return the index of the second one."""
    lost = await events.wait_for(StreamDisconnected, after=after, within=within)
    back = await events.wait_for(StreamConnected, after=after)
    assert back == StreamConnected(connection=lost.connection + 1, reconnect=True)
    assert events.position(lost) < events.position(back)
    return events.position(back)


async def test_dropped_stream_reconnects_and_replays_nothing(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    caller, bridge = await caller_on_hold(emu, ari, events)
    before = events.mark()
    assert await emu.drop_event_streams(APP) == 1
    lost = await events.wait_for(StreamDisconnected, after=before)
    assert lost.connection == 1
    assert "closed by Asterisk (code 1001" in lost.reason
    back = await lost_then_back(events, before)
    await until_app_bound(emu)
    # Asterisk kept the application and its call while no client was connected.
    app = await ari.applications.get(APP)
    assert (caller in app.channel_ids, bridge in app.bridge_ids) == (True, True)
    assert (await ari.bridges.get(bridge)).channels == [caller]
    await ari.bridges.stop_moh(bridge)  # the music went on playing
    playback = await ari.channels.play(caller, "sound:beep")
    await events.wait_for(PlaybackFinished, lambda e: e.playback.id == playback.id, after=back)
    # No replay and no new StasisStart: the first event of the new connection is ours.
    first = events.items[back + 1]
    assert isinstance(first, PlaybackStarted)
    assert first.playback.id == playback.id
    assert len(events.find(StasisStart, lambda e: e.channel.id == caller)) == 1
    await ari.channels.hangup(caller)
    await ari.bridges.destroy(bridge)
    await events.wait_for(BridgeDestroyed, lambda e: e.bridge.id == bridge, after=back)
    assert events.stream.stats.connections == 2


async def test_caller_hanging_up_while_the_stream_is_down_shows_only_in_rest(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    caller, bridge = await caller_on_hold(emu, ari, events)
    before = events.mark()
    await emu.drop_event_streams(APP)
    assert not app_bound(emu)  # the client waits before reconnecting
    await emu.hang_up_caller(caller)
    back = await lost_then_back(events, before)
    await until_app_bound(emu)
    # The hangup's events were lost for good: only listing the channels tells.
    assert not [item for item in events.since(before) if channel_id_of(item) == caller]
    assert await ari.channels.list() == ()
    with pytest.raises(NotFound):
        await ari.channels.get(caller)
    # The holding bridge is left behind, empty, still the application's: reap it.
    (orphan,) = await ari.bridges.list()
    assert (orphan.id, orphan.channels) == (bridge, [])
    app = await ari.applications.get(APP)
    assert (app.channel_ids, app.bridge_ids) == ([], [bridge])
    await ari.bridges.destroy(bridge)
    destroyed = await events.wait_for(BridgeDestroyed, after=back)
    assert destroyed.bridge.id == bridge
    assert events.items[back + 1] is destroyed


async def test_silent_asterisk_is_noticed_dead_within_five_seconds_and_the_call_survives(
    emu: Emulator, ari: AriClient, events: EventRecorder
) -> None:
    assert StreamTimings().dead_after <= 5.0  # the fixture's stream has the default timings
    caller, bridge = await caller_on_hold(emu, ari, events)
    before = events.mark()
    frozen_at = time.monotonic()
    assert emu.freeze_event_streams(APP) == 1
    # REST still works; the events of this playback go to the dead websocket and are lost.
    unheard = await ari.channels.play(caller, "sound:beep")
    lost = await events.wait_for(StreamDisconnected, after=before, within=5.0)
    noticed_after = time.monotonic() - frozen_at
    assert noticed_after < 5.0, f"dead connection noticed after {noticed_after:.1f} s"
    assert "pings unanswered: connection dead" in lost.reason
    back = await lost_then_back(events, before)
    await until_app_bound(emu)
    assert not [item for item in events.items if playback_id_of(item) == unheard.id]
    assert (await ari.bridges.get(bridge)).channels == [caller]
    playback = await ari.channels.play(caller, "sound:beep")
    await events.wait_for(PlaybackFinished, lambda e: e.playback.id == playback.id, after=back)
    assert isinstance(events.items[back + 1], PlaybackStarted)


@contextlib.asynccontextmanager
async def busy_asterisk(emu: Emulator, every_s: float) -> AsyncIterator[None]:
    """Asterisk sends the application an event every ``every_s`` seconds meanwhile (user
    events, posted over its REST interface as another program would)."""
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    url = f"{emu.base_url}/events/user/tick"

    async def tick() -> None:
        async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as http:
            while True:
                async with http.post(url, params={"application": APP}) as response:
                    assert response.status == 204
                await asyncio.sleep(every_s)  # sync-ok: the pace of the traffic, not a wait

    task = asyncio.create_task(tick(), name="test-busy-asterisk")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_saturated_asterisk_that_never_pongs_keeps_its_stream_while_it_sends_events(
    emu: Emulator, events: EventRecorder
) -> None:
    timings = StreamTimings()
    assert emu.slow_event_streams(APP, pong_delay_s=math.inf) == 1
    before = events.mark()
    async with busy_asterisk(emu, every_s=0.25):
        # Events for longer than the stream waits for a frame: every one of them proves life.
        needed = math.ceil((timings.dead_after + 2 * timings.ping_timeout) / 0.25)
        await wait_until(
            lambda: len(events.find(ChannelUserevent, after=before)) >= needed,
            within=needed * 0.25 + 5.0,
            what=f"{needed} user events",
        )
    assert events.find(StreamDisconnected) == []
    assert events.stream.stats.disconnections == 0
    assert emu.event_stream_pings(APP) == 0  # never silent, never asked


async def test_saturated_asterisk_slow_to_pong_keeps_an_idle_stream(
    emu: Emulator, events: EventRecorder
) -> None:
    # Later than the pong timeout the library's keepalive allowed (2 s), sooner than the
    # silence that means death (4 s).
    assert emu.slow_event_streams(APP, pong_delay_s=2.5) == 1
    await wait_until(
        lambda: emu.event_stream_pings(APP) >= 5, within=10.0, what="five pings to the emulator"
    )
    assert events.find(StreamDisconnected) == []
    assert events.stream.stats.disconnections == 0


async def test_asterisk_that_stops_ponging_and_sending_is_noticed_dead(
    emu: Emulator, events: EventRecorder
) -> None:
    assert emu.slow_event_streams(APP, pong_delay_s=math.inf) == 1
    before = events.mark()
    silent_from = time.monotonic()
    lost = await events.wait_for(StreamDisconnected, after=before, within=5.5)
    noticed_after = time.monotonic() - silent_from
    assert StreamTimings().dead_after - 0.5 < noticed_after < 5.0
    assert "pings unanswered: connection dead" in lost.reason
    await lost_then_back(events, before)
    await until_app_bound(emu)


async def test_frozen_stream_controlled_over_http_is_cut_by_a_drop(
    emu: Emulator, events: EventRecorder
) -> None:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    before = events.mark()
    async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as http:
        url = f"{emu.control_url}/event-streams"
        async with http.post(f"{url}/slow", json={"app": APP, "pong_delay_s": 1}) as response:
            assert (response.status, await response.json()) == (200, {"slowed": 1})
        async with http.post(f"{url}/slow", json={"app": APP, "pong_delay_s": -1}) as response:
            assert response.status == 400
        async with http.post(f"{url}/freeze", json={"app": APP}) as response:
            assert (response.status, await response.json()) == (200, {"frozen": 1})
        async with http.post(f"{url}/freeze", json={"app": APP}) as response:
            assert await response.json() == {"frozen": 0}  # already silent
        # A frozen websocket cannot answer a close handshake: dropping it cuts the TCP.
        async with http.post(f"{url}/drop", json={"app": APP}) as response:
            assert await response.json() == {"dropped": 1}
    lost = await events.wait_for(StreamDisconnected, after=before, within=2.0)
    assert "without a close frame" in lost.reason
    await lost_then_back(events, before)
    await until_app_bound(emu)
