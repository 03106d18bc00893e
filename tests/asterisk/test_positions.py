"""Positions that do not take a call, callers who leave, operators who hang up, DTMF: what a
real Asterisk 22 reports (channels, bridges, SIP seen by the phones, recordings) and what the
journal and the callback list say."""

from __future__ import annotations

import functools
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.asterisk.bed import (
    AriObserver,
    AsteriskNode,
    SipPeers,
    callbacks,
    caller_channel,
    ended_journal,
    eventually,
    in_holding_bridge,
    kinds,
    nothing_left,
    observe,
    running,
    sip_requests,
    talk_partner,
    trace_sip,
)
from tests.asterisk.conftest import make_app


def _leg_events(seen: AriObserver, endpoint: str, kind: str) -> list[dict[str, Any]]:
    """Events of type ``kind`` about the channels Asterisk dialled to ``endpoint``."""
    return seen.seen(
        lambda e: e["type"] == kind and str(e["channel"]["name"]).startswith(f"{endpoint}-")
    )


def _at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["timestamp"])).timestamp()


def _offers(rows: list[dict[str, Any]]) -> list[str]:
    return [str(r["position"]) for r in rows if r["kind"] == "offered"]


def _failures(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (str(r["position"]), str(r["details"]["failure"]))
        for r in rows
        if r["kind"] == "offer_failed"
    ]


async def test_busy_silent_and_unregistered_positions_are_skipped_for_the_next_one(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    # Equally idle positions are offered in the order of their names: op1, op2, (op3), op4.
    await peers.position("sdis77-op1", "busy")
    await peers.position("sdis77-op2", "noanswer")
    await peers.position("sdis77-op3", "unregistered")
    await peers.position("sdis77-op4", "answer", ring_ms=300)
    app = make_app(ready_asterisk, database, tmp_path, ring_timeout_s="3")
    async with observe(ready_asterisk) as seen, running(app):
        call = await peers.call("77288", caller="0611000001", hold_s=12)
        call_id = (await caller_channel(ready_asterisk, "0611000001"))["id"]
        await eventually(
            lambda: _is_talking_to(ready_asterisk, call_id, "PJSIP/sdis77-op4"),
            within=20,
            what="the caller talking to sdis77-op4",
        )
        assert await call.wait(30) == 0, call.output()
        await eventually(lambda: nothing_left(ready_asterisk), what="nothing left in Asterisk")

    # What Asterisk did: op1 answered 486 (cause 17), op2 rang until the ring timeout,
    # op3 was never dialled, op4 was.
    dialled = seen.channel_names("PJSIP/sdis77-op")
    assert [name.rsplit("-", 1)[0] for name in dialled] == [
        "PJSIP/sdis77-op1",
        "PJSIP/sdis77-op2",
        "PJSIP/sdis77-op4",
    ]
    (busy,) = _leg_events(seen, "PJSIP/sdis77-op1", "ChannelDestroyed")
    assert busy["cause"] == 17
    (silent,) = _leg_events(seen, "PJSIP/sdis77-op2", "ChannelDestroyed")
    (rang,) = _leg_events(seen, "PJSIP/sdis77-op2", "ChannelCreated")
    assert _at(silent) - _at(rang) >= 2.5, "op2 was not left to ring until the ring timeout"

    rows = await ended_journal(app.env["ARI_APP_DATABASE_DSN"], call_id)
    assert _offers(rows) == ["sdis77-op1", "sdis77-op2", "sdis77-op4"]
    assert _failures(rows) == [("sdis77-op1", "busy"), ("sdis77-op2", "no_answer")]
    failed = [r for r in rows if r["kind"] == "offer_failed"]
    assert failed[0]["reason"].startswith("sdis77-op1: busy")
    assert failed[1]["reason"].startswith("sdis77-op2: no_answer")
    (connected,) = [r for r in rows if r["kind"] == "connected"]
    assert connected["position"] == "sdis77-op4"
    assert rows[-1]["outcome"] == "answered"
    assert rows[-1]["position"] == "sdis77-op4"


async def _is_talking_to(asterisk: AsteriskNode, call_id: str, endpoint: str) -> bool:
    return await talk_partner(asterisk, call_id) == endpoint


async def test_caller_who_hangs_up_while_waiting_is_abandoned_and_put_on_the_callback_list(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    app = make_app(ready_asterisk, database, tmp_path)  # no position registered at all
    async with observe(ready_asterisk) as seen, running(app):
        call = await peers.call("77288", caller="0611000002", hold_s=4)
        call_id = (await caller_channel(ready_asterisk, "0611000002"))["id"]
        await eventually(
            lambda: in_holding_bridge(ready_asterisk, call_id), what="the caller waiting"
        )
        # Asterisk plays the welcome on the holding bridge: the caller is looked after.
        await seen.wait_for(
            lambda e: (
                e["type"] == "PlaybackStarted"
                and e["playback"]["target_uri"] == f"bridge:vcta-wait-{call_id}"
            ),
            what="an announcement played to the waiting caller",
        )
        assert await call.wait(20) == 0, call.output()
        await eventually(lambda: nothing_left(ready_asterisk), what="nothing left in Asterisk")
    assert seen.channel_names("PJSIP/sdis77-op") == []

    dsn = app.env["ARI_APP_DATABASE_DSN"]
    rows = await ended_journal(dsn, call_id)
    assert kinds(rows) == ["arrived", "routed", "waiting", "ended"]
    ended = rows[-1]
    assert ended["outcome"] == "abandoned"
    assert ended["details"]["ended_by"] == "caller"
    assert ended["details"]["state"] == "waiting"
    (callback,) = await eventually(
        lambda: [c for c in callbacks(dsn) if c["call_id"] == call_id],
        what="the caller on the callback list",
    )
    assert callback["caller"] == "0611000002"
    assert callback["home_centre"] == "sdis77"
    assert callback["done_at"] is None
    assert 3.0 <= callback["waited_s"] < 15.0


async def test_caller_who_hangs_up_while_a_position_rings_cancels_the_ringing(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    ringing_phone = await peers.position("sdis77-op1", "noanswer")
    messages = trace_sip(peers, ringing_phone)
    # The ring timeout is far away: only the caller's hang-up may stop the ringing.
    app = make_app(ready_asterisk, database, tmp_path, ring_timeout_s="30")
    async with observe(ready_asterisk) as seen, running(app):
        call = await peers.call("77288", caller="0611000003", hold_s=6)
        call_id = (await caller_channel(ready_asterisk, "0611000003"))["id"]
        ringing = await seen.wait_for(
            lambda e: (
                e["type"] == "ChannelStateChange"
                and str(e["channel"]["name"]).startswith("PJSIP/sdis77-op1-")
                and e["channel"]["state"] == "Ringing"
            ),
            within=5,
            what="sdis77-op1 ringing",
        )
        assert call.running(), "the caller left before the position rang"
        assert await call.wait(20) == 0, call.output()
        leg_id = ringing["channel"]["id"]
        await seen.wait_for(
            lambda e: e["type"] == "ChannelDestroyed" and e["channel"]["id"] == leg_id,
            within=5,
            what="the ringing leg hung up",
        )
        await eventually(
            lambda: sip_requests(messages, "CANCEL") == 1, what="sdis77-op1 got a CANCEL"
        )
        await eventually(lambda: nothing_left(ready_asterisk), what="nothing left in Asterisk")
        # The position is free again at once: the next caller rings it.
        assert sip_requests(messages, "INVITE") == 1
        next_call = await peers.call("77288", caller="0611000013", hold_s=3)
        await eventually(
            lambda: sip_requests(messages, "INVITE") == 2,
            within=5,
            what="sdis77-op1 rung for the next caller",
        )
        assert await next_call.wait(20) == 0, next_call.output()
        await eventually(
            lambda: sip_requests(messages, "CANCEL") == 2, what="sdis77-op1 got a second CANCEL"
        )
        await eventually(lambda: nothing_left(ready_asterisk), what="nothing left in Asterisk")

    dsn = app.env["ARI_APP_DATABASE_DSN"]
    rows = await ended_journal(dsn, call_id)
    assert _offers(rows) == ["sdis77-op1"]
    assert "connected" not in kinds(rows)
    ended = rows[-1]
    assert ended["outcome"] == "abandoned"
    assert ended["details"]["ended_by"] == "caller"
    assert ended["details"]["state"] == "offered"
    assert await eventually(
        lambda: [c for c in callbacks(dsn) if c["call_id"] == call_id],
        what="the caller on the callback list",
    )


async def test_operator_who_hangs_up_ends_the_call_for_the_caller(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    await peers.position("sdis77-op1", "hangup", ring_ms=300, talk_ms=3000)
    app = make_app(ready_asterisk, database, tmp_path)
    async with running(app):
        started = time.monotonic()
        # The caller would stay two minutes: only Asterisk's BYE ends their sipp sooner.
        call = await peers.call("77288", caller="0611000004", hold_s=120)
        call_id = (await caller_channel(ready_asterisk, "0611000004"))["id"]
        await eventually(
            lambda: _is_talking_to(ready_asterisk, call_id, "PJSIP/sdis77-op1"),
            within=15,
            what="the caller talking to sdis77-op1",
        )
        assert await call.wait(30) == 0, call.output()
        assert time.monotonic() - started < 60
        await eventually(lambda: nothing_left(ready_asterisk), what="nothing left in Asterisk")

    rows = await ended_journal(app.env["ARI_APP_DATABASE_DSN"], call_id)
    assert kinds(rows) == ["arrived", "routed", "waiting", "offered", "connected", "ended"]
    ended = rows[-1]
    assert ended["outcome"] == "answered"
    assert ended["position"] == "sdis77-op1"
    assert ended["details"]["ended_by"] == "operator"
    assert rows[-2]["details"]["recording"] == call_id
    assert call_id in await eventually(
        ready_asterisk.stored_recordings, what="the recording stored"
    )
    size = ready_asterisk.file_size(f"/var/spool/asterisk/recording/{call_id}.wav")
    assert size is not None, "no recording file"
    assert size > 44, "the recording has no audio"


async def test_caller_dtmf_while_waiting_and_while_talking_breaks_nothing(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    # The carrier sends 1, 8, # 1.5 s after being answered: to the first caller once they
    # talk (op1 answers at once), to the second while op2 still rings (it answers after 6 s).
    await peers.position("sdis77-op1", "answer", ring_ms=0)
    await peers.position("sdis77-op2", "answer", ring_ms=6000)
    app = make_app(ready_asterisk, database, tmp_path, ring_timeout_s="12")
    async with observe(ready_asterisk) as seen, running(app):
        talking_call = await peers.call("77288", caller="0611000005", hold_s=8, dtmf=True)
        talking_id = (await caller_channel(ready_asterisk, "0611000005"))["id"]
        await eventually(
            lambda: _is_talking_to(ready_asterisk, talking_id, "PJSIP/sdis77-op1"),
            what="the first caller talking to sdis77-op1",
        )
        waiting_call = await peers.call("77288", caller="0611000006", hold_s=12, dtmf=True)
        waiting_id = (await caller_channel(ready_asterisk, "0611000006"))["id"]

        for call_id, bridge in ((talking_id, "talk"), (waiting_id, "wait")):
            await seen.wait_for(
                functools.partial(_is_last_digit, call_id=call_id),
                what=f"the DTMF of {call_id} received by Asterisk",
            )
            assert _bridge_at_dtmf(seen, call_id) == f"vcta-{bridge}-{call_id}"
        # The DTMF changed nothing: the first still talks, the second is then connected.
        assert await talk_partner(ready_asterisk, talking_id) == "PJSIP/sdis77-op1"
        await eventually(
            lambda: _is_talking_to(ready_asterisk, waiting_id, "PJSIP/sdis77-op2"),
            within=15,
            what="the second caller talking to sdis77-op2",
        )
        assert await talking_call.wait(30) == 0, talking_call.output()
        assert await waiting_call.wait(30) == 0, waiting_call.output()
        await eventually(lambda: nothing_left(ready_asterisk), what="nothing left in Asterisk")

    dsn = app.env["ARI_APP_DATABASE_DSN"]
    for call_id, position in ((talking_id, "sdis77-op1"), (waiting_id, "sdis77-op2")):
        digits = "".join(d for e in seen.events if (d := _dtmf_of(e, call_id)))
        assert digits == "18#"
        rows = await ended_journal(dsn, call_id)
        assert kinds(rows) == ["arrived", "routed", "waiting", "offered", "connected", "ended"]
        assert rows[-1]["outcome"] == "answered"
        assert rows[-1]["position"] == position
        assert rows[-1]["details"]["ended_by"] == "caller"
    assert "call session failed" not in app.logs()


def _dtmf_of(event: dict[str, Any], call_id: str) -> str | None:
    if event["type"] == "ChannelDtmfReceived" and event["channel"]["id"] == call_id:
        return str(event["digit"])
    return None


def _is_last_digit(event: dict[str, Any], call_id: str) -> bool:
    return _dtmf_of(event, call_id) == "#"


def _bridge_at_dtmf(seen: AriObserver, call_id: str) -> str | None:
    """The bridge the caller was in when Asterisk received their first digit."""
    bridge: str | None = None
    for event in seen.events:
        if event.get("channel", {}).get("id") != call_id:
            continue
        if event["type"] == "ChannelEnteredBridge":
            bridge = str(event["bridge"]["id"])
        elif event["type"] == "ChannelLeftBridge":
            bridge = None
        elif event["type"] == "ChannelDtmfReceived":
            return bridge
    return None


async def test_late_answer_within_the_ring_timeout_connects_and_after_it_goes_to_the_next(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    # The ring timeout is 4 s: op1 would answer after 6.5 s, too late; op2 after 3 s.
    await peers.position("sdis77-op1", "answer", ring_ms=6500)
    await peers.position("sdis77-op2", "answer", ring_ms=3000)
    app = make_app(ready_asterisk, database, tmp_path, ring_timeout_s="4")
    async with observe(ready_asterisk) as seen, running(app):
        call = await peers.call("77288", caller="0611000007", hold_s=14)
        call_id = (await caller_channel(ready_asterisk, "0611000007"))["id"]
        await eventually(
            lambda: _is_talking_to(ready_asterisk, call_id, "PJSIP/sdis77-op2"),
            within=20,
            what="the caller talking to sdis77-op2",
        )
        assert await call.wait(30) == 0, call.output()
        await eventually(lambda: nothing_left(ready_asterisk), what="nothing left in Asterisk")

    # op1's leg rang the whole ring timeout and was never answered; op2's was, late.
    (late_created,) = _leg_events(seen, "PJSIP/sdis77-op1", "ChannelCreated")
    (late_destroyed,) = _leg_events(seen, "PJSIP/sdis77-op1", "ChannelDestroyed")
    assert 3.5 <= _at(late_destroyed) - _at(late_created) < 9.0
    assert not [
        e
        for e in _leg_events(seen, "PJSIP/sdis77-op1", "ChannelStateChange")
        if e["channel"]["state"] == "Up"
    ]
    (created,) = _leg_events(seen, "PJSIP/sdis77-op2", "ChannelCreated")
    up = [
        e
        for e in _leg_events(seen, "PJSIP/sdis77-op2", "ChannelStateChange")
        if e["channel"]["state"] == "Up"
    ]
    assert up, "op2 never answered"
    assert _at(up[0]) - _at(created) >= 2.5

    rows = await ended_journal(app.env["ARI_APP_DATABASE_DSN"], call_id)
    assert _offers(rows) == ["sdis77-op1", "sdis77-op2"]
    assert _failures(rows) == [("sdis77-op1", "no_answer")]
    assert rows[-1]["outcome"] == "answered"
    assert rows[-1]["position"] == "sdis77-op2"
