"""An HTTP and websocket proxy in front of an ARI server (the emulator or a real Asterisk)
that records every REST request going through: what Asterisk received from one instance."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"}
)


@dataclass
class AriProxy:
    """Forwards to ``upstream`` (``http://127.0.0.1:8088``); ``requests`` lists
    ``(method, path)`` of every REST request forwarded, and ``("WEBSOCKET", path)`` of every
    event stream connected."""

    upstream: str
    requests: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0
    _session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def commands(self) -> list[tuple[str, str]]:
        """The requests that change something in Asterisk (anything but GET)."""
        return [r for r in self.requests if r[0] != "GET"]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        target = f"{self.upstream}{request.rel_url}"
        if request.headers.get("Upgrade", "").lower() == "websocket":
            # Connecting the event stream takes the application over in Asterisk: a command.
            self.requests.append(("WEBSOCKET", request.path))
            return await self._websocket(request, target)
        self.requests.append((request.method, request.path))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._session.request(
            request.method, target, headers=headers, data=await request.read()
        ) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=answer.status, body=body, headers=kept)

    async def _websocket(self, request: web.Request, target: str) -> web.StreamResponse:
        assert self._session is not None
        downstream = web.WebSocketResponse(autoping=True)
        await downstream.prepare(request)
        async with self._session.ws_connect(target.replace("http", "ws", 1)) as upstream:

            async def pump_up() -> None:
                async for message in downstream:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        await upstream.send_str(message.data)

            async def pump_down() -> None:
                async for message in upstream:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        await downstream.send_str(message.data)

            pumps = {asyncio.create_task(pump_up()), asyncio.create_task(pump_down())}
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in pumps:
                    task.cancel()
                await asyncio.wait(pumps)
        await downstream.close()
        return downstream


@contextlib.asynccontextmanager
async def ari_proxy(upstream: str) -> AsyncIterator[AriProxy]:
    """An ``AriProxy`` listening on 127.0.0.1 while in the block."""
    proxy = AriProxy(upstream.rstrip("/"))
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        proxy.port = int(sock.getsockname()[1])
    site = web.TCPSite(runner, "127.0.0.1", proxy.port)
    await site.start()
    proxy._session = aiohttp.ClientSession(auto_decompress=False)
    try:
        yield proxy
    finally:
        await proxy._session.close()
        await runner.cleanup()
