"""Two ``ari-app run`` in lease mode on one real Asterisk 22 and one PostgreSQL: the active
one killed, frozen, or cut off from its database, with calls waiting and connected
(docs/failover.md states the times these tests measure)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest

from tests.ari_proxy import AriProxy, ari_proxy
from tests.asterisk.bed import (
    APP_NAME,
    Application,
    AsteriskNode,
    PostgresNode,
    SipPeers,
    caller_channel,
    eventually,
    free_port,
    journal,
    kinds,
    readiness,
    talking,
    whole_record,
)
from tests.asterisk.conftest import make_app

pytestmark = pytest.mark.failover

TAKE_OVER_S = 5.0  # what the pair promises (docs/failover.md)
TIMES: dict[str, float] = {}  # measured take-over times, printed at the end of each test


def paired(app: Application, name: str, tmp_path: Path, **settings: str) -> Application:
    """``app``'s settings for an instance ``name`` in lease mode, with its own port and spool."""
    port = free_port()
    env = {
        **app.env,
        "ARI_APP_LEADERSHIP": "lease",
        "ARI_APP_INSTANCE_NAME": name,
        "ARI_APP_API_PORT": str(port),
        "ARI_APP_API_URL": f"http://127.0.0.1:{port}",
        "ARI_APP_SPOOL_PATH": str(tmp_path / name / "journal.spool"),
    }
    env.update({f"ARI_APP_{key.upper()}": value for key, value in settings.items()})
    return dataclasses.replace(app, env=env, api_port=port, log_path=tmp_path / f"{name}.log")


async def is_active(app: Application) -> bool:
    status, body = await readiness(app)
    return status == 200 and body.get("role") == "active"


async def stands_by_for(app: Application, active: str) -> bool:
    status, body = await readiness(app)
    return status == 503 and f"{active} is the active instance" in body.get("message", "")


def start_standby(app: Application) -> None:
    log = app.log_path.open("ab")
    app.process = subprocess.Popen(
        [sys.executable, "-m", "ari_app", "run"], env=app.env, stdout=log, stderr=log
    )
    log.close()


@contextlib.asynccontextmanager
async def pair(
    asterisk: AsteriskNode, database: str, tmp_path: Path, proxy: AriProxy | None = None
) -> AsyncIterator[tuple[Application, Application]]:
    """ "paris" active (through ``proxy`` when given), "lyon" standing by for it."""
    template = make_app(asterisk, database, tmp_path)
    paris = paired(template, "paris", tmp_path)
    if proxy is not None:
        paris.env["ARI_APP_ARI_URL"] = f"{proxy.url}/ari"
    lyon = paired(template, "lyon", tmp_path)
    try:
        await paris.start()
        await eventually(lambda: is_active(paris), what="paris active")
        start_standby(lyon)
        await eventually(lambda: stands_by_for(lyon, "paris"), within=30, what="lyon standing by")
        yield paris, lyon
    finally:
        for app in (paris, lyon):
            if app.process is not None and app.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(app.process.pid, signal.SIGCONT)
            app.stop()


async def waiting(asterisk: AsteriskNode, call_id: str) -> bool:
    return any(
        b["id"] == f"{APP_NAME}-wait-{call_id}" and call_id in b["channels"]
        for b in await asterisk.bridges()
    )


def on_record(dsn: str, call_id: str, kind: str) -> bool:
    return kind in kinds(journal(dsn, call_id))


async def take_over(standby: Application, what: str) -> float:
    """Seconds until ``standby`` is the active instance (fails past TAKE_OVER_S)."""
    started = time.monotonic()
    await eventually(lambda: is_active(standby), within=TAKE_OVER_S, what=what)
    took = time.monotonic() - started
    TIMES[what] = took
    print(f"{what}: {took:.2f} s")
    return took


async def test_killed_active_instance_replaced_within_5_s_every_call_kept(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    await peers.position("sdis77-op1", "answer", ring_ms=300)
    async with pair(ready_asterisk, database, tmp_path) as (paris, lyon):
        dsn = paris.env["ARI_APP_DATABASE_DSN"]
        await peers.call("77288", caller="0611000101", hold_s=90)
        connected = (await caller_channel(ready_asterisk, "0611000101"))["id"]
        before = await eventually(
            lambda: talking(ready_asterisk, connected), within=20, what="a call connected"
        )
        await peers.call("77288", caller="0611000102", hold_s=90)
        queued = (await caller_channel(ready_asterisk, "0611000102"))["id"]
        await eventually(lambda: waiting(ready_asterisk, queued), what="a call waiting")
        for call_id, kind in ((connected, "connected"), (queued, "waiting")):
            await eventually(
                partial(on_record, dsn, call_id, kind),
                what=f"the call {kind} on record",
            )

        paris.kill()
        await take_over(lyon, "take-over after the active instance was killed")

        assert await talking(ready_asterisk, connected) == before
        assert await waiting(ready_asterisk, queued)
        # The connected caller hangs up: the position is free, lyon offers the waiting call.
        await ready_asterisk.ari("DELETE", f"/channels/{connected}")
        await eventually(
            lambda: talking(ready_asterisk, queued), within=20, what="the waiting call connected"
        )
        await ready_asterisk.ari("DELETE", f"/channels/{queued}")
        for call_id in (connected, queued):
            rows = await eventually(
                partial(whole_record, dsn, call_id), within=20, what=f"the record of {call_id}"
            )
            assert "recovered" in kinds(rows)


async def test_frozen_active_instance_replaced_and_resumed_sends_nothing(
    ready_asterisk: AsteriskNode, peers: SipPeers, database: str, tmp_path: Path
) -> None:
    async with (
        ari_proxy(ready_asterisk.ari_url.removesuffix("/ari")) as proxy,
        pair(ready_asterisk, database, tmp_path, proxy) as (paris, lyon),
    ):
        dsn = paris.env["ARI_APP_DATABASE_DSN"]
        # A caller waits (no position): the frozen instance holds its timers (reminders).
        await peers.call("77288", caller="0611000201", hold_s=90)
        call_id = (await caller_channel(ready_asterisk, "0611000201"))["id"]
        await eventually(lambda: waiting(ready_asterisk, call_id), what="a call waiting")
        assert paris.process is not None

        paris.process.send_signal(signal.SIGSTOP)
        await take_over(lyon, "take-over after the active instance froze")
        sent_while_frozen = len(proxy.commands())

        paris.process.send_signal(signal.SIGCONT)
        code = await asyncio.to_thread(paris.process.wait, 20)
        assert code == 1, paris.logs()
        assert "no longer the active one" in paris.logs()
        assert proxy.commands()[sent_while_frozen:] == [], "the fenced instance sent commands"

        await peers.position("sdis77-op1", "answer", ring_ms=300)
        await eventually(
            lambda: talking(ready_asterisk, call_id), within=20, what="lyon connecting the call"
        )
        await ready_asterisk.ari("DELETE", f"/channels/{call_id}")
        rows = await eventually(
            lambda: whole_record(dsn, call_id), within=20, what="the call's record"
        )
        assert "recovered" in kinds(rows)


async def test_database_stopped_under_the_active_instance_no_second_one_becomes_active(
    ready_asterisk: AsteriskNode,
    peers: SipPeers,
    database: str,
    tmp_path: Path,
    postgres: PostgresNode,
) -> None:
    await peers.position("sdis77-op1", "hangup", ring_ms=300, talk_ms=1500)
    calls: list[str] = []
    try:
        async with pair(ready_asterisk, database, tmp_path) as (paris, lyon):
            dsn = paris.env["ARI_APP_DATABASE_DSN"]
            await postgres.stop()
            stopped_at = time.monotonic()
            for n in range(2):
                number = f"061100030{n}"
                await peers.call("77288", caller=number, hold_s=30)
                call_id = (await caller_channel(ready_asterisk, number))["id"]
                calls.append(call_id)
                await eventually(
                    partial(talking, ready_asterisk, call_id),
                    within=15,
                    what=f"call {n} connected without PostgreSQL",
                )
            # Past the lease's silence, the standby has not become active.
            while time.monotonic() - stopped_at < 8:
                assert not await is_active(lyon), "a second instance became active"
                await asyncio.sleep(0.5)  # sync-ok: sampling the standby through the outage
            _, body = await readiness(paris)
            assert "without the lease" in body.get("message", "")
            await postgres.start()
            await eventually(
                lambda: stands_by_for(lyon, "paris"), within=20, what="lyon still standing by"
            )
            assert await is_active(paris)
            for call_id in calls:
                rows = await eventually(
                    partial(whole_record, dsn, call_id), within=30, what=f"the end of {call_id}"
                )
                assert kinds(rows)[:2] == ["arrived", "routed"]
    finally:
        if not await asyncio.to_thread(postgres.ready):
            await postgres.start()
