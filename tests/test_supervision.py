"""A service that dies stops the application loudly: a line naming it and its error,
``/readyz`` not ready meanwhile, a non-zero exit. Never a half-alive process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from ari_app.supervision import ServiceFailed, Supervisor
from tests.test_run import emulator, environment, free_port, ready
from tests.waiting import wait_until


async def test_a_service_that_raises_is_reported_by_name_and_fails_the_group(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor()
    crash = asyncio.Event()

    async def journal_writer() -> None:
        await crash.wait()
        raise RuntimeError("disk on fire")

    supervisor.watch("journal", asyncio.create_task(journal_writer()))
    assert supervisor.healthy
    crash.set()
    await asyncio.wait_for(supervisor.failed.wait(), 5)

    assert not supervisor.healthy
    assert supervisor.failure == (
        "the service journal stopped unexpectedly (RuntimeError: disk on fire)"
    )
    [line] = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert "service journal stopped unexpectedly: RuntimeError: disk on fire" in line.message
    with pytest.raises(ServiceFailed, match="journal"):
        supervisor.raise_failure()


async def test_a_service_cancelled_from_elsewhere_or_returning_is_a_failure_too() -> None:
    supervisor = Supervisor()
    forever = asyncio.create_task(asyncio.Event().wait())
    supervisor.watch("calls:service", forever)
    forever.cancel()
    await asyncio.wait_for(supervisor.failed.wait(), 5)
    assert supervisor.failure is not None
    assert "calls:service" in supervisor.failure
    assert "cancelled" in supervisor.failure

    other = Supervisor()

    async def returns() -> None:
        return None

    other.watch("mode-recorder", asyncio.create_task(returns()))
    await asyncio.wait_for(other.failed.wait(), 5)
    assert other.failure is not None
    assert "returned" in other.failure


async def test_services_ending_once_the_application_stops_are_not_failures() -> None:
    supervisor = Supervisor()
    task = asyncio.create_task(asyncio.Event().wait())
    supervisor.watch("journal", task)
    supervisor.stopping()
    task.cancel()
    await asyncio.wait({task})  # returns after the supervisor's callback, registered first
    assert supervisor.healthy
    supervisor.raise_failure()


# The application as an operator starts it, with a call service that breaks on SIGUSR1.
# The grace is long so that the test sees /readyz answer 503, then cuts it with SIGTERM.
LAUNCHER = """
import asyncio, signal, sys
from ari_app import app
from ari_app.calls.service import CallService
from ari_app.cli import main

app.FAILURE_GRACE_S = 60.0
original = CallService.run

async def run_until_told_to_break(self):
    broken = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, broken.set)
    running = asyncio.ensure_future(original(self))
    await broken.wait()
    running.cancel()
    raise RuntimeError("the call service broke")

CallService.run = run_until_told_to_break
sys.exit(main(["run"]))
"""


async def test_call_handling_that_dies_makes_readiness_fail_then_the_process_exit_non_zero(
    pg_dsn: str, tmp_path: Path
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    async with emulator() as emu, aiohttp.ClientSession() as session:
        env = environment(emu, pg_dsn, tmp_path, port)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            LAUNCHER,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await ready(session, api, process)
            process.send_signal(signal.SIGUSR1)

            async def not_ready() -> bool:
                async with session.get(f"{api}/readyz") as answer:
                    return answer.status == 503

            await wait_until(not_ready, within=10, what="/readyz to answer 503")
            assert process.returncode is None  # still up, saying why, until the grace ends
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 20) == 1
        finally:
            if process.returncode is None:
                process.kill()
                with contextlib.suppress(ProcessLookupError):
                    await process.wait()
        assert process.stdout is not None
        output = (await process.stdout.read()).decode()
    assert "service calls:service stopped unexpectedly: RuntimeError: the call service broke" in (
        output
    )
    last = output.strip().splitlines()[-1]
    assert last == (
        "ari-app run: the service calls:service stopped unexpectedly"
        " (RuntimeError: the call service broke)"
    )
