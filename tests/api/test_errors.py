"""Malformed input of any kind gets a clear 4xx in JSON; a failure inside is a 500 without
internals."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry

from ari_app.api import MAX_BODY_BYTES, MemoryModeHistory, MemoryTokens, build_api, serve_api
from ari_app.calls.modes import MemoryModeRecorder
from ari_app.vcta import UnitSnapshot
from tests.api.world import World, api_world

MUTUAL_AID = "/api/v1/centres/alpha/mutual-aid"


async def put_raw(world: World, path: str, data: bytes | str) -> tuple[int, Any]:
    reply = await world.request(
        "PUT", path, data=data, headers={"Content-Type": "application/json"}
    )
    assert isinstance(reply.body, dict), reply.body
    return reply.status, reply.body


async def test_body_that_is_not_json_is_400(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        status, body = await put_raw(world, MUTUAL_AID, b'{"outgoing": tru')
        assert (status, body["error_id"]) == (400, "invalid_json")
        assert str(body["message"]).startswith("the request body is not valid JSON")
        status, body = await put_raw(world, MUTUAL_AID, b"\xff\xfe")
        assert status == 400


async def test_wrong_types_missing_and_unknown_fields_are_422_with_their_place(
    pg_dsn: str,
) -> None:
    async with api_world(pg_dsn) as world:
        status, body = await put_raw(world, MUTUAL_AID, json.dumps([1, 2]))
        assert (status, body["error_id"]) == (422, "invalid_request")
        assert body["message"] == "invalid request: body: must be a JSON object"

        status, body = await put_raw(
            world, MUTUAL_AID, json.dumps({"outgoing": "yes", "colour": "red"})
        )
        assert status == 422
        assert body["details"] == [
            {"location": "body.outgoing", "message": "input should be a valid boolean"},
            {"location": "body.reason", "message": "is required"},
            {"location": "body.colour", "message": "is not a field of this request"},
        ]
        assert str(body["message"]).startswith(
            "invalid request: body.outgoing: input should be a valid boolean; "
            "body.reason: is required"
        )

        status, body = await put_raw(world, MUTUAL_AID, json.dumps({"reason": "   "}))
        assert status == 422
        locations = {d["location"]: d["message"] for d in body["details"]}
        assert locations["body.reason"] == "must not be empty"

        status, body = await put_raw(world, MUTUAL_AID, json.dumps({"reason": "why"}))
        assert status == 422
        # The rule as a sentence, without pydantic's "value error," in front.
        assert body["message"] == (
            "invalid request: body: give 'outgoing', 'incoming' or both (true or false)"
        )
        assert world.calls.recorder.changes == []


async def test_oversized_body_is_413(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        huge = json.dumps({"outgoing": True, "reason": "x" * (MAX_BODY_BYTES + 1)})
        status, body = await put_raw(world, MUTUAL_AID, huge)
        assert (status, body["error_id"]) == (413, "body_too_large")
        assert f"{MAX_BODY_BYTES} bytes at most" in str(body["message"])


async def test_url_or_header_over_8_kib_is_a_json_error_like_every_other(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        for params, headers in (({"junk": "x" * 9000}, {}), ({}, {"X-Junk": "x" * 9000})):
            reply = await world.get("/api/v1/units", params=params, headers=headers)
            assert reply.status == 400
            assert reply.body == {
                "error_id": "bad_request",
                "message": "the request line or a header is longer than 8190 bytes: send a "
                "shorter URL or header",
                "details": [],
            }


async def test_unknown_paths_ids_and_methods_are_json_errors(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.get("/api/v1/nothing-here")
        assert (reply.status, reply.body["error_id"]) == (404, "not_found")
        reply = await world.request("DELETE", "/api/v1/units")
        assert (reply.status, reply.body["error_id"]) == (405, "method_not_allowed")
        assert reply.headers["Allow"] == "GET"

        checks = (
            ("PUT", "/api/v1/centres/atlantis/diversion", "unknown_centre"),
            ("POST", "/api/v1/positions/atlantis-op1/pause", "unknown_position"),
            ("PUT", "/api/v1/virtual-ctas/atlantis/active", "unknown_virtual_cta"),
            ("POST", "/api/v1/callbacks/atlantis/done", "unknown_callback"),
        )
        for method, path, error_id in checks:
            reply = await world.request(method, path, json={})
            assert (reply.status, reply.body["error_id"]) == (404, error_id), path
            assert "atlantis" in reply.body["message"]
        # An unknown id in a filter is refused, not answered with an empty list.
        for path, query, error_id in (
            ("/api/v1/mode-changes", {"unit": "atlantis"}, "unknown_unit"),
            ("/api/v1/callbacks", {"centre": "atlantis"}, "unknown_centre"),
            ("/api/v1/positions", {"unit": "atlantis"}, "unknown_unit"),
        ):
            reply = await world.get(path, params=query)
            assert (reply.status, reply.body["error_id"]) == (404, error_id), path
            assert "atlantis" in reply.body["message"]


async def test_bad_query_values_are_422(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        for value, said in (
            ("many", "must be a whole number"),
            ("0", "must be at least 1"),
            ("501", "must be at most 500"),
        ):
            reply = await world.get("/api/v1/mode-changes", params={"limit": value})
            assert reply.status == 422, value
            assert reply.body["details"] == [{"location": "query.limit", "message": said}]
        reply = await world.get("/api/v1/callbacks", params={"pending": "perhaps"})
        assert (reply.status, reply.body["details"][0]["location"]) == (422, "query.pending")


async def test_control_characters_are_refused_before_reaching_the_database(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.get("/api/v1/callbacks", params={"centre": "al\x00pha"})
        assert (reply.status, reply.body["details"][0]) == (
            422,
            {"location": "query.centre", "message": "must not contain control characters"},
        )
        reply = await world.post("/api/v1/callbacks/c%00b/done", {"outcome": "reached"})
        assert (reply.status, reply.body["error_id"]) == (404, "not_found")
        reply = await world.put(
            "/api/v1/centres/alpha/diversion", {"to": None, "reason": "fire\x00drill"}
        )
        assert (reply.status, reply.body["details"][0]["location"]) == (422, "body.reason")
        reply = await world.put(
            "/api/v1/centres/alpha/crisis-message", {"message": "sound:a\x00", "reason": "r"}
        )
        assert reply.status == 422
        status, body = await put_raw(world, MUTUAL_AID, '{"\\ud800": 1, "reason": "r"}')
        assert status in (400, 422), body
        assert world.calls.recorder.changes == []


class Broken:
    """A call handling whose state cannot be read: the API must not show the failure."""

    ready = True

    def __init__(self, world: World) -> None:
        self._inner = world.service

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def snapshot(self) -> tuple[UnitSnapshot, ...]:
        raise RuntimeError("secret internals: /etc/ari-app/password")


async def test_unexpected_failure_is_500_without_internals(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        tokens = MemoryTokens()
        token = tokens.issue("wallboard", ["read"])
        app = build_api(
            calls=Broken(world),  # type: ignore[arg-type]
            tokens=tokens,
            history=MemoryModeHistory(MemoryModeRecorder(), world.calls.topology),
            registry=CollectorRegistry(),
        )
        async with (
            serve_api(app, "127.0.0.1", 0) as served,
            aiohttp.ClientSession() as http,
            http.get(
                f"{served.url}/api/v1/units", headers={"Authorization": f"Bearer {token}"}
            ) as response,
        ):
            text = await response.text()
        assert response.status == 500
        assert json.loads(text) == {
            "error_id": "internal_error",
            "message": "the server failed to handle this request; the failure is logged",
            "details": [],
        }
        assert "secret" not in text
