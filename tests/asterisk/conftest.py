"""Fixtures of the real-Asterisk tests (marker ``asterisk``): see tests/asterisk/bed.py.

One Asterisk and one PostgreSQL container per test module (a test that restarts Asterisk
asks for its own with ``own_asterisk``); each test gets its own database, its own sipp peers
and its own ``ari-app run``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.asterisk.bed import (
    EXAMPLE,
    Application,
    AsteriskNode,
    PostgresNode,
    SipPeers,
    application_env,
    deployed_asterisk,
    docker_client,
    free_port,
    image,
    sipp_binary,
    start_asterisk,
    start_postgres,
    unregister_all,
)

_DATABASES = itertools.count(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.asterisk)
            item.add_marker(pytest.mark.timeout(240))


@pytest.fixture(scope="module")
def asterisk_image() -> str:
    docker_client()
    sipp_binary()
    return image("ari-app-asterisk")


@pytest.fixture(scope="module")
def asterisk() -> Iterator[AsteriskNode]:
    """The module's Asterisk: a container, or the deployment ARI_APP_BED_* names."""
    deployed = deployed_asterisk()
    if deployed is not None:
        sipp_binary()
        yield deployed
        return
    docker_client()
    sipp_binary()
    with start_asterisk(image("ari-app-asterisk")) as node:
        yield node


@pytest.fixture
def own_asterisk(asterisk_image: str) -> Iterator[AsteriskNode]:
    """An Asterisk for this test alone (one it may restart or break)."""
    with start_asterisk(asterisk_image) as node:
        yield node


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresNode]:
    docker_client()
    with start_postgres(image("ari-app-postgres")) as node:
        yield node


@pytest.fixture
async def ready_asterisk(asterisk: AsteriskNode) -> AsteriskNode:
    await asterisk.wait_ready()
    return asterisk


@pytest.fixture
async def database(postgres: PostgresNode) -> str:
    await postgres.wait_ready()
    return postgres.new_database(f"t{next(_DATABASES)}")


@contextlib.asynccontextmanager
async def _peers(node: AsteriskNode, tmp_path: Path) -> AsyncIterator[SipPeers]:
    workdir = tmp_path / f"sipp-{node.sip_port}"
    workdir.mkdir()
    peers = SipPeers(node, workdir)
    try:
        yield peers
    finally:
        # The module's Asterisk is shared: a later test must not find a phone registered
        # whose sipp is gone (Asterisk would notice only at the next qualify).
        await unregister_all(peers)
        peers.stop()


@pytest.fixture
async def peers(ready_asterisk: AsteriskNode, tmp_path: Path) -> AsyncIterator[SipPeers]:
    async with _peers(ready_asterisk, tmp_path) as sip:
        yield sip
    await _clean(ready_asterisk)


async def _clean(node: AsteriskNode) -> None:
    """Leave the shared Asterisk empty for the next test: no channel, no bridge."""
    with contextlib.suppress(Exception):
        for channel in await node.channels():
            await node.ari("DELETE", f"/channels/{channel['id']}")
        for bridge in await node.bridges():
            await node.ari("DELETE", f"/bridges/{bridge['id']}")


def make_app(
    node: AsteriskNode,
    dsn: str,
    tmp_path: Path,
    topology: Path = EXAMPLE,
    **settings: str,
) -> Application:
    """``ari-app run`` with its schema and ``topology`` imported, not started yet."""
    api_port = free_port()
    env = application_env(node, dsn, tmp_path, api_port, **settings)
    env["ARI_APP_TOPOLOGY_PATH"] = str(topology)
    app = Application(env, api_port, tmp_path / f"ari-app-{api_port}.log")
    _prepare_database(app, dsn, topology)
    return app


# Databases already upgraded with a topology imported, by (server, topology's content): the
# next test gets a copy (CREATE DATABASE ... TEMPLATE) instead of two CLI runs.
_PREPARED: dict[tuple[str, str], str] = {}


def _prepare_database(app: Application, dsn: str, topology: Path) -> None:
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    name = str(info["dbname"])
    server = psycopg.conninfo.make_conninfo(dsn, dbname="postgres")
    key = (
        f"{info.get('host')}:{info.get('port')}",
        hashlib.sha256(topology.read_bytes()).hexdigest(),
    )
    template = _PREPARED.get(key)
    if template is not None:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )
                return
            except psycopg.errors.InvalidCatalogName:  # a new server on a port used before
                del _PREPARED[key]
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    # As an operator sets a platform up; the copies are of what these two commands made.
    app.cli("db", "upgrade")
    app.cli("topology", "import", str(topology))
    template = f"prepared_{key[1][:16]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(template)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(template), sql.Identifier(name)
            )
        )
    _PREPARED[key] = template


@pytest.fixture
def app(ready_asterisk: AsteriskNode, database: str, tmp_path: Path) -> Iterator[Application]:
    """``ari-app run`` against the module's Asterisk, not started yet."""
    application = make_app(ready_asterisk, database, tmp_path)
    try:
        yield application
    finally:
        application.stop()
