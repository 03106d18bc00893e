"""PostgreSQL for the tests (a pytest plugin, registered in tests/conftest.py).

The server, in order of preference:
1. ``ARI_APP_TEST_DSN`` when set (``scripts/test`` sets it; see ``scripts/ensure-postgres``);
2. a testcontainers ``PostgresContainer`` when a Docker engine answers;
3. a throwaway cluster started from the local binaries (/usr/lib/postgresql/*/bin);
otherwise the tests that need it are skipped, saying why.

Fixtures:
- ``pg_server``: the server (session).
- ``pg_empty_dsn``: a database without any table (one per module, its schema recreated
  before each test).
- ``pg_dsn``: a database at the current schema with every table empty (one database per
  test module, copied from a template migrated once per session, emptied before each test:
  creating a database costs about half a second, emptying one a few milliseconds).
- ``pg_fresh_dsn``: a database of the test's own at the current schema, dropped after the
  test: for tests that alter the schema.
- ``pg_pool``: an open async pool on ``pg_dsn``.
- ``tcp_proxy``: a TCP proxy to the server that a test can cut, stall and restore.
- ``local_cluster``: a throwaway cluster of the test's own, to stop and start for real.

Every test using one of these is marked ``postgres`` automatically.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from enum import Enum
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool

from ari_app.store.db import connect
from ari_app.store.migrate import upgrade

DSN_VARIABLE = "ARI_APP_TEST_DSN"
PG_FIXTURES = frozenset(
    {
        "pg_server",
        "pg_empty_dsn",
        "pg_dsn",
        "pg_fresh_dsn",
        "pg_pool",
        "tcp_proxy",
        "local_cluster",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PG_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


# -- the server ---------------------------------------------------------------------------


class PgServer:
    """A reachable server; ``admin_dsn`` may create and drop databases.

    Dropping a database makes the server checkpoint, which takes a second on a busy
    machine: drops run in a background thread while the next tests go on, and
    ``close()`` waits for them.
    """

    def __init__(self, admin_dsn: str, source: str) -> None:
        self.admin_dsn = admin_dsn
        self.source = source
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-drop")
        self._drops: list[Future[None]] = []

    @property
    def host(self) -> str:
        return str(conninfo_to_dict(self.admin_dsn).get("host") or "127.0.0.1")

    @property
    def port(self) -> int:
        return int(conninfo_to_dict(self.admin_dsn).get("port") or 5432)

    def dsn(self, dbname: str) -> str:
        return make_conninfo(self.admin_dsn, dbname=dbname)

    def create_database(self, template: str | None = None) -> str:
        """Create a uniquely named database and return its name."""
        name = f"test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template or "template0")
        )
        with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(query)
        return name

    def drop_database(self, name: str) -> None:
        """Drop the database soon, in the background (its connections are ended)."""
        self._drops.append(self._dropper.submit(self._drop_now, name))

    def _drop_now(self, name: str) -> None:
        query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(query)

    def close(self) -> None:
        """Wait for the pending drops; raise the first failure."""
        self._dropper.shutdown(wait=True)
        for drop in self._drops:
            drop.result()


def _answers(dsn: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]
    return None


POSTGRES_IMAGE = "ari-app-postgres:latest"


def _postgres_image() -> str | None:
    """The PostgreSQL image scripts/images builds, when an engine answers and has it (no
    registry is needed, nor assumed reachable)."""
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return None
    try:
        # Imported lazily and untyped: Docker is optional, and its typing varies by version.
        docker: Any = importlib.import_module("docker")
        client = docker.from_env(timeout=3)
        client.images.get(POSTGRES_IMAGE)
    except Exception:
        return None
    return POSTGRES_IMAGE


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    dsn = os.environ.get(DSN_VARIABLE)
    if dsn:
        problem = _answers(dsn)
        if problem:
            pytest.fail(f"{DSN_VARIABLE} is set but its server does not answer: {problem}")
        server = PgServer(dsn, DSN_VARIABLE)
        yield server
        server.close()
        return
    image = _postgres_image()
    if image is not None:
        from tests.asterisk.bed import start_postgres  # noqa: PLC0415

        with start_postgres(image) as node:
            _run_in_new_loop(node.wait_ready)
            server = PgServer(node.dsn(), f"container {image}")
            yield server
            server.close()
        return
    bindir = LocalCluster.find_binaries()
    if bindir is None:
        pytest.skip(
            f"no PostgreSQL: {DSN_VARIABLE} is not set, no Docker engine has {POSTGRES_IMAGE}"
            " and no server binaries are installed under /usr/lib/postgresql"
        )
    cluster = LocalCluster(bindir)
    try:
        cluster.start()
        server = PgServer(cluster.dsn("postgres"), f"local cluster {cluster.directory}")
        yield server
        server.close()
    finally:
        cluster.destroy()


# -- databases ----------------------------------------------------------------------------


def _run_in_new_loop(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine function to completion in a thread of its own (no running loop)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(work())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, name="pg-template")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> Iterator[str]:
    """A database migrated to the current schema, copied by ``pg_dsn`` for each test."""
    name = pg_server.create_database()

    async def migrate() -> None:
        conn = await connect(pg_server.dsn(name), autocommit=True)
        async with conn:
            await upgrade(conn)

    try:
        _run_in_new_loop(migrate)
        yield name
    finally:
        pg_server.drop_database(name)


@pytest.fixture(scope="module")
def pg_module_empty_database(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_database()
    try:
        yield pg_server.dsn(name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def pg_empty_dsn(pg_module_empty_database: str) -> str:
    """A database without any table (its public schema is recreated before each test)."""
    with psycopg.connect(pg_module_empty_database, autocommit=True, connect_timeout=10) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return pg_module_empty_database


@pytest.fixture
def pg_fresh_dsn(pg_server: PgServer, pg_template: str) -> Iterator[str]:
    """A database of the test's own at the current schema, for tests that alter the schema."""
    name = pg_server.create_database(template=pg_template)
    try:
        yield pg_server.dsn(name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture(scope="module")
def pg_module_database(pg_server: PgServer, pg_template: str) -> Iterator[str]:
    name = pg_server.create_database(template=pg_template)
    try:
        yield pg_server.dsn(name)
    finally:
        pg_server.drop_database(name)


def empty_every_table(dsn: str) -> None:
    """Delete every row but the schema's version (much faster than a new database)."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'schema_migrations' ORDER BY tablename"
            )
        ]
        try:
            with conn.transaction():
                # Foreign keys are not checked while replicating: any order will do.
                conn.execute("SET LOCAL session_replication_role = replica")
                for table in tables:
                    conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        except psycopg.errors.InsufficientPrivilege:
            # Not a superuser: TRUNCATE needs no such right, it is only slower.
            names = sql.SQL(", ").join(sql.Identifier(t) for t in tables)
            conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(names))


@pytest.fixture
def pg_dsn(pg_module_database: str) -> str:
    """A database at the current schema with every table empty; shared within a module,
    so a test that alters the schema uses ``pg_fresh_dsn`` instead."""
    empty_every_table(pg_module_database)
    return pg_module_database


@pytest.fixture
async def pg_pool(pg_dsn: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(pg_dsn, min_size=1, max_size=4, open=False, timeout=10)
    await pool.open(wait=True, timeout=10)
    try:
        yield pool
    finally:
        await pool.close()


# -- a proxy to break the network ---------------------------------------------------------


class ProxyMode(Enum):
    UP = "up"  # forwards both ways
    CUT = "cut"  # connections are closed, new ones closed at once
    STALL = "stall"  # connections accepted, nothing forwarded, nothing answered


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in a thread of its own, which a test can break on purpose.

    ``cut()`` closes every connection and refuses service to new ones (a server gone);
    ``stall()`` keeps accepting but never forwards a byte (a network black hole);
    ``restore()`` forwards again (connections left from a stall are closed).
    Each call returns once the proxy is in the new mode.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._peer: dict[socket.socket, socket.socket] = {}
        self._held: list[socket.socket] = []
        self._mode = ProxyMode.UP
        self._commands: list[tuple[ProxyMode | None, threading.Event]] = []
        self._lock = threading.Lock()
        self.connections_accepted = 0
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()

    def dsn(self, dsn: str) -> str:
        """``dsn`` with its host and port replaced by the proxy's."""
        return make_conninfo(dsn, host="127.0.0.1", port=str(self.port))

    def cut(self) -> None:
        self._command(ProxyMode.CUT)

    def stall(self) -> None:
        self._command(ProxyMode.STALL)

    def restore(self) -> None:
        self._command(ProxyMode.UP)

    def close(self) -> None:
        self._command(None)
        self._thread.join(timeout=5)

    def _command(self, mode: ProxyMode | None) -> None:
        done = threading.Event()
        with self._lock:
            self._commands.append((mode, done))
        self._wake_w.send(b"x")
        if not done.wait(timeout=5):
            raise RuntimeError("the TCP proxy did not answer a command within 5 s")

    def _run(self) -> None:
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        running = True
        while running:
            for key, _ in self._selector.select():
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    running = self._apply_commands()
                    if not running:
                        break
                else:
                    self._forward(key.fileobj)  # type: ignore[arg-type]
        for sock in [*self._peer, *self._held]:
            sock.close()
        self._selector.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def _apply_commands(self) -> bool:
        self._wake_r.recv(4096)
        with self._lock:
            commands, self._commands = self._commands, []
        running = True
        for mode, done in commands:
            if mode is None:
                running = False
            elif mode is ProxyMode.CUT:
                self._close_all()
            elif mode is ProxyMode.STALL:
                for sock in list(self._peer):
                    with contextlib.suppress(KeyError, ValueError):
                        self._selector.unregister(sock)
                    self._held.append(sock)
                self._peer.clear()
            elif mode is ProxyMode.UP:
                for sock in self._held:
                    sock.close()
                self._held.clear()
            if mode is not None:
                self._mode = mode
            done.set()
        return running

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        self.connections_accepted += 1
        if self._mode is ProxyMode.CUT:
            client.close()
            return
        if self._mode is ProxyMode.STALL:
            self._held.append(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.setblocking(True)
            sock.settimeout(5)
        self._peer[client] = upstream
        self._peer[upstream] = client
        self._selector.register(client, selectors.EVENT_READ, "data")
        self._selector.register(upstream, selectors.EVENT_READ, "data")

    def _forward(self, sock: socket.socket) -> None:
        other = self._peer.get(sock)
        if other is None:
            return
        try:
            data = sock.recv(65536)
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        self._close_pair(sock)

    def _close_pair(self, sock: socket.socket) -> None:
        other = self._peer.pop(sock, None)
        for each in (sock, other):
            if each is None:
                continue
            self._peer.pop(each, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(each)
            each.close()

    def _close_all(self) -> None:
        for sock in list(self._peer):
            self._close_pair(sock)
        for sock in self._held:
            sock.close()
        self._held.clear()


@pytest.fixture
def tcp_proxy(pg_server: PgServer) -> Iterator[TcpProxy]:
    proxy = TcpProxy(pg_server.host, pg_server.port)
    try:
        yield proxy
    finally:
        proxy.close()


# -- a cluster of one's own ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalCluster:
    """A throwaway PostgreSQL cluster from the local binaries, in a temporary directory.

    Tuned for tests (no fsync, so it does not survive a machine crash): never for data
    that matters.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.directory = Path(tempfile.mkdtemp(prefix="ari-app-pg-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        # initdb refuses to run as root: run the server as the postgres user then.
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]

    @staticmethod
    def find_binaries() -> Path | None:
        found = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/initdb"),
            key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        )
        return found[-1].parent if found else None

    def dsn(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._as_user, *args], capture_output=True, text=True, check=False, timeout=60
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip() or done.stdout}")

    def start(self) -> None:
        if not self.data.exists():
            self._run(
                str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                "-U", "postgres", "--no-sync",
            )  # fmt: skip
        # No fsync: only a machine crash could lose data, and tests do not survive those.
        # Commits stay synchronous: an acknowledged commit must survive "pg_ctl stop -m
        # immediate", which tests use as a server crash.
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c full_page_writes=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
            str(self.directory / "log"), "-w", "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash, as far as clients can tell)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def local_cluster() -> Iterator[LocalCluster]:
    bindir = LocalCluster.find_binaries()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql to start a cluster")
    cluster = LocalCluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
