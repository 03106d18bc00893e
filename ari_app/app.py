"""The composition root of ``ari-app run``: everything built from the settings, in one place.

Start-up order, and what happens when PostgreSQL is unreachable (calls come first: the
application takes calls without a database and catches up when it returns):

1. the store's pool (in the background when PostgreSQL does not answer), and its schema
   checked (a missing or foreign schema stops the start: that is a deployment error);
2. the topology: the one imported into PostgreSQL, else the file ``ARI_APP_TOPOLOGY_PATH``;
   a topology imported later is taken while running (``ari_app.calls.topology_reload``);
3. the modes: stored ones plus the changes still spooled by the previous run (without the
   database: the topology's own modes plus those spooled changes);
4. the journal and the mode recorder (both spool while PostgreSQL is unreachable);
5. the call handling (connects to Asterisk, resynchronises, then takes calls);
6. the duty-officer API, until SIGINT or SIGTERM; then everything stops in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from pathlib import Path

from prometheus_client import CollectorRegistry
from psycopg_pool import AsyncConnectionPool

from ari_app.api import StoreModeHistory, build_api, serve_api
from ari_app.api.activity import Activity, ActivityJournal
from ari_app.api.metrics import MetricsJournal
from ari_app.calls.config import CallSettings, Recording
from ari_app.calls.media_check import AsteriskMedia
from ari_app.calls.running import call_handling
from ari_app.calls.topology_reload import TopologyReloader, store_readers
from ari_app.clock import real_clock
from ari_app.diagnosis import DATABASE, AriProbe, Problems, dsn_problem, watch_asterisk
from ari_app.settings import Settings
from ari_app.stasis import AriConfig
from ari_app.store import (
    CallbackStore,
    CallHistory,
    DatabaseUnreachable,
    ModeStore,
    PostgresJournal,
    StoreModeRecorder,
    TokenStore,
    load_modes,
    open_pool,
    read_topology,
    require_current_schema,
)
from ari_app.store.db import CONNECT_TIMEOUT_S, connect, describe_dsn
from ari_app.store.mode_writes import apply_writes
from ari_app.store.open_calls import JournalOpenCalls
from ari_app.store.topology_read import topology_source
from ari_app.vcta import Modes, Topology, load_topology

log = logging.getLogger(__name__)

STORE_WAIT_S = 5.0  # how long the start waits for PostgreSQL before going on without it


class StartError(Exception):
    """The application cannot start; the message says why and what to do."""


def mode_spool_path(settings: Settings) -> Path:
    """The mode recorder's spool, next to the journal's."""
    return settings.spool_path.with_name("modes.spool")


@contextlib.asynccontextmanager
async def store_pool(dsn: str) -> AsyncIterator[tuple[AsyncConnectionPool, bool]]:
    """A pool, and whether PostgreSQL answered at start. Without an answer the pool keeps
    trying in the background, so the API's reads work again once it is back."""
    try:
        if dsn_problem(dsn) is not None:
            raise DatabaseUnreachable("the connection string cannot be parsed")
        # One attempt first: a refused connection fails at once, where the pool would retry
        # for the whole STORE_WAIT_S and hold the API (and /readyz) back meanwhile.
        probe = await connect(dsn, timeout_s=STORE_WAIT_S, autocommit=True)
        await probe.close()
        pool = await open_pool(dsn, timeout_s=STORE_WAIT_S)
        reachable = True
    except DatabaseUnreachable as error:
        log.warning("starting without PostgreSQL; it will be used once back: %s", error)
        pool = AsyncConnectionPool(
            dsn,
            min_size=1,
            max_size=4,
            open=False,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
            check=AsyncConnectionPool.check_connection,
            name="store",
        )
        await pool.open(wait=False)
        reachable = False
    try:
        yield pool, reachable
    finally:
        await pool.close()


async def choose_topology(
    pool: AsyncConnectionPool, reachable: bool, path: Path
) -> tuple[Topology, str | None]:
    """The imported topology and its SHA-256 when there is one, else the file (with a warning)
    and None: the first import then replaces it in the running instance."""
    if reachable:
        async with pool.connection() as conn:
            await require_current_schema(conn)
            imported = await read_topology(conn)
            source = await topology_source(conn)
        if imported is not None:
            log.info("topology read from PostgreSQL")
            return imported, source.digest if source is not None else None
        log.warning(
            "no topology imported into PostgreSQL: using the file %s "
            "(run 'ari-app topology import %s' so every instance uses the same)",
            path,
            path,
        )
    try:
        return load_topology(path), None
    except OSError as error:
        raise StartError(f"cannot read the topology file {path}: {error.strerror}") from None


async def starting_modes(
    pool: AsyncConnectionPool, reachable: bool, topology: Topology, recorder: StoreModeRecorder
) -> Modes:
    """The modes in force at start, including changes a previous run could only spool."""
    pending = await recorder.pending()
    if reachable:
        return await load_modes(pool, topology, pending=pending)
    return apply_writes(topology, topology.initial_modes(), pending)


async def run_application(settings: Settings, stop: asyncio.Event) -> None:
    """Take calls and serve the API until ``stop`` is set."""
    dsn = settings.database_dsn.get_secret_value()
    settings.spool_path.parent.mkdir(parents=True, exist_ok=True)
    log.info("store", extra={"database": describe_dsn(dsn)})
    if settings.recording is Recording.OFF:
        log.warning(
            "calls are not recorded (ARI_APP_RECORDING=off): the centre's own recorder"
            " must take every call"
        )
    problems = Problems()
    unparsable = dsn_problem(dsn)
    if unparsable is not None:
        log.error(unparsable)  # once, clearly: the pool's retries are then held back
        problems.set(DATABASE, unparsable)
    async with contextlib.AsyncExitStack() as stack:
        pool, reachable = await stack.enter_async_context(store_pool(dsn))
        topology, applied = await choose_topology(pool, reachable, settings.topology_path)
        recorder = StoreModeRecorder(dsn, mode_spool_path(settings))
        modes = await starting_modes(pool, reachable, topology, recorder)
        journal = PostgresJournal(dsn, settings.spool_path)
        await journal.start()
        stack.push_async_callback(journal.stop)
        await recorder.start()
        stack.push_async_callback(recorder.stop)
        registry = CollectorRegistry()
        activity = Activity()  # the last hour the dashboard shows, counted from the journal
        clock = real_clock()
        service = await stack.enter_async_context(
            call_handling(
                ari_config=AriConfig(
                    str(settings.ari_url),
                    settings.ari_user,
                    settings.ari_password.get_secret_value(),
                ),
                topology=topology,
                modes=modes,
                journal=MetricsJournal(ActivityJournal(journal, activity), registry),
                recorder=recorder,
                clock=clock,
                settings=CallSettings(
                    app_name=settings.app_name,
                    ring_timeout_s=settings.ring_timeout_s,
                    wrap_up_s=settings.wrap_up_s,
                    recording=settings.recording,
                    ari_connections=settings.ari_max_connections,
                ),
                # Without PostgreSQL at start, the previous run's open calls cannot be read:
                # waiting for the journal to catch up only kept /readyz at 503 for 10 s.
                open_calls=JournalOpenCalls(
                    journal, CallHistory(pool), catch_up_s=10.0 if reachable else 0.0
                ),
            )
        )
        ari_config = AriConfig(
            str(settings.ari_url), settings.ari_user, settings.ari_password.get_secret_value()
        )
        probe = AriProbe(
            str(settings.ari_url), settings.ari_user, settings.ari_password.get_secret_value()
        )
        watching = asyncio.create_task(
            watch_asterisk(probe.problem, lambda: service.ready, problems),
            name="diagnosis:asterisk",
        )
        stack.push_async_callback(_cancel, watching)

        if unparsable is None:
            read_digest, read_stored = store_readers(pool, recorder.pending)
            reloader = TopologyReloader(
                service,
                dsn,
                applied=applied,
                read_digest=read_digest,
                read_topology=read_stored,
                problems=problems,
            )
            reloading = asyncio.create_task(reloader.run(), name="calls:topology-reload")
            stack.push_async_callback(_cancel, reloading)

        def current_problems() -> dict[str, str]:
            found = dict(problems.current())
            if DATABASE not in found and not journal.stats().database_up:
                found[DATABASE] = (
                    f"PostgreSQL at {describe_dsn(dsn)} is unreachable: calls are taken, the "
                    f"journal waits in {settings.spool_path}, token checks answer 503"
                )
            return found

        api = build_api(
            calls=service,
            tokens=TokenStore(pool),
            history=StoreModeHistory(ModeStore(pool)),
            registry=registry,
            callbacks=CallbackStore(pool),
            journal_stats=journal.stats,
            activity=activity,
            clock=clock,
            problems=current_problems,
            media=AsteriskMedia(ari_config),
        )
        try:
            served = await stack.enter_async_context(
                serve_api(api, settings.api_host, settings.api_port)
            )
        except OSError as error:
            raise StartError(
                f"cannot serve the API on {settings.api_host}:{settings.api_port}: "
                f"{error.strerror} (ARI_APP_API_HOST / ARI_APP_API_PORT)"
            ) from None
        log.info(
            "running",
            extra={"app": settings.app_name, "ari": str(settings.ari_url), "api": served.url},
        )
        await stop.wait()
        log.info("stopping")


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop``: calls stay in Asterisk for the next start."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
