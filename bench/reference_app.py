"""The smallest ARI application that connects callers to free positions: the bench's yardstick.

    python bench/reference_app.py --url http://127.0.0.1:8088/ari --password S \
        --positions PJSIP/bench-op1,PJSIP/bench-op2 [--record] [--stats FILE]

Each caller is answered and put in a mixing bridge; a free position (round robin) is
originated into the application and added to the bridge once it answers; ``--record``
records the bridge, as ari-app does. When the caller hangs up, the leg and the bridge go.
Callers wait in arrival order when no position is free. Nothing else: no journal, no policy,
no announcement, no recovery. On SIGTERM it writes its counters (events received, requests
sent) as JSON to ``--stats``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import signal
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp


@dataclass
class Call:
    caller: str
    number: str
    bridge: str | None = None
    leg: str | None = None
    position: str | None = None


@dataclass
class Reference:
    session: aiohttp.ClientSession
    base: str
    app: str
    record: bool
    free: deque[str]
    waiting: deque[str] = field(default_factory=deque)
    calls: dict[str, Call] = field(default_factory=dict)
    legs: dict[str, str] = field(default_factory=dict)  # leg id -> caller id
    events: int = 0
    requests: int = 0

    async def ari(self, method: str, path: str, **params: str) -> Any:
        self.requests += 1
        async with self.session.request(method, self.base + path, params=params) as answer:
            text = await answer.text()
            if answer.status >= 300:
                return None
            return json.loads(text) if text else {}

    async def on_event(self, event: dict[str, Any]) -> None:
        self.events += 1
        kind = event.get("type")
        channel = event.get("channel", {})
        if kind == "StasisStart":
            args = event.get("args", [])
            if args[:1] == ["op"]:
                await self.leg_answered(channel["id"], args[1])
            else:
                await self.caller_arrived(channel["id"], channel["caller"]["number"])
        elif kind == "StasisEnd":
            if channel["id"] in self.calls:
                await self.caller_left(channel["id"])
            elif channel["id"] in self.legs:
                await self.leg_left(channel["id"])
        elif kind == "ChannelDestroyed" and channel["id"] in self.legs:
            await self.leg_left(channel["id"])  # never answered: no StasisEnd

    async def caller_arrived(self, caller: str, number: str) -> None:
        call = self.calls[caller] = Call(caller, number)
        await self.ari("POST", f"/channels/{caller}/answer")
        bridge = await self.ari("POST", "/bridges", type="mixing")
        if bridge is None:
            return
        if caller not in self.calls:  # hung up meanwhile: caller_left found no bridge
            await self.ari("DELETE", f"/bridges/{bridge['id']}")
            return
        call.bridge = bridge["id"]
        await self.ari("POST", f"/bridges/{call.bridge}/addChannel", channel=caller)
        self.waiting.append(caller)
        await self.dispatch()

    async def dispatch(self) -> None:
        while self.waiting and self.free:
            caller = self.waiting.popleft()
            call = self.calls.get(caller)
            if call is None:
                continue
            call.position = self.free.popleft()
            call.leg = f"{caller}-op"
            self.legs[call.leg] = caller
            leg = await self.ari(
                "POST",
                "/channels",
                endpoint=call.position,
                app=self.app,
                appArgs=f"op,{caller}",
                callerId=call.number,
                channelId=call.leg,
                timeout="30",
            )
            if leg is None:  # the position is gone: the caller waits for the next one
                self.legs.pop(call.leg, None)
                call.leg, call.position = None, None
                self.waiting.appendleft(caller)
                return

    async def leg_answered(self, leg: str, caller: str) -> None:
        call = self.calls.get(caller)
        if call is None or call.bridge is None:
            await self.ari("DELETE", f"/channels/{leg}")
            return
        await self.ari("POST", f"/bridges/{call.bridge}/addChannel", channel=leg)
        if self.record:
            await self.ari(
                "POST",
                f"/bridges/{call.bridge}/record",
                name=f"ref-{caller}",
                format="wav",
                ifExists="overwrite",
            )

    async def leg_left(self, leg: str) -> None:
        caller = self.legs.pop(leg, None)
        call = self.calls.get(caller or "")
        if call is None:
            return
        if call.position is not None:
            self.free.append(call.position)
        call.leg, call.position = None, None
        self.waiting.appendleft(call.caller)  # the operator went before the caller: again
        await self.dispatch()

    async def caller_left(self, caller: str) -> None:
        call = self.calls.pop(caller)
        if call.leg is not None:
            self.legs.pop(call.leg, None)
            await self.ari("DELETE", f"/channels/{call.leg}")
        if call.position is not None:
            self.free.append(call.position)
        if call.bridge is not None:
            await self.ari("DELETE", f"/bridges/{call.bridge}")
        await self.dispatch()


async def main(args: argparse.Namespace) -> None:
    basic = base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Basic {basic}"},
        connector=aiohttp.TCPConnector(limit=64),
    ) as session:
        ref = Reference(session, args.url, args.app, args.record, deque(args.positions.split(",")))
        url = f"{args.url}/events?app={args.app}".replace("http", "ws", 1)
        tasks: set[asyncio.Task[None]] = set()
        async with session.ws_connect(url) as ws:
            # The events it acts on only, as ari-app asks: the comparison is of the rest.
            events = [{"type": t} for t in ("StasisStart", "StasisEnd", "ChannelDestroyed")]
            async with session.put(
                f"{args.url}/applications/{args.app}/eventFilter", json={"allowed": events}
            ):
                pass
            if args.stats:  # connected: the bench may start calling
                Path(args.stats + ".ready").touch()  # noqa: ASYNC240 - once, at start
            reader = loop.create_task(stop.wait())
            while not stop.is_set():
                receive = loop.create_task(ws.receive())
                await asyncio.wait({receive, reader}, return_when=asyncio.FIRST_COMPLETED)
                if not receive.done():
                    receive.cancel()
                    break
                message = receive.result()
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                # One task per event: a slow request must not hold the others up.
                task = loop.create_task(ref.on_event(json.loads(message.data)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
    if args.stats:
        counters = json.dumps({"events": ref.events, "requests": ref.requests})
        Path(args.stats).write_text(counters)  # noqa: ASYNC240 - once, on the way out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="ARI base URL, e.g. http://h:p/ari")
    parser.add_argument("--user", default="ari-app", help="ARI user")
    parser.add_argument("--password", required=True, help="ARI password")
    parser.add_argument("--app", default="vcta", help="Stasis application name")
    parser.add_argument("--positions", required=True, help="endpoints, comma-separated")
    parser.add_argument("--record", action="store_true", help="record each talk bridge")
    parser.add_argument("--stats", help="file the counters are written to on SIGTERM")
    asyncio.run(main(parser.parse_args()))
