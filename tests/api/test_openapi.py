"""The OpenAPI document is in step with the routes and the models that validate requests."""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from prometheus_client import CollectorRegistry
from schemathesis.core.result import Ok

from ari_app.api import OPENAPI_PATH, ROUTES, MemoryModeHistory, MemoryTokens, build_api
from ari_app.api.framework import Access
from ari_app.api.openapi import openapi_document
from ari_app.calls.modes import MemoryModeRecorder
from tests.api.world import api_world
from tests.calls.topologies import pooled_at_night

# Ids that exist in the pooled-at-night world, by path parameter.
EXISTING = {
    "unit_id": "alpha",
    "centre_id": "alpha",
    "position_id": "alpha-op1",
    "vcta_id": "night",
    "call_id": "abandoned-1",
}
METHODS = {"get", "put", "post", "delete", "patch"}


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in METHODS
    }


async def test_served_document_lists_exactly_the_routed_operations(pg_dsn: str) -> None:
    async with api_world(pg_dsn) as world:
        reply = await world.get(OPENAPI_PATH, None)
        assert reply.status == 200
        document = reply.body
        assert document == openapi_document(ROUTES)
        assert document["openapi"].startswith("3.1")

        app = build_api(
            calls=world.service,
            tokens=MemoryTokens(),
            history=MemoryModeHistory(MemoryModeRecorder(), world.calls.topology),
            registry=CollectorRegistry(),
        )
        # The dashboard's page, session and event stream are not API operations.
        routed = {
            (route.method, route.resource.canonical)
            for route in app.router.routes()
            if route.method != "HEAD"
            and route.resource is not None
            and not route.resource.canonical.startswith("/dashboard")
        }
        assert routed == documented(document)


def test_every_path_parameter_is_documented_and_every_change_needs_a_token() -> None:
    document = openapi_document(ROUTES)
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        in_path = set(re.findall(r"{(\w+)}", route.path))
        parameters = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "path"}
        assert parameters == in_path, route.path
        if route.access is Access.PUBLIC:
            assert operation["security"] == []
        else:
            assert operation["security"] == [{"bearer": []}]
            assert {"401", "503"} <= set(operation["responses"])
        if route.method != "GET":
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert route.body is not None
            assert schema == {"$ref": f"#/components/schemas/{route.body.__name__}"}
            assert route.access is Access.CHANGE


def test_schemathesis_reads_every_operation_of_the_document() -> None:
    schema = schemathesis.openapi.from_dict(openapi_document(ROUTES))
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    assert {(op.method.upper(), op.path) for op in operations} == documented(
        openapi_document(ROUTES)
    )


async def test_every_request_body_is_validated_by_its_documented_model(pg_dsn: str) -> None:
    async with api_world(pg_dsn, topology=pooled_at_night()) as world:
        async with world.pool.connection() as conn:
            await conn.execute("INSERT INTO calls (call_id) VALUES ('abandoned-1')")
            await conn.execute(
                "INSERT INTO callbacks (call_id, caller, home_centre, arrived_at, hung_up_at,"
                " waited_s) VALUES ('abandoned-1', '0600000000', 'alpha', now(), now(), 5)"
            )
        for route in ROUTES:
            if route.body is None:
                continue
            path = route.path.format(**EXISTING)
            reply = await world.request(route.method, path, json={"not_a_field": 1})
            assert reply.status == 422, (path, reply.body)
            locations = {d["location"] for d in reply.body["details"]}
            assert "body.not_a_field" in locations, path
            assert {f"body.{name}" for name in required(route.body)} <= locations | {
                "body.not_a_field"
            }
        assert world.calls.recorder.changes == []


def required(model: type[Any]) -> set[str]:
    return {name for name, field in model.model_fields.items() if field.is_required()}
