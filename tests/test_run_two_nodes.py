"""``ari-app run`` over two Asterisk nodes (two emulators) and PostgreSQL: calls taken on
both and journaled with their node; one node lost, the application stays ready through the
other and says which node is down."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psycopg

from ari_app.sim import Answer, Emulator
from ari_app.vcta import load_topology
from tests.test_run import EXAMPLE, PASSWORD, USER, application, environment, free_port, ready
from tests.waiting import wait_until


@contextlib.asynccontextmanager
async def node(name: str) -> AsyncIterator[Emulator]:
    """An emulated node whose positions answer at once and talk for half a second."""
    emu = Emulator(users={USER: PASSWORD}, app="vcta", system_name=name)
    for position in load_topology(EXAMPLE).position_by_id.values():
        emu.add_endpoint(position.endpoint.split("/", 1)[1], script=Answer(0.2, talk_s=0.5))
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


async def answered(emu: Emulator, channel_id: str) -> None:
    await wait_until(
        lambda: (r := emu.call(channel_id)) is not None and r.ended and r.talked,
        within=15,
        what=f"{channel_id} answered and ended",
    )


async def test_run_over_two_nodes_takes_calls_on_both_and_goes_on_without_one(
    pg_dsn: str, tmp_path: Path
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    async with node("paris") as paris, node("lyon") as lyon, aiohttp.ClientSession() as http:
        env = environment(paris, pg_dsn, tmp_path, port)
        env["ARI_APP_ASTERISK_NODES"] = f"paris={paris.base_url},lyon={lyon.base_url}"
        env["ARI_APP_NODE_DOWN_AFTER_S"] = "1"
        async with application(env) as process:
            await ready(http, api, process)
            await wait_until(
                lambda: _nodes(http, api, {"paris": "up", "lyon": "up"}), what="both nodes up"
            )
            in_paris = await paris.place_call(routing_key="77288", number="0611111111")
            in_lyon = await lyon.place_call(routing_key="77288", number="0622222222")
            await answered(paris, in_paris.channel_id)
            await answered(lyon, in_lyon.channel_id)

            await paris.stop()
            await wait_until(
                lambda: _nodes(http, api, {"paris": "down", "lyon": "up"}),
                within=10,
                what="/readyz saying paris is down and staying ready",
            )
            async with http.get(f"{api}/metrics") as answer:
                metrics = await answer.text()
            assert 'ari_app_node_up{node="paris"} 0.0' in metrics
            assert 'ari_app_node_up{node="lyon"} 1.0' in metrics
            after = await lyon.place_call(routing_key="77288", number="0633333333")
            await answered(lyon, after.channel_id)
            process.send_signal(signal.SIGTERM)
            await process.wait()
    with psycopg.connect(pg_dsn) as conn:
        nodes: dict[str, str | None] = dict(
            conn.execute(
                "SELECT call_id, node FROM calls WHERE call_id = ANY(%s)",
                ([in_paris.channel_id, in_lyon.channel_id, after.channel_id],),
            ).fetchall()
        )
        unnamed = conn.execute(
            "SELECT count(*) FROM journal_entries WHERE call_id = ANY(%s) AND node IS NULL",
            ([in_paris.channel_id, in_lyon.channel_id, after.channel_id],),
        ).fetchone()
    assert nodes == {
        in_paris.channel_id: "paris",
        in_lyon.channel_id: "lyon",
        after.channel_id: "lyon",
    }
    assert unnamed == (0,)


async def _nodes(http: aiohttp.ClientSession, api: str, expected: dict[str, str]) -> bool:
    with contextlib.suppress(aiohttp.ClientError):
        async with http.get(f"{api}/readyz") as answer:
            return answer.status == 200 and (await answer.json()).get("nodes") == expected
    return False
