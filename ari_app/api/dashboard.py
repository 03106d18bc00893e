"""The duty officers' web dashboard, served by the API's own application under /dashboard/.

The page is plain HTML, CSS and JavaScript shipped in this package (``static/``): no build
step, nothing fetched from elsewhere at run time (CODIS networks are closed). It reads and
changes everything through the API's own routes, signed in by a cookie (``sessions``), and
follows the live feed (``live``) at /dashboard/events.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import PurePath

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ari_app.api.errors import ApiError, error_response, json_response, validation_error
from ari_app.api.framework import ApiDependencies, authenticate
from ari_app.api.live import LiveFeed
from ari_app.api.models import Session
from ari_app.api.ports import Grant
from ari_app.api.sessions import DashboardSessions, csrf_token, own_origin

log = logging.getLogger(__name__)

PREFIX = "/dashboard"
FEED = web.AppKey("live_feed", LiveFeed)

# No inline script or style, nothing from another origin, no framing: the page's own files
# and its own API only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SignIn(BaseModel):
    """The token typed into the sign-in form."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    token: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")


# Named here rather than guessed from the host's MIME tables, which differ between systems.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def static_files() -> dict[str, tuple[bytes, str]]:
    """The page's files by name, read once from the package (nothing else is served)."""
    files: dict[str, tuple[bytes, str]] = {}
    for entry in (resources.files("ari_app.api") / "static").iterdir():
        kind = MEDIA_TYPES.get(PurePath(entry.name).suffix)
        if entry.is_file() and kind is not None:
            files[entry.name] = (entry.read_bytes(), kind)
    return files


def session_of(grant: Grant, token: str, centres: list[str]) -> Session:
    return Session(
        name=grant.name,
        scopes=list(grant.scopes),
        may_change=[c for c in centres if grant.may_change(c)],
        csrf_token=csrf_token(token),
    )


def add_dashboard(app: web.Application, deps: ApiDependencies, feed: LiveFeed) -> None:
    """Route the dashboard, its session and its live feed into ``app``."""
    handlers = _Handlers(deps, feed)
    app[FEED] = feed
    app.router.add_get(PREFIX, handlers.to_page)
    app.router.add_get(f"{PREFIX}/", handlers.page)
    app.router.add_get(f"{PREFIX}/static/{{name}}", handlers.page)
    app.router.add_post(f"{PREFIX}/session", handlers.sign_in)
    app.router.add_get(f"{PREFIX}/session", handlers.current)
    app.router.add_delete(f"{PREFIX}/session", handlers.sign_out)
    app.router.add_get(f"{PREFIX}/events", handlers.events)
    app.on_response_prepare.append(_security_headers)


class _Handlers:
    def __init__(self, deps: ApiDependencies, feed: LiveFeed) -> None:
        assert deps.sessions is not None, "the dashboard needs the session cookie settings"
        self.deps = deps
        self.sessions: DashboardSessions = deps.sessions
        self.feed = feed
        self.files = static_files()
        self.centres = [c.id for c in deps.calls.topology.centres]

    async def page(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name") or "index.html"
        found = self.files.get(name)
        if found is None:
            return error_response(ApiError(404, "not_found", f"the dashboard has no file {name!r}"))
        body, kind = found
        response = web.Response(body=body, headers={"Cache-Control": "no-cache"})
        response.headers["Content-Type"] = kind
        return response

    async def to_page(self, _request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"{PREFIX}/")

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        try:
            token, grant = await self._signing_in(request)
        except ApiError as error:
            return error_response(error)
        response = json_response(session_of(grant, token, self.centres).model_dump())
        self.sessions.sign_in(response, token)
        return response

    async def _signing_in(self, request: web.Request) -> tuple[str, Grant]:
        origin = request.headers.get("Origin")
        if origin is not None and origin != own_origin(request):
            raise ApiError(
                403, "cross_site_request", f"sign-in from another site ({origin}) is refused"
            )
        if request.content_type != "application/json":
            raise ApiError(
                415,
                "unsupported_media_type",
                'send the token as a JSON object: {"token": "..."}',
            )
        try:
            body = SignIn.model_validate_json(await request.read() or b"{}")
        except ValidationError as error:
            raise validation_error(error, "body") from None
        token = body.token.strip()
        try:
            grant = await self.deps.bounded(self.deps.tokens.verify(token))
        except Exception as error:
            log.warning("token check failed", extra={"error": repr(error)})
            raise ApiError(
                503,
                "token_check_unavailable",
                "the token cannot be checked now (the token store does not answer); "
                "try again shortly",
                headers={"Retry-After": "5"},
            ) from error
        if grant is None or not grant.may_read():
            raise ApiError(401, "invalid_token", "this token is unknown or revoked")
        return token, grant

    async def current(self, request: web.Request) -> web.StreamResponse:
        try:
            token = self.sessions.token_of(request)
            if token is None:
                raise ApiError(401, "not_signed_in", "sign in with an API token first")
            grant = await authenticate(request, self.deps)
        except ApiError as error:
            return error_response(error)
        return json_response(session_of(grant, token, self.centres).model_dump())

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        token = self.sessions.token_of(request)
        if token is not None:
            try:
                self.sessions.check_change(request, token)
            except ApiError as error:
                return error_response(error)
        response = json_response({"signed_out": True})
        self.sessions.sign_out(response)
        return response

    async def events(self, request: web.Request) -> web.StreamResponse:
        try:
            await authenticate(request, self.deps)
        except ApiError as error:
            return error_response(error)
        return await self.feed.stream(request)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.content_type == "text/html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if request.path.startswith("/api/") or request.path.startswith(f"{PREFIX}/session"):
        response.headers.setdefault("Cache-Control", "no-store")
