"""The composition root of ``ari-app run``: everything built from the settings, in one place.

Start-up order, and what happens when PostgreSQL is unreachable (calls come first: the
application takes calls without a database and catches up when it returns):

1. the store's pool (in the background when PostgreSQL does not answer), and its schema
   checked (a missing or foreign schema stops the start: that is a deployment error);
2. the topology: the one imported into PostgreSQL, else the file ``ARI_APP_TOPOLOGY_PATH``;
   a topology imported later is taken while running (``ari_app.topology_reload``);
3. the modes: stored ones plus the changes still spooled by the previous run (without the
   database: the topology's own modes plus those spooled changes);
4. the journal and the mode recorder (both spool while PostgreSQL is unreachable);
5. the call handling (connects to Asterisk, resynchronises, then takes calls);
6. the duty-officer API, until SIGINT or SIGTERM; then everything stops in reverse order.

The journal's and the mode recorder's writers and the call handling run as one supervised
group (``ari_app.supervision``): if one of them stops while the application runs, a
CRITICAL line names it and its error, ``/readyz`` answers 503 at once, and after
``FAILURE_GRACE_S`` (so that probes see it; a signal cuts it short) everything stops in
reverse order and ``run_application`` raises ``ServiceFailed``: ``ari-app run`` exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import psycopg_pool
from prometheus_client import CollectorRegistry
from psycopg_pool import AsyncConnectionPool

from ari_app.api import StoreModeHistory, build_api, serve_api
from ari_app.api.activity import Activity, ActivityJournal
from ari_app.api.metrics import MetricsJournal
from ari_app.calls.config import CallSettings, Recording
from ari_app.calls.running import call_handling
from ari_app.clock import Clock, real_clock
from ari_app.diagnosis import DATABASE, AriProbe, Problems, dsn_problem, watch_asterisk
from ari_app.leadership import Leadership, stop_leadership
from ari_app.media_check import NodesMedia
from ari_app.roles import Role, RoleView
from ari_app.settings import Settings
from ari_app.standby import CallsInForce, StandbyCalls, keep_standby_fresh
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
from ari_app.store.errors import StoreError
from ari_app.store.lease import PostgresLease
from ari_app.store.mode_writes import apply_writes
from ari_app.store.open_calls import JournalOpenCalls
from ari_app.store.topology_read import topology_source
from ari_app.supervision import Supervisor
from ari_app.topology_reload import TopologyReloader, store_readers
from ari_app.vcta import (
    Modes,
    Topology,
    load_topology,
)

log = logging.getLogger(__name__)

STORE_WAIT_S = 5.0  # how long the start waits for PostgreSQL before going on without it
# How long a failed application stays up answering 503 on /readyz before it stops, so that
# an orchestrator's probe sees why rather than only a vanished process.
FAILURE_GRACE_S = 2.0


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


def watch_writer(supervisor: Supervisor, name: str, task: asyncio.Task[None] | None) -> None:
    """Supervise a started writer's task."""
    if task is None:
        raise RuntimeError(f"the {name} is not started: there is nothing to supervise")
    supervisor.watch(name, task)


async def until_stop_or_failure(
    stop: asyncio.Event, supervisor: Supervisor, grace_s: float = FAILURE_GRACE_S
) -> None:
    """Return when ``stop`` is set, or ``grace_s`` after a service failed (at once if
    ``stop`` is set meanwhile)."""
    stopped = asyncio.create_task(stop.wait(), name="app:stop-signal")
    failed = asyncio.create_task(supervisor.failed.wait(), name="app:service-failed")
    try:
        await asyncio.wait({stopped, failed}, return_when=asyncio.FIRST_COMPLETED)
        if not supervisor.healthy and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stopped), grace_s)
    finally:
        for task in (stopped, failed):
            task.cancel()
        await asyncio.wait({stopped, failed})


async def run_application(
    settings: Settings, stop: asyncio.Event, *, failure_grace_s: float | None = None
) -> None:
    """Take calls and serve the API until ``stop`` is set; raises ServiceFailed once
    everything is stopped if a service stopped on its own (after ``failure_grace_s``,
    ``FAILURE_GRACE_S`` by default)."""
    supervisor = Supervisor()
    grace_s = FAILURE_GRACE_S if failure_grace_s is None else failure_grace_s
    try:
        await _run(settings, stop, supervisor, grace_s)
    finally:
        supervisor.stopping()
    supervisor.raise_failure()


async def _run(
    settings: Settings, stop: asyncio.Event, supervisor: Supervisor, failure_grace_s: float
) -> None:
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
        try:
            await _serve(
                settings,
                stop,
                supervisor,
                stack=stack,
                dsn=dsn,
                problems=problems,
                failure_grace_s=failure_grace_s,
            )
        finally:
            # Before anything is unwound: services ending from here on are expected to.
            supervisor.stopping()


async def _serve(
    settings: Settings,
    stop: asyncio.Event,
    supervisor: Supervisor,
    *,
    stack: contextlib.AsyncExitStack,
    dsn: str,
    problems: Problems,
    failure_grace_s: float,
) -> None:
    """Start everything on ``stack`` (which stops it in reverse order) and wait."""
    unparsable = dsn_problem(dsn)
    pool, reachable = await stack.enter_async_context(store_pool(dsn))
    topology, applied = await choose_topology(pool, reachable, settings.topology_path)
    recorder = StoreModeRecorder(dsn, mode_spool_path(settings))
    modes = await starting_modes(pool, reachable, topology, recorder)
    journal = PostgresJournal(dsn, settings.spool_path)
    await journal.start()
    stack.push_async_callback(journal.stop)
    watch_writer(supervisor, "journal", journal.task)
    await recorder.start()
    stack.push_async_callback(recorder.stop)
    watch_writer(supervisor, "mode-recorder", recorder.task)
    # Pushed last, so run first on the way out: stops ending from here on are expected.
    stack.callback(supervisor.stopping)
    registry = CollectorRegistry()
    activity = Activity()  # the last hour the dashboard shows, counted from the journal
    clock = real_clock()
    node_configs = [
        (name, AriConfig(url, settings.ari_user, settings.ari_password.get_secret_value()))
        for name, url in settings.nodes()
    ]
    instance = instance_name(settings)
    leadership = leadership_of(settings, dsn, instance) if settings.leadership == "lease" else None
    if leadership is None and reachable:
        await refuse_beside_an_active_instance(dsn, instance)
    # Ready only while every supervised service is alive: a dead journal or call handling
    # makes /readyz say so before the stop.
    calls = CallsInForce(StandbyCalls(topology, modes, clock), healthy=lambda: supervisor.healthy)

    def role() -> RoleView:
        return leadership.view() if leadership is not None else RoleView(Role.SINGLE, instance)

    journal_port = MetricsJournal(ActivityJournal(journal, activity), registry)

    served_url = await _start_api(
        settings,
        stack,
        calls=calls,
        pool=pool,
        journal=journal,
        activity=activity,
        clock=clock,
        registry=registry,
        problems=problems,
        dsn=dsn,
        nodes=node_configs,
        role=role,
    )

    if leadership is not None:
        stored = StoredView(topology, applied, modes)

        async def read_back() -> tuple[Topology, Modes]:
            await stored.refresh(pool, recorder)
            return stored.topology, stored.modes

        taken = await _stand_by(
            leadership,
            calls,
            stop,
            supervisor,
            stack=stack,
            read_back=read_back,
            api_url=served_url,
        )
        if taken is None:
            await until_stop_or_failure(stop, supervisor, failure_grace_s)
            log.info("stopping")
            return
        # The active instance before this one may have changed the topology and the modes.
        with contextlib.suppress(StoreError):
            await stored.refresh(pool, recorder)
        topology, applied, modes = stored.topology, stored.digest, stored.modes

    service = await stack.enter_async_context(
        call_handling(
            nodes=node_configs,
            topology=topology,
            modes=modes,
            journal=journal_port,
            recorder=recorder,
            clock=clock,
            settings=CallSettings(
                app_name=settings.app_name,
                ring_timeout_s=settings.ring_timeout_s,
                wrap_up_s=settings.wrap_up_s,
                setup_guard_s=settings.setup_guard_s,
                recording=settings.recording,
                ari_connections=settings.ari_max_connections,
                node_down_after_s=settings.node_down_after_s,
            ),
            # Without PostgreSQL at start, the previous run's open calls cannot be read:
            # waiting for the journal to catch up only kept /readyz at 503 for 10 s.
            open_calls=JournalOpenCalls(
                journal, CallHistory(pool), catch_up_s=10.0 if reachable else 0.0
            ),
            watch=supervisor.watch,
            permit=leadership.permits if leadership is not None else None,
            on_replaced=leadership.replaced if leadership is not None else None,
        )
    )
    calls.activate(service)

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

    log.info(
        "running",
        extra={
            "app": settings.app_name,
            "ari": ", ".join(f"{name}={config.url}" for name, config in node_configs),
            "api": served_url,
            "instance": instance,
            "role": role().role.value,
        },
    )
    await until_stop_or_failure(stop, supervisor, failure_grace_s)
    log.info("stopping")


async def _start_api(
    settings: Settings,
    stack: contextlib.AsyncExitStack,
    *,
    calls: CallsInForce,
    pool: AsyncConnectionPool,
    journal: PostgresJournal,
    activity: Activity,
    clock: Clock,
    registry: CollectorRegistry,
    problems: Problems,
    dsn: str,
    nodes: list[tuple[str, AriConfig]],
    role: Callable[[], RoleView],
) -> str:
    """Serve the duty officers' API over ``calls`` (and watch Asterisk for /readyz); its URL."""

    def current_problems() -> dict[str, str]:
        found = dict(problems.current())
        if DATABASE not in found and not journal.stats().database_up:
            found[DATABASE] = (
                f"PostgreSQL at {describe_dsn(dsn)} is unreachable: calls are taken, the "
                f"journal waits in {settings.spool_path}, token checks answer 503"
            )
        return found

    api = build_api(
        calls=calls,
        tokens=TokenStore(pool),
        history=StoreModeHistory(ModeStore(pool)),
        registry=registry,
        callbacks=CallbackStore(pool),
        journal_stats=journal.stats,
        activity=activity,
        clock=clock,
        problems=current_problems,
        media=NodesMedia(nodes),
        role=role,
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
    probes = [(name, AriProbe(config.url, config.user, config.password)) for name, config in nodes]

    async def problem() -> str | None:
        # With several nodes, why each one cannot be used, named.
        found = [(name, await probe.problem()) for name, probe in probes]
        said = [(name, text) for name, text in found if text is not None]
        if len(probes) == 1 or not said:
            return said[0][1] if said else None
        return "; ".join(f"node {name}: {text}" for name, text in said)

    watching = asyncio.create_task(
        watch_asterisk(problem, lambda: calls.ready, problems),
        name="diagnosis:asterisk",
    )
    stack.push_async_callback(_cancel, watching)

    return served.url


def instance_name(settings: Settings) -> str:
    """This instance's name: the setting, else ``<host name>:<API port>``."""
    return settings.instance_name or f"{socket.gethostname()}:{settings.api_port}"


def leadership_of(settings: Settings, dsn: str, instance: str) -> Leadership:
    """The lease of ``ARI_APP_LEADERSHIP=lease``, named with where this instance's API is."""
    if dsn_problem(dsn) is not None:
        raise StartError(
            "ARI_APP_LEADERSHIP=lease needs PostgreSQL, but ARI_APP_DATABASE_DSN cannot be"
            " parsed: fix it, or run a single instance with ARI_APP_LEADERSHIP=single"
        )
    api_url = settings.instance_api_url or f"http://{settings.api_host}:{settings.api_port}"
    lease = PostgresLease(dsn, instance, str(api_url), silence_s=settings.lease_silence_s)
    return Leadership(lease)


async def refuse_beside_an_active_instance(dsn: str, instance: str) -> None:
    """A single instance started while an instance in lease mode is active would take the
    ARI application over from it: refuse, naming it."""
    lease = PostgresLease(dsn, instance)
    try:
        holder = await lease.holder()
    except DatabaseUnreachable:
        return  # nobody can tell; the single instance goes on, as without a database
    finally:
        await lease.close()
    if holder is not None:
        raise StartError(
            f"instance {holder.instance} is the active one in lease mode on this database"
            f" (since {holder.since:%Y-%m-%d %H:%M:%S %Z}): start this one with"
            " ARI_APP_LEADERSHIP=lease to stand by, or stop the other first"
        )


@dataclass
class StoredView:
    """A standby's view of what PostgreSQL has: the topology (with its digest, None for the
    file's) and the modes in force. ``refresh`` reads the topology again only when another
    one was imported, and says nothing in the log: a standby refreshes every few seconds."""

    topology: Topology
    digest: str | None
    modes: Modes

    async def refresh(self, pool: AsyncConnectionPool, recorder: StoreModeRecorder) -> None:
        """Read the modes, and the topology if its digest changed (raises StoreError)."""
        try:
            async with pool.connection() as conn:
                source = await topology_source(conn)
                digest = source.digest if source is not None else None
                topology = self.topology
                if digest is not None and digest != self.digest:
                    topology = await read_topology(conn) or topology
            modes = await starting_modes(pool, True, topology, recorder)
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as error:
            raise DatabaseUnreachable(str(error)) from None
        self.topology, self.digest, self.modes = topology, digest, modes


async def _stand_by(
    leadership: Leadership,
    calls: CallsInForce,
    stop: asyncio.Event,
    supervisor: Supervisor,
    *,
    stack: contextlib.AsyncExitStack,
    read_back: Callable[[], Awaitable[tuple[Topology, Modes]]],
    api_url: str,
) -> bool | None:
    """Compete for the lease (for the application's life), keeping the standby's view of
    the modes fresh meanwhile; True once this instance is the active one, None when a stop
    or a failure came first."""
    leading = asyncio.create_task(leadership.run(), name="leadership")
    supervisor.watch("leadership", leading)
    stack.push_async_callback(stop_leadership, leadership, leading)
    log.info(
        "standing by until this instance holds the lease",
        extra={"instance": leadership.view().instance, "api": api_url},
    )
    refreshing = asyncio.create_task(keep_standby_fresh(calls, read_back), name="standby:refresh")
    try:
        return True if await _until_active(leadership, stop, supervisor) else None
    finally:
        await _cancel(refreshing)


async def _until_active(
    leadership: Leadership, stop: asyncio.Event, supervisor: Supervisor
) -> bool:
    """Wait until the lease is taken (True), or a stop or a failure comes first (False)."""
    waits = {
        asyncio.create_task(leadership.active.wait(), name="app:lease-taken"),
        asyncio.create_task(stop.wait(), name="app:stop-signal"),
        asyncio.create_task(supervisor.failed.wait(), name="app:service-failed"),
    }
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
        await asyncio.wait(waits)
    return leadership.active.is_set() and not stop.is_set() and supervisor.healthy


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop``: calls stay in Asterisk for the next start."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
