"""docker/compose.yaml brings up the platform, and a carrier call into it is answered."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psycopg
import pytest

from tests.asterisk.bed import (
    ARI_PASSWORD,
    PG_PASSWORD,
    POSITION_PASSWORD,
    ROOT,
    AsteriskNode,
    SdkContainer,
    SipPeers,
    docker_client,
    eventually,
    free_port,
    free_udp_block,
    free_udp_ports,
    image,
)

COMPOSE_FILE = ROOT / "docker" / "compose.yaml"


def compose_command() -> list[str]:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    return [found, "-f", str(COMPOSE_FILE)]


@dataclass
class Platform:
    project: str
    env: dict[str, str]
    asterisk: AsteriskNode
    api_port: int
    pg_port: int
    second: AsteriskNode | None = None  # the profile "two-nodes"'s asterisk-b


@contextlib.contextmanager
def platform(*, two_nodes: bool = False) -> Iterator[Platform]:
    client = docker_client()
    for name in ("ari-app", "ari-app-asterisk", "ari-app-postgres"):
        client.images.get(image(name)).tag(name, "latest")  # what compose.yaml names
    project = f"ari-app-test-{uuid.uuid4().hex[:8]}"
    http_port, api_port, pg_port = free_port(), free_port(), free_port()
    sip_port, carrier_port = free_udp_ports(2)
    rtp_start = free_udp_block(200)
    env = {
        **os.environ,
        "ARI_PASSWORD": ARI_PASSWORD,
        "POSITION_PASSWORD": POSITION_PASSWORD,
        "POSTGRES_PASSWORD": PG_PASSWORD,
        "ARI_PORT": str(http_port),
        "SIP_PORT": str(sip_port),
        "RTP_START": str(rtp_start),
        "RTP_END": str(rtp_start + 199),
        "CARRIER": f"127.0.0.1:{carrier_port}",
        "PGPORT": str(pg_port),
        "API_PORT": str(api_port),
    }
    command = [*compose_command(), "-p", project]
    if two_nodes:
        # The second node on ports of its own, as a deployer sets them (docs/two-datacentres.md).
        http_b = free_port()
        sip_b, carrier_b = free_udp_ports(2)
        rtp_b = free_udp_block(200)
        env |= {
            "ARI_PORT_B": str(http_b),
            "SIP_PORT_B": str(sip_b),
            "RTP_START_B": str(rtp_b),
            "RTP_END_B": str(rtp_b + 199),
            "CARRIER_B": f"127.0.0.1:{carrier_b}",
            "SYSTEM_NAME": "paris",
            "ASTERISK_NODES": (
                f"paris=http://127.0.0.1:{http_port}/ari,lyon=http://127.0.0.1:{http_b}/ari"
            ),
        }
        command += ["--profile", "two-nodes"]
    up = subprocess.run(
        [*command, "up", "-d", "--no-build"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    try:
        assert up.returncode == 0, up.stderr
        asterisk = client.containers.get(f"{project}_asterisk_1")
        node = AsteriskNode(
            SdkContainer(asterisk), http_port, sip_port, [carrier_port], rtp_start, rtp_start + 199
        )
        second = None
        if two_nodes:
            second = AsteriskNode(
                SdkContainer(client.containers.get(f"{project}_asterisk-b_1")),
                http_b,
                sip_b,
                [carrier_b],
                rtp_b,
                rtp_b + 199,
            )
        yield Platform(project, env, node, api_port, pg_port, second)
    finally:
        subprocess.run(
            [*command, "down", "-v", "--remove-orphans", "-t", "5"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )


async def test_compose_brings_up_the_platform_and_a_call_is_answered(tmp_path: Path) -> None:
    with platform() as up:
        await up.asterisk.wait_ready()

        async def application_ready() -> bool:
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(f"http://127.0.0.1:{up.api_port}/readyz") as answer,
                ):
                    return answer.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(application_ready, within=90, what="the application in compose")
        workdir = tmp_path / "sipp"
        workdir.mkdir()
        peers = SipPeers(up.asterisk, workdir)
        try:
            await peers.position("sdis77-op1", "answer", ring_ms=200)
            call = await peers.call("77288", caller="0622222222", hold_s=4)
            assert await call.wait(60) == 0, call.output()
        finally:
            peers.stop()
        dsn = f"postgresql://ari_app:{PG_PASSWORD}@127.0.0.1:{up.pg_port}/ari_app"

        def answered() -> bool:
            with psycopg.connect(dsn) as conn:
                row = conn.execute(
                    "SELECT position, outcome FROM journal_entries"
                    " WHERE kind = 'ended' AND caller = '0622222222'"
                ).fetchone()
            return row == ("sdis77-op1", "answered")

        await eventually(answered, within=20, what="the answered call in the journal")


async def test_compose_two_nodes_profile_answers_calls_on_the_second_node(tmp_path: Path) -> None:
    with platform(two_nodes=True) as up:
        assert up.second is not None
        await up.asterisk.wait_ready()
        await up.second.wait_ready()

        async def both_nodes_up() -> bool:
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(f"http://127.0.0.1:{up.api_port}/readyz") as answer,
                ):
                    body = await answer.json()
                    return answer.status == 200 and body["nodes"] == {
                        "paris": "up",
                        "lyon": "up",
                    }
            except aiohttp.ClientError:
                return False

        await eventually(both_nodes_up, within=90, what="the application over both nodes")
        paris = SipPeers(up.asterisk, tmp_path / "paris")
        lyon = SipPeers(up.second, tmp_path / "lyon")
        for peers in (paris, lyon):
            peers.workdir.mkdir()
        try:
            await paris.position("sdis77-op1", "answer", ring_ms=200)
            await paris.register_also("sdis77-op1", lyon)
            call = await lyon.call("77288", caller="0633333333", hold_s=4)
            assert await call.wait(60) == 0, call.output()
        finally:
            paris.stop()
            lyon.stop()
        dsn = f"postgresql://ari_app:{PG_PASSWORD}@127.0.0.1:{up.pg_port}/ari_app"

        def answered_on_lyon() -> bool:
            with psycopg.connect(dsn) as conn:
                row = conn.execute(
                    "SELECT position, outcome, node FROM journal_entries"
                    " WHERE kind = 'ended' AND caller = '0633333333'"
                ).fetchone()
            return row == ("sdis77-op1", "answered", "lyon")

        await eventually(answered_on_lyon, within=20, what="the call answered on lyon, journaled")
