"""The demo: the whole product on the emulator, measured from what the callers lived."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import subprocess
import sys
from typing import Any

import aiohttp
import pytest

from ari_app.demo.runner import Demo, DemoOptions
from tests.waiting import wait_until

REQUIRED_KEYS = {
    "calls",
    "answered",
    "abandoned",
    "overflowed_in",
    "overflowed_out",
    "wait_p50_s",
    "wait_p90_s",
    "wait_max_s",
    "answered_within_10s",
    "answered_within_15s",
    "answered_within_20s",
    "mean_answer_s",
    "mean_longest_10pct_s",
    "abandon_rate",
    "lost",
}


async def run(**options: Any) -> dict[str, Any]:
    return await Demo(DemoOptions(speed=40.0, **options), progress=None).run()


def others(report: dict[str, Any], surge: str) -> list[dict[str, Any]]:
    return [figures for centre, figures in report["centres"].items() if centre != surge]


async def test_surge_is_absorbed_by_neighbours_and_no_call_is_lost() -> None:
    report = await run(duration_s=360.0, seed=7, surge_factor=8.0)
    total = report["total"]
    assert total["lost"] == 0
    assert total["calls"] == (
        total["answered"] + total["abandoned"] + total["in_progress"] + total["lost"]
    )
    assert total["answered"] > 0.8 * total["calls"]
    surge = report["centres"]["sdis77"]
    assert surge["overflowed_out"] > 0
    # Answered elsewhere for sdis77 (other centres may send overflow of their own meanwhile,
    # so their "overflowed_in" counts more than sdis77's calls).
    taken_by_neighbours = sum(
        helper["for"].get("sdis77", 0) for helper in report["helped"].values()
    )
    assert taken_by_neighbours > 0
    assert taken_by_neighbours <= surge["overflowed_out"]
    for figures in [*report["centres"].values(), total]:
        assert set(figures) >= REQUIRED_KEYS
        for key in ("answered_within_10s", "answered_within_15s", "answered_within_20s"):
            assert 0.0 <= figures[key] <= 1.0
        assert figures["answered_within_10s"] <= figures["answered_within_20s"]


async def test_callers_elsewhere_keep_their_service_level_during_a_surge() -> None:
    """Guarantee 5: the same callers, with and without a storm in Seine-et-Marne."""
    calm = await run(duration_s=600.0, seed=11, surge_centre=None)
    storm = await run(duration_s=600.0, seed=11, surge_centre="sdis77", surge_factor=6.0)
    assert storm["centres"]["sdis77"]["calls"] > 2 * calm["centres"]["sdis77"]["calls"]
    calm_others, storm_others = others(calm, "sdis77"), others(storm, "sdis77")
    # Each centre draws its callers from its own random stream: the same calls both times.
    assert [f["calls"] for f in storm_others] == [f["calls"] for f in calm_others]
    calls = sum(f["calls"] for f in calm_others)
    within_calm = sum(f["answered_within_20s"] * f["calls"] for f in calm_others) / calls
    within_storm = sum(f["answered_within_20s"] * f["calls"] for f in storm_others) / calls
    assert within_storm >= within_calm - 0.05
    assert storm["total"]["lost"] == 0


def test_demo_command_prints_a_json_report_and_exits_zero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ari_app", "demo", "--duration", "120", "--speed", "40", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"total", "centres", "helped"}
    assert "sdis77" in report["centres"]
    assert report["total"]["lost"] == 0
    assert "application 'vcta' connected" in done.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--speed", "0"], "--speed must be above 0"),
        (["--speed", "500"], "at most 40"),
        (["--duration", "-5"], "--duration must be a positive"),
        (["--surge", "sdis99"], "surge centre 'sdis99' is not one of"),
        (["--surge-factor", "0.5"], "--surge-factor must be 1 or more"),
        (["--topology", "/nonexistent/topology.toml"], "topology.toml"),
    ],
)
def test_demo_refuses_bad_options_with_one_clear_line(arguments: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ari_app", "demo", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


async def test_demo_serves_the_duty_officer_api_while_it_runs() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    progress = io.StringIO()
    demo = Demo(DemoOptions(duration_s=120.0, speed=20.0, api_port=port), progress=progress)
    running = asyncio.create_task(demo.run())
    await wait_until(
        lambda: "ARI_APP_API_TOKEN=" in progress.getvalue() or running.done(),
        within=20,
        what="the API token to be printed",
    )
    token = progress.getvalue().split("ARI_APP_API_TOKEN=", 1)[1].split()[0]
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"http://127.0.0.1:{port}/api/v1/units") as answer:
            assert answer.status == 200
            units = await answer.json()
        async with session.put(
            f"http://127.0.0.1:{port}/api/v1/centres/sdis91/mutual-aid",
            json={"incoming": False, "reason": "demo test"},
        ) as answer:
            assert answer.status == 200, await answer.text()
    assert "sdis77" in json.dumps(units)
    assert not demo.recorder.changes[-1].after.of("sdis91").incoming_mutual_aid
    report = await running
    assert report["total"]["lost"] == 0
