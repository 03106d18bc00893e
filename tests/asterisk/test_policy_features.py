"""The routing features through a real Asterisk 22: mutual aid, its switch, diversion, a
virtual CTA, picking and the crisis message.

Each test checks what Asterisk itself reports (which position's channel is bridged with the
caller, what plays in the caller's holding bridge) and what the application kept (the journal,
the audit of the duty officers' changes). The topology is small, with limits of a few
seconds, so a centre saturates at once; its endpoints are those of asterisk/etc/pjsip.conf.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from ari_app.store import SingleConnection, TokenStore, connect
from tests.asterisk.bed import (
    Application,
    AriObserver,
    AsteriskNode,
    SipPeers,
    caller_channel,
    eventually,
    journal,
    mode_changes,
    observe,
    running,
)
from tests.asterisk.conftest import make_app

OFFICER = "CODIS 77 officier de garde"
WELCOME = "sound:beep"  # short, so the music on hold starts soon after the caller arrives

TOPOLOGY = """
[policy]
default_unit = "sdis77"
backup_unit = "secours-national"
last_resort_after = 600            # out of these tests' reach
skip_failed_position_for = 30

[announcements]
welcome = "{welcome}"
reminder = "sound:queue-thankyou"
reminder_every = 60
music_on_hold = "default"

[centres.sdis77]
name = "CTA-CODIS de Seine-et-Marne"
department = "77"
positions = ["PJSIP/sdis77-op1", "PJSIP/sdis77-op2"]
max_queue = 8
max_wait = {sdis77_max_wait}
reserve = 0
overflow_cap = 2
neighbours = [["sdis91"]]

[centres.sdis91]
name = "CTA-CODIS de l'Essonne"
department = "91"
positions = ["PJSIP/sdis91-op1", "PJSIP/sdis91-op2"]
max_queue = 6
max_wait = 30
reserve = 0
overflow_cap = 2
neighbours = [["sdis77"]]

# No neighbours: a call of 89 reaches Aube's operators only through the virtual CTA.
[centres.sdis89]
name = "CTA-CODIS de l'Yonne"
department = "89"
positions = ["PJSIP/sdis89-op1"]
max_queue = 3
max_wait = 60
reserve = 0
overflow_cap = 1

[centres.sdis10]
name = "CTA-CODIS de l'Aube"
department = "10"
positions = ["PJSIP/sdis10-op1", "PJSIP/sdis10-op2"]
max_queue = 3
max_wait = 60
reserve = 0
overflow_cap = 1

[centres.secours-national]
name = "Plateforme nationale de délestage"
positions = ["PJSIP/national-op1"]
max_queue = 10
max_wait = 60
reserve = 0
overflow_cap = 10

[virtual_ctas.vcta-89-10]
name = "CTA commun Yonne-Aube (nuit)"
members = ["sdis89", "sdis10"]
active = false
"""


def write_topology(tmp_path: Path, *, sdis77_max_wait: int) -> Path:
    path = tmp_path / "topology.toml"
    path.write_text(TOPOLOGY.format(welcome=WELCOME, sdis77_max_wait=sdis77_max_wait))
    return path


async def officer_app(
    asterisk: AsteriskNode, database: str, tmp_path: Path, *, sdis77_max_wait: int = 60
) -> Application:
    """The application on the small topology, with a duty officer's token for its CLI."""
    app = make_app(
        asterisk, database, tmp_path, write_topology(tmp_path, sdis77_max_wait=sdis77_max_wait)
    )
    # What 'ari-app token create' does, without one more interpreter start (seconds each).
    async with await connect(database, autocommit=True) as conn:
        issued = await TokenStore(SingleConnection(conn)).create(
            OFFICER, ["national"], created_by="test bed"
        )
    app.env["ARI_APP_API_TOKEN"] = issued.plaintext
    return app


async def officer(app: Application, *argv: str) -> str:
    """A duty officer's command, off the event loop so the observer keeps reading."""
    return await asyncio.to_thread(app.cli, *argv)


async def online(asterisk: AsteriskNode, *resources: str) -> None:
    for resource in resources:

        async def registered(resource: str = resource) -> bool:
            return bool((await asterisk.endpoint(resource))["state"] == "online")

        await eventually(registered, what=f"{resource} online")


async def offline(asterisk: AsteriskNode, *resources: str) -> None:
    """A guard: these phones are not registered (a stale registration would ring nobody)."""
    for resource in resources:
        endpoint = await asterisk.endpoint(resource)
        assert endpoint["state"] != "online", endpoint


async def bridged_with(asterisk: AsteriskNode, call_id: str, within: float = 20.0) -> str:
    """The name of the channel Asterisk bridges with the caller in the talk bridge."""

    async def probe() -> str | None:
        for bridge in await asterisk.bridges():
            if bridge["id"] == f"vcta-talk-{call_id}" and len(bridge["channels"]) == 2:
                (other,) = [c for c in bridge["channels"] if c != call_id]
                return str((await asterisk.ari("GET", f"/channels/{other}"))["name"])
        return None

    name: str = await eventually(probe, within=within, what=f"{call_id} bridged with a position")
    return name


def rung(observer: AriObserver, prefix: str = "") -> list[str]:
    """Positions Asterisk made a channel to (``PJSIP/sdis77-op1``), in order, whose resource
    starts with ``prefix``; the carrier's channels are not positions."""
    names = (event["channel"]["name"] for event in observer.of_type("ChannelCreated"))
    return [
        name.rsplit("-", 1)[0]
        for name in names
        if name.startswith(f"PJSIP/{prefix}") and not name.startswith("PJSIP/carrier-")
    ]


async def journal_of(app: Application, call_id: str, kind: str) -> list[dict[str, Any]]:
    """The call's journal rows, once one of ``kind`` is written."""
    dsn = app.env["ARI_APP_DATABASE_DSN"]
    rows: list[dict[str, Any]] = await eventually(
        lambda: (r := journal(dsn, call_id)) and any(x["kind"] == kind for x in r) and r,
        what=f"a {kind} row in the journal of {call_id}",
    )
    return rows


async def waiting_calls(app: Application, unit_id: str) -> list[dict[str, Any]]:
    """What a picking operator sees: the unit's waiting calls, oldest first."""
    headers = {"Authorization": f"Bearer {app.env['ARI_APP_API_TOKEN']}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(f"{app.api}/api/v1/units/{unit_id}/waiting-calls") as answer,
    ):
        assert answer.status == 200, await answer.text()
        return list((await answer.json())["calls"])


def row(rows: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(r for r in rows if r["kind"] == kind)


def audited(app: Application, unit_id: str) -> list[dict[str, Any]]:
    """The duty officer's changes of ``unit_id`` in the audit (not the topology import's)."""
    changes = mode_changes(app.env["ARI_APP_DATABASE_DSN"])
    return [c for c in changes if c["unit_id"] == unit_id and c["actor"] == OFFICER]


async def test_saturated_centre_call_is_answered_by_the_neighbour(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    app = await officer_app(ready_asterisk, database, tmp_path, sdis77_max_wait=2)
    await peers.position("sdis77-op1", "busy")
    await peers.position("sdis77-op2", "unregistered")
    await peers.position("sdis91-op1", "answer", ring_ms=300)
    await offline(ready_asterisk, "sdis77-op2")
    await online(ready_asterisk, "sdis77-op1", "sdis91-op1")
    async with observe(ready_asterisk) as observer, running(app):
        await peers.call("77288", caller="0611000001", hold_s=30)
        call_id = (await caller_channel(ready_asterisk, "0611000001"))["id"]

        operator = await bridged_with(ready_asterisk, call_id)
        assert operator.startswith("PJSIP/sdis91-op1-"), operator
        # Home first: its only online seat was rung (and was busy) before the neighbour.
        assert rung(observer) == [
            "PJSIP/sdis77-op1",
            "PJSIP/sdis91-op1",
        ]
        rows = await journal_of(app, call_id, "connected")
        moved = row(rows, "moved")
        assert moved["unit"] == "sdis91"
        assert moved["details"]["from_unit"] == "sdis77"
        assert moved["details"]["kind"] == "mutual_aid"
        assert row(rows, "offer_failed")["position"] == "sdis77-op1"
        connected = row(rows, "connected")
        assert (connected["unit"], connected["position"]) == ("sdis91", "sdis91-op1")
        assert connected["home_centre"] == "sdis77"


async def test_outgoing_mutual_aid_off_keeps_the_caller_waiting_on_music(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    app = await officer_app(ready_asterisk, database, tmp_path, sdis77_max_wait=2)
    await peers.position("sdis77-op1", "unregistered")
    await peers.position("sdis77-op2", "unregistered")
    await peers.position("sdis91-op1", "answer", ring_ms=300)
    await offline(ready_asterisk, "sdis77-op1", "sdis77-op2")
    await online(ready_asterisk, "sdis91-op1")
    async with observe(ready_asterisk) as observer, running(app):
        await officer(
            app, "mutual-aid", "sdis77", "--out", "off", "--reason", "renfort local suffisant"
        )
        await peers.call("77288", caller="0611000002", hold_s=40)
        call_id = (await caller_channel(ready_asterisk, "0611000002"))["id"]
        holding = f"vcta-wait-{call_id}"
        await observer.wait_for(
            lambda e: (
                e["type"] == "PlaybackFinished"
                and e["playback"]["target_uri"] == f"bridge:{holding}"
            ),
            what="the welcome played to the caller",
        )

        async def saturated_for_a_while() -> bool:
            # Saturated at max_wait (2 s); three more once-a-second passes could have moved it.
            units = {u["id"]: u for u in (await app.status())["units"]}
            sdis77 = units["sdis77"]
            return bool(sdis77["saturated"]) and (sdis77["oldest_wait_s"] or 0) >= 5

        await eventually(saturated_for_a_while, within=20, what="sdis77 saturated for 3 s")

        # Asterisk: the caller is still alone in the holding bridge, with music on hold
        # (the announcer channel Asterisk adds to play a bridge's music), and no neighbour
        # position was ever rung.
        bridges = {b["id"]: b for b in await ready_asterisk.bridges()}
        assert bridges[holding]["channels"] == [call_id]
        assert f"vcta-talk-{call_id}" not in bridges
        shown = ready_asterisk.cli(f"bridge show {holding}")
        assert "Channel: Announcer/ARI_MOH-" in shown, shown
        assert "Class: default" in ready_asterisk.cli("moh show classes")
        assert "File: " in ready_asterisk.cli("moh show files"), "the music class has no file"
        assert rung(observer, "sdis91") == []
        assert (await ready_asterisk.endpoint("sdis91-op1"))["channel_ids"] == []

        rows = journal(app.env["ARI_APP_DATABASE_DSN"], call_id)
        assert "moved" not in [r["kind"] for r in rows]
        assert row(rows, "waiting")["unit"] == "sdis77"
        (change,) = audited(app, "sdis77")
        assert change["actor"] == OFFICER
        assert change["reason"] == "renfort local suffisant"
        assert change["before"]["outgoing_mutual_aid"] is True
        assert change["after"]["outgoing_mutual_aid"] is False


async def test_diverted_centre_waiting_and_new_calls_are_answered_by_the_target(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    app = await officer_app(ready_asterisk, database, tmp_path)
    # No sdis77 operator and 60 s before sdis77 saturates: only the diversion can send its
    # calls to sdis91 within these seconds.
    await peers.position("sdis77-op1", "unregistered")
    await peers.position("sdis77-op2", "unregistered")
    await peers.position("sdis91-op1", "answer", ring_ms=300)
    await peers.position("sdis91-op2", "answer", ring_ms=300)
    await offline(ready_asterisk, "sdis77-op1", "sdis77-op2")
    await online(ready_asterisk, "sdis91-op1", "sdis91-op2")
    async with running(app):
        await peers.call("77288", caller="0611000031", hold_s=30)
        waiting_id = (await caller_channel(ready_asterisk, "0611000031"))["id"]
        await eventually(
            lambda: waiting_calls(app, "sdis77"), what="the first call waiting at sdis77"
        )

        await officer(app, "divert", "sdis77", "--to", "sdis91", "--reason", "évacuation du CTA")
        # The call already waiting is moved with the centre's new calls (docs/policy.md).
        first = await bridged_with(ready_asterisk, waiting_id)
        await peers.call("77288", caller="0611000032", hold_s=30)
        new_id = (await caller_channel(ready_asterisk, "0611000032"))["id"]
        second = await bridged_with(ready_asterisk, new_id)
        assert {first.rsplit("-", 1)[0], second.rsplit("-", 1)[0]} == {
            "PJSIP/sdis91-op1",
            "PJSIP/sdis91-op2",
        }

        rows = await journal_of(app, waiting_id, "connected")
        moved = row(rows, "moved")
        assert (moved["unit"], moved["details"]["kind"]) == ("sdis91", "diversion")
        assert row(rows, "connected")["unit"] == "sdis91"
        rows = await journal_of(app, new_id, "connected")
        routed = row(rows, "routed")
        assert (routed["home_centre"], routed["unit"]) == ("sdis77", "sdis91")
        assert "diverted sdis77 -> sdis91" in routed["reason"]
        assert "moved" not in [r["kind"] for r in rows]
        (change,) = audited(app, "sdis77")
        assert change["actor"] == OFFICER
        assert change["reason"] == "évacuation du CTA"
        assert change["after"]["diverted_to"] == "sdis91"


async def test_virtual_cta_activated_its_calls_for_89_are_answered_in_10(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    app = await officer_app(ready_asterisk, database, tmp_path)
    # Yonne has no operator online and no neighbour: only the pooling brings Aube's.
    await peers.position("sdis89-op1", "unregistered")
    await peers.position("sdis10-op1", "answer", ring_ms=300)
    await peers.position("sdis10-op2", "answer", ring_ms=300)
    await offline(ready_asterisk, "sdis89-op1")
    await online(ready_asterisk, "sdis10-op1", "sdis10-op2")
    async with running(app):
        await peers.call("89024", caller="0611000041", hold_s=30)
        waiting_id = (await caller_channel(ready_asterisk, "0611000041"))["id"]
        await eventually(
            lambda: waiting_calls(app, "sdis89"), what="the first call waiting at sdis89"
        )

        await officer(app, "virtual-cta", "vcta-89-10", "on", "--reason", "régime de nuit")
        first = await bridged_with(ready_asterisk, waiting_id)
        await peers.call("89024", caller="0611000042", hold_s=30)
        new_id = (await caller_channel(ready_asterisk, "0611000042"))["id"]
        second = await bridged_with(ready_asterisk, new_id)
        assert {first.rsplit("-", 1)[0], second.rsplit("-", 1)[0]} == {
            "PJSIP/sdis10-op1",
            "PJSIP/sdis10-op2",
        }

        rows = await journal_of(app, waiting_id, "connected")
        moved = row(rows, "moved")
        assert (moved["unit"], moved["details"]["kind"]) == ("vcta-89-10", "vcta")
        rows = await journal_of(app, new_id, "connected")
        routed = row(rows, "routed")
        assert (routed["home_centre"], routed["unit"]) == ("sdis89", "vcta-89-10")
        connected = row(rows, "connected")
        assert connected["unit"] == "vcta-89-10"
        assert connected["position"] in {"sdis10-op1", "sdis10-op2"}
        (change,) = audited(app, "vcta-89-10")
        assert change["actor"] == OFFICER
        assert change["reason"] == "régime de nuit"
        assert change["after"]["active"] is True


async def test_operator_picks_a_waiting_call_and_talks_to_the_caller(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    app = await officer_app(ready_asterisk, database, tmp_path)
    await peers.position("sdis77-op1", "answer", ring_ms=300)
    await peers.position("sdis77-op2", "answer", ring_ms=300)
    await online(ready_asterisk, "sdis77-op1", "sdis77-op2")
    async with observe(ready_asterisk) as observer, running(app):
        # Both operators paused: nobody is offered the call, it waits to be picked.
        await asyncio.gather(
            officer(app, "pause", "sdis77-op1"), officer(app, "pause", "sdis77-op2")
        )
        await peers.call("77288", caller="0611000005", hold_s=30)
        call_id = (await caller_channel(ready_asterisk, "0611000005"))["id"]
        waiting = await eventually(
            lambda: waiting_calls(app, "sdis77"), what="the call in sdis77's waiting list"
        )
        assert [c["call_id"] for c in waiting] == [call_id]
        assert rung(observer, "sdis77") == []

        await officer(app, "pick", "sdis77-op2", call_id)
        operator = await bridged_with(ready_asterisk, call_id)
        assert operator.startswith("PJSIP/sdis77-op2-"), operator
        assert rung(observer) == ["PJSIP/sdis77-op2"]
        rows = await journal_of(app, call_id, "connected")
        assert row(rows, "picked")["position"] == "sdis77-op2"
        assert row(rows, "connected")["position"] == "sdis77-op2"
        paused = {(c["position_id"], c["after"]["paused"]) for c in audited(app, "sdis77")}
        assert paused == {("sdis77-op1", True), ("sdis77-op2", True)}


async def test_crisis_message_plays_to_a_new_caller_before_the_welcome(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    app = await officer_app(ready_asterisk, database, tmp_path)
    async with observe(ready_asterisk) as observer, running(app):
        await officer(
            app, "crisis", "sdis77", "--message", "sound:tt-weasels", "--reason", "inondations"
        )
        await peers.call("77288", caller="0611000006", hold_s=30)
        call_id = (await caller_channel(ready_asterisk, "0611000006"))["id"]
        target = f"bridge:vcta-wait-{call_id}"

        def on_hold(event: dict[str, Any], kind: str) -> bool:
            return bool(event["type"] == kind and event["playback"]["target_uri"] == target)

        await observer.wait_for(
            lambda e: on_hold(e, "PlaybackStarted") and e["playback"]["media_uri"] == WELCOME,
            within=15,
            what="the welcome on the holding bridge",
        )
        # Asterisk reports each playback twice (the bridge's and the playback's
        # subscriptions): keep the first report of each.
        played = [
            (e["type"], e["playback"]["media_uri"], e["playback"]["state"])
            for e in observer.events
            if on_hold(e, "PlaybackStarted") or on_hold(e, "PlaybackFinished")
        ]
        assert list(dict.fromkeys(played))[:3] == [
            ("PlaybackStarted", "sound:tt-weasels", "playing"),
            ("PlaybackFinished", "sound:tt-weasels", "done"),
            ("PlaybackStarted", WELCOME, "playing"),
        ]
        (change,) = audited(app, "sdis77")
        assert change["actor"] == OFFICER
        assert change["after"]["crisis_message"] == "sound:tt-weasels"
