"""In-process stand-ins for Asterisk: an HTTP server answering like ARI's REST interface,
a websocket server for the event stream, and network faults (a port that refuses, a
server that accepts and never answers, a proxy that can freeze)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from ari_app.stasis import AriClient, AriConfig

USER = "ariuser"
PASSWORD = "ari-secret"
APP = "vcta-test"
AUTH_REQUIRED = (
    401,
    {"message": "Authentication required"},
    {"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'},
)


@dataclass
class RecordedRequest:
    method: str
    path: str  # relative to /ari, still percent-encoded
    query: dict[str, str]
    body: Any
    client_port: int | None


Answer = tuple[int, Any, dict[str, str]]


@dataclass
class StubAri:
    """Records every request and answers what the test scripted (default: 204)."""

    config: AriConfig | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    responder: Callable[[RecordedRequest], Answer] = lambda _request: (204, None, {})
    hold: asyncio.Event | None = None  # when set, answers wait for this event

    def answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.responder = lambda _request: (status, body, headers or {})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            status, body, headers = AUTH_REQUIRED
            return web.json_response(body, status=status, headers=headers)
        raw = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        recorded = RecordedRequest(
            method=request.method,
            path=request.rel_url.raw_path[len("/ari") :],
            query=_single_values(request),
            body=json.loads(raw) if raw else None,
            client_port=peer[1] if peer else None,
        )
        self.requests.append(recorded)
        if self.hold is not None:
            await self.hold.wait()
        status, body, headers = self.responder(recorded)
        if body is None:
            return web.Response(status=status, headers=headers)
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, headers=headers)
        return web.json_response(body, status=status, headers=headers)


def _single_values(request: web.Request) -> dict[str, str]:
    query: dict[str, str] = {}
    for key, value in request.rel_url.query.items():
        assert key not in query, f"query parameter {key} sent twice"
        query[key] = value
    return query


@pytest.fixture
async def stub_ari() -> AsyncIterator[StubAri]:
    stub = StubAri()
    app = web.Application()
    app.router.add_route("*", "/ari/{tail:.*}", stub.handle)
    server = TestServer(app)
    await server.start_server()
    stub.config = AriConfig(str(server.make_url("/ari")), USER, PASSWORD)
    try:
        yield stub
    finally:
        await server.close()


@pytest.fixture
async def ari(stub_ari: StubAri) -> AsyncIterator[AriClient]:
    assert stub_ari.config is not None
    async with AriClient(stub_ari.config, timeout=2.0) as client:
        yield client


# --- Event stream server -------------------------------------------------------------------


@dataclass
class StubEvents:
    """Asterisk's /ari/events websocket: checks app and api_key, hands each accepted
    connection to the test through ``connections``; ``reject`` answers the next
    attempts with HTTP statuses instead."""

    config: AriConfig | None = None
    port: int = 0
    connections: asyncio.Queue[web.WebSocketResponse] = field(default_factory=asyncio.Queue)
    reject: list[int] = field(default_factory=list)
    attempts: int = 0
    queries: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.attempts += 1
        self.queries.append(dict(request.rel_url.query))
        if self.reject:
            status = self.reject.pop(0)
            if status == 401:
                _, body, headers = AUTH_REQUIRED
                return web.json_response(body, status=401, headers=headers)
            return web.json_response({"message": "error"}, status=status)
        if request.rel_url.query.get("api_key") != f"{USER}:{PASSWORD}":
            _, body, headers = AUTH_REQUIRED
            return web.json_response(body, status=401, headers=headers)
        if "app" not in request.rel_url.query:
            return web.json_response({"message": "no app"}, status=400)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await self.connections.put(ws)
        async for message in ws:  # keep the connection open until either side closes it
            if message.type == WSMsgType.ERROR:
                break
        return ws

    async def next_connection(self) -> web.WebSocketResponse:
        """The next accepted websocket; fails the test after five seconds."""
        async with asyncio.timeout(5.0):
            return await self.connections.get()


@contextlib.asynccontextmanager
async def running_stub_events(port: int | None = None) -> AsyncIterator[StubEvents]:
    """A ``StubEvents`` server, on ``port`` when given (to play Asterisk coming back)."""
    stub = StubEvents()
    app = web.Application()
    app.router.add_get("/ari/events", stub.handle)
    server = TestServer(app, port=port)
    await server.start_server()
    assert server.port is not None
    stub.port = server.port
    stub.config = AriConfig(str(server.make_url("/ari")), USER, PASSWORD)
    try:
        yield stub
    finally:
        await server.close()


@pytest.fixture
async def stub_events() -> AsyncIterator[StubEvents]:
    async with running_stub_events() as stub:
        yield stub


# --- Network faults -----------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts TCP connections and never sends a byte."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.transport.abort()
        server.close()
        await server.wait_closed()


class FreezableProxy:
    """A TCP proxy to ``127.0.0.1:upstream_port`` that can stop forwarding while keeping
    every connection open: the network black hole of a dead peer or a cut cable."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        await self._flowing.wait()  # frozen: the connection is accepted, nothing answers
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers.append(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while True:
                data = await source.read(65536)
                await self._flowing.wait()  # frozen: bytes are held, not delivered
                if not data:
                    sink.close()
                    return
                sink.write(data)
                await sink.drain()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for writer in self._writers:
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
