"""Event websockets (``/ari/events?app=...``): one ordered outgoing queue per connection."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque

from aiohttp import WSCloseCode, WSMsgType, web

from ari_app.sim.apps import Applications
from ari_app.sim.wire import ari_timestamp

log = logging.getLogger(__name__)

# How long closing a websocket waits for the client's answer: keeps shutdown bounded.
CLOSE_TIMEOUT_S = 2.0


class EventStream:
    """Sends the events pushed to it, in order, over one websocket."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        apps: list[str],
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.ws = ws
        self.apps = apps
        self._transport = transport
        self._queue: deque[str] = deque()
        self._ready = asyncio.Event()
        self.closed = False
        self.frozen = False
        # A saturated Asterisk: pongs late by this many seconds, or never (math.inf), while
        # events still flow. None: answered at once.
        self.pong_delay_s: float | None = None
        self.pings = 0  # pings received, answered or not
        self._late_pongs: set[asyncio.TimerHandle] = set()

    def push(self, text: str) -> None:
        if not self.closed and not self.frozen:
            self._queue.append(text)
            self._ready.set()

    def freeze(self) -> None:
        """Go silent with the TCP connection left open: a dead peer as the client sees it.

        Nothing more is sent (events pushed meanwhile are lost) and nothing is read, so
        the client's websocket pings get no pong and its close frame no answer.
        """
        self.frozen = True
        self._queue.clear()
        if self._transport is not None:
            # Pausing the socket itself, not aiohttp's reader: the bytes stay in the kernel,
            # and no pong can be produced whatever the handler task is awaiting.
            self._transport.pause_reading()

    def ping_received(self, data: bytes) -> None:
        """Answer a client's ping, at once or as late as the stream is slowed."""
        self.pings += 1
        delay = self.pong_delay_s
        if delay is None:
            self._pong(data)
        elif delay != float("inf"):
            loop = asyncio.get_running_loop()
            handle = loop.call_later(delay, self._pong, data)
            self._late_pongs.add(handle)

    def _pong(self, data: bytes) -> None:
        if not self.closed and not self.frozen:
            # The pong jumps the queue of events, as a websocket control frame may.
            asyncio.get_running_loop().create_task(self._send_pong(data))

    async def _send_pong(self, data: bytes) -> None:
        try:
            await self.ws.pong(data)
        except (ConnectionError, RuntimeError) as error:
            log.debug("event websocket pong failed", extra={"error": str(error)})

    def abort(self) -> None:
        """Cut the TCP connection at once (a frozen stream would never finish a close)."""
        if self._transport is not None:
            self._transport.abort()

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
        for handle in self._late_pongs:
            handle.cancel()
        self._late_pongs.clear()


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
        # Pings are answered here, not by aiohttp, so that a stream can be slowed down.
        ws = web.WebSocketResponse(autoping=False, compress=False, timeout=CLOSE_TIMEOUT_S)
        await ws.prepare(request)
        stream = EventStream(ws, app_names, request.transport)
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
            async for message in ws:
                # Clients send nothing Asterisk reads but pings (and the close, which ends
                # the iteration: aiohttp answers it itself).
                if message.type == WSMsgType.PING:
                    stream.ping_received(message.data)
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
        """Close (server side) the websockets of ``app``, or all; return how many.

        A frozen websocket is cut without a close handshake, which it could not answer.
        """
        chosen = [s for s in self._streams if app is None or app in s.apps]
        for stream in chosen:
            self._release(stream)
            if stream.frozen:
                stream.abort()
        await asyncio.gather(
            *(
                stream.ws.close(code=WSCloseCode.GOING_AWAY, message=b"dropped by the emulator")
                for stream in chosen
                if not stream.frozen
            ),
            return_exceptions=True,
        )
        return len(chosen)

    def slow_down(self, app: str | None, pong_delay_s: float | None) -> int:
        """Answer the pings of ``app``'s websockets (or all) ``pong_delay_s`` late (math.inf:
        never; None: at once again) while events go on: a saturated Asterisk. Return how
        many."""
        chosen = [s for s in self._streams if not s.frozen and (app is None or app in s.apps)]
        for stream in chosen:
            stream.pong_delay_s = pong_delay_s
        return len(chosen)

    def pings(self, app: str | None = None) -> int:
        """Pings received so far on the open websockets of ``app`` (or all)."""
        return sum(s.pings for s in self._streams if app is None or app in s.apps)

    def freeze(self, app: str | None = None) -> int:
        """Make the open websockets of ``app`` (or all) go silent, TCP left open; return how many.

        Their applications stay bound to them, so events are lost until the client gives
        the connection up and opens a new one, which takes the applications over. A frozen
        websocket stays open until ``drop`` (or the emulator's stop) cuts it.
        """
        chosen = [s for s in self._streams if not s.frozen and (app is None or app in s.apps)]
        for stream in chosen:
            stream.freeze()
        return len(chosen)
