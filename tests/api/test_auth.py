"""Bearer tokens and scopes: read, a centre's duty officer, national."""

from __future__ import annotations

from typing import Any

import pytest

from ari_app.store.db import open_pool
from ari_app.store.tokens import TokenStore
from tests.api.world import api_world
from tests.pg import TcpProxy

READS = (
    "/api/v1/units",
    "/api/v1/units/alpha",
    "/api/v1/units/alpha/waiting-calls",
    "/api/v1/positions",
    "/api/v1/mode-changes",
    "/api/v1/callbacks",
)

# Changes of alpha and its positions, each with a valid body.
ALPHA_CHANGES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("PUT", "/api/v1/centres/alpha/mutual-aid", {"outgoing": False, "reason": "r"}),
    ("PUT", "/api/v1/centres/alpha/diversion", {"to": "gamma", "reason": "r"}),
    ("PUT", "/api/v1/centres/alpha/crisis-message", {"message": "sound:beep", "reason": "r"}),
    ("POST", "/api/v1/positions/alpha-op1/pause", {"reason": "r"}),
    ("POST", "/api/v1/positions/alpha-op1/resume", {}),
)


async def test_requests_without_a_valid_token_are_401_with_a_challenge(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.get("/api/v1/units", None)
        assert (reply.status, reply.body["error_id"]) == (401, "missing_token")
        assert "Authorization: Bearer <token>" in reply.body["message"]
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")

        reply = await world.get("/api/v1/units", None, headers={"Authorization": "Basic eDp5"})
        assert (reply.status, reply.body["error_id"]) == (401, "malformed_authorization")

        unknown = {"Authorization": "Bearer ariapp_" + "x" * 43}
        reply = await world.get("/api/v1/units", None, headers=unknown)
        assert (reply.status, reply.body["error_id"]) == (401, "invalid_token")
        assert reply.body["message"] == "the bearer token is unknown or revoked"

        reply = await world.put("/api/v1/centres/alpha/diversion", {"to": None}, None)
        assert reply.status == 401


async def test_revoked_token_stops_working_at_once(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        assert (await world.get("/api/v1/units", "alpha")).status == 200
        store = TokenStore(world.pool)
        [token] = [t for t in await store.list() if t.name == "officer alpha"]
        await store.revoke(token.id, revoked_by="admin")
        reply = await world.get("/api/v1/units", "alpha")
        assert (reply.status, reply.body["error_id"]) == (401, "invalid_token")


async def test_public_routes_need_no_token(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        for path in ("/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"):
            assert (await world.get(path, None)).status == 200, path


async def test_read_token_reads_everything_and_changes_nothing(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        for path in READS:
            assert (await world.get(path, "read")).status == 200, path
        changes = (
            *ALPHA_CHANGES,
            ("PUT", "/api/v1/virtual-ctas/night/active", {"active": True, "reason": "r"}),
            ("POST", "/api/v1/positions/alpha-op1/pick", {"call_id": "c"}),
        )
        for method, path, body in changes:
            reply = await world.request(method, path, "read", json=body)
            if path.startswith("/api/v1/virtual-ctas"):
                assert reply.status == 404  # no virtual CTA in this topology: nothing to hide
                continue
            assert (reply.status, reply.body["error_id"]) == (403, "forbidden"), path
            assert "wallboard hall A (scopes: read) may not change" in reply.body["message"]
        assert world.calls.recorder.changes == []


async def test_centre_officer_changes_their_centre_only(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        for method, path, body in ALPHA_CHANGES:
            reply = await world.request(method, path, "beta", json=body)
            assert reply.status == 403, path
            assert "needs the scope centre:alpha or national" in reply.body["message"]
        assert world.calls.recorder.changes == []
        for method, path, body in ALPHA_CHANGES:
            reply = await world.request(method, path, "alpha", json=body)
            assert reply.status == 200, (path, reply.body)
        assert {c.actor for c in world.calls.recorder.changes} == {"officer alpha"}


async def test_national_token_changes_every_centre(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        for centre in ("alpha", "beta", "gamma"):
            reply = await world.put(
                f"/api/v1/centres/{centre}/mutual-aid",
                {"incoming": False, "reason": "national exercise"},
                "national",
            )
            assert reply.status == 200
        assert not any(
            world.service.policy.modes.of(c).incoming_mutual_aid for c in ("alpha", "beta", "gamma")
        )


@pytest.mark.timeout(30)
async def test_token_store_down_is_503_not_a_hang(pg_dsn: str, tcp_proxy: TcpProxy) -> None:
    pool = await open_pool(tcp_proxy.dsn(pg_dsn), timeout_s=1.0)
    try:
        async with api_world(pg_dsn, tokens=TokenStore(pool), store_timeout_s=1.0) as world:
            assert (await world.get("/api/v1/units", "read")).status == 200
            tcp_proxy.stall()
            reply = await world.get("/api/v1/units", "read")
            assert (reply.status, reply.body["error_id"]) == (503, "token_check_unavailable")
            assert reply.headers["Retry-After"] == "5"
            tcp_proxy.restore()
    finally:
        await pool.close()
