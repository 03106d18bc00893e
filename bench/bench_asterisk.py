"""Calls through a real Asterisk 22: ari-app against a minimal ARI application, Queue() and Dial().

    python bench/bench_asterisk.py [--modes app,reference,queue] [--rates 10,20,40]
        [--duration 30] [--hold 10] [--positions 2000] [--json] [--keep]

For each mode, a fresh Asterisk container (the image of scripts/images, on the host
network, bound to 127.0.0.1) with the project's asterisk/etc plus ``--positions`` operator
endpoints whose contact is one sipp that answers at once and echoes RTP. For each rate, one
after another on that Asterisk: a sipp carrier places ``rate`` calls per second for
``--duration`` seconds, each caller hanging up after ``--hold`` seconds. Modes:

- ``app``: ari-app as shipped (``ari-app run``, journal in PostgreSQL, every call recorded
  by the dialplan's MixMonitor); ``app-bridge``: recording the talk bridge over ARI
  instead (``ARI_APP_RECORDING=bridge``); ``app-unrecorded``: ``ARI_APP_RECORDING=off``;
- ``reference``: ``bench/reference_app.py``, the smallest ARI application doing the same
  connection; ``reference-recorded``: the same with ari-app's recording method (MixMonitor
  from the dialplan); ``reference-bridge``: recording the bridge over ARI;
- ``queue`` / ``queue-recorded``: ``Queue()`` over the same positions (rrmemory,
  ringinuse=no), recorded through MixMonitor as app_queue users record;
- ``dial``: ``Dial()`` to the positions in turn.

Per point: calls connected / planned, INVITE→200 and caller-to-operator connect (INVITE
sent to the position's ACK of its 200 OK) p50/p99, SIP retransmissions, CPU ms per call of
Asterisk and of the application, ARI events and REST requests per call (applications only),
and the channels and bridges left in Asterisk once the calls ended. A point is clean when
every call connected, connect p99 < 1 s and nothing is left; a mode's ceiling is its
highest clean rate.

Needs the bed scripts/bed prepares (Docker engine, images, sipp) and PostgreSQL for ari-app's
journal (``--dsn``, default the local server; a database is made and dropped).
"""

from __future__ import annotations

# A bench driver: it starts processes and reads their files between measurements, on a loop
# that serves nothing else.
# ruff: noqa: ASYNC220, ASYNC221, ASYNC240
import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.asterisk.bed import (  # noqa: E402 - the bed lives with the tests
    APP_NAME,
    ARI_USER,
    AsteriskNode,
    _free_node,
    container_env,
    free_port,
    free_udp_block,
    free_udp_ports,
)

SIPP = Path(__file__).resolve().parent / "sipp"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Mode:
    name: str
    dialled: str  # what the carrier dials: 18 enters Stasis, 700x a bench context
    runner: str | None  # "ari-app", "reference" or None (dialplan only)
    recording: str  # "dialplan" (MixMonitor), "bridge" (ARI bridge recording) or "off"


MODES = {
    mode.name: mode
    for mode in (
        Mode("app", "18", "ari-app", "dialplan"),
        Mode("app-bridge", "18", "ari-app", "bridge"),
        Mode("app-unrecorded", "18", "ari-app", "off"),
        Mode("reference", "18", "reference", "off"),
        Mode("reference-recorded", "18", "reference", "dialplan"),
        Mode("reference-bridge", "18", "reference", "bridge"),
        Mode("queue", "7001", None, "off"),
        Mode("queue-recorded", "7002", None, "dialplan"),
        Mode("dial", "7003", None, "off"),
    )
}


@dataclass
class Point:
    mode: str
    rate: float
    planned: int
    connected: int = 0
    invite_200_p50_ms: float | None = None
    invite_200_p99_ms: float | None = None
    connect_p50_ms: float | None = None
    connect_p99_ms: float | None = None
    retransmissions: int = 0
    failed_calls: int = 0
    asterisk_cpu_ms_per_call: float = 0.0
    app_cpu_ms_per_call: float | None = None
    events_per_call: float | None = None
    rest_per_call: float | None = None
    left_channels: int = 0
    left_bridges: int = 0
    # Callers Asterisk answered (200) who never reached an operator within their hold.
    answered_not_connected: int = 0
    # Seconds from the carrier's end until Asterisk had neither channel nor bridge left (None:
    # not within a minute).
    clean_after_s: float | None = None
    # What the application's log says of the point (lines that mark trouble, counted).
    app_log: dict[str, int] = field(default_factory=dict)
    # HTTP connections Asterisk refused past http.conf's sessionlimit.
    session_limit_refusals: int = 0
    # ari-app only, from its journal: callers it saw (StasisStart), how their calls ended,
    # and, of the callers the carrier saw fail (never answered), those it had seen, those it
    # had handed back to the dialplan's fallback, and those it kept: failures of its own.
    reached_app: int | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    failed_after_reaching_app: int | None = None
    failed_after_hand_back: int | None = None
    failed_in_app: int | None = None
    clean: bool = False


# Log lines of ari-app that say the point went wrong for the application, by what they mean.
APP_LOG_MARKS = {
    "stream_lost": "ARI event stream lost",
    "sessions_disagree": "policy and sessions disagree",
    "requests_retried": "ARI request without answer; trying again",
    "backing_off": "Asterisk is slow to answer: fewer ARI requests",
    "handed_back": "caller not in a waiting bridge in time",
}
SESSION_LIMIT = "HTTP session count exceeded"  # Asterisk's log, a connection refused


# -- Asterisk configured for the bench ---------------------------------------------------


def bench_etc(target: Path, positions: int, operator_port: int) -> None:
    """The project's asterisk/etc plus the bench's positions, queues and dialplan modes."""
    shutil.copytree(ROOT / "asterisk" / "etc", target)
    names = [f"bench-op{i}" for i in range(1, positions + 1)]
    with (target / "pjsip.conf").open("a") as pjsip:
        pjsip.write("\n; bench positions: one sipp answers for all (no registration, no qualify)\n")
        for name in names:
            pjsip.write(
                f"[{name}](position-endpoint)\naors = {name}\n"
                f"[{name}](position-aor)\nqualify_frequency = 0\n"
                f"contact = sip:{name}@127.0.0.1:{operator_port}\n"
            )
    members = "".join(f"member => PJSIP/{name}\n" for name in names)
    queue = "strategy = rrmemory\nringinuse = no\ntimeout = 15\nretry = 1\nautofill = yes\n"
    (target / "queues.conf").write_text(f"[general]\n\n[bench]\n{queue}{members}")
    extensions = (target / "extensions.conf").read_text()
    routes = (
        # No Answer() first: it waits up to 500 ms for the caller's media, which the bench's
        # callers do not send; Queue() answers the caller itself, Dial() on the answer.
        "exten => 7001,1,Queue(bench)\n same => n,Hangup()\n"
        # As app_queue users record: MixMonitor on the caller's channel, one file per call.
        "exten => 7002,1,MixMonitor(queue-${UNIQUEID}.wav)\n"
        " same => n,Queue(bench)\n same => n,Hangup()\n"
        f"exten => 7003,1,Set(GLOBAL(BENCH_NEXT)=$[${{BENCH_NEXT}} % {positions} + 1])\n"
        " same => n,Dial(PJSIP/bench-op${BENCH_NEXT},15)\n same => n,Hangup()\n"
    )
    extensions = extensions.replace("[from-carrier]\n", "[from-carrier]\n" + routes, 1)
    # The fallback a caller handed back goes to: the bench's positions in turn, as mode dial
    # rings them (the project's fallback rings the example topology's seats, which the bench
    # does not have).
    extensions = extensions.replace(
        "exten => 18,1,Goto(fallback-sdis77,s,1)\n", "exten => 18,1,Goto(fallback-bench,s,1)\n", 1
    )
    extensions += (
        "\n[fallback-bench]\n"
        f"exten => s,1,Set(GLOBAL(BENCH_NEXT)=$[${{BENCH_NEXT}} % {positions} + 1])\n"
        " same => n,Dial(PJSIP/bench-op${BENCH_NEXT},15)\n same => n,Goto(s,1)\n"
    )
    extensions = extensions.replace("[globals]\n", "[globals]\nBENCH_NEXT = 0\n", 1)
    (target / "extensions.conf").write_text(extensions)
    (target / "modules.conf").write_text(
        (target / "modules.conf").read_text() + "require = app_queue.so\n"
    )
    for path in target.iterdir():
        path.chmod(0o666)
    target.chmod(0o777)


def bench_topology(path: Path, positions: int) -> None:
    endpoints = ", ".join(f'"PJSIP/bench-op{i}"' for i in range(1, positions + 1))
    path.write_text(
        '[policy]\ndefault_unit = "bench"\nbackup_unit = "bench"\nlast_resort_after = 3600\n\n'
        '[announcements]\nwelcome = "sound:queue-periodic-announce"\n'
        'reminder = "sound:queue-thankyou"\nreminder_every = 30\nmusic_on_hold = "default"\n\n'
        '[centres.bench]\nname = "Bench centre"\ndepartment = "77"\nrouting_keys = ["18"]\n'
        f"positions = [{endpoints}]\nmax_queue = 10000\nmax_wait = 3600\nreserve = 0\n"
        "overflow_cap = 0\n"
    )


def image_tag(name: str) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / "images"), "--print"], capture_output=True, text=True, check=True
    )
    return dict(line.split("=", 1) for line in done.stdout.split())[name]


@dataclass
class Asterisk:
    container: Any
    node: AsteriskNode
    pid: int

    def cpu_s(self) -> float:
        return proc_cpu_s(self.pid)

    def logs(self) -> str:
        """What Asterisk wrote to its console so far."""
        return str(self.container.logs().decode(errors="replace"))

    async def ari(self, method: str, path: str, **params: str) -> Any:
        """One ARI request, as the test bed makes them (an error status raises)."""
        return await self.node.ari(method, path, **params)


@contextlib.contextmanager
def asterisk(workdir: Path, positions: int, operator_port: int) -> Iterator[Asterisk]:
    docker: Any = importlib.import_module("docker")  # only the bench needs the engine

    node = _free_node(carriers=1, rtp_ports=6000)
    etc = workdir / "etc"
    bench_etc(etc, positions, operator_port)
    client = docker.from_env(timeout=60)
    container = client.containers.run(
        image_tag("ari-app-asterisk"),
        detach=True,
        network_mode="host",
        environment=container_env(node),
        volumes={str(etc): {"bind": "/etc/asterisk", "mode": "rw"}},
    )
    try:
        container.reload()
        yield Asterisk(container, node, int(container.attrs["State"]["Pid"]))
    finally:
        with contextlib.suppress(Exception):
            container.remove(force=True)


async def wait_asterisk(node: Asterisk, positions: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            endpoints = await node.ari("GET", "/endpoints/PJSIP")
            online = [e for e in endpoints if e["resource"].startswith("bench-op")]
            if len(online) == positions and all(e["state"] == "online" for e in online):
                return
        await asyncio.sleep(0.5)
    logs = node.container.logs().decode(errors="replace")[-3000:]
    raise RuntimeError(f"Asterisk's bench positions did not come online:\n{logs}")


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# -- the applications under test ---------------------------------------------------------


@dataclass
class Runner:
    process: subprocess.Popen[bytes]
    metrics_url: str | None = None
    stats_path: Path | None = None
    counters: dict[str, float] = field(default_factory=dict)

    def cpu_s(self) -> float:
        return proc_cpu_s(self.process.pid)


async def scrape(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        text = await answer.text()
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"^(ari_app_ari_(?:events|requests))_total (\S+)$", line)
        if match:
            values[match.group(1)] = float(match.group(2))
    return values


def python_for(mode: Mode, args: argparse.Namespace, rate: float) -> list[str]:
    """The interpreter's command line, under cProfile when asked (one file per point)."""
    if args.profile is None:
        return [sys.executable]
    args.profile.mkdir(parents=True, exist_ok=True)
    return [
        sys.executable,
        "-m",
        "cProfile",
        "-o",
        str(args.profile / f"{mode.name}-{rate:g}.prof"),
    ]


async def start_runner(
    mode: Mode, node: Asterisk, workdir: Path, dsn: str, python: list[str]
) -> Runner | None:
    if mode.runner is None:
        return None
    log = (workdir / f"{mode.name}.log").open("ab")
    if mode.runner == "reference":
        stats = workdir / f"{mode.name}-stats.json"
        stats.unlink(missing_ok=True)
        ready = Path(f"{stats}.ready")
        ready.unlink(missing_ok=True)
        endpoints = ",".join(f"PJSIP/bench-op{i}" for i in range(1, POSITIONS + 1))
        argv = [
            *python,
            str(Path(__file__).resolve().parent / "reference_app.py"),
            "--url",
            node.node.ari_url,
            "--password",
            node.node.ari_password,
            "--app",
            APP_NAME,
            "--positions",
            endpoints,
            "--stats",
            str(stats),
            *(["--record"] if mode.recording == "bridge" else []),
        ]
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        runner = Runner(process, stats_path=stats)
        # Not GET /applications: the name stays listed after ari-app's run, while its
        # endpoint subscription lasts, before this application's websocket is open.
        deadline = time.monotonic() + 30
        while not ready.exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the reference application did not connect; see {log.name}")
            await asyncio.sleep(0.1)
        return runner
    api_port = free_port()
    env = {
        **os.environ,
        "ARI_APP_ARI_URL": node.node.ari_url,
        "ARI_APP_ARI_USER": ARI_USER,
        "ARI_APP_ARI_PASSWORD": node.node.ari_password,
        "ARI_APP_APP_NAME": APP_NAME,
        "ARI_APP_DATABASE_DSN": dsn,
        "ARI_APP_API_PORT": str(api_port),
        "ARI_APP_TOPOLOGY_PATH": str(workdir / "topology.toml"),
        "ARI_APP_SPOOL_PATH": str(workdir / "journal.spool"),
        "ARI_APP_LOG_LEVEL": "INFO",
        "ARI_APP_RECORDING": mode.recording,
    }
    process = subprocess.Popen(
        [*python, "-m", "ari_app", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    metrics_url = f"http://127.0.0.1:{api_port}/metrics"
    runner = Runner(process, metrics_url=metrics_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ari-app run exited {process.returncode}; see {log.name}")
        with contextlib.suppress(aiohttp.ClientError):
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{api_port}/readyz") as answer,
            ):
                if answer.status == 200:
                    runner.counters = await scrape(metrics_url)
                    return runner
        await asyncio.sleep(0.3)
    raise RuntimeError(f"ari-app run was not ready within 60 s; see {log.name}")


async def stop_runner(runner: Runner) -> dict[str, float]:
    """The runner's counters since its start (events, requests), then it is stopped."""
    counted: dict[str, float] = {}
    if runner.metrics_url is not None:
        now = await scrape(runner.metrics_url)
        counted = {key: now.get(key, 0) - runner.counters.get(key, 0) for key in now}
    runner.process.send_signal(signal.SIGTERM)
    try:
        runner.process.wait(30)
    except subprocess.TimeoutExpired:
        runner.process.kill()
        runner.process.wait(5)
    if runner.stats_path is not None and runner.stats_path.exists():
        stats = json.loads(runner.stats_path.read_text())
        counted = {
            "ari_app_ari_events": stats["events"],
            "ari_app_ari_requests": stats["requests"],
        }
    return counted


# -- sipp --------------------------------------------------------------------------------


def sipp(*argv: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["sipp", *argv, "-nostdin", "-trace_err", "-error_file", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=log.parent,
    )


def stamps(path: Path, word: str) -> dict[str, float]:
    """Caller number -> time (epoch s) of each ``word`` line a sipp log holds."""
    found: dict[str, float] = {}
    if not path.exists():
        return found
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[3] == word:
            found.setdefault(parts[4].removeprefix("sip:"), float(parts[2].rstrip(":")))
    return found


def last_stat(path: Path, column: str) -> int:
    rows = [line.split(";") for line in path.read_text().splitlines() if line.strip()]
    if len(rows) < 2:
        return 0
    header, last = rows[0], rows[-1]
    return int(float(last[header.index(column)])) if column in header else 0


def percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


# -- one point ---------------------------------------------------------------------------

POSITIONS = 2000


async def run_point(  # noqa: PLR0915, PLR0917 - one point's steps, in their order
    mode: Mode, rate: float, args: argparse.Namespace, node: Asterisk, workdir: Path, dsn: str
) -> Point:
    planned = round(rate * args.duration)
    point = Point(mode.name, rate, planned)
    here = workdir / f"{mode.name}-{rate:g}"
    here.mkdir()
    operator_log = here / "operator.log"
    operators = sipp(
        "-sf",
        str(SIPP / "operator.xml"),
        "-i",
        "127.0.0.1",
        "-p",
        str(args.operator_port),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_udp_block(4)),
        "-rtp_echo",
        "-d",
        "1",  # ms of ringing: with -d 0 and -m, sipp ends at once
        # It exits once every planned call has ended there: its log is complete only then.
        "-m",
        str(planned),
        "-trace_logs",
        "-log_file",
        str(operator_log),
        log=here / "operator-errors.log",
    )
    if operators.poll() is not None:
        raise RuntimeError(f"the positions' sipp exited: see {here / 'operator-errors.log'}")
    if mode.runner != "ari-app":  # ari-app sets it itself from ARI_APP_RECORDING
        value = "yes" if mode.recording == "dialplan" else "no"
        await node.ari("POST", "/asterisk/variable", variable="VCTA_RECORD", value=value)
    app_log = workdir / f"{mode.name}.log"
    log_offset = app_log.stat().st_size if app_log.exists() else 0
    asterisk_log_offset = len(node.logs())
    runner = await start_runner(mode, node, workdir, dsn, python_for(mode, args, rate))
    scenario = here / "carrier.xml"
    scenario.write_text(
        (SIPP / "carrier.xml").read_text().replace("HOLD_MS", str(int(args.hold * 1000)))
    )
    carrier_log = here / "carrier.log"
    stat_file = here / "carrier-stat.csv"
    asterisk_cpu = node.cpu_s()
    app_cpu = runner.cpu_s() if runner else 0.0
    started_at = time.time()
    carrier = sipp(
        f"127.0.0.1:{node.node.sip_port}",
        "-sf",
        str(scenario),
        "-i",
        "127.0.0.1",
        "-p",
        str(node.node.carrier_ports[0]),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_udp_block(4)),
        "-s",
        mode.dialled,
        "-key",
        "routing_key",
        "18",
        "-r",
        f"{rate:g}",
        "-m",
        str(planned),
        "-l",
        str(planned),
        "-aa",
        "-trace_logs",
        "-log_file",
        str(carrier_log),
        "-trace_stat",
        "-stf",
        str(stat_file),
        "-fd",
        "1",
        "-timeout",
        f"{int(args.duration + args.hold + 120)}s",
        log=here / "carrier-errors.log",
    )
    try:  # sipp's own -timeout does not end calls left unanswered
        await asyncio.to_thread(carrier.wait, args.duration + args.hold + 90)
    except subprocess.TimeoutExpired:
        carrier.kill()
        carrier.wait(5)
    point.clean_after_s = await until_empty(node, within=60)
    point.asterisk_cpu_ms_per_call = round((node.cpu_s() - asterisk_cpu) * 1000 / planned, 1)
    if runner is not None:
        point.app_cpu_ms_per_call = round((runner.cpu_s() - app_cpu) * 1000 / planned, 1)
    point.left_channels = len(await node.ari("GET", "/channels"))
    point.left_bridges = len(await node.ari("GET", "/bridges"))
    if runner is not None:
        counted = await stop_runner(runner)
        point.events_per_call = round(counted.get("ari_app_ari_events", 0) / planned, 1)
        point.rest_per_call = round(counted.get("ari_app_ari_requests", 0) / planned, 1)
    with contextlib.suppress(subprocess.TimeoutExpired):
        await asyncio.to_thread(operators.wait, 10)
    if operators.poll() is None:  # some calls never reached a position
        operators.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(operators.wait, 10)
        if operators.poll() is None:
            operators.kill()
    invites = stamps(carrier_log, "invite")
    answered = stamps(carrier_log, "answered")
    operator = stamps(operator_log, "answer")
    connects = [(operator[n] - t) * 1000 for n, t in invites.items() if n in operator]
    answers = [(answered[n] - t) * 1000 for n, t in invites.items() if n in answered]
    point.connected = len(connects)
    point.connect_p50_ms = percentile(connects, 50)
    point.connect_p99_ms = percentile(connects, 99)
    point.invite_200_p50_ms = percentile(answers, 50)
    point.invite_200_p99_ms = percentile(answers, 99)
    point.answered_not_connected = len(set(answered) - set(operator))
    if runner is not None and app_log.exists():
        with app_log.open("rb") as file:
            file.seek(log_offset)
            text = file.read().decode(errors="replace")
        point.app_log = {key: text.count(mark) for key, mark in APP_LOG_MARKS.items()}
    point.session_limit_refusals = node.logs()[asterisk_log_offset:].count(SESSION_LIMIT)
    if mode.runner == "ari-app":
        failed = set(invites) - set(answered)
        journal_summary(point, dsn, started_at, failed)
    point.retransmissions = last_stat(stat_file, "Retransmissions(C)")
    point.failed_calls = last_stat(stat_file, "FailedCall(C)")
    point.clean = (
        point.connected == planned
        and point.connect_p99_ms is not None
        and point.connect_p99_ms < 1000
        and point.left_channels == 0
        and point.left_bridges == 0
    )
    return point


def journal_summary(point: Point, dsn: str, since: float, failed: set[str]) -> None:
    """What ari-app's journal says of the point's callers (those it saw since ``since``)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT a.caller, e.outcome FROM journal_entries a"
            " LEFT JOIN journal_entries e ON e.call_id = a.call_id AND e.kind = 'ended'"
            " WHERE a.kind = 'arrived' AND a.at >= to_timestamp(%s)",
            (since,),
        ).fetchall()
    outcomes: dict[str, int] = {}
    for _, outcome in rows:
        outcomes[outcome or "open"] = outcomes.get(outcome or "open", 0) + 1
    seen: dict[str, str | None] = dict(rows)
    point.reached_app = len(rows)
    point.outcomes = outcomes
    point.failed_after_reaching_app = sum(1 for number in failed if number in seen)
    point.failed_after_hand_back = sum(1 for n in failed if seen.get(n) == "handed_back")
    point.failed_in_app = point.failed_after_reaching_app - point.failed_after_hand_back


async def until_empty(node: Asterisk, *, within: float) -> float | None:
    """Seconds until Asterisk has neither channel nor bridge left (a point's leftovers are
    counted after), or None if some are still there after ``within``."""
    started = time.monotonic()
    while time.monotonic() < started + within:
        if not await node.ari("GET", "/channels") and not await node.ari("GET", "/bridges"):
            return round(time.monotonic() - started, 1)
        await asyncio.sleep(0.5)
    return None


def fresh_database(dsn: str, name: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return psycopg.conninfo.make_conninfo(dsn, dbname=name)


def drop_database(dsn: str, name: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    global POSITIONS  # noqa: PLW0603 - one bench per process
    POSITIONS = args.positions
    modes = [MODES[name] for name in args.modes]
    workdir = Path(tempfile.mkdtemp(prefix="bench-asterisk-"))
    args.operator_port = free_udp_ports(1)[0]
    bench_topology(workdir / "topology.toml", args.positions)
    database = f"ari_app_bench_{os.getpid()}"
    dsn = fresh_database(args.dsn, database)
    env = {**os.environ, "ARI_APP_DATABASE_DSN": dsn}
    for command in (["db", "upgrade"], ["topology", "import", str(workdir / "topology.toml")]):
        subprocess.run(
            [sys.executable, "-m", "ari_app", *command], env=env, check=True, capture_output=True
        )
    points: list[Point] = []
    try:
        for mode in modes:
            # A fresh Asterisk per mode: one left wedged by a mode's overloaded points (calls
            # stuck in Queue(), thousands of channels) would fail every mode run after it.
            with asterisk(workdir / mode.name, args.positions, args.operator_port) as node:
                await wait_asterisk(node, args.positions)
                for rate in args.rates:
                    point = await run_point(mode, rate, args, node, workdir, dsn)
                    points.append(point)
                    if not args.json:
                        print(row(point), flush=True)
    finally:
        drop_database(args.dsn, database)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    ceilings = {
        mode.name: max((p.rate for p in points if p.mode == mode.name and p.clean), default=0)
        for mode in modes
    }
    return {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "duration_s": args.duration,
        "hold_s": args.hold,
        "positions": args.positions,
        "points": [asdict(p) for p in points],
        "ceilings": ceilings,
    }


HEADER = (
    f"{'mode':<19}{'rate':>5}{'conn':>10}{'200 p99':>9}{'conn p50':>9}{'conn p99':>9}"
    f"{'retr':>6}{'ast ms':>8}{'app ms':>8}{'ev':>6}{'rest':>6}{'left':>7}  clean"
)


def row(p: Point) -> str:
    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:g}"

    return (
        f"{p.mode:<19}{p.rate:>5g}{f'{p.connected}/{p.planned}':>10}"
        f"{fmt(p.invite_200_p99_ms):>9}{fmt(p.connect_p50_ms):>9}{fmt(p.connect_p99_ms):>9}"
        f"{p.retransmissions:>6}{p.asterisk_cpu_ms_per_call:>8g}{fmt(p.app_cpu_ms_per_call):>8}"
        f"{fmt(p.events_per_call):>6}{fmt(p.rest_per_call):>6}"
        f"{f'{p.left_channels}/{p.left_bridges}':>7}  {'yes' if p.clean else 'no'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--modes",
        type=lambda text: text.split(","),
        default=list(MODES),
        help=f"comma-separated, among {', '.join(MODES)} (default: all)",
    )
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        default=[10.0, 20.0, 40.0],
        help="calls per second, comma-separated (default 10,20,40)",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of arrivals")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds each call lasts")
    parser.add_argument("--positions", type=int, default=2000, help="operator endpoints")
    parser.add_argument(
        "--dsn",
        default=os.environ.get("ARI_APP_TEST_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server where a bench database may be created",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument(
        "--profile",
        type=Path,
        help="run the applications under cProfile, one <mode>-<rate>.prof per point there",
    )
    args = parser.parse_args()
    unknown = [name for name in args.modes if name not in MODES]
    if unknown:
        parser.error(f"unknown mode {', '.join(unknown)}; modes are {', '.join(MODES)}")
    if not args.json:
        print(HEADER, flush=True)
    result = asyncio.run(bench(args))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            "ceilings (calls/s): " + ", ".join(f"{m} {r:g}" for m, r in result["ceilings"].items())
        )


if __name__ == "__main__":
    main()
