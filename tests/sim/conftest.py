"""Fixtures: a started lab emulator, an authenticated HTTP session, websocket event logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from ari_app.sim import Emulator
from tests.sim.lab import LAB_APP, LAB_PASSWORD, LAB_USER, basic_auth, lab_emulator
from tests.waiting import wait_until

WAIT_S = 5.0


class EventLog:
    """Events received on one ``/ari/events`` websocket, with waits on what is expected."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(message.data))
                self._arrived.set()

    async def wait_for(
        self,
        event_type: str,
        where: Callable[[dict[str, Any]], bool] = lambda e: True,
        within: float = WAIT_S,
        after: int = 0,
    ) -> dict[str, Any]:
        """The first event of ``event_type`` matching ``where`` (from index ``after``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for event in self.events[after:]:
                if event["type"] == event_type and where(event):
                    return event
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [e["type"] for e in self.events[-12:]]
                raise AssertionError(f"no {event_type} within {within}s; last events {seen}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    def of(self, channel_id: str) -> list[str]:
        """Types of the events about one channel, in order."""
        return [
            e["type"]
            for e in self.events
            if (e.get("channel") or e.get("peer") or {}).get("id") == channel_id
        ]

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = lab_emulator(speed=20.0)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=basic_auth()) as session:
        yield session


@pytest.fixture
async def connect(emu: Emulator, http: aiohttp.ClientSession) -> AsyncIterator[Callable[..., Any]]:
    """``await connect(app)`` opens an event websocket and returns its EventLog."""
    logs: list[EventLog] = []

    async def open_log(app: str = LAB_APP) -> EventLog:
        root = emu.base_url.replace("http://", "ws://")
        ws = await http.ws_connect(f"{root}/events?app={app}&api_key={LAB_USER}:{LAB_PASSWORD}")
        log = EventLog(ws)
        logs.append(log)
        await until(lambda: all(_bound(emu, a) for a in app.split(",")))
        return log

    yield open_log
    for log in logs:
        await log.close()


def _bound(emu: Emulator, app: str) -> bool:
    found = emu.pbx.apps.get(app)
    return found is not None and found.sink is not None


async def until(condition: Callable[[], bool], within: float = WAIT_S) -> None:
    """Wait for a state of the emulator (polling: it changes without telling the test)."""
    await wait_until(condition, within=within, what="the emulator's state")
