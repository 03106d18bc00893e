"""The event stream of one Stasis application: a websocket that reconnects forever.

    async with EventStream(config, "vcta") as stream:
        async for item in stream:
            if isinstance(item, StreamConnected) and item.reconnect:
                ...  # events were lost: rebuild state from GET /channels, /bridges
            elif isinstance(item, StasisStart):
                ...

The iterator yields, in order: a ``StreamConnected`` marker before the first
event of each connection, the events of that connection (models from
``events``, or ``UnknownEvent``), then a ``StreamDisconnected`` marker when it
is lost. Asterisk replays nothing after a reconnect and sends no new
``StasisStart`` for channels already in the application, so the consumer must
resynchronise on every ``StreamConnected(reconnect=True)``.

Any frame from Asterisk (an event, a pong) proves the connection alive; a ping
goes only after ``ping_interval`` seconds of silence. A connection silent for
``silence_limit`` seconds (4 by default), whose ping had ``ping_timeout`` to be
answered, is dead (``liveness``): a saturated Asterisk slow to answer pings
keeps its stream while it sends events, a dead one is noticed within 5 s. A failed attempt
(refused, unknown host, HTTP 401, handshake not answered within
``open_timeout``) is logged as one line and retried with ``Backoff``; nothing
stops the stream but ``close()``. Malformed messages are logged and skipped.

One application name has one websocket: a second client connecting with the
same name silently takes the events over; this stream then gets an
``ApplicationReplaced`` event (logged as an error) and the events go elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConcurrencyError,
    ConnectionClosed,
    InvalidStatus,
    WebSocketException,
)

from ari_app.stasis.backoff import Backoff
from ari_app.stasis.config import AriConfig
from ari_app.stasis.events import (
    ApplicationReplaced,
    MalformedEvent,
    Message,
    UnknownEvent,
    parse_event,
)
from ari_app.stasis.liveness import Liveness, Verdict

log = logging.getLogger("ari_app.stasis.events")

PERMIT_POLL_S = 0.1  # how often a stream not permitted to connect asks again


@dataclass(frozen=True)
class StreamConnected:
    """The websocket is up; the items that follow come from connection number ``connection``.

    ``reconnect`` is true from the second connection on: events may have been lost
    in between, and Asterisk will not resend them.
    """

    connection: int
    reconnect: bool


@dataclass(frozen=True)
class StreamDisconnected:
    """Connection number ``connection`` was lost; ``reason`` says how."""

    connection: int
    reason: str


StreamItem = Message | UnknownEvent | StreamConnected | StreamDisconnected
"""What iterating an ``EventStream`` yields."""


@dataclass
class StreamStats:
    """Counters of one stream, for metrics."""

    connections: int = 0
    disconnections: int = 0
    failed_attempts: int = 0
    events: int = 0
    unknown_events: int = 0
    skipped_messages: int = 0


@dataclass(frozen=True)
class StreamTimings:
    """Websocket liveness and timeouts, in seconds.

    ``ping_interval``: silence after which a ping is sent, and between pings while the
    silence lasts. ``silence_limit``: silence after which the connection is dead, provided
    its first ping had ``ping_timeout`` to be answered. ``dead_after`` bounds the time to
    notice a connection that stopped answering; the defaults keep it at 4 s.
    """

    ping_interval: float = 1.0
    ping_timeout: float = 2.0
    silence_limit: float = 4.0
    close_timeout: float = 0.5
    open_timeout: float = 5.0

    def __post_init__(self) -> None:
        for name in (
            "ping_interval",
            "ping_timeout",
            "silence_limit",
            "close_timeout",
            "open_timeout",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"event stream {name} must be positive")

    @property
    def dead_after(self) -> float:
        """Longest time between a connection's last frame and the stream giving it up."""
        return max(self.silence_limit, self.ping_interval + self.ping_timeout)

    def liveness(self) -> Liveness:
        """The rule for one connection."""
        return Liveness(
            ping_after=self.ping_interval,
            pong_timeout=self.ping_timeout,
            silence_limit=self.silence_limit,
        )


class _HeardConnection(ClientConnection):
    """A websocket connection that remembers when it last received bytes: every frame of
    Asterisk, event or pong, proves it alive. The protocol reads frames as they arrive,
    before the consumer takes them, so a busy consumer does not look like a dead peer."""

    heard_at: float = 0.0
    dead_reason: str | None = None  # set by the watchdog that gave the connection up

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.heard_at = self.loop.time()

    def data_received(self, data: bytes) -> None:
        self.heard_at = self.loop.time()
        super().data_received(data)


class _AttemptFailed(Exception):
    """A connection attempt failed; the message is the one line that gets logged."""


_END: Final = object()


class EventStream:
    """Events of Stasis application ``app``, over one websocket, reconnecting forever.

    Start it with ``async with`` (or ``start()``), iterate it, ``close()`` it
    (bounded: at most about ``close_timeout`` plus one second). Items are read
    from the socket by a background task and queued (at most ``max_pending``), so
    a consumer that pauses briefly does not stall Asterisk; one that falls far
    behind ends up disconnected, then told to resynchronise.
    """

    def __init__(
        self,
        config: AriConfig,
        app: str,
        *,
        subscribe_all: bool = False,
        timings: StreamTimings | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_pending: int = 10_000,
        permit: Callable[[], bool] | None = None,
        on_replaced: Callable[[], None] | None = None,
    ) -> None:
        """``permit``, when given, is asked before each connection: while it refuses, the
        stream does not connect (a second websocket would take the application over from
        the active instance). ``on_replaced`` is called when Asterisk says another client
        took the application (``ApplicationReplaced``)."""
        self.app = app
        self._permit = permit
        self._on_replaced = on_replaced
        self._url = config.events_url(app, subscribe_all=subscribe_all)
        self._url_for_logs = config.events_url_for_logs(app, subscribe_all=subscribe_all)
        self._timings = timings or StreamTimings()
        self._backoff = backoff or Backoff(random.Random().random)
        self._clock = clock
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max_pending)
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._closing = False
        self.stats = StreamStats()

    @property
    def connected(self) -> bool:
        """True while a websocket is open."""
        return self._ws is not None

    @property
    def pending(self) -> int:
        """Items read from Asterisk and not yet taken by the consumer."""
        return self._queue.qsize()

    def start(self) -> None:
        """Start connecting (needs a running event loop); idempotent."""
        if self._closing:
            raise RuntimeError(f"the event stream of {self.app!r} is closed")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"ari-event-stream:{self.app}"
            )
            self._task.add_done_callback(self._reader_done)

    async def close(self) -> None:
        """Close the websocket cleanly and stop reconnecting; iteration then ends."""
        if self._closing:
            return
        self._closing = True
        ws = self._ws
        if ws is not None:
            # A clean close (code 1000) first, bounded by close_timeout; the reader then
            # sees the connection end and stops because the stream is closing.
            with contextlib.suppress(Exception):
                await ws.close()
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=self._timings.close_timeout + 1.0)
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_END)

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StreamItem:
        if self._task is None and not self._closing:
            self.start()
        if self._closing and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            raise StopAsyncIteration
        return item  # type: ignore[return-value]  # only StreamItems and _END are queued

    # --- the reader task ----------------------------------------------------------------

    async def _run(self) -> None:
        """Connect, read, and reconnect after a backoff, until cancelled."""
        connection = 0
        while not self._closing:
            if self._permit is not None and not self._permit():
                await asyncio.sleep(PERMIT_POLL_S)
                continue
            try:
                ws = await self._connect()
            except _AttemptFailed as failure:
                self.stats.failed_attempts += 1
                await self._pause("ARI event stream: connection attempt failed", str(failure))
                continue
            except Exception as error:  # a bug must not end the stream: log, back off, retry
                log.exception("ARI event stream: unexpected error while connecting")
                await self._pause("ARI event stream: connection attempt failed", repr(error))
                continue
            connection += 1
            self._ws = ws
            self._backoff.connected(self._clock())
            self.stats.connections += 1
            log.info(
                "ARI event stream connected",
                extra={"app": self.app, "url": self._url_for_logs, "connection": connection},
            )
            watchdog = asyncio.get_running_loop().create_task(
                self._watch(ws), name=f"ari-event-stream-liveness:{self.app}"
            )
            try:
                await self._queue.put(StreamConnected(connection, reconnect=connection > 1))
                reason = await self._read(ws)
            except Exception as error:
                log.exception("ARI event stream: unexpected error while reading")
                reason = f"unexpected error: {error!r}"
            finally:
                self._ws = None
                watchdog.cancel()
                ws.transport.abort()  # no-op when already closed; never waits
            self.stats.disconnections += 1
            await self._queue.put(StreamDisconnected(connection, reason))
            if not self._closing:
                await self._pause("ARI event stream lost", reason, connection=connection)

    async def _pause(self, message: str, reason: str, **fields: object) -> None:
        delay = self._backoff.next_delay(self._clock())
        log.warning(
            message,
            extra={
                "app": self.app,
                "url": self._url_for_logs,
                "reason": reason,
                "retry_in_s": round(delay, 2),
                **fields,
            },
        )
        await asyncio.sleep(delay)

    async def _connect(self) -> _HeardConnection:
        t = self._timings
        try:
            ws = await connect(
                self._url,
                open_timeout=t.open_timeout,
                # The library's keepalive wants a pong within its timeout whatever else
                # arrives: a saturated Asterisk, busy sending events, missed it and lost
                # its stream. Liveness is ours (``_watch``).
                ping_interval=None,
                ping_timeout=None,
                close_timeout=t.close_timeout,
                compression=None,  # small JSON messages on a local link: not worth deflate
                create_connection=_HeardConnection,
            )
        except InvalidStatus as error:
            status = error.response.status_code
            if status == 401:
                raise _AttemptFailed(
                    "Asterisk refused the credentials (HTTP 401); check the ARI user and password"
                ) from None
            raise _AttemptFailed(
                f"Asterisk answered HTTP {status} instead of opening the websocket"
            ) from None
        except TimeoutError:
            raise _AttemptFailed(
                f"no answer to the websocket handshake within {t.open_timeout:g} s"
            ) from None
        except socket.gaierror as error:
            raise _AttemptFailed(f"cannot resolve the host name: {error}") from None
        except ConnectionRefusedError:
            raise _AttemptFailed("connection refused: is Asterisk's HTTP server up?") from None
        except OSError as error:
            raise _AttemptFailed(f"network error: {error or type(error).__name__}") from None
        except WebSocketException as error:
            raise _AttemptFailed(f"websocket handshake failed: {error}") from None
        assert isinstance(ws, _HeardConnection)  # create_connection above
        return ws

    async def _watch(self, ws: _HeardConnection) -> None:
        """Ping a silent connection; give up one silent for too long (``liveness``)."""
        rule = self._timings.liveness()
        loop = asyncio.get_running_loop()
        pinging: asyncio.Task[None] | None = None
        try:
            while True:
                now = loop.time()
                check = rule.check(ws.heard_at, now)
                if check.verdict is Verdict.DEAD:
                    ws.dead_reason = (
                        f"nothing from Asterisk for {now - ws.heard_at:.1f} s, pings"
                        " unanswered: connection dead"
                    )
                    ws.transport.abort()  # a dead peer cannot answer a close handshake
                    return
                if check.verdict is Verdict.PING and (pinging is None or pinging.done()):
                    # Not awaited here: sending may wait for the socket to drain, and the
                    # verdict must not. Its pong, like any frame, updates heard_at.
                    pinging = loop.create_task(_ping(ws), name=f"ari-event-stream-ping:{self.app}")
                await asyncio.sleep(check.next_at - now)
        finally:
            if pinging is not None:
                pinging.cancel()

    async def _read(self, ws: _HeardConnection) -> str:
        """Queue the connection's events until it ends; return why it ended."""
        try:
            while True:
                item = self._parse(await ws.recv())
                if item is None:
                    continue
                if self._queue.full():
                    log.warning(
                        "ARI event stream: consumer is behind, reading paused",
                        extra={"app": self.app, "pending": self._queue.qsize()},
                    )
                await self._queue.put(item)
        except ConnectionClosed as closed:
            if ws.dead_reason is not None and not self._closing:
                return ws.dead_reason
            return _describe_close(closed, closing=self._closing)

    def _parse(self, message: str | bytes) -> StreamItem | None:
        try:
            event = parse_event(message)
        except MalformedEvent as error:
            self.stats.skipped_messages += 1
            log.warning("ARI event skipped", extra={"app": self.app, "reason": str(error)})
            return None
        if isinstance(event, UnknownEvent):
            self.stats.unknown_events += 1
            log.debug("ARI event of unknown type", extra={"app": self.app, "type": event.type})
        else:
            self.stats.events += 1
            if isinstance(event, ApplicationReplaced):
                log.error(
                    "another client registered the same ARI application and took its events;"
                    " run one instance per application name",
                    extra={"app": self.app},
                )
                if self._on_replaced is not None:
                    self._on_replaced()
        return event

    def _reader_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "ARI event stream stopped by an unexpected error",
                exc_info=task.exception(),
                extra={"app": self.app},
            )
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_END)


async def _ping(ws: ClientConnection) -> None:
    with contextlib.suppress(ConnectionClosed, ConcurrencyError):
        await ws.ping()  # the pong waiter is left alone: any frame counts, pongs included


def _describe_close(closed: ConnectionClosed, *, closing: bool) -> str:
    if closing:
        return "closed by the application"
    if closed.rcvd is not None:
        reason = f": {closed.rcvd.reason}" if closed.rcvd.reason else ""
        return f"closed by Asterisk (code {closed.rcvd.code}{reason})"
    return "connection lost without a close frame"
