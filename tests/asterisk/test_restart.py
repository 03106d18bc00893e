"""The application killed and started again, and the dialplan fallback meanwhile, on a real
Asterisk 22: what Asterisk reports, what duty officers see, and the journal."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from tests.asterisk.bed import (
    APP_NAME,
    Application,
    AsteriskNode,
    SipPeers,
    app_get,
    assert_whole_record,
    caller_channel,
    endpoint_channels,
    eventually,
    journal,
    kinds,
    position_statuses,
    read_token,
    running,
    talking,
)


@pytest.fixture
async def seats(peers: SipPeers) -> AsyncIterator[SipPeers]:
    """The sipp peers; the positions are unregistered afterwards, so that the next test on
    this Asterisk does not find them online with nobody behind them."""
    yield peers
    for name in list(peers.positions):
        with contextlib.suppress(AssertionError):
            await peers.unregister(name)


async def online(asterisk: AsteriskNode, *resources: str) -> None:
    async def probe() -> bool:
        states = [(await asterisk.endpoint(r))["state"] for r in resources]
        return all(state == "online" for state in states)

    await eventually(probe, what=f"{', '.join(resources)} online")


async def waiting(asterisk: AsteriskNode, call_id: str) -> bool:
    return any(
        b["id"] == f"{APP_NAME}-wait-{call_id}" and call_id in b["channels"]
        for b in await asterisk.bridges()
    )


async def gone(asterisk: AsteriskNode, call_id: str) -> bool:
    return all(channel["id"] != call_id for channel in await asterisk.channels())


def ended_rows(app: Application, call_id: str) -> list[dict[str, Any]] | None:
    rows = journal(app.env["ARI_APP_DATABASE_DSN"], call_id)
    return rows if rows and rows[-1]["kind"] == "ended" else None


async def test_offer_after_a_restart_is_not_failed_by_the_end_of_the_reaped_leg(
    ready_asterisk: AsteriskNode, seats: SipPeers, app: Application
) -> None:
    # The operator answers late: the leg rung before the kill is still ringing at restart.
    await seats.position("sdis77-op1", "answer", ring_ms=8000)
    app.env["ARI_APP_RING_TIMEOUT_S"] = "20"
    async with running(app):
        await online(ready_asterisk, "sdis77-op1")
        await seats.call("77288", caller="0611000011", hold_s=80)
        call_id = (await caller_channel(ready_asterisk, "0611000011"))["id"]

        async def ringing_leg() -> str | None:
            for channel in await ready_asterisk.channels():
                if channel["id"].startswith(f"{APP_NAME}-op-{call_id}-"):
                    return str(channel["id"])
            return None

        old_leg = await eventually(ringing_leg, what="the position rung for the call")
        app.kill()
        await app.start()
        # The new offer rings for the operator's 8 s and is answered: no 30 s skip.
        bridged = await eventually(
            lambda: talking(ready_asterisk, call_id), within=25, what="the call connected"
        )
        assert old_leg not in bridged
        rows = journal(app.env["ARI_APP_DATABASE_DSN"], call_id)
        since_restart = kinds(rows)[kinds(rows).index("recovered") :]
        assert "offer_failed" not in since_restart, since_restart


async def test_call_ended_while_no_application_ran_is_journaled_with_its_real_end(
    ready_asterisk: AsteriskNode, seats: SipPeers, app: Application
) -> None:
    async with running(app):
        await seats.call("77288", caller="0611000031", hold_s=80)
        call_id = (await caller_channel(ready_asterisk, "0611000031"))["id"]
        await eventually(lambda: waiting(ready_asterisk, call_id), what="the call waiting")
        await eventually(
            lambda: "waiting" in kinds(journal(app.env["ARI_APP_DATABASE_DSN"], call_id)),
            what="the call on record",
        )
        app.kill()
        hung_up_at = time.time()
        await ready_asterisk.ari("DELETE", f"/channels/{call_id}")  # the caller hangs up
        await eventually(lambda: gone(ready_asterisk, call_id), what="the caller's channel gone")
        restarted_at = time.time()
        await app.start()
        rows = await eventually(lambda: ended_rows(app, call_id), what="the call's end")
    assert_whole_record(rows)
    ended = rows[-1]["at"].timestamp()
    assert rows[-1]["outcome"] == "abandoned"
    assert ended < restarted_at, "dated when noticed, not when it ended"
    assert abs(ended - hung_up_at) < 1.0


async def test_position_on_a_fallback_call_is_busy_after_restart_and_free_when_it_ends(
    ready_asterisk: AsteriskNode, seats: SipPeers, app: Application
) -> None:
    read_token(app)
    dsn = app.env["ARI_APP_DATABASE_DSN"]
    await seats.position("sdis77-op1", "answer", ring_ms=300)
    async with running(app):
        await online(ready_asterisk, "sdis77-op1")
        app.kill()
        # No application: the dialplan rings the position directly and it answers.
        await seats.call("77288", caller="0611000021", hold_s=80)
        fallback = await caller_channel(ready_asterisk, "0611000021", app="Dial")
        await eventually(
            lambda: endpoint_channels(ready_asterisk, "sdis77-op1"),
            what="the position talking on the fallback call",
        )
        await app.start()
        assert (await position_statuses(app))["sdis77-op1"] == "busy"
        await seats.call("77288", caller="0611000022", hold_s=80)
        call_id = (await caller_channel(ready_asterisk, "0611000022"))["id"]
        await eventually(lambda: waiting(ready_asterisk, call_id), what="the new call waiting")
        assert len(await endpoint_channels(ready_asterisk, "sdis77-op1")) == 1, "offered"
        assert (await position_statuses(app))["sdis77-op1"] == "busy"
        # The fallback call ends: the position is free and takes the waiting call.
        fallback_end = time.time()
        await ready_asterisk.ari("DELETE", f"/channels/{fallback['id']}")
        await eventually(
            lambda: talking(ready_asterisk, call_id), within=20, what="the waiting call connected"
        )
        rows = await eventually(
            lambda: ended_rows(app, fallback["id"]), within=20, what="the fallback call journaled"
        )
        # Read, then deleted from AstDB (by the dialplan: ARI may not).
        await eventually(
            lambda: fallback["id"] not in ready_asterisk.cli("database show vcta_fallback"),
            what="the fallback record deleted",
        )
    assert_whole_record(rows)
    assert kinds(rows) == ["arrived", "connected", "ended"]
    assert rows[1]["position"] == "sdis77-op1"
    assert rows[-1]["outcome"] == "fallback"
    assert abs(rows[-1]["at"].timestamp() - fallback_end) < 1.0
    assert rows[0]["at"].timestamp() <= rows[1]["at"].timestamp() <= fallback_end
    assert not ended_rows(app, call_id)
    assert kinds(journal(dsn, call_id)).count("connected") == 1


async def test_killed_with_one_call_waiting_and_one_talking_then_restarted(
    ready_asterisk: AsteriskNode, seats: SipPeers, app: Application
) -> None:
    read_token(app)
    dsn = app.env["ARI_APP_DATABASE_DSN"]
    await seats.position("sdis77-op1", "answer", ring_ms=300)
    async with running(app):
        await online(ready_asterisk, "sdis77-op1")
        await seats.call("77288", caller="0611000041", hold_s=80)
        talker = (await caller_channel(ready_asterisk, "0611000041"))["id"]
        talk_channels = await eventually(
            lambda: talking(ready_asterisk, talker), within=15, what="the first call connected"
        )
        await seats.call("77288", caller="0611000042", hold_s=80)
        waiter = await caller_channel(ready_asterisk, "0611000042")
        await eventually(lambda: waiting(ready_asterisk, waiter["id"]), what="the call waiting")
        # Killed once both are on record (entries still queued in memory die with it).
        await eventually(
            lambda: (
                "waiting" in kinds(journal(dsn, waiter["id"]))
                and "connected" in kinds(journal(dsn, talker))
            ),
            what="both calls on record",
        )
        app.kill()

        # During the outage a second seat logs in; a new call reaches it through the fallback
        # and the seat already talking is not rung.
        await seats.position("sdis77-op2", "answer", ring_ms=300)
        await online(ready_asterisk, "sdis77-op2")
        await seats.call("77288", caller="0611000043", hold_s=80)
        fallback = await caller_channel(ready_asterisk, "0611000043", app="Dial")
        await eventually(
            lambda: endpoint_channels(ready_asterisk, "sdis77-op2"),
            what="the fallback ringing the free seat",
        )
        assert await endpoint_channels(ready_asterisk, "sdis77-op1") == [
            c for c in talk_channels if c != talker
        ], "the seat already talking was rung"

        await app.start()
        assert set(await talking(ready_asterisk, talker)) == set(talk_channels)
        statuses = await position_statuses(app)
        assert statuses["sdis77-op1"] == "busy", statuses
        assert statuses["sdis77-op2"] == "busy", statuses
        assert await waiting(ready_asterisk, waiter["id"])
        queue = await app_get(app, "/api/v1/units/sdis77/waiting-calls")
        assert [c["call_id"] for c in queue["calls"]] == [waiter["id"]]
        assert _at(queue["calls"][0]["arrived_at"]) == _at(waiter["creationtime"])
        # A third seat: the waiting call goes there (not to the seat on the fallback call).
        await seats.position("sdis77-op3", "answer", ring_ms=300)
        bridged = await eventually(
            lambda: talking(ready_asterisk, waiter["id"]), within=20, what="the waiting call"
        )
        assert set(bridged) & set(await endpoint_channels(ready_asterisk, "sdis77-op3"))
        assert len(await endpoint_channels(ready_asterisk, "sdis77-op2")) == 1

        ends: dict[str, float] = {}
        for call_id in (fallback["id"], talker, waiter["id"]):
            ends[call_id] = time.time()
            await ready_asterisk.ari("DELETE", f"/channels/{call_id}")  # callers hang up
        records: dict[str, list[dict[str, Any]]] = {}
        for call_id in ends:
            records[call_id] = await eventually(
                functools.partial(ended_rows, app, call_id), within=20, what=f"{call_id} ended"
            )
    for call_id, rows in records.items():
        assert_whole_record(rows)
        assert abs(rows[-1]["at"].timestamp() - ends[call_id]) < 1.0, call_id
    assert kinds(records[talker]).count("connected") == 1
    assert "recovered" in kinds(records[talker])
    assert records[talker][-1]["position"] == "sdis77-op1"
    assert records[waiter["id"]][-1]["position"] == "sdis77-op3"
    assert records[fallback["id"]][-1]["outcome"] == "fallback"
    assert records[fallback["id"]][-1]["position"] == "sdis77-op2"
    everyone = {row["call_id"] for row in journal(dsn)}
    assert everyone == set(ends), everyone


def _at(text: str) -> float:
    """An instant as Asterisk (``...+0000``) or the API (ISO 8601) writes it."""
    return datetime.fromisoformat(text).timestamp()
