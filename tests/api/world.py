"""The API served over the real call handling on the emulator, with tokens and callbacks in
a real PostgreSQL: the fixture of the API tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from psycopg_pool import AsyncConnectionPool

from ari_app.api import (
    MemoryModeHistory,
    MetricsJournal,
    ModeHistory,
    TokenVerifier,
    build_api,
    serve_api,
)
from ari_app.api.activity import Activity, ActivityJournal
from ari_app.calls.config import CallSettings
from ari_app.calls.journal import Journal, JournalEntry, JournalKind, MemoryJournal
from ari_app.calls.modes import MemoryModeRecorder
from ari_app.calls.service import CallService
from ari_app.clock import ScaledClock
from ari_app.media_check import AsteriskMedia
from ari_app.sim import Answer, Emulator
from ari_app.sim.scripts import PositionScript
from ari_app.stasis import AriClient, AriConfig, Backoff, EventStream
from ari_app.store import CallbackStore
from ari_app.store.db import open_pool
from ari_app.store.journal import PostgresJournal
from ari_app.store.tokens import TokenStore, hash_token, new_token_text
from ari_app.vcta import PolicyState, Topology
from tests import waiting
from tests.calls.harness import APP, PASSWORD, RECONNECT_S, SPEED, USER, Harness
from tests.calls.topologies import three_centres

TALKING = Answer(after_s=1.0, talk_s=None)  # answers and stays on the line

# Tokens every world issues: role -> (name, scopes).
ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "read": ("wallboard hall A", ("read",)),
    "alpha": ("officer alpha", ("centre:alpha",)),
    "beta": ("officer beta", ("centre:beta",)),
    "national": ("national supervisor", ("national",)),
}


class Tee:
    """A journal that hands each entry to several journals."""

    def __init__(self, *journals: Journal) -> None:
        self._journals = journals

    def record(self, entry: JournalEntry) -> None:
        for journal in self._journals:
            journal.record(entry)


async def insert_token(pool: AsyncConnectionPool, name: str, scopes: Iterable[str]) -> str:
    """A token stored as ``ari-app token create`` stores it (without checking the centres
    against imported topology tables, which these tests do not fill)."""
    plaintext = new_token_text()
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO api_tokens (name, scopes, secret_sha256, created_by)"
            " VALUES (%s, %s, %s, 'tests')",
            (name, list(scopes), hash_token(plaintext)),
        )
    return plaintext


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class World:
    calls: Harness
    http: aiohttp.ClientSession
    url: str
    registry: CollectorRegistry
    pool: AsyncConnectionPool
    activity: Activity = field(default_factory=Activity)
    tokens: dict[str, str] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _build: Callable[[], web.Application] | None = None
    _serving: contextlib.AsyncExitStack | None = None

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    async def stop_api(self) -> None:
        """Stop serving the API and the dashboard (the call handling goes on): open streams
        are cut, new connections refused."""
        assert self._serving is not None, "the API is not being served"
        serving, self._serving = self._serving, None
        await serving.aclose()

    async def start_api(self) -> None:
        """Serve a new API application over the same call handling, on the same port: what
        a page sees when the application restarts."""
        assert self._build is not None
        assert self._serving is None
        self._serving = contextlib.AsyncExitStack()
        await self._serving.enter_async_context(serve_api(self._build(), "127.0.0.1", self.port))

    @property
    def service(self) -> CallService:
        return self.calls.service

    async def start_calls(self) -> None:
        """Run the call handling and wait until it is ready."""
        self._task = asyncio.create_task(self.service.run(), name="test:call-service")
        await wait_until(lambda: self.service.ready, what="the call handling to be ready")

    def auth(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    async def request(
        self,
        method: str,
        path: str,
        role: str | None = "national",
        *,
        json: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        async with self.http.request(
            method,
            path,
            json=json,
            data=data,
            params=params,
            headers={**self.auth(role), **(headers or {})},
        ) as response:
            text = await response.text()
            body: Any = text
            if response.content_type == "application/json":
                body = await response.json()
            return Reply(response.status, body, dict(response.headers))

    async def get(self, path: str, role: str | None = "read", **kwargs: Any) -> Reply:
        return await self.request("GET", path, role, **kwargs)

    async def put(self, path: str, body: Any, role: str | None = "national") -> Reply:
        return await self.request("PUT", path, role, json=body)

    async def post(self, path: str, body: Any, role: str | None = "national") -> Reply:
        return await self.request("POST", path, role, json=body)

    async def metric(self, name: str, **labels: str) -> float | None:
        """The value of one sample of /metrics, None when absent."""
        reply = await self.get("/metrics", None)
        for family in text_string_to_metric_families(reply.body):
            for sample in family.samples:
                wanted = all(sample.labels.get(k) == v for k, v in labels.items())
                if sample.name == name and wanted:
                    return float(sample.value)
        return None

    async def until_metric(
        self, name: str, predicate: Callable[[float | None], bool], **labels: str
    ) -> float | None:
        deadline = asyncio.get_running_loop().time() + 5.0
        while True:
            value = await self.metric(name, **labels)
            if predicate(value):
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{name}{labels} stayed at {value}")
            await asyncio.sleep(0.01)  # sync-ok: polling interval of an awaited condition


async def caller_waiting_at_alpha(world: World) -> tuple[str, str]:
    """alpha's only online position talking and a second caller waiting there (its outgoing
    mutual aid off, so the call stays): returns (talking call, waiting call).

    Needs a world with ``offline=("alpha-op2",)``."""
    reply = await world.put(
        "/api/v1/centres/alpha/mutual-aid", {"outgoing": False, "reason": "keep calls here"}
    )
    assert reply.status == 200, reply.body
    talking = await world.calls.call("18", number="0611111111")
    assert await world.calls.until_talking(talking) == "alpha-op1"
    waiting = await world.calls.call("18", number="0622222222")
    await world.calls.until_journal(waiting, JournalKind.WAITING)
    return talking, waiting


async def wait_until(
    condition: Callable[[], bool], *, within: float = 5.0, what: str = "the condition"
) -> None:
    """Return as soon as ``condition()`` holds; fail naming ``what`` after ``within`` s."""
    await waiting.wait_until(condition, within=within, what=what)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 5.0) -> None:
    """Await ``check`` until it holds; fail naming ``what``."""
    await waiting.wait_until(check, within=within, what=what, interval=0.01)


@contextlib.asynccontextmanager
async def api_world(
    pg_dsn: str,
    *,
    topology: Topology | None = None,
    script: PositionScript | None = TALKING,
    offline: tuple[str, ...] = (),
    start: bool = True,
    journal_spool: Path | None = None,
    tokens: TokenVerifier | None = None,
    history: ModeHistory | None = None,
    with_callbacks: bool = True,
    store_timeout_s: float = 5.0,
    **settings: Any,
) -> AsyncIterator[World]:
    """The emulator with the topology's positions, the call handling, and the API serving it.

    With ``journal_spool`` the journal also goes to PostgreSQL (so abandoned calls reach the
    callback list); with ``start=False`` the call handling is left to ``start_calls()``.
    """
    topology = topology or three_centres()
    clock = ScaledClock(SPEED)
    # The crisis message the tests set exists, as the API checks with Asterisk.
    emulator = Emulator(clock=clock, users={USER: PASSWORD}, app=APP, sounds={"crisis/flood": 4.0})
    await emulator.start()
    stack = contextlib.AsyncExitStack()
    stack.push_async_callback(emulator.stop)
    try:
        for position in topology.position_by_id.values():
            resource = position.endpoint.split("/", 1)[1]
            emulator.add_endpoint(
                resource, script=script or TALKING, online=resource not in offline
            )
        memory = MemoryJournal()
        recorder = MemoryModeRecorder()
        registry = CollectorRegistry()
        activity = Activity()
        journals: list[Journal] = [memory]
        stored: PostgresJournal | None = None
        if journal_spool is not None:
            stored = PostgresJournal(pg_dsn, journal_spool, max_latency_s=0.01)
            await stored.start()
            stack.push_async_callback(stored.stop)
            journals.append(stored)
        config = AriConfig(emulator.base_url, USER, PASSWORD)
        ari = AriClient(config, max_connections=32)
        stack.push_async_callback(ari.close)
        backoff = Backoff(lambda: 1.0, initial=RECONNECT_S, maximum=RECONNECT_S)
        stream = EventStream(config, APP, backoff=backoff)
        stack.push_async_callback(stream.close)
        service = CallService(
            ari=ari,
            events=stream,
            topology=topology,
            policy=PolicyState(topology),
            journal=MetricsJournal(ActivityJournal(Tee(*journals), activity), registry),
            recorder=recorder,
            clock=clock,
            # No setup guard: the emulator's dialplan has no fallback (tests/calls/harness.py).
            settings=CallSettings(
                app_name=APP, **{"wrap_up_s": 0.0, "setup_guard_s": None, **settings}
            ),
        )
        pool = await open_pool(pg_dsn)
        stack.push_async_callback(pool.close)
        token_verifier = tokens or TokenStore(pool)
        mode_history = history or MemoryModeHistory(recorder, topology)

        def build() -> web.Application:
            return build_api(
                calls=service,
                tokens=token_verifier,
                history=mode_history,
                registry=CollectorRegistry() if built else registry,
                callbacks=CallbackStore(pool) if with_callbacks else None,
                journal_stats=stored.stats if stored is not None else None,
                store_timeout_s=store_timeout_s,
                activity=activity,
                clock=clock,
                media=AsteriskMedia(config),
            )

        built: list[web.Application] = []
        built.append(build())
        serving = contextlib.AsyncExitStack()
        served = await serving.enter_async_context(serve_api(built[0], "127.0.0.1", 0))
        http = await stack.enter_async_context(aiohttp.ClientSession(base_url=served.url))
        harness = Harness(
            emulator=emulator,
            service=service,
            journal=memory,
            recorder=recorder,
            topology=topology,
            clock=clock,
            ari=ari,
        )
        world = World(harness, http, served.url, registry, pool, activity)
        world._build, world._serving = build, serving
        stack.push_async_callback(_stop_api, world)
        for role, (name, scopes) in ROLES.items():
            world.tokens[role] = await insert_token(pool, name, scopes)
        stack.push_async_callback(_stop_calls, world)
        if start:
            await world.start_calls()
        yield world
    finally:
        await stack.aclose()


async def _stop_api(world: World) -> None:
    if world._serving is not None:
        await world._serving.aclose()


async def _stop_calls(world: World) -> None:
    if world._task is not None:
        world._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await world._task
    await world.service.stop()
