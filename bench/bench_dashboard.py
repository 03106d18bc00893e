"""What open dashboards cost the application during the demo's storm.

    python bench/bench_dashboard.py [--clients 50] [--duration 900] [--speed 20]

Runs the demo (emulator, call handling, simulated callers with the surge at sdis77, the
duty-officer API and the dashboard) in this process, twice: without any dashboard, then with
``--clients`` pages following the live feed (/dashboard/events). The pages are played by a
child process (``--listen``) so their own work is not counted. Measured during the surge
(the middle third of the run): the application's CPU time per real second (this process,
user + system), the event loop's lag (a task asking to wake every 50 ms: how late it
wakes), and what the feed sent (messages and bytes per page per second).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import re
import resource
import socket
import statistics
import sys
import time
from typing import Any

import aiohttp

from ari_app.demo.runner import Demo, DemoOptions

PROBE_S = 0.05


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def lag_probe(lags: list[float], measuring: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(PROBE_S)
        if measuring.is_set():
            lags.append(loop.time() - asked - PROBE_S)


async def run_demo(clients: int, duration_s: float, speed: float) -> dict[str, Any]:
    port = free_port()
    progress = io.StringIO()
    options = DemoOptions(duration_s=duration_s, speed=speed, api_port=port)
    demo = Demo(options, progress=progress)
    lags: list[float] = []
    measuring = asyncio.Event()
    probe = asyncio.create_task(lag_probe(lags, measuring))
    running = asyncio.create_task(demo.run())
    while (found := re.search(r"ARI_APP_API_TOKEN=(\S+)", progress.getvalue())) is None:
        if running.done():
            running.result()
        await asyncio.sleep(0.05)
    token = found.group(1)
    started = time.monotonic()  # the demo's clock started a moment earlier: close enough
    surge_start, surge_end = (t / speed for t in options.surge_window)
    listener = None
    if clients:
        listener = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--listen",
            f"http://127.0.0.1:{port}",
            "--token",
            token,
            "--clients",
            str(clients),
            "--seconds",
            str(surge_end - surge_start),
            "--after",
            str(max(0.0, surge_start - (time.monotonic() - started))),
            stdout=asyncio.subprocess.PIPE,
        )
    await asyncio.sleep(max(0.0, surge_start - (time.monotonic() - started)))
    cpu_before, wall_before = cpu_seconds(), time.monotonic()
    measuring.set()
    await asyncio.sleep(max(0.0, surge_end - (time.monotonic() - started)))
    measuring.clear()
    cpu, wall = cpu_seconds() - cpu_before, time.monotonic() - wall_before
    fed: dict[str, Any] = {}
    if listener is not None:
        out, _ = await listener.communicate()
        fed = json.loads(out)
    report = await running
    probe.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await probe
    lags.sort()
    return {
        "clients": clients,
        "cpu_per_s": cpu / wall,
        "lag_p50_ms": 1000 * statistics.median(lags),
        "lag_p99_ms": 1000 * lags[int(0.99 * (len(lags) - 1))],
        "lag_max_ms": 1000 * lags[-1],
        "calls": report["total"]["calls"],
        "lost": report["total"]["lost"],
        **fed,
    }


async def listen(url: str, token: str, clients: int, seconds: float, after: float) -> None:
    """Play ``clients`` pages following the feed for ``seconds``; print what they got."""
    counts = {"messages": 0, "bytes": 0, "boards": 0}
    headers = {"Authorization": f"Bearer {token}"}

    async def page(session: aiohttp.ClientSession) -> None:
        async with session.get(f"{url}/dashboard/events", headers=headers) as response:
            async for line in response.content:
                counts["bytes"] += len(line)
                if line.startswith(b"event: "):
                    counts["messages"] += 1
                    counts["boards"] += line.startswith(b"event: board")

    await asyncio.sleep(after)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        tasks = [asyncio.create_task(page(session)) for _ in range(clients)]
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    per_page_s = clients * seconds
    print(
        json.dumps(
            {
                "messages_per_page_s": counts["messages"] / per_page_s,
                "bytes_per_page_s": counts["bytes"] / per_page_s,
                "boards": counts["boards"],
            }
        )
    )


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0]
    return (
        f"{model}, {os.cpu_count()} vCPUs, {platform.system()} {platform.release()}, "
        f"CPython {platform.python_version()}, load average {load:.2f} at start"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=900.0)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--listen", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--after", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.listen:
        asyncio.run(listen(args.listen, args.token, args.clients, args.seconds, args.after))
        return
    print(machine())
    print(f"demo: {args.duration:g} s simulated at x{args.speed:g}; measured during the surge")
    for clients in (0, args.clients):
        result = asyncio.run(run_demo(clients, args.duration, args.speed))
        fed = (
            f"; per page {result['messages_per_page_s']:.2f} messages/s, "
            f"{result['bytes_per_page_s'] / 1000:.1f} kB/s"
            if clients
            else ""
        )
        print(
            f"{clients:>3} dashboards: CPU {100 * result['cpu_per_s']:.1f} % of a core, "
            f"loop lag p50 {result['lag_p50_ms']:.1f} ms, p99 {result['lag_p99_ms']:.1f} ms, "
            f"max {result['lag_max_ms']:.1f} ms; {result['calls']} calls, "
            f"{result['lost']} lost{fed}"
        )


if __name__ == "__main__":
    main()
