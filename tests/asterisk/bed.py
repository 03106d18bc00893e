"""The real-Asterisk test bed: Asterisk 22 and PostgreSQL in containers, sipp as carrier and
operator positions, ``ari-app run`` as an operator starts it.

Everything runs on the host network and binds 127.0.0.1. Every port is chosen free at start,
so several beds may run on one machine. Containers are started with testcontainers (its
reaper image cannot be pulled here, so it is disabled and the fixtures remove what they
start).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from tests import waiting

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

ROOT = Path(__file__).resolve().parents[2]
SIPP_DIR = Path(__file__).resolve().parent / "sipp"
EXAMPLE = ROOT / "ari_app" / "examples" / "sdis77.toml"
ARI_USER = "ari-app"
ARI_PASSWORD = "test-ari-secret"
POSITION_PASSWORD = "test-position-secret"
PG_PASSWORD = "test-pg-secret"
APP_NAME = "vcta"
CALLER = "0612345678"
# The address sipp sends from and listens on: the carrier's identify and the positions'
# contacts are this address (another one only for a deployment under test, see
# docs/asterisk.md).
LOCAL_IP = os.environ.get("ARI_APP_BED_LOCAL_IP", "127.0.0.1")


# -- the engine and the images ------------------------------------------------------------


def docker_client() -> Any:
    """A Docker client, or skip saying why there is none."""
    unavailable = os.environ.get("ARI_APP_BED_UNAVAILABLE")
    if unavailable:  # scripts/test tried to make the bed ready and said why it could not
        pytest.skip(f"no real-Asterisk test bed: {unavailable}")
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        pytest.skip("no Docker engine: DOCKER_HOST unset and /var/run/docker.sock absent")
    docker: Any = importlib.import_module("docker")  # only where an engine may exist

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as error:  # the engine's absence takes many shapes
        pytest.skip(f"no Docker engine reachable: {error}")
    return client


def image(name: str) -> str:
    """The tag ``scripts/images`` gives ``name`` for the current inputs; skip when absent."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "images"), "--print"],
        capture_output=True,
        text=True,
        check=True,
    )
    tags = dict(line.split("=", 1) for line in done.stdout.split())
    tag = tags[name]
    client = docker_client()
    try:
        client.images.get(tag)
    except Exception:
        pytest.skip(f"image {tag} is not built: run scripts/images")
    return tag


# -- ports --------------------------------------------------------------------------------


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# UDP ports handed out already: a carrier's source port or an RTP range is bound only once a
# call uses it, so "free now" alone could give it again to a phone or another node.
_HANDED_OUT: set[int] = set()


def free_udp_ports(count: int) -> list[int]:
    """``count`` UDP ports free now (each also free for TCP, for SIP over either)."""
    ports: set[int] = set()
    while len(ports) < count:
        port = free_port(socket.SOCK_DGRAM)
        if port in _HANDED_OUT:
            continue
        with contextlib.suppress(OSError), socket.socket() as tcp:
            tcp.bind(("127.0.0.1", port))
            ports.add(port)
    _HANDED_OUT.update(ports)
    return sorted(ports)


# The carriers' source ports, bound here until a call is placed from one: Asterisk accepts
# calls from those ports only, and any other process could take one meanwhile.
_HELD: dict[int, socket.socket] = {}


def hold_ports(ports: list[int]) -> None:
    for port in ports:
        if port in _HELD:
            continue
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue  # taken already: the call from it will say so
        _HELD[port] = sock


def let_go(port: int) -> None:
    held = _HELD.pop(port, None)
    if held is not None:
        held.close()


def free_udp_block(size: int) -> int:
    """The first port of ``size`` consecutive UDP ports free now (for RTP)."""
    for _ in range(200):
        start = random.randrange(20000, 60000 - size, 2)
        if not _HANDED_OUT.isdisjoint(range(start, start + size)):
            continue
        try:
            with contextlib.ExitStack() as stack:
                for port in range(start, start + size):
                    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        _HANDED_OUT.update(range(start, start + size))
        return start
    raise RuntimeError(f"no block of {size} free UDP ports")


# -- waiting ------------------------------------------------------------------------------


async def eventually(
    probe: Callable[[], Any], *, within: float = 10.0, what: str = "the condition"
) -> Any:
    """Await ``probe()`` (sync or async) until it returns something truthy; return it.

    Fails naming ``what`` after ``within`` seconds. The interval only paces the polling of
    a system that tells us nothing (Asterisk's REST state, a database)."""
    return await waiting.wait_until(probe, within=within, what=what, interval=0.1)


# -- Asterisk -----------------------------------------------------------------------------


@dataclass
class AsteriskNode:
    """One Asterisk 22 container and what the tests ask it."""

    container: Any  # None for a deployed Asterisk the tests do not run
    http_port: int
    sip_port: int
    carrier_ports: list[int]
    rtp_start: int
    rtp_end: int
    host: str = "127.0.0.1"
    ari_password: str = ARI_PASSWORD
    position_password: str = POSITION_PASSWORD
    system_name: str = ""  # asterisk.conf's systemname, prefixed to channel ids

    @property
    def ari_url(self) -> str:
        return f"http://{self.host}:{self.http_port}/ari"

    def docker(self) -> Any:
        if self.container is None:
            pytest.skip("this test needs an Asterisk container of its own (not a deployment)")
        return self.container.get_wrapped_container()

    def _session(self) -> aiohttp.ClientSession:
        basic = base64.b64encode(f"{ARI_USER}:{self.ari_password}".encode()).decode()
        return aiohttp.ClientSession(headers={"Authorization": f"Basic {basic}"})

    async def ari(self, method: str, path: str, **params: Any) -> Any:
        """One ARI request as a test makes it (never through the application's client)."""
        async with (
            self._session() as session,
            session.request(method, f"{self.ari_url}{path}", params=params) as answer,
        ):
            text = await answer.text()
            if answer.status >= 400:
                raise AssertionError(f"{method} {path}: {answer.status} {text}")
            return json.loads(text) if text else None

    async def channels(self) -> list[dict[str, Any]]:
        return list(await self.ari("GET", "/channels"))

    async def bridges(self) -> list[dict[str, Any]]:
        return list(await self.ari("GET", "/bridges"))

    async def endpoint(self, resource: str) -> dict[str, Any]:
        return dict(await self.ari("GET", f"/endpoints/PJSIP/{resource}"))

    async def stored_recordings(self) -> list[str]:
        return [r["name"] for r in await self.ari("GET", "/recordings/stored")]

    def cli(self, command: str) -> str:
        """An Asterisk CLI command, as an administrator would type it."""
        code, output = self.docker().exec_run(["asterisk", "-rx", command])
        text = output.decode(errors="replace")
        assert code == 0, f"asterisk -rx {command!r}: {text}"
        return str(text)

    def file_size(self, path: str) -> int | None:
        code, output = self.docker().exec_run(["stat", "-c", "%s", path])
        return int(output) if code == 0 else None

    async def recording_file(self, name: str) -> bytes:
        """A stored recording's audio, as ARI serves it (works on a deployment too)."""
        url = f"{self.ari_url}/recordings/stored/{name}/file"
        async with (
            self._session() as session,
            session.get(url) as answer,
        ):
            assert answer.status == 200, f"GET {url}: {answer.status}"
            return await answer.read()

    def logs(self) -> str:
        return str(self.docker().logs().decode(errors="replace"))

    async def wait_ready(self, within: float = 60.0) -> None:
        async def probe() -> bool:
            try:
                await self.ari("GET", "/asterisk/info")
            except (aiohttp.ClientError, AssertionError):
                return False
            # PJSIP is loaded once the endpoints answer.
            try:
                await self.ari("GET", "/endpoints/PJSIP")
            except AssertionError:
                return False
            return True

        try:
            await eventually(probe, within=within, what="Asterisk's ARI to answer")
        except AssertionError:
            raise AssertionError(f"Asterisk did not start:\n{self.logs()[-4000:]}") from None

    async def restart(self) -> None:
        """Asterisk stopped and started again (its calls are gone)."""
        await asyncio.to_thread(self.docker().restart, timeout=10)
        await self.wait_ready()

    async def kill(self) -> None:
        """The node lost at once, as with its host or datacentre: no BYE, no last event."""
        await asyncio.to_thread(self.docker().kill)

    async def start(self) -> None:
        """A killed node started again: none of its calls are left."""
        await asyncio.to_thread(self.docker().start)
        await self.wait_ready()


@dataclass
class SdkContainer:
    """A container made with the Docker SDK, shaped like testcontainers' for AsteriskNode."""

    wrapped: Any

    def get_wrapped_container(self) -> Any:
        return self.wrapped


def _free_node(carriers: int, rtp_ports: int = 400) -> AsteriskNode:
    """An Asterisk-to-be on free ports, without its container yet."""
    http_port = free_port()
    sip_port, *carrier_ports = free_udp_ports(1 + carriers)
    hold_ports(carrier_ports)
    rtp_start = free_udp_block(rtp_ports)
    return AsteriskNode(
        None, http_port, sip_port, carrier_ports, rtp_start, rtp_start + rtp_ports - 1
    )


def container_env(node: AsteriskNode) -> dict[str, str]:
    """What docker/asterisk/entrypoint.sh is given for ``node``'s ports and secrets."""
    return {
        "ARI_PASSWORD": node.ari_password,
        "POSITION_PASSWORD": node.position_password,
        "HTTP_PORT": str(node.http_port),
        "SIP_PORT": str(node.sip_port),
        "RTP_START": str(node.rtp_start),
        "RTP_END": str(node.rtp_end),
        "CARRIER": " ".join(f"127.0.0.1:{port}" for port in node.carrier_ports),
        **({"SYSTEM_NAME": node.system_name} if node.system_name else {}),
    }


@contextlib.contextmanager
def start_asterisk(tag: str, carriers: int = 4, system_name: str = "") -> Iterator[AsteriskNode]:
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415

    node = _free_node(carriers)
    node.system_name = system_name
    container = DockerContainer(tag).with_kwargs(network_mode="host")
    for name, value in container_env(node).items():
        container = container.with_env(name, value)
    container.start()
    node.container = container
    try:
        yield node
    finally:
        with contextlib.suppress(Exception):
            container.get_wrapped_container().remove(force=True)


# -- PostgreSQL ---------------------------------------------------------------------------


@dataclass
class PostgresNode:
    container: Any
    port: int

    def dsn(self, database: str = "ari_app") -> str:
        return f"postgresql://ari_app:{PG_PASSWORD}@127.0.0.1:{self.port}/{database}"

    def docker(self) -> Any:
        return self.container.get_wrapped_container()

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.dsn(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    async def wait_ready(self, within: float = 60.0) -> None:
        await eventually(
            lambda: asyncio.to_thread(self.ready), within=within, what="PostgreSQL to answer"
        )

    def new_database(self, name: str) -> str:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    async def stop(self) -> None:
        await asyncio.to_thread(self.docker().stop, timeout=10)

    async def start(self) -> None:
        await asyncio.to_thread(self.docker().start)
        await self.wait_ready()


@contextlib.contextmanager
def start_postgres(tag: str) -> Iterator[PostgresNode]:
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415

    port = free_port()
    container = (
        DockerContainer(tag)
        .with_kwargs(network_mode="host")
        .with_env("POSTGRES_PASSWORD", PG_PASSWORD)
        .with_env("PGPORT", str(port))
    )
    container.start()
    try:
        yield PostgresNode(container, port)
    finally:
        with contextlib.suppress(Exception):
            container.get_wrapped_container().remove(force=True, v=True)


# -- sipp ---------------------------------------------------------------------------------


def sipp_binary() -> str:
    found = shutil.which("sipp")
    if found is None:
        pytest.skip("sipp is not installed (Debian package sip-tester)")
    return found


@dataclass
class SippProcess:
    argv: list[str]
    process: subprocess.Popen[bytes]
    log: Path

    def running(self) -> bool:
        return self.process.poll() is None

    async def wait(self, within: float = 60.0) -> int:
        return await asyncio.wait_for(asyncio.to_thread(self.process.wait), within)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Position:
    """A sipp operator position registered to Asterisk."""

    name: str
    behaviour: str
    port: int
    uas: SippProcess | None = None


@dataclass
class SipPeers:
    """The carrier and the operator positions, all sipp processes on 127.0.0.1."""

    asterisk: AsteriskNode
    workdir: Path
    processes: list[SippProcess] = field(default_factory=list)
    positions: dict[str, Position] = field(default_factory=dict)
    _carrier_free: asyncio.Queue[int] | None = None
    _count: int = 0

    def _scenario(self, name: str, **fill: str) -> Path:
        text = (SIPP_DIR / name).read_text()
        for key, value in fill.items():
            text = text.replace(key, value)
        self._count += 1
        path = self.workdir / f"{self._count:03d}-{name}"
        path.write_text(text)
        return path

    def _spawn(self, argv: list[str]) -> SippProcess:
        self._count += 1
        log = self.workdir / f"{self._count:03d}-sipp.log"
        full = [sipp_binary(), *argv, "-nostdin", "-trace_err", "-error_file", str(log)]
        process = subprocess.Popen(
            full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.workdir
        )
        handle = SippProcess(full, process, log)
        self.processes.append(handle)
        return handle

    def _target(self) -> str:
        return f"{self.asterisk.host}:{self.asterisk.sip_port}"

    async def register(self, name: str, port: int, *, expires: int = 3600) -> None:
        """REGISTER ``name`` with its contact at ``port`` (from that port: rewrite_contact)."""
        sipp = self._spawn(
            [
                self._target(),
                "-sf",
                str(SIPP_DIR / "op-register.xml"),
                "-i",
                LOCAL_IP,
                "-p",
                str(port),
                "-s",
                name,
                "-au",
                name,
                "-ap",
                self.asterisk.position_password,
                "-key",
                "contact_port",
                str(port),
                "-key",
                "expires",
                str(expires),
                "-m",
                "1",
                "-timeout",
                "10s",
                "-timeout_error",
            ]
        )
        code = await sipp.wait(20)
        assert code == 0, f"REGISTER of {name} failed ({code}): {sipp.output()}"

    async def position(
        self,
        name: str,
        behaviour: str = "answer",
        *,
        ring_ms: int = 500,
        talk_ms: int = 4000,
        register: bool = True,
    ) -> Position:
        """Start an operator position: ``answer`` (echoes RTP, waits for the BYE), ``busy``
        (486), ``noanswer`` (rings until cancelled), ``hangup`` (answers, hangs up after
        ``talk_ms``), or ``unregistered`` (nothing runs). ``ring_ms`` is the ring time before
        answering (a long one is an operator who answers late)."""
        port = free_udp_ports(1)[0]
        position = Position(name, behaviour, port)
        self.positions[name] = position
        if behaviour == "unregistered":
            return position
        if register:
            await self.register(name, port)
        scenarios = {
            "answer": lambda: SIPP_DIR / "op-answer.xml",
            "busy": lambda: SIPP_DIR / "op-busy.xml",
            "noanswer": lambda: SIPP_DIR / "op-noanswer.xml",
            "hangup": lambda: self._scenario("op-answer-hangup.xml", TALK_MS=str(talk_ms)),
        }
        media_port = free_udp_block(4)
        position.uas = self._spawn(
            [
                "-sf",
                str(scenarios[behaviour]()),
                "-i",
                LOCAL_IP,
                "-p",
                str(port),
                "-mi",
                LOCAL_IP,
                "-mp",
                str(media_port),
                "-rtp_echo",
                "-aa",
                "-d",
                str(ring_ms),
            ]
        )
        return position

    async def register_also(self, name: str, *others: SipPeers) -> None:
        """Register the running position ``name`` to the nodes of ``others`` too (each phone
        of a two-node platform registers to both). The REGISTER goes out from the phone's
        own port, so its sipp is stopped for it and started again (its calls are dropped)."""
        position = self.positions[name]
        argv = position.uas.argv if position.uas is not None else None
        if position.uas is not None:
            position.uas.stop()
        for peers in others:
            await peers.register(name, position.port)
        if argv is not None:
            position.uas = self._spawn(argv[1 : argv.index("-nostdin")])

    async def unregister(self, name: str) -> None:
        position = self.positions[name]
        if position.uas is not None:
            position.uas.stop()
            position.uas = None
        await self.register(name, position.port, expires=0)

    async def call(
        self,
        routing_key: str = "18",
        *,
        caller: str = CALLER,
        dialled: str = "18",
        hold_s: float = 600.0,
        dtmf: bool = False,
    ) -> SippProcess:
        """The carrier places one call; the caller hangs up after ``hold_s`` unless Asterisk
        hangs up first. Returns the sipp process (exit 0: the call went as scripted)."""
        if self._carrier_free is None:
            self._carrier_free = asyncio.Queue()
            for port in self.asterisk.carrier_ports:
                self._carrier_free.put_nowait(port)
        port = await asyncio.wait_for(self._carrier_free.get(), 120)
        dtmf_action = (
            '  <pause milliseconds="1500"/>\n  <nop><action>'
            f'<exec play_pcap_audio="{SIPP_DIR / "dtmf-18-hash.pcap"}"/>'
            "</action></nop>\n"
            if dtmf
            else ""
        )
        scenario = self._scenario(
            "carrier-call.xml", HOLD_MS=str(int(hold_s * 1000)), DTMF_ACTION=dtmf_action
        )
        media_port = free_udp_block(4)
        let_go(port)
        sipp = self._spawn(
            [
                self._target(),
                "-sf",
                str(scenario),
                "-i",
                LOCAL_IP,
                "-p",
                str(port),
                "-mi",
                LOCAL_IP,
                "-mp",
                str(media_port),
                "-s",
                dialled,
                "-key",
                "caller",
                caller,
                "-key",
                "routing_key",
                routing_key,
                "-m",
                "1",
                "-aa",
            ]
        )
        free = self._carrier_free

        async def release() -> None:
            with contextlib.suppress(Exception):
                await sipp.wait(hold_s + 600)
            hold_ports([port])
            free.put_nowait(port)

        task = asyncio.get_running_loop().create_task(release(), name=f"carrier:{port}")
        _RELEASES.add(task)
        task.add_done_callback(_RELEASES.discard)
        return sipp

    def stop(self) -> None:
        for sipp in self.processes:
            sipp.stop()


_RELEASES: set[asyncio.Task[None]] = set()


# -- the application ----------------------------------------------------------------------


@dataclass
class Application:
    """``ari-app run`` in a process of its own, as an operator starts it."""

    env: dict[str, str]
    api_port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def cli(self, *argv: str, check: bool = True) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ari_app", *argv],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if check:
            assert done.returncode == 0, f"ari-app {' '.join(argv)}: {done.stderr}"
        return done.stdout

    async def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        log = self.log_path.open("ab")
        # Popen returns at once: the process runs beside the test's loop.
        self.process = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "ari_app", "run"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        await self.wait_ready()

    async def wait_ready(self, within: float = 30.0) -> None:
        async def probe() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"ari-app run exited {self.process.returncode}:\n{self.logs()}"
                )
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(f"{self.api}/readyz") as answer,
                ):
                    return answer.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(probe, within=within, what="ari-app run to be ready")

    def kill(self) -> None:
        """SIGKILL: the process dies without a word, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def status(self) -> Any:
        token = self.env.get("ARI_APP_API_TOKEN", "")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.get(f"{self.api}/api/v1/units") as answer,
        ):
            assert answer.status == 200, await answer.text()
            return await answer.json()


def application_env(
    asterisk: AsteriskNode, dsn: str, tmp_path: Path, api_port: int, **settings: str
) -> dict[str, str]:
    env = {
        **os.environ,
        "ARI_APP_ARI_URL": asterisk.ari_url,
        "ARI_APP_ARI_USER": ARI_USER,
        "ARI_APP_ARI_PASSWORD": asterisk.ari_password,
        "ARI_APP_APP_NAME": APP_NAME,
        "ARI_APP_DATABASE_DSN": dsn,
        "ARI_APP_API_PORT": str(api_port),
        "ARI_APP_API_URL": f"http://127.0.0.1:{api_port}",
        "ARI_APP_TOPOLOGY_PATH": str(EXAMPLE),
        "ARI_APP_SPOOL_PATH": str(tmp_path / "var" / "journal.spool"),
        "ARI_APP_RING_TIMEOUT_S": "6",
        "ARI_APP_WRAP_UP_S": "1",
        "ARI_APP_LOG_LEVEL": "INFO",
    }
    env.update({f"ARI_APP_{key.upper()}": value for key, value in settings.items()})
    return env


# -- the journal --------------------------------------------------------------------------


def journal(dsn: str, call_id: str | None = None) -> list[dict[str, Any]]:
    """Journal rows (of one call, or all), oldest first."""
    query = "SELECT * FROM journal_entries"
    params: tuple[str, ...] = ()
    if call_id is not None:
        query += " WHERE call_id = %s"
        params = (call_id,)
    with psycopg.connect(dsn, row_factory=psycopg.rows.dict_row) as conn:
        return list(conn.execute(query + " ORDER BY id", params))


def kinds(rows: list[dict[str, Any]]) -> list[str]:
    return [str(row["kind"]) for row in rows]


def assert_whole_record(rows: list[dict[str, Any]]) -> None:
    """From arrival to end, once each, nothing after the end, no row twice."""
    assert kinds(rows)[0] == "arrived", kinds(rows)
    assert kinds(rows).count("arrived") == 1, kinds(rows)
    assert kinds(rows).count("ended") == 1, kinds(rows)
    assert kinds(rows)[-1] == "ended", kinds(rows)
    assert len({row["entry_id"] for row in rows}) == len(rows), kinds(rows)


def whole_record(dsn: str, call_id: str) -> list[dict[str, Any]] | None:
    """The call's rows once it ended (None before), held to ``assert_whole_record``."""
    rows = journal(dsn, call_id)
    if not rows or rows[-1]["kind"] != "ended":
        return None
    assert_whole_record(rows)
    return rows


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    await app.start()
    try:
        yield app
    finally:
        app.stop()


def deployed_asterisk() -> AsteriskNode | None:
    """The deployed Asterisk the environment names (docs/asterisk.md), else None."""
    url = os.environ.get("ARI_APP_BED_ARI_URL")
    if not url:
        return None
    parsed = urllib.parse.urlsplit(url)
    sip_host, _, sip_port = os.environ["ARI_APP_BED_SIP"].rpartition(":")
    carriers = [int(p) for p in os.environ["ARI_APP_BED_CARRIER_PORTS"].split(",")]
    if parsed.hostname != sip_host:
        raise AssertionError("ARI_APP_BED_ARI_URL and ARI_APP_BED_SIP name different hosts")
    return AsteriskNode(
        None,
        parsed.port or 8088,
        int(sip_port),
        carriers,
        0,
        0,
        host=sip_host,
        ari_password=os.environ["ARI_APP_BED_ARI_PASSWORD"],
        position_password=os.environ["ARI_APP_BED_POSITION_PASSWORD"],
    )


# -- what Asterisk reports ----------------------------------------------------------------


async def nothing_left(asterisk: AsteriskNode) -> bool:
    """No channel and no bridge at all in Asterisk."""
    return not await asterisk.channels() and not await asterisk.bridges()


async def talk_partner(asterisk: AsteriskNode, call_id: str) -> str | None:
    """The endpoint (``PJSIP/sdis77-op1``) in the call's talk bridge with the caller, as
    Asterisk reports it; None unless exactly those two channels are in it (ARI does not
    list the bridge's recorder)."""
    bridge = next(
        (b for b in await asterisk.bridges() if b["id"] == f"{APP_NAME}-talk-{call_id}"), None
    )
    if bridge is None or len(bridge["channels"]) != 2 or call_id not in bridge["channels"]:
        return None
    other = next(c for c in bridge["channels"] if c != call_id)
    names = {c["id"]: str(c["name"]) for c in await asterisk.channels()}
    return names[other].rsplit("-", 1)[0] if other in names else None


async def in_holding_bridge(asterisk: AsteriskNode, call_id: str) -> bool:
    """The caller is in the call's holding bridge (waiting), as Asterisk reports it."""
    return any(
        b["id"] == f"{APP_NAME}-wait-{call_id}" and call_id in b["channels"]
        for b in await asterisk.bridges()
    )


class AriObserver:
    """Every event Asterisk reports (channels, bridges, endpoints, playbacks), as seen by an
    ARI application of its own subscribed to everything: what Asterisk did, in its order,
    whatever the application under test believes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()

    def seen(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [event for event in self.events if predicate(event)]

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return self.seen(lambda event: event.get("type") in types)

    def channel_names(self, prefix: str = "") -> list[str]:
        """Names of the channels Asterisk created, in order (``PJSIP/sdis77-op1-00000002``)."""
        return [
            str(event["channel"]["name"])
            for event in self.of_type("ChannelCreated")
            if str(event["channel"]["name"]).startswith(prefix)
        ]

    async def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        within: float = 10.0,
        what: str = "the event",
    ) -> dict[str, Any]:
        """The first event, already seen or still to come, that matches ``predicate``."""
        deadline = time.monotonic() + within
        checked = 0
        while True:
            for event in self.events[checked:]:
                if predicate(event):
                    return event
            checked = len(self.events)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no event after {within:g} s: {what}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for message in socket:
            if message.type is aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(message.data))
                self._arrived.set()


@contextlib.asynccontextmanager
async def observe(asterisk: AsteriskNode) -> AsyncIterator[AriObserver]:
    """An ``AriObserver`` connected to ``asterisk`` for the time of the block; its name is
    unique, so that several tests (or beds) may observe one Asterisk."""
    name = f"observer-{os.getpid()}-{random.randrange(1 << 32):08x}"
    observer = AriObserver(name)
    params = {
        "app": name,
        "subscribeAll": "true",
        "api_key": f"{ARI_USER}:{asterisk.ari_password}",
    }
    url = f"ws://{asterisk.host}:{asterisk.http_port}/ari/events"
    async with aiohttp.ClientSession() as session, session.ws_connect(url, params=params) as ws:
        reader = asyncio.get_running_loop().create_task(observer._read(ws), name=f"ari:{name}")
        try:
            # Events are delivered once Asterisk lists the application.
            await eventually(
                lambda: _application_listed(asterisk, name), what=f"ARI application {name}"
            )
            yield observer
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _application_listed(asterisk: AsteriskNode, name: str) -> bool:
    return any(app["name"] == name for app in await asterisk.ari("GET", "/applications"))


# -- more of the peers --------------------------------------------------------------------


def trace_sip(peers: SipPeers, position: Position) -> Path:
    """Run ``position``'s sipp again, on the same port, writing every SIP message it sends
    and receives to the file returned (what the phone itself saw: a CANCEL, a BYE)."""
    assert position.uas is not None, f"{position.name} runs no sipp"
    argv = position.uas.argv
    position.uas.stop()
    messages = peers.workdir / f"{position.name}-messages.log"
    log = peers.workdir / f"{position.name}-traced-sipp.log"
    full = [*argv[: argv.index("-error_file")], "-error_file", str(log)]
    full += ["-trace_msg", "-message_file", str(messages)]
    process = subprocess.Popen(
        full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=peers.workdir
    )
    position.uas = SippProcess(full, process, log)
    peers.processes.append(position.uas)
    return messages


def sip_requests(messages: Path, method: str) -> int:
    """How many ``method`` requests a traced sipp received (see ``trace_sip``)."""
    if not messages.exists():
        return 0
    text = messages.read_text(errors="replace")
    count = 0
    for block in text.split("message received")[1:]:
        # The block starts with the size line, then a blank line, then the request line.
        lines = [line for line in block.splitlines()[1:] if line.strip()]
        if lines and lines[0].startswith(f"{method} "):
            count += 1
    return count


async def unregister_all(peers: SipPeers) -> None:
    """Unregister every position these peers registered: the next test on the same Asterisk
    starts with every position offline."""
    for name, position in list(peers.positions.items()):
        if position.behaviour != "unregistered":
            with contextlib.suppress(AssertionError, TimeoutError):
                await peers.unregister(name)


# -- more of the journal ------------------------------------------------------------------


async def ended_journal(dsn: str, call_id: str, within: float = 10.0) -> list[dict[str, Any]]:
    """The call's journal rows once its end is written."""

    def probe() -> list[dict[str, Any]] | None:
        rows = journal(dsn, call_id)
        return rows if rows and rows[-1]["kind"] == "ended" else None

    found: list[dict[str, Any]] = await eventually(
        lambda: asyncio.to_thread(probe), within=within, what=f"the end of {call_id} journaled"
    )
    return found


def callbacks(dsn: str) -> list[dict[str, Any]]:
    """The callback list (abandoned calls), oldest hang-up first."""
    with psycopg.connect(dsn, row_factory=psycopg.rows.dict_row) as conn:
        return list(conn.execute("SELECT * FROM callbacks ORDER BY hung_up_at"))


def mode_changes(dsn: str) -> list[dict[str, Any]]:
    """The audit of the duty officers' changes (table mode_changes), oldest first."""
    with psycopg.connect(dsn, row_factory=psycopg.rows.dict_row) as conn:
        return list(conn.execute("SELECT * FROM mode_changes ORDER BY id"))


# -- the reference lab ----------------------------------------------------------------------

LAB_DIR = Path(__file__).resolve().parent / "lab"
LAB_USER, LAB_PASSWORD, LAB_APP = "ariuser", "ari-secret", "vcta-test"


def _lab_etc(carrier_port: int) -> bytes:
    """The lab configuration (tests/asterisk/lab/asterisk) as a tar for /etc/asterisk.

    The entrypoint writes the free ports into it like into asterisk/etc; what it does not
    know is filled here: the positions' password (the bed's sipp peers use theirs) and the
    carrier trunk's contact."""
    import io  # noqa: PLC0415
    import tarfile  # noqa: PLC0415

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted((LAB_DIR / "asterisk").glob("*.conf")):
            text = path.read_text()
            if path.name == "pjsip.conf":
                text = text.replace("password = op-secret", f"password = {POSITION_PASSWORD}")
                text = text.replace(
                    "contact = sip:carrier@127.0.0.1:5070",
                    f"contact = sip:carrier@127.0.0.1:{carrier_port}",
                )
            data = text.encode()
            info = tarfile.TarInfo(path.name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@contextlib.contextmanager
def start_lab_asterisk(tag: str, carriers: int = 4) -> Iterator[AsteriskNode]:
    """The Asterisk image with the reference lab's configuration instead of asterisk/etc
    (ARI user ``ariuser``, application ``vcta-test``), on free ports."""
    node = _free_node(carriers)
    # The entrypoint insists on both passwords; the lab's ari.conf has its own.
    created = docker_client().containers.create(
        tag, network_mode="host", environment=container_env(node), detach=True
    )
    try:
        created.put_archive("/etc/asterisk", _lab_etc(node.carrier_ports[0]))
        created.start()
        node.container = SdkContainer(created)
        yield node
    finally:
        with contextlib.suppress(Exception):
            created.remove(force=True)


# -- restarts and the dialplan fallback ---------------------------------------------------


async def caller_channel(
    asterisk: AsteriskNode, number: str, *, app: str | None = "Stasis", within: float = 10.0
) -> dict[str, Any]:
    """The caller's channel of the call from ``number`` (the call id is its id), once it
    runs ``app`` (None: wherever it is). Only the carrier's channel counts: operator legs and
    the fallback's Dial() carry the caller's number too."""

    async def probe() -> dict[str, Any] | None:
        for channel in await asterisk.channels():
            if (
                channel["caller"]["number"] == number
                and str(channel["name"]).startswith("PJSIP/carrier-")
                and (app is None or channel["dialplan"]["app_name"] == app)
            ):
                return channel
        return None

    found: dict[str, Any] = await eventually(
        probe, within=within, what=f"the call from {number} in {app or 'Asterisk'}"
    )
    return found


def read_token(app: Application) -> str:
    """A read-only API token, kept in the application's environment for ``status()``."""
    issued = json.loads(app.cli("token", "create", "--name", "test", "--scope", "read", "--json"))
    app.env["ARI_APP_API_TOKEN"] = str(issued["token"])
    return app.env["ARI_APP_API_TOKEN"]


async def position_statuses(app: Application) -> dict[str, str]:
    """Every position's status as the API shows it to duty officers (``ari-app status``)."""
    token = app.env.get("ARI_APP_API_TOKEN", "")
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        session.get(f"{app.api}/api/v1/positions") as answer,
    ):
        assert answer.status == 200, await answer.text()
        body = await answer.json()
    return {p["id"]: p["status"] for p in body["positions"]}


async def talking(asterisk: AsteriskNode, call_id: str) -> list[str]:
    """The channels of the call's talk bridge when caller and operator are both in it."""
    for bridge in await asterisk.bridges():
        if bridge["id"] == f"{APP_NAME}-talk-{call_id}" and len(bridge["channels"]) == 2:
            return list(bridge["channels"])
    return []


async def endpoint_channels(asterisk: AsteriskNode, resource: str) -> list[str]:
    return list((await asterisk.endpoint(resource))["channel_ids"])


async def readiness(app: Application) -> tuple[int, dict[str, Any]]:
    """``/readyz``'s status and body; (0, {}) while the API does not answer."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{app.api}/readyz") as answer,
        ):
            return answer.status, await answer.json()
    except aiohttp.ClientError:
        return 0, {}


async def app_get(app: Application, path: str) -> Any:
    """A GET of the application's API with the token ``read_token`` issued."""
    token = app.env.get("ARI_APP_API_TOKEN", "")
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        session.get(f"{app.api}{path}") as answer,
    ):
        assert answer.status == 200, await answer.text()
        return await answer.json()
