"""Hundreds of simultaneous calls handled by a small client: every call ends clean.

``CALLS`` callers talk to operators at the same time (a department's storm); then every
operator hangs up and the client ends the calls: nothing may be left in the emulator.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp

from ari_app.clock import ScaledClock
from ari_app.sim import Answer, Emulator
from tests.sim.conftest import until
from tests.sim.lab import LAB_APP, LAB_PASSWORD, LAB_USER, basic_auth

# 500 keeps CI fast; ARI_APP_SIM_SCALE_CALLS=2000 measures a department's storm.
CALLS = int(os.environ.get("ARI_APP_SIM_SCALE_CALLS", "500"))
POSITIONS = 50


class MiniApp:
    """A minimal ARI application: answer, bridge with a position, hang up after the operator."""

    def __init__(self, emu: Emulator, http: aiohttp.ClientSession) -> None:
        self.emu, self.http = emu, http
        self.bridge_of: dict[str, str] = {}  # operator channel -> bridge
        self.caller_of: dict[str, str] = {}  # bridge -> caller
        self.tasks: set[asyncio.Task[None]] = set()
        self.errors: list[str] = []
        self.next_position = 0

    async def call(self, method: str, path: str, **params: str) -> Any:
        async with self.http.request(method, self.emu.base_url + path, params=params) as r:
            if r.status >= 400:
                self.errors.append(f"{method} {path} -> {r.status} {await r.text()}")
            return await r.json() if r.content_type == "application/json" else None

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def on_caller(self, caller: str) -> None:
        await self.call("POST", f"/channels/{caller}/answer")
        bridge = await self.call("POST", "/bridges", type="mixing")
        await self.call("POST", f"/bridges/{bridge['id']}/addChannel", channel=caller)
        self.next_position = (self.next_position + 1) % POSITIONS
        operator = await self.call(
            "POST",
            "/channels",
            endpoint=f"PJSIP/op{self.next_position}",
            app=LAB_APP,
            appArgs="operator",
        )
        self.bridge_of[operator["id"]] = bridge["id"]
        self.caller_of[bridge["id"]] = caller

    async def on_operator(self, operator: str) -> None:
        bridge = self.bridge_of[operator]
        await self.call("POST", f"/bridges/{bridge}/addChannel", channel=operator)

    async def on_operator_gone(self, operator: str) -> None:
        bridge = self.bridge_of.pop(operator)
        await self.call("DELETE", f"/channels/{self.caller_of.pop(bridge)}")
        await self.call("DELETE", f"/bridges/{bridge}")

    async def run(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            event = json.loads(message.data)
            kind = event["type"]
            if kind == "StasisStart" and event["args"] == ["18"]:
                self.spawn(self.on_caller(event["channel"]["id"]))
            elif kind == "StasisStart":
                self.spawn(self.on_operator(event["channel"]["id"]))
            elif kind == "ChannelDestroyed" and event["channel"]["id"] in self.bridge_of:
                self.spawn(self.on_operator_gone(event["channel"]["id"]))


async def test_hundreds_of_simultaneous_calls_end_with_nothing_left() -> None:
    emu = Emulator(ScaledClock(20.0), users={LAB_USER: LAB_PASSWORD}, app=LAB_APP)
    for index in range(POSITIONS):
        emu.add_endpoint(f"op{index}", Answer(after_s=1.0))
    await emu.start()
    try:
        connector = aiohttp.TCPConnector(limit=50)
        async with aiohttp.ClientSession(headers=basic_auth(), connector=connector) as http:
            root = emu.base_url.replace("http://", "ws://")
            ws = await http.ws_connect(f"{root}/events?app={LAB_APP}")
            app = MiniApp(emu, http)
            reader = asyncio.create_task(app.run(ws))
            await until(lambda: emu.pbx.apps.get(LAB_APP) is not None)
            callers = [await emu.place_call("18", f"06{n:08d}") for n in range(CALLS)]
            assert all(c.entered_stasis for c in callers)
            await until(lambda: emu.stats()["calls_talked"] == CALLS, 120)
            # Every operator hangs up: the application then ends each call.
            operators = [c["id"] for c in emu.channels() if c["name"].startswith("PJSIP/op")]
            assert len(operators) == CALLS
            for operator in operators:
                await emu.hang_up_remote(operator)
            await until(lambda: emu.stats()["calls_live"] == 0, 120)
            await until(lambda: not emu.channels() and not emu.bridges() and not app.tasks, 10)
            await ws.close()
            await reader
        records = emu.history()
        assert app.errors == []
        assert all(r.talked and r.ended_by == "operator" for r in records)
        assert emu.pbx.timers.pending == 0
    finally:
        await emu.stop()
