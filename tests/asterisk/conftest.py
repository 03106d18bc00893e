"""Fixtures of the real-Asterisk tests (marker ``asterisk``): see tests/asterisk/bed.py.

One Asterisk and one PostgreSQL container per test module (a test that restarts Asterisk
asks for its own with ``own_asterisk``); each test gets its own database, its own sipp peers
and its own ``ari-app run``.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.asterisk.bed import (
    EXAMPLE,
    Application,
    AsteriskNode,
    PostgresNode,
    SipPeers,
    application_env,
    docker_client,
    free_port,
    image,
    sipp_binary,
    start_asterisk,
    start_postgres,
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
def asterisk(asterisk_image: str) -> Iterator[AsteriskNode]:
    with start_asterisk(asterisk_image) as node:
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
    api_port = free_port()
    env = application_env(node, dsn, tmp_path, api_port, **settings)
    env["ARI_APP_TOPOLOGY_PATH"] = str(topology)
    app = Application(env, api_port, tmp_path / f"ari-app-{api_port}.log")
    app.cli("db", "upgrade")
    app.cli("topology", "import", str(topology))
    return app


@pytest.fixture
def app(ready_asterisk: AsteriskNode, database: str, tmp_path: Path) -> Iterator[Application]:
    """``ari-app run`` against the module's Asterisk, not started yet."""
    application = make_app(ready_asterisk, database, tmp_path)
    try:
        yield application
    finally:
        application.stop()
