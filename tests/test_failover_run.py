"""Two ``ari-app run`` in lease mode against one Asterisk (the emulator) and one PostgreSQL:
one active, one standby naming it; the standby takes over when the active one dies or
freezes, and a frozen one, resumed, sends nothing more to Asterisk.

The same on real Asterisk 22 nodes: tests/asterisk/test_failover.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ari_app.sim import Answer, Emulator
from tests.ari_proxy import AriProxy, ari_proxy
from tests.test_run import EXAMPLE, application, cli, emulator, environment, free_port
from tests.waiting import wait_until

TAKE_OVER_S = 5.0  # what the instances promise (docs/failover.md)

pytestmark = pytest.mark.timeout(120)


def long_calls() -> contextlib.AbstractAsyncContextManager[Emulator]:
    """The emulator with every position answering at once and talking a minute."""
    return emulator(Answer(0.1, talk_s=60))


def lease_env(base: dict[str, str], name: str, port: int, tmp_path: Path) -> dict[str, str]:
    return {
        **base,
        "ARI_APP_LEADERSHIP": "lease",
        "ARI_APP_INSTANCE_NAME": name,
        "ARI_APP_API_PORT": str(port),
        "ARI_APP_API_URL": f"http://127.0.0.1:{port}",
        "ARI_APP_SPOOL_PATH": str(tmp_path / name / "journal.spool"),
    }


async def readiness(session: aiohttp.ClientSession, port: int) -> tuple[int, dict[str, Any]]:
    try:
        async with session.get(f"http://127.0.0.1:{port}/readyz") as answer:
            return answer.status, await answer.json()
    except aiohttp.ClientError:
        return 0, {}


async def active(session: aiohttp.ClientSession, port: int) -> bool:
    status, body = await readiness(session, port)
    return status == 200 and body.get("role") == "active"


async def standing_by_for(session: aiohttp.ClientSession, port: int, name: str) -> bool:
    status, body = await readiness(session, port)
    return status == 503 and f"{name} is the active instance" in body.get("message", "")


@contextlib.asynccontextmanager
async def pair(
    emu: Emulator, pg_dsn: str, tmp_path: Path, proxy: AriProxy
) -> AsyncIterator[tuple[Any, Any, dict[str, str], int, int]]:
    """Instance "paris" (reaching the emulator through ``proxy``) active, "lyon" standing by."""
    base = environment(emu, pg_dsn, tmp_path, free_port())
    cli(base, "topology", "import", str(EXAMPLE))
    paris_port, lyon_port = free_port(), free_port()
    paris_env = lease_env(base, "paris", paris_port, tmp_path)
    paris_env["ARI_APP_ARI_URL"] = f"{proxy.url}/ari"
    lyon_env = lease_env(base, "lyon", lyon_port, tmp_path)
    async with aiohttp.ClientSession() as session, application(paris_env) as paris:
        await wait_until(lambda: active(session, paris_port), within=20, what="paris active")
        async with application(lyon_env) as lyon:
            await wait_until(
                lambda: standing_by_for(session, lyon_port, "paris"),
                within=20,
                what="lyon standing by for paris",
            )
            yield paris, lyon, base, paris_port, lyon_port


async def test_the_standby_names_the_active_instance_and_refuses_changes(
    pg_dsn: str, tmp_path: Path
) -> None:
    async with (
        long_calls() as emu,
        ari_proxy(emu.base_url.removesuffix("/ari")) as proxy,
        pair(emu, pg_dsn, tmp_path, proxy) as (_, _, base, paris_port, lyon_port),
    ):
        token = json.loads(
            cli(base, "token", "create", "--name", "CODIS 77", "--scope", "national", "--json")
        )["token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.put(
                f"http://127.0.0.1:{lyon_port}/api/v1/centres/sdis77/diversion",
                json={"to": "sdis91", "reason": "evacuation"},
            ) as refused:
                assert refused.status == 503
                body = await refused.json()
                assert body["error_id"] == "not_active"
                assert "paris is the active instance" in body["message"]
                assert refused.headers["X-Ari-App-Active"] == f"http://127.0.0.1:{paris_port}"
            # Reads are answered by the standby: the centres and the modes in force, as the
            # active instance changes them (read again every few seconds).
            async with session.put(
                f"http://127.0.0.1:{paris_port}/api/v1/centres/sdis77/diversion",
                json={"to": "sdis91", "reason": "evacuation"},
            ) as accepted:
                assert accepted.status == 200, await accepted.text()

            async def diverted_on_lyon() -> bool:
                async with session.get(f"http://127.0.0.1:{lyon_port}/api/v1/units") as units:
                    assert units.status == 200
                    return any(
                        m["centre"] == "sdis77" and m["diverted_to"] == "sdis91"
                        for u in (await units.json())["units"]
                        for m in u["modes"]
                    )

            await wait_until(diverted_on_lyon, within=15, what="the diversion seen by lyon")
            async with session.get(f"http://127.0.0.1:{lyon_port}/metrics") as metrics:
                text = await metrics.text()
                assert 'ari_app_role{role="standby"} 1.0' in text
            async with session.get(f"http://127.0.0.1:{paris_port}/metrics") as metrics:
                text = await metrics.text()
                assert 'ari_app_role{role="active"} 1.0' in text
                assert "ari_app_lease_term 1.0" in text


async def test_a_killed_active_instance_is_replaced_and_its_calls_kept(
    pg_dsn: str, tmp_path: Path
) -> None:
    async with (
        long_calls() as emu,
        ari_proxy(emu.base_url.removesuffix("/ari")) as proxy,
        pair(emu, pg_dsn, tmp_path, proxy) as (paris, _, _, _, lyon_port),
    ):
        talking = await emu.place_call(routing_key="77288", number="0611000001")
        await wait_until(
            lambda: (r := emu.call(talking.channel_id)) is not None and r.talked,
            within=10,
            what="the first call connected",
        )
        paris.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        async with aiohttp.ClientSession() as session:
            await wait_until(
                lambda: active(session, lyon_port), within=TAKE_OVER_S, what="lyon active"
            )
        took = time.monotonic() - killed_at
        record = emu.call(talking.channel_id)
        assert record is not None
        assert not record.ended, "the connected call survived the take-over"
        fresh = await emu.place_call(routing_key="77288", number="0611000002")
        await wait_until(
            lambda: (r := emu.call(fresh.channel_id)) is not None and r.talked,
            within=10,
            what="a new call answered by lyon",
        )
    print(f"take-over after a kill: {took:.2f} s")


async def test_a_frozen_active_instance_is_replaced_and_resumed_sends_nothing(
    pg_dsn: str, tmp_path: Path
) -> None:
    async with (
        long_calls() as emu,
        ari_proxy(emu.base_url.removesuffix("/ari")) as proxy,
        pair(emu, pg_dsn, tmp_path, proxy) as (paris, _, _, _, lyon_port),
    ):
        paris.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        async with aiohttp.ClientSession() as session:
            await wait_until(
                lambda: active(session, lyon_port), within=TAKE_OVER_S, what="lyon active"
            )
        took = time.monotonic() - frozen_at
        sent_before = len(proxy.commands())
        # A call the frozen instance would have offered, had it woken up unfenced.
        caller = await emu.place_call(routing_key="77288", number="0611000003")
        paris.send_signal(signal.SIGCONT)
        await asyncio.wait_for(paris.wait(), 15)
        output = (await paris.stdout.read()).decode()
        assert paris.returncode == 1, output
        assert "no longer the active one" in output
        assert proxy.commands()[sent_before:] == []
        await wait_until(
            lambda: (r := emu.call(caller.channel_id)) is not None and r.talked,
            within=10,
            what="the call answered by lyon",
        )
    print(f"take-over after a freeze: {took:.2f} s")


async def test_a_single_instance_refuses_to_start_beside_an_active_one(
    pg_dsn: str, tmp_path: Path
) -> None:
    async with long_calls() as emu:
        base = environment(emu, pg_dsn, tmp_path, free_port())
        cli(base, "topology", "import", str(EXAMPLE))
        paris_port = free_port()
        single = {**base, "ARI_APP_INSTANCE_NAME": "nantes"}
        async with (
            aiohttp.ClientSession() as session,
            application(lease_env(base, "paris", paris_port, tmp_path)),
        ):
            await wait_until(lambda: active(session, paris_port), within=20, what="paris active")
            async with application(single) as refused:
                await asyncio.wait_for(refused.wait(), 20)
                assert refused.stdout is not None
                output = (await refused.stdout.read()).decode()
            assert refused.returncode != 0
            assert "instance paris is the active one in lease mode" in output
            assert "ARI_APP_LEADERSHIP=lease" in output
            assert await active(session, paris_port)


async def test_a_cleanly_stopped_active_instance_hands_the_lease_over_at_once(
    pg_dsn: str, tmp_path: Path
) -> None:
    async with (
        long_calls() as emu,
        ari_proxy(emu.base_url.removesuffix("/ari")) as proxy,
        pair(emu, pg_dsn, tmp_path, proxy) as (paris, _, _, _, lyon_port),
    ):
        paris.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        async with aiohttp.ClientSession() as session:
            await wait_until(lambda: active(session, lyon_port), within=3, what="lyon active")
        took = time.monotonic() - stopped_at
        assert await asyncio.wait_for(paris.wait(), 15) == 0
    print(f"take-over after a clean stop: {took:.2f} s")
