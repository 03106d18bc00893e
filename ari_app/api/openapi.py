"""The OpenAPI 3.1 document, built from the route table and the pydantic models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ari_app import __version__
from ari_app.api.errors import ErrorBody
from ari_app.api.framework import Access, Route

REF = "#/components/schemas/{model}"

_STATUS_TEXT = {
    200: "Success",
    400: "The body is not JSON",
    401: "No token, or an unknown or revoked one",
    403: "The token's scopes do not allow this change",
    404: "No such unit, centre, position, call or callback",
    409: "Refused by the policy, with its reason",
    413: "The body is too large",
    422: "The request is not valid: each problem with its place",
    503: "Not ready (call handling or token store); retry later",
}

DESCRIPTION = """\
Duty officers' API of the emergency-call routing application: where every unit stands,
waiting calls, positions, recent changes, abandoned callers to call back, and the changes
duty officers make (mutual aid, diversion, crisis message, virtual CTA, pauses, picking).

Authentication: `Authorization: Bearer <token>`. Scopes: `read` (wallboards: reading only),
`centre:<id>` (that centre's duty officer: reads everything, changes that centre and its
positions), `national` (changes everything). Every error is JSON with a stable `error_id` and
a `message` a person can act on.
"""


def openapi_document(routes: Iterable[Route]) -> dict[str, Any]:
    """The document describing exactly ``routes``."""
    routes = tuple(routes)
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for route in routes:
        if route.body is not None:
            wanted.append((route.body, "validation"))
        if route.answer is not None:
            wanted.append((route.answer, "serialization"))
    unique = list(dict.fromkeys(wanted))
    refs, definitions = models_json_schema(unique, ref_template=REF)
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))

    def ref(model: type[BaseModel], mode: Literal["validation", "serialization"]) -> Any:
        return refs[(model, mode)]

    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, ref, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ari-app duty officers' API", "version": __version__,
                 "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "A token from 'ari-app token create'."}
            },
        },
    }  # fmt: skip


def _operation(route: Route, ref: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "security": [] if route.access is Access.PUBLIC else [{"bearer": []}],
    }
    if route.description:
        operation["description"] = route.description
    parameters = [
        {"name": name, "in": "path", "required": True, "description": text,
         "schema": {"type": "string", "minLength": 1}}
        for name, text in route.path_parameters.items()
    ]  # fmt: skip
    if route.query is not None:
        parameters.extend(_query_parameters(route.query))
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        body_schema = _resolve(ref(route.body, "validation"), schemas)
        operation["requestBody"] = {
            "required": bool(body_schema.get("required")),
            "content": {"application/json": {"schema": ref(route.body, "validation")}},
        }
    operation["responses"] = _responses(route, ref)
    return operation


def _responses(route: Route, ref: Any) -> dict[str, Any]:
    if route.answer is not None:
        content = {"application/json": {"schema": ref(route.answer, "serialization")}}
    elif route.media_type == "application/json":
        content = {"application/json": {"schema": {"type": "object"}}}
    else:
        content = {route.media_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {
        str(route.status): {"description": _STATUS_TEXT.get(route.status, "Success"),
                            "content": content}
    }  # fmt: skip
    statuses = set(route.errors)
    if route.access is not Access.PUBLIC:
        statuses |= {401, 503}
    error = {"application/json": {"schema": ref(ErrorBody, "serialization")}}
    for status in sorted(statuses):
        responses[str(status)] = {"description": _STATUS_TEXT[status], "content": error}
    return responses


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A query model's fields as parameters; optional ones without their null variant (a
    query string has no null: the parameter is left out instead)."""
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    parameters = []
    for name, given in schema.get("properties", {}).items():
        field_schema = dict(given)
        variants = field_schema.pop("anyOf", None)
        if variants is not None:
            (kept,) = [v for v in variants if v.get("type") != "null"]
            field_schema.update(kept)
        if field_schema.get("default", 0) is None:
            del field_schema["default"]
        field_schema.pop("title", None)
        description = field_schema.pop("description", None)
        parameter = {"name": name, "in": "query", "required": name in required,
                     "schema": field_schema}  # fmt: skip
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref")
    if isinstance(reference, str):
        resolved: dict[str, Any] = schemas[reference.rsplit("/", 1)[-1]]
        return resolved
    return schema
