"""A topology imported while the application runs reaches it within a second.

``ari-app topology import`` announces each committed import with PostgreSQL's ``NOTIFY`` on
``TOPOLOGY_CHANNEL`` (payload: the file's SHA-256). ``TopologyReloader`` keeps one connection
that ``LISTEN``s on it; on each announcement, and after each (re)connection (an announcement
sent while it was disconnected is not replayed), it compares the stored topology's digest with
the one in force and, when they differ, reads the topology and the modes and applies them.

Applying (``apply_topology``) is synchronous, in the event loop the calls run on: it happens
between two policy decisions, never in the middle of one. Calls in progress are kept (see
``ari_app.vcta.topology_change``): a removed position finishes its call, a removed centre's
waiting callers are routed again by the normal rules and journaled as moved. What changed is
logged limit by limit; the import itself audited it. A topology that would strand a call (the
import refuses it, but calls may have started since) is not applied: the instance keeps the
one in force, says so at ERROR and in /readyz, and tries again on the next announcement.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psycopg

from ari_app.calls.service import CallService
from ari_app.calls.session import CallMoved
from ari_app.diagnosis import Problems
from ari_app.store.db import ConnectionSource, connect
from ari_app.store.errors import DatabaseUnreachable, StoreError
from ari_app.store.mode_load import load_modes
from ari_app.store.mode_writes import ModeChangeWrite
from ari_app.store.topology_import import TOPOLOGY_CHANNEL
from ari_app.store.topology_read import read_topology_rows, topology_source
from ari_app.vcta import Modes, PolicyStateError, Topology
from ari_app.vcta.topology_change import LimitChange, carry_over, limit_changes

log = logging.getLogger(__name__)

RETRY_S = 2.0  # between attempts to (re)open the listening connection
TOPOLOGY = "topology"  # the dependency name of a topology not applied, in /readyz


@dataclass(frozen=True, slots=True)
class StoredTopology:
    """The imported topology as read from the store, with the modes to apply with it."""

    digest: str
    topology: Topology
    modes: Modes


# Reads the digest of the stored topology (None: none imported).
ReadDigest = Callable[[], Awaitable[str | None]]
# Reads the stored topology and the modes that go with it (None: none imported).
ReadTopology = Callable[[], Awaitable[StoredTopology | None]]


def store_readers(
    pool: ConnectionSource, pending: Callable[[], Awaitable[list[ModeChangeWrite]]]
) -> tuple[ReadDigest, ReadTopology]:
    """The two reads a reloader makes, from the store: the digest alone (cheap, on every
    announcement), then the topology with its digest in one snapshot, and its modes (the
    stored ones plus the changes this instance could only spool, ``pending``)."""

    async def read_digest() -> str | None:
        async with pool.connection() as conn:
            source = await topology_source(conn)
        return source.digest if source is not None else None

    async def read_topology() -> StoredTopology | None:
        async with pool.connection() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            source = await topology_source(conn)
            topology = await read_topology_rows(conn)
        if source is None or topology is None:
            return None
        modes = await load_modes(pool, topology, pending=await pending())
        return StoredTopology(source.digest, topology, modes)

    return read_digest, read_topology


def apply_topology(service: CallService, topology: Topology, modes: Modes) -> list[LimitChange]:
    """Put ``topology`` (checked) and ``modes`` (valid for it) in force now, carrying the calls
    in progress; return what changed. Raises PolicyStateError, changing nothing, when a call
    cannot be carried."""
    now = service.clock.now()
    carried = carry_over(service.policy, topology, modes, now)
    changes = limit_changes(service.topology, topology)
    known = {p.endpoint for p in service.topology.position_by_id.values()}
    added = [p.endpoint for p in topology.position_by_id.values() if p.endpoint not in known]
    service.topology = topology
    service.policy = carried.state
    # The policy is rebuilt on the topology in one piece (the calls already at their new
    # unit); each moved call journals its move and marks its channel before anything else
    # reads the new state.
    for move in carried.moves:
        session = service.sessions.get(move.call_id)
        if session is not None:
            session.take(CallMoved(move))
    service.policy_changed()
    if added:
        service.spawn(service.watch_endpoints(added), name="calls:new-positions")
    return changes


class TopologyReloader:
    """Listens for imports and applies them to ``service``; ``run()`` until cancelled."""

    def __init__(
        self,
        service: CallService,
        listen_dsn: str,
        *,
        applied: str | None,
        read_digest: ReadDigest,
        read_topology: ReadTopology,
        problems: Problems | None = None,
        retry_s: float = RETRY_S,
    ) -> None:
        self._service = service
        self._dsn = listen_dsn
        self.applied = applied  # digest of the topology in force (None: from the file)
        self._read_digest = read_digest
        self._read_topology = read_topology
        self._problems = problems or Problems()
        self._retry_s = retry_s
        self.listening = asyncio.Event()  # set while LISTEN is in place

    async def run(self) -> None:
        while True:
            try:
                conn = await connect(self._dsn, autocommit=True)
            except DatabaseUnreachable:
                # The journal and the start already said PostgreSQL is away: quietly retry.
                await asyncio.sleep(self._retry_s)
                continue
            try:
                await conn.execute(f"LISTEN {TOPOLOGY_CHANNEL}")
                self.listening.set()
                await self.catch_up()
                async for _ in conn.notifies():
                    await self.catch_up()
            except (psycopg.OperationalError, StoreError) as error:
                log.info("topology listener reconnecting", extra={"error": str(error)})
            finally:
                self.listening.clear()
                await conn.close()
            await asyncio.sleep(self._retry_s)

    async def catch_up(self) -> None:
        """Apply the stored topology when it is not the one in force."""
        try:
            digest = await self._read_digest()
        except (StoreError, psycopg.Error) as error:
            log.warning("cannot read the stored topology", extra={"error": str(error)})
            return
        if digest is None or digest == self.applied:
            return
        # The state must not change under a resynchronisation that is reading it.
        await self._service.wait_ready()
        stored = await self._read_topology()
        if stored is None or stored.digest == self.applied:
            return
        try:
            changes = apply_topology(self._service, stored.topology, stored.modes)
        except PolicyStateError as error:
            problem = (
                f"the imported topology (sha256 {stored.digest[:12]}) is not in force: {error}"
            )
            if self._problems.set(TOPOLOGY, problem):
                log.error(problem)
            return
        self.applied = stored.digest
        self._problems.set(TOPOLOGY, None)
        log.info(
            "new topology in force",
            extra={
                "sha256": stored.digest[:12],
                "changed": "; ".join(str(c) for c in changes) or "no limit",
                "calls_kept": len(self._service.policy.calls),
            },
        )
