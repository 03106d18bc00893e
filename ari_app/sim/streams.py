"""Event websockets (``/ari/events?app=...``): one ordered outgoing queue per connection."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque

from aiohttp import WSCloseCode, web

from ari_app.sim.apps import Applications
from ari_app.sim.wire import ari_timestamp

log = logging.getLogger(__name__)

# How long closing a websocket waits for the client's answer: keeps shutdown bounded.
CLOSE_TIMEOUT_S = 2.0


class EventStream:
    """Sends the events pushed to it, in order, over one websocket."""

    def __init__(self, ws: web.WebSocketResponse, apps: list[str]) -> None:
        self.ws = ws
        self.apps = apps
        self._queue: deque[str] = deque()
        self._ready = asyncio.Event()
        self.closed = False

    def push(self, text: str) -> None:
        if not self.closed:
            self._queue.append(text)
            self._ready.set()

    async def run(self) -> None:
        """Write queued events until the connection closes."""
        try:
            while not self.closed:
                await self._ready.wait()
                self._ready.clear()
                while self._queue and not self.closed:
                    await self.ws.send_str(self._queue.popleft())
        except (ConnectionError, RuntimeError) as error:
            log.debug("event websocket write failed", extra={"error": str(error)})
        finally:
            self.closed = True

    def stop(self) -> None:
        self.closed = True
        self._queue.clear()
        self._ready.set()


class EventStreams:
    """The open event websockets and their binding to applications."""

    def __init__(self, apps: Applications, asterisk_id: str) -> None:
        self._apps = apps
        self._asterisk_id = asterisk_id
        self._streams: set[EventStream] = set()

    def __len__(self) -> int:
        return len(self._streams)

    async def serve(
        self, request: web.Request, app_names: list[str], now: float
    ) -> web.WebSocketResponse:
        """Run one event websocket until either side closes it."""
        ws = web.WebSocketResponse(autoping=True, compress=False, timeout=CLOSE_TIMEOUT_S)
        await ws.prepare(request)
        stream = EventStream(ws, app_names)
        self._streams.add(stream)
        for name in app_names:
            replaced = self._apps.attach(name, stream)
            if replaced is not None:
                # The newer websocket wins; the older one is told and keeps its connection.
                replaced.push(
                    json.dumps(
                        {
                            "type": "ApplicationReplaced",
                            "timestamp": ari_timestamp(now),
                            "application": name,
                            "asterisk_id": self._asterisk_id,
                        }
                    )
                )
        log.info("event websocket open", extra={"apps": ",".join(app_names)})
        sender = asyncio.create_task(stream.run(), name=f"events-{','.join(app_names)}")
        try:
            async for _message in ws:
                pass  # clients send nothing Asterisk reads; pings are answered by aiohttp
        finally:
            self._release(stream)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        return ws

    def _release(self, stream: EventStream) -> None:
        if stream in self._streams:
            self._streams.discard(stream)
            stream.stop()
            self._apps.detach(stream)
            log.info("event websocket closed", extra={"apps": ",".join(stream.apps)})

    async def drop(self, app: str | None = None) -> int:
        """Close (server side) the websockets of ``app``, or all; return how many."""
        chosen = [s for s in self._streams if app is None or app in s.apps]
        for stream in chosen:
            self._release(stream)
        await asyncio.gather(
            *(
                stream.ws.close(code=WSCloseCode.GOING_AWAY, message=b"dropped by the emulator")
                for stream in chosen
            ),
            return_exceptions=True,
        )
        return len(chosen)
