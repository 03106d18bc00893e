"""``ari-app run`` as an operator starts it: against an Asterisk (the emulator) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from ari_app.sim import Answer, Emulator
from ari_app.vcta import load_topology
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "ari_app" / "examples" / "sdis77.toml"
USER, PASSWORD = "ari-app", "s3cret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(env: dict[str, str], *argv: str) -> str:
    """Run an ``ari-app`` command to completion; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "ari_app", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextlib.asynccontextmanager
async def emulator(script: Answer | None = None) -> AsyncIterator[Emulator]:
    """The emulator with every position of the example answering as ``script`` says (by
    default at once, for half a second)."""
    emu = Emulator(users={USER: PASSWORD}, app="vcta")
    for position in load_topology(EXAMPLE).position_by_id.values():
        emu.add_endpoint(
            position.endpoint.split("/", 1)[1], script=script or Answer(0.2, talk_s=0.5)
        )
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@contextlib.asynccontextmanager
async def application(env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ari_app",
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 15)
        if process.returncode is None:
            process.kill()
            await process.wait()


async def ready(session: aiohttp.ClientSession, api: str, process: Any) -> None:
    """Wait until /readyz says the application is connected and in step with Asterisk."""
    async with asyncio.timeout(20):
        while True:
            if process.returncode is not None:
                output = (await process.stdout.read()).decode()
                raise AssertionError(f"ari-app run exited {process.returncode}:\n{output}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{api}/readyz") as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.1)  # sync-ok: polling a server that is starting


def environment(emu: Emulator, dsn: str, tmp_path: Path, api_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "ARI_APP_ARI_URL": emu.base_url,
        "ARI_APP_ARI_USER": USER,
        "ARI_APP_ARI_PASSWORD": PASSWORD,
        "ARI_APP_DATABASE_DSN": dsn,
        "ARI_APP_API_PORT": str(api_port),
        "ARI_APP_API_URL": f"http://127.0.0.1:{api_port}",
        "ARI_APP_TOPOLOGY_PATH": str(EXAMPLE),
        "ARI_APP_SPOOL_PATH": str(tmp_path / "var" / "journal.spool"),
        "ARI_APP_WRAP_UP_S": "0",
    }


async def test_run_takes_calls_follows_a_duty_officer_and_keeps_the_journal(
    pg_dsn: str, tmp_path: Path
) -> None:
    port = free_port()
    async with emulator() as emu, aiohttp.ClientSession() as session:
        env = environment(emu, pg_dsn, tmp_path, port)
        cli(env, "topology", "import", str(EXAMPLE))
        token = json.loads(
            cli(env, "token", "create", "--name", "CODIS 77", "--scope", "centre:sdis77", "--json")
        )["token"]
        env["ARI_APP_API_TOKEN"] = token
        async with application(env) as process:
            await ready(session, f"http://127.0.0.1:{port}", process)
            # The duty officer of Seine-et-Marne diverts the centre (the CLI, over the API).
            out = await asyncio.to_thread(
                cli, env, "divert", "sdis77", "--to", "sdis91", "--reason", "evacuation"
            )
            assert "sdis77 diverted to sdis91" in out
            caller = await emu.place_call(routing_key="77288", number="0612345678")
            await wait_until(
                lambda: (r := emu.call(caller.channel_id)) is not None and r.ended,
                within=15,
                what="the call to be answered and end",
            )
            record = emu.call(caller.channel_id)
            assert record is not None
            assert record.first_talk_endpoint is not None
            assert record.first_talk_endpoint.startswith("sdis91-op")
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 15) == 0
    with psycopg.connect(pg_dsn) as conn:
        kinds = [
            row[0]
            for row in conn.execute(
                "SELECT kind FROM journal_entries WHERE call_id = %s ORDER BY id",
                (caller.channel_id,),
            )
        ]
        audit = conn.execute("SELECT actor, what, reason FROM mode_changes").fetchall()
    assert kinds[0] == "arrived"
    assert kinds[-1] == "ended"
    assert "connected" in kinds
    assert ("CODIS 77", "diverted_to", "evacuation") in audit


async def test_run_takes_calls_while_postgresql_is_unreachable(tmp_path: Path) -> None:
    port = free_port()
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    async with emulator() as emu, aiohttp.ClientSession() as session:
        env = environment(emu, unreachable, tmp_path, port)
        async with application(env) as process:
            await ready(session, f"http://127.0.0.1:{port}", process)
            caller = await emu.place_call(routing_key="18", number="0612345678")
            await wait_until(
                lambda: (r := emu.call(caller.channel_id)) is not None and r.ended,
                within=15,
                what="the call to be answered and end",
            )
            record = emu.call(caller.channel_id)
            assert record is not None
            assert record.talked
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 20) == 0
    spooled = (tmp_path / "var" / "journal.spool").read_text().splitlines()
    assert any(caller.channel_id in line and '"ended"' in line for line in spooled)


async def readyz(session: aiohttp.ClientSession, api: str) -> tuple[int, Any]:
    with contextlib.suppress(aiohttp.ClientError):
        async with session.get(f"{api}/readyz") as answer:
            return answer.status, await answer.json()
    return 0, None


async def stopped_output(process: asyncio.subprocess.Process) -> list[str]:
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 20)
    assert process.stdout is not None
    return (await process.stdout.read()).decode().splitlines()


async def test_run_without_postgresql_is_ready_promptly_and_says_what_works_in_part(
    tmp_path: Path,
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    db_port = free_port()
    unreachable = f"postgresql://postgres@127.0.0.1:{db_port}/nowhere"
    async with emulator() as emu, aiohttp.ClientSession() as session:
        env = environment(emu, unreachable, tmp_path, port)
        started = asyncio.get_running_loop().time()
        async with application(env) as process:
            await ready(session, api, process)
            # It took ~15 s: the pool's 5 s of retries, then 10 s waiting for the journal.
            assert asyncio.get_running_loop().time() - started < 6
            status, body = await readyz(session, api)
            assert status == 200
            assert body["problems"]["database"].startswith(
                f"PostgreSQL at 127.0.0.1:{db_port}/nowhere is unreachable: calls are taken"
            )
            async with session.get(f"{api}/metrics") as answer:
                metrics = await answer.text()
            assert 'ari_app_dependency_problem{dependency="database"} 1.0' in metrics
            assert 'ari_app_dependency_problem{dependency="asterisk"} 0.0' in metrics
            output = await stopped_output(process)
    assert "" not in output  # libpq's trailing newlines made blank lines


async def test_run_with_refused_ari_credentials_says_so_once_and_in_readyz(
    pg_dsn: str, tmp_path: Path
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    async with emulator() as emu, aiohttp.ClientSession() as session:
        env = {**environment(emu, pg_dsn, tmp_path, port), "ARI_APP_ARI_PASSWORD": "wrong"}
        async with application(env) as process:
            sentence = (
                "Asterisk refused the ARI credentials (HTTP 401): check ARI_APP_ARI_USER and "
                "ARI_APP_ARI_PASSWORD against ari.conf"
            )
            async with asyncio.timeout(20):
                while True:
                    answer = await readyz(session, api)
                    if answer[0] == 503 and any(
                        d["location"] == "asterisk" for d in answer[1]["details"]
                    ):
                        break
                    await asyncio.sleep(0.1)  # sync-ok: polling a server that is starting
            assert answer[1]["message"] == f"not connected to Asterisk: {sentence}"
            async with session.get(f"{api}/metrics") as metrics:
                assert 'ari_app_dependency_problem{dependency="asterisk"} 1.0' in (
                    await metrics.text()
                )
            output = await stopped_output(process)
    said = [line for line in output if sentence in line]
    assert len(said) == 1, output
    assert " ERROR ari_app.diagnosis " in said[0]
    stream_warnings = [line for line in output if "connection attempt failed" in line]
    assert len(stream_warnings) <= 1, output


async def test_run_with_an_unparsable_dsn_says_so_once_and_in_readyz(tmp_path: Path) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    async with emulator() as emu, aiohttp.ClientSession() as session:
        env = environment(emu, "not a connection string", tmp_path, port)
        async with application(env) as process:
            await ready(session, api, process)
            status, body = await readyz(session, api)
            assert status == 200
            assert body["problems"]["database"] == (
                'ARI_APP_DATABASE_DSN cannot be parsed (missing "=" after "not" in '
                "connection info string): calls are taken without PostgreSQL until it is "
                "corrected and the application restarted"
            )
            output = await stopped_output(process)
    assert sum("ARI_APP_DATABASE_DSN cannot be parsed" in line for line in output) == 1
    assert sum("psycopg.pool" in line for line in output) <= 1, output


def test_run_with_a_missing_topology_file_says_so_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ARI_APP_DATABASE_DSN": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
        "ARI_APP_TOPOLOGY_PATH": str(tmp_path / "missing.toml"),
        "ARI_APP_SPOOL_PATH": str(tmp_path / "var" / "journal.spool"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ari_app", "run"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ari-app run:")
    assert "missing.toml" in last
    assert "Traceback" not in done.stderr
