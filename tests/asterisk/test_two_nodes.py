"""One ``ari-app run`` over two real Asterisk 22 nodes (one per datacentre, on one host with
distinct ports), each phone registered to both, the carrier calling either: calls bridged on
the node they arrived on under one national policy; one node killed under calls, the other
goes on, the lost node's calls are ended and their positions freed, and the node back is
reconciled (docs/two-datacentres.md states the times these tests measure)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from tests.asterisk.bed import (
    Application,
    AsteriskNode,
    Position,
    SipPeers,
    app_get,
    caller_channel,
    eventually,
    in_holding_bridge,
    journal,
    kinds,
    position_statuses,
    read_token,
    readiness,
    start_asterisk,
    talking,
    whole_record,
)
from tests.asterisk.conftest import _peers, make_app

pytestmark = pytest.mark.failover

NODE_DOWN_AFTER_S = 5.0  # the default of ARI_APP_NODE_DOWN_AFTER_S
TIMES: dict[str, float] = {}  # measured, printed as they are (pytest -s)


@dataclass
class Platform:
    paris: AsteriskNode
    lyon: AsteriskNode
    peers: dict[str, SipPeers]
    app: Application

    @property
    def dsn(self) -> str:
        return self.app.env["ARI_APP_DATABASE_DSN"]

    def node(self, name: str) -> AsteriskNode:
        return self.paris if name == "paris" else self.lyon

    async def position(self, name: str, *, on: tuple[str, ...] = ("paris", "lyon")) -> Position:
        """An operator position answering calls from either node, registered to ``on``."""
        position = await self.peers[on[0]].position(name, "answer", ring_ms=300)
        await self.peers[on[0]].register_also(name, *(self.peers[node] for node in on[1:]))
        for node in on:
            await eventually(
                partial(_online, self.node(node), name), what=f"{name} online on {node}"
            )
        return position

    async def call(self, node: str, caller: str) -> str:
        """A carrier call to ``node``; its call id (the caller's channel there)."""
        await self.peers[node].call("77288", caller=caller, hold_s=180)
        return str((await caller_channel(self.node(node), caller))["id"])


async def _online(node: AsteriskNode, resource: str) -> bool:
    return bool((await node.endpoint(resource))["state"] == "online")


@pytest.fixture
def two_asterisks(asterisk_image: str) -> Iterator[tuple[AsteriskNode, AsteriskNode]]:
    with (
        start_asterisk(asterisk_image, system_name="paris") as paris,
        start_asterisk(asterisk_image, system_name="lyon") as lyon,
    ):
        yield paris, lyon


@contextlib.asynccontextmanager
async def platform(
    two_asterisks: tuple[AsteriskNode, AsteriskNode], database: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    paris, lyon = two_asterisks
    await paris.wait_ready()
    await lyon.wait_ready()
    app = make_app(
        paris, database, tmp_path, asterisk_nodes=f"paris={paris.ari_url},lyon={lyon.ari_url}"
    )
    read_token(app)
    async with _peers(paris, tmp_path) as at_paris, _peers(lyon, tmp_path) as at_lyon:
        try:
            await app.start()
            await eventually(
                lambda: nodes_are(app, paris="up", lyon="up"), within=30, what="both nodes up"
            )
            yield Platform(paris, lyon, {"paris": at_paris, "lyon": at_lyon}, app)
        except BaseException:
            print(f"ari-app run's log:\n{app.logs()[-8000:]}")  # what it saw, for the failure
            raise
        finally:
            app.stop()


async def nodes_are(app: Application, **expected: str) -> bool:
    """``/readyz`` answers 200 (ready) and lists the nodes in these states."""
    status, body = await readiness(app)
    return status == 200 and body.get("nodes") == expected


async def calls_in_policy(app: Application) -> set[str]:
    """Every call the policy holds, as the API shows it: talking or rung at a position, or
    waiting at a unit."""
    found = {p["call_id"] for p in (await app_get(app, "/api/v1/positions"))["positions"]}
    for unit in (await app_get(app, "/api/v1/units"))["units"]:
        waiting = await app_get(app, f"/api/v1/units/{unit['id']}/waiting-calls")
        found |= {call["call_id"] for call in waiting["calls"]}
    return found - {None}


def node_of_rows(dsn: str, call_id: str) -> set[str | None]:
    return {row["node"] for row in journal(dsn, call_id)}


def measured(what: str, since: float) -> float:
    took = time.monotonic() - since
    TIMES[what] = took
    print(f"{what}: {took:.2f} s")
    return took


async def test_calls_on_both_nodes_are_connected_in_one_national_view(
    two_asterisks: tuple[AsteriskNode, AsteriskNode], database: str, tmp_path: Path
) -> None:
    async with platform(two_asterisks, database, tmp_path) as p:
        await p.position("sdis77-op1")
        await p.position("sdis77-op2")
        in_paris = await p.call("paris", "0611000001")
        in_lyon = await p.call("lyon", "0611000002")
        await eventually(partial(talking, p.paris, in_paris), within=20, what="paris's call")
        await eventually(partial(talking, p.lyon, in_lyon), within=20, what="lyon's call")
        # Each call is bridged on its own node.
        assert await talking(p.lyon, in_paris) == []
        assert await talking(p.paris, in_lyon) == []
        units = {u["id"]: u for u in (await app_get(p.app, "/api/v1/units"))["units"]}
        assert units["sdis77"]["busy_positions"] == 2
        assert await calls_in_policy(p.app) == {in_paris, in_lyon}
        await eventually(
            lambda: node_of_rows(p.dsn, in_paris) == {"paris"}, what="paris's call journaled"
        )
        await eventually(
            lambda: node_of_rows(p.dsn, in_lyon) == {"lyon"}, what="lyon's call journaled"
        )


async def test_a_node_killed_under_calls_the_other_goes_on_and_the_node_back_is_reconciled(
    two_asterisks: tuple[AsteriskNode, AsteriskNode], database: str, tmp_path: Path
) -> None:
    async with platform(two_asterisks, database, tmp_path) as p:
        for name in ("sdis77-op1", "sdis77-op2"):
            await p.position(name)
        # Three conversations (two on paris), then a caller waiting on each node.
        lost_talking = [await p.call("paris", "0611000101")]
        kept = await p.call("lyon", "0611000102")
        for node, call_id in (("paris", lost_talking[0]), ("lyon", kept)):
            await eventually(partial(talking, p.node(node), call_id), within=20, what=call_id)
        # A phone registered to paris only, taking paris's next call (the only one free).
        await p.position("sdis77-op3", on=("paris",))
        lost_talking.append(await p.call("paris", "0611000103"))
        await eventually(partial(talking, p.paris, lost_talking[1]), within=20, what="third")
        lost_waiting = await p.call("paris", "0611000104")
        waits_on_lyon = await p.call("lyon", "0611000105")
        for node, call_id in (("paris", lost_waiting), ("lyon", waits_on_lyon)):
            await eventually(
                partial(in_holding_bridge, p.node(node), call_id), what=f"{call_id} waiting"
            )
        lost = [*lost_talking, lost_waiting]
        kept_partner = await talking(p.lyon, kept)

        await p.paris.kill()
        killed_at = time.monotonic()
        await eventually(
            lambda: nodes_are(p.app, paris="down", lyon="up"),
            within=NODE_DOWN_AFTER_S + 5,
            what="paris counted down, the application still ready",
        )
        measured("node killed -> counted down (/readyz)", killed_at)
        for call_id in lost:
            rows = await eventually(
                partial(whole_record, p.dsn, call_id),
                within=10,
                what=f"the end of {call_id} journaled",
            )
            assert {row["node"] for row in rows} == {"paris"}
            assert "node paris lost" in rows[-1]["reason"]
        measured("node killed -> its calls journaled ended", killed_at)
        assert not (await calls_in_policy(p.app)) & set(lost)
        statuses = await position_statuses(p.app)
        assert statuses["sdis77-op3"] == "offline", "registered to the lost node only"
        # lyon's conversation goes on; its waiting caller takes a position paris's calls held.
        assert await talking(p.lyon, kept) == kept_partner
        await eventually(
            partial(talking, p.lyon, waits_on_lyon), within=15, what="lyon's waiting call"
        )
        measured("node killed -> a freed position connected on the other node", killed_at)
        new_on_lyon = await p.call("lyon", "0611000106")
        await eventually(
            partial(in_holding_bridge, p.lyon, new_on_lyon), what="a new call answered on lyon"
        )
        assert not await talking(p.lyon, new_on_lyon)  # every position reachable is busy
        await p.lyon.ari("DELETE", f"/channels/{kept}")  # that caller hangs up
        await eventually(
            partial(talking, p.lyon, new_on_lyon), within=15, what="the new call connected"
        )

        started_at = time.monotonic()
        await p.paris.start()
        measured("node started -> its ARI answers", started_at)
        # The phones register again, as they do when their registrar restarts.
        for name in ("sdis77-op1", "sdis77-op2", "sdis77-op3"):
            await p.peers["paris"].register_also(name, p.peers["paris"])
            # Its sipp restarted for the REGISTER may have missed the first qualify: asked
            # again rather than waiting the 30 s of qualify_frequency.
            await asyncio.to_thread(p.paris.cli, f"pjsip qualify {name}")
            await eventually(partial(_online, p.paris, name), what=f"{name} online on paris")
        await eventually(
            lambda: nodes_are(p.app, paris="up", lyon="up"), within=60, what="paris up again"
        )
        measured("node started -> up again (/readyz)", started_at)
        assert not (await calls_in_policy(p.app)) & set(lost)
        back = await p.call("paris", "0611000107")
        await eventually(partial(talking, p.paris, back), within=20, what="a new call on paris")
        assert node_of_rows(p.dsn, back) == {"paris"}
        for call_id in lost:  # the node back added nothing to the lost calls' records
            assert whole_record(p.dsn, call_id) is not None


async def test_a_node_cut_off_is_counted_down_and_its_calls_still_there_are_taken_back(
    two_asterisks: tuple[AsteriskNode, AsteriskNode], database: str, tmp_path: Path
) -> None:
    """A node frozen (as when the link to its datacentre is cut): the stream's pings notice,
    the node is counted down and its calls ended; back, the callers still there are taken
    back where they were."""
    async with platform(two_asterisks, database, tmp_path) as p:
        await p.position("sdis77-op1")
        talking_on_lyon = await p.call("lyon", "0611000201")
        await eventually(partial(talking, p.lyon, talking_on_lyon), within=20, what="lyon's")
        waiting_on_paris = await p.call("paris", "0611000202")
        await eventually(
            partial(in_holding_bridge, p.paris, waiting_on_paris), what="a caller waiting"
        )
        container = p.paris.docker()
        await asyncio.to_thread(container.pause)
        cut_at = time.monotonic()
        try:
            await eventually(
                lambda: nodes_are(p.app, paris="down", lyon="up"),
                within=NODE_DOWN_AFTER_S + 10,
                what="paris counted down",
            )
            measured("node cut off -> counted down (/readyz)", cut_at)
            rows = await eventually(
                partial(whole_record, p.dsn, waiting_on_paris), within=5, what="its end journaled"
            )
            assert rows[-1]["outcome"] == "lost"
            assert await talking(p.lyon, talking_on_lyon), "lyon's conversation goes on"
        finally:
            await asyncio.to_thread(container.unpause)
        back_at = time.monotonic()
        await eventually(
            lambda: nodes_are(p.app, paris="up", lyon="up"), within=60, what="paris up again"
        )
        measured("node reachable again -> up (/readyz)", back_at)
        await eventually(
            lambda: on_record(p.dsn, waiting_on_paris, "recovered"),
            what="the caller still there taken back",
        )
        assert waiting_on_paris in await calls_in_policy(p.app)
        await p.lyon.ari("DELETE", f"/channels/{talking_on_lyon}")  # op1 is free again
        await eventually(
            partial(talking, p.paris, waiting_on_paris), within=20, what="it is connected"
        )


def on_record(dsn: str, call_id: str, kind: str) -> bool:
    return kind in kinds(journal(dsn, call_id))
