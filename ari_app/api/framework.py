"""Routes as data: each says its method, path, access, models and handler.

The application registers its routes from this table and the OpenAPI document is built from
the same table, so every route is documented and every documented path is routed. A handler
gets a ``RequestContext``: the verified grant, the parsed query, and the request body parsed
by the route's own model.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import psycopg
from aiohttp import web
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ValidationError

from ari_app.api.activity import Activity
from ari_app.api.errors import ApiError, error_response, json_response, validation_error
from ari_app.api.ports import (
    CallbackList,
    CallControl,
    Grant,
    MediaCheck,
    ModeHistory,
    TokenVerifier,
)
from ari_app.api.sessions import DashboardSessions
from ari_app.clock import Clock, real_clock
from ari_app.roles import Role, RoleView
from ari_app.store.errors import DatabaseUnreachable, SchemaError

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

B = TypeVar("B", bound=BaseModel)
T = TypeVar("T")


class Access(StrEnum):
    """Who may use a route."""

    PUBLIC = "public"  # no token: health, readiness, metrics, the OpenAPI document
    READ = "read"  # any valid token
    CHANGE = "change"  # a valid token; the handler checks its scope for what is changed


SINGLE_INSTANCE = RoleView(Role.SINGLE, "")


def active_header(role: RoleView) -> dict[str, str]:
    """``X-Ari-App-Active``: where the active instance's API is, when a standby knows it."""
    return {"X-Ari-App-Active": role.active_api_url} if role.active_api_url else {}


@dataclass(frozen=True, slots=True)
class ApiDependencies:
    """Everything the handlers use, handed in by the composition root."""

    calls: CallControl
    tokens: TokenVerifier
    history: ModeHistory
    registry: CollectorRegistry
    activity: Activity = field(default_factory=Activity)
    clock: Clock = field(default_factory=real_clock)
    sessions: DashboardSessions | None = None
    callbacks: CallbackList | None = None
    # A token check or store read taking longer is answered 503.
    store_timeout_s: float = 5.0
    # What keeps the instance from working fully, by dependency (see ari_app.diagnosis).
    problems: Callable[[], Mapping[str, str]] = dict
    # Checks a crisis message's file exists on Asterisk; None: not checked.
    media: MediaCheck | None = None
    # This instance's role among those sharing the database (docs/failover.md).
    role: Callable[[], RoleView] = field(default=lambda: SINGLE_INSTANCE)
    # Store operations given up on, left to finish on their own (see ``bounded``).
    abandoned: set[asyncio.Task[Any]] = field(default_factory=set)

    async def bounded(self, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work`` for at most ``store_timeout_s``, else raise TimeoutError.

        A database operation cancelled on a dead network may take long to return (the driver
        tries to cancel it on the server): it is left to finish in the background rather
        than holding the answer up.
        """
        task = asyncio.get_running_loop().create_task(work, name="api:store-operation")
        done, _ = await asyncio.wait({task}, timeout=self.store_timeout_s)
        if task in done:
            return task.result()
        self.abandoned.add(task)
        task.add_done_callback(self._forget)
        task.cancel()
        raise TimeoutError

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self.abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: it was given up on already

    async def close(self) -> None:
        """Cancel what is left of the abandoned operations and wait for them (bounded)."""
        for task in list(self.abandoned):
            task.cancel()
        if self.abandoned:
            await asyncio.wait(set(self.abandoned), timeout=self.store_timeout_s)


Endpoint = Callable[["RequestContext"], Awaitable[BaseModel | web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Route:
    """One operation of the API.

    ``answer`` is the model of a successful answer (None when the handler writes its own
    response, e.g. the Prometheus text); ``errors`` are the error statuses it may give besides
    those every route of its access may give (401, 503 for a failed token check).
    """

    method: str
    path: str
    operation_id: str
    summary: str
    access: Access
    handler: Endpoint
    answer: type[BaseModel] | None
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    description: str = ""
    media_type: str = "application/json"
    path_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RequestContext:
    """One request as a handler sees it."""

    request: web.Request
    route: Route
    deps: ApiDependencies
    grant: Grant | None
    query: BaseModel | None

    def path_parameter(self, name: str) -> str:
        """A path parameter; 404 when it holds control characters (no id does)."""
        value = self.request.match_info[name]
        if _CONTROL.search(value):
            raise ApiError(
                404,
                "not_found",
                f"there is no {name.removesuffix('_id')} {value!r}: ids have no control characters",
            )
        return value

    @property
    def actor(self) -> str:
        """Who makes the change: the token's name."""
        assert self.grant is not None, "a changing route has a grant"
        return self.grant.name

    def query_as(self, model: type[B]) -> B:
        assert self.route.query is model, f"{self.route.operation_id} documents another query"
        assert isinstance(self.query, model)
        return self.query

    async def body(self, model: type[B]) -> B:
        """The request body validated by ``model``, which must be the route's documented one.

        An empty body is read as ``{}``. Raises ``ApiError`` 400 (not JSON), 413 (too large,
        from aiohttp) or 422 (not what the model accepts).
        """
        assert self.route.body is model, f"{self.route.operation_id} documents another body"
        raw = await self.request.read()
        try:
            return model.model_validate_json(raw if raw.strip() else b"{}")
        except ValidationError as error:
            raise validation_error(error, "body") from None

    def require_change(self, centre_id: str, what: str) -> None:
        """403 unless the token may change ``centre_id``; ``what`` names the change."""
        grant = self.grant
        assert grant is not None
        if not grant.may_change(centre_id):
            scopes = ", ".join(grant.scopes) or "none"
            raise ApiError(
                403,
                "forbidden",
                f"the token of {grant.name} (scopes: {scopes}) may not change {what}: "
                f"that needs the scope centre:{centre_id} or national",
            )

    def require_ready(self) -> None:
        """503 while the call handling is not connected to Asterisk and resynchronised, or
        when another instance is the active one (naming it)."""
        role = self.deps.role()
        if not role.commands:
            raise ApiError(
                503,
                "not_active",
                role.elsewhere(),
                headers={"Retry-After": "2", **active_header(role)},
            )
        if not self.deps.calls.ready:
            raise ApiError(
                503,
                "not_ready",
                "the call handling is not connected to Asterisk yet (or is resynchronising): "
                "no change can be applied now; try again in a few seconds",
                headers={"Retry-After": "2"},
            )


async def authenticate(request: web.Request, deps: ApiDependencies) -> Grant:
    """The grant of the request's bearer token, or ApiError 401 / 503."""
    header = request.headers.get("Authorization", "")
    challenge = {"WWW-Authenticate": 'Bearer realm="ari-app"'}
    scheme, _, token = header.strip().partition(" ")
    cookie = deps.sessions.token_of(request) if deps.sessions is not None else None
    if not header and cookie is not None:
        # The dashboard's session: the same token, from its cookie, with CSRF checks.
        assert deps.sessions is not None
        deps.sessions.check_change(request, cookie)
        scheme, token = "bearer", cookie
    elif not header:
        raise ApiError(
            401,
            "missing_token",
            "this request needs a bearer token: send 'Authorization: Bearer <token>' "
            "(tokens are issued with 'ari-app token create')",
            headers=challenge,
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "malformed_authorization",
            "the Authorization header must be 'Bearer <token>'",
            headers=challenge,
        )
    try:
        grant = await deps.bounded(deps.tokens.verify(token.strip()))
    except Exception as error:
        log.warning("token check failed", extra={"error": repr(error)})
        raise ApiError(
            503,
            "token_check_unavailable",
            "the token cannot be checked now (the token store does not answer); try again shortly",
            headers={"Retry-After": "5"},
        ) from error
    if grant is None or not grant.may_read():
        raise ApiError(
            401, "invalid_token", "the bearer token is unknown or revoked", headers=challenge
        )
    return grant


def endpoint(
    route: Route, deps: ApiDependencies
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of ``route``: authentication, query, handler, JSON answer."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            grant = None
            if route.access is not Access.PUBLIC:
                grant = await authenticate(request, deps)
            query = None
            if route.query is not None:
                try:
                    query = route.query.model_validate(dict(request.query))
                except ValidationError as error:
                    raise validation_error(error, "query") from None
            context = RequestContext(request, route, deps, grant, query)
            result = await route.handler(context)
        except ApiError as error:
            return error_response(error)
        if isinstance(result, web.StreamResponse):
            return result
        return json_response(result.model_dump(mode="json"), route.status)

    handle.__name__ = route.operation_id
    return handle


async def from_store(deps: ApiDependencies, work: Coroutine[Any, Any, T], what: str) -> T:
    """Await a store operation, answering 503 when the database cannot be reached or is
    too slow. The store's expected refusals (a callback not found or already done) pass
    through; any other database error is a bug, answered 500 by the middleware.
    """
    try:
        return await deps.bounded(work)
    except (
        TimeoutError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
        DatabaseUnreachable,
        SchemaError,
        OSError,
    ) as error:
        log.warning("store unavailable to the API", extra={"what": what, "error": str(error)})
        raise ApiError(
            503,
            "store_unavailable",
            f"{what} cannot be read or written now: the database does not answer; "
            "try again shortly",
            headers={"Retry-After": "5"},
        ) from None
