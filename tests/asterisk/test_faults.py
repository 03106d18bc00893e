"""Faults on a real Asterisk 22: what a waiting caller hears, a lost event stream, Asterisk
restarted, PostgreSQL stopped. What the caller hears is read from Asterisk itself: the
announcer channels it puts in a caller's holding bridge (``Announcer/ARI-...`` plays an
announcement, ``Announcer/ARI_MOH-...`` plays music on hold), listed by its CLI."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.asterisk.bed import (
    EXAMPLE,
    Application,
    AsteriskNode,
    PostgresNode,
    SipPeers,
    caller_channel,
    eventually,
    journal,
    kinds,
    running,
)
from tests.asterisk.conftest import _peers, make_app
from tests.pg import TcpProxy

WAIT_BRIDGE = "vcta-wait-"


def topology(
    tmp_path: Path, *, welcome: str, reminder: str, reminder_every: int, name: str = "topology"
) -> Path:
    """The example topology with other announcements for every unit."""
    text = EXAMPLE.read_text()
    text = re.sub(r'(?m)^welcome = "[^"]*"', f'welcome = "{welcome}"', text)
    text = re.sub(r'(?m)^reminder = "[^"]*"', f'reminder = "{reminder}"', text)
    text = re.sub(r"(?m)^reminder_every = \d+", f"reminder_every = {reminder_every}", text)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def hold_media(asterisk: AsteriskNode) -> dict[str, set[str]]:
    """For each holding bridge with a caller in it: what Asterisk plays into it now
    (``announcement``, ``music``; empty: the caller hears silence)."""
    media: dict[str, set[str]] = {}
    for line in asterisk.cli("core show channels concise").splitlines():
        fields = line.split("!")
        if len(fields) < 14 or not fields[12].startswith(WAIT_BRIDGE):
            continue
        heard = media.setdefault(fields[12], set())
        if fields[0].startswith("Announcer/ARI_MOH-"):
            heard.add("music")
        elif fields[0].startswith("Announcer/"):
            heard.add("announcement")
    return media


async def music_in(asterisk: AsteriskNode, bridge: str) -> bool:
    return hold_media(asterisk).get(bridge) == {"music"}


@pytest.fixture
def proxy(ready_asterisk: AsteriskNode) -> Iterator[TcpProxy]:
    """A proxy between the application and Asterisk's HTTP port (REST and event stream)."""
    tcp = TcpProxy("127.0.0.1", ready_asterisk.http_port)
    try:
        yield tcp
    finally:
        tcp.close()


@pytest.fixture
async def proxied_app(
    ready_asterisk: AsteriskNode, database: str, tmp_path: Path, proxy: TcpProxy
) -> AsyncIterator[Application]:
    """``ari-app run`` reaching Asterisk through ``proxy``, with a 7 s welcome and positions
    ringing for 30 s (longer than an outage of the tests, and its reconnect)."""
    app = make_app(
        ready_asterisk,
        database,
        tmp_path,
        topology(
            tmp_path,
            welcome="sound:queue-periodic-announce",
            reminder="sound:queue-thankyou",
            reminder_every=30,
        ),
        ring_timeout_s="30",
    )
    app.env["ARI_APP_ARI_URL"] = f"http://127.0.0.1:{proxy.port}/ari"
    try:
        yield app
    finally:
        app.stop()


async def test_music_follows_every_announcement_under_load(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    """Short announcements and frequent reminders on every line the carrier has: whenever no
    announcement plays, music does (a caller is never left in silence)."""
    app = make_app(
        ready_asterisk,
        database,
        tmp_path,
        topology(tmp_path, welcome="sound:beep", reminder="sound:beep", reminder_every=5),
    )
    lines = len(ready_asterisk.carrier_ports)
    async with running(app):
        for n in range(lines):
            await peers.call("77288", caller=f"06200000{n:02d}", hold_s=60)

        async def all_waiting() -> bool:
            return len(hold_media(ready_asterisk)) == lines

        await eventually(all_waiting, within=15, what=f"{lines} callers in holding bridges")
        silent_since: dict[str, float] = {}
        longest: dict[str, float] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = time.monotonic()
            for bridge, heard in (await asyncio.to_thread(hold_media, ready_asterisk)).items():
                if heard:
                    silent_since.pop(bridge, None)
                    continue
                since = silent_since.setdefault(bridge, now)
                longest[bridge] = max(longest.get(bridge, 0.0), now - since)
            await asyncio.sleep(0.05)  # sync-ok: sampling interval of Asterisk's CLI
    refused = [line for line in ready_asterisk.logs().splitlines() if "already has" in line]
    # Going from one announcer to the next takes Asterisk a few tens of milliseconds.
    silences = {bridge: round(s, 2) for bridge, s in longest.items() if s > 0.6}
    assert not silences, f"callers left in silence (s): {silences}; Asterisk: {refused[-5:]}"


async def test_music_after_a_welcome_that_ended_while_the_stream_was_down(
    ready_asterisk: AsteriskNode,
    peers: SipPeers,
    proxied_app: Application,
    proxy: TcpProxy,
) -> None:
    """The welcome ends during an outage of the event stream while a position rings in
    vain: its end is never reported, yet music starts as soon as the stream is back."""
    await peers.position("sdis77-op1", "noanswer")
    async with running(proxied_app):
        await eventually(
            lambda: ready_asterisk.endpoint("sdis77-op1"), what="the position's endpoint"
        )
        await peers.call("77288", caller="0633333333", hold_s=60)
        call_id = (await caller_channel(ready_asterisk, "0633333333"))["id"]
        bridge = f"{WAIT_BRIDGE}{call_id}"

        async def welcome_and_ringing() -> bool:
            channels = await ready_asterisk.channels()
            ringing = any(c["id"].startswith("vcta-op-") for c in channels)
            return ringing and hold_media(ready_asterisk).get(bridge) == {"announcement"}

        await eventually(welcome_and_ringing, within=10, what="the welcome, a position ringing")
        proxy.cut()
        await eventually(
            lambda: hold_media(ready_asterisk).get(bridge) == set(),
            within=15,
            what="the end of the welcome",
        )
        proxy.restore()
        await proxied_app.wait_ready(within=30)
        await eventually(
            lambda: music_in(ready_asterisk, bridge),
            within=3,
            what="music on hold after the reconnect",
        )


async def talking(asterisk: AsteriskNode, call_id: str) -> bool:
    return any(
        b["id"] == f"vcta-talk-{call_id}" and len(b["channels"]) == 2
        for b in await asterisk.bridges()
    )


def ended(dsn: str, call_id: str) -> list[dict[str, object]] | None:
    rows = journal(dsn, call_id)
    return rows if rows and rows[-1]["kind"] == "ended" else None


async def test_stream_lost_mid_call_is_reconciled_when_it_is_back(
    ready_asterisk: AsteriskNode,
    peers: SipPeers,
    proxied_app: Application,
    proxy: TcpProxy,
) -> None:
    """The event stream goes silent (a network black hole): meanwhile an operator answers
    and another caller hangs up. Within 10 s of its return both are known (the hang-up with
    its real time, not the time it was noticed), and new calls are taken."""
    dsn = proxied_app.env["ARI_APP_DATABASE_DSN"]
    await peers.position("sdis77-op1", "answer", ring_ms=3000)
    async with running(proxied_app):
        await eventually(
            lambda: ready_asterisk.endpoint("sdis77-op1"), what="the position's endpoint"
        )
        await peers.call("77288", caller="0644444441", hold_s=60)
        answered = (await caller_channel(ready_asterisk, "0644444441"))["id"]
        await peers.call("77288", caller="0644444442", hold_s=5)
        abandoned = (await caller_channel(ready_asterisk, "0644444442"))["id"]

        async def ringing_and_waiting() -> bool:
            channels = {c["id"]: c for c in await ready_asterisk.channels()}
            leg = any(i.startswith(f"vcta-op-{answered}-") for i in channels)
            return leg and f"{WAIT_BRIDGE}{abandoned}" in hold_media(ready_asterisk)

        await eventually(ringing_and_waiting, what="a position ringing, a caller waiting")
        proxy.stall()

        gone_at: list[float] = []  # when the hang-up was first seen from outside

        async def answered_and_hung_up() -> bool:
            channels = {c["id"]: c for c in await ready_asterisk.channels()}
            up = any(
                i.startswith(f"vcta-op-{answered}-") and c["state"] == "Up"
                for i, c in channels.items()
            )
            if abandoned not in channels and not gone_at:
                gone_at.append(time.time())
            return up and abandoned not in channels

        await eventually(answered_and_hung_up, within=15, what="the answer and the hang-up")
        # The outage goes on a while after the hang-up: a call dated when the application
        # noticed its end would be dated at least this much too late.
        await asyncio.sleep(4)  # sync-ok: the length of the outage, part of the scenario
        proxy.restore()
        back = time.monotonic()
        await eventually(
            lambda: talking(ready_asterisk, answered),
            within=10,
            what="the call answered during the outage connected",
        )
        rows = await eventually(
            lambda: ended(dsn, abandoned), within=10 - (time.monotonic() - back), what="an end"
        )
        assert rows[-1]["outcome"] == "abandoned"
        journaled_end = rows[-1]["at"].timestamp()
        assert gone_at[0] - 2.0 <= journaled_end <= gone_at[0] + 0.5, (
            f"ended at {journaled_end:.3f}, gone by {gone_at[0]:.3f}: not the real end"
        )
        await peers.call("77288", caller="0644444443", hold_s=30)
        taken = (await caller_channel(ready_asterisk, "0644444443"))["id"]
        await eventually(
            lambda: music_in(ready_asterisk, f"{WAIT_BRIDGE}{taken}") or None,
            within=15,
            what="the new call waiting with music",
        )
        assert "waiting" in kinds(journal(dsn, taken))


async def test_asterisk_restarted_under_calls_then_new_calls_are_taken(
    own_asterisk: AsteriskNode, database: str, tmp_path: Path
) -> None:
    """Asterisk restarts with a call talking and one waiting: their records are closed, the
    application reconnects by itself and the next call reaches the operator."""
    await own_asterisk.wait_ready()
    app = make_app(own_asterisk, database, tmp_path)
    async with _peers(own_asterisk, tmp_path) as peers, running(app):
        op1 = await peers.position("sdis77-op1", "answer", ring_ms=300)
        await eventually(lambda: own_asterisk.endpoint("sdis77-op1"), what="the endpoint")
        await peers.call("77288", caller="0655555551", hold_s=40)
        talked = (await caller_channel(own_asterisk, "0655555551"))["id"]
        await eventually(lambda: talking(own_asterisk, talked), within=15, what="a conversation")
        await peers.call("77288", caller="0655555552", hold_s=40)
        waited = (await caller_channel(own_asterisk, "0655555552"))["id"]
        await own_asterisk.restart()
        await app.wait_ready(within=30)
        for call_id in (talked, waited):
            await eventually(partial(ended, database, call_id), what=f"the end of {call_id}")
        # The phone registers again, as one does when its registrar restarts.
        if op1.uas is not None:
            op1.uas.stop()
        await peers.position("sdis77-op1", "answer", ring_ms=300)
        await peers.call("77288", caller="0655555553", hold_s=20)
        new = (await caller_channel(own_asterisk, "0655555553"))["id"]
        await eventually(
            lambda: talking(own_asterisk, new), within=20, what="the new call connected"
        )


async def test_database_stopped_under_calls_every_call_connected_and_journaled_once(
    ready_asterisk: AsteriskNode,
    peers: SipPeers,
    app: Application,
    postgres: PostgresNode,
) -> None:
    """PostgreSQL stops while calls come in: they are connected all the same, and once it is
    back the journal holds every call's rows once, in order (the spool was replayed)."""
    dsn = app.env["ARI_APP_DATABASE_DSN"]
    await peers.position("sdis77-op1", "hangup", ring_ms=300, talk_ms=1500)
    calls: list[str] = []
    try:
        async with running(app):
            await eventually(
                lambda: ready_asterisk.endpoint("sdis77-op1"), what="the position's endpoint"
            )
            for n in range(3):
                if n == 1:
                    await postgres.stop()
                number = f"066666666{n}"
                sipp = await peers.call("77288", caller=number, hold_s=30)
                call_id = (await caller_channel(ready_asterisk, number))["id"]
                calls.append(call_id)
                await eventually(
                    partial(talking, ready_asterisk, call_id),
                    within=15,
                    what=f"call {n} connected",
                )
                assert await sipp.wait(30) == 0, sipp.output()
            await postgres.start()
            for call_id in calls:
                rows = await eventually(
                    partial(ended, dsn, call_id), within=30, what=f"the end of {call_id}"
                )
                assert kinds(rows) == [
                    "arrived",
                    "routed",
                    "waiting",
                    "offered",
                    "connected",
                    "ended",
                ], call_id
                assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    finally:
        if not await asyncio.to_thread(postgres.ready):
            await postgres.start()
