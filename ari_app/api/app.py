"""Building and serving the duty officers' API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry

from ari_app.api.activity import Activity
from ari_app.api.dashboard import add_dashboard
from ari_app.api.errors import BODY_LIMIT, ErrorBody, error_middleware
from ari_app.api.framework import SINGLE_INSTANCE, ApiDependencies, endpoint
from ari_app.api.live import LiveFeed
from ari_app.api.metrics import LiveStateCollector
from ari_app.api.openapi import openapi_document
from ari_app.api.ports import CallbackList, CallControl, MediaCheck, ModeHistory, TokenVerifier
from ari_app.api.probes import OPENAPI_KEY
from ari_app.api.routes import ROUTES
from ari_app.api.sessions import DashboardSessions
from ari_app.clock import Clock, real_clock
from ari_app.jsonhttp import JsonErrorRunner
from ari_app.roles import RoleView
from ari_app.store.journal import JournalStats

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024  # every request body of this API fits in far less
SHUTDOWN_TIMEOUT_S = 5.0


def build_api(
    *,
    calls: CallControl,
    tokens: TokenVerifier,
    history: ModeHistory,
    registry: CollectorRegistry,
    callbacks: CallbackList | None = None,
    journal_stats: Callable[[], JournalStats] | None = None,
    store_timeout_s: float = 5.0,
    activity: Activity | None = None,
    clock: Clock | None = None,
    sessions: DashboardSessions | None = None,
    feed_tick_s: float = 0.25,
    problems: Callable[[], Mapping[str, str]] = dict,
    media: MediaCheck | None = None,
    role: Callable[[], RoleView] | None = None,
) -> web.Application:
    """The API over ``calls``, checking tokens with ``tokens``, and the dashboard.

    ``registry`` is served at /metrics, with the live state's gauges added to it (give the
    registry the ``MetricsJournal`` counts into, so its counters are served too).
    Without ``callbacks`` (no database) the callback routes answer 503. ``activity`` is what
    an ``ActivityJournal`` counts into (the last hour the dashboard shows; empty without
    one); ``clock`` is the call handling's (the real one by default).
    """
    registry.register(LiveStateCollector(calls, journal_stats, problems, role))
    deps = ApiDependencies(
        calls=calls,
        tokens=tokens,
        history=history,
        registry=registry,
        callbacks=callbacks,
        store_timeout_s=store_timeout_s,
        activity=activity if activity is not None else Activity(),
        clock=clock if clock is not None else real_clock(),
        sessions=sessions if sessions is not None else DashboardSessions(),
        problems=problems,
        media=media,
        role=role if role is not None else (lambda: SINGLE_INSTANCE),
    )
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)
    app[BODY_LIMIT] = MAX_BODY_BYTES
    app[OPENAPI_KEY] = openapi_document(ROUTES)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, endpoint(route, deps))

    feed = LiveFeed(calls, deps.activity, deps.clock, tick_s=feed_tick_s)
    add_dashboard(app, deps, feed)

    async def live_feed(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(feed.run(), name="api:live-feed")
        yield
        feed.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def end_streams(_app: web.Application) -> None:
        feed.close()  # open event streams end now rather than hold the shutdown up

    async def close(_app: web.Application) -> None:
        await deps.close()

    app.cleanup_ctx.append(live_feed)
    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(close)
    return app


@dataclass(frozen=True, slots=True)
class ServedApi:
    """Where the API listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@asynccontextmanager
async def serve_api(
    app: web.Application, host: str, port: int, *, shutdown_timeout_s: float = SHUTDOWN_TIMEOUT_S
) -> AsyncIterator[ServedApi]:
    """Serve ``app`` on ``host``:``port`` (0: any free port) while in the block.

    Leaving the block stops accepting, gives requests in progress ``shutdown_timeout_s`` to
    finish, then closes. Raises OSError when the address cannot be bound.
    """
    runner = JsonErrorRunner(
        app, _refused_early, access_log=None, shutdown_timeout=shutdown_timeout_s
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        served = ServedApi(host, int(bound[1]))
        log.info("API listening", extra={"url": served.url})
        yield served
    finally:
        await runner.cleanup()


_EARLY_ERROR_IDS = {400: "bad_request", 500: "internal_error", 504: "timeout"}


def _refused_early(status: int, message: str) -> dict[str, object]:
    """The API's error body for a request aiohttp refused before the middleware saw it."""
    error_id = _EARLY_ERROR_IDS.get(status, f"http_{status}")
    return ErrorBody(error_id=error_id, message=message).model_dump(mode="json")
