"""The dashboard's sign-in: an API token kept in an HttpOnly, SameSite=Strict cookie.

The cookie holds the token itself, so the token is checked on every request exactly as a
bearer token is (a revoked token stops working at once, scopes apply unchanged), and a
signed-in page survives the application restarting: there is no server-side session to
lose. The page's script never sees the token (HttpOnly). Changes made with the cookie also
need the ``X-CSRF-Token`` header, whose value is derived from the token (an HMAC keyed by
it) and handed to the page by ``GET /dashboard/session``: another site can neither read it
nor, SameSite=Strict aside, make the browser send it. A request whose Origin is not this
server's is refused too.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from aiohttp import web

from ari_app.api.errors import ApiError

COOKIE = "ari_app_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CSRF_CONTEXT = b"ari-app dashboard csrf v1"


def csrf_token(token: str) -> str:
    """The CSRF token that goes with ``token`` (stable: the page may reload)."""
    return hmac.new(token.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class DashboardSessions:
    """How the session cookie is set. ``secure`` adds the Secure attribute: set it when the
    dashboard is served over HTTPS (behind a reverse proxy); plain HTTP on 127.0.0.1 cannot
    carry a Secure cookie."""

    secure: bool = False
    max_age_s: int = 12 * 3600  # one duty shift; the token's own revocation applies meanwhile

    def token_of(self, request: web.Request) -> str | None:
        """The token the request's cookie holds, if any."""
        value = request.cookies.get(COOKIE, "").strip()
        return value or None

    def check_change(self, request: web.Request, token: str) -> None:
        """403 unless a change made with the cookie comes from this server's own page."""
        if request.method in SAFE_METHODS:
            return
        origin = request.headers.get("Origin")
        if origin is not None and origin != own_origin(request):
            raise ApiError(
                403,
                "cross_site_request",
                f"this change comes from another site ({origin}): changes are accepted from "
                "the dashboard's own page only",
            )
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token(token).encode()):
            raise ApiError(
                403,
                "csrf_token_missing",
                f"a change made with the dashboard's session needs the {CSRF_HEADER} header "
                "that /dashboard/session gives; reload the dashboard",
            )

    def sign_in(self, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(
            COOKIE,
            token,
            max_age=self.max_age_s,
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="Strict",
        )

    def sign_out(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/")


def own_origin(request: web.Request) -> str:
    """The origin the page was loaded from, as a browser sends it."""
    return f"{request.scheme}://{request.host}"
