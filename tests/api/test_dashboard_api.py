"""The dashboard's server side: the board and activity routes, the session cookie with its
CSRF checks, the live event stream, the page's security headers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from ari_app.api.sessions import COOKIE, CSRF_HEADER
from ari_app.calls.journal import JournalKind
from tests.api.world import World, api_world, caller_waiting_at_alpha

MUTUAL_AID = "/api/v1/centres/alpha/mutual-aid"


@asynccontextmanager
async def browser_like(world: World) -> AsyncIterator[aiohttp.ClientSession]:
    """A client that keeps cookies for 127.0.0.1, as a browser does."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=world.url, cookie_jar=jar) as session:
        yield session


async def sign_in(client: aiohttp.ClientSession, token: str) -> dict[str, Any]:
    async with client.post("/dashboard/session", json={"token": token}) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


class Events:
    """Server-sent events read from one open stream."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def next(self, within: float = 3.0) -> tuple[str, Any]:
        name, data = "message", ""
        async with asyncio.timeout(within):
            while True:
                line = (await self._response.content.readline()).decode()
                if not line:
                    raise AssertionError("the event stream ended")
                line = line.rstrip("\n")
                if line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    data += line[len("data: ") :]
                elif line == "" and data:
                    return name, json.loads(data)

    async def until(self, name: str, check: Any, within: float = 3.0) -> Any:
        """The first event ``name`` whose payload satisfies ``check``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            found, payload = await self.next(max(0.01, deadline - loop.time()))
            if found == name and check(payload):
                return payload


def unit_of(units: list[dict[str, Any]], unit_id: str) -> dict[str, Any]:
    return next(u for u in units if u["id"] == unit_id)


async def test_board_shows_a_waiting_call_and_the_centres_modes(pg_dsn: str) -> None:
    async with api_world(pg_dsn, offline=("alpha-op2",)) as world:
        _, waiting = await caller_waiting_at_alpha(world)
        reply = await world.get("/api/v1/board")
        assert reply.status == 200
        board = reply.body
        alpha = unit_of(board["units"], "alpha")
        assert alpha["queue_length"] == 1
        assert alpha["oldest_arrived_at"] is not None
        assert alpha["modes"][0]["outgoing_mutual_aid"] is False
        assert alpha["departments"] == ["77"]
        assert [c["call_id"] for c in board["waiting"]] == [waiting]
        statuses = {p["id"]: p["status"] for p in board["positions"]}
        assert statuses["alpha-op1"] == "busy"
        assert statuses["alpha-op2"] == "offline"
        assert board["clock_speed"] > 1  # the tests' clock runs faster than real time


async def test_board_counts_help_and_draws_the_flow_of_a_call_sent_to_a_neighbour(
    pg_dsn: str,
) -> None:
    async with api_world(pg_dsn, offline=("alpha-op2",)) as world:
        first = await world.calls.call("18", number="0611111111")
        await world.calls.until_talking(first)
        second = await world.calls.call("18", number="0622222222")
        moved = await world.calls.until_journal(second, JournalKind.MOVED)
        assert moved.unit == "beta"
        board = (await world.get("/api/v1/board")).body
        alpha, beta = unit_of(board["units"], "alpha"), unit_of(board["units"], "beta")
        assert alpha["helped_out_60min"] == 1
        assert beta["helped_in_60min"] == 1
        [flow] = board["flows"]
        assert (flow["from_unit"], flow["to_unit"], flow["last_15min"]) == ("alpha", "beta", 1)


async def test_activity_counts_the_last_hour_minute_by_minute(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        call = await world.calls.call("18")
        await world.calls.until_journal(call, JournalKind.CONNECTED)
        reply = await world.get("/api/v1/units/alpha/activity")
        assert reply.status == 200
        minutes = reply.body["minutes"]
        assert len(minutes) == 60
        assert sum(m["calls"] for m in minutes) == 1
        assert sum(m["answered"] for m in minutes) == 1
        assert sum(m["answered_15s"] for m in minutes) == 1
        board = (await world.get("/api/v1/board")).body
        assert unit_of(board["units"], "alpha")["answered_15s_share_15min"] == 1.0
        assert unit_of(board["units"], "beta")["answered_15s_share_15min"] is None


async def test_activity_with_bad_input_answers_clear_json_errors(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.get("/api/v1/units/alpha/activity", params={"minutes": "0"})
        assert reply.status == 422
        assert reply.body["error_id"] == "invalid_request"
        assert [d["location"] for d in reply.body["details"]] == ["query.minutes"]
        reply = await world.get("/api/v1/units/atlantis/activity")
        assert (reply.status, reply.body["error_id"]) == (404, "unknown_unit")
        reply = await world.get("/api/v1/board", None)
        assert (reply.status, reply.body["error_id"]) == (401, "missing_token")


async def test_sign_in_sets_an_http_only_strict_cookie_and_bad_tokens_are_refused(
    pg_dsn: str,
) -> None:
    async with api_world(pg_dsn) as world, browser_like(world) as client:
        async with client.post("/dashboard/session", json={"token": "nope"}) as response:
            assert response.status == 401
            assert (await response.json())["error_id"] == "invalid_token"
        async with client.post("/dashboard/session", data="token=x") as response:
            assert response.status == 415
            assert (await response.json())["error_id"] == "unsupported_media_type"
        async with client.post("/dashboard/session", json={"token": 1}) as response:
            assert response.status == 422
            assert (await response.json())["details"][0]["location"] == "body.token"
        async with client.post(
            "/dashboard/session", json={"token": world.tokens["alpha"]}
        ) as response:
            assert response.status == 200
            cookie = response.headers["Set-Cookie"]
            session = await response.json()
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert session["name"] == "officer alpha"
        assert session["may_change"] == ["alpha"]
        assert world.tokens["alpha"] not in json.dumps(session)
        async with client.get("/dashboard/session") as response:
            assert (await response.json())["csrf_token"] == session["csrf_token"]
        async with client.delete(
            "/dashboard/session", headers={CSRF_HEADER: session["csrf_token"]}
        ) as response:
            assert response.status == 200
        async with client.get("/dashboard/session") as response:
            assert (response.status, (await response.json())["error_id"]) == (401, "not_signed_in")


async def test_a_change_with_the_cookie_needs_the_csrf_token_and_the_own_origin(
    pg_dsn: str,
) -> None:
    async with api_world(pg_dsn) as world, browser_like(world) as client:
        session = await sign_in(client, world.tokens["alpha"])
        body = {"outgoing": False, "reason": "storm"}
        async with client.put(MUTUAL_AID, json=body) as response:
            assert response.status == 403
            assert (await response.json())["error_id"] == "csrf_token_missing"
        forged = {CSRF_HEADER: session["csrf_token"], "Origin": "http://evil.example"}
        async with client.put(MUTUAL_AID, json=body, headers=forged) as response:
            assert response.status == 403
            assert (await response.json())["error_id"] == "cross_site_request"
        assert world.calls.recorder.changes == []
        own = {CSRF_HEADER: session["csrf_token"], "Origin": world.url}
        async with client.put(MUTUAL_AID, json=body, headers=own) as response:
            assert response.status == 200, await response.text()
        [change] = (await world.get("/api/v1/mode-changes")).body["changes"]
        assert (change["actor"], change["reason"]) == ("officer alpha", "storm")
        # The scope applies exactly as with a bearer token.
        async with client.put(
            "/api/v1/centres/beta/mutual-aid", json=body, headers=own
        ) as response:
            assert (response.status, (await response.json())["error_id"]) == (403, "forbidden")


async def test_event_stream_sends_the_board_then_a_mode_change_within_a_second(
    pg_dsn: str,
) -> None:
    async with (
        api_world(pg_dsn) as world,
        world.http.get("/dashboard/events", headers=world.auth("read")) as response,
    ):
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        events = Events(response)
        name, board = await events.next()
        assert name == "board"
        assert unit_of(board["units"], "alpha")["modes"][0]["outgoing_mutual_aid"] is True
        changed_at = asyncio.get_running_loop().time()
        reply = await world.put(MUTUAL_AID, {"outgoing": False, "reason": "storm"})
        assert reply.status == 200
        patch = await events.until(
            "patch",
            lambda p: any(
                u["id"] == "alpha" and not u["modes"][0]["outgoing_mutual_aid"]
                for u in p.get("units", [])
            ),
        )
        assert asyncio.get_running_loop().time() - changed_at < 1.0
        # Only what changed: beta and gamma did not.
        assert [u["id"] for u in patch["units"]] == ["alpha"]


async def test_event_stream_refuses_a_missing_or_unknown_token_with_json(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.get("/dashboard/events", None)
        assert (reply.status, reply.body["error_id"]) == (401, "missing_token")
        reply = await world.get(
            "/dashboard/events", None, headers={"Authorization": "Bearer ariapp_unknown"}
        )
        assert (reply.status, reply.body["error_id"]) == (401, "invalid_token")


async def test_the_page_is_served_with_a_strict_content_security_policy(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.get("/dashboard/", None)
        assert reply.status == 200
        assert '<html lang="fr">' in reply.body
        policy = reply.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert "<script>" not in reply.body  # no inline script, or the policy would block it
        script = await world.get("/dashboard/static/dashboard.js", None)
        assert script.status == 200
        assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
        missing = await world.get("/dashboard/static/secrets.txt", None)
        assert (missing.status, missing.body["error_id"]) == (404, "not_found")
