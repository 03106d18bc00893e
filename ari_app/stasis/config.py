"""Where Asterisk's REST interface is and how to log in to it.

Both the REST client and the event stream are built from one ``AriConfig``; the
websocket URL is derived from the REST base URL, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from yarl import URL


@dataclass(frozen=True)
class AriConfig:
    """ARI base URL (with its ``/ari`` prefix), user and password (``ari.conf``).

    ``url`` looks like ``http://127.0.0.1:8088/ari``; a trailing slash is ignored.
    The password never appears in ``repr`` nor in any URL this object logs.
    """

    url: str
    user: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        parsed = URL(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(
                f"ARI URL {self.url!r} is not an http(s) URL with a host; "
                "expected something like http://127.0.0.1:8088/ari"
            )
        if parsed.query_string or parsed.fragment:
            raise ValueError(f"ARI URL {self.url!r} must not have a query string or fragment")
        if not self.user:
            raise ValueError("ARI user is empty; set the user defined in Asterisk's ari.conf")
        object.__setattr__(self, "url", str(parsed).rstrip("/"))

    @property
    def rest_base(self) -> URL:
        """The REST base URL as a ``yarl.URL`` (no trailing slash)."""
        return URL(self.url)

    def events_url(self, app: str, *, subscribe_all: bool = False) -> str:
        """The websocket URL of ``app``'s event stream, credentials included (never log it)."""
        return self._events_url(
            app, subscribe_all=subscribe_all, api_key=f"{self.user}:{self.password}"
        )

    def events_url_for_logs(self, app: str, *, subscribe_all: bool = False) -> str:
        """The same URL with the password masked, for log lines and error messages."""
        return self._events_url(app, subscribe_all=subscribe_all, api_key=f"{self.user}:***")

    def _events_url(self, app: str, *, subscribe_all: bool, api_key: str) -> str:
        if not app:
            raise ValueError("the Stasis application name is empty")
        base = self.rest_base
        scheme = "wss" if base.scheme == "https" else "ws"
        params = {"app": app, "api_key": api_key}
        if subscribe_all:
            params["subscribeAll"] = "true"
        # The ':' between user and password is kept readable; everything else is escaped.
        query = urlencode(params, quote_via=lambda s, *_: quote(s, safe=":*"))
        return str(base.with_scheme(scheme)) + "/events?" + query
