"""What the API can run on: tokens given at start (no database), the store's audit trail."""

from __future__ import annotations

import pytest
from psycopg_pool import AsyncConnectionPool

from ari_app.api import MemoryTokens, StoreModeHistory
from ari_app.store.errors import InvalidScope
from ari_app.store.modes import CentreModesRow, ModeStore
from tests.api.world import api_world
from tests.store.topology import insert_small_topology


async def test_tokens_given_at_start_carry_the_same_scopes(pg_dsn: str) -> None:
    tokens = MemoryTokens()
    wallboard = tokens.issue("wallboard", ["read"])
    officer = tokens.issue("officer alpha", ["centre:alpha"])
    async with api_world(pg_dsn, tokens=tokens) as world:
        world.tokens.update({"wall": wallboard, "memory-alpha": officer})
        assert (await world.get("/api/v1/units", "wall")).status == 200
        body = {"to": "beta", "reason": "drill"}
        assert (await world.put("/api/v1/centres/alpha/diversion", body, "wall")).status == 403
        assert (
            await world.put("/api/v1/centres/beta/diversion", body, "memory-alpha")
        ).status == 403
        reply = await world.put("/api/v1/centres/alpha/diversion", body, "memory-alpha")
        assert (reply.status, reply.body["actor"]) == (200, "officer alpha")
        # Tokens of the database are not known to this server.
        assert (await world.get("/api/v1/units", "national")).status == 401


def test_memory_tokens_refuse_what_the_store_refuses() -> None:
    tokens = MemoryTokens()
    with pytest.raises(InvalidScope, match="unknown token scope 'admin'"):
        tokens.add("ariapp_secret", "someone", ["admin"])
    with pytest.raises(ValueError, match="needs a name"):
        tokens.add("ariapp_secret", " ", ["read"])
    with pytest.raises(ValueError, match="at least one scope"):
        tokens.add("ariapp_secret", "someone", [])


async def test_recent_changes_can_come_from_the_store_audit_trail(
    pg_dsn: str, pg_pool: AsyncConnectionPool
) -> None:
    await insert_small_topology(pg_pool)
    store = ModeStore(pg_pool)
    await store.apply(
        CentreModesRow("sdis77", True, True, "sdis91", None), actor="officer 77", reason="works"
    )
    await store.set_paused("sdis77-op2", True, actor="officer 77", reason="break")
    async with api_world(pg_dsn, history=StoreModeHistory(store)) as world:
        reply = await world.get("/api/v1/mode-changes")
        assert reply.status == 200
        pause, diversion = reply.body["changes"]
        assert (pause["unit"], pause["position"], pause["what"]) == (
            "sdis77",
            "sdis77-op2",
            "paused",
        )
        assert (pause["before"], pause["after"]) == ({"paused": False}, {"paused": True})
        assert (diversion["actor"], diversion["reason"]) == ("officer 77", "works")
        assert diversion["after"]["diverted_to"] == "sdis91"
        assert diversion["decision"] is None

        only = await world.get("/api/v1/mode-changes", params={"unit": "beta", "limit": "5"})
        assert only.body["changes"] == []
