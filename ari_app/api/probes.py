"""Health, readiness, metrics and the OpenAPI document: what operations and tools read."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ari_app.api.errors import ApiError, ErrorDetail, json_response
from ari_app.api.framework import RequestContext, active_header
from ari_app.api.models import Health, Readiness

OPENAPI_KEY = web.AppKey("openapi", dict)


async def healthz(context: RequestContext) -> Health:
    return Health(status="alive")


async def readyz(context: RequestContext) -> Readiness:
    problems = dict(context.deps.problems())
    role = context.deps.role()
    if not role.commands:
        # A standby is not ready for traffic: a load balancer sends duty officers to the
        # active instance. The body says who that is.
        raise ApiError(
            503,
            "not_active",
            role.elsewhere(),
            details=[ErrorDetail(location="role", message=role.role.value)]
            + [ErrorDetail(location=k, message=v) for k, v in sorted(problems.items())],
            headers={"Retry-After": "2", **active_header(role)},
        )
    nodes = context.deps.calls.node_states()
    if not context.deps.calls.ready:
        asterisk = problems.get("asterisk")
        raise ApiError(
            503,
            "not_ready",
            f"not connected to Asterisk: {asterisk}"
            if asterisk
            else "the call handling is not connected to Asterisk yet, or is resynchronising",
            details=[ErrorDetail(location=k, message=v) for k, v in sorted(problems.items())]
            + [ErrorDetail(location=f"node:{k}", message=v) for k, v in nodes.items()],
            headers={"Retry-After": "2"},
        )
    message = "connected to Asterisk and in step with it"
    lost = [name for name, state in nodes.items() if state != "up"]
    if lost:
        message += "; Asterisk node not in use: " + ", ".join(
            f"{name} ({nodes[name]})" for name in lost
        )
    if problems:
        message += "; working in part: " + "; ".join(problems.values())
    if role.without_database:
        message += "; active without the lease while PostgreSQL is unreachable"
    return Readiness(
        ready=True,
        message=message,
        problems=problems,
        role=role.role.value,
        instance=role.instance,
        nodes=nodes,
    )


async def metrics(context: RequestContext) -> web.Response:
    body = generate_latest(context.deps.registry)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def openapi(context: RequestContext) -> web.Response:
    return json_response(context.request.app[OPENAPI_KEY])
